// sim: the enclave image runs inside the host process. No isolation at all; it exists for
// debugging (gdb sees everything) and for tests, which exercise the same frames and checks.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "host/backend.h"

namespace confide {
namespace {

class SimBackend : public Backend {
 public:
  SimBackend(void* handle, confide_enclave_v1 entry) : handle_(handle), entry_(entry) {}
  ~SimBackend() override {
    entry_.terminate();
    dlclose(handle_);
  }
  int32_t Ecall(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                size_t* out_len) override {
    return entry_.ecall(slot, id, in, in_len, out, cap, out_len);
  }

 private:
  void* handle_;
  confide_enclave_v1 entry_;
};

// Writes the image into a sealed memfd so the bytes that were verified are the bytes that
// get loaded, whatever happens to the file on disk afterwards.
Result<int> SealedMemfd(ByteSpan elf) {
  int fd = memfd_create("confide-enclave", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return IoError(std::string("memfd_create failed: ") + strerror(errno));
  size_t done = 0;
  while (done < elf.size()) {
    ssize_t n = write(fd, elf.data() + done, elf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return IoError(std::string("writing the enclave image to a memfd failed: ") + strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    close(fd);
    return IoError(std::string("sealing the enclave memfd failed: ") + strerror(errno));
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<Backend>> CreateSimBackend(const image::SignedImage& image, const confide_host_v1* host) {
  CONFIDE_ASSIGN_OR_RETURN(int fd, SealedMemfd(image.elf));
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  close(fd);  // the mapping keeps the sealed contents alive
  if (handle == nullptr) {
    const char* err = dlerror();
    return InvalidArgument(std::string("the enclave image could not be loaded: ") + (err ? err : "unknown dlopen error"));
  }
  auto start = reinterpret_cast<confide_enclave_start_v1_fn>(dlsym(handle, "confide_enclave_start_v1"));
  if (start == nullptr) {
    dlclose(handle);
    return InvalidArgument(
        "the enclave image has no entry point confide_enclave_start_v1: link it with confide::trusted "
        "(confide_add_enclave does this)");
  }
  confide_enclave_v1 entry{};
  int32_t rc = start(host, static_cast<uint32_t>(image.config.num_tcs), &entry);
  if (rc != 0 || entry.abi_version != abi::kAbiVersion || entry.ecall == nullptr || entry.terminate == nullptr) {
    dlclose(handle);
    return Status(rc != 0 ? static_cast<Code>(rc) : Code::kUnsupported,
                  "the enclave refused to start (code " + std::to_string(rc) +
                      "): its ABI version or tables do not match this runtime; rebuild it against this confide");
  }
  return std::unique_ptr<Backend>(new SimBackend(handle, entry));
}

}  // namespace confide
