// Positive tests: our own EDL files in tests/edl/data, written to cover the constructs of
// Intel's and OE's EDL, parsed into the AST that these tests check field by field.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include "confide/edl.h"

namespace confide::edl {
namespace {

const std::string kData = CONFIDE_EDL_DATA;

const Function& Fn(const Edl& edl, const std::string& name) {
  const Function* f = edl.FindFunction(name);
  if (!f) {
    ADD_FAILURE() << "function " << name << " not found";
    static Function empty;
    return empty;
  }
  return *f;
}

const Declaration& Param(const Function& f, const std::string& name) {
  const Declaration* d = f.FindParam(name);
  if (!d) {
    ADD_FAILURE() << f.name << " has no parameter " << name;
    static Declaration empty;
    return empty;
  }
  return *d;
}

std::vector<std::string> Names(const std::vector<Function>& fs) {
  std::vector<std::string> n;
  for (const Function& f : fs) n.push_back(f.name);
  return n;
}

Result<Edl> ParseText(std::string_view text, ParseOptions options = {}) {
  return ParseEdlString(text, "mem.edl", options);
}

class IntelStyleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = ParseEdlFile(kData + "/intel_style.edl", std::vector<std::string>{kData});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    edl_ = std::move(r).value();
  }
  Edl edl_;
};

TEST_F(IntelStyleTest, FileLevelDeclarations) {
  EXPECT_EQ(edl_.name, "intel_style");
  EXPECT_EQ(edl_.includes,
            (std::vector<std::string>{"widget_types.h", "stdint.h", "trusted_only.h"}));
  ASSERT_EQ(edl_.types.size(), 3u);
  EXPECT_EQ(edl_.types[0].kind, UserType::Kind::kStruct);
  EXPECT_EQ(edl_.types[0].name, "point_t");
  ASSERT_EQ(edl_.types[0].fields.size(), 2u);
  EXPECT_EQ(edl_.types[0].fields[1].name, "y");
  EXPECT_EQ(edl_.types[0].fields[1].type.base, BaseType::kInt32);
  EXPECT_FALSE(edl_.types[0].IsDeepCopy());
  EXPECT_EQ(edl_.types[1].kind, UserType::Kind::kEnum);
  ASSERT_EQ(edl_.types[1].items.size(), 2u);
  EXPECT_EQ(edl_.types[1].items[1].name, "SHADE_LIGHT");
  EXPECT_EQ(edl_.types[1].items[1].value, 1);
  EXPECT_EQ(edl_.types[2].kind, UserType::Kind::kUnion);
  EXPECT_EQ(edl_.types[2].fields[1].type.base, BaseType::kUInt64);
  // Two trusted blocks merge; own functions come before imported ones.
  EXPECT_EQ(edl_.trusted.back().name, "ecall_second_block");
  std::vector<std::string> ocalls = Names(edl_.untrusted);
  ASSERT_EQ(ocalls.size(), 10u);
  EXPECT_EQ(ocalls[8], "lib_wait_ocall");
  EXPECT_EQ(ocalls[9], "lib_wake_many_ocall");
  // Imported by name: the other ocall of intel_lib.edl stays out.
  EXPECT_EQ(edl_.FindFunction("lib_wake_ocall"), nullptr);
  EXPECT_EQ(edl_.files.size(), 2u);
  EXPECT_TRUE(edl_.warnings.size() == 1 &&
              edl_.warnings[0].find("`ecall_returns_pointer` returns a pointer") != std::string::npos)
      << ::testing::PrintToString(edl_.warnings);
}

TEST_F(IntelStyleTest, ScalarTypes) {
  const Function& f = Fn(edl_, "ecall_scalars");
  ASSERT_EQ(f.params.size(), 24u);
  struct Want {
    const char* name;
    BaseType base;
    bool is_unsigned;
    const char* spelling;
  };
  const Want wants[] = {
      {"c", BaseType::kChar, false, "char"},
      {"uc", BaseType::kChar, true, "unsigned char"},
      {"us", BaseType::kShort, true, "unsigned short"},
      {"u", BaseType::kInt, true, "unsigned int"},
      {"ui", BaseType::kInt, true, "unsigned int"},
      {"l", BaseType::kLong, false, "long"},
      {"ul", BaseType::kLong, true, "unsigned long"},
      {"ll", BaseType::kLongLong, false, "long long"},
      {"ull", BaseType::kLongLong, true, "unsigned long long"},
      {"ld", BaseType::kLongDouble, false, "long double"},
      {"sz", BaseType::kSizeT, false, "size_t"},
      {"wc", BaseType::kWChar, false, "wchar_t"},
      {"i8", BaseType::kInt8, false, "int8_t"},
      {"u64", BaseType::kUInt64, false, "uint64_t"},
  };
  for (const Want& w : wants) {
    const Declaration& d = Param(f, w.name);
    EXPECT_EQ(d.type.base, w.base) << w.name;
    EXPECT_EQ(d.type.is_unsigned, w.is_unsigned) << w.name;
    EXPECT_EQ(d.type.ToString(), w.spelling) << w.name;
    EXPECT_EQ(d.type.pointer_depth, 0);
    EXPECT_FALSE(d.attrs.present);
  }
  EXPECT_EQ(f.return_type.base, BaseType::kVoid);
  EXPECT_TRUE(f.is_public);
  EXPECT_TRUE(f.is_trusted);
}

