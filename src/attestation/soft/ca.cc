// The provisioning CA: create, store, certify platforms, revoke, publish collateral.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "confide/attestation/soft.h"

namespace confide::attestation::soft {
namespace {

constexpr std::chrono::hours kDay{24};

std::string Path(const std::string& dir, std::string_view name) { return dir + "/" + std::string(name); }

Status WriteText(const std::string& path, std::string_view text, unsigned mode) {
  return WriteFile(path, AsBytes(text), mode);
}

Status WriteKey(const std::string& path, const crypto::PKey& key) {
  CONFIDE_ASSIGN_OR_RETURN(SecureBytes pem, crypto::PrivateKeyPem(key));
  return WriteFile(path, pem.span(), 0600);
}

Result<x509::Certificate> ReadCert(const std::string& path) {
  CONFIDE_ASSIGN_OR_RETURN(Bytes data, ReadFile(path));
  auto cert = x509::Certificate::FromPem(data);
  if (!cert.ok()) return cert.status().WithContext(path);
  return cert;
}

Result<crypto::PKey> ReadKey(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return NotFound(path + ": " + std::strerror(errno));
  if ((st.st_mode & 077) != 0)
    return PermissionDenied(path + " is a private key readable by group or others; run chmod 600 " + path);
  CONFIDE_ASSIGN_OR_RETURN(Bytes data, ReadFile(path));
  auto key = crypto::ParsePrivateKeyPem(data);
  SecureZero(data);
  if (!key.ok()) return key.status().WithContext(path);
  return key;
}

Result<x509::Crl> ReadCrl(const std::string& path) {
  CONFIDE_ASSIGN_OR_RETURN(Bytes data, ReadFile(path));
  auto crl = x509::Crl::Parse(data);
  if (!crl.ok()) return crl.status().WithContext(path);
  return crl;
}

}  // namespace

Result<Ca> CreateCa(const CaOptions& options) {
  if (options.days <= 0 || options.crl_days <= 0) return InvalidArgument("CA validity days must be positive");
  const UnixTime nb = options.not_before == UnixTime{} ? Now() : options.not_before;
  const UnixTime na = nb + options.days * kDay;
  const std::string prefix = options.name + (options.development ? " (development)" : "");
  Ca ca;
  ca.development = options.development;
  CONFIDE_ASSIGN_OR_RETURN(ca.root_key, crypto::EcGenerate(crypto::Curve::kP256));
  CONFIDE_ASSIGN_OR_RETURN(ca.platform_ca_key, crypto::EcGenerate(crypto::Curve::kP256));
  CONFIDE_ASSIGN_OR_RETURN(ca.tcb_signing_key, crypto::EcGenerate(crypto::Curve::kP256));
  CertSpec root{prefix + " root", ca.root_key, true, nb, na, std::nullopt};
  CONFIDE_ASSIGN_OR_RETURN(ca.root, IssueCertificate(root, nullptr, ca.root_key));
  CertSpec pca{prefix + " platform CA", ca.platform_ca_key, true, nb, na, std::nullopt};
  CONFIDE_ASSIGN_OR_RETURN(ca.platform_ca, IssueCertificate(pca, &ca.root, ca.root_key));
  CertSpec tcb{prefix + " TCB signing", ca.tcb_signing_key, false, nb, na, std::nullopt};
  CONFIDE_ASSIGN_OR_RETURN(ca.tcb_signing, IssueCertificate(tcb, &ca.root, ca.root_key));
  CONFIDE_RETURN_IF_ERROR(RefreshCrls(ca, nb, options.crl_days));
  return ca;
}

Status RefreshCrls(Ca& ca, UnixTime at, int crl_days) {
  if (crl_days <= 0) return InvalidArgument("CRL validity days must be positive");
  CONFIDE_ASSIGN_OR_RETURN(ca.root_crl, IssueCrl(ca.root, ca.root_key, {}, at, at + crl_days * kDay));
  CONFIDE_ASSIGN_OR_RETURN(ca.platform_crl, IssueCrl(ca.platform_ca, ca.platform_ca_key, ca.revoked, at,
                                                     at + crl_days * kDay));
  return Status::Ok();
}

Status SaveCa(const Ca& ca, const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    if (!std::filesystem::is_directory(dir, ec)) return InvalidArgument(dir + " exists and is not a directory");
  } else if (::mkdir(dir.c_str(), 0700) != 0) {
    return IoError("creating " + dir + ": " + std::strerror(errno));
  }
  CONFIDE_ASSIGN_OR_RETURN(std::string root, CertificatePem(ca.root));
  CONFIDE_ASSIGN_OR_RETURN(std::string pca, CertificatePem(ca.platform_ca));
  CONFIDE_ASSIGN_OR_RETURN(std::string tcb, CertificatePem(ca.tcb_signing));
  CONFIDE_ASSIGN_OR_RETURN(std::string root_crl, CrlPem(ca.root_crl));
  CONFIDE_ASSIGN_OR_RETURN(std::string platform_crl, CrlPem(ca.platform_crl));
  CONFIDE_RETURN_IF_ERROR(WriteKey(Path(dir, "root.key"), ca.root_key));
  CONFIDE_RETURN_IF_ERROR(WriteKey(Path(dir, "platform-ca.key"), ca.platform_ca_key));
  CONFIDE_RETURN_IF_ERROR(WriteKey(Path(dir, "tcb-signing.key"), ca.tcb_signing_key));
  CONFIDE_RETURN_IF_ERROR(WriteText(Path(dir, "root.pem"), root, 0644));
  CONFIDE_RETURN_IF_ERROR(WriteText(Path(dir, "platform-ca.pem"), pca, 0644));
  CONFIDE_RETURN_IF_ERROR(WriteText(Path(dir, "tcb-signing.pem"), tcb, 0644));
  CONFIDE_RETURN_IF_ERROR(WriteText(Path(dir, "root.crl"), root_crl, 0644));
  CONFIDE_RETURN_IF_ERROR(WriteText(Path(dir, "platform-ca.crl"), platform_crl, 0644));
  nlohmann::ordered_json state;
  state["version"] = 1;
  state["development"] = ca.development;
  nlohmann::ordered_json revoked = nlohmann::ordered_json::array();
  for (const auto& s : ca.revoked) revoked.push_back(HexEncode(s));
  state["revoked"] = std::move(revoked);
  return WriteText(Path(dir, "state.json"), state.dump(2) + "\n", 0644);
}

