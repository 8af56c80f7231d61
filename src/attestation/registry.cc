// The evidence registry and its built-in formats.
#include "confide/attestation/registry.h"

#include <algorithm>
#include <mutex>

#include "confide/attestation/dcap.h"
#include "confide/attestation/snp.h"
#include "confide/attestation/soft.h"

namespace confide::attestation {
namespace {

uint16_t U16(ByteSpan b, size_t off) { return static_cast<uint16_t>(b[off] | b[off + 1] << 8); }
uint32_t U32(ByteSpan b, size_t off) {
  return static_cast<uint32_t>(b[off] | b[off + 1] << 8 | b[off + 2] << 16 | static_cast<uint32_t>(b[off + 3]) << 24);
}

// DCAP quote header: version 3..5, attestation key type 2 at offset 2, TEE type at offset 4.
bool IsDcap(ByteSpan ev, uint32_t tee) {
  if (ev.size() < 48) return false;
  uint16_t version = U16(ev, 0);
  return version >= 3 && version <= 5 && U16(ev, 2) == 2 && U32(ev, 4) == tee;
}

Result<VerificationResult> VerifyDcapAs(std::string_view format, ByteSpan evidence, const VerifyInputs& in) {
  if (in.collateral.empty())
    return InvalidArgument(std::string(format) + " evidence needs collateral (QuoteCollateralV3 JSON)");
  auto collateral = dcap::ParseCollateral(in.collateral);
  if (!collateral.ok()) return collateral.status().WithContext("collateral");
  dcap::Options options;
  options.expected_format = std::string(format);
  return dcap::VerifyQuote(evidence, *collateral, in.at, options);
}

Result<VerificationResult> VerifySoft(ByteSpan evidence, const VerifyInputs& in) {
  if (in.root.empty())
    return InvalidArgument("soft evidence needs the provisioning CA's root certificate (--root ROOT.pem)");
  if (in.collateral.empty())
    return InvalidArgument("soft evidence needs collateral (--collateral C.json from `confide provision tcb-info` "
                           "or `confide platform collateral`)");
  auto roots = x509::Certificate::ParseAll(in.root);
  if (!roots.ok() || roots->size() != 1)
    return InvalidArgument("the root must be exactly one certificate (PEM or DER)");
  auto collateral = soft::SoftCollateral::Parse(in.collateral);
  if (!collateral.ok()) return collateral.status().WithContext("collateral");
  return soft::VerifySoftEvidence(evidence, *collateral, roots->front(), in.at);
}

Result<VerificationResult> VerifySnp(ByteSpan evidence, const VerifyInputs& in) {
  if (in.endorsement.empty()) return InvalidArgument("snp evidence needs the VCEK or VLEK certificate (--vcek)");
  snp::Inputs inputs;
  inputs.endorsement_cert = in.endorsement;
  inputs.chain = in.chain;
  inputs.at = in.at;
  return snp::VerifyReport(evidence, inputs);
}

}  // namespace

Result<VerifyInputs> LoadVerifyInputs(const VerifyPaths& paths, UnixTime at) {
  VerifyInputs in;
  in.at = at;
  auto load = [](const std::string& path, std::string_view what, Bytes& out) -> Status {
    if (path.empty()) return Status::Ok();
    auto data = ReadFile(path);
    if (!data.ok()) return data.status().WithContext(what);
    out = std::move(data).value();
    return Status::Ok();
  };
  CONFIDE_RETURN_IF_ERROR(load(paths.collateral, "collateral", in.collateral));
  CONFIDE_RETURN_IF_ERROR(load(paths.root, "root", in.root));
  CONFIDE_RETURN_IF_ERROR(load(paths.endorsement, "endorsement certificate", in.endorsement));
  CONFIDE_RETURN_IF_ERROR(load(paths.chain, "chain", in.chain));
  return in;
}

struct Registry::Impl {
  mutable std::mutex mu;
  std::vector<Format> formats;
  const Format* Find(std::string_view id) const {
    for (const auto& f : formats)
      if (f.id == id) return &f;
    return nullptr;
  }
  std::string Known() const {
    std::string out;
    for (const auto& f : formats) out += (out.empty() ? "" : ", ") + f.id;
    return out;
  }
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

Registry& Registry::Default() {
  static Registry* registry = [] {
    auto* r = new Registry();
    (void)r->Register({"soft", "confide soft quote (platform daemon, provisioning CA)", VerifySoft,
                       [](ByteSpan ev) {
                         return ev.size() >= soft::kHeaderSize && U16(ev, 0) == soft::kQuoteVersion &&
                                U16(ev, 2) == soft::kKeyTypeEcdsaP256 && ev[4] == 's' && ev[5] == 'o' &&
                                ev[6] == 'f' && ev[7] == 't';
                       },
                       {}});
    (void)r->Register({"sgx-ecdsa", "Intel SGX DCAP ECDSA quote (v3/v4/v5)",
                       [](ByteSpan ev, const VerifyInputs& in) { return VerifyDcapAs("sgx-ecdsa", ev, in); },
                       [](ByteSpan ev) { return IsDcap(ev, dcap::kTeeTypeSgx); }, {}});
    (void)r->Register({"tdx", "Intel TDX DCAP quote (v4/v5)",
                       [](ByteSpan ev, const VerifyInputs& in) { return VerifyDcapAs("tdx", ev, in); },
                       [](ByteSpan ev) { return IsDcap(ev, dcap::kTeeTypeTdx); }, {}});
    (void)r->Register({"snp", "AMD SEV-SNP attestation report", VerifySnp,
                       [](ByteSpan ev) {
                         // Fixed 1184-byte report, version 2..5 (LE u32).
                         if (ev.size() != 1184) return false;
                         uint32_t v = U32(ev, 0);
                         return v >= 2 && v <= 5;
                       },
                       {}});
    return r;
  }();
  return *registry;
}

Status Registry::Register(Format format) {
  if (format.id.empty() || !format.verify) return InvalidArgument("a format needs an id and a verifier");
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->Find(format.id)) return Status(Code::kAlreadyExists, "evidence format '" + format.id + "' is already registered");
  impl_->formats.push_back(std::move(format));
  return Status::Ok();
}

Status Registry::SetAttester(std::string_view id, AttestFn attest) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (auto& f : impl_->formats)
    if (f.id == id) {
      f.attest = std::move(attest);
      return Status::Ok();
    }
  return NotFound("no evidence format '" + std::string(id) + "' (known: " + impl_->Known() + ")");
}

