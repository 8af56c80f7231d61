// Host side: seals a secret into a file, or unseals a file. The two steps run as separate
// processes (run_test.sh restarts the platform daemon between them on soft).
#include <cstdio>
#include <cstring>
#include <string>

#include "sealing_u.h"

void host_print(const char* message) { std::printf("%s\n", message); }

int main(int argc, char** argv) {
  auto usage = [] {
    std::fprintf(stderr,
                 "usage: sealing_host ENCLAVE.signed.so [--backend auto|sim|soft] seal FILE SECRET\n"
                 "       sealing_host ENCLAVE.signed.so [--backend auto|sim|soft] unseal FILE\n");
    return 2;
  };
  if (argc < 4) return usage();
  confide::EnclaveOptions options;
  int i = 2;
  if (std::strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
    auto kind = confide::ParseBackendKind(argv[i + 1]);
    if (!kind.ok()) {
      std::fprintf(stderr, "sealing_host: %s\n", kind.status().message().c_str());
      return 2;
    }
    options.backend = *kind;
    i += 2;
  }
  if (argc - i < 2) return usage();
  std::string command = argv[i], file = argv[i + 1];
  auto enclave = create_sealing_enclave(argv[1], options);
  if (!enclave.ok()) {
    std::fprintf(stderr, "sealing_host: %s\n", enclave.status().message().c_str());
    return 1;
  }
  if (command == "seal" && argc - i == 3) {
    confide::Bytes blob(64 * 1024);
    size_t len = 0;
    auto rc = seal_secret(**enclave, argv[i + 2], blob.data(), blob.size(), &len);
    if (!rc.ok() || *rc != 0) {
      std::fprintf(stderr, "sealing_host: %s\n", rc.ok() ? "the enclave could not seal" : rc.status().message().c_str());
      return 1;
    }
    blob.resize(len);
    confide::Status w = confide::WriteFile(file, blob, 0600);
    if (!w.ok()) {
      std::fprintf(stderr, "sealing_host: %s\n", w.message().c_str());
      return 1;
    }
    std::printf("host: stored the sealed blob in %s\n", file.c_str());
    return 0;
  }
  if (command == "unseal" && argc - i == 2) {
    auto blob = confide::ReadFile(file);
    if (!blob.ok()) {
      std::fprintf(stderr, "sealing_host: %s\n", blob.status().message().c_str());
      return 1;
    }
    char digest[65] = {};
    auto rc = unseal_secret(**enclave, blob->data(), blob->size(), digest);
    if (!rc.ok() || *rc != 0) {
      std::fprintf(stderr, "sealing_host: %s\n", rc.ok() ? "the enclave refused the blob" : rc.status().message().c_str());
      return 1;
    }
    std::printf("digest: %s\n", digest);
    return 0;
  }
  return usage();
}
