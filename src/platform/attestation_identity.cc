#include "platform/attestation_identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "confide/time.h"

namespace confide::platform {
namespace {

namespace soft = attestation::soft;

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

Result<std::vector<x509::Certificate>> ReadCerts(const std::string& path, std::string_view what) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status().WithContext("reading the " + std::string(what));
  auto certs = x509::Certificate::ParseAll(*bytes);
  if (!certs.ok()) return certs.status().WithContext(std::string(what) + " " + path);
  if (certs->empty()) return InvalidArgument(path + " holds no certificate (the " + std::string(what) + ")");
  return certs;
}

Status SameKey(const x509::Certificate& cert, const crypto::PKey& key, const std::string& where) {
  CONFIDE_ASSIGN_OR_RETURN(Bytes a, cert.PublicKey().PublicDer());
  CONFIDE_ASSIGN_OR_RETURN(Bytes b, key.PublicDer());
  if (a != b)
    return InvalidArgument("the platform certificate " + where +
                           " certifies another key than this platform's attestation key; make a CSR with "
                           "'confide platform csr' for this state directory and have it certified");
  return Status::Ok();
}

}  // namespace

Result<crypto::PKey> LoadOrCreateAttestationKey(const std::string& state_dir) {
  std::string path = state_dir + "/" + kAttestationKeyFile;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    CONFIDE_ASSIGN_OR_RETURN(crypto::PKey key, crypto::EcGenerate(crypto::Curve::kP256));
    CONFIDE_ASSIGN_OR_RETURN(SecureBytes pem, crypto::PrivateKeyPem(key));
    // O_EXCL: never overwrite a key another process created meanwhile.
    int out = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) return IoError("cannot create the attestation key " + path + ": " + strerror(errno));
    bool ok = write(out, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) && fsync(out) == 0;
    close(out);
    if (!ok) {
      unlink(path.c_str());
      return IoError("cannot write the attestation key " + path);
    }
    return key;
  }
  if (fd < 0) return IoError("cannot open the attestation key " + path + ": " + strerror(errno));
  struct stat st{};
  fstat(fd, &st);
  close(fd);
  if (!S_ISREG(st.st_mode)) return InvalidArgument(path + " is not a regular file");
  if (st.st_uid != geteuid())
    return PermissionDenied(path + " belongs to uid " + std::to_string(st.st_uid) + ", not to this daemon's user");
  if ((st.st_mode & 077) != 0)
    return PermissionDenied(path + " is readable by others; the attestation key must be mode 0600 (chmod 600 " +
                            path + ", and treat the key as compromised if others could read it)");
  auto pem = ReadFile(path);
  if (!pem.ok()) return pem.status();
  auto key = crypto::ParsePrivateKeyPem(*pem);
  SecureZero(*pem);
  if (!key.ok()) return key.status().WithContext("the attestation key " + path);
  if (key->EcCurve() != crypto::Curve::kP256) return InvalidArgument(path + " is not an ECDSA P-256 key");
  return key;
}

Status InstallPlatformCertificate(const std::string& state_dir, const std::string& cert_path,
                                  const std::string& chain_path, const std::string& collateral_path) {
  CONFIDE_ASSIGN_OR_RETURN(crypto::PKey key, LoadOrCreateAttestationKey(state_dir));
  CONFIDE_ASSIGN_OR_RETURN(auto certs, ReadCerts(cert_path, "platform certificate"));
  CONFIDE_RETURN_IF_ERROR(SameKey(certs.front(), key, cert_path));
  // A bundle (as 'confide provision certify' writes) carries its issuers after the leaf.
  std::vector<x509::Certificate> chain = certs;
  if (!chain_path.empty()) {
    CONFIDE_ASSIGN_OR_RETURN(auto issuers, ReadCerts(chain_path, "platform certificate chain"));
    chain.insert(chain.end(), issuers.begin(), issuers.end());
  }
  // QuoteSigner checks the platform extension and the key once more, as the daemon will.
  CONFIDE_RETURN_IF_ERROR(soft::QuoteSigner::Create(key, chain).status().WithContext(cert_path));
  std::string leaf, rest;
  for (size_t i = 0; i < chain.size(); ++i) {
    CONFIDE_ASSIGN_OR_RETURN(std::string pem, soft::CertificatePem(chain[i]));
    (i == 0 ? leaf : rest) += pem;
  }
  if (!collateral_path.empty()) CONFIDE_RETURN_IF_ERROR(InstallCollateral(state_dir, collateral_path));
  CONFIDE_RETURN_IF_ERROR(WriteFile(state_dir + "/" + kPlatformChainFile, AsBytes(rest), 0644));
  return WriteFile(state_dir + "/" + kPlatformCertFile, AsBytes(leaf), 0644);
}