TEST_F(IntelStyleTest, CompositeTypesAndLocations) {
  const Function& f = Fn(edl_, "ecall_composites");
  EXPECT_EQ(Param(f, "p").type.ToString(), "struct point_t");
  EXPECT_EQ(Param(f, "e").type.base, BaseType::kEnum);
  EXPECT_EQ(Param(f, "e").type.name, "shade_t");
  const Declaration& n = Param(f, "n");
  EXPECT_EQ(n.type.ToString(), "union number_t*");
  EXPECT_TRUE(n.attrs.user_check);
  EXPECT_EQ(n.attrs.direction, Direction::kNone);
  // Locations point at the name: "ecall_composites" on line 33 after 20 columns of indent.
  EXPECT_EQ(f.location.line, 33);
  EXPECT_EQ(f.location.column, 21);
  EXPECT_EQ(n.location.line, 34);
  EXPECT_EQ(n.location.column, 67);
}

TEST_F(IntelStyleTest, PointerAttributes) {
  EXPECT_EQ(Param(Fn(edl_, "ecall_in"), "v").attrs.direction, Direction::kIn);
  EXPECT_EQ(Param(Fn(edl_, "ecall_out"), "v").attrs.direction, Direction::kOut);
  EXPECT_EQ(Param(Fn(edl_, "ecall_in_out"), "v").attrs.direction, Direction::kInOut);

  const Declaration& s = Param(Fn(edl_, "ecall_const_string"), "s");
  EXPECT_TRUE(s.attrs.string);
  EXPECT_TRUE(s.type.is_const);
  EXPECT_EQ(s.type.ToString(), "const char*");
  const Declaration& ios = Param(Fn(edl_, "ecall_in_out_string"), "s");
  EXPECT_TRUE(ios.attrs.string);
  EXPECT_EQ(ios.attrs.direction, Direction::kInOut);
  const Declaration& ws = Param(Fn(edl_, "ecall_wide"), "ws");
  EXPECT_TRUE(ws.attrs.wstring);
  EXPECT_FALSE(ws.attrs.string);

  const Declaration& buf = Param(Fn(edl_, "ecall_size"), "buf");
  EXPECT_EQ(buf.attrs.size.kind, SizeSpec::Kind::kName);
  EXPECT_EQ(buf.attrs.size.name, "len");
  EXPECT_FALSE(buf.attrs.count.present());
  const Declaration& arr = Param(Fn(edl_, "ecall_count"), "arr");
  EXPECT_EQ(arr.attrs.count.name, "cnt");
  const Declaration& items = Param(Fn(edl_, "ecall_count_size"), "items");
  EXPECT_EQ(items.attrs.count.name, "n");
  EXPECT_EQ(items.attrs.size.name, "each");
  EXPECT_EQ(items.type.base, BaseType::kForeign);
  EXPECT_EQ(items.type.name, "blob_t");
  const Declaration& key = Param(Fn(edl_, "ecall_fixed_size"), "key");
  EXPECT_EQ(key.attrs.size.kind, SizeSpec::Kind::kNumber);
  EXPECT_EQ(key.attrs.size.number, 64u);

  const Declaration& ro = Param(Fn(edl_, "ecall_isptr_readonly"), "buf");
  EXPECT_TRUE(ro.attrs.isptr);
  EXPECT_TRUE(ro.attrs.readonly);
  EXPECT_EQ(ro.type.pointer_depth, 0);
  const Declaration& ia = Param(Fn(edl_, "ecall_isary"), "v");
  EXPECT_TRUE(ia.attrs.isary);
  EXPECT_TRUE(ia.attrs.user_check);
  const Declaration& raw = Param(Fn(edl_, "ecall_user_check"), "raw");
  EXPECT_TRUE(raw.attrs.user_check);
  EXPECT_EQ(raw.type.ToString(), "void*");

  const Declaration& pp = Param(Fn(edl_, "ocall_ptr_ptr"), "addr");
  EXPECT_EQ(pp.type.pointer_depth, 2);
  EXPECT_EQ(pp.attrs.direction, Direction::kInOut);
  const Declaration& waiters = Param(Fn(edl_, "lib_wake_many_ocall"), "waiters");
  EXPECT_EQ(waiters.type.ToString(), "const void**");
  EXPECT_EQ(waiters.attrs.count.name, "total");
}

