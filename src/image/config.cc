// OE SDK-compatible enclave configuration (`Key=Value` lines, as oesign reads them).
#include <cstdint>
#include <optional>
#include <string>

#include "confide/image.h"

namespace confide::image {
namespace {

struct KeySpec {
  std::string_view name;
  uint64_t min;
  uint64_t max;
};

// Order matters only for messages and FormatConfig.
constexpr KeySpec kKeys[] = {
    {"Debug", 0, 1},
    {"NumHeapPages", 1, kMaxHeapPages},
    {"NumStackPages", 1, kMaxStackPages},
    {"NumTCS", 1, kMaxTcs},
    {"ProductID", 0, kMaxProductId},
    {"SecurityVersion", 0, kMaxSecurityVersion},
};
constexpr size_t kNumKeys = sizeof(kKeys) / sizeof(kKeys[0]);

// Keys oesign knows that confide does not implement: refused by name rather than as unknown,
// so a user porting an OE config learns why.
constexpr std::string_view kOeOnlyKeys[] = {"FamilyID", "ExtendedProductID", "CapturePFGPExceptions",
                                            "CreateZeroBaseEnclave", "StartAddress"};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  if (s.size() > 64) out += "...";
  return out;
}

// Decimal, or hexadecimal with a 0x prefix (page counts are often written in hex).
// nullopt when not a number; sets `overflow` when it does not fit in 64 bits.
std::optional<uint64_t> ParseU64(std::string_view s, bool& overflow) {
  overflow = false;
  unsigned base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
    else return std::nullopt;
    if (v > (UINT64_MAX - d) / base) overflow = true;
    else v = v * base + d;
  }
  return v;
}

Status CheckRange(std::string_view key, uint64_t v, std::string_view where) {
  for (const KeySpec& k : kKeys) {
    if (k.name != key) continue;
    if (v < k.min || v > k.max)
      return OutOfRange(std::string(where) + "'" + std::string(key) + "' = " + std::to_string(v) +
                        " is out of range: allowed " + std::to_string(k.min) + ".." + std::to_string(k.max));
    return Status::Ok();
  }
  return Internal("no range for key " + std::string(key));
}

}  // namespace

Result<EnclaveConfig> ParseConfig(std::string_view text, std::string_view source) {
  std::optional<uint64_t> values[kNumKeys];
  size_t first_line[kNumKeys] = {};
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') continue;
    std::string where = std::string(source) + ":" + std::to_string(line_no) + ": ";

    size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return InvalidArgument(where + "expected 'Key=Value', got '" + Printable(line) + "'");
    std::string_view key = Trim(line.substr(0, eq));
    std::string_view value = Trim(line.substr(eq + 1));
    if (key.empty()) return InvalidArgument(where + "missing key before '='");

    size_t idx = kNumKeys;
    for (size_t i = 0; i < kNumKeys; ++i)
      if (kKeys[i].name == key) idx = i;
    if (idx == kNumKeys) {
      for (std::string_view oe : kOeOnlyKeys)
        if (oe == key)
          return Unsupported(where + "'" + std::string(key) +
                             "' is an OE SDK setting that confide does not support; remove it");
      return InvalidArgument(where + "unknown key '" + Printable(key) +
                             "' (known keys: Debug, NumHeapPages, NumStackPages, NumTCS, ProductID, "
                             "SecurityVersion; names are case-sensitive)");
    }
    if (values[idx])
      return InvalidArgument(where + "duplicate '" + std::string(key) + "' (first set at line " +
                             std::to_string(first_line[idx]) + ")");
    if (value.empty()) return InvalidArgument(where + "missing value for '" + std::string(key) + "'");
    bool overflow = false;
    std::optional<uint64_t> v = ParseU64(value, overflow);
    if (!v)
      return InvalidArgument(where + "'" + std::string(key) + "' must be a non-negative integer, got '" +
                             Printable(value) + "'");
    if (overflow)
      return OutOfRange(where + "'" + std::string(key) + "' = " + Printable(value) +
                        " does not fit in 64 bits");
    CONFIDE_RETURN_IF_ERROR(CheckRange(key, *v, where));
    values[idx] = *v;
    first_line[idx] = line_no;
  }
  for (size_t i = 0; i < kNumKeys; ++i)
    if (!values[i])
      return InvalidArgument(std::string(source) + ": missing '" + std::string(kKeys[i].name) +
                             "' (every one of Debug, NumHeapPages, NumStackPages, NumTCS, ProductID, "
                             "SecurityVersion must be set)");
  EnclaveConfig c;
  c.debug = *values[0] != 0;
  c.num_heap_pages = *values[1];
  c.num_stack_pages = *values[2];
  c.num_tcs = *values[3];
  c.product_id = static_cast<uint16_t>(*values[4]);
  c.security_version = static_cast<uint16_t>(*values[5]);
  return c;
}

Result<EnclaveConfig> LoadConfigFile(const std::string& path) {
  CONFIDE_ASSIGN_OR_RETURN(Bytes text, ReadFile(path));
  return ParseConfig(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), path);
}

Status ValidateConfig(const EnclaveConfig& c) {
  CONFIDE_RETURN_IF_ERROR(CheckRange("NumHeapPages", c.num_heap_pages, ""));
  CONFIDE_RETURN_IF_ERROR(CheckRange("NumStackPages", c.num_stack_pages, ""));
  CONFIDE_RETURN_IF_ERROR(CheckRange("NumTCS", c.num_tcs, ""));
  CONFIDE_RETURN_IF_ERROR(CheckRange("ProductID", c.product_id, ""));
  CONFIDE_RETURN_IF_ERROR(CheckRange("SecurityVersion", c.security_version, ""));
  return Status::Ok();
}

std::string FormatConfig(const EnclaveConfig& c) {
  return "Debug=" + std::to_string(c.debug ? 1 : 0) + "\nNumHeapPages=" + std::to_string(c.num_heap_pages) +
         "\nNumStackPages=" + std::to_string(c.num_stack_pages) + "\nNumTCS=" + std::to_string(c.num_tcs) +
         "\nProductID=" + std::to_string(c.product_id) +
         "\nSecurityVersion=" + std::to_string(c.security_version) + "\n";
}

}  // namespace confide::image
