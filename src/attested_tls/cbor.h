// The little CBOR (RFC 8949) the attested-TLS extensions need: unsigned integers, byte and
// text strings, arrays, maps and tags, definite lengths only, every length checked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "confide/bytes.h"
#include "confide/status.h"

namespace confide::attested_tls::cbor {

// ---- encoding (always the shortest form, as deterministic CBOR requires)
void AppendHead(Bytes& out, uint8_t major, uint64_t value);
inline void AppendUint(Bytes& out, uint64_t v) { AppendHead(out, 0, v); }
void AppendBytes(Bytes& out, ByteSpan b);
void AppendText(Bytes& out, std::string_view s);
inline void AppendArrayHead(Bytes& out, uint64_t n) { AppendHead(out, 4, n); }
inline void AppendMapHead(Bytes& out, uint64_t n) { AppendHead(out, 5, n); }
inline void AppendTag(Bytes& out, uint64_t tag) { AppendHead(out, 6, tag); }

// ---- decoding
struct Head {
  uint8_t major = 0;
  uint64_t value = 0;  // the integer, the length, the count or the tag number
};

class Reader {
 public:
  explicit Reader(ByteSpan data) : data_(data) {}
  bool empty() const { return off_ >= data_.size(); }
  size_t offset() const { return off_; }
  Result<Head> ReadHead();
  // The next item must be of this major type; returns its head value.
  Result<uint64_t> Expect(uint8_t major, std::string_view what);
  Result<ByteSpan> ReadBytes(std::string_view what);
  Result<std::string> ReadText(std::string_view what);
  // Skips one whole item (nested up to a small depth).
  Status Skip(int depth = 0);

 private:
  Result<ByteSpan> Take(uint64_t n, std::string_view what);
  ByteSpan data_;
  size_t off_ = 0;
};

}  // namespace confide::attested_tls::cbor
