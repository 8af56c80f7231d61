// SEV-SNP report verification: VCEK/VLEK chain to a pinned AMD ARK, report signature,
// certificate TCB and hwID against the report, and the normalised claims.
#include <array>
#include <cstring>
#include <utility>

#include "attestation/snp/amd_certs.h"
#include "attestation/snp/snp_internal.h"
#include "confide/attestation/snp.h"
#include "confide/crypto.h"
#include "confide/x509.h"

namespace confide::attestation::snp {

struct ReportVerifier::State {
  x509::Certificate leaf;
  crypto::PKey key;
  internal::EndorsementExtensions ext;
};

namespace internal {
namespace {

// SHA-256 of the DER ARK certificates (ARK-Milan, ARK-Genoa, ARK-Turin) as served by AMD KDS.
constexpr std::array<const char*, 3> kPinnedArkSha256 = {
    "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",  // ARK-Milan
    "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",  // ARK-Genoa
    "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",  // ARK-Turin
};

std::string_view RoleName(AmdName::Role role) {
  switch (role) {
    case AmdName::Role::kArk: return "ARK";
    case AmdName::Role::kAsk: return "ASK";
    case AmdName::Role::kAsvk: return "ASVK";
    case AmdName::Role::kVcek: return "VCEK";
    case AmdName::Role::kVlek: return "VLEK";
  }
  return "?";
}

// A small DER INTEGER extension value (AMD encodes each SPL as INTEGER 0..255).
Result<uint8_t> U8FromDer(ByteSpan value, const char* oid, std::string_view field) {
  x509::DerReader der(value);
  auto elem = der.Expect(0x02, field);
  if (!elem.ok() || !der.empty())
    return InvalidArgument("AMD certificate extension " + std::string(field) + " (" + oid +
                           ") is not a single DER INTEGER");
  auto v = x509::DerUnsigned(elem->contents);
  if (!v.ok() || *v > 255)
    return InvalidArgument("AMD certificate extension " + std::string(field) + " (" + oid +
                           ") is not an integer in 0..255");
  return static_cast<uint8_t>(*v);
}

Result<uint8_t> ReadU8Extension(const x509::Certificate& cert, const char* oid, std::string_view field) {
  CONFIDE_ASSIGN_OR_RETURN(Bytes value, cert.Extension(oid));
  return U8FromDer(value, oid, field);
}

Result<std::optional<uint8_t>> ReadOptionalU8(const x509::Certificate& cert, const char* oid, std::string_view field) {
  auto value = cert.Extension(oid);
  if (!value.ok()) {
    if (value.status().code() == Code::kNotFound) return std::optional<uint8_t>();
    return value.status();
  }
  CONFIDE_ASSIGN_OR_RETURN(uint8_t v, U8FromDer(*value, oid, field));
  return std::optional<uint8_t>(v);
}

// IA5String / UTF8String / PrintableString extension value.
Result<std::optional<std::string>> ReadOptionalString(const x509::Certificate& cert, const char* oid,
                                                      std::string_view field) {
  auto value = cert.Extension(oid);
  if (!value.ok()) {
    if (value.status().code() == Code::kNotFound) return std::optional<std::string>();
    return value.status();
  }
  x509::DerReader der(*value);
  auto elem = der.Next();
  if (!elem.ok() || !der.empty() || (elem->tag != 0x16 && elem->tag != 0x0C && elem->tag != 0x13))
    return InvalidArgument("AMD certificate extension " + std::string(field) + " (" + oid +
                           ") is not a single DER string");
  return std::optional<std::string>(ToString(elem->contents));
}

std::string DescribeTcb(uint64_t raw, Product product) {
  TcbVersion t = DecodeTcb(raw, product);
  std::string s = Hex64(raw) + " (bootloader " + std::to_string(t.bootloader) + ", tee " + std::to_string(t.tee) +
                  ", snp " + std::to_string(t.snp) + ", microcode " + std::to_string(t.microcode);
  if (t.fmc) s += ", fmc " + std::to_string(*t.fmc);
  return s + ")";
}

nlohmann::json TcbJson(uint64_t raw, Product product) {
  TcbVersion t = DecodeTcb(raw, product);
  nlohmann::json j = {{"value", Hex64(raw)},
                      {"bootloader", t.bootloader},
                      {"tee", t.tee},
                      {"snp", t.snp},
                      {"microcode", t.microcode}};
  if (t.fmc) j["fmc"] = *t.fmc;
  return j;
}

std::string VersionText(const FirmwareVersion& v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.build);
}

bool AllZero(ByteSpan b) {
  for (uint8_t c : b)
    if (c != 0) return false;
  return true;
}

}  // namespace

std::string CommonName(std::string_view name) {
  // RFC 2253 text: attributes separated by unescaped commas.
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = start;
    while (end < name.size() && name[end] != ',') end += (name[end] == '\\' && end + 1 < name.size()) ? 2 : 1;
    std::string_view attr = name.substr(start, end - start);
    while (!attr.empty() && attr.front() == ' ') attr.remove_prefix(1);
    if (attr.substr(0, 3) == "CN=") return std::string(attr.substr(3));
    start = end + 1;
  }
  return "";
}

