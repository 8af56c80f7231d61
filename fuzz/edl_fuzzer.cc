// libFuzzer target for the EDL front end: random text must give an AST or a Status, never
// a crash, a hang or a sanitizer report. The first byte picks the #ifdef defines so both
// branches of conditionals are explored.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "confide/edl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  confide::edl::ParseOptions options;
  if (data[0] & 1) options.defines.push_back("A");
  if (data[0] & 2) options.defines.push_back("OE_SGX");
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto result = confide::edl::ParseEdlString(text, "fuzz.edl", options);
  if (result.ok()) {
    std::string json = confide::edl::EdlToJson(result.value());
    if (json.empty()) __builtin_trap();  // a parsed EDL always has a JSON form
    for (const auto& f : result->trusted) (void)f.return_type.ToString();
  } else if (result.status().message().empty()) {
    __builtin_trap();  // every error must say what is wrong
  }
  return 0;
}