TEST_F(IntelStyleTest, FixedArrays) {
  const Declaration& a = Param(Fn(edl_, "ecall_array_in"), "arr");
  ASSERT_EQ(a.dims.size(), 1u);
  EXPECT_EQ(a.dims[0].value, 4u);
  EXPECT_EQ(a.attrs.direction, Direction::kIn);
  const Declaration& m = Param(Fn(edl_, "ecall_array_matrix"), "m");
  ASSERT_EQ(m.dims.size(), 2u);
  EXPECT_EQ(m.dims[0].value, 3u);
  EXPECT_EQ(m.dims[1].value, 4u);
  EXPECT_EQ(m.type.base, BaseType::kDouble);
  EXPECT_TRUE(Param(Fn(edl_, "ecall_array_user_check"), "arr").attrs.user_check);
}

TEST_F(IntelStyleTest, FunctionLevelAttributes) {
  EXPECT_FALSE(Fn(edl_, "ecall_private").is_public);
  EXPECT_FALSE(Fn(edl_, "ecall_reentry_only").is_public);
  EXPECT_TRUE(Fn(edl_, "ecall_fast").transition_using_threads);
  EXPECT_FALSE(Fn(edl_, "ecall_in").transition_using_threads);

  const Function& reenter = Fn(edl_, "ocall_reenter");
  EXPECT_EQ(reenter.allow, (std::vector<std::string>{"ecall_reentry_only", "ecall_private"}));
  ASSERT_EQ(reenter.allow_locations.size(), 2u);
  EXPECT_EQ(reenter.allow_locations[1].line, 67);
  EXPECT_FALSE(reenter.is_trusted);

  EXPECT_EQ(Fn(edl_, "ocall_print").calling_convention, CallingConvention::kCdecl);
  EXPECT_EQ(Fn(edl_, "ocall_win").calling_convention, CallingConvention::kStdcall);
  EXPECT_TRUE(Fn(edl_, "ocall_win").dllimport);
  EXPECT_EQ(Fn(edl_, "ocall_fast_conv").calling_convention, CallingConvention::kFastcall);
  EXPECT_TRUE(Fn(edl_, "ocall_errno").propagate_errno);
  EXPECT_FALSE(Fn(edl_, "ocall_errno").transition_using_threads);
  for (const char* n : {"ocall_both", "ocall_both_reversed"}) {
    EXPECT_TRUE(Fn(edl_, n).propagate_errno) << n;
    EXPECT_TRUE(Fn(edl_, n).transition_using_threads) << n;
  }
  EXPECT_EQ(Fn(edl_, "ecall_foreign_return").return_type.ToString(), "handle_t");
  EXPECT_EQ(Fn(edl_, "ecall_returns_pointer").return_type.ToString(), "point_t*");
}

class OeStyleTest : public ::testing::Test {
 protected:
  Result<Edl> Parse(std::vector<std::string> defines) {
    ParseOptions o;
    o.search_paths = {kData, kData + "/lib/sub"};
    o.defines = std::move(defines);
    return ParseEdlFile(kData + "/oe_style.edl", o);
  }
};

TEST_F(OeStyleTest, ConditionalImportsFollowDefines) {
  auto sgx = Parse({"CONFIDE_TEST_SGX"});
  ASSERT_TRUE(sgx.ok()) << sgx.status().ToString();
  EXPECT_NE(sgx->FindFunction("sgx_only_ocall"), nullptr);
  EXPECT_EQ(sgx->FindFunction("other_only_ocall"), nullptr);
  auto other = Parse({});
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(other->FindFunction("sgx_only_ocall"), nullptr);
  EXPECT_NE(other->FindFunction("other_only_ocall"), nullptr);
}

