// Negative tests: each rule's exact location and a distinctive part of its message.
#include <gtest/gtest.h>

#include <string>

#include "confide/edl.h"

namespace confide::edl {
namespace {

const std::string kData = CONFIDE_EDL_DATA;

struct ErrorCase {
  const char* name;
  const char* text;
  const char* location;  // "line:col"
  const char* message;   // substring after "error: "
};

// Each case is a whole EDL file named t.edl. Keep the offending token's column easy to
// count: most cases are one line.
const ErrorCase kCases[] = {
    // ---- lexical ----
    {"UnterminatedComment", "enclave {\n  /* never closed\n};", "2:3", "unterminated comment"},
    {"UnterminatedString", "enclave { include \"abc.h\n };", "1:19", "unterminated string"},
    {"BadCharacter", "enclave { trusted { public void f(int a$); }; };", "1:40", "unexpected character '$'"},
    {"NumberTooLarge", "enclave { enum e { A = 99999999999999999999 }; };", "1:24", "does not fit in 64 bits"},
    {"MalformedNumber", "enclave { enum e { A = 12ab }; };", "1:24", "malformed number `12a`"},
    {"UnknownDirective", "#include \"x.h\"\nenclave { };", "1:1", "unsupported preprocessor directive `#include`"},
    {"UnclosedIfdef", "enclave {\n#ifdef X\n};", "2:1", "#ifdef is not closed by #endif"},
    {"StrayEndif", "enclave {\n#endif\n};", "2:1", "#endif without a matching #ifdef"},
    {"DoubleElse", "#ifdef A\n#else\n#else\n#endif", "3:1", "#else without a matching #ifdef"},
    // ---- syntax ----
    {"MissingEnclave", "trusted { };", "1:1", "expected `enclave`, got `trusted`"},
    {"ExpectedSemicolonAfterFunction", "enclave { trusted { public void f() }; };", "1:37",
     "expected `;` after the declaration of `f`, got `}`"},
    {"ExpectedTypeGotNumber", "enclave { trusted { public 42 f(); }; };", "1:28", "expected a type, got 42"},
    {"UnknownBodyItem", "enclave { function f(); };", "1:11",
     "expected `trusted`, `untrusted`, `include`, `from`, `import`, `struct`, `union` or `enum` in the enclave body, got `function`"},
    {"MissingBlockSemicolon", "enclave { trusted { public void f(); } };", "1:40", "expected `;`, got `}`"},
    {"GarbageAfterEnclave", "enclave { }; trusted", "1:14", "expected end of file after `enclave { ... };`, got `trusted`"},
    {"EofInBody", "enclave { trusted { public void f(); };", "1:40", "expected `}` to close `enclave {`, got end of file"},
    {"ParamListSeparator", "enclave { trusted { public void f(int a int b); }; };", "1:41",
     "expected `,` or `)` in the parameter list of `f`, got `int`"},
    {"EmptyAttributeList", "enclave { trusted { public void f([] int* p); }; };", "1:35", "empty attribute list `[]`"},
    {"AttributeSeparator", "enclave { trusted { public void f([in out] int* p); }; };", "1:39",
     "expected `,` or `]` in the attribute list, got `out`"},
    {"SizeWithoutValue", "enclave { trusted { public void f([in, size] int* p); }; };", "1:44", "expected `=` after `size`"},
    {"FlagWithValue", "enclave { trusted { public void f([in=1] int* p); }; };", "1:38", "attribute `in` takes no value"},
    {"FlexibleArray", "enclave { trusted { public void f([in] int a[]); }; };", "1:45", "flexible array `[]` is not supported"},
    {"ZeroArray", "enclave { trusted { public void f([in] int a[0]); }; };", "1:46", "zero-length array `[0]`"},
    {"UnsignedFloat", "enclave { trusted { public void f(unsigned float x); }; };", "1:44",
     "`unsigned` must be followed by char, short, int or long"},
    {"EmptyStruct", "enclave { struct s { }; };", "1:18", "struct `s` has no members"},
    {"SwitchlessIsNotAKeyword", "enclave { untrusted { void o() switchless; }; };", "1:32",
     "`switchless` is not an EDL keyword; Intel's and OE's edger8r both spell it `transition_using_threads`"},
    {"PublicOnOcall", "enclave { untrusted { public void o(); }; };", "1:23", "`public` is only valid on trusted functions"},
    {"AllowOnEcall", "enclave { trusted { public void f() allow(g); }; };", "1:37",
     "allow(...) is only valid on untrusted functions (ocalls)"},
    {"PropagateErrnoOnEcall", "enclave { trusted { public void f() propagate_errno; }; };", "1:37",
     "`propagate_errno` is only valid on untrusted functions"},
    {"FunctionAttributeOnEcall", "enclave { trusted { [cdecl] void f(); }; };", "1:21",
     "function attributes such as [cdecl] are only valid on untrusted functions"},
    {"UnknownFunctionAttribute", "enclave { untrusted { [naked] void o(); }; };", "1:24",
     "unknown function attribute `naked`"},
    {"TwoCallingConventions", "enclave { untrusted { [cdecl, stdcall] void o(); }; };", "1:31",
     "more than one calling convention"},
    {"EnumExpressionDivByZero", "enclave { enum e { A = 4 / (2 - 2) }; };", "1:26", "division by zero in a constant expression"},
    {"EnumExpressionBadShift", "enclave { enum e { A = 1 << 64 }; };", "1:26", "shift by 64 is out of range"},
    {"EnumExpressionSyntax", "enclave { enum e { A = 1 + }; };", "1:28", "constant expression ends too early"},
    {"NonPositiveDimension", "enclave { enum e { N = -2 }; trusted { public void f([in] int a[N]); }; };", "1:65",
     "array dimension `N` is -2"},
    // ---- attributes ----
    {"UnknownAttribute", "enclave { trusted { public void f([in, fast] int* p); }; };", "1:40",
     "unknown attribute `fast`; expected one of in, out, size, count"},
    {"SizefuncIsObsolete", "enclave { trusted { public void f([in, sizefunc=g] int* p); }; };", "1:40",
     "attribute `sizefunc` is obsolete"},
    {"DuplicatedAttribute", "enclave { trusted { public void f([in, count=1, count=2] int* p); }; };", "1:49",
     "duplicated attribute `count`"},
    {"InOnValue", "enclave { trusted { public void f([in] int v); }; };", "1:44",
     "[in]/[out] only apply to pointers and arrays; parameter `v` of type `int` is passed by value"},
    {"OutOnForeignValue", "enclave { trusted { public void f([out] handle_t h); }; };", "1:50",
     "parameter `h` of type `handle_t` is passed by value"},
    {"SizeOnValue", "enclave { trusted { public void f([size=4] int v); }; };", "1:48",
     "size=/count= only apply to pointers and arrays"},
    {"UserCheckOnValue", "enclave { trusted { public void f([user_check] int v); }; };", "1:52",
     "[user_check] only applies to pointers and arrays"},
    {"PointerWithoutDirection", "enclave { trusted { public void f(int* p); }; };", "1:40",
     "pointer parameter `p` of type `int*` needs a direction ([in], [out] or [in, out]) or [user_check]"},
    {"ArrayWithoutDirection", "enclave { trusted { public void f(int a[4]); }; };", "1:39",
     "array parameter `a` of type `int` needs a direction"},
    {"UserCheckWithDirection", "enclave { trusted { public void f([in, user_check] int* p); }; };", "1:57",
     "[user_check] and a direction ([in]/[out]) are mutually exclusive"},
    {"SizeWithUserCheck", "enclave { trusted { public void f([user_check, size=4] int* p); }; };", "1:61",
     "size=/count= on parameter `p` need a direction ([in], [out] or [in, out]); with [user_check] nothing is copied"},
    {"OutString", "enclave { trusted { public void f([out, string] char* s); }; };", "1:55",
     "[out, string] is not allowed on parameter `s`"},
    {"OutWstring", "enclave { trusted { public void f([out, wstring] wchar_t* s); }; };", "1:59",
     "[out, wstring] is not allowed on parameter `s`"},
    {"StringOnIntPointer", "enclave { trusted { public void f([in, string] int* s); }; };", "1:53",
     "[string] needs a char pointer, but parameter `s` has type `int*`"},
    {"StringOnCharValue", "enclave { trusted { public void f([string] char c); }; };", "1:49",
     "[string] needs a char pointer, but parameter `c` has type `char`"},
    {"WstringOnCharPointer", "enclave { trusted { public void f([in, wstring] char* s); }; };", "1:55",
     "[wstring] needs a wchar_t pointer, but parameter `s` has type `char*`"},
    {"StringWithoutDirection", "enclave { trusted { public void f([string] char* s); }; };", "1:50",
     "[string] on parameter `s` needs [in] or [in, out]"},
    {"StringWithSize", "enclave { trusted { public void f([in, string, size=4] char* s); }; };", "1:62",
     "size=/count= cannot be combined with [string]"},
    {"StringAndWstring", "enclave { trusted { public void f([in, string, wstring] char* s); }; };", "1:63",
     "[string] and [wstring] are mutually exclusive"},
    {"IsptrOnBuiltin", "enclave { trusted { public void f([in, isptr] int p); }; };", "1:51",
     "[isptr] only applies to a user-defined type name"},
    {"IsaryOnPointer", "enclave { trusted { public void f([in, isary] my_t* p); }; };", "1:53",
     "[isary] only applies to a user-defined type name"},
    {"IsptrAndIsary", "enclave { trusted { public void f([in, isptr, isary] my_t p); }; };", "1:59",
     "[isptr] and [isary] cannot be used together"},
    {"ReadonlyWithoutIsptr", "enclave { trusted { public void f([in, readonly] my_t* p); }; };", "1:56",
     "[readonly] is only valid together with [isptr]"},
    {"ReadonlyOut", "enclave { trusted { public void f([out, isptr, readonly] my_t p); }; };", "1:63",
     "[readonly] parameter `p` cannot be [out]"},
    {"PointerArray", "enclave { trusted { public void f([in] int* a[4]); }; };", "1:45",
     "parameter `a` is an array of pointers"},
    {"SizeOnFixedArray", "enclave { trusted { public void f([in, count=2] int a[4]); }; };", "1:53",
     "size=/count= cannot be used on parameter `a`, which is declared as a fixed-size array"},
    {"VoidPointerWithoutSize", "enclave { trusted { public void f([in] void* p); }; };", "1:46",
     "void pointer parameter `p` needs size= (a byte count)"},
    {"VoidParameter", "enclave { trusted { public void f(void v); }; };", "1:40", "parameter `v` has type void"},
    // ---- size= / count= references ----
    {"SizeNamesUnknownParameter", "enclave { trusted { public void f([in, size=len] void* p, size_t n); }; };", "1:45",
     "size=len: function `f` has no parameter named `len`"},
    {"CountNamesFloatParameter", "enclave { trusted { public void f([in, count=n] int* p, float n); }; };", "1:46",
     "count=n: parameter `n` has type `float`, but a size or count must be an integer"},
    {"SizeNamesPointerParameter", "enclave { trusted { public void f([in, size=n] int* p, [in] size_t* n); }; };", "1:45",
     "size=n: parameter `n` is a pointer (`size_t*`), but a size or count must be an integer"},
    {"SizeNamesStructParameter",
     "enclave { struct s { int a; }; trusted { public void f([in, size=n] int* p, s n); }; };", "1:66",
     "size=n: parameter `n` has type `s`, but a size or count must be an integer"},
    {"SizeNamesArrayParameter", "enclave { trusted { public void f([in, size=n] int* p, [in] size_t n[2]); }; };",
     "1:45", "size=n: parameter `n` is an array"},
    {"SizeNamesItself", "enclave { trusted { public void f([in, size=p] int* p); }; };", "1:45",
     "size=p: parameter `p` is a pointer"},
    // ---- structs and unions ----
    {"DirectionOnMember", "enclave { struct s { [in] int* p; }; };", "1:23",
     "only size= and count= are allowed on struct members, not `in`"},
    {"AttributeOnUnionMember", "enclave { union u { [size=4] int* p; }; };", "1:22",
     "attributes are not allowed on union members (`size`)"},
    {"MemberSizeUnknown", "enclave { struct s { [count=n] int* p; size_t m; }; };", "1:29",
     "count=n: struct `s` has no member named `n`"},
    {"MemberSizeNotInteger", "enclave { struct s { [size=d] int* p; double d; }; };", "1:28",
     "size=d: member `d` has type `double`, but a size or count must be an integer"},
    {"DeepCopyOnNonPointer", "enclave { struct s { [size=4] int v; }; };", "1:35",
     "member `v` has size=/count= (deep copy) but is not a pointer"},
    {"DuplicateMember", "enclave { struct s { int a; long a; }; };", "1:34", "member `a` is declared twice in `s`"},
    {"DeepCopyStructByValue",
     "enclave { struct s { size_t n; [count=n] int* p; }; trusted { public void f(s v); }; };", "1:79",
     "struct `s` has size=/count= members (deep copy), so parameter `v` must be passed by pointer"},
    // A deep-copy struct returned by value would carry the callee's pointer and length raw.
    {"DeepCopyStructReturnedFromOcall",
     "enclave { struct buf_t { size_t len; [size=len] uint8_t* data; }; untrusted { buf_t ocall_get_buf(void); }; };",
     "1:85",
     "struct `buf_t` has size=/count= members (deep copy), so `ocall_get_buf` cannot return it by value; "
     "pass it through an [in, out] pointer parameter instead"},
    {"DeepCopyStructReturnedFromEcall",
     "enclave { struct s { size_t n; [count=n] int* p; }; trusted { public struct s f(void); }; };", "1:79",
     "struct `s` has size=/count= members (deep copy), so `f` cannot return it by value"},
    {"SizeOnDeepCopyPointer",
     "enclave { struct s { size_t n; [count=n] int* p; }; trusted { public void f([in, size=8] s* v); }; };",
     "1:93", "size= cannot be used on parameter `v`, a pointer to deep-copy struct `s`; use count="},
    // ---- names ----
    {"DuplicateFunction", "enclave { trusted { public void f(); };\n untrusted { void f(); }; };", "2:19",
     "function `f` is declared twice: first at t.edl:1:33"},
    {"DuplicateParameter", "enclave { trusted { public void f(int a, int a); }; };", "1:46",
     "parameter `a` is declared twice in `f`"},
    {"DuplicateType", "enclave { struct s { int a; }; enum s { X }; };", "1:32", "type `s` is defined twice"},
    {"DuplicateEnumerator", "enclave { enum a { X }; enum b { Y, X }; };", "1:37", "enum constant `X` is defined twice: at t.edl:1:20 and at t.edl:1:37"},
    {"AllowUnknownEcall", "enclave { trusted { public void f(); }; untrusted { void o() allow(f, g); }; };", "1:71",
     "allow(g) in `o`: no ecall named `g` is declared or imported"},
    {"AllowNamesAnOcall", "enclave { untrusted { void o() allow(p); void p(); }; };", "1:38",
     "allow(p) in `o`: `p` is an ocall; allow lists name ecalls"},
};

class EdlErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(EdlErrorTest, ReportsLocationAndMessage) {
  const ErrorCase& c = GetParam();
  auto r = ParseEdlString(c.text, "t.edl", {});
  ASSERT_FALSE(r.ok()) << "accepted: " << c.text;
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  const std::string& m = r.status().message();
  std::string prefix = std::string("t.edl:") + c.location + ": error: ";
  EXPECT_EQ(m.substr(0, prefix.size()), prefix) << m;
  EXPECT_NE(m.find(c.message), std::string::npos) << m;
}

INSTANTIATE_TEST_SUITE_P(Rules, EdlErrorTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& i) { return std::string(i.param.name); });

// ---- errors that involve files ----

Status ParseFile(const std::string& rel) {
  return ParseEdlFile(kData + "/" + rel, std::vector<std::string>{}).status();
}

TEST(EdlFileErrors, MissingImport) {
  Status s = ParseFile("imports/missing.edl");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message().rfind(kData + "/imports/missing.edl:3:10: error: cannot find imported file "
                                      "\"does_not_exist.edl\"",
                              0),
            0u)
      << s.message();
  EXPECT_NE(s.message().find("add its directory with --search-path"), std::string::npos);
}

