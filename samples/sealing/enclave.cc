// Enclave side: Seal/Unseal from confide/sealing.h. The key comes from the platform (the soft
// daemon's root secret, or sim's public debug root), bound to this enclave's signer + product.
#include <cstdio>
#include <cstring>
#include <string>

#include "confide/crypto.h"
#include "confide/sealing.h"
#include "sealing_t.h"

using namespace confide;

namespace {
// A log line for the sample's output; losing one is harmless, so its status is not checked.
void Print(const std::string& line) { (void)host_print(line.c_str()); }
}  // namespace

int seal_secret(const char* secret, uint8_t* blob, size_t cap, size_t* blob_len) {
  // The aad travels in clear inside the blob but is authenticated: a label for the data.
  auto sealed = trusted::Seal(AsBytes(secret), AsBytes("sealing sample v1"));
  if (!sealed.ok()) {
    Print("enclave: sealing failed: " + sealed.status().ToString());
    return -1;
  }
  if (sealed->size() > cap) return -1;
  std::memcpy(blob, sealed->data(), sealed->size());
  *blob_len = sealed->size();
  Print("enclave: sealed " + std::to_string(std::strlen(secret)) + " bytes into a " +
        std::to_string(sealed->size()) + "-byte blob");
  return 0;
}

int unseal_secret(const uint8_t* blob, size_t len, char* digest) {
  auto opened = trusted::Unseal(ByteSpan(blob, len));
  if (!opened.ok()) {
    Print("enclave: unsealing refused: " + opened.status().ToString());
    return static_cast<int>(opened.status().code());
  }
  std::string label(opened->aad.begin(), opened->aad.end());
  Print("enclave: unsealed " + std::to_string(opened->plaintext.size()) + " bytes (label '" + label +
        "', sealed by SecurityVersion " + std::to_string(opened->svn) + ")");
  std::string hex = HexEncode(crypto::Sha256(opened->plaintext));
  std::snprintf(digest, 65, "%s", hex.c_str());
  return 0;
}
