// Host side: loads the signed enclave and calls it through the generated, typed proxy.
#include <cstdio>
#include <cstring>
#include <string>

#include "hello_u.h"

void host_print(const char* message) { std::printf("%s\n", message); }

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: hello_host ENCLAVE.signed.so [--backend auto|sim|soft] [NAME]\n");
    return 2;
  }
  confide::EnclaveOptions options;
  std::string name = "world";
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
      auto kind = confide::ParseBackendKind(argv[++i]);
      if (!kind.ok()) {
        std::fprintf(stderr, "hello_host: %s\n", kind.status().message().c_str());
        return 2;
      }
      options.backend = *kind;
    } else {
      name = argv[i];
    }
  }
  auto enclave = create_hello_enclave(argv[1], options);
  if (!enclave.ok()) {
    std::fprintf(stderr, "hello_host: %s\n", enclave.status().message().c_str());
    return 1;
  }
  char greeting[64];
  auto n = greet(**enclave, name.c_str(), greeting, sizeof greeting);
  if (!n.ok()) {
    std::fprintf(stderr, "hello_host: %s\n", n.status().message().c_str());
    return 1;
  }
  std::printf("host: enclave returned \"%s\" (%d characters) on backend %s\n", greeting, *n,
              std::string(confide::BackendName((*enclave)->backend())).c_str());
  return *n == static_cast<int>(std::strlen(greeting)) ? 0 : 1;
}
