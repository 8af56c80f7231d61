#include "confide/bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace confide {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string B64Encode(ByteSpan data, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = data[i] << 16;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    uint32_t v = (data[i] << 16) | (data[i + 1] << 8);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

Result<Bytes> B64Decode(std::string_view text, const char* alphabet, bool skip_space,
                        std::string_view name) {
  std::array<int, 256> table;
  table.fill(-1);
  for (int i = 0; i < 64; ++i) table[static_cast<uint8_t>(alphabet[i])] = i;
  Bytes out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  size_t symbols = 0, padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (skip_space && (c == ' ' || c == '\n' || c == '\r' || c == '\t')) continue;
    if (c == '=') { ++padding; continue; }
    if (padding > 0)
      return InvalidArgument(std::string(name) + ": data after '=' padding at offset " + std::to_string(i));
    int v = table[static_cast<uint8_t>(c)];
    if (v < 0)
      return InvalidArgument(std::string(name) + ": invalid character at offset " + std::to_string(i));
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    ++symbols;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  if (symbols % 4 == 1 || padding > 2 || (padding > 0 && (symbols + padding) % 4 != 0))
    return InvalidArgument(std::string(name) + ": truncated input (length is not a valid encoding)");
  // Non-canonical encodings (non-zero leftover bits) are refused so one value has one text.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return InvalidArgument(std::string(name) + ": non-canonical encoding (trailing bits set)");
  return out;
}

}  // namespace

std::string HexEncode(ByteSpan data) {
  std::string out(data.size() * 2, '0');
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 15];
  }
  return out;
}

Result<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0)
    return InvalidArgument("hex: odd number of digits (" + std::to_string(hex.size()) + ")");
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return InvalidArgument("hex: invalid digit at offset " + std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string Base64UrlEncode(ByteSpan data) { return B64Encode(data, kB64Url, false); }
Result<Bytes> Base64UrlDecode(std::string_view text) {
  return B64Decode(text, kB64Url, false, "base64url");
}
std::string Base64Encode(ByteSpan data) { return B64Encode(data, kB64, true); }
Result<Bytes> Base64Decode(std::string_view text) { return B64Decode(text, kB64, true, "base64"); }

bool ConstantTimeEqual(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return false;
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = diff | (a[i] ^ b[i]);
  return diff == 0;
}

void SecureZero(void* data, size_t size) {
  if (size != 0) explicit_bzero(data, size);
}

Result<ByteSpan> ByteReader::Take(size_t n, std::string_view field) {
  if (n > remaining())
    return InvalidArgument(what_ + " is truncated: " + std::string(field) + " needs " + std::to_string(n) +
                           " bytes at offset " + std::to_string(off_) + ", only " +
                           std::to_string(remaining()) + " left");
  ByteSpan s = data_.subspan(off_, n);
  off_ += n;
  return s;
}

Status ByteReader::Skip(size_t n, std::string_view field) {
  auto r = Take(n, field);
  return r.ok() ? Status::Ok() : r.status();
}

Result<uint8_t> ByteReader::U8(std::string_view field) {
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan b, Take(1, field));
  return b[0];
}

Result<uint16_t> ByteReader::U16Le(std::string_view field) {
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan b, Take(2, field));
  return static_cast<uint16_t>(b[0] | b[1] << 8);
}

Result<uint32_t> ByteReader::U32Le(std::string_view field) {
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan b, Take(4, field));
  return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
         static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
}

Result<uint64_t> ByteReader::U64Le(std::string_view field) {
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan b, Take(8, field));
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | b[i];
  return v;
}

Result<uint16_t> ByteReader::U16Be(std::string_view field) {
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan b, Take(2, field));
  return static_cast<uint16_t>(b[0] << 8 | b[1]);
}

Result<uint32_t> ByteReader::U32Be(std::string_view field) {
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan b, Take(4, field));
  return static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 |
         static_cast<uint32_t>(b[2]) << 8 | static_cast<uint32_t>(b[3]);
}

void AppendU16Le(Bytes& out, uint16_t v) {
  for (int i = 0; i < 2; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void AppendU32Le(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void AppendU64Le(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

Result<Bytes> ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    std::string msg = "cannot open '" + path + "': " + strerror(e);
    return e == ENOENT ? NotFound(msg) : IoError(msg);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return InvalidArgument("'" + path + "' is not a regular file");
  }
  Bytes out;
  out.reserve(static_cast<size_t>(st.st_size));
  uint8_t buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return IoError("reading '" + path + "': " + strerror(e));
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  close(fd);
  return out;
}

Status WriteFile(const std::string& path, ByteSpan data, unsigned mode) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return IoError("cannot create '" + tmp + "': " + strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return IoError("writing '" + tmp + "': " + strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return IoError("flushing '" + tmp + "': " + strerror(e));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return IoError("cannot rename '" + tmp + "' to '" + path + "': " + strerror(e));
  }
  return Status::Ok();
}

}  // namespace confide
