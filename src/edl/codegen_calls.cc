// Emits the code of each call: the sender (host ecall proxy / enclave ocall proxy) and the
// receiver (enclave ecall dispatcher / host ocall dispatcher), plus the per-struct helpers
// that scrub padding and walk deep copies. Both sides use the same emitters, so the checks
// a host applies to an ocall frame are the enclave's checks on an ecall frame.
//
// Wire layout (docs/edl.md, "Generated code"): request item i = parameter i; then the deep
// copies' member buffers, depth first. Reply: the return value, one item per [out] / [in,out]
// parameter, the [in,out] deep copies' member buffers, then errno for propagate_errno.
#include <functional>

#include "edl/codegen.h"

namespace confide::edl::internal {

// Emitted once into the anonymous namespace of every generated source file.
const char kHelperRuntime[] = R"CONFIDE(
namespace confide_gen {

#ifndef CONFIDE_EDL_MAX_CALL_BYTES
// The most bytes of buffers one call may carry or make its receiver allocate. An [out]
// request makes the receiver allocate what the other side asks for; this bounds it.
#define CONFIDE_EDL_MAX_CALL_BYTES (size_t{1} << 30)
#endif
[[maybe_unused]] constexpr int kMaxDeepCopyDepth = 32;

using ScrubFn = void (*)(unsigned char*, size_t);
using MergeFn = void (*)(unsigned char*, const unsigned char*, size_t);
// Checks elements the other side sent back into `mine` (`theirs`, `bytes` long) before any
// of it is copied there; `what` names the parameter in errors.
using VerifyFn = confide::Status (*)(const unsigned char* mine, const unsigned char* theirs, size_t bytes,
                                     const char* what);

// Zero-filled, aligned storage owned by one side of a call; wiped when released.
class Local {
 public:
  Local() = default;
  Local(Local&& o) noexcept : p_(o.p_), n_(o.n_), align_(o.align_) {
    o.p_ = nullptr;
    o.n_ = 0;
  }
  Local(const Local&) = delete;
  Local& operator=(const Local&) = delete;
  Local& operator=(Local&&) = delete;
  ~Local() {
    if (p_ == nullptr) return;
    confide::SecureZero(p_, n_);
    ::operator delete(p_, std::align_val_t(align_));
  }
  [[nodiscard]] confide::Status Alloc(size_t n, size_t align, const char* what) {
    if (align < alignof(std::max_align_t)) align = alignof(std::max_align_t);
    size_t bytes = n == 0 ? 1 : n;  // never null, even for an empty buffer
    void* p = ::operator new(bytes, std::align_val_t(align), std::nothrow);
    if (p == nullptr)
      return confide::OutOfRange(std::string(what) + ": cannot allocate " + std::to_string(n) + " bytes");
    std::memset(p, 0, bytes);
    p_ = p;
    n_ = bytes;
    align_ = align;
    return confide::Status::Ok();
  }
  void* data() const { return p_; }

 private:
  void* p_ = nullptr;
  size_t n_ = 0;
  size_t align_ = 0;
};

class Budget {
 public:
  [[nodiscard]] confide::Status Take(size_t n, const char* what) {
    if (n > static_cast<size_t>(CONFIDE_EDL_MAX_CALL_BYTES) - used_)
      return confide::OutOfRange(std::string(what) + ": " + std::to_string(n) +
                                 " bytes would take this call past its limit of " +
                                 std::to_string(static_cast<size_t>(CONFIDE_EDL_MAX_CALL_BYTES)) +
                                 " bytes of buffers (CONFIDE_EDL_MAX_CALL_BYTES)");
    used_ += n;
    return confide::Status::Ok();
  }

 private:
  size_t used_ = 0;
};

struct RecvEntry {
  Local buf;
  size_t len = 0;
  bool null = true;
  ScrubFn scrub = nullptr;
};

struct SendEntry {
  void* dest = nullptr;
  size_t len = 0;
  bool null = true;
  MergeFn merge = nullptr;
  VerifyFn verify = nullptr;
};

template <typename E>
constexpr size_t ElemSize() {
  static_assert(!std::is_void_v<E>, "confide-edger8r: a pointer to void needs size= (void has no size)");
  return sizeof(E);
}
template <typename E>
constexpr size_t AlignOf() {
  if constexpr (std::is_void_v<E>) {
    return 1;
  } else {
    return alignof(E);
  }
}

// A size= / count= value as an unsigned count; a negative value is refused, not wrapped.
template <typename T>
[[nodiscard]] confide::Status Count(T v, const char* what, uint64_t* out) {
  if constexpr (std::is_enum_v<T>) {
    return Count(static_cast<std::underlying_type_t<T>>(v), what, out);
  } else {
    if constexpr (std::is_signed_v<T>) {
      if (v < 0)
        return confide::InvalidArgument(std::string(what) + " is negative (" +
                                        std::to_string(static_cast<long long>(v)) + ")");
    }
    *out = static_cast<uint64_t>(v);
    return confide::Status::Ok();
  }
}

[[maybe_unused]] confide::Status Bytes(uint64_t count, uint64_t unit, const char* what, size_t* out) {
  return confide::abi::CheckedSize(count, static_cast<size_t>(unit), what, out);
}

template <typename U>
bool InRange(U raw, long long lo, long long hi) {
  if constexpr (std::is_signed_v<U>) {
    return static_cast<long long>(raw) >= lo && static_cast<long long>(raw) <= hi;
  } else {
    return lo <= 0 && hi >= 0 && static_cast<unsigned long long>(raw) <= static_cast<unsigned long long>(hi);
  }
}

// A value call's argument or return value at `p` (abi::ValueHandler); a bool byte must be 0
// or 1 and an enum within its type's range, as for a frame's value items (GetBool, GetEnum).
template <typename T>
[[nodiscard]] confide::Status LoadValue(const unsigned char* p, const char*, T* out) {
  std::memcpy(out, p, sizeof(T));
  return confide::Status::Ok();
}
[[maybe_unused]] confide::Status LoadBool(const unsigned char* p, const char* what, bool* out) {
  if (p[0] > 1)
    return confide::InvalidArgument(std::string(what) + ": bool byte " + std::to_string(p[0]) + " is neither 0 nor 1");
  *out = p[0] == 1;
  return confide::Status::Ok();
}
template <typename E>
[[nodiscard]] confide::Status LoadEnum(const unsigned char* p, const char* what, long long lo, long long hi, E* out) {
  std::underlying_type_t<E> raw{};
  std::memcpy(&raw, p, sizeof raw);
  if (!InRange(raw, lo, hi))
    return confide::InvalidArgument(std::string(what) + ": " + std::to_string(raw) +
                                    " is outside the range of its enum type");
  std::memcpy(out, &raw, sizeof raw);
  return confide::Status::Ok();
}

// The same for a frame's value item.
[[maybe_unused]] confide::Status GetBool(const confide::abi::FrameView& v, size_t i, const char* what, bool* out) {
  uint8_t raw = 0;
  CONFIDE_RETURN_IF_ERROR(v.GetValue(i, what, &raw));
  return LoadBool(&raw, what, out);
}
template <typename E>
[[nodiscard]] confide::Status GetEnum(const confide::abi::FrameView& v, size_t i, const char* what, long long lo,
                                      long long hi, E* out) {
  std::underlying_type_t<E> raw{};
  CONFIDE_RETURN_IF_ERROR(v.GetValue(i, what, &raw));
  return LoadEnum(reinterpret_cast<const unsigned char*>(&raw), what, lo, hi, out);
}

[[maybe_unused]] confide::Status CheckBools(confide::ByteSpan s, const char* what) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] > 1)
      return confide::InvalidArgument(std::string(what) + ": element " + std::to_string(i) +
                                      " is a bool byte that is neither 0 nor 1");
  return confide::Status::Ok();
}

