// Sends a struct with an embedded buffer into the enclave and gets it back modified.
#include <cstdio>
#include <cstring>
#include <numeric>
#include <vector>

#include "structs_u.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: structs_host ENCLAVE.signed.so [--backend auto|sim|soft]\n");
    return 2;
  }
  confide::EnclaveOptions options;
  if (argc >= 4 && std::strcmp(argv[2], "--backend") == 0) {
    auto kind = confide::ParseBackendKind(argv[3]);
    if (!kind.ok()) {
      std::fprintf(stderr, "structs_host: %s\n", kind.status().message().c_str());
      return 2;
    }
    options.backend = *kind;
  }
  auto enclave = create_structs_enclave(argv[1], options);
  if (!enclave.ok()) {
    std::fprintf(stderr, "structs_host: %s\n", enclave.status().message().c_str());
    return 1;
  }
  std::vector<uint8_t> buffer(1000);
  std::iota(buffer.begin(), buffer.end(), 0);
  record r{};
  r.id = 7;
  r.length = buffer.size();
  r.data = buffer.data();
  uint64_t expected = 7;
  for (uint8_t b : buffer) expected += b;
  auto sum = checksum(**enclave, &r);
  if (!sum.ok()) {
    std::fprintf(stderr, "structs_host: checksum: %s\n", sum.status().message().c_str());
    return 1;
  }
  std::printf("checksum of a 1000-byte record computed in the enclave: %llu (expected %llu)\n",
              static_cast<unsigned long long>(*sum), static_cast<unsigned long long>(expected));
  auto stamped = stamp(**enclave, &r);
  if (!stamped.ok()) {
    std::fprintf(stderr, "structs_host: stamp: %s\n", stamped.message().c_str());
    return 1;
  }
  bool ok = *sum == expected && r.data == buffer.data();
  for (size_t i = 0; i < buffer.size(); ++i) ok = ok && buffer[i] == static_cast<uint8_t>(7 + i);
  std::printf("record buffer rewritten by the enclave in place: %s\n", ok ? "yes" : "NO");
  std::printf(ok ? "structs: deep copy in and out works\n" : "structs: FAILED\n");
  return ok ? 0 : 1;
}
