// Soft quotes, soft collateral, TCB info, policies and CSRs from arbitrary bytes. A provisioning
// CA, a certified platform, one valid quote and its parsed collateral are made once at start-up
// (fresh keys each run, so seeds cannot carry signatures); every input is then
//   - decoded and verified as a quote on its own,
//   - applied as a patch to the valid quote (u16 offset, then bytes XORed in there), so the
//     mutations reach the chain, signature, collateral and grading checks of a real quote,
//   - parsed as collateral JSON, TCB info, policy JSON and CSR.
// Any crash, sanitizer report, or a patched quote that still verifies, is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "confide/attestation/policy.h"
#include "confide/attestation/soft.h"

namespace soft = confide::attestation::soft;

namespace {

struct Fixture {
  soft::Ca ca;
  confide::Bytes quote;
  confide::Bytes collateral_json;
  std::optional<soft::SoftCollateral> collateral;
  confide::UnixTime at;

  Fixture() {
    soft::CaOptions o;
    o.not_before = confide::ParseRfc3339("2026-01-01T00:00:00Z").value();
    ca = soft::CreateCa(o).value();
    auto key = confide::crypto::EcGenerate(confide::crypto::Curve::kP256).value();
    auto cert = soft::Certify(ca, key, "fuzz platform", 5, o.not_before, 365).value();
    auto signer = soft::QuoteSigner::Create(key, {cert, ca.platform_ca}).value();
    confide::platform_services::ReportBody body;
    body.identity.mrenclave.fill(0x11);
    body.report_data.fill(0x22);
    quote = signer.Sign(body).value();
    soft::TcbInfo info;
    info.issue_date = o.not_before;
    info.next_update = o.not_before + std::chrono::hours(24 * 30);
    info.levels = {{5, confide::attestation::TcbStatus::kUpToDate, {}}, {1, confide::attestation::TcbStatus::kRevoked, {"A"}}};
    collateral_json = soft::CaCollateral(ca, info).value();
    collateral.emplace(soft::SoftCollateral::Parse(collateral_json).value());
    at = confide::ParseRfc3339("2026-01-10T00:00:00Z").value();
    // The fuzzer must not silently fuzz less than it claims.
    if (!soft::VerifySoftEvidence(quote, *collateral, ca.root, at).ok()) std::abort();
  }
};

Fixture& F() {
  static Fixture* f = new Fixture();
  return *f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& f = F();
  confide::ByteSpan in(data, size);

  (void)soft::DecodeQuote(in);
  (void)soft::VerifySoftEvidence(in, *f.collateral, f.ca.root, f.at);

  if (size >= 3) {
    confide::Bytes patched = f.quote;
    size_t off = (static_cast<size_t>(data[0]) | static_cast<size_t>(data[1]) << 8) % patched.size();
    bool changed = false;
    for (size_t i = 2; i < size && off + i - 2 < patched.size(); ++i) {
      patched[off + i - 2] ^= data[i];
      changed |= data[i] != 0;
    }
    if (changed && soft::VerifySoftEvidence(patched, *f.collateral, f.ca.root, f.at).ok()) std::abort();
  }

  auto collateral = soft::SoftCollateral::Parse(in);
  if (collateral.ok()) (void)soft::VerifySoftEvidence(f.quote, *collateral, f.ca.root, f.at);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)soft::ParseTcbInfo(text);
  (void)confide::attestation::Policy::Parse(in);
  (void)soft::ParseCsr(in);
  return 0;
}
