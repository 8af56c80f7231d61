// Byte buffers, encodings, constant-time comparison, secure zeroing and a bounds-checked
// reader for binary formats (quotes, reports, images).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "confide/status.h"

namespace confide {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

inline ByteSpan AsBytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string ToString(ByteSpan b) { return std::string(b.begin(), b.end()); }

// Lowercase hex.
std::string HexEncode(ByteSpan data);
// Accepts upper or lower case; rejects odd length and non-hex characters.
Result<Bytes> HexDecode(std::string_view hex);

// RFC 4648 §5 base64url without padding (JOSE style); decoding accepts padding too.
std::string Base64UrlEncode(ByteSpan data);
Result<Bytes> Base64UrlDecode(std::string_view text);
// RFC 4648 §4 standard base64 with padding; decoding ignores whitespace.
std::string Base64Encode(ByteSpan data);
Result<Bytes> Base64Decode(std::string_view text);

// Compares in time that depends only on the lengths, never on the contents.
bool ConstantTimeEqual(ByteSpan a, ByteSpan b);

// Zeroes memory in a way the compiler may not elide.
void SecureZero(void* data, size_t size);
inline void SecureZero(Bytes& b) { SecureZero(b.data(), b.size()); }

// A byte vector that is wiped when destroyed or cleared; for keys and plaintext secrets.
class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(size_t n) : data_(n) {}
  explicit SecureBytes(ByteSpan b) : data_(b.begin(), b.end()) {}
  SecureBytes(const SecureBytes&) = default;
  SecureBytes& operator=(const SecureBytes& o) {
    if (this != &o) { Clear(); data_ = o.data_; }
    return *this;
  }
  SecureBytes(SecureBytes&& o) noexcept : data_(std::move(o.data_)) {}
  SecureBytes& operator=(SecureBytes&& o) noexcept {
    if (this != &o) { Clear(); data_ = std::move(o.data_); }
    return *this;
  }
  ~SecureBytes() { Clear(); }

  void Clear() { SecureZero(data_.data(), data_.size()); data_.clear(); }
  uint8_t* data() { return data_.data(); }
  const uint8_t* data() const { return data_.data(); }
  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  ByteSpan span() const { return ByteSpan(data_); }
  operator ByteSpan() const { return span(); }  // NOLINT

 private:
  Bytes data_;
};

// Reads fixed-layout binary data with every length checked; a read past the end
// fails with a message naming the field, and leaves the reader unchanged.
class ByteReader {
 public:
  explicit ByteReader(ByteSpan data, std::string what = "input") : data_(data), what_(std::move(what)) {}

  size_t offset() const { return off_; }
  size_t remaining() const { return data_.size() - off_; }
  ByteSpan rest() const { return data_.subspan(off_); }

  Result<ByteSpan> Take(size_t n, std::string_view field);
  Status Skip(size_t n, std::string_view field);
  Result<uint8_t> U8(std::string_view field);
  Result<uint16_t> U16Le(std::string_view field);
  Result<uint32_t> U32Le(std::string_view field);
  Result<uint64_t> U64Le(std::string_view field);
  Result<uint16_t> U16Be(std::string_view field);
  Result<uint32_t> U32Be(std::string_view field);

 private:
  ByteSpan data_;
  std::string what_;
  size_t off_ = 0;
};

// Little-endian helpers for writers.
void AppendU16Le(Bytes& out, uint16_t v);
void AppendU32Le(Bytes& out, uint32_t v);
void AppendU64Le(Bytes& out, uint64_t v);
inline void Append(Bytes& out, ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); }

// Whole-file I/O with errors that name the path.
Result<Bytes> ReadFile(const std::string& path);
// Writes atomically (temp file + rename) so a failure never leaves a half-written file.
Status WriteFile(const std::string& path, ByteSpan data, unsigned mode = 0644);

}  // namespace confide
