#include "backends/soft/runtime/platform_client.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <mutex>
#include <string>

#include "backends/soft/launch.h"
#include "confide/status.h"

namespace confide::soft::rt {
namespace {

// One exchange at a time: SOCK_SEQPACKET keeps message boundaries, the lock keeps each
// reply with its request when several slot threads ask at once.
std::mutex g_platform_mu;

const char kDaemonGone[] =
    "the platform daemon closed its connection to this enclave (it stopped or restarted); re-create the enclave";

int32_t Fail(Code code, const std::string& what, uint8_t* out, size_t cap, size_t* out_len) {
  size_t n = what.size() < cap ? what.size() : cap;
  memcpy(out, what.data(), n);
  *out_len = n;
  return static_cast<int32_t>(code);
}

}  // namespace

int32_t PlatformCall(void*, const uint8_t* request, size_t request_len, uint8_t* out, size_t out_cap,
                     size_t* out_len) {
  *out_len = 0;
  std::lock_guard<std::mutex> lock(g_platform_mu);
  ssize_t n;
  do n = write(kPlatformFd, request, request_len);
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(request_len)) {
    bool gone = n < 0 && (errno == EPIPE || errno == ECONNRESET);
    return Fail(Code::kUnavailable,
                gone ? std::string(kDaemonGone)
                     : std::string("the platform daemon cannot be reached: ") + (n < 0 ? strerror(errno) : "short write"),
                out, out_cap, out_len);
  }
  do n = read(kPlatformFd, out, out_cap);
  while (n < 0 && errno == EINTR);
  // A daemon that closes with our request still unread resets the connection instead of
  // ending it: gone just the same.
  if (n <= 0)
    return Fail(Code::kUnavailable,
                n == 0 || errno == ECONNRESET ? std::string(kDaemonGone)
                                              : std::string("reading the platform daemon's reply failed: ") + strerror(errno),
                out, out_cap, out_len);
  *out_len = static_cast<size_t>(n);
  return 0;
}

}  // namespace confide::soft::rt
