// Host side: loads both enclaves and relays their target infos, reports, public keys and the
// encrypted message. It sees all of them, and can change none without the enclaves noticing.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "local_attestation_u.h"

void host_print(const char* message) { std::printf("%s\n", message); }

namespace {

bool Check(const confide::Result<int>& rc, const char* what) {
  if (rc.ok() && *rc == 0) return true;
  std::fprintf(stderr, "local_attestation_host: %s failed%s%s\n", what, rc.ok() ? "" : ": ",
               rc.ok() ? "" : rc.status().message().c_str());
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  confide::EnclaveOptions options;
  std::vector<std::string> images;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
      auto kind = confide::ParseBackendKind(argv[++i]);
      if (!kind.ok()) {
        std::fprintf(stderr, "local_attestation_host: %s\n", kind.status().message().c_str());
        return 2;
      }
      options.backend = *kind;
    } else {
      images.push_back(argv[i]);
    }
  }
  if (images.size() != 2) {
    std::fprintf(stderr, "usage: local_attestation_host ALICE.signed.so [--backend auto|sim|soft] BOB.signed.so\n");
    return 2;
  }
  auto alice = create_local_attestation_enclave(images[0], options);
  auto bob = create_local_attestation_enclave(images[1], options);
  if (!alice.ok() || !bob.ok()) {
    std::fprintf(stderr, "local_attestation_host: %s\n",
                 (!alice.ok() ? alice.status() : bob.status()).message().c_str());
    return 1;
  }
  uint8_t alice_ti[64], bob_ti[64], alice_report[304], bob_report[304], alice_pub[64], bob_pub[64];
  if (!Check(get_target_info(**alice, alice_ti), "alice target info") ||
      !Check(get_target_info(**bob, bob_ti), "bob target info") ||
      !Check(make_hello(**alice, bob_ti, alice_report, alice_pub), "alice hello") ||
      !Check(make_hello(**bob, alice_ti, bob_report, bob_pub), "bob hello"))
    return 1;
  // A host that swaps in its own key is caught: the report binds the real one.
  uint8_t wrong_pub[64];
  std::memcpy(wrong_pub, bob_pub, sizeof wrong_pub);
  wrong_pub[5] ^= 1;
  auto tampered = accept_hello(**alice, bob_report, wrong_pub);
  if (!tampered.ok() || *tampered == 0) {
    std::fprintf(stderr, "local_attestation_host: alice accepted a substituted public key\n");
    return 1;
  }
  std::printf("host: a substituted public key was refused\n");
  if (!Check(accept_hello(**bob, alice_report, alice_pub), "bob accepting alice") ||
      !Check(accept_hello(**alice, bob_report, bob_pub), "alice accepting bob"))
    return 1;
  uint8_t message[256];
  size_t len = 0;
  if (!Check(send_message(**alice, "hello bob, this is alice", message, sizeof message, &len), "alice send") ||
      !Check(receive_message(**bob, message, len), "bob receive"))
    return 1;
  std::printf("host: relayed %zu encrypted bytes; local attestation sample: OK\n", len);
  return 0;
}
