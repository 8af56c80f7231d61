#include "attestation/snp_test_pki.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <iostream>

namespace confide::attestation::snp::testing {
namespace {

// Test-setup failures abort loudly: a half-built PKI must never let a test pass.
void Check(bool ok, const char* what) {
  if (!ok) {
    std::cerr << "snp_test_pki: " << what << " failed\n";
    std::abort();
  }
}

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::cerr << "snp_test_pki: " << what << ": " << r.status().ToString() << "\n";
    std::abort();
  }
  return std::move(r).value();
}

void AddAmdName(X509_NAME* name, const std::string& cn) {
  auto add = [name](const char* field, const std::string& value) {
    Check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC, reinterpret_cast<const unsigned char*>(value.c_str()),
                                     -1, -1, 0) == 1,
          "X509_NAME_add_entry");
  };
  add("OU", "Engineering");
  add("C", "US");
  add("L", "Santa Clara");
  add("ST", "CA");
  add("O", "Advanced Micro Devices");
  add("CN", cn);
}

Bytes DerInteger(uint8_t v) {
  Bytes out;
  out.push_back(0x02);
  out.push_back((v & 0x80) ? 2 : 1);
  if (v & 0x80) out.push_back(0x00);  // keep it positive
  out.push_back(v);
  return out;
}

Bytes DerIa5(const std::string& s) {
  Bytes out;
  out.reserve(s.size() + 2);
  out.push_back(0x16);
  out.push_back(static_cast<uint8_t>(s.size()));
  for (char c : s) out.push_back(static_cast<uint8_t>(c));
  return out;
}

}  // namespace

x509::Certificate MakeCert(const std::string& subject_cn, const std::string& issuer_cn, const crypto::PKey& subject_key,
                           const crypto::PKey& issuer_key, bool ca,
                           const std::vector<std::pair<std::string, Bytes>>& extensions, long not_before_unix,
                           long not_after_unix) {
  X509* cert = X509_new();
  Check(cert != nullptr, "X509_new");
  Check(X509_set_version(cert, 2) == 1, "X509_set_version");
  ASN1_INTEGER_set(X509_get_serialNumber(cert), ca ? 0x10001 : 0);
  AddAmdName(X509_get_subject_name(cert), subject_cn);
  AddAmdName(X509_get_issuer_name(cert), issuer_cn);
  Check(ASN1_TIME_set(X509_getm_notBefore(cert), not_before_unix) != nullptr, "notBefore");
  Check(ASN1_TIME_set(X509_getm_notAfter(cert), not_after_unix) != nullptr, "notAfter");
  Check(X509_set_pubkey(cert, subject_key.get()) == 1, "X509_set_pubkey");
  if (ca) {
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                              std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
      Check(ext != nullptr && X509_add_ext(cert, ext, -1) == 1, "CA extension");
      X509_EXTENSION_free(ext);
    }
  }
  for (const auto& [oid, value] : extensions) {
    ASN1_OBJECT* obj = OBJ_txt2obj(oid.c_str(), 1);
    ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
    Check(obj && data && ASN1_OCTET_STRING_set(data, value.data(), static_cast<int>(value.size())) == 1, "ext data");
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj, 0, data);
    Check(ext != nullptr && X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(data);
    ASN1_OBJECT_free(obj);
  }
  // RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48: what AMD KDS uses throughout.
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  Check(md && EVP_DigestSignInit(md, &pctx, EVP_sha384(), nullptr, issuer_key.get()) == 1, "DigestSignInit");
  Check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1, "PSS padding");
  Check(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1, "PSS salt");
  Check(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1, "PSS mgf1");
  Check(X509_sign_ctx(cert, md) > 0, "X509_sign_ctx");
  EVP_MD_CTX_free(md);
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  Check(len > 0, "i2d_X509");
  Bytes bytes(der, der + len);
  OPENSSL_free(der);
  X509_free(cert);
  return Must(x509::Certificate::FromDer(bytes), "parse synthetic certificate");
}