TEST(EdlFileErrors, UnknownImportedFunction) {
  Status s = ParseFile("imports/unknown_fn.edl");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message().rfind(kData + "/imports/unknown_fn.edl:3:28: error: function `no_such_function` "
                                      "is not declared in",
                              0),
            0u)
      << s.message();
}

TEST(EdlFileErrors, ImportCycle) {
  Status s = ParseFile("imports/cycle_a.edl");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message().rfind(kData + "/imports/cycle_b.edl:3:10: error: import cycle: ", 0), 0u) << s.message();
  EXPECT_NE(s.message().find("cycle_a.edl -> "), std::string::npos) << s.message();
}

TEST(EdlFileErrors, SelfImportIsACycle) {
  Status s = ParseFile("imports/self_import.edl");
  EXPECT_NE(s.message().find("self_import.edl:2:12: error: import cycle"), std::string::npos) << s.message();
}

TEST(EdlFileErrors, ImportedFunctionClashesWithOwn) {
  Status s = ParseFile("imports/dup_clash.edl");
  EXPECT_EQ(s.message().rfind(kData + "/imports/dup_clash.edl:3:10: error: function `base_ecall` is declared "
                                      "twice: the import brings the one at",
                              0),
            0u)
      << s.message();
}

TEST(EdlFileErrors, ImportedTypeClashesWithOwn) {
  Status s = ParseFile("imports/type_clash.edl");
  EXPECT_EQ(s.message().rfind(kData + "/imports/type_clash.edl:3:10: error: type `base_struct` is defined twice",
                              0),
            0u)
      << s.message();
}

TEST(EdlFileErrors, ErrorInImportedFileNamesThatFile) {
  Status s = ParseFile("imports/bad_child.edl");
  EXPECT_EQ(s.message().rfind(kData + "/imports/broken.edl:3:37: error: [in]/[out] only apply to pointers", 0),
            0u)
      << s.message();
}

TEST(EdlFileErrors, MissingRootFile) {
  auto r = ParseEdlFile(kData + "/no_such.edl", std::vector<std::string>{kData});
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("no_such.edl: error: EDL file not found"), std::string::npos);
}

TEST(EdlFileErrors, DirectoryIsNotAnEdlFile) {
  auto r = ParseEdlFile(kData, std::vector<std::string>{});
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("not a regular file"), std::string::npos);
}

TEST(EdlFileErrors, AllowCheckedAtTheRootNotInTheLibrary) {
  // allow_lib.edl names callback_ecall, which only its importer declares: fine when
  // imported, an error when parsed on its own.
  Status s = ParseFile("imports/allow_lib.edl");
  EXPECT_NE(s.message().find("allow(callback_ecall) in `lib_ocall`: no ecall named `callback_ecall`"),
            std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace confide::edl