TEST_F(OeStyleTest, ImportsThroughSearchPaths) {
  auto r = Parse({});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // lib/logging.edl is read once although two files import from it; platform.edl found in
  // the second search path imports log_flush_ocall, which `import *` passes on.
  EXPECT_NE(r->FindFunction("log_ocall"), nullptr);
  EXPECT_NE(r->FindFunction("log_flush_ocall"), nullptr);
  EXPECT_NE(r->FindFunction("platform_init_ecall"), nullptr);
  EXPECT_EQ(std::count_if(r->files.begin(), r->files.end(),
                          [](const std::string& f) { return f.find("logging.edl") != std::string::npos; }),
            1);
  EXPECT_EQ(r->includes, (std::vector<std::string>{"logging_types.h", "platform_types.h"}));
  EXPECT_NE(r->FindType("platform_kind"), nullptr);
}

TEST_F(OeStyleTest, EnumExpressions) {
  auto r = Parse({});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const UserType* e = r->FindType("limits");
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->items.size(), 6u);
  EXPECT_EQ(e->items[0].value, 32);
  EXPECT_EQ(e->items[1].value, 12);  // 32 / 2 - 4
  EXPECT_EQ(e->items[1].value_text, "KEY_BYTES / 2 - 4");
  EXPECT_EQ(e->items[2].value, 19);  // (1 << 4) | 0x3
  EXPECT_EQ(e->items[3].value, 20);  // implicit: previous + 1
  EXPECT_EQ(e->items[4].value, -32);
  EXPECT_FALSE(e->items[5].value.has_value());  // names a macro from a C header
  EXPECT_EQ(e->items[5].value_text, "SOME_HEADER_MACRO + 1");
}

TEST_F(OeStyleTest, DeepCopyStructsAndNamedDims) {
  auto r = Parse({});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const UserType* buffer = r->FindType("buffer_t");
  ASSERT_NE(buffer, nullptr);
  EXPECT_TRUE(buffer->IsDeepCopy());
  EXPECT_EQ(buffer->fields[1].attrs.size.name, "size");
  const UserType* record = r->FindType("record_t");
  ASSERT_NE(record, nullptr);
  EXPECT_TRUE(record->IsDeepCopy());
  EXPECT_EQ(record->fields[1].attrs.count.name, "count");
  EXPECT_EQ(record->fields[1].type.ToString(), "buffer_t*");
  EXPECT_EQ(record->fields[2].dims[0].value, 16u);
  const UserType* nested = r->FindType("nested_t");
  ASSERT_NE(nested, nullptr);
  EXPECT_FALSE(nested->IsDeepCopy());
  EXPECT_EQ(nested->fields[1].type.ToString(), "struct nested_t*");

  const Function& check = Fn(*r, "enc_check");
  EXPECT_EQ(check.return_type.base, BaseType::kBool);
  const Declaration& iv = Param(check, "iv");
  ASSERT_EQ(iv.dims.size(), 1u);
  EXPECT_EQ(iv.dims[0].name, "IV_BYTES");
  EXPECT_TRUE(iv.dims[0].resolved);
  EXPECT_EQ(iv.dims[0].value, 12u);
  const Declaration& tag = Param(check, "tag");
  EXPECT_EQ(tag.dims[0].name, "TAG_BYTES");
  EXPECT_FALSE(tag.dims[0].resolved);
  EXPECT_EQ(Param(Fn(*r, "enc_matrix"), "m").dims.size(), 3u);
  EXPECT_EQ(Param(Fn(*r, "enc_count_enum"), "values").attrs.count.name, "n");
  EXPECT_TRUE(Fn(*r, "host_report").transition_using_threads);
  EXPECT_TRUE(Fn(*r, "host_errno_call").propagate_errno);
  EXPECT_TRUE(Param(Fn(*r, "host_errno_call"), "code").type.is_const);
}

