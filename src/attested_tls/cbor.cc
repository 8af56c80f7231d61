#include "attested_tls/cbor.h"

namespace confide::attested_tls::cbor {

void AppendHead(Bytes& out, uint8_t major, uint64_t v) {
  uint8_t m = static_cast<uint8_t>(major << 5);
  auto put = [&](int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  if (v < 24) {
    out.push_back(static_cast<uint8_t>(m | v));
  } else if (v <= 0xff) {
    out.push_back(m | 24);
    put(1);
  } else if (v <= 0xffff) {
    out.push_back(m | 25);
    put(2);
  } else if (v <= 0xffffffffu) {
    out.push_back(m | 26);
    put(4);
  } else {
    out.push_back(m | 27);
    put(8);
  }
}

void AppendBytes(Bytes& out, ByteSpan b) {
  AppendHead(out, 2, b.size());
  Append(out, b);
}

void AppendText(Bytes& out, std::string_view s) {
  AppendHead(out, 3, s.size());
  Append(out, AsBytes(s));
}

Result<Head> Reader::ReadHead() {
  if (off_ >= data_.size()) return InvalidArgument("CBOR item truncated: expected another item");
  uint8_t ib = data_[off_++];
  Head h{static_cast<uint8_t>(ib >> 5), static_cast<uint64_t>(ib & 0x1f)};
  if (h.major == 7) return Unsupported("CBOR simple values and floats are not expected here");
  if (h.value < 24) return h;
  if (h.value > 27) return Unsupported("indefinite-length or reserved CBOR encodings are not accepted");
  size_t n = size_t{1} << (h.value - 24);
  if (data_.size() - off_ < n) return InvalidArgument("CBOR item head truncated");
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | data_[off_++];
  h.value = v;
  return h;
}

Result<uint64_t> Reader::Expect(uint8_t major, std::string_view what) {
  CONFIDE_ASSIGN_OR_RETURN(Head h, ReadHead());
  if (h.major != major)
    return InvalidArgument(std::string(what) + ": expected CBOR major type " + std::to_string(major) +
                           ", found " + std::to_string(h.major));
  return h.value;
}

Result<ByteSpan> Reader::Take(uint64_t n, std::string_view what) {
  if (n > data_.size() - off_) return InvalidArgument(std::string(what) + ": CBOR string runs past the end");
  ByteSpan s = data_.subspan(off_, static_cast<size_t>(n));
  off_ += static_cast<size_t>(n);
  return s;
}

Result<ByteSpan> Reader::ReadBytes(std::string_view what) {
  CONFIDE_ASSIGN_OR_RETURN(uint64_t n, Expect(2, what));
  return Take(n, what);
}

Result<std::string> Reader::ReadText(std::string_view what) {
  CONFIDE_ASSIGN_OR_RETURN(uint64_t n, Expect(3, what));
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan s, Take(n, what));
  return ToString(s);
}

Status Reader::Skip(int depth) {
  if (depth > 8) return Unsupported("CBOR nested too deeply");
  CONFIDE_ASSIGN_OR_RETURN(Head h, ReadHead());
  switch (h.major) {
    case 0:
    case 1:
      return Status::Ok();
    case 2:
    case 3:
      return Take(h.value, "skipped item").status();
    case 4:
      for (uint64_t i = 0; i < h.value; ++i) CONFIDE_RETURN_IF_ERROR(Skip(depth + 1));
      return Status::Ok();
    case 5:
      for (uint64_t i = 0; i < h.value; ++i) {
        CONFIDE_RETURN_IF_ERROR(Skip(depth + 1));
        CONFIDE_RETURN_IF_ERROR(Skip(depth + 1));
      }
      return Status::Ok();
    default:  // 6: a tag, then its item
      return Skip(depth + 1);
  }
}

}  // namespace confide::attested_tls::cbor
