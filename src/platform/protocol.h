// Messages between hosts (and the CLI) and the platform daemon: one JSON object per
// SOCK_SEQPACKET datagram, with file descriptors attached through SCM_RIGHTS.
#pragma once

#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "confide/status.h"

namespace confide::platform {

inline constexpr size_t kMaxMessageBytes = 64 * 1024;
inline constexpr size_t kMaxFds = 8;
inline constexpr const char* kDefaultSocket = "/run/confide/platform.sock";
inline constexpr const char* kSocketEnv = "CONFIDE_PLATFORM_SOCKET";

struct Message {
  nlohmann::json body;
  std::vector<int> fds;  // owned by the receiver
};

Status SendMessage(int sock, const nlohmann::json& body, const std::vector<int>& fds = {});
// Receives one message; kUnavailable when the peer closed the connection. A malformed
// message (bad JSON, too long, too many descriptors) is refused, and its descriptors are
// closed, or handed to `refused` for the caller to close (the daemon closes what others sent
// on a thread of its own: such a close can block).
Result<Message> ReceiveMessage(int sock, std::vector<int>* refused = nullptr);
// recvmsg of one message into `buf`, taking every descriptor attached (none is left for the
// kernel to close here); `*truncated` when the message was longer than `size`.
ssize_t ReceiveWithDescriptors(int sock, void* buf, size_t size, std::vector<int>* fds, bool* truncated);
void CloseFds(const std::vector<int>& fds);

// A refusal, as every reply carries one: {"ok": false, "code": <CodeName>, "error": <message>}.
nlohmann::json ErrorReply(const Status& s);
// OK when `reply` says "ok": true; else the refusal it carries (kInternal, "request refused"
// for what is not one). Replies come from other processes: no field of theirs may throw.
Status ReplyStatus(const nlohmann::json& reply);
// A string field of a message, or `fallback` when it is absent or not a string.
std::string StringField(const nlohmann::json& message, const char* key, const char* fallback);

// The credentials of the process at the other end of a Unix socket, as the kernel saw them
// when it connected (or listened). If the kernel does not say, ids nobody has (-1): never
// root's.
ucred PeerCredentials(int sock);

// The socket path hosts use: $CONFIDE_PLATFORM_SOCKET, else /run/confide/platform.sock.
std::string DefaultSocketPath();
// Connects to the daemon at `path`: kUnavailable when none listens there, kPermissionDenied
// when the one that answers runs as neither root nor the caller's user (a squatter). Sends,
// receives and the connect itself give up after `timeout_s` (kTimeout from them).
inline constexpr int kDefaultTimeoutSeconds = 60;
Result<int> ConnectTo(const std::string& path, int timeout_s = kDefaultTimeoutSeconds);

}  // namespace confide::platform
