// The generator's model (what each parameter becomes on the wire), the refusals, the
// generated headers and the layout of the generated sources. codegen_calls.cc emits the
// per-function proxies and dispatchers.
#include "edl/codegen.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "edl/lexer.h"

namespace confide::edl {
namespace internal {
namespace {

Status Error(const SourceLocation& l, const std::string& m) { return ErrorAt(l.file, l.line, l.column, m); }

std::string Quote(const std::string& s) { return "`" + s + "`"; }

// Identifiers that are fine in C (and so in EDL) but not in the C++ confide generates.
bool IsCppKeyword(const std::string& s) {
  static const std::set<std::string> k = {
      "alignas",   "alignof",      "and",        "and_eq",     "asm",          "bitand",      "bitor",
      "catch",     "char8_t",      "char16_t",   "char32_t",   "class",        "compl",       "concept",
      "consteval", "constexpr",    "constinit",  "const_cast", "co_await",     "co_return",   "co_yield",
      "decltype",  "delete",       "dynamic_cast", "explicit", "export",       "false",       "friend",
      "inline",    "mutable",      "namespace",  "new",        "noexcept",     "not",         "not_eq",
      "nullptr",   "operator",     "or",         "or_eq",      "private",      "protected",   "public",
      "reinterpret_cast", "requires", "static_assert", "static_cast", "template", "this",     "thread_local",
      "throw",     "true",         "try",        "typeid",     "typename",     "using",       "virtual",
      "xor",       "xor_eq"};
  return k.count(s) != 0;
}

Status CheckName(const std::string& name, const SourceLocation& at, const char* what) {
  if (IsCppKeyword(name))
    return Error(at, std::string(what) + " " + Quote(name) +
                         " is a C++ keyword; confide generates C++, so rename it");
  if (name.rfind("confide_gen_", 0) == 0)
    return Error(at, std::string(what) + " " + Quote(name) +
                         " uses the prefix confide_gen_, which is reserved for generated code");
  return Status::Ok();
}

std::string Dims(const Declaration& d) {
  std::string s;
  for (const ArrayDim& dim : d.dims) s += "[" + (dim.name.empty() ? std::to_string(dim.value) : dim.name) + "]";
  return s;
}

Type WithoutTopConst(Type t) {
  if (t.pointer_depth == 0) t.is_const = false;
  return t;
}

// The EDL-defined type a depth-0 type names, if any.
const UserType* Lookup(const Edl& edl, const Type& t) {
  if (t.pointer_depth != 0) return nullptr;
  switch (t.base) {
    case BaseType::kStruct:
    case BaseType::kUnion:
    case BaseType::kEnum:
    case BaseType::kForeign:
      return edl.FindType(t.name);
    default:
      return nullptr;
  }
}

const UserType* StructOf(const Edl& edl, const Type& t) {
  const UserType* u = Lookup(edl, t);
  return u && u->kind == UserType::Kind::kStruct ? u : nullptr;
}

// [dcl.enum]/8: an enum without a fixed underlying type holds exactly the values of the
// smallest bit-field that can hold all its enumerators. Loading anything else is UB.
bool EnumRange(const UserType& u, int64_t* lo, int64_t* hi) {
  if (u.items.empty()) return false;
  int64_t mn = INT64_MAX, mx = INT64_MIN;
  for (const EnumItem& i : u.items) {
    if (!i.value) return false;
    mn = std::min(mn, *i.value);
    mx = std::max(mx, *i.value);
  }
  if (mn >= 0) {
    int bits = 1;
    while (bits < 63 && (static_cast<uint64_t>(mx) >> bits) != 0) ++bits;
    *lo = 0;
    *hi = bits >= 63 ? INT64_MAX : (int64_t{1} << bits) - 1;
    return true;
  }
  for (int m = 0; m <= 63; ++m) {
    int64_t l = m == 63 ? INT64_MIN : -(int64_t{1} << m);
    int64_t h = m == 63 ? INT64_MAX : (int64_t{1} << m) - 1;
    if (mn >= l && mx <= h) {
      *lo = l;
      *hi = h;
      return true;
    }
  }
  return false;
}

}  // namespace

ValueCheck CheckFor(const Edl& edl, const Type& t) {
  ValueCheck c;
  if (t.pointer_depth != 0) return c;
  if (t.base == BaseType::kBool) {
    c.kind = ValueCheck::Kind::kBool;
    return c;
  }
  const UserType* u = Lookup(edl, t);
  if (u && u->kind == UserType::Kind::kEnum && EnumRange(*u, &c.lo, &c.hi)) {
    c.kind = ValueCheck::Kind::kEnum;
    c.type = WithoutTopConst(t).ToString();
  }
  return c;
}

namespace {

// A struct holding a deep-copy struct by value: its pointers would cross raw, so confide
// refuses to pass it rather than copy half of it.
const UserType* DeepByValue(const Edl& edl, const UserType& u, std::set<std::string>& seen) {
  if (!seen.insert(u.name).second) return nullptr;
  for (const Declaration& f : u.fields) {
    if (f.type.pointer_depth != 0) continue;
    const UserType* s = StructOf(edl, f.type);
    if (!s) continue;
    if (s->IsDeepCopy()) return s;
    if (const UserType* d = DeepByValue(edl, *s, seen)) return d;
  }
  return nullptr;
}

Status CheckNoDeepByValue(const Edl& edl, const UserType* u, const SourceLocation& at, const std::string& what) {
  if (!u) return Status::Ok();
  std::set<std::string> seen;
  if (const UserType* d = DeepByValue(edl, *u, seen))
    return Error(at, what + ": struct " + Quote(u->name) + " contains deep-copy struct " + Quote(d->name) +
                         " by value; deep copy is only done through pointers, so its buffers would be lost. "
                         "Hold it through a pointer with count=1 instead");
  return Status::Ok();
}

// A pointer inside a struct or union returned by value (directly or in a member held by
// value): `owner` is where it is declared.
const Declaration* RawPointer(const Edl& edl, const UserType& u, std::set<std::string>& seen,
                              const UserType** owner) {
  if (!seen.insert(u.name).second) return nullptr;
  for (const Declaration& f : u.fields) {
    if (f.type.pointer_depth != 0) {
      *owner = &u;
      return &f;
    }
    const UserType* s = Lookup(edl, f.type);
    if (!s || s->kind == UserType::Kind::kEnum) continue;
    if (const Declaration* d = RawPointer(edl, *s, seen, owner)) return d;
  }
  return nullptr;
}

// The return value of an ecall is the enclave's, of an ocall the host's: a pointer in it
// would hand the other side a raw address (an enclave address to the host, or a host-chosen
// address to the enclave) that no generated check can make safe.
Status CheckNoPointerReturned(const Edl& edl, const Function& f, const Type& r) {
  const UserType* u = Lookup(edl, r);
  if (!u || u->kind == UserType::Kind::kEnum) return Status::Ok();
  std::set<std::string> seen;
  const UserType* owner = nullptr;
  if (const Declaration* p = RawPointer(edl, *u, seen, &owner))
    return Error(f.location, "the return value of " + Quote(f.name) + ": " +
                                 std::string(u->kind == UserType::Kind::kUnion ? "union " : "struct ") +
                                 Quote(u->name) + " holds pointer " + Quote(owner->name + "::" + p->name) +
                                 ", which would cross the boundary as a raw address the receiver cannot check. "
                                 "Return the data through an [out] parameter (a deep-copy struct through an "
                                 "[in, out] one) instead");
  return Status::Ok();
}

// Structs with bool / enum fields, directly or in structs held by value.
bool HasCheckedFields(const Edl& edl, const UserType& u, std::map<std::string, bool>& memo) {
  auto it = memo.find(u.name);
  if (it != memo.end()) return it->second;
  memo[u.name] = false;  // a cycle (impossible in valid C) adds nothing
  bool any = false;
  for (const Declaration& f : u.fields) {
    if (CheckFor(edl, f.type).kind != ValueCheck::Kind::kNone) any = true;
    if (const UserType* s = StructOf(edl, f.type); s && HasCheckedFields(edl, *s, memo)) any = true;
  }
  return memo[u.name] = any;
}

Status CheckDeepStruct(const Edl& edl, const UserType& u) {
  for (const Declaration& f : u.fields) {
    if (!f.attrs.size.present() && !f.attrs.count.present()) continue;
    Type e = f.type;
    --e.pointer_depth;
    const UserType* s = StructOf(edl, e);
    if (s && s->IsDeepCopy() && f.attrs.size.present())
      return Error(f.location, "member " + Quote(f.name) + " of " + Quote(u.name) +
                                   " points to deep-copy struct " + Quote(s->name) +
                                   " and has size=; use count= (the number of structs) so each one can be copied");
    CONFIDE_RETURN_IF_ERROR(CheckNoDeepByValue(edl, s, f.location, "member " + Quote(f.name)));
  }
  std::set<std::string> seen;
  if (const UserType* d = DeepByValue(edl, u, seen))
    return Error(u.location, "struct " + Quote(u.name) + " contains deep-copy struct " + Quote(d->name) +
                                 " by value; hold it through a pointer with count=1 so its buffers are copied");
  return Status::Ok();
}

Result<ParamInfo> Classify(const Edl& edl, const Function& f, const Declaration& d, const CodegenOptions& o) {
  ParamInfo p;
  p.decl = &d;
  p.dir = d.attrs.direction;
  p.decl_text = d.type.ToString() + " " + d.name + Dims(d);
  const Attributes& a = d.attrs;
  const std::string who = "parameter " + Quote(d.name) + " of " + Quote(f.name);
  const bool is_arr = d.is_array();
  const bool sized = a.size.present() || a.count.present();
  std::string arr_type = d.type.ToString() + Dims(d);

  if (a.user_check) {
    if (!o.allow_user_check)
      return Error(d.location, "[user_check] on " + who +
                                   " would pass a raw pointer across the boundary, unchecked and uncopied "
                                   "(DESIGN §5 rule 9); confide refuses it unless the build opts in with "
                                   "confide-edger8r --allow-user-check (ALLOW_USER_CHECK in confide_add_edl)");
    p.kind = ParamKind::kUserCheck;
    if (is_arr) p.local_type = "std::decay_t<" + arr_type + ">";
    else if (a.isary) p.local_type = "std::decay_t<" + d.type.ToString() + ">";
    else p.local_type = d.type.ToString();
    return p;
  }
  const bool pointerish = d.type.is_pointer() || a.isptr || a.isary || is_arr;
  if (!pointerish) {
    p.kind = ParamKind::kValue;
    p.local_type = WithoutTopConst(d.type).ToString();
    p.check = CheckFor(edl, d.type);
    p.elem_struct = StructOf(edl, d.type);
    CONFIDE_RETURN_IF_ERROR(CheckNoDeepByValue(edl, p.elem_struct, d.location, who));
    return p;
  }
  if (a.string || a.wstring) {
    p.kind = ParamKind::kString;
    p.wide = a.wstring;
    p.local_type = d.type.ToString();
    p.elem = a.wstring ? "wchar_t" : "char";
    return p;
  }
  p.kind = ParamKind::kBuffer;
  Type elem = d.type;
  if (is_arr) {
    p.elem = d.type.ToString();
    p.fixed_bytes = "sizeof(" + arr_type + ")";
    p.local_type = "std::decay_t<" + arr_type + ">";
  } else if (a.isary) {
    if (sized)
      return Error(d.location, "size=/count= cannot be used on [isary] " + who +
                                   ": its size is the size of its array type");
    p.elem = "std::remove_all_extents_t<" + d.type.ToString() + ">";
    p.fixed_bytes = "sizeof(" + d.type.ToString() + ")";
    p.local_type = "std::decay_t<" + d.type.ToString() + ">";
  } else if (a.isptr) {
    p.elem = "std::remove_pointer_t<" + d.type.ToString() + ">";
    p.local_type = d.type.ToString();
  } else {
    --elem.pointer_depth;
    p.elem = elem.ToString();
    p.local_type = d.type.ToString();
  }
  if (!a.isptr && !a.isary) {
    p.elem_struct = StructOf(edl, elem);
    p.check = CheckFor(edl, elem);
    CONFIDE_RETURN_IF_ERROR(CheckNoDeepByValue(edl, p.elem_struct, d.location, who));
    if (p.elem_struct && p.elem_struct->IsDeepCopy()) {
      if (is_arr)
        return Error(d.location, who + " is a fixed array of deep-copy struct " + Quote(p.elem_struct->name) +
                                     "; pass a pointer with count= so each struct's buffers are copied");
      if (p.dir == Direction::kOut)
        return Error(d.location, "[out] " + who + " points to deep-copy struct " + Quote(p.elem_struct->name) +
                                     ": the callee cannot know the sizes of its member buffers; use [in, out] "
                                     "with the sizes set by the caller");
      p.kind = ParamKind::kDeep;
      p.deep = p.elem_struct;
    }
  }
  return p;
}

// A scalar a value call can carry (abi::ValueHandler): a C integer, bool or floating-point
// type, or an EDL enum (range-checked like its frame item), never a pointer.
bool ValueCallType(const Type& t, const ValueCheck& check) {
  if (t.pointer_depth != 0) return false;
  if (check.kind == ValueCheck::Kind::kEnum) return true;
  switch (t.base) {
    case BaseType::kVoid:
    case BaseType::kStruct:
    case BaseType::kUnion:
    case BaseType::kEnum:
    case BaseType::kForeign: return false;
    default: return true;
  }
}

// Ecalls whose parameters and return value are all such scalars also take value calls, which
// skip the frames (docs/abi.md, "Value calls"); 16 parameters of at most 16 bytes fit
// abi::kMaxValueCallBytes.
bool TakesValueCalls(const FunctionInfo& f) {
  if (f.params.size() > 16) return false;
  for (const ParamInfo& p : f.params)
    if (p.kind != ParamKind::kValue || !ValueCallType(p.decl->type, p.check)) return false;
  return f.ret_void || ValueCallType(WithoutTopConst(f.fn->return_type), f.ret_check);
}

Result<FunctionInfo> Describe(const Edl& edl, const Function& f, uint32_t id, const CodegenOptions& o) {
  FunctionInfo fi;
  fi.fn = &f;
  fi.id = id;
  CONFIDE_RETURN_IF_ERROR(CheckName(f.name, f.location, "function"));
  for (const Declaration& d : f.params) {
    CONFIDE_RETURN_IF_ERROR(CheckName(d.name, d.location, "parameter"));
    if (d.name == "errno")
      return Error(d.location, "parameter `errno` of " + Quote(f.name) + " would hide the errno macro; rename it");
    CONFIDE_ASSIGN_OR_RETURN(ParamInfo p, Classify(edl, f, d, o));
    fi.params.push_back(std::move(p));
  }
  Type r = WithoutTopConst(f.return_type);
  fi.ret_void = r.base == BaseType::kVoid && r.pointer_depth == 0;
  fi.ret_type = r.ToString();
  fi.ret_check = CheckFor(edl, r);
  fi.ret_struct = StructOf(edl, r);
  CONFIDE_RETURN_IF_ERROR(CheckNoDeepByValue(edl, fi.ret_struct, f.location, "the return value of " + Quote(f.name)));
  CONFIDE_RETURN_IF_ERROR(CheckNoPointerReturned(edl, f, r));
  return fi;
}

// ------------------------------------------------------------------ headers

std::string Guard(const std::string& kind, const std::string& name) { return "CONFIDE_EDL_TYPE_" + kind + "_" + name; }

std::string EmitTypes(const Model& m) {
  std::string s;
  for (const std::string& inc : m.edl->includes) s += "#include \"" + inc + "\"\n";
  if (!m.edl->includes.empty()) s += "\n";
  // One guard per type: the enclave and host headers of one EDL, or of two EDLs importing
  // the same types, can share a translation unit.
  for (const UserType& t : m.edl->types) {
    std::string guard;
    if (t.kind == UserType::Kind::kEnum) {
      guard = Guard("ENUM", t.name.empty() ? (t.items.empty() ? "ANON" : "ANON_" + t.items[0].name) : t.name);
    } else {
      guard = Guard(t.kind == UserType::Kind::kStruct ? "STRUCT" : "UNION", t.name);
    }
    s += "#ifndef " + guard + "\n#define " + guard + "\n";
    if (t.kind == UserType::Kind::kEnum) {
      s += "enum " + (t.name.empty() ? std::string() : t.name + " ") + "{\n";
      for (const EnumItem& i : t.items) s += "  " + i.name + (i.value_text.empty() ? "" : " = " + i.value_text) + ",\n";
      s += "};\n";
    } else {
      s += std::string(t.kind == UserType::Kind::kStruct ? "struct " : "union ") + t.name + " {\n";
      for (const Declaration& f : t.fields) s += "  " + f.type.ToString() + " " + f.name + Dims(f) + ";\n";
      s += "};\n";
    }
    s += "#endif\n\n";
  }
  return s;
}

std::string ParamList(const FunctionInfo& f) {
  std::string s;
  for (size_t i = 0; i < f.params.size(); ++i) s += (i ? ", " : "") + f.params[i].decl_text;
  return s;
}

std::string UserSignature(const FunctionInfo& f) { return f.ret_type + " " + f.fn->name + "(" + ParamList(f) + ")"; }

}  // namespace

std::string SenderSignature(const FunctionInfo& f, Side side, bool with_names) {
  std::string ret = f.ret_void ? "confide::Status" : "confide::Result<" + f.ret_type + ">";
  std::string params;
  if (side == Side::kUntrusted) {
    bool taken = f.fn->FindParam("enclave") != nullptr;
    params = std::string("confide::Enclave& ") + (with_names ? (taken ? "confide_gen_enclave" : "enclave") : "");
    if (!with_names) params.pop_back();
    if (!f.params.empty()) params += ", ";
  }
  params += ParamList(f);
  return ret + " " + f.fn->name + "(" + params + ")";
}

Result<Model> BuildModel(const Edl& edl, const CodegenOptions& o) {
  Model m;
  m.edl = &edl;
  for (char c : edl.name) m.ident += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (m.ident.empty() || std::isdigit(static_cast<unsigned char>(m.ident[0]))) m.ident = "edl_" + m.ident;
  for (const UserType& t : edl.types) {
    if (!t.name.empty()) CONFIDE_RETURN_IF_ERROR(CheckName(t.name, t.location, "type"));
    for (const Declaration& f : t.fields) CONFIDE_RETURN_IF_ERROR(CheckName(f.name, f.location, "member"));
    for (const EnumItem& i : t.items) CONFIDE_RETURN_IF_ERROR(CheckName(i.name, i.location, "enum constant"));
    if (t.kind == UserType::Kind::kStruct) {
      m.structs.push_back(&t);
      if (t.IsDeepCopy()) {
        m.deep.insert(t.name);
        CONFIDE_RETURN_IF_ERROR(CheckDeepStruct(edl, t));
      }
    }
  }
  std::map<std::string, bool> memo;
  for (const UserType* u : m.structs)
    if (HasCheckedFields(edl, *u, memo)) m.checked.insert(u->name);
  for (size_t i = 0; i < edl.trusted.size(); ++i) {
    CONFIDE_ASSIGN_OR_RETURN(FunctionInfo f, Describe(edl, edl.trusted[i], static_cast<uint32_t>(i), o));
    f.value_call = TakesValueCalls(f);
    m.ecalls.push_back(std::move(f));
  }
  for (size_t i = 0; i < edl.untrusted.size(); ++i) {
    CONFIDE_ASSIGN_OR_RETURN(FunctionInfo f, Describe(edl, edl.untrusted[i], static_cast<uint32_t>(i), o));
    m.ocalls.push_back(std::move(f));
  }
  return m;
}

std::string EmitHeader(const Model& m, Side side) {
  const bool t = side == Side::kTrusted;
  std::string upper;
  for (char c : m.ident) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string guard = "CONFIDE_EDL_" + upper + (t ? "_T_H" : "_U_H");
  std::string s = "// Generated by confide-edger8r from " + m.edl->name + ".edl: the " +
                  (t ? "enclave" : "host") + " side. Do not edit.\n";
  s += "#ifndef " + guard + "\n#define " + guard + "\n\n";
  s += "#include <stddef.h>\n#include <stdint.h>\n#include <wchar.h>\n\n";
  s += t ? "#include \"confide/status.h\"\n\n" : "#include <memory>\n#include <string>\n\n#include \"confide/enclave.h\"\n\n";
  s += EmitTypes(m);
  if (t) {
    if (!m.ecalls.empty()) s += "// Ecalls: implement these in the enclave. The generated dispatcher calls them.\n";
    for (const FunctionInfo& f : m.ecalls) s += UserSignature(f) + ";\n";
    if (!m.ocalls.empty()) {
      // The inline namespace keeps these proxies distinct from the host's implementations of
      // the same ocalls (which differ only in the return type) when both headers meet.
      s += "\n// Ocalls: call these from the enclave; each runs the host's implementation.\n";
      s += "inline namespace confide_enclave_ocalls {\n";
      for (const FunctionInfo& f : m.ocalls) s += SenderSignature(f, side, true) + ";\n";
      s += "}  // inline namespace confide_enclave_ocalls\n";
    }
  } else {
    if (!m.ecalls.empty()) s += "// Ecalls: call these from the host.\n";
    for (const FunctionInfo& f : m.ecalls) s += SenderSignature(f, side, true) + ";\n";
    if (!m.ocalls.empty()) s += "\n// Ocalls: implement these in the host program. The generated dispatcher calls them.\n";
    for (const FunctionInfo& f : m.ocalls) s += UserSignature(f) + ";\n";
    s += "\n// The ocall table and ecall names of this EDL, for confide::Enclave::Create.\n";
    s += "const confide::abi::UntrustedTables& " + m.ident + "_untrusted_tables();\n";
    s += "// Loads, verifies and starts the signed enclave image at `path`.\n";
    s += "confide::Result<std::unique_ptr<confide::Enclave>> create_" + m.ident +
         "_enclave(const std::string& path, const confide::EnclaveOptions& options = {});\n";
  }
  s += "\n#endif  // " + guard + "\n";
  return s;
}

std::string EmitSource(const Model& m, Side side) {
  const bool t = side == Side::kTrusted;
  std::string s = "// Generated by confide-edger8r from " + m.edl->name + ".edl: the " +
                  (t ? "enclave" : "host") + " side. Do not edit.\n";
  s += "#include \"" + m.edl->name + (t ? "_t.h" : "_u.h") + "\"\n\n";
  s += "#include <cerrno>\n#include <cstddef>\n#include <cstdint>\n#include <cstring>\n#include <cwchar>\n"
       "#include <new>\n#include <string>\n#include <type_traits>\n#include <vector>\n\n";
  s += "#include \"confide/abi.h\"\n#include \"confide/bytes.h\"\n";
  s += t ? "#include \"confide/trusted.h\"\n\n" : "#include \"confide/enclave.h\"\n\n";
  s += "namespace {\n";
  s += kHelperRuntime;
  s += EmitStructHelpers(m);
  const auto& receivers = t ? m.ecalls : m.ocalls;
  for (const FunctionInfo& f : receivers) s += EmitReceiver(m, f, side);
  if (t) {
    s += "\n";
    if (!m.ecalls.empty()) {
      s += "const confide::abi::EcallInfo confide_gen_ecalls[] = {\n";
      for (const FunctionInfo& f : m.ecalls)
        s += "    {\"" + f.fn->name + "\", &confide_gen_ecall_" + f.fn->name + ", " +
             (f.fn->is_public ? "true" : "false") + ", " + (f.fn->transition_using_threads ? "true" : "false") +
             (f.value_call ? ", &confide_gen_values_" + f.fn->name + ", confide_gen_args_" + f.fn->name +
                                 ", confide_gen_ret_" + f.fn->name
                           : std::string()) +
             "},\n";
      s += "};\n";
    }
    for (const FunctionInfo& f : m.ocalls) {
      if (f.fn->allow.empty()) continue;
      s += "const uint32_t confide_gen_allow_" + f.fn->name + "[] = {";
      for (size_t i = 0; i < f.fn->allow.size(); ++i) {
        uint32_t id = 0;
        for (const FunctionInfo& e : m.ecalls)
          if (e.fn->name == f.fn->allow[i]) id = e.id;
        s += (i ? ", " : "") + std::to_string(id) + "u";
      }
      s += "};\n";
    }
    if (!m.ocalls.empty()) {
      s += "const confide::abi::OcallInfo confide_gen_ocalls[] = {\n";
      for (const FunctionInfo& f : m.ocalls) {
        bool a = !f.fn->allow.empty();
        s += "    {\"" + f.fn->name + "\", " + (a ? "confide_gen_allow_" + f.fn->name : std::string("nullptr")) + ", " +
             std::to_string(f.fn->allow.size()) + "u, " + (f.fn->transition_using_threads ? "true" : "false") +
             "},\n";
      }
      s += "};\n";
    }
    s += "}  // namespace\n\n";
    s += "extern \"C\" const confide::abi::TrustedTables confide_trusted_tables = {\n    " +
         (m.ecalls.empty() ? std::string("nullptr") : "confide_gen_ecalls") + ", " + std::to_string(m.ecalls.size()) +
         "u, " + (m.ocalls.empty() ? std::string("nullptr") : "confide_gen_ocalls") + ", " +
         std::to_string(m.ocalls.size()) + "u};\n";
    if (!m.ocalls.empty()) {
      s += "\ninline namespace confide_enclave_ocalls {\n";
      for (const FunctionInfo& f : m.ocalls) s += EmitSender(m, f, side);
      s += "}  // inline namespace confide_enclave_ocalls\n";
    }
  } else {
    s += "\n";
    if (!m.ocalls.empty()) {
      s += "const confide::abi::HostOcall confide_gen_ocalls[] = {\n";
      for (const FunctionInfo& f : m.ocalls)
        s += "    {\"" + f.fn->name + "\", &confide_gen_ocall_" + f.fn->name + "},\n";
      s += "};\n";
    }
    if (!m.ecalls.empty()) {
      s += "const char* const confide_gen_ecall_names[] = {";
      for (size_t i = 0; i < m.ecalls.size(); ++i) s += std::string(i ? ", " : "") + "\"" + m.ecalls[i].fn->name + "\"";
      s += "};\n";
      s += "const bool confide_gen_ecall_switchless[] = {";
      for (size_t i = 0; i < m.ecalls.size(); ++i)
        s += std::string(i ? ", " : "") + (m.ecalls[i].fn->transition_using_threads ? "true" : "false");
      s += "};\n";
    }
    s += "}  // namespace\n\n";
    s += "const confide::abi::UntrustedTables& " + m.ident + "_untrusted_tables() {\n";
    s += "  static const confide::abi::UntrustedTables tables = {" +
         (m.ocalls.empty() ? std::string("nullptr") : "confide_gen_ocalls") + ", " + std::to_string(m.ocalls.size()) +
         "u, " + (m.ecalls.empty() ? std::string("nullptr") : "confide_gen_ecall_names") + ", " +
         std::to_string(m.ecalls.size()) + "u, " +
         (m.ecalls.empty() ? std::string("nullptr") : "confide_gen_ecall_switchless") +
         "};\n  return tables;\n}\n\n";
    s += "confide::Result<std::unique_ptr<confide::Enclave>> create_" + m.ident +
         "_enclave(const std::string& path, const confide::EnclaveOptions& options) {\n";
    s += "  return confide::Enclave::Create(path, " + m.ident + "_untrusted_tables(), options);\n}\n";
    for (const FunctionInfo& f : m.ecalls) s += EmitSender(m, f, side);
  }
  return s;
}

}  // namespace internal

Result<std::vector<GeneratedFile>> GenerateCode(const Edl& edl, const CodegenOptions& options) {
  using namespace internal;
  CONFIDE_ASSIGN_OR_RETURN(Model m, BuildModel(edl, options));
  std::vector<GeneratedFile> out;
  if (options.trusted) {
    out.push_back({true, edl.name + "_t.h", EmitHeader(m, Side::kTrusted)});
    if (!options.header_only) out.push_back({true, edl.name + "_t.cc", EmitSource(m, Side::kTrusted)});
  }
  if (options.untrusted) {
    out.push_back({false, edl.name + "_u.h", EmitHeader(m, Side::kUntrusted)});
    if (!options.header_only) out.push_back({false, edl.name + "_u.cc", EmitSource(m, Side::kUntrusted)});
  }
  return out;
}

Status WriteGeneratedCode(const Edl& edl, const CodegenOptions& options, const std::string& trusted_dir,
                          const std::string& untrusted_dir) {
  namespace fs = std::filesystem;
  CONFIDE_ASSIGN_OR_RETURN(std::vector<GeneratedFile> files, GenerateCode(edl, options));
  for (const GeneratedFile& f : files) {
    const std::string& dir = f.trusted ? trusted_dir : untrusted_dir;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return IoError("cannot create output directory '" + dir + "': " + ec.message());
    std::string path = (fs::path(dir) / f.name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << f.content;
    out.close();
    if (!out) return IoError("cannot write '" + path + "': check that the directory is writable");
  }
  return Status::Ok();
}

}  // namespace confide::edl
