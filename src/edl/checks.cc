#include "edl/checks.h"

#include <set>

#include "edl/lexer.h"
#include "edl/parser.h"

namespace confide::edl::internal {

namespace {

Status Error(const SourceLocation& l, const std::string& m) {
  return ErrorAt(l.file, l.line, l.column, m);
}

bool IsSigned(const Type& t) {
  if (t.is_unsigned || t.pointer_depth > 0) return false;
  switch (t.base) {
    case BaseType::kChar:
    case BaseType::kShort:
    case BaseType::kInt:
    case BaseType::kLong:
    case BaseType::kLongLong:
    case BaseType::kInt8:
    case BaseType::kInt16:
    case BaseType::kInt32:
    case BaseType::kInt64:
      return true;
    default:
      return false;
  }
}

std::string Quote(const std::string& s) { return "`" + s + "`"; }

}  // namespace

const UserType* Checker::Find(const std::string& name) const {
  for (const UserType& t : types_) {
    if (!t.name.empty() && t.name == name) return &t;
  }
  return nullptr;
}

const UserType* Checker::Composite(const Type& t) const {
  if (t.base != BaseType::kStruct && t.base != BaseType::kUnion && t.base != BaseType::kForeign) {
    return nullptr;
  }
  const UserType* u = Find(t.name);
  if (!u || u->kind == UserType::Kind::kEnum) return nullptr;
  return u;
}

Status Checker::CheckSizeRef(const SizeSpec& s, const char* attr, const std::vector<Declaration>& scope,
                             const std::string& owner, bool in_struct) {
  if (s.kind != SizeSpec::Kind::kName) return Status::Ok();
  const char* what = in_struct ? "member" : "parameter";
  const Declaration* ref = nullptr;
  for (const Declaration& d : scope) {
    if (d.name == s.name) ref = &d;
  }
  std::string head = std::string(attr) + "=" + s.name + ": ";
  if (!ref) {
    return Error(s.location, head + (in_struct ? "struct " : "function ") + Quote(owner) + " has no " +
                                 what + " named " + Quote(s.name));
  }
  const Type& t = ref->type;
  std::string bad;
  if (ref->is_array()) {
    bad = "is an array";
  } else if (t.pointer_depth > 0) {
    bad = "is a pointer (" + Quote(t.ToString()) + ")";
  } else if (t.base == BaseType::kFloat || t.base == BaseType::kDouble || t.base == BaseType::kLongDouble ||
             t.base == BaseType::kVoid || t.base == BaseType::kBool || t.base == BaseType::kStruct ||
             t.base == BaseType::kUnion || Composite(t)) {
    bad = "has type " + Quote(t.ToString());
  }
  if (!bad.empty()) {
    return Error(s.location, head + what + " " + Quote(s.name) + " " + bad +
                                 ", but a size or count must be an integer");
  }
  if (IsSigned(t)) {
    warnings_.push_back(WarningAt(s.location.file, s.location.line, s.location.column,
                                  head + what + " " + Quote(s.name) + " has signed type " +
                                      Quote(t.ToString()) +
                                      "; prefer an unsigned type such as size_t [signed-size-or-count]"));
  }
  return Status::Ok();
}

Status Checker::CheckType(const UserType& type) {
  if (type.kind == UserType::Kind::kEnum) return Status::Ok();
  std::set<std::string> names;
  for (const Declaration& d : type.fields) {
    if (!names.insert(d.name).second) {
      return Error(d.location, "member " + Quote(d.name) + " is declared twice in " + Quote(type.name));
    }
    if (d.type.base == BaseType::kVoid && d.type.pointer_depth == 0) {
      return Error(d.location, "member " + Quote(d.name) + " has type void");
    }
    const Attributes& a = d.attrs;
    if (!a.size.present() && !a.count.present()) continue;
    if (d.type.pointer_depth == 0 || d.is_array()) {
      return Error(d.location, "member " + Quote(d.name) + " has size=/count= (deep copy) but is not a "
                                   "pointer; only pointer members can be deep-copied");
    }
    if (d.type.base == BaseType::kVoid && d.type.pointer_depth == 1 && !a.size.present()) {
      return Error(d.location, "member " + Quote(d.name) +
                                   " is a void pointer: count= has no element size, use size= (bytes)");
    }
    CONFIDE_RETURN_IF_ERROR(CheckSizeRef(a.size, "size", type.fields, type.name, true));
    CONFIDE_RETURN_IF_ERROR(CheckSizeRef(a.count, "count", type.fields, type.name, true));
    for (const SizeSpec* s : {&a.size, &a.count}) {
      if (s->kind == SizeSpec::Kind::kName && s->name == d.name) {
        return Error(s->location, "member " + Quote(d.name) + " cannot give its own size");
      }
    }
  }
  return Status::Ok();
}

Status Checker::CheckFunction(const Function& f) {
  std::set<std::string> names;
  for (const Declaration& d : f.params) {
    if (!names.insert(d.name).second) {
      return Error(d.location, "parameter " + Quote(d.name) + " is declared twice in " + Quote(f.name));
    }
  }
  for (const Declaration& d : f.params) CONFIDE_RETURN_IF_ERROR(CheckParam(f, d));
  // A deep-copy struct returned by value would bring its pointers and sizes raw: an address
  // and a length the receiver never copied or checked.
  const UserType* ret = f.return_type.pointer_depth == 0 ? Composite(f.return_type) : nullptr;
  if (ret && ret->IsDeepCopy()) {
    return Error(f.location, "struct " + Quote(ret->name) + " has size=/count= members (deep copy), so " +
                                 Quote(f.name) + " cannot return it by value; pass it through an [in, out] "
                                 "pointer parameter instead");
  }
  if (f.return_type.pointer_depth > 0) {
    warnings_.push_back(WarningAt(f.location.file, f.location.line, f.location.column,
                                  Quote(f.name) + " returns a pointer, which crosses the boundary "
                                  "unchecked; prefer an [out] parameter [return-ptr]"));
  }
  return Status::Ok();
}

Status Checker::CheckParam(const Function& f, const Declaration& d) {
  const Type& t = d.type;
  const Attributes& a = d.attrs;
  const bool is_ptr = t.pointer_depth > 0;
  const bool is_arr = d.is_array();
  const bool bare_foreign = t.base == BaseType::kForeign && !is_ptr;
  const std::string p = "parameter " + Quote(d.name);
  const std::string typed = p + " of type " + Quote(t.ToString());
  const bool sized = a.size.present() || a.count.present();

  if (t.base == BaseType::kVoid && !is_ptr) {
    return Error(d.location, p + " has type void; only `(void)` may stand for an empty parameter list");
  }
  if (a.isptr && a.isary) return Error(d.location, "[isptr] and [isary] cannot be used together on " + p);
  if ((a.isptr || a.isary) && !bare_foreign) {
    return Error(d.location, std::string(a.isptr ? "[isptr]" : "[isary]") +
                                 " only applies to a user-defined type name (a typedef from a C "
                                 "header), but " + p + " has type " +
                                 Quote(t.ToString()));
  }
  if (a.readonly && !a.isptr) {
    return Error(d.location, "[readonly] is only valid together with [isptr] (on " + p + ")");
  }
  if ((a.isptr || is_ptr) && is_arr) {
    return Error(d.location, p + " is an array of pointers; the pointed-to data cannot be copied, "
                                 "pass a pointer with count= instead");
  }
  if (a.isary && is_arr) {
    return Error(d.location, "[isary] cannot be used on " + p + ", which is already declared as an array");
  }
  const bool pointerish = is_ptr || a.isptr || a.isary || is_arr;
  if (!pointerish) {
    if (a.direction != Direction::kNone) {
      return Error(d.location, "[in]/[out] only apply to pointers and arrays; " + typed +
                                   " is passed by value");
    }
    if (sized) {
      return Error(d.location, "size=/count= only apply to pointers and arrays; " + typed +
                                   " is passed by value");
    }
    if (a.string || a.wstring) {
      return Error(d.location, std::string(a.string ? "[string] needs a char pointer" : "[wstring] needs a wchar_t pointer") +
                                   ", but " + p + " has type " + Quote(t.ToString()));
    }
    if (a.user_check) {
      return Error(d.location, "[user_check] only applies to pointers and arrays; " + typed +
                                   " is passed by value");
    }
    if (const UserType* u = Composite(t); u && u->IsDeepCopy()) {
      return Error(d.location, "struct " + Quote(u->name) + " has size=/count= members (deep copy), so " + p +
                                   " must be passed by pointer, not by value");
    }
    return Status::Ok();
  }

  if (a.user_check && a.direction != Direction::kNone) {
    return Error(d.location, "[user_check] and a direction ([in]/[out]) are mutually exclusive on " + p +
                                 ": user_check passes the pointer unchecked and uncopied");
  }
  if (a.string && a.wstring) return Error(d.location, "[string] and [wstring] are mutually exclusive on " + p);
  if (a.string || a.wstring) {
    const char* name = a.string ? "[string]" : "[wstring]";
    bool ok_type = !is_arr && t.pointer_depth == 1 &&
                   t.base == (a.string ? BaseType::kChar : BaseType::kWChar);
    if (!ok_type) {
      return Error(d.location, std::string(name) + " needs a " + (a.string ? "char" : "wchar_t") +
                                   " pointer, but " + p + " has type " + Quote(t.ToString()) +
                                   (is_arr ? " (an array)" : ""));
    }
    if (a.direction == Direction::kOut) {
      return Error(d.location, std::string("[out, ") + (a.string ? "string" : "wstring") + "] is not allowed on " + p +
                                   ": a string's length comes from its terminator on the way in; use "
                                   "[in, string] or [in, out, string], or [out, size=n] for a buffer to fill");
    }
    if (a.direction == Direction::kNone) {
      return Error(d.location, std::string(name) + " on " + p + " needs [in] or [in, out]");
    }
    if (sized) {
      return Error(d.location, "size=/count= cannot be combined with " + std::string(name) + " on " + p +
                                   "; the length comes from the terminator");
    }
  }
  if (sized && a.direction == Direction::kNone) {
    return Error(d.location, "size=/count= on " + p + " need a direction ([in], [out] or [in, out])" +
                                 (a.user_check ? "; with [user_check] nothing is copied" : ""));
  }
  if (sized && is_arr) {
    return Error(d.location, "size=/count= cannot be used on " + p + ", which is declared as a fixed-size array");
  }
  if (a.direction == Direction::kNone && !a.user_check) {
    return Error(d.location, std::string(is_arr ? "array " : "pointer ") + typed +
                                 " needs a direction ([in], [out] or [in, out]) or [user_check]");
  }
  if (a.readonly && (a.direction == Direction::kOut || a.direction == Direction::kInOut)) {
    return Error(d.location, "[readonly] " + p + " cannot be [out]");
  }
  if (a.direction != Direction::kNone && is_ptr && t.base == BaseType::kVoid && t.pointer_depth == 1 &&
      !a.size.present()) {
    return Error(d.location, "void pointer " + p + " needs size= (a byte count) to be copied" +
                                 (a.count.present() ? "; count= has no element size for void" : ""));
  }
  if (a.direction != Direction::kNone && t.pointer_depth == 1 && a.size.present()) {
    Type pointee = t;
    pointee.pointer_depth = 0;
    if (const UserType* u = Composite(pointee); u && u->IsDeepCopy()) {
      return Error(d.location, "size= cannot be used on " + p + ", a pointer to deep-copy struct " +
                                   Quote(u->name) + "; use count= for the number of structs");
    }
  }
  CONFIDE_RETURN_IF_ERROR(CheckSizeRef(a.size, "size", f.params, f.name, false));
  CONFIDE_RETURN_IF_ERROR(CheckSizeRef(a.count, "count", f.params, f.name, false));
  for (const SizeSpec* s : {&a.size, &a.count}) {
    if (s->kind == SizeSpec::Kind::kName && s->name == d.name) {
      return Error(s->location, p + " cannot give its own size");
    }
  }
  return Status::Ok();
}

Result<Edl> Finish(const ResolvedFile& root) {
  Edl edl;
  edl.name = root.name;
  edl.path = root.path;
  edl.includes = root.includes;
  edl.types = root.types;
  edl.trusted = root.trusted;
  edl.untrusted = root.untrusted;
  edl.files = root.files;
  edl.warnings = root.warnings;

  std::set<std::string> allowed;
  for (const Function& f : edl.untrusted) {
    for (size_t i = 0; i < f.allow.size(); ++i) {
      const std::string& n = f.allow[i];
      SourceLocation at = i < f.allow_locations.size() ? f.allow_locations[i] : f.location;
      bool found = false;
      for (const Function& e : edl.trusted) found = found || e.name == n;
      if (!found) {
        bool is_ocall = false;
        for (const Function& o : edl.untrusted) is_ocall = is_ocall || o.name == n;
        return Error(at, "allow(" + n + ") in " + Quote(f.name) + ": " +
                             (is_ocall ? Quote(n) + " is an ocall; allow lists name ecalls (trusted functions)"
                                       : "no ecall named " + Quote(n) + " is declared or imported"));
      }
      allowed.insert(n);
    }
  }
  bool any_public = false;
  for (const Function& e : edl.trusted) {
    any_public = any_public || e.is_public;
    if (!e.is_public && !allowed.count(e.name)) {
      edl.warnings.push_back(WarningAt(e.location.file, e.location.line, e.location.column,
                                       "private ecall " + Quote(e.name) +
                                           " is not named in any allow(...) list, so nothing can call it"));
    }
  }
  if (!edl.trusted.empty() && !any_public) {
    edl.warnings.push_back(root.path + ": warning: no public ecall: the host cannot call into this enclave");
  }
  return edl;
}

}  // namespace confide::edl::internal