template <typename E>
[[nodiscard]] confide::Status CheckEnums(confide::ByteSpan s, long long lo, long long hi, const char* what) {
  using U = std::underlying_type_t<E>;
  for (size_t off = 0; off + sizeof(U) <= s.size(); off += sizeof(U)) {
    U raw;
    std::memcpy(&raw, s.data() + off, sizeof raw);
    if (!InRange(raw, lo, hi))
      return confide::InvalidArgument(std::string(what) + ": element " + std::to_string(off / sizeof(U)) + " (" +
                                      std::to_string(raw) + ") is outside the range of its enum type");
  }
  return confide::Status::Ok();
}

// Struct fields from the other side. `field` is "struct::member"; `k` the struct's index
// in its buffer, named only when the buffer holds several (`many`).
[[maybe_unused]] std::string FieldAt(const char* what, const char* field, size_t n, size_t j, size_t k, bool many) {
  std::string s = std::string(what) + ": ";
  if (many) s += "element " + std::to_string(k) + ", ";
  s += "field " + std::string(field);
  if (n > 1) s += "[" + std::to_string(j) + "]";
  return s;
}

// A bool field (or array of them) of `n` bytes.
[[maybe_unused]] confide::Status BoolField(const unsigned char* p, size_t n, const char* what, const char* field,
                                           size_t k, bool many) {
  for (size_t j = 0; j < n; ++j)
    if (p[j] > 1)
      return confide::InvalidArgument(FieldAt(what, field, n, j, k, many) + ": bool byte " + std::to_string(p[j]) +
                                      " is neither 0 nor 1");
  return confide::Status::Ok();
}

// An EDL enum field (or array of them) of `n` bytes.
template <typename E>
[[nodiscard]] confide::Status EnumField(const unsigned char* p, size_t n, long long lo, long long hi, const char* what,
                                        const char* field, size_t k, bool many) {
  using U = std::underlying_type_t<E>;
  for (size_t j = 0; (j + 1) * sizeof(U) <= n; ++j) {
    U raw;
    std::memcpy(&raw, p + j * sizeof(U), sizeof raw);
    if (!InRange(raw, lo, hi))
      return confide::InvalidArgument(FieldAt(what, field, n / sizeof(U), j, k, many) + ": " + std::to_string(raw) +
                                      " is outside the range of its enum type");
  }
  return confide::Status::Ok();
}

// A size= / count= member of an [in, out] deep copy as it came back (`theirs`) against the
// caller's (`mine`): the caller keeps its own buffers, of the sizes it sent, so a different
// value would make its struct describe memory it does not have.
template <typename T>
[[nodiscard]] confide::Status SameSize(const unsigned char* mine, const unsigned char* theirs, const char* what,
                                       const char* field, size_t k, bool many) {
  using U = typename std::conditional_t<std::is_enum_v<T>, std::underlying_type<T>, std::type_identity<T>>::type;
  U a, b;
  std::memcpy(&a, mine, sizeof a);
  std::memcpy(&b, theirs, sizeof b);
  if (a == b) return confide::Status::Ok();
  return confide::InvalidArgument(FieldAt(what, field, 1, 0, k, many) + " came back as " + std::to_string(b) +
                                  " but was sent as " + std::to_string(a) +
                                  "; the size= and count= members of an [in, out] deep copy must come back "
                                  "unchanged (the caller keeps its own buffers, of the sizes it sent)");
}

// Element checks as a VerifyFn, for deep-copy members pointing to bools, enums or structs.
using CheckFn = confide::Status (*)(const unsigned char*, size_t, const char*);
template <CheckFn Check>
[[nodiscard]] confide::Status ElemsOnly(const unsigned char*, const unsigned char* theirs, size_t bytes,
                                        const char* what) {
  return Check(theirs, bytes, what);
}
[[maybe_unused]] confide::Status BoolElems(const unsigned char* p, size_t n, const char* what) {
  return CheckBools(confide::ByteSpan(p, n), what);
}
template <typename E, long long Lo, long long Hi>
[[nodiscard]] confide::Status EnumElems(const unsigned char* p, size_t n, const char* what) {
  return CheckEnums<E>(confide::ByteSpan(p, n), Lo, Hi, what);
}

// A reply's buffer for a deep-copy member, checked against the caller's before copy-back.
[[maybe_unused]] confide::Status VerifyBack(const SendEntry& e, confide::ByteSpan theirs, const char* what) {
  if (e.verify == nullptr || theirs.data() == nullptr) return confide::Status::Ok();
  return e.verify(static_cast<const unsigned char*>(e.dest), theirs.data(), theirs.size(), what);
}

[[maybe_unused]] const unsigned char* Raw(const void* p) { return static_cast<const unsigned char*>(p); }

// The pointer handed to user code for an [in] item: the item itself when aligned for its
// element type (the frame is the receiver's own copy, kept until the call returns), else
// an aligned copy.
[[maybe_unused]] confide::Status InPlace(confide::ByteSpan s, size_t align, Local& copy, const char* what,
                                         void** out) {
  *out = nullptr;
  if (s.data() == nullptr) return confide::Status::Ok();
  if (reinterpret_cast<uintptr_t>(s.data()) % align == 0) {
    *out = const_cast<uint8_t*>(s.data());
    return confide::Status::Ok();
  }
  CONFIDE_RETURN_IF_ERROR(copy.Alloc(s.size(), align, what));
  if (!s.empty()) std::memcpy(copy.data(), s.data(), s.size());
  *out = copy.data();
  return confide::Status::Ok();
}

// A private, writable copy of an item ([in,out] buffers, deep-copied structs).
[[maybe_unused]] confide::Status Copy(confide::ByteSpan s, size_t align, Local& l, Budget& b, const char* what,
                                      void** out) {
  *out = nullptr;
  if (s.data() == nullptr) return confide::Status::Ok();
  CONFIDE_RETURN_IF_ERROR(b.Take(s.size(), what));
  CONFIDE_RETURN_IF_ERROR(l.Alloc(s.size(), align, what));
  if (!s.empty()) std::memcpy(l.data(), s.data(), s.size());
  *out = l.data();
  return confide::Status::Ok();
}

// What a sender puts on the wire for `n` bytes at `p`: the bytes themselves, or a copy in
// `tmp` with padding and deep-copy pointers zeroed when the elements are EDL structs.
[[maybe_unused]] confide::Status Outgoing(const void* p, size_t n, size_t align, ScrubFn scrub, Local& tmp,
                                          const void** out) {
  *out = p;
  if (p == nullptr || scrub == nullptr || n == 0) return confide::Status::Ok();
  CONFIDE_RETURN_IF_ERROR(tmp.Alloc(n, align, "outgoing struct copy"));
  std::memcpy(tmp.data(), p, n);
  scrub(static_cast<unsigned char*>(tmp.data()), n);
  *out = tmp.data();
  return confide::Status::Ok();
}

// A receiver's reply item for an output: its own buffer (scrubbed when it holds EDL
// structs), or a null item when the caller passed a null pointer.
[[maybe_unused]] void PutOut(confide::abi::FrameWriter& w, void* p, size_t n, ScrubFn scrub) {
  if (p != nullptr && scrub != nullptr) scrub(static_cast<unsigned char*>(p), n);
  w.Buffer(p, n);
}

[[maybe_unused]] void PutEntry(confide::abi::FrameWriter& w, RecvEntry& e) {
  if (e.null) {
    w.Buffer(nullptr, 0);
    return;
  }
  PutOut(w, e.buf.data(), e.len, e.scrub);
}

// A reply item for an output the caller passed as `p` with `n` bytes: exactly n bytes, never
// more or less, or a null item for a null pointer (DESIGN §5 rule 6).
[[maybe_unused]] confide::Status GetOut(const confide::abi::FrameView& v, size_t i, const char* what, const void* p,
                                        size_t n, confide::ByteSpan* out) {
  return v.GetBuffer(i, what, p != nullptr ? n : 0, p == nullptr, out);
}

[[maybe_unused]] void* Mut(const void* p) { return const_cast<void*>(p); }

