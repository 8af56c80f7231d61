// confide-edger8r's code generator: typed C++ host proxies, enclave dispatchers, enclave
// ocall proxies and host ocall dispatchers over the call ABI of confide/abi.h. docs/edl.md
// ("Generated code") describes the generated API and the frame layout of each parameter kind.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "confide/edl.h"
#include "confide/status.h"

namespace confide::edl {

struct CodegenOptions {
  bool trusted = true;    // <base>_t.h / <base>_t.cc
  bool untrusted = true;  // <base>_u.h / <base>_u.cc
  bool header_only = false;
  // [user_check] passes a raw pointer across the boundary unchecked (DESIGN §5 rule 9):
  // generation refuses it unless this is set (confide-edger8r --allow-user-check).
  bool allow_user_check = false;
};

struct GeneratedFile {
  bool trusted = false;  // goes to the trusted dir (else the untrusted dir)
  std::string name;      // e.g. "hello_t.h"
  std::string content;
};

// Generates the requested files in memory. Fails with "file:line:col: error: ..." for
// declarations confide refuses to generate (user_check without opt-in, [out] deep copy, ...).
Result<std::vector<GeneratedFile>> GenerateCode(const Edl& edl, const CodegenOptions& options);

// GenerateCode, then writes the files into `trusted_dir` / `untrusted_dir` (created if missing).
Status WriteGeneratedCode(const Edl& edl, const CodegenOptions& options, const std::string& trusted_dir,
                          const std::string& untrusted_dir);

namespace internal {

// A bool or EDL enum read from the other side is checked before C++ code sees it: a bool
// byte other than 0/1, or an enum outside its declared range, is undefined behaviour to load.
struct ValueCheck {
  enum class Kind { kNone, kBool, kEnum };
  Kind kind = Kind::kNone;
  std::string type;  // the C++ type (for kEnum)
  int64_t lo = 0, hi = 0;
};

enum class ParamKind {
  kValue,      // by value: one value item
  kUserCheck,  // raw pointer as a value item (opt-in only)
  kBuffer,     // pointer / fixed array / isptr / isary with a direction
  kString,     // [string] / [wstring]
  kDeep,       // pointer to a struct with size=/count= members
};

struct ParamInfo {
  const Declaration* decl = nullptr;
  ParamKind kind = ParamKind::kValue;
  Direction dir = Direction::kNone;
  std::string decl_text;    // as written in a C++ signature: "const char* s", "int m[2][3]"
  std::string local_type;   // kValue: the receiver's local; else the pointer type handed to user code
  std::string elem;         // pointee / element type (may be "void")
  std::string fixed_bytes;  // arrays and [isary]: constant byte count expression
  bool wide = false;        // [wstring]
  const UserType* elem_struct = nullptr;  // EDL-defined struct elements: scrubbed / merged field by field
  const UserType* deep = nullptr;         // deep-copy struct pointee
  ValueCheck check;                       // value params: bool/enum; buffers: per element
};

struct FunctionInfo {
  const Function* fn = nullptr;
  uint32_t id = 0;
  std::vector<ParamInfo> params;
  std::string ret_type;  // "void" or the value type (top-level const dropped)
  bool ret_void = true;
  ValueCheck ret_check;
  const UserType* ret_struct = nullptr;
  bool value_call = false;  // ecalls of scalars only: also sent without frames (abi::ValueHandler)
};

struct Model {
  const Edl* edl = nullptr;
  std::string ident;  // edl.name as a C identifier
  std::vector<FunctionInfo> ecalls;
  std::vector<FunctionInfo> ocalls;
  std::vector<const UserType*> structs;  // EDL-defined structs, dependency order
  std::set<std::string> deep;            // names of deep-copy structs
  // Structs with bool or EDL enum fields (directly or in structs held by value): what the
  // other side sends of them is range-checked field by field.
  std::set<std::string> checked;
};

Result<Model> BuildModel(const Edl& edl, const CodegenOptions& options);

// The check for a value of type `t` read from the other side (bool, EDL enum, or none).
ValueCheck CheckFor(const Edl& edl, const Type& t);

enum class Side { kTrusted, kUntrusted };
std::string EmitHeader(const Model& m, Side side);
std::string EmitSource(const Model& m, Side side);

// Generated-code fragments shared by both sides (codegen_calls.cc).
std::string EmitStructHelpers(const Model& m);
std::string EmitReceiver(const Model& m, const FunctionInfo& f, Side side);
std::string EmitSender(const Model& m, const FunctionInfo& f, Side side);
std::string EmitValueReceiver(const FunctionInfo& f);
std::string EmitValueSender(const FunctionInfo& f);
std::string SenderSignature(const FunctionInfo& f, Side side, bool with_names);
extern const char kHelperRuntime[];

}  // namespace internal
}  // namespace confide::edl