Status InstallCollateral(const std::string& state_dir, const std::string& collateral_path) {
  CONFIDE_ASSIGN_OR_RETURN(Bytes c, ReadFile(collateral_path));
  CONFIDE_RETURN_IF_ERROR(soft::SoftCollateral::Parse(c).status().WithContext(collateral_path));
  return WriteFile(state_dir + "/" + kCollateralFile, c, 0644);
}

Result<std::unique_ptr<AttestationIdentity>> AttestationIdentity::Load(const std::string& state_dir) {
  std::unique_ptr<AttestationIdentity> id(new AttestationIdentity);
  id->state_dir_ = state_dir;
  CONFIDE_ASSIGN_OR_RETURN(crypto::PKey key, LoadOrCreateAttestationKey(state_dir));
  std::vector<x509::Certificate> chain;
  std::string cert_path = state_dir + "/" + kPlatformCertFile;
  if (Exists(cert_path)) {
    CONFIDE_ASSIGN_OR_RETURN(chain, ReadCerts(cert_path, "platform certificate"));
    chain.resize(1);
    CONFIDE_RETURN_IF_ERROR(SameKey(chain.front(), key, cert_path));
    std::string chain_path = state_dir + "/" + kPlatformChainFile;
    if (Exists(chain_path)) {
      CONFIDE_ASSIGN_OR_RETURN(auto issuers, ReadCerts(chain_path, "platform certificate chain"));
      chain.insert(chain.end(), issuers.begin(), issuers.end());
    }
  } else {
    // Development: a local root, kept across restarts so verifiers can pin it.
    std::string ca_dir = state_dir + "/" + kDevelopmentCaDir;
    if (Exists(ca_dir + "/root.pem")) {
      CONFIDE_ASSIGN_OR_RETURN(soft::Ca ca, soft::LoadCa(ca_dir));
      id->ca_ = std::move(ca);
    } else {
      soft::CaOptions o;
      o.name = "confide development platform";
      o.development = true;
      CONFIDE_ASSIGN_OR_RETURN(soft::Ca ca, soft::CreateCa(o));
      if (mkdir(ca_dir.c_str(), 0700) != 0 && errno != EEXIST)
        return IoError("cannot create " + ca_dir + ": " + strerror(errno));
      CONFIDE_RETURN_IF_ERROR(soft::SaveCa(ca, ca_dir));
      id->ca_ = std::move(ca);
    }
    if (!id->ca_->development)
      return InvalidArgument(ca_dir + " holds a CA not marked development; production platforms install a "
                             "certificate with 'confide platform start --cert'");
    UnixTime now = Now();
    CONFIDE_ASSIGN_OR_RETURN(x509::Certificate cert,
                             soft::Certify(*id->ca_, key, "confide development platform", kPlatformSvn,
                                           now - std::chrono::hours(1), 365));
    chain = {cert, id->ca_->platform_ca};
  }
  auto signer = soft::QuoteSigner::Create(key, chain);
  if (!signer.ok()) return signer.status().WithContext("the platform's attestation identity");
  id->signer_ = std::make_shared<soft::QuoteSigner>(std::move(*signer));
  return id;
}

platform_services::Quoter AttestationIdentity::Quoter() const {
  std::shared_ptr<const soft::QuoteSigner> s = signer_;
  return [s](const platform_services::ReportBody& body) { return s->Sign(body); };
}

Result<nlohmann::json> AttestationIdentity::Info() {
  nlohmann::json j;
  j["development"] = development();
  CONFIDE_ASSIGN_OR_RETURN(std::string cert, soft::CertificatePem(signer_->platform_certificate()));
  j["platform_certificate"] = cert;
  j["platform_svn"] = signer_->platform_info().platform_svn;
  if (ca_) {
    // Fresh collateral on every request: the development CA re-signs its CRLs and TCB info.
    UnixTime now = Now();
    CONFIDE_RETURN_IF_ERROR(soft::RefreshCrls(*ca_, now - std::chrono::minutes(5)));
    soft::TcbInfo info;
    info.issue_date = now - std::chrono::minutes(5);
    info.next_update = now + std::chrono::hours(24 * 30);
    info.evaluation_number = 1;
    info.levels = {{kPlatformSvn, attestation::TcbStatus::kUpToDate, {}}};
    CONFIDE_ASSIGN_OR_RETURN(Bytes c, soft::CaCollateral(*ca_, info));
    j["collateral"] = ToString(c);
    CONFIDE_ASSIGN_OR_RETURN(std::string root, soft::CertificatePem(ca_->root));
    j["root"] = root;
  } else {
    auto c = ReadFile(state_dir_ + "/" + kCollateralFile);
    if (c.ok()) j["collateral"] = ToString(*c);
  }
  return j;
}

}  // namespace confide::platform
