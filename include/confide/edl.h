// EDL front end: the enclave definition language of Intel's SGX SDK and the OE SDK, parsed
// into an AST with every import resolved and every semantic rule checked. Code generation
// (confide-edger8r's proxies and dispatchers) builds on this AST.
//
// Errors are Status values whose message starts with "file:line:col: error: " and says what
// is wrong; docs/edl.md lists the accepted language and every check.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "confide/status.h"

namespace confide::edl {

struct SourceLocation {
  std::string file;  // path as opened (search path + relative name)
  int line = 0;      // 1-based
  int column = 0;    // 1-based, in bytes
  // "file:line:col"
  std::string ToString() const;
};

enum class BaseType {
  kVoid,
  kBool,  // OE only
  kChar,
  kShort,
  kInt,
  kLong,
  kLongLong,
  kFloat,
  kDouble,
  kLongDouble,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kSizeT,
  kWChar,
  kStruct,   // written "struct X"
  kUnion,    // written "union X"
  kEnum,     // written "enum X"
  kForeign,  // a bare name: a type defined in this EDL or in an included C header
};

struct Type {
  BaseType base = BaseType::kInt;
  bool is_unsigned = false;  // only for char, short, int, long, long long ("unsigned" alone = int)
  bool is_const = false;     // "const T" / "const T*": qualifies the pointee or the value
  std::string name;          // for kStruct, kUnion, kEnum, kForeign
  int pointer_depth = 0;     // number of '*'

  bool is_pointer() const { return pointer_depth > 0; }
  // True for the C integer types (char..long long, intN_t, size_t, wchar_t, bool) by value.
  bool IsBuiltinInteger() const;
  // C spelling, e.g. "const unsigned char*", "struct foo**", "my_type".
  std::string ToString() const;
};

enum class Direction { kNone, kIn, kOut, kInOut };
std::string_view DirectionName(Direction d);  // "none", "in", "out", "in_out"

// The value of size= or count=: a number or the name of a parameter (in a function) or of a
// member (in a struct).
struct SizeSpec {
  enum class Kind { kNone, kNumber, kName };
  Kind kind = Kind::kNone;
  uint64_t number = 0;
  std::string name;
  SourceLocation location;

  bool present() const { return kind != Kind::kNone; }
};

struct Attributes {
  bool present = false;  // an attribute list "[...]" was written
  Direction direction = Direction::kNone;
  SizeSpec size;
  SizeSpec count;
  bool string = false;
  bool wstring = false;
  bool isptr = false;
  bool isary = false;
  bool readonly = false;
  // The generated code will not check or copy this pointer. Recorded here; confide's
  // generator refuses it unless the EDL opts in explicitly (DESIGN §5 rule 9).
  bool user_check = false;
};

// One array dimension: a number, or a name (an enum constant or a macro from a header).
struct ArrayDim {
  uint64_t value = 0;  // the number, or the enum constant's value when the name is known
  std::string name;    // empty for a plain number
  bool resolved = true;  // false: a name confide could not evaluate (macro from a header)
};

// A function parameter, a struct member or a union member.
struct Declaration {
  std::string name;
  Type type;
  std::vector<ArrayDim> dims;  // fixed array dimensions, outermost first
  Attributes attrs;
  SourceLocation location;

  bool is_array() const { return !dims.empty(); }
};

struct EnumItem {
  std::string name;
  std::string value_text;        // as written after '=' (tokens joined by spaces); empty if none
  std::optional<int64_t> value;  // evaluated, when every name in the expression is known
  SourceLocation location;
};

struct UserType {
  enum class Kind { kStruct, kUnion, kEnum };
  Kind kind = Kind::kStruct;
  std::string name;  // empty for an anonymous enum
  std::vector<Declaration> fields;  // struct / union members
  std::vector<EnumItem> items;      // enum items
  SourceLocation location;

  // A struct with a [size=] or [count=] member: passing it copies the pointed-to buffers.
  bool IsDeepCopy() const;
};

enum class CallingConvention { kNone, kCdecl, kStdcall, kFastcall };

struct Function {
  std::string name;
  Type return_type;
  std::vector<Declaration> params;
  bool is_trusted = false;  // ecall (trusted block) or ocall (untrusted block)
  bool is_public = false;   // ecalls: callable by the host at top level (else only via allow)
  std::vector<std::string> allow;  // ocalls: ecalls the host may make while this ocall runs
  std::vector<SourceLocation> allow_locations;  // where each allow name is written
  bool transition_using_threads = false;  // switchless
  bool propagate_errno = false;           // ocalls
  CallingConvention calling_convention = CallingConvention::kNone;  // ocalls, Intel only
  bool dllimport = false;                                           // ocalls, Intel only
  SourceLocation location;

  const Declaration* FindParam(std::string_view name) const;
};

// A fully resolved EDL: the root file's own declarations plus everything it imports.
struct Edl {
  std::string name;  // file base name without ".edl"
  std::string path;  // the root file as opened
  std::vector<std::string> includes;   // C headers, de-duplicated, in first-seen order
  std::vector<UserType> types;         // own and imported, in dependency order
  std::vector<Function> trusted;       // ecalls: own, then imported
  std::vector<Function> untrusted;     // ocalls: own, then imported
  std::vector<std::string> files;      // every EDL file read (root first), for build deps
  std::vector<std::string> warnings;   // "file:line:col: warning: ..."

  const Function* FindFunction(std::string_view name) const;
  const UserType* FindType(std::string_view name) const;
};

struct ParseOptions {
  // Directories searched, in order, for the root file (when not found as given) and for
  // every imported file. The directory of the importing file is searched first.
  std::vector<std::string> search_paths;
  // Names defined for the "#ifdef NAME / #ifndef / #else / #endif" directives (OE syntax).
  std::vector<std::string> defines;
};

Result<Edl> ParseEdlFile(const std::string& path, const ParseOptions& options);
Result<Edl> ParseEdlFile(const std::string& path, const std::vector<std::string>& search_paths);

// Parses EDL text held in memory; `filename` is used in messages and imports are resolved
// through options.search_paths only. Used by tests and the fuzzer.
Result<Edl> ParseEdlString(std::string_view text, const std::string& filename,
                           const ParseOptions& options);

// The AST as JSON (what `confide-edger8r --dump-ast` prints), pretty-printed.
std::string EdlToJson(const Edl& edl);

}  // namespace confide::edl
