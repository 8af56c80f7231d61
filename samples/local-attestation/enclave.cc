// Enclave side, the same code in both enclaves (ROLE names them; the images differ, so do their
// MRENCLAVEs). The report's MAC proves the peer runs on this platform with the identity it
// shows; report_data ties its ECDH public key to that identity, so the host in the middle
// cannot substitute its own key.
#include <openssl/evp.h>

#include <cstring>
#include <mutex>
#include <string>

#include "confide/crypto.h"
#include "confide/sealing.h"
#include "local_attestation_t.h"

using namespace confide;
namespace ps = confide::platform_services;

#ifndef ROLE
#define ROLE "enclave"
#endif

namespace {

std::mutex g_mu;
crypto::PKey g_key;          // this session's ECDH key pair
SecureBytes g_session_key;   // AES-256-GCM key shared with the peer

// A log line for the sample's output; losing one is harmless, so its status is not checked.
void Say(const std::string& line) { (void)host_print((std::string(ROLE) + ": " + line).c_str()); }

int Refuse(const std::string& why) {
  Say("refused: " + why);
  return -1;
}

// ECDH on P-256 through OpenSSL's EVP (confide's crypto layer wraps no key agreement yet).
Result<SecureBytes> Ecdh(const crypto::PKey& mine, const crypto::PKey& peer) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(mine.get(), nullptr);
  size_t len = 0;
  SecureBytes secret;
  bool ok = ctx != nullptr && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer.get()) == 1 &&
            EVP_PKEY_derive(ctx, nullptr, &len) == 1;
  if (ok) {
    secret = SecureBytes(len);
    ok = EVP_PKEY_derive(ctx, secret.data(), &len) == 1;
  }
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return CryptoError("ECDH key agreement failed");
  return secret;
}

}  // namespace

int get_target_info(uint8_t* target_info) {
  auto t = trusted::SelfTargetInfo();
  if (!t.ok()) return Refuse(t.status().ToString());
  Bytes b = ps::EncodeTargetInfo(*t);
  std::memcpy(target_info, b.data(), b.size());
  return 0;
}

int make_hello(const uint8_t* peer_target_info, uint8_t* report, uint8_t* public_key) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto target = ps::DecodeTargetInfo(ByteSpan(peer_target_info, ps::kTargetInfoSize));
  if (!target.ok()) return Refuse(target.status().ToString());
  auto key = crypto::EcGenerate(crypto::Curve::kP256);
  if (!key.ok()) return Refuse(key.status().ToString());
  g_key = *key;
  auto pub = crypto::EcPublicKeyRaw(g_key);
  if (!pub.ok() || pub->size() != 64) return Refuse("cannot export the public key");
  ps::ReportData data{};
  Bytes digest = crypto::Sha256(*pub);
  std::memcpy(data.data(), digest.data(), digest.size());
  auto rep = trusted::GetReport(*target, data);
  if (!rep.ok()) return Refuse(rep.status().ToString());
  Bytes encoded = ps::EncodeReport(*rep);
  std::memcpy(report, encoded.data(), encoded.size());
  std::memcpy(public_key, pub->data(), pub->size());
  Say("report made for the peer, public key bound into report_data");
  return 0;
}

int accept_hello(const uint8_t* report, const uint8_t* peer_public_key) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto body = trusted::VerifyReport(ByteSpan(report, ps::kReportSize));
  if (!body.ok()) return Refuse(body.status().ToString());
  auto self = trusted::SelfIdentity();
  if (!self.ok()) return Refuse(self.status().ToString());
  // Policy: the peer must come from the same signer and product (any MRENCLAVE).
  if (body->identity.mrsigner != self->identity.mrsigner || body->identity.product_id != self->identity.product_id)
    return Refuse("the peer enclave is of another signer or product");
  Bytes digest = crypto::Sha256(ByteSpan(peer_public_key, 64));
  if (!ConstantTimeEqual(digest, ByteSpan(body->report_data.data(), 32)))
    return Refuse("the public key is not the one the peer's report vouches for");
  auto peer = crypto::EcPublicKeyFromRaw(crypto::Curve::kP256, ByteSpan(peer_public_key, 64));
  if (!peer.ok()) return Refuse(peer.status().ToString());
  if (!g_key) return Refuse("make_hello must run first");
  auto shared = Ecdh(g_key, *peer);
  if (!shared.ok()) return Refuse(shared.status().ToString());
  // Both sides bind the session key to both public keys, ordered so they agree.
  auto mine = crypto::EcPublicKeyRaw(g_key);
  if (!mine.ok()) return Refuse("cannot export the public key");
  Bytes info(AsBytes("confide local-attestation sample v1").begin(), AsBytes("confide local-attestation sample v1").end());
  ByteSpan theirs(peer_public_key, 64);
  bool mine_first = std::lexicographical_compare(mine->begin(), mine->end(), theirs.begin(), theirs.end());
  Append(info, mine_first ? ByteSpan(*mine) : theirs);
  Append(info, mine_first ? theirs : ByteSpan(*mine));
  auto key = crypto::Hkdf(crypto::HashAlg::kSha256, *shared, {}, info, 32);
  if (!key.ok()) return Refuse(key.status().ToString());
  g_session_key = std::move(*key);
  Say("peer verified (MRENCLAVE " + HexEncode(ByteSpan(body->identity.mrenclave).first(8)) +
      "..., same signer and product); session key derived");
  return 0;
}

int send_message(const char* text, uint8_t* message, size_t cap, size_t* message_len) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_session_key.empty()) return Refuse("no session key yet");
  size_t n = std::strlen(text);
  if (cap < 12 + n + 16) return Refuse("message buffer too small");
  Bytes iv = crypto::RandomBytes(12);
  auto sealed = crypto::AesGcmSeal(g_session_key, iv, {}, AsBytes(text));
  if (!sealed.ok()) return Refuse(sealed.status().ToString());
  std::memcpy(message, iv.data(), 12);
  std::memcpy(message + 12, sealed->data(), sealed->size());
  *message_len = 12 + sealed->size();
  Say("sent " + std::to_string(n) + " bytes, encrypted");
  return 0;
}

int receive_message(const uint8_t* message, size_t len) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_session_key.empty()) return Refuse("no session key yet");
  if (len < 12 + 16) return Refuse("message too short");
  auto opened = crypto::AesGcmOpen(g_session_key, ByteSpan(message, 12), {}, ByteSpan(message + 12, len - 12));
  if (!opened.ok()) return Refuse(opened.status().ToString());
  Say("received \"" + std::string(opened->data(), opened->data() + opened->size()) + "\"");
  return 0;
}
