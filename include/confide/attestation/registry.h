// Evidence formats by id ("soft", "sgx-ecdsa", "tdx", "snp"; room for "tpm" and confidential-
// VM evidence): how to recognise, verify and (where this process can) produce each. Relying
// parties use Verify; the platform side installs an attester for the formats it can produce.
// Nothing here depends on enclave code.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "confide/attestation/evidence.h"
#include "confide/bytes.h"
#include "confide/platform_services.h"
#include "confide/status.h"
#include "confide/time.h"

namespace confide::attestation {

// What a verifier may need besides the evidence. Unused fields are ignored by a format.
struct VerifyInputs {
  Bytes collateral;   // soft: soft collateral JSON; sgx-ecdsa/tdx: QuoteCollateralV3 JSON
  Bytes root;         // soft: the provisioning CA root certificate (PEM or DER), required
  Bytes endorsement;  // snp: VCEK or VLEK certificate
  Bytes chain;        // snp: optional ASK/ASVK and ARK certificates
  UnixTime at{};      // evaluation time (explicit: never "now" implicitly)
};
// Same, read from files (empty path = not given); errors name the path.
struct VerifyPaths {
  std::string collateral, root, endorsement, chain;
};
Result<VerifyInputs> LoadVerifyInputs(const VerifyPaths& paths, UnixTime at);

using VerifyFn = std::function<Result<VerificationResult>(ByteSpan evidence, const VerifyInputs& inputs)>;
// Produces evidence that binds `report_data` (64 bytes of caller data) for the caller.
using AttestFn = std::function<Result<Bytes>(const platform_services::ReportData& report_data)>;

struct Format {
  std::string id;
  std::string description;
  VerifyFn verify;
  std::function<bool(ByteSpan evidence)> detect;  // recognises this format's header (optional)
  AttestFn attest;                                // empty until an attester is installed
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry with the built-in verifiers (soft, sgx-ecdsa, tdx, snp).
  static Registry& Default();

  Status Register(Format format);  // kAlreadyExists for a taken id
  // Installs (or, with an empty function, removes) the attester of a registered format.
  Status SetAttester(std::string_view id, AttestFn attest);

  std::vector<std::string> Ids() const;
  bool Has(std::string_view id) const;
  // The id whose detector accepts the evidence; kInvalidArgument asking for --format otherwise.
  Result<std::string> Detect(ByteSpan evidence) const;
  // kNotFound naming the known ids for an unknown id.
  Result<VerificationResult> Verify(std::string_view id, ByteSpan evidence, const VerifyInputs& inputs) const;
  // kUnavailable when no attester is installed for `id` in this process.
  Result<Bytes> Attest(std::string_view id, const platform_services::ReportData& report_data) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace confide::attestation
