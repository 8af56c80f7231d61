#include "crypto/vector_file.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace confide::testing {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::string VectorPath(const std::string& name) { return std::string(CONFIDE_TEST_VECTORS) + "/" + name; }

const std::string& VectorRecord::Get(const std::string& key) const {
  static const std::string kEmpty;
  auto it = fields.find(key);
  return it == fields.end() ? kEmpty : it->second;
}

Bytes VectorRecord::Hex(const std::string& key) const {
  auto r = HexDecode(Get(key));
  if (!r.ok()) {
    // A broken vector file is a test bug, not a product failure: stop loudly.
    std::fprintf(stderr, "%s: field %s: %s\n", Where().c_str(), key.c_str(), r.status().ToString().c_str());
    std::abort();
  }
  return *r;
}

Result<std::vector<VectorRecord>> LoadVectorFile(const std::string& name) {
  CONFIDE_ASSIGN_OR_RETURN(Bytes raw, ReadFile(VectorPath(name)));
  std::istringstream in(ToString(raw));
  std::vector<VectorRecord> out;
  std::map<std::string, std::string> section;
  bool section_open = true;  // consecutive '[..]' lines add to the same section
  VectorRecord cur;
  bool in_record = false;
  auto flush = [&] {
    if (in_record) out.push_back(std::move(cur));
    cur = VectorRecord();
    in_record = false;
  };
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string t = Trim(line);
    if (!t.empty() && t[0] == '#') continue;
    if (t.empty()) {
      flush();
      continue;
    }
    if (t[0] == '[') {
      flush();
      if (t.back() != ']') return InvalidArgument(name + ":" + std::to_string(lineno) + ": unterminated '[' line");
      if (!section_open) section.clear();
      section_open = true;
      std::string inner = t.substr(1, t.size() - 2);
      size_t eq = inner.find('=');
      if (eq == std::string::npos) section[Trim(inner)] = "";
      else section[Trim(inner.substr(0, eq))] = Trim(inner.substr(eq + 1));
      continue;
    }
    section_open = false;
    if (!in_record) {
      in_record = true;
      cur.file = name;
      cur.line = lineno;
      cur.fields = section;
    }
    size_t eq = t.find('=');
    if (eq == std::string::npos) {
      cur.flags.insert(t);
    } else {
      std::string key = Trim(t.substr(0, eq));
      if (key.empty()) return InvalidArgument(name + ":" + std::to_string(lineno) + ": field without a name");
      cur.fields[key] = Trim(t.substr(eq + 1));
    }
  }
  flush();
  if (out.empty()) return InvalidArgument(name + ": no records");
  return out;
}

}  // namespace confide::testing
