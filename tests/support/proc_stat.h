// Reads a field of a process's or thread's /proc stat file, for tests that watch processes.
#pragma once

#include <sys/types.h>

#include <fstream>
#include <sstream>
#include <string>

namespace confide::testing {

// Field `n` of the stat file at `path` (/proc/ID/stat or /proc/ID/task/TID/stat), numbered as
// in proc(5) (3: state, 39: processor); empty if unreadable.
inline std::string StatField(const std::string& path, int n) {
  std::ifstream stat(path);
  std::string line;
  std::getline(stat, line);
  size_t paren = line.rfind(')');  // the command name before it may hold anything
  if (paren == std::string::npos || paren + 2 > line.size()) return "";
  std::istringstream fields(line.substr(paren + 2));
  std::string field;
  for (int i = 3; fields >> field; ++i)
    if (i == n) return field;
  return "";
}

// The same for /proc/ID/stat.
inline std::string StatField(pid_t id, int n) { return StatField("/proc/" + std::to_string(id) + "/stat", n); }

}  // namespace confide::testing