[[maybe_unused]] void CopyBack(void* dest, confide::ByteSpan src, MergeFn merge) {
  if (dest == nullptr || src.empty()) return;
  if (merge != nullptr) {
    merge(static_cast<unsigned char*>(dest), src.data(), src.size());
  } else {
    std::memcpy(dest, src.data(), src.size());
  }
}

// An [in,out] string comes back terminated whatever the other side wrote.
[[maybe_unused]] void Terminate(void* p, size_t n, size_t char_size) {
  if (p == nullptr || n < char_size) return;
  std::memset(static_cast<unsigned char*>(p) + n - char_size, 0, char_size);
}

}  // namespace confide_gen
)CONFIDE";

namespace {

std::string Q(const std::string& s) { return "\"" + s + "\""; }

std::string LongLong(int64_t v) {
  if (v == INT64_MIN) return "(-9223372036854775807LL - 1)";
  return std::to_string(v) + "LL";
}

std::string StructType(const UserType* u) { return "struct " + u->name; }
std::string ScrubFn(const UserType* u) { return u ? "&confide_gen_scrub_" + u->name : "nullptr"; }

// Statements that set `size_t out` to the bytes a pointer covers per its attributes:
// (size= or the element size) x (count= or 1), each value refused if negative, the product
// refused on overflow. `ref` turns a parameter / member name into an expression.
std::string SizeCode(const Attributes& a, const std::string& elem, const std::string& fixed, const std::string& what,
                     const std::function<std::string(const std::string&)>& ref, const std::string& out,
                     const std::string& in) {
  if (!fixed.empty()) return in + "const size_t " + out + " = " + fixed + ";\n";
  std::string s = in + "size_t " + out + " = 0;\n" + in + "{\n";
  auto value = [&](const SizeSpec& spec, const char* attr, const std::string& var) {
    if (spec.kind == SizeSpec::Kind::kNumber) return in + "  " + var + " = " + std::to_string(spec.number) + "u;\n";
    return in + "  CONFIDE_RETURN_IF_ERROR(confide_gen::Count(" + ref(spec.name) + ", " +
           Q(std::string(attr) + "= of " + what) + ", &" + var + "));\n";
  };
  s += in + "  uint64_t confide_gen_c = 1, confide_gen_u = 0;\n";
  if (a.count.present()) s += value(a.count, "count", "confide_gen_c");
  if (a.size.present()) s += value(a.size, "size", "confide_gen_u");
  else s += in + "  confide_gen_u = confide_gen::ElemSize<" + elem + ">();\n";
  s += in + "  CONFIDE_RETURN_IF_ERROR(confide_gen::Bytes(confide_gen_c, confide_gen_u, " + Q(what) + ", &" + out +
       "));\n";
  s += in + "}\n";
  return s;
}

std::string ParamRef(const std::string& n) { return n; }

std::string ElemCheck(const ValueCheck& c, const std::string& span, const std::string& what, const std::string& in) {
  switch (c.kind) {
    case ValueCheck::Kind::kNone: return "";
    case ValueCheck::Kind::kBool:
      return in + "CONFIDE_RETURN_IF_ERROR(confide_gen::CheckBools(" + span + ", " + Q(what) + "));\n";
    case ValueCheck::Kind::kEnum:
      return in + "CONFIDE_RETURN_IF_ERROR(confide_gen::CheckEnums<" + c.type + ">(" + span + ", " + LongLong(c.lo) +
             ", " + LongLong(c.hi) + ", " + Q(what) + "));\n";
  }
  return "";
}

std::string ValueGet(const ValueCheck& c, const std::string& view, const std::string& idx, const std::string& what,
                     const std::string& var) {
  switch (c.kind) {
    case ValueCheck::Kind::kBool:
      return "confide_gen::GetBool(" + view + ", " + idx + ", " + Q(what) + ", &" + var + ")";
    case ValueCheck::Kind::kEnum:
      return "confide_gen::GetEnum(" + view + ", " + idx + ", " + Q(what) + ", " + LongLong(c.lo) + ", " +
             LongLong(c.hi) + ", &" + var + ")";
    case ValueCheck::Kind::kNone: break;
  }
  return view + ".GetValue(" + idx + ", " + Q(what) + ", &" + var + ")";
}

// `p` + offset of a value call's item: its bytes at `p`, checked like ValueGet.
std::string ValueLoad(const ValueCheck& c, const std::string& p, const std::string& what, const std::string& var) {
  switch (c.kind) {
    case ValueCheck::Kind::kBool: return "confide_gen::LoadBool(" + p + ", " + Q(what) + ", &" + var + ")";
    case ValueCheck::Kind::kEnum:
      return "confide_gen::LoadEnum(" + p + ", " + Q(what) + ", " + LongLong(c.lo) + ", " + LongLong(c.hi) + ", &" +
             var + ")";
    case ValueCheck::Kind::kNone: break;
  }
  return "confide_gen::LoadValue(" + p + ", " + Q(what) + ", &" + var + ")";
}

// Byte offsets of a value call's arguments (back to back, in parameter order) and their total.
// Inside a proxy or handler, sized by the earlier parameters' names, not their types: a later
// parameter may be named like one of those types (`uint64_t a, int uint64_t`) and hide it.
std::vector<std::string> ValueOffsets(const FunctionInfo& f, bool by_name, std::string* total) {
  std::vector<std::string> offs;
  std::string at = "0u";
  for (const ParamInfo& p : f.params) {
    offs.push_back(at);
    at += " + sizeof(" + (by_name ? p.decl->name : p.local_type) + ")";
  }
  if (total != nullptr) *total = at;
  return offs;
}

bool IsOutput(const ParamInfo& p) {
  if (p.kind == ParamKind::kValue || p.kind == ParamKind::kUserCheck) return false;
  return p.dir == Direction::kOut || p.dir == Direction::kInOut;
}

struct DeepMember {
  const Declaration* decl;
  std::string elem;
  const UserType* elem_struct;  // EDL struct pointee
  bool elem_deep;
  ValueCheck check;  // bool / enum pointee
};

std::vector<DeepMember> DeepMembers(const Model& m, const UserType& u) {
  std::vector<DeepMember> out;
  for (const Declaration& f : u.fields) {
    if (!f.attrs.size.present() && !f.attrs.count.present()) continue;
    Type e = f.type;
    --e.pointer_depth;
    const UserType* s = nullptr;
    if (e.pointer_depth == 0) {
      const UserType* t = m.edl->FindType(e.name);
      if ((e.base == BaseType::kStruct || e.base == BaseType::kForeign) && t && t->kind == UserType::Kind::kStruct)
        s = t;
    }
    out.push_back({&f, e.ToString(), s, s && s->IsDeepCopy(), CheckFor(*m.edl, e)});
  }
  return out;
}

const UserType* FieldStruct(const Model& m, const Declaration& f) {
  if (f.type.pointer_depth != 0) return nullptr;
  if (f.type.base != BaseType::kStruct && f.type.base != BaseType::kForeign) return nullptr;
  const UserType* t = m.edl->FindType(f.type.name);
  return t && t->kind == UserType::Kind::kStruct ? t : nullptr;
}

bool IsDeepMember(const Declaration& f) { return f.attrs.size.present() || f.attrs.count.present(); }

bool Checked(const Model& m, const UserType* u) { return u != nullptr && m.checked.count(u->name) != 0; }

// The members that size= / count= of a deep-copy struct's pointers name.
std::set<std::string> SizeFields(const UserType& u) {
  std::set<std::string> out;
  for (const Declaration& f : u.fields)
    for (const SizeSpec* spec : {&f.attrs.size, &f.attrs.count})
      if (spec->kind == SizeSpec::Kind::kName) out.insert(spec->name);
  return out;
}

std::string Field(const std::string& T, const std::string& f) { return "static_cast<" + T + "*>(nullptr)->" + f; }

// A statement refusing struct elements in `span` whose bool / enum fields are out of range.
std::string StructCheck(const Model& m, const UserType* u, const std::string& span, const std::string& what,
                        const std::string& in) {
  if (!Checked(m, u)) return "";
  return in + "CONFIDE_RETURN_IF_ERROR(confide_gen_check_" + u->name + "(" + span + ".data(), " + span +
         ".size(), " + Q(what) + "));\n";
}

// How a reply's buffer for a deep-copy member is checked before copy-back (VerifyFn).
std::string MemberVerify(const Model& m, const DeepMember& dm) {
  if (dm.elem_deep) return "&confide_gen_verify_" + dm.elem_struct->name;
  if (Checked(m, dm.elem_struct)) return "&confide_gen::ElemsOnly<&confide_gen_check_" + dm.elem_struct->name + ">";
  switch (dm.check.kind) {
    case ValueCheck::Kind::kBool: return "&confide_gen::ElemsOnly<&confide_gen::BoolElems>";
    case ValueCheck::Kind::kEnum:
      return "&confide_gen::ElemsOnly<&confide_gen::EnumElems<" + dm.check.type + ", " + LongLong(dm.check.lo) +
             ", " + LongLong(dm.check.hi) + ">>";
    case ValueCheck::Kind::kNone: break;
  }
  return "nullptr";
}

}  // namespace