std::optional<AmdName> ClassifyAmdCommonName(std::string_view cn) {
  if (cn == "SEV-VCEK") return AmdName{AmdName::Role::kVcek, std::nullopt};
  if (cn == "SEV-VLEK") return AmdName{AmdName::Role::kVlek, std::nullopt};
  for (Product p : {Product::kMilan, Product::kGenoa, Product::kTurin}) {
    std::string name(ProductName(p));
    if (cn == "ARK-" + name) return AmdName{AmdName::Role::kArk, p};
    if (cn == "SEV-" + name) return AmdName{AmdName::Role::kAsk, p};
    if (cn == "SEV-VLEK-" + name) return AmdName{AmdName::Role::kAsvk, p};
  }
  return std::nullopt;
}

Result<EndorsementExtensions> ReadEndorsementExtensions(const x509::Certificate& cert) {
  EndorsementExtensions e;
  CONFIDE_ASSIGN_OR_RETURN(e.product_name, ReadOptionalString(cert, kOidProductName, "productName"));
  CONFIDE_ASSIGN_OR_RETURN(e.bootloader, ReadU8Extension(cert, kOidBlSpl, "blSPL"));
  CONFIDE_ASSIGN_OR_RETURN(e.tee, ReadU8Extension(cert, kOidTeeSpl, "teeSPL"));
  CONFIDE_ASSIGN_OR_RETURN(e.snp, ReadU8Extension(cert, kOidSnpSpl, "snpSPL"));
  CONFIDE_ASSIGN_OR_RETURN(e.microcode, ReadU8Extension(cert, kOidUcodeSpl, "ucodeSPL"));
  CONFIDE_ASSIGN_OR_RETURN(auto spl4, ReadOptionalU8(cert, kOidSpl4, "spl4"));
  CONFIDE_ASSIGN_OR_RETURN(auto spl5, ReadOptionalU8(cert, kOidSpl5, "spl5"));
  CONFIDE_ASSIGN_OR_RETURN(auto spl6, ReadOptionalU8(cert, kOidSpl6, "spl6"));
  CONFIDE_ASSIGN_OR_RETURN(auto spl7, ReadOptionalU8(cert, kOidSpl7, "spl7"));
  e.spl4 = spl4.value_or(0);
  e.spl5 = spl5.value_or(0);
  e.spl6 = spl6.value_or(0);
  e.spl7 = spl7.value_or(0);
  CONFIDE_ASSIGN_OR_RETURN(e.fmc, ReadOptionalU8(cert, kOidFmcSpl, "fmcSPL"));
  CONFIDE_ASSIGN_OR_RETURN(e.csp_id, ReadOptionalString(cert, kOidCspId, "cspID"));
  auto hwid = cert.Extension(kOidHwid);
  if (hwid.ok()) {
    // AMD KDS puts the raw 64 hwID bytes in the extension value without a DER wrapper; accept
    // an OCTET STRING too in case that is ever fixed.
    Bytes value = *hwid;
    if (value.size() != 64 && value.size() != 8) {
      x509::DerReader der(value);
      auto elem = der.Expect(0x04, "hwID");
      if (!elem.ok() || !der.empty())
        return InvalidArgument("AMD certificate hwID extension has " + std::to_string(value.size()) +
                               " bytes; expected 64 (or 8 on Turin)");
      value.assign(elem->contents.begin(), elem->contents.end());
    }
    e.hwid = std::move(value);
  } else if (hwid.status().code() != Code::kNotFound) {
    return hwid.status();
  }
  return e;
}