Result<Ca> LoadCa(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return NotFound("CA directory " + dir + " does not exist (create one with `confide provision init --out " + dir + "`)");
  Ca ca;
  CONFIDE_ASSIGN_OR_RETURN(ca.root, ReadCert(Path(dir, "root.pem")));
  CONFIDE_ASSIGN_OR_RETURN(ca.platform_ca, ReadCert(Path(dir, "platform-ca.pem")));
  CONFIDE_ASSIGN_OR_RETURN(ca.tcb_signing, ReadCert(Path(dir, "tcb-signing.pem")));
  CONFIDE_ASSIGN_OR_RETURN(ca.root_key, ReadKey(Path(dir, "root.key")));
  CONFIDE_ASSIGN_OR_RETURN(ca.platform_ca_key, ReadKey(Path(dir, "platform-ca.key")));
  CONFIDE_ASSIGN_OR_RETURN(ca.tcb_signing_key, ReadKey(Path(dir, "tcb-signing.key")));
  CONFIDE_ASSIGN_OR_RETURN(ca.root_crl, ReadCrl(Path(dir, "root.crl")));
  CONFIDE_ASSIGN_OR_RETURN(ca.platform_crl, ReadCrl(Path(dir, "platform-ca.crl")));
  CONFIDE_ASSIGN_OR_RETURN(Bytes state_text, ReadFile(Path(dir, "state.json")));
  auto state = nlohmann::json::parse(state_text.begin(), state_text.end(), nullptr, false);
  if (state.is_discarded() || !state.is_object() || !state.contains("revoked") || !state["revoked"].is_array())
    return InvalidArgument(Path(dir, "state.json") + " is not a CA state file (needs a \"revoked\" array)");
  if (state.contains("development") && state["development"].is_boolean()) ca.development = state["development"].get<bool>();
  for (const auto& s : state["revoked"]) {
    auto serial = s.is_string() ? HexDecode(s.get<std::string>()) : Result<Bytes>(InvalidArgument("not a string"));
    if (!serial.ok()) return InvalidArgument(Path(dir, "state.json") + ": revoked serials must be hex strings");
    ca.revoked.push_back(std::move(serial).value());
  }
  // The keys must belong to the certificates, or everything issued later would not verify.
  auto matches = [](const crypto::PKey& key, const x509::Certificate& cert) {
    auto a = crypto::EcPublicKeyRaw(key);
    auto b = crypto::EcPublicKeyRaw(cert.PublicKey());
    return a.ok() && b.ok() && *a == *b;
  };
  if (!matches(ca.root_key, ca.root) || !matches(ca.platform_ca_key, ca.platform_ca) ||
      !matches(ca.tcb_signing_key, ca.tcb_signing))
    return InvalidArgument("CA directory " + dir + ": a key file does not match its certificate");
  return ca;
}

Result<x509::Certificate> Certify(const Ca& ca, const crypto::PKey& platform_key, std::string_view common_name,
                                  uint32_t platform_svn, UnixTime not_before, int days) {
  if (days <= 0) return InvalidArgument("platform certificate validity days must be positive");
  if (!platform_key || platform_key.EcCurve() != crypto::Curve::kP256)
    return InvalidArgument("platform attestation keys must be ECDSA P-256");
  UnixTime not_after = not_before + days * kDay;
  if (not_after > ca.platform_ca.NotAfter()) not_after = ca.platform_ca.NotAfter();  // never outlive the CA
  CertSpec spec{std::string(common_name), platform_key, false, not_before, not_after,
                PlatformInfo{platform_svn, ca.development}};
  return IssueCertificate(spec, &ca.platform_ca, ca.platform_ca_key);
}

Status Revoke(Ca& ca, const x509::Certificate& platform_cert, UnixTime at, int crl_days) {
  if (platform_cert.IssuerName() != ca.platform_ca.SubjectName() || !platform_cert.VerifySignedBy(ca.platform_ca).ok())
    return InvalidArgument("certificate '" + platform_cert.SubjectName() + "' was not issued by this CA's platform CA '" +
                           ca.platform_ca.SubjectName() + "'");
  Bytes serial = platform_cert.SerialNumber();
  if (std::find(ca.revoked.begin(), ca.revoked.end(), serial) == ca.revoked.end()) ca.revoked.push_back(serial);
  return RefreshCrls(ca, at, crl_days);
}

Result<Bytes> CaCollateral(const Ca& ca, const TcbInfo& info) {
  return MakeCollateral(info, ca.tcb_signing_key, {ca.tcb_signing, ca.root}, {ca.root_crl, ca.platform_crl});
}

}  // namespace confide::attestation::soft