std::string EmitStructHelpers(const Model& m) {
  std::string s;
  // Padding (DESIGN §5 rule 7): an EDL struct leaves a side only as fields copied one by one
  // into zeroed storage, so its padding never carries stack or heap bytes; deep-copy
  // pointers are left zero (the receiver sets its own).
  for (const UserType* u : m.structs) {
    const std::string T = StructType(u);
    s += "\n[[maybe_unused]] void confide_gen_scrub_one_" + u->name +
         "(const unsigned char* in, unsigned char* out) {\n";
    for (const Declaration& f : u->fields) {
      if (IsDeepMember(f)) continue;
      std::string off = "offsetof(" + T + ", " + f.name + ")";
      std::string fsize = "sizeof(static_cast<" + T + "*>(nullptr)->" + f.name + ")";
      if (const UserType* fs = FieldStruct(m, f)) {
        s += "  for (size_t i = 0; i < " + fsize + " / sizeof(" + StructType(fs) + "); ++i)\n";
        s += "    confide_gen_scrub_one_" + fs->name + "(in + " + off + " + i * sizeof(" + StructType(fs) +
             "), out + " + off + " + i * sizeof(" + StructType(fs) + "));\n";
      } else {
        s += "  confide::abi::CopyValue<decltype(static_cast<" + T + "*>(nullptr)->" + f.name + ")>(out + " + off +
             ", in + " + off + ");\n";
      }
    }
    s += "  (void)in;\n  (void)out;\n}\n";
    s += "[[maybe_unused]] void confide_gen_scrub_" + u->name + "(unsigned char* p, size_t bytes) {\n";
    s += "  unsigned char tmp[sizeof(" + T + ")];\n";
    s += "  for (size_t off = 0; off + sizeof tmp <= bytes; off += sizeof tmp) {\n";
    s += "    std::memset(tmp, 0, sizeof tmp);\n";
    s += "    confide_gen_scrub_one_" + u->name + "(p + off, tmp);\n";
    s += "    std::memcpy(p + off, tmp, sizeof tmp);\n  }\n";
    s += "  confide::SecureZero(tmp, sizeof tmp);\n}\n";
  }

  // Value checks: a bool byte other than 0/1 or an enum outside its range is undefined
  // behaviour to load, so struct elements from the other side are checked field by field,
  // into structs held by value, before C++ code sees them (as top-level bools and enums are).
  for (const UserType* u : m.structs)
    if (Checked(m, u))
      s += "[[maybe_unused]] confide::Status confide_gen_check_" + u->name +
           "(const unsigned char* p, size_t bytes, const char* what);\n";
  for (const UserType* u : m.structs) {
    if (!Checked(m, u)) continue;
    const std::string T = StructType(u);
    std::string body;
    bool direct = false;
    for (const Declaration& f : u->fields) {
      const std::string at = "e + offsetof(" + T + ", " + f.name + "), sizeof(" + Field(T, f.name) + ")";
      const std::string name = Q(u->name + "::" + f.name);
      const ValueCheck c = CheckFor(*m.edl, f.type);
      if (c.kind == ValueCheck::Kind::kBool) {
        body += "    CONFIDE_RETURN_IF_ERROR(confide_gen::BoolField(" + at + ", what, " + name + ", k, many));\n";
        direct = true;
      } else if (c.kind == ValueCheck::Kind::kEnum) {
        body += "    CONFIDE_RETURN_IF_ERROR(confide_gen::EnumField<" + c.type + ">(" + at + ", " + LongLong(c.lo) +
                ", " + LongLong(c.hi) + ", what, " + name + ", k, many));\n";
        direct = true;
      } else if (const UserType* fs = FieldStruct(m, f); Checked(m, fs)) {
        body += "    CONFIDE_RETURN_IF_ERROR(confide_gen_check_" + fs->name + "(" + at + ", what));\n";
      }
    }
    s += "\nconfide::Status confide_gen_check_" + u->name + "(const unsigned char* p, size_t bytes, const char* what) {\n";
    if (direct) s += "  const bool many = bytes > sizeof(" + T + ");\n";
    s += "  for (size_t off = 0" + std::string(direct ? ", k = 0" : "") + "; off + sizeof(" + T +
         ") <= bytes; off += sizeof(" + T + ")" + (direct ? ", ++k" : "") + ") {\n";
    s += "    const unsigned char* e = p + off;\n" + body + "  }\n  return confide::Status::Ok();\n}\n";
  }

  // [in, out] deep copies coming back: the caller keeps its own pointers and buffers, so the
  // size= / count= members that describe those buffers must come back as they were sent.
  // Every element is verified before any is merged, so a refused reply changes nothing.
  for (const UserType* u : m.structs) {
    if (!u->IsDeepCopy()) continue;
    const std::string T = StructType(u);
    const std::set<std::string> sizes = SizeFields(*u);
    s += "\n[[maybe_unused]] confide::Status confide_gen_verify_" + u->name +
         "(const unsigned char* mine, const unsigned char* theirs, size_t bytes, const char* what) {\n";
    if (sizes.empty()) {
      s += "  (void)mine;\n";
      if (!Checked(m, u)) s += "  (void)theirs;\n  (void)bytes;\n  (void)what;\n";
    } else {
      s += "  const bool many = bytes > sizeof(" + T + ");\n";
      s += "  for (size_t off = 0, k = 0; off + sizeof(" + T + ") <= bytes; off += sizeof(" + T + "), ++k) {\n";
      for (const Declaration& f : u->fields) {
        if (!sizes.count(f.name)) continue;
        const std::string off = "off + offsetof(" + T + ", " + f.name + ")";
        s += "    CONFIDE_RETURN_IF_ERROR(confide_gen::SameSize<std::remove_cv_t<decltype(" + Field(T, f.name) +
             ")>>(mine + " + off + ", theirs + " + off + ", what, " + Q(u->name + "::" + f.name) + ", k, many));\n";
      }
      s += "  }\n";
    }
    if (Checked(m, u)) s += "  return confide_gen_check_" + u->name + "(theirs, bytes, what);\n}\n";
    else s += "  return confide::Status::Ok();\n}\n";
    // Merging keeps the caller's pointers and (verified equal) sizes; the rest comes back.
    s += "[[maybe_unused]] void confide_gen_merge_" + u->name +
         "(unsigned char* dest, const unsigned char* src, size_t bytes) {\n";
    std::string copies;
    for (const Declaration& f : u->fields) {
      if (IsDeepMember(f) || sizes.count(f.name)) continue;
      std::string off = "offsetof(" + T + ", " + f.name + ")";
      copies += "    std::memcpy(dest + off + " + off + ", src + off + " + off + ", sizeof(" + Field(T, f.name) + "));\n";
    }
    if (copies.empty())
      s += "  (void)dest;\n  (void)src;\n  (void)bytes;\n}\n";
    else
      s += "  for (size_t off = 0; off + sizeof(" + T + ") <= bytes; off += sizeof(" + T + ")) {\n" + copies + "  }\n}\n";
  }

  // Deep copy: the member buffers of an array of structs travel as extra items after the
  // parameters, depth first. Sizes come from the struct as each side holds it.
  for (const UserType* u : m.structs) {
    if (!u->IsDeepCopy()) continue;
    s += "[[maybe_unused]] confide::Status confide_gen_send_" + u->name + "(const " + StructType(u) +
         "* elems, uint64_t n, confide::abi::FrameWriter& w, std::vector<confide_gen::SendEntry>& out, "
         "confide_gen::Budget& budget, int depth);\n";
    s += "[[maybe_unused]] confide::Status confide_gen_recv_" + u->name + "(" + StructType(u) +
         "* elems, uint64_t n, const confide::abi::FrameView& req, size_t& idx, "
         "std::vector<confide_gen::RecvEntry>& store, confide_gen::Budget& budget, int depth);\n";
  }
  for (const UserType* u : m.structs) {
    if (!u->IsDeepCopy()) continue;
    const std::string T = StructType(u);
    std::vector<DeepMember> members = DeepMembers(m, *u);
    const std::string too_deep = "  if (depth > confide_gen::kMaxDeepCopyDepth)\n    return confide::OutOfRange(" +
                                 Q("deep copy of struct " + u->name + " nests more than 32 levels deep") + ");\n";
    // Sender.
    s += "\nconfide::Status confide_gen_send_" + u->name + "(const " + T +
         "* elems, uint64_t n, confide::abi::FrameWriter& w, std::vector<confide_gen::SendEntry>& out, "
         "confide_gen::Budget& budget, int depth) {\n" + too_deep;
    s += "  for (uint64_t k = 0; k < n; ++k) {\n    const " + T + "& e = elems[k];\n";
    for (const DeepMember& dm : members) {
      const std::string what = u->name + "::" + dm.decl->name;
      auto ref = [](const std::string& n) { return "e." + n; };
      s += "    {\n" + SizeCode(dm.decl->attrs, dm.elem, "", what, ref, "len", "      ");
      s += "      if (e." + dm.decl->name + " != nullptr) CONFIDE_RETURN_IF_ERROR(budget.Take(len, " + Q(what) + "));\n";
      s += "      if (out.size() >= confide::abi::kMaxItems)\n        return confide::OutOfRange(" +
           Q("deep copy of struct " + u->name + " needs more items than a call frame may hold") + ");\n";
      s += "      confide_gen::Local tmp;\n      const void* src = nullptr;\n";
      s += "      CONFIDE_RETURN_IF_ERROR(confide_gen::Outgoing(e." + dm.decl->name + ", len, confide_gen::AlignOf<" +
           dm.elem + ">(), " + ScrubFn(dm.elem_struct) + ", tmp, &src));\n";
      s += "      w.Buffer(src, len);\n";
      s += "      out.push_back({confide_gen::Mut(e." + dm.decl->name + "), len, e." + dm.decl->name + " == nullptr, " +
           (dm.elem_deep ? "&confide_gen_merge_" + dm.elem_struct->name : std::string("nullptr")) + ", " +
           MemberVerify(m, dm) + "});\n";
      if (dm.elem_deep)
        s += "      if (e." + dm.decl->name + " != nullptr)\n        CONFIDE_RETURN_IF_ERROR(confide_gen_send_" +
             dm.elem_struct->name + "(e." + dm.decl->name + ", len / sizeof(" + StructType(dm.elem_struct) +
             "), w, out, budget, depth + 1));\n";
      s += "    }\n";
    }
    s += "  }\n  return confide::Status::Ok();\n}\n";
    // Receiver: every deep pointer is overwritten with the receiver's own copy or null,
    // whatever the frame's struct bytes held.
    s += "\nconfide::Status confide_gen_recv_" + u->name + "(" + T +
         "* elems, uint64_t n, const confide::abi::FrameView& req, size_t& idx, "
         "std::vector<confide_gen::RecvEntry>& store, confide_gen::Budget& budget, int depth) {\n" + too_deep;
    s += "  for (uint64_t k = 0; k < n; ++k) {\n    " + T + "& e = elems[k];\n";
    for (const DeepMember& dm : members) {
      const std::string what = u->name + "::" + dm.decl->name;
      auto ref = [](const std::string& n) { return "e." + n; };
      s += "    {\n      e." + dm.decl->name + " = nullptr;\n";
      s += SizeCode(dm.decl->attrs, dm.elem, "", what, ref, "len", "      ");
      s += "      confide::ByteSpan span;\n";
      s += "      CONFIDE_RETURN_IF_ERROR(req.GetBuffer(idx, " + Q(what) + ", len, true, &span));\n";
      s += ElemCheck(dm.check, "span", what, "      ");
      s += StructCheck(m, dm.elem_struct, "span", what, "      ");
      s += "      ++idx;\n      size_t slot = store.size();\n      store.emplace_back();\n";
      s += "      if (span.data() != nullptr) {\n";
      s += "        CONFIDE_RETURN_IF_ERROR(budget.Take(len, " + Q(what) + "));\n";
      s += "        confide_gen::RecvEntry& r = store[slot];\n";
      s += "        CONFIDE_RETURN_IF_ERROR(r.buf.Alloc(len, confide_gen::AlignOf<" + dm.elem + ">(), " + Q(what) +
           "));\n";
      s += "        if (len != 0) std::memcpy(r.buf.data(), span.data(), len);\n";
      s += "        r.len = len;\n        r.null = false;\n        r.scrub = " + ScrubFn(dm.elem_struct) + ";\n";
      s += "        e." + dm.decl->name + " = static_cast<" + dm.decl->type.ToString() + ">(r.buf.data());\n";
      if (dm.elem_deep)
        s += "        CONFIDE_RETURN_IF_ERROR(confide_gen_recv_" + dm.elem_struct->name + "(static_cast<" +
             StructType(dm.elem_struct) + "*>(r.buf.data()), len / sizeof(" + StructType(dm.elem_struct) +
             "), req, idx, store, budget, depth + 1));\n";
      s += "      }\n    }\n";
    }
    s += "  }\n  return confide::Status::Ok();\n}\n";
  }
  return s;
}

