// Internal: one EDL file parsed, its imports resolved, its declarations checked.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "confide/edl.h"
#include "edl/lexer.h"

namespace confide::edl::internal {

// What a file offers to a file that imports it.
struct ResolvedFile {
  std::string path;
  std::string name;
  std::vector<std::string> includes;
  std::vector<UserType> types;      // own and imported
  std::vector<Function> trusted;    // own, then imported
  std::vector<Function> untrusted;  // own, then imported
  // Every function declared in this file or any file it imports, imported or not: Intel's
  // edger8r resolves `from "a.edl" import f;` through a.edl's own imports too.
  std::vector<Function> reachable;
  std::vector<std::string> files;  // this file, then every file it read, de-duplicated
  std::vector<std::string> warnings;
  std::map<std::string, std::optional<int64_t>> enum_constants;
};

// Loads, caches and cycle-checks files during one ParseEdl* call.
class Loader {
 public:
  explicit Loader(const ParseOptions& options) : options_(options) {}

  // Parses `text` as the file `path` (key: its canonical path, for caching and cycles).
  Result<std::shared_ptr<const ResolvedFile>> Parse(std::string_view text, const std::string& path,
                                                    const std::string& key);

  // Resolves `name` as written in an import at `from` and parses it (once).
  Result<std::shared_ptr<const ResolvedFile>> Import(const std::string& name,
                                                     const SourceLocation& from);

  const ParseOptions& options() const { return options_; }

 private:
  const ParseOptions& options_;
  std::map<std::string, std::shared_ptr<const ResolvedFile>> cache_;
  std::vector<std::pair<std::string, std::string>> stack_;  // (key, path) being parsed
};

// Reads a regular file of at most 16 MiB.
Result<std::string> ReadEdlText(const std::string& path);

// The root-level checks that need the whole program (allow lists, orphan private ecalls).
Result<Edl> Finish(const ResolvedFile& root);

}  // namespace confide::edl::internal
