// Reader for the text vector files under tests/vectors/ (NIST CAVP ".rsp" style):
//   # comment
//   [Name = value]   or   [Name]      section attributes, copied into every record after them;
//                                     a '[..]' line that follows a record starts a new section
//   Key = value                       one field of the current record (hex, a number or text)
//   FAIL                              a bare word is a flag on the current record
// Records are separated by blank lines.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "confide/bytes.h"
#include "confide/status.h"

namespace confide::testing {

struct VectorRecord {
  std::string file;
  int line = 0;  // first line of the record, for failure messages
  std::map<std::string, std::string> fields;
  std::set<std::string> flags;

  bool Has(const std::string& key) const { return fields.count(key) != 0; }
  bool HasFlag(const std::string& flag) const { return flags.count(flag) != 0; }
  // The field's text; an empty string when absent (tests check Has() where it matters).
  const std::string& Get(const std::string& key) const;
  // The field decoded as hex; aborts the test run with the file and line when it is not hex.
  Bytes Hex(const std::string& key) const;
  // "file:line" for SCOPED_TRACE.
  std::string Where() const { return file + ":" + std::to_string(line); }
};

// Loads `name`, relative to the tests/vectors directory (CONFIDE_TEST_VECTORS).
Result<std::vector<VectorRecord>> LoadVectorFile(const std::string& name);

// Absolute path of a file under tests/vectors.
std::string VectorPath(const std::string& name);

}  // namespace confide::testing