TEST(EdlImports, DiamondIsDeduplicated) {
  auto r = ParseEdlFile(kData + "/imports/diamond_top.edl", std::vector<std::string>{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Names(r->trusted), (std::vector<std::string>{"left_ecall", "base_ecall", "base_other_ecall",
                                                         "right_ecall"}));
  EXPECT_EQ(Names(r->untrusted), (std::vector<std::string>{"base_ocall"}));
  EXPECT_EQ(r->types.size(), 1u);
  EXPECT_EQ(r->includes, (std::vector<std::string>{"base.h"}));
  EXPECT_EQ(r->files.size(), 4u);
}

TEST(EdlImports, NameReachableThroughAnImportIsFound) {
  auto r = ParseEdlFile(kData + "/imports/nested_lookup.edl", std::vector<std::string>{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Names(r->trusted), (std::vector<std::string>{"base_other_ecall"}));
}

TEST(EdlImports, AllowMayNameAnEcallOfTheImporter) {
  auto r = ParseEdlFile(kData + "/imports/allow_imported.edl", std::vector<std::string>{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Fn(*r, "lib_ocall").allow, (std::vector<std::string>{"callback_ecall"}));
  EXPECT_TRUE(r->warnings.empty()) << ::testing::PrintToString(r->warnings);
}

TEST(EdlImports, RootFoundThroughSearchPath) {
  auto r = ParseEdlFile("intel_lib.edl", std::vector<std::string>{"/nonexistent-dir", kData});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->untrusted.size(), 3u);
}

TEST(EdlSyntax, CommentsAndOptionalPunctuation) {
  auto r = ParseText(R"(enclave { // line comment
    /* comment */ struct s { int a; int b /* last member without ';' as OE allows */ };
    enum { ANON_A, ANON_B, };
    trusted { public void f(); };
  })");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->types[0].fields.size(), 2u);
  EXPECT_EQ(r->types[1].name, "");
  EXPECT_EQ(r->types[1].items[1].value, 1);
  EXPECT_TRUE(Fn(*r, "f").params.empty());
}

TEST(EdlSyntax, NestedConditionals) {
  const char* text = R"(enclave {
#ifdef A
#  ifndef B
    trusted { public void a_not_b(); };
#  else
    trusted { public void a_and_b(); };
#  endif
#else
    trusted { public void not_a(); };  /* "#endif" in a comment or "#else" string is no directive */
#endif
  };)";
  ParseOptions o;
  auto none = ParseText(text, o);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(Names(none->trusted), (std::vector<std::string>{"not_a"}));
  o.defines = {"A"};
  auto a = ParseText(text, o);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(Names(a->trusted), (std::vector<std::string>{"a_not_b"}));
  o.defines = {"A", "B"};
  auto ab = ParseText(text, o);
  ASSERT_TRUE(ab.ok()) << ab.status().ToString();
  EXPECT_EQ(Names(ab->trusted), (std::vector<std::string>{"a_and_b"}));
}

TEST(EdlSyntax, DirectiveInsideALineAsOeAllows) {
  ParseOptions o;
  o.defines = {"X"};
  auto r = ParseText("enclave { trusted # ifdef X\n { public void f(int a #ifdef Y , int b #endif); # endif\n }; };",
                     o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Fn(*r, "f").params.size(), 1u);
}

TEST(EdlSyntax, PrivateEcallNotAllowedAnywhereWarns) {
  auto r = ParseText("enclave { trusted { public void pub(); void lonely(); }; };");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0],
            "mem.edl:1:45: warning: private ecall `lonely` is not named in any allow(...) list, so "
            "nothing can call it");
}

TEST(EdlSyntax, SignedSizeParameterWarns) {
  auto r = ParseText("enclave { trusted { public void f([in, count=n] int* p, int n); }; };");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("mem.edl:1:46: warning: count=n: parameter `n` has signed type `int`"),
            std::string::npos)
      << r->warnings[0];
}

TEST(EdlJson, DumpCarriesTheAst) {
  auto r = ParseEdlFile(kData + "/intel_style.edl", std::vector<std::string>{kData});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto j = nlohmann::json::parse(EdlToJson(*r));
  EXPECT_EQ(j["name"], "intel_style");
  const auto& trusted = j["trusted"];
  auto it = std::find_if(trusted.begin(), trusted.end(),
                         [](const nlohmann::json& f) { return f["name"] == "ecall_count_size"; });
  ASSERT_NE(it, trusted.end());
  const auto& items = (*it)["params"][0];
  EXPECT_EQ(items["name"], "items");
  EXPECT_EQ(items["type"]["spelling"], "blob_t*");
  EXPECT_EQ(items["attributes"]["direction"], "out");
  EXPECT_EQ(items["attributes"]["count"], "n");
  EXPECT_EQ(items["attributes"]["size"], "each");
  EXPECT_EQ((*it)["public"], true);
  auto ocall = std::find_if(j["untrusted"].begin(), j["untrusted"].end(),
                            [](const nlohmann::json& f) { return f["name"] == "ocall_reenter"; });
  ASSERT_NE(ocall, j["untrusted"].end());
  EXPECT_EQ((*ocall)["allow"], (std::vector<std::string>{"ecall_reentry_only", "ecall_private"}));
  EXPECT_EQ(j["types"][1]["items"][1]["value"], 1);
}

}  // namespace
}  // namespace confide::edl