Pki MakePki(Product product) {
  const std::string p(ProductName(product));
  constexpr long k2020 = 1577836800, k2045 = 2366841600;
  Pki pki;
  pki.ark_key = Must(crypto::RsaGenerate(2048, 65537), "ARK key");
  pki.ask_key = Must(crypto::RsaGenerate(2048, 65537), "ASK key");
  pki.asvk_key = Must(crypto::RsaGenerate(2048, 65537), "ASVK key");
  pki.ark = MakeCert("ARK-" + p, "ARK-" + p, pki.ark_key, pki.ark_key, true, {}, k2020, k2045);
  pki.ask = MakeCert("SEV-" + p, "ARK-" + p, pki.ask_key, pki.ark_key, true, {}, k2020, k2045);
  pki.asvk = MakeCert("SEV-VLEK-" + p, "ARK-" + p, pki.asvk_key, pki.ark_key, true, {}, k2020, k2045);
  pki.anchors.certificates = {pki.ask, pki.asvk, pki.ark};
  pki.anchors.pinned_ark_sha256 = {pki.ark.Sha256Fingerprint()};
  return pki;
}

x509::Certificate MakeLeaf(const LeafSpec& spec, const x509::Certificate& issuer, const crypto::PKey& issuer_key,
                           const crypto::PKey& key) {
  constexpr long k2024 = 1704067200, k2031 = 1924992000;
  std::vector<std::pair<std::string, Bytes>> ext;
  ext.emplace_back(internal::kOidStructVersion, DerInteger(1));
  if (spec.product_name) ext.emplace_back(internal::kOidProductName, DerIa5(*spec.product_name));
  ext.emplace_back(internal::kOidBlSpl, DerInteger(spec.bootloader));
  ext.emplace_back(internal::kOidTeeSpl, DerInteger(spec.tee));
  ext.emplace_back(internal::kOidSnpSpl, DerInteger(spec.snp));
  ext.emplace_back(internal::kOidUcodeSpl, DerInteger(spec.microcode));
  if (spec.fmc) ext.emplace_back(internal::kOidFmcSpl, DerInteger(*spec.fmc));
  if (spec.hwid) ext.emplace_back(internal::kOidHwid, *spec.hwid);
  if (spec.csp_id) ext.emplace_back(internal::kOidCspId, DerIa5(*spec.csp_id));
  return MakeCert(spec.subject_cn, internal::CommonName(issuer.SubjectName()), key, issuer_key, false, ext, k2024,
                  k2031);
}

Bytes BuildReport(const ReportSpec& s) {
  Bytes r(kReportSize, 0);
  auto put32 = [&r](size_t off, uint32_t v) {
    for (int i = 0; i < 4; ++i) r[off + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  auto put64 = [&r](size_t off, uint64_t v) {
    for (int i = 0; i < 8; ++i) r[off + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  put32(0x00, s.version);
  put32(0x04, 1);  // guest SVN
  put64(0x08, s.policy);
  put32(0x34, kSignatureAlgoEcdsaP384Sha384);
  put64(0x38, s.tcb);
  put32(0x48, static_cast<uint32_t>(s.signing_key) << 2);
  std::copy(s.report_data.begin(), s.report_data.end(), r.begin() + 0x50);
  for (size_t i = 0; i < 48; ++i) r[0x90 + i] = static_cast<uint8_t>(i);  // measurement
  put64(0x180, s.tcb);
  if (s.version >= 3 && s.cpuid) {
    r[0x188] = (*s.cpuid)[0];
    r[0x189] = (*s.cpuid)[1];
    r[0x18A] = (*s.cpuid)[2];
  }
  std::copy(s.chip_id.begin(), s.chip_id.end(), r.begin() + 0x1A0);
  put64(0x1E0, s.tcb);
  r[0x1E8] = 7, r[0x1E9] = 55, r[0x1EA] = 1;  // current firmware 1.55.7
  r[0x1EC] = 7, r[0x1ED] = 55, r[0x1EE] = 1;
  put64(0x1F0, s.tcb);
  if (s.version >= 5) {
    put64(0x1F8, s.launch_mit);
    put64(0x200, s.current_mit);
  }
  return r;
}

void SignReport(Bytes& report, const crypto::PKey& key) {
  Bytes sig = Must(crypto::EcdsaSignRaw(key, crypto::HashAlg::kSha384, ByteSpan(report).first(kSignedSize),
                                        crypto::Endian::kLittle),
                   "sign report");
  Check(sig.size() == 96, "P-384 raw signature size");
  std::fill(report.begin() + kSignatureOffset, report.end(), 0);
  std::copy(sig.begin(), sig.begin() + 48, report.begin() + 0x2A0);
  std::copy(sig.begin() + 48, sig.end(), report.begin() + 0x2E8);
}

}  // namespace confide::attestation::snp::testing