std::vector<std::string> Registry::Ids() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<std::string> out;
  for (const auto& f : impl_->formats) out.push_back(f.id);
  return out;
}

bool Registry::Has(std::string_view id) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Find(id) != nullptr;
}

Result<std::string> Registry::Detect(ByteSpan evidence) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const auto& f : impl_->formats)
    if (f.detect && f.detect(evidence)) return f.id;
  return InvalidArgument("cannot tell the evidence format from its header; pass --format (" + impl_->Known() + ")");
}

Result<VerificationResult> Registry::Verify(std::string_view id, ByteSpan evidence, const VerifyInputs& inputs) const {
  VerifyFn verify;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    const Format* f = impl_->Find(id);
    if (!f) return NotFound("no evidence format '" + std::string(id) + "' (known: " + impl_->Known() + ")");
    verify = f->verify;  // called unlocked: verification may take a while
  }
  return verify(evidence, inputs);
}

Result<Bytes> Registry::Attest(std::string_view id, const platform_services::ReportData& report_data) const {
  AttestFn attest;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    const Format* f = impl_->Find(id);
    if (!f) return NotFound("no evidence format '" + std::string(id) + "' (known: " + impl_->Known() + ")");
    if (!f->attest)
      return Status(Code::kUnavailable, "no attester for '" + std::string(id) +
                                            "' is installed in this process (evidence of this format comes from "
                                            "its platform)");
    attest = f->attest;
  }
  return attest(report_data);
}

}  // namespace confide::attestation