std::string EmitReceiver(const Model& m, const FunctionInfo& f, Side side) {
  const bool t = side == Side::kTrusted;
  const std::string& name = f.fn->name;
  const size_t np = f.params.size();
  bool any_deep = false;
  for (const ParamInfo& p : f.params) any_deep = any_deep || p.kind == ParamKind::kDeep;

  std::string s = "\n// " + std::string(t ? "ecall" : "ocall") + " " + name + "\n";
  s += "[[maybe_unused]] confide::Status confide_gen_" + std::string(t ? "ecall_" : "ocall_") + name +
       "(const confide::abi::FrameView& confide_gen_req, confide::abi::FrameWriter& confide_gen_reply) {\n";
  if (np != 0)
    s += "  if (confide_gen_req.size() < " + std::to_string(np) + "u) return confide_gen_req.ExpectItems(" +
         std::to_string(np) + "u);\n";
  s += "  confide_gen::Budget confide_gen_budget;\n  (void)confide_gen_budget;\n  (void)confide_gen_reply;\n";
  const std::string call = std::string(t ? "ecall '" : "ocall '") + name + "'";
  // 1. Values first: every size= / count= below is evaluated on these copies (rule 2, 3).
  for (size_t i = 0; i < np; ++i) {
    const ParamInfo& p = f.params[i];
    const std::string& pn = p.decl->name;
    if (p.kind == ParamKind::kValue) {
      s += "  " + p.local_type + " " + pn + "{};\n";
      s += "  CONFIDE_RETURN_IF_ERROR(" + ValueGet(p.check, "confide_gen_req", std::to_string(i) + "u", pn, pn) + ");\n";
      if (Checked(m, p.elem_struct))
        s += "  CONFIDE_RETURN_IF_ERROR(confide_gen_check_" + p.elem_struct->name + "(confide_gen::Raw(&" + pn +
             "), sizeof " + pn + ", " + Q(call + ": " + pn) + "));\n";
    } else if (p.kind == ParamKind::kUserCheck) {
      s += "  " + p.local_type + " " + pn + " = nullptr;\n";
      s += "  CONFIDE_RETURN_IF_ERROR(confide_gen_req.GetValue(" + std::to_string(i) + "u, " + Q(pn) + ", &" + pn +
           "));\n";
    }
  }
  // 2. Pointers: lengths checked against the attributes, strings' terminators checked,
  // outputs allocated zeroed in this side's memory.
  for (size_t i = 0; i < np; ++i) {
    const ParamInfo& p = f.params[i];
    if (p.kind == ParamKind::kValue || p.kind == ParamKind::kUserCheck) continue;
    const std::string& pn = p.decl->name;
    const std::string idx = std::to_string(i) + "u";
    const std::string v = "confide_gen_v_" + pn, l = "confide_gen_l_" + pn, n = "confide_gen_n_" + pn;
    const std::string align = "confide_gen::AlignOf<" + p.elem + ">()";
    s += "  void* " + v + " = nullptr;\n  confide_gen::Local " + l + ";\n";
    if (p.kind == ParamKind::kString) {
      s += "  size_t " + n + " = 0;\n  {\n    confide::ByteSpan confide_gen_s;\n";
      s += "    CONFIDE_RETURN_IF_ERROR(confide_gen_req.GetString(" + idx + ", " + Q(pn) + ", sizeof(" + p.elem +
           "), true, &confide_gen_s));\n";
      s += "    " + n + " = confide_gen_s.size();\n";
      if (p.dir == Direction::kInOut)
        s += "    CONFIDE_RETURN_IF_ERROR(confide_gen::Copy(confide_gen_s, " + align + ", " + l +
             ", confide_gen_budget, " + Q(pn) + ", &" + v + "));\n";
      else
        s += "    CONFIDE_RETURN_IF_ERROR(confide_gen::InPlace(confide_gen_s, " + align + ", " + l + ", " + Q(pn) +
             ", &" + v + "));\n";
      s += "  }\n";
    } else {
      std::string elem = p.kind == ParamKind::kDeep ? StructType(p.deep) : p.elem;
      s += SizeCode(p.decl->attrs, elem, p.fixed_bytes, pn, ParamRef, n, "  ");
      if (p.dir == Direction::kOut) {
        s += "  {\n    bool confide_gen_null = true;\n";
        s += "    CONFIDE_RETURN_IF_ERROR(confide_gen_req.GetOutRequest(" + idx + ", " + Q(pn) + ", " + n +
             ", &confide_gen_null));\n";
        s += "    if (!confide_gen_null) {\n";
        s += "      CONFIDE_RETURN_IF_ERROR(confide_gen_budget.Take(" + n + ", " + Q(pn) + "));\n";
        s += "      CONFIDE_RETURN_IF_ERROR(" + l + ".Alloc(" + n + ", " + align + ", " + Q(pn) + "));\n";
        s += "      " + v + " = " + l + ".data();\n    }\n  }\n";
      } else {
        s += "  {\n    confide::ByteSpan confide_gen_s;\n";
        s += "    CONFIDE_RETURN_IF_ERROR(confide_gen_req.GetBuffer(" + idx + ", " + Q(pn) + ", " + n +
             ", true, &confide_gen_s));\n";
        s += ElemCheck(p.check, "confide_gen_s", pn, "    ");
        s += StructCheck(m, p.elem_struct, "confide_gen_s", call + ": " + pn, "    ");
        if (p.dir == Direction::kInOut || p.kind == ParamKind::kDeep)
          s += "    CONFIDE_RETURN_IF_ERROR(confide_gen::Copy(confide_gen_s, " + align + ", " + l +
               ", confide_gen_budget, " + Q(pn) + ", &" + v + "));\n";
        else
          s += "    CONFIDE_RETURN_IF_ERROR(confide_gen::InPlace(confide_gen_s, " + align + ", " + l + ", " + Q(pn) +
               ", &" + v + "));\n";
        s += "  }\n";
      }
    }
    s += "  " + p.local_type + " " + pn + " = static_cast<" + p.local_type + ">(" + v + ");\n";
    s += "  (void)" + n + ";\n";
  }
  // 3. Deep copies: the member buffers, then the exact item count.
  if (any_deep) {
    s += "  size_t confide_gen_idx = " + std::to_string(np) + "u;\n";
    s += "  std::vector<confide_gen::RecvEntry> confide_gen_deep;\n";
    for (const ParamInfo& p : f.params) {
      if (p.kind != ParamKind::kDeep) continue;
      const std::string& pn = p.decl->name;
      s += "  const size_t confide_gen_from_" + pn + " = confide_gen_deep.size();\n";
      s += "  if (confide_gen_v_" + pn + " != nullptr)\n    CONFIDE_RETURN_IF_ERROR(confide_gen_recv_" + p.deep->name +
           "(static_cast<" + StructType(p.deep) + "*>(confide_gen_v_" + pn + "), confide_gen_n_" + pn + " / sizeof(" +
           StructType(p.deep) + "), confide_gen_req, confide_gen_idx, confide_gen_deep, confide_gen_budget, 0));\n";
      s += "  const size_t confide_gen_to_" + pn + " = confide_gen_deep.size();\n";
      s += "  (void)confide_gen_from_" + pn + ";\n  (void)confide_gen_to_" + pn + ";\n";
    }
    s += "  CONFIDE_RETURN_IF_ERROR(confide_gen_req.ExpectItems(confide_gen_idx));\n";
  } else {
    s += "  CONFIDE_RETURN_IF_ERROR(confide_gen_req.ExpectItems(" + std::to_string(np) + "u));\n";
  }
  // 4. The user's function.
  std::string args;
  for (size_t i = 0; i < np; ++i) args += (i ? ", " : "") + f.params[i].decl->name;
  s += "  " + (f.ret_void ? std::string() : f.ret_type + " confide_gen_ret = ") + name + "(" + args + ");\n";
  const bool send_errno = !t && f.fn->propagate_errno;
  if (send_errno) s += "  const int confide_gen_errno = errno;\n";
  // 5. The reply.
  if (!f.ret_void) {
    if (f.ret_struct) {
      s += "  {\n    unsigned char confide_gen_t[sizeof(" + f.ret_type + ")];\n";
      s += "    std::memcpy(confide_gen_t, &confide_gen_ret, sizeof confide_gen_t);\n";
      s += "    " + std::string("confide_gen_scrub_") + f.ret_struct->name + "(confide_gen_t, sizeof confide_gen_t);\n";
      s += "    confide_gen_reply.Value(confide_gen_t, sizeof confide_gen_t);\n";
      s += "    confide::SecureZero(confide_gen_t, sizeof confide_gen_t);\n  }\n";
    } else {
      s += "  confide_gen_reply.Value(confide_gen_ret);\n";
    }
  }
  for (const ParamInfo& p : f.params) {
    if (!IsOutput(p)) continue;
    const std::string& pn = p.decl->name;
    std::string scrub = p.kind == ParamKind::kDeep ? ScrubFn(p.deep)
                        : p.kind == ParamKind::kBuffer ? ScrubFn(p.elem_struct)
                                                       : "nullptr";
    s += "  confide_gen::PutOut(confide_gen_reply, confide_gen_v_" + pn + ", confide_gen_n_" + pn + ", " + scrub +
         ");\n";
  }
  for (const ParamInfo& p : f.params) {
    if (p.kind != ParamKind::kDeep || p.dir != Direction::kInOut) continue;
    const std::string& pn = p.decl->name;
    s += "  for (size_t i = confide_gen_from_" + pn + "; i < confide_gen_to_" + pn +
         "; ++i) confide_gen::PutEntry(confide_gen_reply, confide_gen_deep[i]);\n";
  }
  if (send_errno) s += "  confide_gen_reply.Value(confide_gen_errno);\n";
  s += "  return confide::Status::Ok();\n}\n";
  if (t && f.value_call) s += EmitValueReceiver(f);
  return s;
}

