// The platform daemon's remote-attestation identity: an ECDSA P-256 attestation key kept in the
// state directory and the platform certificate chain that vouches for it, turned into the
// quoter its key service uses for trusted::GetQuote (docs/attestation.md, "The attester").
//
// Files in the state directory:
//   attestation.key      the attestation private key (PKCS#8 PEM, mode 0600, created once)
//   platform.pem         production: the platform certificate from the provisioning CA
//   platform-chain.pem   production: its issuers (platform CA, optionally the root)
//   collateral.json      production, optional: the CA's collateral, served to verifiers
//   development-ca/      development: a local CA this daemon made for itself
// A daemon whose state has no platform.pem runs in development mode: it creates a local root
// marked development and certifies its own key, so its quotes verify only against that root
// and say "development" (platform certificate extension).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "confide/attestation/soft.h"
#include "confide/crypto.h"
#include "confide/platform_services.h"
#include "confide/status.h"

namespace confide::platform {

inline constexpr const char* kAttestationKeyFile = "attestation.key";
inline constexpr const char* kPlatformCertFile = "platform.pem";
inline constexpr const char* kPlatformChainFile = "platform-chain.pem";
inline constexpr const char* kCollateralFile = "collateral.json";
inline constexpr const char* kDevelopmentCaDir = "development-ca";
// This daemon's platform software version, as certified in development mode and graded by TCB
// info. Raise it when a release fixes a security problem in the platform trusted base.
inline constexpr uint32_t kPlatformSvn = 1;

// Reads <state>/attestation.key (must be a regular file of this user, mode 0600), or creates it
// with a fresh P-256 key when absent.
Result<crypto::PKey> LoadOrCreateAttestationKey(const std::string& state_dir);

// Checks that the first certificate in `cert_path` is for this state's attestation key and
// carries the platform extension, then writes platform.pem (that certificate),
// platform-chain.pem (the rest of that file, then `chain_path`'s) and collateral.json.
Status InstallPlatformCertificate(const std::string& state_dir, const std::string& cert_path,
                                  const std::string& chain_path, const std::string& collateral_path);

// Checks and writes <state>/collateral.json (production collateral served to verifiers).
Status InstallCollateral(const std::string& state_dir, const std::string& collateral_path);

class AttestationIdentity {
 public:
  static Result<std::unique_ptr<AttestationIdentity>> Load(const std::string& state_dir);

  bool development() const { return ca_.has_value(); }
  platform_services::Quoter Quoter() const;
  // {"development", "platform_certificate", "collateral" (text; absent in production when the
  // operator installed none), "root" (development only)}
  Result<nlohmann::json> Info();

 private:
  AttestationIdentity() = default;
  std::string state_dir_;
  std::shared_ptr<attestation::soft::QuoteSigner> signer_;
  std::optional<attestation::soft::Ca> ca_;  // development mode only
};

}  // namespace confide::platform
