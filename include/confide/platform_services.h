// What a platform offers the enclaves it runs, in place of SGX's EGETKEY and EREPORT:
// keys derived from a platform root secret that enclaves never see, and reports MAC'd for
// another enclave on the same platform (local attestation).
//
// The platform is whatever loaded the enclave and verified its image: the soft backend's
// platform daemon (root secret in its state directory) or, for sim, the host process itself
// (a fixed, public debug secret: sim protects nothing). The caller's identity always comes
// from the verified image, never from the enclave's own words.
//
// Enclaves reach the platform through confide_host_v1::platform with the messages below
// (trusted::PlatformCall); the formats are little-endian and fixed-size (docs/sealing.md,
// docs/attestation.md).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "confide/bytes.h"
#include "confide/image.h"
#include "confide/status.h"

namespace confide::platform_services {

using Digest = std::array<uint8_t, 32>;
using KeyId = std::array<uint8_t, 32>;
using ReportData = std::array<uint8_t, 64>;
// A derived 256-bit key (AES-256-GCM or HMAC-SHA-256). Callers wipe it after use.
using Key = std::array<uint8_t, 32>;

// Who an enclave is, as the platform measured it (from the verified signed image).
struct Identity {
  Digest mrenclave{};
  Digest mrsigner{};
  uint16_t product_id = 0;
  uint16_t security_version = 0;
  bool debug = false;

  friend bool operator==(const Identity&, const Identity&) = default;
};
Identity IdentityOf(const image::SignedImage& image);

// ---------------------------------------------------------------- keys
enum class KeyName : uint16_t {
  kSeal = 1,    // sealing data for later (Seal / Unseal, protected files)
  kReport = 2,  // verifying reports targeted at this enclave
};
enum class KeyPolicy : uint16_t {
  kUnique = 1,   // bound to MRENCLAVE: only this exact enclave
  kProduct = 2,  // bound to MRSIGNER + ProductID: every version of the product from this signer
};

struct KeyRequest {
  KeyName name = KeyName::kSeal;
  KeyPolicy policy = KeyPolicy::kProduct;
  // Security version the key is for; refused when above the caller's own SecurityVersion,
  // so an upgraded enclave can derive its predecessors' keys but never the reverse.
  uint16_t svn = 0;
  KeyId key_id{};  // diversifier: a fresh random one per sealed blob / report
};

// ---------------------------------------------------------------- reports
inline constexpr uint32_t kReportFlagDebug = 1u << 0;        // the reporting enclave is Debug=1
inline constexpr uint32_t kReportFlagDevelopment = 1u << 1;  // produced by sim or a development daemon

// The enclave a report is for: it derives the key that checks the MAC.
struct TargetInfo {
  Digest mrenclave{};
  bool debug = false;
};
inline constexpr size_t kTargetInfoSize = 64;  // mrenclave, flags u32, reserved (zero)

struct ReportBody {
  uint16_t version = 1;
  uint32_t flags = 0;  // kReportFlag*
  Identity identity;   // of the reporting enclave
  Digest platform_id{};  // SHA-256 of a platform-specific public value; equal for reports from one platform
  ReportData report_data{};
};
struct Report {
  ReportBody body;
  KeyId key_id{};                    // diversifies the target's report key
  std::array<uint8_t, 32> mac{};     // HMAC-SHA-256 over the encoded body, with the target's report key
};
inline constexpr size_t kReportBodySize = 240;
inline constexpr size_t kReportSize = kReportBodySize + 32 + 32;

Bytes EncodeTargetInfo(const TargetInfo& t);
Result<TargetInfo> DecodeTargetInfo(ByteSpan b);
Bytes EncodeReportBody(const ReportBody& b);
Result<ReportBody> DecodeReportBody(ByteSpan b);
Bytes EncodeReport(const Report& r);
// Refuses a wrong size, an unknown version or non-zero reserved bytes (kInvalidArgument /
// kUnsupported); does not check the MAC.
Result<Report> DecodeReport(ByteSpan b);

// ---------------------------------------------------------------- messages
// Request: op u32, then the op's payload. Reply: code i32 (a confide::Code, 0 = OK), then
// the result payload, or the error message text.
enum class Op : uint32_t {
  kGetIdentity = 1,  // payload: none. Result: encoded ReportBody of the caller (report_data zero)
  kGetKey = 2,       // payload: name u16, policy u16, svn u16, reserved u16, key_id[32]. Result: 32-byte key
  kGetReport = 3,    // payload: target info (64), report data (64). Result: encoded Report
  kGetQuote = 4,     // payload: report data (64). Result: evidence bytes of the platform's format (remote attestation)
};
inline constexpr size_t kMaxMessageBytes = 64 * 1024;

Bytes EncodeGetIdentity();
Bytes EncodeGetKey(const KeyRequest& r);
Bytes EncodeGetReport(const TargetInfo& target, const ReportData& report_data);
Bytes EncodeGetQuote(const ReportData& report_data);
Bytes EncodeReply(const Result<Bytes>& result);
Result<Bytes> DecodeReply(ByteSpan reply);

// ---------------------------------------------------------------- the platform's side
// Produces evidence for the caller's report body (kGetQuote); installed by platforms that
// can quote (issue: remote attestation).
using Quoter = std::function<Result<Bytes>(const ReportBody& body)>;

class KeyService {
 public:
  // `root`: 32 secret bytes. `development`: reports carry kReportFlagDevelopment.
  KeyService(const Key& root, bool development);
  ~KeyService();
  KeyService(const KeyService&) = delete;
  KeyService& operator=(const KeyService&) = delete;

  Result<Key> DeriveKey(const Identity& caller, const KeyRequest& request) const;
  Result<Report> MakeReport(const Identity& caller, const TargetInfo& target, const ReportData& data) const;
  ReportBody BodyFor(const Identity& caller, const ReportData& data) const;
  void SetQuoter(Quoter quoter) { quoter_ = std::move(quoter); }

  // Handles one request message from `caller`; returns the encoded reply (never fails:
  // errors travel in the reply).
  Bytes Serve(const Identity& caller, ByteSpan request) const;

  const Digest& platform_id() const { return platform_id_; }
  bool development() const { return development_; }

 private:
  Key prk_;  // HKDF-Extract(salt, root): derivations run only HKDF-Expand (one HMAC)
  Digest platform_id_{};
  bool development_;
  Quoter quoter_;
};

// The sim platform's root: a fixed, published constant. Everything sim derives is readable by
// anyone; sim reports always carry kReportFlagDevelopment.
const Key& SimRootSecret();
// The soft platform's root at `path`: read it (it must be 32 bytes, mode 0600, owned by this
// user), or create it with fresh random bytes when absent. Never overwrites an existing file.
Result<Key> LoadOrCreateRootSecret(const std::string& path);

}  // namespace confide::platform_services