std::string EmitValueReceiver(const FunctionInfo& f) {
  const std::string& name = f.fn->name;
  std::string total;
  ValueOffsets(f, false, &total);  // at namespace scope, where no parameter hides a type
  std::vector<std::string> offs = ValueOffsets(f, true, nullptr);
  std::string s = "constexpr uint32_t confide_gen_args_" + name + " = " + total + ";\n";
  s += "constexpr uint32_t confide_gen_ret_" + name + " = " + (f.ret_void ? "0u" : "sizeof(" + f.ret_type + ")") + ";\n";
  s += "[[maybe_unused]] confide::Status confide_gen_values_" + name +
       "(const uint8_t* confide_gen_a, uint8_t* confide_gen_r) {\n";
  s += "  (void)confide_gen_a;\n  (void)confide_gen_r;\n";
  std::string args;
  for (size_t i = 0; i < f.params.size(); ++i) {
    const ParamInfo& p = f.params[i];
    const std::string& pn = p.decl->name;
    s += "  " + p.local_type + " " + pn + "{};\n";
    s += "  CONFIDE_RETURN_IF_ERROR(" +
         ValueLoad(p.check, "confide_gen_a + " + offs[i], "ecall '" + name + "': " + pn, pn) + ");\n";
    args += (i ? ", " : "") + pn;
  }
  if (f.ret_void) {
    s += "  " + name + "(" + args + ");\n";
  } else {
    s += "  " + f.ret_type + " confide_gen_ret = " + name + "(" + args + ");\n";
    s += "  confide::abi::StoreValue(confide_gen_r, confide_gen_ret);\n";
  }
  s += "  return confide::Status::Ok();\n}\n";
  return s;
}

