#include <string>

#include "confide/x509.h"

namespace confide::x509 {

Result<DerElement> DerReader::Next() {
  size_t remaining = data_.size() - off_;
  if (remaining < 2) return InvalidArgument("DER: truncated element header at offset " + std::to_string(off_));
  const uint8_t* p = data_.data() + off_;
  uint8_t tag = p[0];
  if ((tag & 0x1f) == 0x1f) return Unsupported("DER: multi-byte tags are not supported (offset " + std::to_string(off_) + ")");
  size_t header = 2;
  size_t len = p[1];
  if (len == 0x80) return InvalidArgument("DER: indefinite length is not allowed (offset " + std::to_string(off_) + ")");
  if (len > 0x80) {
    size_t nbytes = len & 0x7f;
    if (nbytes > sizeof(size_t) - 1 || nbytes + 2 > remaining)
      return InvalidArgument("DER: length field too large or truncated at offset " + std::to_string(off_));
    len = 0;
    for (size_t i = 0; i < nbytes; ++i) len = len << 8 | p[2 + i];
    if (len < 0x80 || p[2] == 0)
      return InvalidArgument("DER: non-minimal length encoding at offset " + std::to_string(off_));
    header += nbytes;
  }
  if (len > remaining - header)
    return InvalidArgument("DER: element at offset " + std::to_string(off_) + " claims " + std::to_string(len) +
                           " bytes, only " + std::to_string(remaining - header) + " left");
  DerElement e;
  e.tag = tag;
  e.contents = data_.subspan(off_ + header, len);
  e.encoded = data_.subspan(off_, header + len);
  off_ += header + len;
  return e;
}

Result<DerElement> DerReader::Expect(uint8_t tag, std::string_view what) {
  size_t saved = off_;
  CONFIDE_ASSIGN_OR_RETURN(DerElement e, Next());
  if (e.tag != tag) {
    off_ = saved;
    char buf[64];
    snprintf(buf, sizeof buf, "expected tag 0x%02x, found 0x%02x", tag, e.tag);
    return InvalidArgument("DER: " + std::string(what) + ": " + buf);
  }
  return e;
}

Result<std::string> OidToString(ByteSpan c) {
  if (c.empty()) return InvalidArgument("DER: empty OBJECT IDENTIFIER");
  std::string out;
  uint64_t v = 0;
  bool first = true;
  for (size_t i = 0; i < c.size(); ++i) {
    if (v == 0 && c[i] == 0x80) return InvalidArgument("DER: non-minimal OBJECT IDENTIFIER arc");
    if (v > (UINT64_MAX >> 7)) return Unsupported("DER: OBJECT IDENTIFIER arc larger than 64 bits");
    v = v << 7 | (c[i] & 0x7f);
    if (c[i] & 0x80) {
      if (i + 1 == c.size()) return InvalidArgument("DER: truncated OBJECT IDENTIFIER");
      continue;
    }
    if (first) {
      uint64_t a = v < 40 ? 0 : v < 80 ? 1 : 2;
      out = std::to_string(a) + "." + std::to_string(v - 40 * a);
      first = false;
    } else {
      out += "." + std::to_string(v);
    }
    v = 0;
  }
  return out;
}

Result<uint64_t> DerUnsigned(ByteSpan c) {
  if (c.empty()) return InvalidArgument("DER: empty INTEGER");
  if (c[0] & 0x80) return OutOfRange("DER: INTEGER is negative where an unsigned value is expected");
  size_t start = 0;
  while (start + 1 < c.size() && c[start] == 0) ++start;
  if (c.size() - start > 8) return OutOfRange("DER: INTEGER larger than 64 bits");
  uint64_t v = 0;
  for (size_t i = start; i < c.size(); ++i) v = v << 8 | c[i];
  return v;
}

}  // namespace confide::x509
