// The generator's refusals (each with file:line:col) and confide-edger8r's output options.
#include <gtest/gtest.h>
#include <unistd.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "confide/edl.h"
#include "edl/codegen.h"

namespace {

namespace fs = std::filesystem;
using confide::edl::CodegenOptions;

confide::Status Generate(const std::string& text, bool allow_user_check = false) {
  auto edl = confide::edl::ParseEdlString(text, "t.edl", {});
  EXPECT_TRUE(edl.ok()) << edl.status().message();
  if (!edl.ok()) return edl.status();
  CodegenOptions o;
  o.allow_user_check = allow_user_check;
  auto files = confide::edl::GenerateCode(*edl, o);
  return files.status();
}

void ExpectRefused(const confide::Status& s, const std::string& where, const std::string& what) {
  ASSERT_FALSE(s.ok()) << "generated code for an EDL that must be refused: " << what;
  EXPECT_EQ(s.message().rfind(where + ": error: ", 0), 0u) << s.message();
  EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
}

TEST(Generator, UserCheckNeedsTheExplicitOptIn) {
  const std::string edl =
      "enclave {\n"
      "  trusted {\n"
      "    public void f([user_check] int* p);\n"
      "  };\n"
      "};\n";
  ExpectRefused(Generate(edl), "t.edl:3:37",
                "[user_check] on parameter `p` of `f` would pass a raw pointer across the boundary");
  EXPECT_NE(Generate(edl).message().find("--allow-user-check"), std::string::npos);
  EXPECT_TRUE(Generate(edl, true).ok());
}

TEST(Generator, OutDeepCopyIsRefused) {
  ExpectRefused(Generate("enclave {\n"
                         "  struct s { size_t n; [size=n] char* p; };\n"
                         "  trusted { public void f([out] struct s* x); };\n"
                         "};\n"),
                "t.edl:3:43", "[out] parameter `x` of `f` points to deep-copy struct `s`");
}

TEST(Generator, DeepCopyStructHeldByValueIsRefused) {
  ExpectRefused(Generate("enclave {\n"
                         "  struct inner { size_t n; [size=n] char* p; };\n"
                         "  struct outer { struct inner i; };\n"
                         "  trusted { public void f([in] struct outer* x); };\n"
                         "};\n"),
                "t.edl:4:46", "parameter `x` of `f`: struct `outer` contains deep-copy struct `inner` by value");
}

TEST(Generator, SizeOnAPointerToDeepCopyStructsIsRefused) {
  ExpectRefused(Generate("enclave {\n"
                         "  struct inner { size_t n; [size=n] char* p; };\n"
                         "  struct outer { size_t bytes; [size=bytes] struct inner* items; };\n"
                         "  trusted { public void f([in] struct outer* x); };\n"
                         "};\n"),
                "t.edl:3:59", "member `items` of `outer` points to deep-copy struct `inner` and has size=");
}

// A struct returned by value crosses as its bytes: a pointer in it would be a raw address
// from the other side (host-chosen for an ocall, an enclave address for an ecall).
TEST(Generator, StructReturnHoldingAPointerIsRefused) {
  ExpectRefused(Generate("enclave {\n"
                         "  struct view { size_t len; uint8_t* data; };\n"
                         "  untrusted { struct view ocall_view(void); };\n"
                         "};\n"),
                "t.edl:3:27",
                "the return value of `ocall_view`: struct `view` holds pointer `view::data`, which would cross the "
                "boundary as a raw address the receiver cannot check. Return the data through an [out] parameter");
  ExpectRefused(Generate("enclave {\n"
                         "  struct view { size_t len; uint8_t* data; };\n"
                         "  trusted { public struct view ecall_view(void); };\n"
                         "};\n"),
                "t.edl:3:32", "the return value of `ecall_view`: struct `view` holds pointer `view::data`");
  // Nested in a member held by value, in an array member, or in a union.
  ExpectRefused(Generate("enclave {\n"
                         "  struct inner { int* ptrs[2]; };\n"
                         "  struct outer { uint32_t id; struct inner in; };\n"
                         "  untrusted { struct outer o(void); };\n"
                         "};\n"),
                "t.edl:4:28", "struct `outer` holds pointer `inner::ptrs`");
  ExpectRefused(Generate("enclave {\n"
                         "  union u { uint64_t v; char* s; };\n"
                         "  untrusted { union u o(void); };\n"
                         "};\n"),
                "t.edl:3:23", "union `u` holds pointer `u::s`");
  // Structs of plain values still return by value.
  EXPECT_TRUE(Generate("enclave {\n"
                       "  struct point { int x; int y; };\n"
                       "  untrusted { struct point o(void); };\n"
                       "  trusted { public struct point e(void); };\n"
                       "};\n")
                  .ok());
}

TEST(Generator, StructReturnHoldingADeepCopyStructIsRefused) {
  ExpectRefused(Generate("enclave {\n"
                         "  struct buf_t { size_t len; [size=len] uint8_t* data; };\n"
                         "  struct outer { struct buf_t b; };\n"
                         "  untrusted { struct outer o(void); };\n"
                         "};\n"),
                "t.edl:4:28", "the return value of `o`: struct `outer` contains deep-copy struct `buf_t` by value");
}

TEST(Generator, CppKeywordsAreRefused) {
  ExpectRefused(Generate("enclave {\n  trusted { public void f(int new); };\n};\n"), "t.edl:2:31",
                "parameter `new` is a C++ keyword");
}

TEST(Generator, SizeOnIsaryIsRefused) {
  ExpectRefused(Generate("enclave {\n  trusted { public void f([in, isary, size=4] arr_t a); };\n};\n"),
                "t.edl:2:53", "size=/count= cannot be used on [isary] parameter `a` of `f`");
}

// Ecalls of scalars only (C integers, bool, floating point, EDL enums) also take value calls
// (docs/abi.md), and their host proxies send them; anything else goes in frames.
TEST(Generator, OnlyEcallsOfScalarsTakeValueCalls) {
  std::string sixteen, seventeen;
  for (int i = 0; i < 17; ++i) (i < 16 ? sixteen : seventeen) += (i ? ", int p" : "int p") + std::to_string(i);
  seventeen = sixteen + ", int p16";
  const std::string text =
      "enclave {\n"
      "  enum color { red, green };\n"
      "  struct pair { int a; int b; };\n"
      "  trusted {\n"
      "    public int add(int a, unsigned long b);\n"
      "    public bool flag(bool b, enum color c, const uint8_t u);\n"
      "    public void none(void);\n"
      "    public double real(float x, long double y, size_t n, wchar_t w);\n"
      "    public void buffer([in, size=n] const uint8_t* p, size_t n);\n"
      "    public int by_struct(struct pair p);\n"
      "    public struct pair ret_struct(int a);\n"
      "    public my_t foreign(int a);\n"
      "    public int array([in] int a[4]);\n"
      "    public int many(" + sixteen + ");\n"
      "    public int too_many(" + seventeen + ");\n"
      "    int hidden(int a);\n"
      "  };\n"
      "  untrusted { int host(int a); };\n"
      "};\n";
  auto edl = confide::edl::ParseEdlString(text, "t.edl", {});
  ASSERT_TRUE(edl.ok()) << edl.status().message();
  auto m = confide::edl::internal::BuildModel(*edl, CodegenOptions{});
  ASSERT_TRUE(m.ok()) << m.status().message();
  std::set<std::string> values;
  for (const auto& f : m->ecalls)
    if (f.value_call) values.insert(f.fn->name);
  EXPECT_EQ(values, (std::set<std::string>{"add", "flag", "none", "real", "many", "hidden"}));
  for (const auto& f : m->ocalls) EXPECT_FALSE(f.value_call) << f.fn->name;

  auto files = confide::edl::GenerateCode(*edl, CodegenOptions{});
  ASSERT_TRUE(files.ok()) << files.status().message();
  for (const auto& file : *files) {
    if (file.name == "t_u.cc") {
      EXPECT_NE(file.content.find("enclave.CallValues(0u,"), std::string::npos);  // add
      EXPECT_EQ(file.content.find("enclave.CallValues(4u,"), std::string::npos);  // buffer
      // The return value is checked as a frame's would be.
      EXPECT_NE(file.content.find("confide_gen::LoadBool(confide_gen_r, \"reply of ecall 'flag': return value\""),
                std::string::npos);
    }
    if (file.name == "t_t.cc") {
      EXPECT_NE(file.content.find("&confide_gen_values_add, confide_gen_args_add, confide_gen_ret_add}"),
                std::string::npos);
      EXPECT_NE(file.content.find("confide_gen::LoadEnum(confide_gen_a + 0u + sizeof(b), \"ecall 'flag': c\""),
                std::string::npos);
      EXPECT_EQ(file.content.find("confide_gen_values_buffer"), std::string::npos);
    }
  }
}

// ------------------------------------------------------------------ the tool

struct ToolRun {
  int code = -1;
  std::string err;
};

ToolRun Tool(const std::string& args) {
  // One file per test and process: ctest runs this binary's tests concurrently.
  std::string err = ::testing::TempDir() + "codegen_tool_" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
                    std::to_string(getpid()) + ".err";
  std::string cmd = "'" + std::string(CONFIDE_EDGER8R_PATH) + "' " + args + " 2>'" + err + "'";
  int st = std::system(cmd.c_str());
  ToolRun r;
  if (st != -1 && WIFEXITED(st)) r.code = WEXITSTATUS(st);
  std::ifstream in(err);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  return r;
}

std::string Dir(const std::string& name) {
  fs::path d = fs::path(::testing::TempDir()) / ("codegen_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  return d.string();
}

std::set<std::string> Files(const std::string& dir) {
  std::set<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

const std::string kEdl = std::string(CODEGEN_EDL_DIR) + "/codegen_uc.edl";

TEST(Edger8rTool, RefusesUserCheckWithoutTheFlag) {
  std::string d = Dir("uc_refused");
  ToolRun r = Tool("--trusted-dir " + d + "/t --untrusted-dir " + d + "/u " + kEdl);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("codegen_uc.edl:4:49: error: [user_check] on parameter `p` of `peek`"), std::string::npos)
      << r.err;
  EXPECT_TRUE(Files(d + "/t").empty());
  EXPECT_TRUE(Files(d + "/u").empty());
}

TEST(Edger8rTool, GeneratesBothSidesByDefault) {
  std::string d = Dir("both");
  ToolRun r = Tool("--allow-user-check --trusted-dir " + d + "/t --untrusted-dir " + d + "/u " + kEdl);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Files(d + "/t"), (std::set<std::string>{"codegen_uc_t.h", "codegen_uc_t.cc"}));
  EXPECT_EQ(Files(d + "/u"), (std::set<std::string>{"codegen_uc_u.h", "codegen_uc_u.cc"}));
}

TEST(Edger8rTool, TrustedUntrustedAndHeaderOnly) {
  std::string d = Dir("sides");
  ToolRun r = Tool("--allow-user-check --trusted --header-only --trusted-dir " + d + "/t --untrusted-dir " + d + "/u " +
               kEdl);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Files(d + "/t"), (std::set<std::string>{"codegen_uc_t.h"}));
  EXPECT_TRUE(Files(d + "/u").empty());
  r = Tool("--allow-user-check --untrusted --untrusted-dir " + d + "/u2 " + kEdl);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Files(d + "/u2"), (std::set<std::string>{"codegen_uc_u.h", "codegen_uc_u.cc"}));
}

}  // namespace