// A host proxy for an ecall that takes value calls: its arguments' bytes on the stack, one
// Enclave::CallValues, the return value checked as a frame's would be.
std::string EmitValueSender(const FunctionInfo& f) {
  const std::string& name = f.fn->name;
  const std::string enc = f.fn->FindParam("enclave") ? "confide_gen_enclave" : "enclave";
  std::string total;
  std::vector<std::string> offs = ValueOffsets(f, true, &total);
  std::string s = "\n" + SenderSignature(f, Side::kUntrusted, true) + " {\n";
  // Qualified: a parameter may be named uint8_t or size_t.
  s += "  constexpr ::size_t confide_gen_n = " + total + ";\n";
  s += "  ::uint8_t confide_gen_a[confide_gen_n + 1];\n";
  for (size_t i = 0; i < f.params.size(); ++i) {
    const std::string& pn = f.params[i].decl->name;
    s += "  confide::abi::StoreValue(confide_gen_a + " + offs[i] + ", " + pn + ");\n";
  }
  if (f.ret_void) {
    s += "  return " + enc + ".CallValues(" + std::to_string(f.id) + "u, confide_gen_a, confide_gen_n, nullptr, 0);\n}\n";
    return s;
  }
  s += "  ::uint8_t confide_gen_r[sizeof(" + f.ret_type + ")];\n";
  s += "  CONFIDE_RETURN_IF_ERROR(" + enc + ".CallValues(" + std::to_string(f.id) +
       "u, confide_gen_a, confide_gen_n, confide_gen_r, sizeof confide_gen_r));\n";
  s += "  " + f.ret_type + " confide_gen_ret{};\n";
  s += "  CONFIDE_RETURN_IF_ERROR(" +
       ValueLoad(f.ret_check, "confide_gen_r", "reply of ecall '" + name + "': return value", "confide_gen_ret") +
       ");\n";
  s += "  return confide_gen_ret;\n}\n";
  return s;
}

