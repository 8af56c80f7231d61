// Host side: an enclave writes a protected file; the enclave is destroyed and a new one reads
// the file back; then the host changes one byte of the file and the enclave refuses it.
// The host implements the file ocalls by linking confide::protected_file_host.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "protected_files_demo_u.h"

namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "protected_files_host: %s\n", what.c_str());
  return 1;
}

std::vector<uint8_t> Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: protected_files_host ENCLAVE.signed.so [--backend auto|sim|soft]\n");
    return 2;
  }
  confide::EnclaveOptions options;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
      auto kind = confide::ParseBackendKind(argv[++i]);
      if (!kind.ok()) return Fail(kind.status().message());
      options.backend = *kind;
    }
  }
  char dir_template[] = "/tmp/confide-protected-files-XXXXXX";
  if (!mkdtemp(dir_template)) return Fail("cannot create a temporary directory");
  const std::string dir = dir_template, path = dir + "/records.pf";

  // Some plaintext the host must never see: a recognisable line, repeated over 25 blocks.
  const std::string line = "patient 0042: blood type AB-, allergies: penicillin\n";
  std::string plain;
  while (plain.size() < 100000) plain += line;
  std::vector<uint8_t> data(plain.begin(), plain.end());
  char message[512] = {};

  int rc = 1;
  do {
    {
      auto enclave = create_protected_files_demo_enclave(argv[1], options);
      if (!enclave.ok()) { Fail(enclave.status().message()); break; }
      auto saved = pf_save(**enclave, path.c_str(), data.data(), data.size(), message, sizeof message);
      if (!saved.ok() || *saved != 0) { Fail(std::string("save: ") + (saved.ok() ? message : saved.status().message().c_str())); break; }
      std::printf("enclave 1: %s to %s\n", message, path.c_str());
    }  // the enclave is destroyed here: nothing of the key or the data survives in memory

    std::vector<uint8_t> disk = Slurp(path);
    bool leaked = std::search(disk.begin(), disk.end(), line.begin(), line.begin() + 12) != disk.end();
    std::printf("host: %s holds %zu bytes; plaintext visible to the host: %s\n", path.c_str(), disk.size(),
                leaked ? "YES" : "no");
    if (leaked) break;

    auto enclave = create_protected_files_demo_enclave(argv[1], options);
    if (!enclave.ok()) { Fail(enclave.status().message()); break; }
    std::vector<uint8_t> back(data.size() + 100);
    auto n = pf_load(**enclave, path.c_str(), back.data(), back.size(), message, sizeof message);
    if (!n.ok() || *n != int64_t(data.size()) || !std::equal(data.begin(), data.end(), back.begin())) {
      Fail(std::string("load after restart: ") + (n.ok() ? message : n.status().message().c_str()));
      break;
    }
    std::printf("enclave 2 (new instance): %s, contents match\n", message);

    // The host flips one bit in the middle of the file (a data node) and asks again.
    {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(5 * 4096 + 100);
      char c = 0;
      f.get(c);
      f.seekp(5 * 4096 + 100);
      f.put(char(c ^ 0x01));
    }
    n = pf_load(**enclave, path.c_str(), back.data(), back.size(), message, sizeof message);
    if (!n.ok() || *n != -1 || !std::strstr(message, "verification_failed")) {
      Fail("the tampered file was not refused");
      break;
    }
    std::printf("host tampered with one bit; enclave 2 refused: %s\n", message);
    std::printf("protected-files sample: OK\n");
    rc = 0;
  } while (false);
  ::unlink(path.c_str());
  ::unlink((path + ".journal").c_str());
  ::rmdir(dir.c_str());
  return rc;
}
