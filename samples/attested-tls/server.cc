// Host side of the attested-TLS server: owns the TCP socket and relays TLS records to and from
// the enclave, which terminates TLS. Everything it relays is ciphertext.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "attested_tls_u.h"

namespace {

bool SendAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// One connection: socket bytes in, enclave records out, until either side closes.
void Serve(confide::Enclave& enclave, int fd) {
  std::vector<uint8_t> in(16384), out(65536);
  char message[512] = {};
  if (auto r = tls_accept(enclave); !r.ok() || *r != 0) return;
  for (;;) {
    ssize_t got = recv(fd, in.data(), in.size(), 0);
    if (got <= 0) break;
    size_t in_len = static_cast<size_t>(got);
    for (;;) {
      auto n = tls_pump(enclave, in.data(), in_len, out.data(), out.size(), message, sizeof message);
      if (!n.ok()) {
        std::fprintf(stderr, "server: %s\n", n.status().message().c_str());
        return;
      }
      if (*n < 0) {
        std::printf("server: connection ended: %s\n", message);
        std::fflush(stdout);
        return;
      }
      if (*n > 0 && !SendAll(fd, out.data(), static_cast<size_t>(*n))) return;
      in_len = 0;
      if (static_cast<size_t>(*n) < out.size()) break;  // drained
    }
    auto closed = tls_closed(enclave);
    if (!closed.ok() || *closed == 1) break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: attested_tls_server ENCLAVE.signed.so [--backend soft] [--port-file F] [--connections N]\n");
    return 2;
  }
  confide::EnclaveOptions options;
  options.backend = confide::BackendKind::kSoft;
  std::string port_file;
  int connections = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--backend") {
      auto kind = confide::ParseBackendKind(argv[i + 1]);
      if (!kind.ok()) {
        std::fprintf(stderr, "server: %s\n", kind.status().message().c_str());
        return 2;
      }
      options.backend = *kind;
    } else if (flag == "--port-file") {
      port_file = argv[i + 1];
    } else if (flag == "--connections") {
      connections = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "server: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  auto enclave = create_attested_tls_enclave(argv[1], options);
  if (!enclave.ok()) {
    std::fprintf(stderr, "server: %s\n", enclave.status().message().c_str());
    return 1;
  }
  char message[512] = {};
  auto init = tls_init(**enclave, message, sizeof message);
  if (!init.ok() || *init != 0) {
    std::fprintf(stderr, "server: the enclave cannot make its attested certificate: %s\n",
                 init.ok() ? message : init.status().message().c_str());
    return 1;
  }
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (ls < 0 || bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(ls, 4) != 0 ||
      getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("server: listen");
    return 1;
  }
  int port = ntohs(addr.sin_port);
  std::printf("server: enclave TLS endpoint on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  if (!port_file.empty()) std::ofstream(port_file) << port << "\n";
  for (int i = 0; i < connections; ++i) {
    int c = accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) break;
    Serve(**enclave, c);
    close(c);
  }
  close(ls);
  return 0;
}
