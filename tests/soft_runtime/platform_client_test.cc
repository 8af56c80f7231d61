// The enclave process's platform calls (runtime/platform_client.cc) when the daemon goes away:
// however the connection ends, the enclave's code gets the same clear error.
#include "backends/soft/runtime/platform_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <thread>

#include "backends/soft/launch.h"
#include "confide/status.h"

namespace confide::soft::rt {
namespace {

// Puts one end of a fresh socket pair at the platform descriptor for the length of a call,
// with `daemon` acting on the other end, and gives back what the call returned.
struct Outcome {
  int32_t code;
  std::string message;
};
Outcome CallWith(const std::function<void(int)>& daemon) {
  // Whatever this process had at the platform descriptor is set aside first; the pair is made
  // above it, so that neither end is that descriptor.
  const int saved = fcntl(kPlatformFd, F_DUPFD_CLOEXEC, 100);  // -1 when nothing was there
  int made[2], s[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, made), 0);
  for (int i : {0, 1}) {
    s[i] = fcntl(made[i], F_DUPFD_CLOEXEC, 100);
    close(made[i]);
  }
  EXPECT_EQ(dup2(s[0], kPlatformFd), kPlatformFd);
  close(s[0]);
  std::thread peer(daemon, s[1]);
  const uint8_t request[4] = {1, 2, 3, 4};
  uint8_t out[512];
  size_t len = 0;
  int32_t code = PlatformCall(nullptr, request, sizeof request, out, sizeof out, &len);
  peer.join();
  if (saved >= 0) {
    dup2(saved, kPlatformFd);
    close(saved);
  } else {
    close(kPlatformFd);
  }
  return {code, std::string(reinterpret_cast<char*>(out), len)};
}

constexpr char kGone[] = "the platform daemon closed its connection to this enclave";

TEST(PlatformClient, ADaemonThatIsAlreadyGoneIsReportedGone) {
  signal(SIGPIPE, SIG_IGN);  // as in the enclave process
  Outcome o = CallWith([](int fd) { close(fd); });
  // The close may land before the write (EPIPE) or after it (a reset read): gone either way.
  EXPECT_EQ(o.code, static_cast<int32_t>(Code::kUnavailable));
  EXPECT_NE(o.message.find(kGone), std::string::npos) << o.message;
}

TEST(PlatformClient, ADaemonThatClosesWithTheRequestUnreadIsReportedGone) {
  Outcome o = CallWith([](int fd) {
    pollfd p{fd, POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 5000), 1);
    close(fd);  // with the request still queued: the caller's read gets ECONNRESET
  });
  EXPECT_EQ(o.code, static_cast<int32_t>(Code::kUnavailable));
  EXPECT_NE(o.message.find(kGone), std::string::npos) << o.message;
}

TEST(PlatformClient, ADaemonThatClosesAfterReadingIsReportedGone) {
  Outcome o = CallWith([](int fd) {
    uint8_t buf[16];
    EXPECT_EQ(read(fd, buf, sizeof buf), 4);
    close(fd);  // the caller's read ends with 0 bytes
  });
  EXPECT_EQ(o.code, static_cast<int32_t>(Code::kUnavailable));
  EXPECT_NE(o.message.find(kGone), std::string::npos) << o.message;
}

TEST(PlatformClient, AReplyIsPassedOn) {
  Outcome o = CallWith([](int fd) {
    uint8_t buf[16];
    EXPECT_EQ(read(fd, buf, sizeof buf), 4);
    EXPECT_EQ(write(fd, "reply", 5), 5);
    close(fd);
  });
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.message, "reply");
}

}  // namespace
}  // namespace confide::soft::rt
