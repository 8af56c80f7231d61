// Runs the real `confide` binary (CONFIDE_CLI_PATH) in a child process and captures its exit
// code, stdout and stderr. Shared by the CLI test files in this folder.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "confide/bytes.h"

namespace confide::testing {

struct CliRun {
  int exit_code = -1;  // 128 + signal when the process was killed by one
  std::string out;
  std::string err;
};

// A fresh directory under /tmp, removed with everything in it when the object goes away.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/confide-cli-XXXXXX";
    const char* d = mkdtemp(tmpl);
    EXPECT_NE(d, nullptr);
    path_ = d ? d : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    if (path_ != "/tmp") std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string ReadText(const std::string& path) {
  auto b = ReadFile(path);
  return b.ok() ? std::string(b->begin(), b->end()) : std::string();
}

// Runs `confide args...` with the working directory `cwd`; output goes through files so a
// chatty child can never block on a full pipe.
inline CliRun RunCli(const std::vector<std::string>& args, const std::string& cwd = "/tmp") {
  char tmpl[] = "/tmp/confide-cli-out-XXXXXX";
  std::string dir = mkdtemp(tmpl) ? tmpl : "/tmp";
  std::string out_path = dir + "/stdout", err_path = dir + "/stderr";
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || chdir(cwd.c_str()) != 0) _exit(125);
    std::vector<char*> argv;
    std::string bin = CONFIDE_CLI_PATH;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(126);
  }
  CliRun r;
  int status = 0;
  if (pid > 0 && waitpid(pid, &status, 0) == pid) {
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) r.exit_code = 128 + WTERMSIG(status);
  }
  r.out = ReadText(out_path);
  r.err = ReadText(err_path);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  // Nothing the CLI is given may crash it.
  EXPECT_LT(r.exit_code, 128) << "confide crashed; stderr: " << r.err;
  EXPECT_GE(r.exit_code, 0);
  return r;
}

}  // namespace confide::testing
