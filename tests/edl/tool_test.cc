// Runs the real confide-edger8r binary: exit codes, messages, --dump-ast output.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace {

const std::string kData = CONFIDE_EDL_DATA;
const std::string kTool = CONFIDE_EDGER8R_PATH;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RunResult RunTool(const std::string& args) {
  std::string base = ::testing::TempDir() + "edger8r_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::string cmd = "'" + kTool + "' " + args + " >'" + base + ".out' 2>'" + base + ".err'";
  int status = std::system(cmd.c_str());
  RunResult r;
  if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  r.out = Slurp(base + ".out");
  r.err = Slurp(base + ".err");
  return r;
}

TEST(Edger8rTool, DumpAstPrintsJsonAndExitsZero) {
  RunResult r = RunTool("--dump-ast --search-path " + kData + " " + kData + "/intel_style.edl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["name"], "intel_style");
  EXPECT_EQ(j["untrusted"].size(), 10u);
  // The pointer-return warning goes to stderr, not into the JSON stream.
  EXPECT_NE(r.err.find("warning: `ecall_returns_pointer` returns a pointer"), std::string::npos) << r.err;
}

TEST(Edger8rTool, DefinesAndColonSeparatedSearchPaths) {
  RunResult r = RunTool("--dump-ast -DCONFIDE_TEST_SGX --search-path " + kData + ":" + kData + "/lib/sub " + kData +
                    "/oe_style.edl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  bool found = false;
  for (const auto& f : j["untrusted"]) found = found || f["name"] == "sgx_only_ocall";
  EXPECT_TRUE(found);
}

TEST(Edger8rTool, MultipleFilesGiveAJsonArray) {
  RunResult r = RunTool("--dump-ast " + kData + "/intel_lib.edl " + kData + "/imports/base.edl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  EXPECT_EQ(j[1]["name"], "base");
}

TEST(Edger8rTool, EdlErrorExitsOneWithLocation) {
  RunResult r = RunTool("--dump-ast " + kData + "/imports/bad_child.edl");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("broken.edl:3:37: error: [in]/[out] only apply to pointers and arrays"), std::string::npos)
      << r.err;
}

TEST(Edger8rTool, MissingFileExitsOne) {
  RunResult r = RunTool("--dump-ast " + kData + "/nope.edl");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nope.edl: error: EDL file not found"), std::string::npos) << r.err;
}

TEST(Edger8rTool, GenerationRefusesUserCheckUnlessAllowed) {
  const std::string dir = ::testing::TempDir() + "edger8r_generated";
  const std::string edl = " --search-path " + kData + " " + kData + "/intel_style.edl";
  RunResult r = RunTool("--trusted --trusted-dir " + dir + edl);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("intel_style.edl:34:67: error: [user_check] on parameter `n`"), std::string::npos) << r.err;
  r = RunTool("--trusted --allow-user-check --trusted-dir " + dir + edl);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(Slurp(dir + "/intel_style_t.h").find("void ecall_in(int* v);"), std::string::npos);
}

TEST(Edger8rTool, GenerationRequestStillReportsEdlErrorsFirst) {
  RunResult r = RunTool("--untrusted " + kData + "/imports/missing.edl");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot find imported file \"does_not_exist.edl\""), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("code generation"), std::string::npos) << r.err;
}

TEST(Edger8rTool, WerrorTurnsWarningsIntoExitOne) {
  RunResult r = RunTool("--dump-ast -Werror --search-path " + kData + " " + kData + "/intel_style.edl");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("warnings treated as errors"), std::string::npos) << r.err;
}

TEST(Edger8rTool, UsageErrorsExitTwo) {
  for (const char* args : {"", "--dump-ast", "--bogus x.edl", "--search-path", "--trusted-dir", "-D"}) {
    RunResult r = RunTool(args);
    EXPECT_EQ(r.exit_code, 2) << "args: " << args << "\n" << r.err;
    EXPECT_NE(r.err.find("usage: confide-edger8r"), std::string::npos) << args;
  }
}

TEST(Edger8rTool, HelpExitsZero) {
  RunResult r = RunTool("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--search-path DIR"), std::string::npos);
  EXPECT_NE(r.out.find("--dump-ast"), std::string::npos);
}

TEST(Edger8rTool, BinaryInputIsAnErrorNotACrash) {
  std::string path = ::testing::TempDir() + "edger8r_binary.edl";
  {
    std::ofstream f(path, std::ios::binary);
    for (int i = 0; i < 4096; ++i) f.put(static_cast<char>((i * 131 + 7) & 0xff));
  }
  RunResult r = RunTool("--dump-ast '" + path + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
}

}  // namespace
