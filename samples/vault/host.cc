// vault: a secret line from stdin goes into the enclave; the host keeps no copy. Later the
// enclave is asked for the secret's SHA-256. Outside checks drive it (samples/vault/README.md):
//
//   vault_host --backend soft|sim [--hold SECONDS] [ENCLAVE]
//
// stdout: "enclave-pid: N" (soft only), "ready", then after the hold "digest: <hex>".
// Exit status: 0 done; 1 other error; 2 bad usage or no secret; 3 the enclave was lost
// (tamper response, EnclaveLost) or crashed (EnclaveCrashed) meanwhile.
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "vault_u.h"

// Containers in the call path may free blocks that held the secret, and glibc keeps freed
// blocks intact in its caches. Wiping every block this program frees through operator delete
// leaves no stale copy behind. new is replaced too, so each pair is malloc/free (sanitizers
// check that allocation and release match).
void* operator new(std::size_t n) {
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  void* p = nullptr;
  size_t align = static_cast<size_t>(a) < sizeof(void*) ? sizeof(void*) : static_cast<size_t>(a);
  if (posix_memalign(&p, align, n ? n : 1) == 0) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n ? n : 1); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n ? n : 1); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  void* p = nullptr;
  size_t align = static_cast<size_t>(a) < sizeof(void*) ? sizeof(void*) : static_cast<size_t>(a);
  return posix_memalign(&p, align, n ? n : 1) == 0 ? p : nullptr;
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t& t) noexcept {
  return operator new(n, a, t);
}
void operator delete(void* p) noexcept {
  if (p != nullptr) explicit_bzero(p, malloc_usable_size(p));
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
void operator delete(void* p, std::align_val_t) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::align_val_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { operator delete(p); }

namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitEnclaveGone = 3;
constexpr size_t kMaxSecret = 4096;

int Usage(const char* why) {
  std::fprintf(stderr,
               "vault_host: %s\n"
               "usage: vault_host --backend soft|sim|auto [--hold SECONDS] [ENCLAVE.signed.so]\n"
               "  reads one secret line from stdin; ENCLAVE defaults to vault_enclave.signed.so next to "
               "this program\n",
               why);
  return kExitUsage;
}

// The directory of this executable, to find the enclave image built next to it.
std::string SelfDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Reads the first line of stdin into `buf` with read(2), not stdio, so that no library
// buffer keeps a copy. Returns its length without the line end, or -1 on error.
ssize_t ReadSecretLine(char* buf, size_t cap) {
  size_t len = 0;
  while (len + 1 < cap) {
    ssize_t n = read(STDIN_FILENO, buf + len, cap - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    void* nl = memchr(buf + len, '\n', static_cast<size_t>(n));
    len += static_cast<size_t>(n);
    if (nl != nullptr) {
      size_t line = static_cast<size_t>(static_cast<char*>(nl) - buf);
      explicit_bzero(buf + line, len - line);  // whatever followed the line is not kept either
      len = line;
      break;
    }
  }
  if (len > 0 && buf[len - 1] == '\r') buf[--len] = '\0';
  buf[len] = '\0';
  return static_cast<ssize_t>(len);
}

// Zeroes the stack below the caller's frame. Code that handled the secret leaves pieces of it
// in stack memory it no longer uses: spilled registers, and the dynamic linker's lazy-binding
// trampoline, which saves every vector register (a memcpy of the secret leaves it in some)
// on the stack. The program is also linked with -z now, so that trampoline never runs late.
[[gnu::noinline]] void ScrubStack() {
  unsigned char below[64 * 1024];
  explicit_bzero(below, sizeof below);
}

int Fail(const char* when, const confide::Status& s) {
  bool gone = s.code() == confide::Code::kEnclaveLost || s.code() == confide::Code::kEnclaveCrashed;
  std::fprintf(stderr, "vault_host: %s: %s: %s\n", when, std::string(confide::CodeName(s.code())).c_str(),
               s.message().c_str());
  return gone ? kExitEnclaveGone : kExitError;
}

}  // namespace

int main(int argc, char** argv) {
  confide::EnclaveOptions options;
  bool have_backend = false;
  long hold = 0;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--backend" && i + 1 < argc) {
      auto kind = confide::ParseBackendKind(argv[++i]);
      if (!kind.ok()) return Usage(kind.status().message().c_str());
      options.backend = *kind;
      have_backend = true;
    } else if (arg == "--hold" && i + 1 < argc) {
      char* end = nullptr;
      errno = 0;
      hold = std::strtol(argv[++i], &end, 10);
      if (errno != 0 || end == argv[i] || *end != '\0' || hold < 0 || hold > 86400)
        return Usage("--hold takes a whole number of seconds from 0 to 86400");
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage(("unknown option '" + arg + "'").c_str());
    } else if (path.empty()) {
      path = arg;
    } else {
      return Usage("more than one enclave image given");
    }
  }
  if (!have_backend) return Usage("--backend is required");
  if (path.empty()) path = SelfDir() + "/vault_enclave.signed.so";

  // SIGUSR1 ends the hold early (tests use it); blocked here so that sigtimedwait takes it.
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, nullptr);

  char secret[kMaxSecret];
  ssize_t len = ReadSecretLine(secret, sizeof secret);
  if (len < 0) {
    std::fprintf(stderr, "vault_host: reading the secret from stdin failed: %s\n", strerror(errno));
    return kExitError;
  }
  if (len == 0) {
    explicit_bzero(secret, sizeof secret);
    return Usage("no secret on stdin: pipe one line into vault_host");
  }

  auto enclave = create_vault_enclave(path, options);
  if (!enclave.ok()) {
    explicit_bzero(secret, sizeof secret);
    return Fail("starting the enclave", enclave.status());
  }
  // The proxy copies the string into a request frame; the backend wipes that frame once it is
  // in the call channel (soft) or in enclave memory (sim), and the enclave runtime wipes the
  // channel's copy as soon as it has its own. Our buffer is wiped here.
  auto stored = vault_store(**enclave, secret);
  explicit_bzero(secret, sizeof secret);
  ScrubStack();
  if (!stored.ok()) return Fail("storing the secret", stored.status());
  if (*stored != len) {
    std::fprintf(stderr, "vault_host: the enclave stored %d bytes, expected %zd\n", *stored, len);
    return kExitError;
  }

  if ((*enclave)->backend() == confide::BackendKind::kSoft)
    std::printf("enclave-pid: %d\n", (*enclave)->process_id());
  std::printf("ready\n");
  std::fflush(stdout);

  if (hold > 0) {
    timespec t{hold, 0};
    while (sigtimedwait(&usr1, nullptr, &t) < 0 && errno == EINTR) {
    }
  }

  uint8_t digest[32];
  auto rc = vault_digest(**enclave, digest, sizeof digest);
  if (!rc.ok()) return Fail("asking for the digest", rc.status());
  if (*rc != 0) {
    std::fprintf(stderr, "vault_host: the enclave holds no secret (vault_digest returned %d)\n", *rc);
    return kExitError;
  }
  std::printf("digest: %s\n", confide::HexEncode(confide::ByteSpan(digest, sizeof digest)).c_str());
  return 0;
}
