// Remote attestation from inside an enclave (confide::trusted): evidence over 64 bytes of the
// enclave's own data, produced by the platform that verified and runs it. On soft, the
// platform daemon signs the enclave's report body with its attestation key (a "soft" quote,
// docs/attestation.md); relying parties check it with attestation::soft::VerifySoftEvidence.
// Works only inside an enclave.
#pragma once

#include "confide/bytes.h"
#include "confide/platform_services.h"
#include "confide/status.h"

namespace confide::trusted {

// Evidence in the platform's format whose signed report_data is exactly `report_data` (put a
// nonce or the hash of a key there; attested TLS puts SHA-256 of its certificate's key).
// kUnsupported where the platform cannot quote (sim, which has no attestation key);
// kUnavailable when the platform cannot be reached.
Result<Bytes> GetQuote(const platform_services::ReportData& report_data);

// The evidence format GetQuote produces here ("soft").
inline constexpr const char* kQuoteFormat = "soft";

}  // namespace confide::trusted
