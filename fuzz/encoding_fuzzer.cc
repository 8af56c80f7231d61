// Fuzzes the text decoders that read untrusted input (JSON collateral, tokens, config):
// hex, base64, base64url and RFC 3339. Whatever decodes must re-encode to an equivalent form.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "confide/bytes.h"
#include "confide/time.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto hex = confide::HexDecode(text); hex.ok()) {
    // Decoding is case-insensitive and canonical otherwise: re-encoding gives the lowercase input.
    std::string lower(text);
    for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    if (confide::HexEncode(*hex) != lower) __builtin_trap();
  }
  if (auto b = confide::Base64UrlDecode(text); b.ok()) {
    // Only canonical encodings are accepted, so a round trip must be exact.
    auto again = confide::Base64UrlDecode(confide::Base64UrlEncode(*b));
    if (!again.ok() || *again != *b) __builtin_trap();
  }
  if (auto b = confide::Base64Decode(text); b.ok()) {
    auto again = confide::Base64Decode(confide::Base64Encode(*b));
    if (!again.ok() || *again != *b) __builtin_trap();
  }
  if (auto t = confide::ParseRfc3339(text); t.ok()) {
    auto again = confide::ParseRfc3339(confide::FormatRfc3339(*t));
    if (!again.ok() || *again != *t) __builtin_trap();
  }
  confide::ByteReader r(confide::AsBytes(text), "fuzz");
  while (r.remaining() > 0) {
    size_t before = r.offset();
    auto n = r.U8("len");
    if (!n.ok()) break;
    if (!r.Take(*n, "field").ok() && r.offset() != before + 1) __builtin_trap();
  }
  return 0;
}
