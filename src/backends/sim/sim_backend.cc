// sim: the enclave image runs inside the host process. No isolation at all; it exists for
// debugging (gdb sees everything) and for tests, which exercise the same frames and checks.
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "common/sealed_memfd.h"
#include "confide/platform_services.h"
#include "host/backend.h"

namespace confide {
namespace {

class SimBackend : public Backend {
 public:
  // The host process is the platform on sim: it answers platform calls itself, with the
  // public sim root (nothing is protected) and the identity of the image it verified.
  SimBackend(int fd, void* handle, const image::SignedImage& image, const confide_host_v1* host)
      : fd_(fd), handle_(handle), host_(*host), identity_(platform_services::IdentityOf(image)),
        keys_(platform_services::SimRootSecret(), /*development=*/true) {
    host_.platform_ctx = this;
    host_.platform = &SimBackend::Platform;
  }
  ~SimBackend() override {
    if (entry_.terminate != nullptr) entry_.terminate();
    dlclose(handle_);
    close(fd_);
  }
  const confide_host_v1* host() const { return &host_; }
  void set_entry(const confide_enclave_v1& entry) { entry_ = entry; }
  // The enclave's own request buffer: the proxy's write is the one copy into enclave memory.
  std::span<uint8_t> RequestRegion(uint32_t slot, size_t hint) override {
    if (entry_.request_buffer == nullptr) return {};
    uint8_t* p = nullptr;
    size_t cap = 0;
    if (entry_.request_buffer(slot, std::max<size_t>(hint, 1024), &p, &cap) != 0 || p == nullptr) return {};
    return {p, cap};
  }
  int32_t Ecall(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                size_t* out_len) override {
    return entry_.ecall(slot, id, in, in_len, out, cap, out_len);
  }
  int32_t EcallValues(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t cap,
                      size_t* out_len) override {
    return entry_.call_values(slot, id, in, in_len, out, cap, out_len);
  }

 private:
  static int32_t Platform(void* ctx, const uint8_t* request, size_t request_len, uint8_t* out, size_t out_cap,
                          size_t* out_len) {
    auto* self = static_cast<SimBackend*>(ctx);
    Bytes reply = self->keys_.Serve(self->identity_, ByteSpan(request, request_len));
    *out_len = 0;
    if (reply.size() > out_cap) {
      SecureZero(reply);
      return abi::WriteStatus(OutOfRange("the platform reply does not fit the enclave's buffer"), out, out_cap,
                              out_len);
    }
    std::memcpy(out, reply.data(), reply.size());
    *out_len = reply.size();
    SecureZero(reply);  // may hold a derived key
    return 0;
  }

  int fd_;
  void* handle_;
  confide_host_v1 host_;
  platform_services::Identity identity_;
  platform_services::KeyService keys_;
  confide_enclave_v1 entry_{};
};

// glibc hands back an already-loaded object when a dlopen path string matches one it has
// seen, and C++ objects with STB_GNU_UNIQUE symbols are never unloaded. A never-reused path
// (a symlink named by a counter, pointing at the memfd) keeps every enclave's copy separate.
class LoadPaths {
 public:
  ~LoadPaths() {
    if (!dir_.empty()) rmdir(dir_.c_str());
  }
  Result<std::string> Link(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    if (dir_.empty()) {
      const char* tmp = getenv("TMPDIR");
      std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/confide-sim-XXXXXX";
      if (mkdtemp(templ.data()) == nullptr)
        return IoError("cannot create a directory for loading enclaves under " + templ + ": " + strerror(errno) +
                       " (set TMPDIR to a writable directory)");
      dir_ = templ;
    }
    std::string link = dir_ + "/enclave-" + std::to_string(++counter_) + ".so";
    std::string target = "/proc/self/fd/" + std::to_string(fd);
    if (symlink(target.c_str(), link.c_str()) != 0)
      return IoError("cannot create " + link + ": " + strerror(errno));
    return link;
  }

 private:
  std::mutex mu_;
  std::string dir_;
  uint64_t counter_ = 0;
};

LoadPaths& Paths() {
  static LoadPaths paths;
  return paths;
}

}  // namespace

Result<std::unique_ptr<Backend>> CreateSimBackend(const image::SignedImage& image, const confide_host_v1* host) {
  CONFIDE_ASSIGN_OR_RETURN(int fd, CreateSealedMemfd(image.elf, "confide-enclave"));
  auto path = Paths().Link(fd);
  if (!path.ok()) {
    close(fd);
    return path.status();
  }
  void* handle = dlopen(path->c_str(), RTLD_NOW | RTLD_LOCAL);
  unlink(path->c_str());
  if (handle == nullptr) {
    close(fd);
    const char* err = dlerror();
    return InvalidArgument(std::string("the enclave image could not be loaded: ") + (err ? err : "unknown dlopen error"));
  }
  auto start = reinterpret_cast<confide_enclave_start_v1_fn>(dlsym(handle, "confide_enclave_start_v1"));
  if (start == nullptr) {
    dlclose(handle);
    close(fd);
    return InvalidArgument(
        "the enclave image has no entry point confide_enclave_start_v1: link it with confide::trusted "
        "(confide_add_enclave does this)");
  }
  // Owns the handle and descriptor from here on; its host table must outlive the enclave.
  auto backend = std::make_unique<SimBackend>(fd, handle, image, host);
  confide_enclave_v1 entry{};
  int32_t rc = start(backend->host(), static_cast<uint32_t>(image.config.num_tcs), &entry);
  if (rc != 0 || entry.abi_version != abi::kAbiVersion || entry.ecall == nullptr || entry.terminate == nullptr ||
      entry.call_values == nullptr) {
    return Status(rc != 0 ? static_cast<Code>(rc) : Code::kUnsupported,
                  "the enclave refused to start (code " + std::to_string(rc) +
                      "): its ABI version or tables do not match this runtime; rebuild it against this confide");
  }
  backend->set_entry(entry);
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace confide
