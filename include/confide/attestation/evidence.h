// What every evidence verifier returns: normalised claims plus a graded TCB status, so a
// relying party can write one policy over SGX, TDX, SEV-SNP and confide's own evidence.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "confide/bytes.h"
#include "confide/status.h"
#include "confide/time.h"

namespace confide::attestation {

// Graded like Intel's Quote Verification Library; formats without grading report kUpToDate
// when every check passed.
enum class TcbStatus {
  kUpToDate,
  kSWHardeningNeeded,
  kConfigurationNeeded,
  kConfigurationAndSWHardeningNeeded,
  kOutOfDate,
  kOutOfDateConfigurationNeeded,
  kRevoked,
};
// "UpToDate", "SWHardeningNeeded", ... (Intel's spelling).
std::string_view TcbStatusName(TcbStatus status);
Result<TcbStatus> ParseTcbStatus(std::string_view name);

struct Claims {
  std::string format;         // "sgx-ecdsa", "tdx", "snp", "soft"
  Bytes identity;             // MRENCLAVE / MRTD / SNP MEASUREMENT
  Bytes signer;               // MRSIGNER (empty where the format has none)
  uint32_t product_id = 0;    // ISVPRODID (0 where the format has none)
  uint32_t security_version = 0;  // ISVSVN (0 where the format has none)
  bool debug = false;
  Bytes report_data;          // 64 bytes of caller data bound into the signed evidence
  std::string platform_id;    // FMSPC / CHIP_ID / platform certificate id, lowercase hex
  // Format-specific claims under the names the CLI prints (mrenclave, mrtd, rtmr0, ...), hex lowercase.
  nlohmann::json extra = nlohmann::json::object();
};

struct VerificationResult {
  Claims claims;
  TcbStatus tcb_status = TcbStatus::kUpToDate;
  std::vector<std::string> advisory_ids;
  // True when some collateral (TCB info, QE identity, CRL) is past its next-update time at
  // the evaluation time; such results are refused unless the caller allowed expired collateral.
  bool collateral_expired = false;
};

}  // namespace confide::attestation