uint64_t CertificateTcb(const EndorsementExtensions& e, Product product) {
  auto at = [](uint8_t v, int byte) { return static_cast<uint64_t>(v) << (8 * byte); };
  if (product == Product::kTurin)
    return at(e.fmc.value_or(0), 0) | at(e.bootloader, 1) | at(e.tee, 2) | at(e.snp, 3) | at(e.microcode, 7);
  return at(e.bootloader, 0) | at(e.tee, 1) | at(e.spl4, 2) | at(e.spl5, 3) | at(e.spl6, 4) | at(e.spl7, 5) |
         at(e.snp, 6) | at(e.microcode, 7);
}

Status CheckReportedTcb(uint64_t reported_tcb, const EndorsementExtensions& ext, Product product) {
  if (product == Product::kTurin && !ext.fmc)
    return VerificationFailed("the Turin endorsement certificate has no fmcSPL extension (1.3.6.1.4.1.3704.1.3.9)");
  uint64_t cert_tcb = CertificateTcb(ext, product);
  if (cert_tcb == reported_tcb) return Status::Ok();
  TcbVersion r = DecodeTcb(reported_tcb, product), c = DecodeTcb(cert_tcb, product);
  std::string diffs;
  auto diff = [&diffs](std::string_view name, unsigned a, unsigned b) {
    if (a == b) return;
    diffs += (diffs.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(a) + " vs " + std::to_string(b);
  };
  diff("bootloader", r.bootloader, c.bootloader);
  diff("tee", r.tee, c.tee);
  diff("snp", r.snp, c.snp);
  diff("microcode", r.microcode, c.microcode);
  if (r.fmc && c.fmc) diff("fmc", *r.fmc, *c.fmc);
  if (diffs.empty()) diffs = "reserved bytes differ";
  return VerificationFailed("the report's REPORTED_TCB " + DescribeTcb(reported_tcb, product) +
                            " does not match the TCB the endorsement certificate was issued for " +
                            DescribeTcb(cert_tcb, product) + " [" + diffs +
                            "]; fetch the VCEK/VLEK for this TCB from AMD KDS");
}

Status CheckChipId(ByteSpan chip_id, const EndorsementExtensions& ext, Product product) {
  if (!ext.hwid)
    return VerificationFailed("the VCEK has no hwID extension (1.3.6.1.4.1.3704.1.4) to match the report's CHIP_ID");
  const Bytes& hwid = *ext.hwid;
  bool match = false;
  if (hwid.size() == chip_id.size()) {
    match = std::memcmp(hwid.data(), chip_id.data(), hwid.size()) == 0;
  } else if (product == Product::kTurin && hwid.size() == 8 && chip_id.size() == 64) {
    match = std::memcmp(hwid.data(), chip_id.data(), 8) == 0 && AllZero(chip_id.subspan(8));
  }
  if (match) return Status::Ok();
  return VerificationFailed("the report's CHIP_ID " + HexEncode(chip_id) + " is not the VCEK's hwID " +
                            HexEncode(hwid) + "; the VCEK belongs to another chip");
}

Result<const TrustAnchors*> AmdTrustAnchors() {
  static const Result<TrustAnchors> anchors = []() -> Result<TrustAnchors> {
    TrustAnchors a;
    for (size_t i = 0; i < kAmdCertificateCount; ++i) {
      const char* pem = kAmdCertificatePems[i];
      auto certs = x509::Certificate::ParseAll(AsBytes(pem));
      if (!certs.ok()) return Internal("built-in AMD certificate does not parse: " + certs.status().message());
      for (auto& c : *certs) {
        bool duplicate = false;
        for (const auto& have : a.certificates) duplicate |= have.der() == c.der();
        if (!duplicate) a.certificates.push_back(std::move(c));
      }
    }
    for (const char* hex : kPinnedArkSha256) {
      auto fp = HexDecode(hex);
      if (!fp.ok()) return Internal("built-in ARK fingerprint is not hex");
      a.pinned_ark_sha256.push_back(std::move(*fp));
    }
    return a;
  }();
  if (!anchors.ok()) return anchors.status();
  return &*anchors;
}

Result<SelectedChain> SelectChain(const x509::Certificate& leaf, const std::vector<x509::Certificate>& supplied,
                                  const TrustAnchors& anchors) {
  std::string issuer_cn = CommonName(leaf.IssuerName());
  auto issuer = ClassifyAmdCommonName(issuer_cn);
  if (!issuer || (issuer->role != AmdName::Role::kAsk && issuer->role != AmdName::Role::kAsvk))
    return VerificationFailed("the endorsement certificate's issuer '" + leaf.IssuerName() +
                              "' is not an AMD ASK (SEV-<product>) or ASVK (SEV-VLEK-<product>); this is not a "
                              "VCEK or VLEK from AMD KDS");
  SelectedChain out{*issuer->product,
                    issuer->role == AmdName::Role::kAsk ? SigningKey::kVcek : SigningKey::kVlek, {}, {}};
  const std::string product(ProductName(out.product));
  const std::string ark_cn = "ARK-" + product;
  const std::string key_name(out.kind == SigningKey::kVcek ? "VCEK" : "VLEK");

  std::optional<x509::Certificate> intermediate, root;
  for (const auto& c : supplied) {
    std::string cn = CommonName(c.SubjectName());
    auto name = ClassifyAmdCommonName(cn);
    if (!name || !name->product || name->role == AmdName::Role::kVcek || name->role == AmdName::Role::kVlek)
      return VerificationFailed("chain certificate '" + c.SubjectName() +
                                "' is not an AMD ARK, ASK or ASVK; supply the KDS cert_chain for " + product);
    if (*name->product != out.product)
      return VerificationFailed("wrong AMD product chain: the supplied " + std::string(RoleName(name->role)) + " '" +
                                cn + "' is for " + std::string(ProductName(*name->product)) + ", but the " +
                                key_name + " was issued by '" + issuer_cn + "' (" + product +
                                "); supply the " + product + " chain or omit it to use the built-in one");
    if (cn == issuer_cn) {
      intermediate = c;
    } else if (cn == ark_cn) {
      root = c;
    } else {
      return VerificationFailed("chain certificate '" + cn + "' (" + std::string(RoleName(name->role)) +
                                ") did not issue this " + key_name + " (its issuer is '" + issuer_cn +
                                "'); a VCEK needs the ASK chain and a VLEK the ASVK chain");
    }
  }
  for (const auto& c : anchors.certificates) {
    std::string cn = CommonName(c.SubjectName());
    if (!intermediate && cn == issuer_cn) intermediate = c;
    if (!root && cn == ark_cn) root = c;
  }
  if (!intermediate)
    return VerificationFailed("no certificate named '" + issuer_cn + "' is built in or supplied to verify the " +
                              key_name);
  if (!root) return VerificationFailed("no " + ark_cn + " certificate is built in or supplied");
  Bytes fp = root->Sha256Fingerprint();
  bool pinned = false;
  for (const auto& want : anchors.pinned_ark_sha256) pinned |= want == fp;
  if (!pinned)
    return VerificationFailed("the supplied " + ark_cn + " (SHA-256 " + HexEncode(fp) +
                              ") is not AMD's pinned root key for " + product);
  out.intermediate = std::move(*intermediate);
  out.root = std::move(*root);
  return out;
}

}  // namespace internal

