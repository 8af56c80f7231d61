// The soft platform's root secret file: created once with fresh random bytes, never
// overwritten, readable only by the daemon's user.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "confide/crypto.h"
#include "confide/platform_services.h"

namespace confide::platform_services {
namespace {

std::string Errno(int e) { return std::strerror(e); }

Result<Key> ReadRoot(const std::string& path, int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return IoError("cannot stat " + path + ": " + Errno(errno));
  if (!S_ISREG(st.st_mode)) return InvalidArgument(path + " is not a regular file");
  if (st.st_uid != geteuid())
    return PermissionDenied(path + " belongs to uid " + std::to_string(st.st_uid) +
                            ", not to this daemon's user (uid " + std::to_string(geteuid()) +
                            "); the root secret must be private to the platform daemon");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return PermissionDenied(path + " has mode " + mode +
                            ": others may read or change it, and whoever read it can derive every sealing key of "
                            "this platform. Treat the platform as compromised, or chmod 600 it if nobody else could "
                            "have read it");
  }
  if (st.st_size != static_cast<off_t>(sizeof(Key)))
    return InvalidArgument(path + " holds " + std::to_string(st.st_size) + " bytes, not the " +
                           std::to_string(sizeof(Key)) +
                           " of a root secret: it is damaged. Data sealed under it cannot be recovered; restore it "
                           "from a backup, or remove it to start a new platform identity");
  Key key;
  size_t got = 0;
  while (got < key.size()) {
    ssize_t n = read(fd, key.data() + got, key.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      SecureZero(key.data(), key.size());
      return IoError("reading " + path + " failed: " + (n < 0 ? Errno(errno) : std::string("unexpected end")));
    }
    got += static_cast<size_t>(n);
  }
  return key;
}

}  // namespace

Result<Key> LoadOrCreateRootSecret(const std::string& path) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      auto key = ReadRoot(path, fd);
      close(fd);
      return key;
    }
    if (errno != ENOENT) return IoError("cannot open the root secret " + path + ": " + Errno(errno));
    // Create under a temporary name and link it into place: link() never replaces an existing
    // file, so two daemons starting together agree on one root, and a crash leaves no half file.
    Key key;
    CONFIDE_RETURN_IF_ERROR(crypto::RandomFill(key.data(), key.size()));
    std::string tmp = path + ".new." + std::to_string(getpid());
    int t = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (t < 0) return IoError("cannot create " + tmp + ": " + Errno(errno) + " (is the state directory writable?)");
    bool ok = write(t, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && fsync(t) == 0;
    int e = errno;
    close(t);
    if (!ok) {
      unlink(tmp.c_str());
      SecureZero(key.data(), key.size());
      return IoError("writing " + tmp + " failed: " + Errno(e));
    }
    int rc = link(tmp.c_str(), path.c_str());
    e = errno;
    unlink(tmp.c_str());
    if (rc == 0) return key;
    SecureZero(key.data(), key.size());
    if (e != EEXIST) return IoError("cannot create the root secret " + path + ": " + Errno(e));
    // Another daemon won the race: read its root.
  }
  return IoError("the root secret " + path + " appeared and vanished while starting; retry");
}

}  // namespace confide::platform_services
