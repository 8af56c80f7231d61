#include "platform/protocol.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace confide::platform {

void CloseFds(const std::vector<int>& fds) {
  for (int fd : fds)
    if (fd >= 0) close(fd);
}

nlohmann::json ErrorReply(const Status& s) {
  return {{"ok", false}, {"code", std::string(CodeName(s.code()))}, {"error", s.message()}};
}

std::string StringField(const nlohmann::json& message, const char* key, const char* fallback) {
  auto it = message.find(key);
  return it != message.end() && it->is_string() ? it->get<std::string>() : std::string(fallback);
}

Status ReplyStatus(const nlohmann::json& reply) {
  auto ok = reply.find("ok");
  if (ok != reply.end() && ok->is_boolean() && ok->get<bool>()) return Status::Ok();
  const std::string code = StringField(reply, "code", "internal");
  Code c = Code::kInternal;
  for (int i = 0; i <= static_cast<int>(Code::kEnclaveCrashed); ++i)
    if (CodeName(static_cast<Code>(i)) == code) c = static_cast<Code>(i);
  return Status(c, StringField(reply, "error", "request refused"));
}

Status SendMessage(int sock, const nlohmann::json& body, const std::vector<int>& fds) {
  std::string text = body.dump();
  if (text.size() > kMaxMessageBytes) return OutOfRange("platform message too large");
  if (fds.size() > kMaxFds) return OutOfRange("too many descriptors in one platform message");
  iovec iov{text.data(), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return Status(Code::kTimeout, "the platform socket's other end is not reading (gave up waiting to send)");
  if (n < 0) return IoError(std::string("sending to the platform socket failed: ") + strerror(errno));
  return Status::Ok();
}

ssize_t ReceiveWithDescriptors(int sock, void* buf, size_t size, std::vector<int>* fds, bool* truncated) {
  iovec iov{buf, size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  // Room for as many descriptors as one message can carry (the kernel's SCM_MAX_FD): any that
  // did not fit would be closed by the kernel right here, in the receiving thread.
  constexpr size_t kScmMaxFd = 253;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kScmMaxFd)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds->push_back(fd);
    }
  }
  *truncated = (msg.msg_flags & MSG_TRUNC) != 0;
  return n;
}

Result<Message> ReceiveMessage(int sock, std::vector<int>* refused) {
  std::string buf(kMaxMessageBytes + 1, '\0');
  Message m;
  bool truncated = false;
  ssize_t n = ReceiveWithDescriptors(sock, buf.data(), buf.size(), &m.fds, &truncated);
  auto refuse = [&](Status s) -> Result<Message> {
    if (refused != nullptr) refused->insert(refused->end(), m.fds.begin(), m.fds.end());
    else CloseFds(m.fds);
    return s;
  };
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return refuse(Status(Code::kTimeout, "no answer on the platform socket in time (the daemon may be stuck)"));
  if (n < 0) return refuse(IoError(std::string("reading the platform socket failed: ") + strerror(errno)));
  if (n == 0) return refuse(Status(Code::kUnavailable, "the platform connection was closed"));
  if (truncated) return refuse(InvalidArgument("platform message too long"));
  if (m.fds.size() > kMaxFds) return refuse(InvalidArgument("too many descriptors in one platform message"));
  m.body = nlohmann::json::parse(buf.begin(), buf.begin() + n, nullptr, false);
  if (m.body.is_discarded() || !m.body.is_object()) return refuse(InvalidArgument("platform message is not a JSON object"));
  return m;
}

ucred PeerCredentials(int sock) {
  const ucred unknown{0, static_cast<uid_t>(-1), static_cast<gid_t>(-1)};
  ucred peer = unknown;
  socklen_t len = sizeof peer;
  return getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0 ? peer : unknown;
}

std::string DefaultSocketPath() {
  // secure_getenv: a set-user-ID program must not be pointed at a daemon of the caller's.
  const char* env = secure_getenv(kSocketEnv);
  return env && *env ? env : kDefaultSocket;
}

Result<int> ConnectTo(const std::string& path, int timeout_s) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return InvalidArgument("platform socket path is too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0) return IoError(std::string("socket() failed: ") + strerror(errno));
  // Bounds connect (a full backlog), sends and receives: a daemon that accepts and never
  // answers must not hang its clients.
  timeval limit{timeout_s, 0};
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  if (connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    close(s);
    if (e == EAGAIN)
      return Status(Code::kTimeout, "the platform daemon at " + path + " accepts no connections (gave up after " +
                                        std::to_string(timeout_s) + " s)");
    if (e == ENOENT || e == ECONNREFUSED)
      return Status(Code::kUnavailable, "no platform daemon at " + path + " (" + strerror(e) +
                                            "); start one with 'confide platform start'");
    return Status(e == EACCES || e == EPERM ? Code::kPermissionDenied : Code::kIo,
                  "cannot connect to the platform daemon at " + path + ": " + strerror(e));
  }
  // Whoever can bind a socket at the path answers there. Only a daemon of root's or of our
  // own may receive our images and call channels, or speak for the platform.
  const ucred peer = PeerCredentials(s);
  if (peer.uid != 0 && peer.uid != geteuid()) {
    close(s);
    return PermissionDenied("the process answering at " + path + " (pid " + std::to_string(peer.pid) +
                            ") runs as uid " + std::to_string(peer.uid) + ", neither root nor you (uid " +
                            std::to_string(geteuid()) + "): it is not a platform daemon to trust. Keep "
                            "platform sockets in a directory only root or you can write");
  }
  return s;
}

}  // namespace confide::platform