Result<ReportVerifier> ReportVerifierFactory::Create(const Inputs& inputs, const internal::TrustAnchors& anchors) {
  if (inputs.endorsement_cert.empty())
    return InvalidArgument("no VCEK/VLEK certificate given; fetch it from AMD KDS for this chip and TCB");
  auto leaf_certs = x509::Certificate::ParseAll(inputs.endorsement_cert);
  if (!leaf_certs.ok()) return leaf_certs.status().WithContext("VCEK/VLEK certificate");
  x509::Certificate leaf = leaf_certs->front();
  // A bundle may carry the chain after the endorsement certificate.
  std::vector<x509::Certificate> supplied(leaf_certs->begin() + 1, leaf_certs->end());
  if (!inputs.chain.empty()) {
    auto chain = x509::Certificate::ParseAll(inputs.chain);
    if (!chain.ok()) return chain.status().WithContext("AMD certificate chain");
    supplied.insert(supplied.end(), chain->begin(), chain->end());
  }

  auto subject = internal::ClassifyAmdCommonName(internal::CommonName(leaf.SubjectName()));
  if (!subject || (subject->role != internal::AmdName::Role::kVcek && subject->role != internal::AmdName::Role::kVlek))
    return InvalidArgument("certificate '" + leaf.SubjectName() +
                           "' is not an AMD VCEK or VLEK (its common name must be SEV-VCEK or SEV-VLEK)");
  CONFIDE_ASSIGN_OR_RETURN(internal::SelectedChain chain, internal::SelectChain(leaf, supplied, anchors));
  SigningKey subject_kind = subject->role == internal::AmdName::Role::kVcek ? SigningKey::kVcek : SigningKey::kVlek;
  if (subject_kind != chain.kind)
    return VerificationFailed("certificate '" + internal::CommonName(leaf.SubjectName()) + "' was issued by '" +
                              internal::CommonName(leaf.IssuerName()) +
                              "'; VCEKs are issued by an ASK (SEV-<product>) and VLEKs by an ASVK (SEV-VLEK-<product>)");
  if (inputs.expected_product && *inputs.expected_product != chain.product)
    return VerificationFailed("expected AMD product " + std::string(ProductName(*inputs.expected_product)) +
                              ", but the endorsement certificate was issued for " +
                              std::string(ProductName(chain.product)) + " (issuer '" +
                              internal::CommonName(leaf.IssuerName()) + "')");

  x509::ChainOptions options;
  options.at = inputs.at;
  Status chain_status = x509::VerifyChain(leaf, {chain.intermediate}, {chain.root}, options);
  if (!chain_status.ok())
    return chain_status.WithContext("AMD " + std::string(ProductName(chain.product)) +
                                    (chain.kind == SigningKey::kVcek ? " VCEK" : " VLEK") + " chain");

  crypto::PKey key = leaf.PublicKey();
  if (!key || !key.IsEc() || key.EcCurve() != crypto::Curve::kP384)
    return VerificationFailed("the endorsement certificate's key is not ECDSA P-384, as SEV-SNP reports require");
  CONFIDE_ASSIGN_OR_RETURN(internal::EndorsementExtensions ext, internal::ReadEndorsementExtensions(leaf));
  if (ext.product_name) {
    std::string family = ext.product_name->substr(0, ext.product_name->find('-'));
    auto named = ParseProduct(family);
    if (!named.ok() || *named != chain.product)
      return VerificationFailed("the endorsement certificate's productName '" + *ext.product_name +
                                "' does not match its issuer's product " + std::string(ProductName(chain.product)));
  }

  ReportVerifier v;
  v.product_ = chain.product;
  v.key_kind_ = chain.kind;
  v.state_ = std::make_shared<ReportVerifier::State>(ReportVerifier::State{leaf, key, std::move(ext)});
  return v;
}