std::string EmitSender(const Model& m, const FunctionInfo& f, Side side) {
  const bool host = side == Side::kUntrusted;
  if (host && f.value_call) return EmitValueSender(f);
  const std::string& name = f.fn->name;
  const bool recv_errno = !host && f.fn->propagate_errno;
  std::string s = "\n" + SenderSignature(f, side, true) + " {\n";
  s += "  confide_gen::Budget confide_gen_budget;\n  (void)confide_gen_budget;\n";
  // Host proxies write into the calling thread's reusable call buffers (no allocation once
  // warm), which also hold the call's thread slot and put the frame where the enclave reads
  // it; enclave-side ocall proxies keep a writer of their own.
  const std::string enc = f.fn->FindParam("enclave") ? "confide_gen_enclave" : "enclave";
  if (host) s += "  confide::CallBuffers confide_gen_b(" + enc + ");\n  confide::abi::FrameWriter confide_gen_w(confide_gen_b.request());\n";
  else s += "  confide::abi::FrameWriter confide_gen_w;\n";
  s += "  size_t confide_gen_cap = confide::abi::kFrameHeaderSize;\n";
  size_t static_items = 0;
  if (!f.ret_void) {
    s += "  confide_gen_cap += confide::abi::ItemSize(sizeof(" + f.ret_type + "));\n";
    ++static_items;
  }
  bool any_deep = false;
  for (const ParamInfo& p : f.params) {
    const std::string& pn = p.decl->name;
    const std::string n = "confide_gen_n_" + pn;
    switch (p.kind) {
      case ParamKind::kValue:
        if (p.elem_struct) {
          s += "  {\n    unsigned char confide_gen_t[sizeof(" + p.local_type + ")];\n";
          s += "    std::memcpy(confide_gen_t, &" + pn + ", sizeof confide_gen_t);\n";
          s += "    confide_gen_scrub_" + p.elem_struct->name + "(confide_gen_t, sizeof confide_gen_t);\n";
          s += "    confide_gen_w.Value(confide_gen_t, sizeof confide_gen_t);\n  }\n";
        } else {
          s += "  confide_gen_w.Value(" + pn + ");\n";
        }
        break;
      case ParamKind::kUserCheck:
        s += "  confide_gen_w.Value(" + pn + ");\n";
        break;
      case ParamKind::kString: {
        std::string len = p.wide ? "(std::wcslen(" + pn + ") + 1) * sizeof(wchar_t)" : "std::strlen(" + pn + ") + 1";
        s += "  const size_t " + n + " = " + pn + " != nullptr ? " + len + " : 0;\n";
        s += "  CONFIDE_RETURN_IF_ERROR(confide_gen_budget.Take(" + n + ", " + Q(pn) + "));\n";
        s += "  confide_gen_w.Buffer(" + pn + ", " + n + ");\n";
        break;
      }
      case ParamKind::kBuffer:
      case ParamKind::kDeep: {
        any_deep = any_deep || p.kind == ParamKind::kDeep;
        std::string elem = p.kind == ParamKind::kDeep ? StructType(p.deep) : p.elem;
        const UserType* scrub = p.kind == ParamKind::kDeep ? p.deep : p.elem_struct;
        s += SizeCode(p.decl->attrs, elem, p.fixed_bytes, pn, ParamRef, n, "  ");
        s += "  if (" + pn + " != nullptr) CONFIDE_RETURN_IF_ERROR(confide_gen_budget.Take(" + n + ", " + Q(pn) +
             "));\n";
        if (p.dir == Direction::kOut) {
          s += "  confide_gen_w.OutRequest(" + pn + ", " + n + ");\n";
        } else {
          s += "  {\n    confide_gen::Local confide_gen_t;\n    const void* confide_gen_src = nullptr;\n";
          s += "    CONFIDE_RETURN_IF_ERROR(confide_gen::Outgoing(" + pn + ", " + n + ", confide_gen::AlignOf<" +
               elem + ">(), " + ScrubFn(scrub) + ", confide_gen_t, &confide_gen_src));\n";
          s += "    confide_gen_w.Buffer(confide_gen_src, " + n + ");\n  }\n";
        }
        break;
      }
    }
    if (IsOutput(p)) {
      s += "  confide_gen_cap += confide::abi::ItemSize(" + pn + " != nullptr ? " + n + " : 0);\n";
      ++static_items;
    }
  }
  if (recv_errno) {
    s += "  confide_gen_cap += confide::abi::ItemSize(sizeof(int));\n";
    ++static_items;
  }
  s += "  size_t confide_gen_items = " + std::to_string(static_items) + "u;\n";
  if (any_deep) {
    s += "  std::vector<confide_gen::SendEntry> confide_gen_deep;\n";
    for (const ParamInfo& p : f.params) {
      if (p.kind != ParamKind::kDeep) continue;
      const std::string& pn = p.decl->name;
      s += "  const size_t confide_gen_from_" + pn + " = confide_gen_deep.size();\n";
      s += "  if (" + pn + " != nullptr)\n    CONFIDE_RETURN_IF_ERROR(confide_gen_send_" + p.deep->name + "(" + pn +
           ", confide_gen_n_" + pn + " / sizeof(" + StructType(p.deep) +
           "), confide_gen_w, confide_gen_deep, confide_gen_budget, 0));\n";
      s += "  const size_t confide_gen_to_" + pn + " = confide_gen_deep.size();\n";
      s += "  (void)confide_gen_from_" + pn + ";\n  (void)confide_gen_to_" + pn + ";\n";
      if (p.dir == Direction::kInOut) {
        s += "  for (size_t i = confide_gen_from_" + pn + "; i < confide_gen_to_" + pn +
             "; ++i) confide_gen_cap += confide::abi::ItemSize(confide_gen_deep[i].len);\n";
        s += "  confide_gen_items += confide_gen_to_" + pn + " - confide_gen_from_" + pn + ";\n";
      }
    }
  }
  // The call. A reply larger than confide_gen_cap is refused before it is parsed.
  std::string what;
  if (host) {
    s += "  CONFIDE_RETURN_IF_ERROR(" + enc + ".Call(" + std::to_string(f.id) +
         "u, confide_gen_w, confide_gen_cap, confide_gen_b));\n";
    s += "  const confide::ByteSpan confide_gen_rep = confide_gen_b.reply().span();\n";
    what = "reply of ecall '" + name + "'";
  } else {
    s += "  CONFIDE_ASSIGN_OR_RETURN(confide::Bytes confide_gen_rep, confide::trusted::Ocall(" + std::to_string(f.id) +
         "u, confide_gen_w.Finish(), confide_gen_cap));\n";
    what = "reply of ocall '" + name + "'";
  }
  s += "  confide::abi::FrameView confide_gen_v;\n";
  s += "  CONFIDE_RETURN_IF_ERROR(confide::abi::FrameView::Parse(confide_gen_rep, " + Q(what) + ", &confide_gen_v));\n";
  s += "  CONFIDE_RETURN_IF_ERROR(confide_gen_v.ExpectItems(confide_gen_items));\n";
  s += "  size_t confide_gen_ri = 0;\n";
  // Every reply item is checked before anything is copied to the caller (rule 6): lengths,
  // bool / enum values (in structs too), and the sizes in [in, out] deep copies.
  if (!f.ret_void) {
    s += "  " + f.ret_type + " confide_gen_ret{};\n";
    s += "  CONFIDE_RETURN_IF_ERROR(" +
         ValueGet(f.ret_check, "confide_gen_v", "confide_gen_ri++", "return value", "confide_gen_ret") + ");\n";
    if (Checked(m, f.ret_struct))
      s += "  CONFIDE_RETURN_IF_ERROR(confide_gen_check_" + f.ret_struct->name +
           "(confide_gen::Raw(&confide_gen_ret), sizeof confide_gen_ret, " + Q(what + ": return value") + "));\n";
  }
  for (const ParamInfo& p : f.params) {
    if (!IsOutput(p)) continue;
    const std::string& pn = p.decl->name;
    s += "  confide::ByteSpan confide_gen_o_" + pn + ";\n";
    s += "  CONFIDE_RETURN_IF_ERROR(confide_gen::GetOut(confide_gen_v, confide_gen_ri++, " + Q(pn) + ", " + pn +
         ", confide_gen_n_" + pn + ", &confide_gen_o_" + pn + "));\n";
    if (p.kind == ParamKind::kBuffer) {
      s += ElemCheck(p.check, "confide_gen_o_" + pn, pn, "  ");
      s += StructCheck(m, p.elem_struct, "confide_gen_o_" + pn, what + ": " + pn, "  ");
    }
    if (p.kind == ParamKind::kDeep)
      s += "  CONFIDE_RETURN_IF_ERROR(confide_gen_verify_" + p.deep->name + "(confide_gen::Raw(" + pn +
           "), confide_gen_o_" + pn + ".data(), confide_gen_o_" + pn + ".size(), " + Q(what + ": " + pn) + "));\n";
  }
  bool deep_out = false;
  for (const ParamInfo& p : f.params) {
    if (p.kind != ParamKind::kDeep || p.dir != Direction::kInOut) continue;
    const std::string& pn = p.decl->name;
    if (!deep_out) s += "  std::vector<confide::ByteSpan> confide_gen_dspans(confide_gen_deep.size());\n";
    deep_out = true;
    s += "  for (size_t i = confide_gen_from_" + pn + "; i < confide_gen_to_" + pn + "; ++i) {\n";
    s += "    CONFIDE_RETURN_IF_ERROR(confide_gen::GetOut(confide_gen_v, confide_gen_ri++, " +
         Q(pn + " (deep copy)") + ", confide_gen_deep[i].null ? nullptr : confide_gen_deep[i].dest, "
         "confide_gen_deep[i].len, &confide_gen_dspans[i]));\n";
    s += "    CONFIDE_RETURN_IF_ERROR(confide_gen::VerifyBack(confide_gen_deep[i], confide_gen_dspans[i], " +
         Q(what + ": " + pn + " (deep copy)") + "));\n  }\n";
  }
  if (recv_errno) {
    s += "  int confide_gen_errno = 0;\n";
    s += "  CONFIDE_RETURN_IF_ERROR(confide_gen_v.GetValue(confide_gen_ri++, \"errno\", &confide_gen_errno));\n";
  }
  s += "  (void)confide_gen_ri;\n";
  for (const ParamInfo& p : f.params) {
    if (!IsOutput(p)) continue;
    const std::string& pn = p.decl->name;
    std::string merge = p.kind == ParamKind::kDeep ? "&confide_gen_merge_" + p.deep->name : std::string("nullptr");
    s += "  confide_gen::CopyBack(confide_gen::Mut(" + pn + "), confide_gen_o_" + pn + ", " + merge + ");\n";
    if (p.kind == ParamKind::kString)
      s += "  confide_gen::Terminate(confide_gen::Mut(" + pn + "), confide_gen_n_" + pn + ", sizeof(" + p.elem + "));\n";
  }
  for (const ParamInfo& p : f.params) {
    if (p.kind != ParamKind::kDeep || p.dir != Direction::kInOut) continue;
    const std::string& pn = p.decl->name;
    s += "  for (size_t i = confide_gen_from_" + pn + "; i < confide_gen_to_" + pn +
         "; ++i) confide_gen::CopyBack(confide_gen_deep[i].dest, confide_gen_dspans[i], confide_gen_deep[i].merge);\n";
  }
  if (recv_errno) s += "  errno = confide_gen_errno;\n";
  s += f.ret_void ? "  return confide::Status::Ok();\n}\n" : "  return confide_gen_ret;\n}\n";
  return s;
}

}  // namespace confide::edl::internal