Result<ReportVerifier> ReportVerifier::Create(const Inputs& inputs) {
  CONFIDE_ASSIGN_OR_RETURN(const internal::TrustAnchors* anchors, internal::AmdTrustAnchors());
  return ReportVerifierFactory::Create(inputs, *anchors);
}

Result<VerificationResult> ReportVerifier::Verify(ByteSpan data) const {
  CONFIDE_ASSIGN_OR_RETURN(Report rep, ParseReport(data));
  const std::string key_name(key_kind_ == SigningKey::kVcek ? "VCEK" : "VLEK");
  if (rep.signing_key == SigningKey::kNone)
    return VerificationFailed("the SNP report is unsigned (SIGNING_KEY = 7, no key)");
  if (rep.signing_key != key_kind_)
    return VerificationFailed("the SNP report says it was signed by the " +
                              std::string(rep.signing_key == SigningKey::kVcek ? "VCEK" : "VLEK") + ", but a " +
                              key_name + " certificate was supplied");
  if (auto cpu = ProductFromCpuid(rep); cpu && *cpu != product_)
    return VerificationFailed("the report's CPUID says " + std::string(ProductName(*cpu)) + ", but the " + key_name +
                              " is for " + std::string(ProductName(product_)));

  Bytes signature = rep.signature_r;
  Append(signature, rep.signature_s);
  Status sig = crypto::EcdsaVerifyRaw(state_->key, crypto::HashAlg::kSha384, data.first(kSignedSize), signature,
                                      crypto::Endian::kLittle);
  if (!sig.ok())
    return VerificationFailed("the SNP report signature does not verify with the " + key_name +
                              " (the report was altered, or the " + key_name + " belongs to another chip): " +
                              sig.message());

  CONFIDE_RETURN_IF_ERROR(internal::CheckReportedTcb(rep.reported_tcb, state_->ext, product_));
  // With MASK_CHIP_KEY the firmware zeroes CHIP_ID; the signature by the chip-unique VCEK still
  // binds the report to the chip, so only an unmasked CHIP_ID is compared.
  if (key_kind_ == SigningKey::kVcek && !rep.mask_chip_key)
    CONFIDE_RETURN_IF_ERROR(internal::CheckChipId(rep.chip_id, state_->ext, product_));

  VerificationResult result;
  result.tcb_status = TcbStatus::kUpToDate;
  Claims& c = result.claims;
  c.format = "snp";
  c.identity = rep.measurement;
  c.security_version = rep.guest_svn;
  c.debug = rep.policy.debug;
  c.report_data = rep.report_data;
  c.platform_id = HexEncode(rep.chip_id);
  const GuestPolicy& p = rep.policy;
  nlohmann::json& x = c.extra;
  x["version"] = rep.version;
  x["product"] = std::string(ProductName(product_));
  x["signing_key"] = std::string(SigningKeyName(rep.signing_key));
  x["measurement"] = HexEncode(rep.measurement);
  x["host_data"] = HexEncode(rep.host_data);
  x["report_data"] = HexEncode(rep.report_data);
  x["policy"] = {{"value", internal::Hex64(p.raw)},
                 {"abi_major", p.abi_major},
                 {"abi_minor", p.abi_minor},
                 {"smt", p.smt},
                 {"migration_agent", p.migration_agent},
                 {"debug", p.debug},
                 {"single_socket", p.single_socket},
                 {"cxl_allowed", p.cxl_allowed},
                 {"mem_aes_256_xts", p.mem_aes_256_xts},
                 {"rapl_disabled", p.rapl_disabled},
                 {"ciphertext_hiding_dram", p.ciphertext_hiding_dram},
                 {"page_swap_disabled", p.page_swap_disabled}};
  x["debug"] = p.debug;
  x["vmpl"] = rep.vmpl;
  x["guest_svn"] = rep.guest_svn;
  x["reported_tcb"] = internal::TcbJson(rep.reported_tcb, product_);
  x["current_tcb"] = internal::TcbJson(rep.current_tcb, product_);
  x["committed_tcb"] = internal::TcbJson(rep.committed_tcb, product_);
  x["launch_tcb"] = internal::TcbJson(rep.launch_tcb, product_);
  x["chip_id"] = HexEncode(rep.chip_id);
  x["mask_chip_key"] = rep.mask_chip_key;
  x["author_key_en"] = rep.author_key_en;
  x["family_id"] = HexEncode(rep.family_id);
  x["image_id"] = HexEncode(rep.image_id);
  x["id_key_digest"] = HexEncode(rep.id_key_digest);
  x["author_key_digest"] = HexEncode(rep.author_key_digest);
  x["report_id"] = HexEncode(rep.report_id);
  x["report_id_ma"] = HexEncode(rep.report_id_ma);
  x["platform_info"] = {{"value", internal::Hex64(rep.platform_info)},
                        {"smt_enabled", (rep.platform_info & 1) != 0},
                        {"tsme_enabled", (rep.platform_info & 2) != 0},
                        {"ecc_enabled", (rep.platform_info & 4) != 0},
                        {"rapl_disabled", (rep.platform_info & 8) != 0},
                        {"ciphertext_hiding_dram_enabled", (rep.platform_info & 16) != 0},
                        {"alias_check_complete", (rep.platform_info & 32) != 0}};
  x["current_version"] = internal::VersionText(rep.current_version);
  x["committed_version"] = internal::VersionText(rep.committed_version);
  if (rep.cpuid_family)
    x["cpuid"] = {{"family", *rep.cpuid_family}, {"model", *rep.cpuid_model}, {"stepping", *rep.cpuid_stepping}};
  if (rep.launch_mit_vector) x["launch_mit_vector"] = internal::Hex64(*rep.launch_mit_vector);
  if (rep.current_mit_vector) x["current_mit_vector"] = internal::Hex64(*rep.current_mit_vector);
  return result;
}

Result<VerificationResult> VerifyReport(ByteSpan report, const Inputs& inputs) {
  CONFIDE_ASSIGN_OR_RETURN(ReportVerifier verifier, ReportVerifier::Create(inputs));
  return verifier.Verify(report);
}

}  // namespace confide::attestation::snp
