// The host/enclave call ABI shared by generated code on both sides and by every backend.
//
// Nothing crosses the boundary as a pointer: a call is a *frame* of items (values, buffers,
// null markers, output-size requests) written by the caller's proxy, and a reply frame of
// items written by the callee's dispatcher (or, for an ecall of scalars only, a value call:
// see ValueHandler). The receiver copies the whole frame into its own
// memory once, then validates every item against what the EDL declares (DESIGN §5 rules 1-4),
// so hostile lengths, overlapping or overflowing sizes and missing terminators are refused
// before any user code runs. The same frames travel in-process (sim) or through shared
// memory (soft), so tests on sim exercise the real checks. docs/abi.md gives the byte layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "confide/bytes.h"
#include "confide/status.h"

namespace confide::abi {

// 2: confide_enclave_v1 gained call_values; 3: confide_host_v1 gained flags. Loader and image
// must agree: the image checks the host's version before it writes its entry table, so neither
// writes past the other's struct.
inline constexpr uint32_t kAbiVersion = 3;
inline constexpr uint32_t kFrameMagic = 0x4d524643;  // "CFRM"
inline constexpr size_t kFrameHeaderSize = 16;       // magic u32, item count u32, total size u64
inline constexpr size_t kItemHeaderSize = 16;        // kind u32, reserved u32, length u64
inline constexpr uint32_t kMaxItems = 4096;
// The largest buffer confide_enclave_v1::request_buffer hands out; bigger frames are copied.
inline constexpr size_t kMaxRequestBufferBytes = size_t{1} << 30;

enum class ItemKind : uint32_t {
  kValue = 1,       // bytes of a by-value parameter or return value
  kBuffer = 2,      // bytes pointed to by an [in] / [in,out] pointer, or an [out] result
  kNull = 3,        // a null pointer
  kOutRequest = 4,  // an [out] pointer: only its length travels (u64 payload)
};

// Bytes an item of `payload` bytes takes in a frame (header + payload padded to 8).
constexpr size_t ItemSize(size_t payload) { return kItemHeaderSize + ((payload + 7) & ~size_t{7}); }

// Bytes of a value of type T that carry its value. x87's 80-bit long double (x86-64) fills 10
// of its 16 bytes; the other 6 are whatever the stack held and must not cross (rule 7).
template <typename T>
inline constexpr size_t kValueBytes =
    std::is_same_v<std::remove_cv_t<T>, long double> && std::numeric_limits<long double>::digits == 64 ? 10
                                                                                                        : sizeof(T);

// Copies the sizeof(T) bytes of a value of type T (a scalar, or an array of them) from `src`
// to `dst`, zeroing whatever of them carries no value.
template <typename T>
inline void CopyValue(void* dst, const void* src) {
  static_assert(std::is_trivially_copyable_v<T>);
  if constexpr (std::is_array_v<T>) {
    using E = std::remove_extent_t<T>;
    for (size_t i = 0; i < std::extent_v<T>; ++i)
      CopyValue<E>(static_cast<uint8_t*>(dst) + i * sizeof(E), static_cast<const uint8_t*>(src) + i * sizeof(E));
  } else {
    std::memcpy(dst, src, kValueBytes<T>);
    if constexpr (kValueBytes<T> < sizeof(T))
      std::memset(static_cast<uint8_t*>(dst) + kValueBytes<T>, 0, sizeof(T) - kValueBytes<T>);
  }
}
// The same for a value held in a variable (generated code: parameters, return values).
template <typename T>
inline void StoreValue(void* dst, const T& v) {
  CopyValue<T>(dst, &v);
}

// Byte storage for frames that keeps its capacity between calls, so a warm call path
// allocates nothing. Frames carry secrets: Clear() and the destructor wipe the bytes in use,
// and growing wipes the old block before freeing it.
class Buffer {
 public:
  Buffer() = default;
  ~Buffer() {
    if (p_ != nullptr || borrowed_) Free();
  }
  Buffer(Buffer&& o) noexcept
      : p_(o.p_), n_(o.n_), cap_(o.cap_), own_(o.own_), own_cap_(o.own_cap_), borrowed_(o.borrowed_) {
    o.p_ = o.own_ = nullptr;
    o.n_ = o.cap_ = o.own_cap_ = 0;
    o.borrowed_ = false;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer& operator=(Buffer&&) = delete;

  uint8_t* data() { return p_; }
  const uint8_t* data() const { return p_; }
  size_t size() const { return n_; }
  size_t capacity() const { return cap_; }
  ByteSpan span() const { return ByteSpan(p_, n_); }
  // Sets the size to `n`, growing the block when needed: bytes in use keep their contents,
  // new ones are not initialised.
  void Resize(size_t n) {
    if (n > cap_) Grow(n);
    n_ = n;
  }
  // Wipes the bytes in use; the capacity stays.
  void Clear();
  // Size 0 without wiping: for bytes the receiver wiped already (confide_enclave_v1::ecall
  // wipes its input once it has copied it).
  void Forget() { n_ = 0; }
  // Wipes the bytes in use and frees the block.
  void Free();

  // Writes go to `p` (`cap` bytes of someone else's memory, never freed here) until
  // Unborrow(): how a host proxy writes a request frame straight into the memory the callee
  // reads it from (Enclave::RequestRegion). Growing past `cap` moves the bytes into a block
  // of this buffer's own and wipes them at `p`. Only while empty.
  void Borrow(uint8_t* p, size_t cap);
  // Back to the buffer's own block, empty; the borrowed bytes are left as they are.
  void Unborrow();
  // Whether the bytes in use are in borrowed memory.
  bool borrowed() const { return borrowed_; }

 private:
  void Grow(size_t n);
  uint8_t* p_ = nullptr;
  size_t n_ = 0;
  size_t cap_ = 0;
  uint8_t* own_ = nullptr;  // this buffer's block while p_ is borrowed
  size_t own_cap_ = 0;
  bool borrowed_ = false;
};

class FrameWriter {
 public:
  // Writes into a buffer of its own.
  FrameWriter() : buf_(&own_) {}
  // Writes into `storage` (cleared first), which must outlive the writer: a caller that
  // keeps one Buffer per thread or slot allocates nothing per call.
  explicit FrameWriter(abi::Buffer& storage) : buf_(&storage) {
    storage.Clear();
  }
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  void Value(const void* data, size_t n) { Add(ItemKind::kValue, data, n); }
  template <typename T>
  void Value(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>, "by-value EDL parameters must be trivially copyable");
    if constexpr (kValueBytes<T> < sizeof(T)) {
      uint8_t b[sizeof(T)];
      StoreValue(b, v);
      Value(b, sizeof b);
    } else {
      Value(&v, sizeof v);
    }
  }
  // A pointer parameter's bytes, or a null marker when `data` is null.
  void Buffer(const void* data, size_t n) {
    if (data == nullptr) Add(ItemKind::kNull, nullptr, 0);
    else Add(ItemKind::kBuffer, data, n);
  }
  // An [out] pointer: the callee allocates `n` zeroed bytes and returns them.
  void OutRequest(const void* host_ptr, size_t n) {
    if (host_ptr == nullptr) { Add(ItemKind::kNull, nullptr, 0); return; }
    uint64_t len = n;
    Add(ItemKind::kOutRequest, &len, sizeof len);
  }

  size_t size() const { return buf_->size() == 0 ? kFrameHeaderSize : buf_->size(); }
  // Completes the header and returns the frame where it was written (valid until the writer
  // or its storage changes). The receiver may wipe it (it is mutable for that).
  std::span<uint8_t> Frame();
  // Completes the header and hands out a copy of the frame; the writer is wiped and empty
  // afterwards.
  Bytes Finish();
  // The receiver took the frame (and wiped it where it was shared): drop it without wiping
  // again, and give back memory it was written into (Buffer::Borrow) untouched.
  void Forget() {
    if (buf_->borrowed()) buf_->Unborrow();
    else buf_->Forget();
    count_ = 0;
  }

 private:
  // Writes the header's room; done on the first Add or Frame, so a writer that is made and
  // dropped (or forgotten) writes nothing.
  void Start();
  void Add(ItemKind kind, const void* data, size_t n);
  abi::Buffer own_;
  abi::Buffer* buf_;
  uint32_t count_ = 0;
};

struct Item {
  ItemKind kind;
  ByteSpan data;
};

// A validated view of a frame. Parse checks the header and that every item lies inside the
// frame; the typed accessors check each item against the declaration and name the parameter.
class FrameView {
 public:
  // `what` names the call in errors, e.g. "ecall 'add'"; it must outlive the view (a literal
  // or a name kept by the caller), so parsing allocates nothing for it. Frames of up to
  // kInlineItems items are indexed without allocating.
  static Result<FrameView> Parse(ByteSpan frame, std::string_view what);
  // The same into an existing view (generated code and the runtimes: no copy of the view).
  static Status Parse(ByteSpan frame, std::string_view what, FrameView* out);

  size_t size() const { return count_; }
  // Exactly `n` items, or an error naming the call.
  Status ExpectItems(size_t n) const {
    if (count_ != n) return WrongItemCount(n);
    return Status::Ok();
  }

  // A by-value item of exactly sizeof(T) bytes.
  template <typename T>
  Status GetValue(size_t index, std::string_view param, T* out) const {
    static_assert(std::is_trivially_copyable_v<T>);
    ByteSpan b;
    CONFIDE_RETURN_IF_ERROR(ValueBytes(index, param, sizeof(T), &b));
    std::memcpy(out, b.data(), sizeof(T));
    return Status::Ok();
  }
  // A buffer of exactly `expected` bytes, or null (data() == nullptr) when `allow_null`.
  Status GetBuffer(size_t index, std::string_view param, size_t expected, bool allow_null, ByteSpan* out) const;
  // A [string] / [wstring] buffer: at least one character, the terminator at the last
  // position (never strlen over foreign memory). `char_size` is 1 or sizeof(wchar_t).
  Status GetString(size_t index, std::string_view param, size_t char_size, bool allow_null, ByteSpan* out) const;
  // An [out] request whose length must equal `expected`; *is_null set for a null pointer.
  Status GetOutRequest(size_t index, std::string_view param, size_t expected, bool* is_null) const;
  // An [out] request whose length the callee cannot know in advance ([out, string] is refused
  // by the EDL compiler; this serves size-bounded outputs).
  Status GetOutRequestAny(size_t index, std::string_view param, uint64_t max, uint64_t* length, bool* is_null) const;

  static constexpr size_t kInlineItems = 8;

 private:
  Status WrongItemCount(size_t n) const;
  Status ValueBytes(size_t index, std::string_view param, size_t n, ByteSpan* out) const;
  Status At(size_t index, std::string_view param, const Item** item) const;
  const Item& item(size_t i) const { return i < kInlineItems ? inline_[i] : more_[i - kInlineItems]; }
  std::string What() const { return std::string(what_, what_len_); }
  const char* what_ = "";
  size_t what_len_ = 0;
  size_t count_ = 0;
  Item inline_[kInlineItems];
  std::vector<Item> more_;  // items past kInlineItems
};

// The C entry ABI reports a failure as a non-zero confide::Code plus the message, truncated
// to `cap` bytes, in the reply buffer. Returns the code.
int32_t WriteStatus(const Status& status, uint8_t* out, size_t cap, size_t* out_len);
// The Status a non-zero C ABI code and its message stand for; a code this build does not
// know (the other side is hostile or newer) becomes kInternal.
Status StatusFromAbi(int32_t code, std::string message);

// Copies n bytes from `src` to `dst` and wipes `src`, chunk by chunk so each chunk is wiped
// while still in cache: how a receiver takes a frame out of a buffer the sender can see
// (rules 1 and 8). The buffers must not overlap.
void CopyAndWipe(uint8_t* dst, uint8_t* src, size_t n);

// count * elem_size, refusing overflow; the error names the parameter.
Status CheckedSize(uint64_t count, size_t elem_size, std::string_view param, size_t* out);
// a + b, refusing overflow.
Status CheckedAdd(size_t a, size_t b, std::string_view what, size_t* out);

// ---------------------------------------------------------------- dispatch tables
// Handlers receive the validated request frame and write the reply frame. A non-OK Status
// travels back to the caller with its code and message.
using Handler = Status (*)(const FrameView& request, FrameWriter& reply);

// Value calls: an ecall whose parameters and return value are all scalars (C integer types,
// bool, floating point, EDL enums) travels without a frame. Its arguments are their bytes
// back to back in parameter order, the reply is the return value's bytes (none for void),
// and each side checks bools and enums as it does in a frame (docs/abi.md, "Value calls").
// `args` is the receiver's private copy; `ret` has room for the return value.
using ValueHandler = Status (*)(const uint8_t* args, uint8_t* ret);
// At most 16 parameters of at most 16 bytes each.
inline constexpr size_t kMaxValueCallBytes = 256;

struct EcallInfo {
  const char* name;
  Handler handler;
  bool is_public;   // callable at top level; private ecalls only from an ocall that allows them
  bool switchless;  // transition_using_threads
  ValueHandler values = nullptr;  // set when the ecall also takes value calls
  uint32_t args_bytes = 0;        // a value call's argument bytes
  uint32_t ret_bytes = 0;         // and its reply's
};

struct OcallInfo {
  const char* name;
  const uint32_t* allowed_ecalls;  // ecall ids the host may call while this ocall runs
  uint32_t allowed_count;
  bool switchless;
};

// Defined by the generated trusted code of an enclave (`confide_trusted_tables`).
struct TrustedTables {
  const EcallInfo* ecalls;
  uint32_t ecall_count;
  const OcallInfo* ocalls;
  uint32_t ocall_count;
};

struct HostOcall {
  const char* name;
  Handler handler;
};

// Defined by the generated untrusted code; handed to Enclave::Create.
struct UntrustedTables {
  const HostOcall* ocalls;
  uint32_t ocall_count;
  const char* const* ecall_names;  // for error messages
  uint32_t ecall_count;
  // Per ecall id: marked transition_using_threads, so callers spin before sleeping (soft).
  const bool* ecall_switchless = nullptr;
};

}  // namespace confide::abi

// ---------------------------------------------------------------- the C entry ABI
// Every enclave image exports confide_enclave_start_v1 (defined by the trusted runtime).
// The same C structs serve the in-process sim backend and the soft backend's enclave process.
extern "C" {

struct confide_host_v1 {
  uint32_t abi_version;
  void* ctx;
  // Runs ocall `id` on thread slot `slot`. Returns a confide::Code; the reply frame (or, on
  // error, the message text) is written to out[0..out_cap), its length to *out_len.
  int32_t (*ocall)(void* ctx, uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out,
                   size_t out_cap, size_t* out_len);
  // Platform services (keys, reports, quotes: confide/platform_services.h), answered by the
  // platform that verified the image, not by the host's code. Sends one request message and
  // writes the reply message to out[0..out_cap); returns 0, or a confide::Code when the
  // platform could not be reached (the reply then holds the message text).
  void* platform_ctx;
  int32_t (*platform)(void* platform_ctx, const uint8_t* request, size_t request_len, uint8_t* out,
                      size_t out_cap, size_t* out_len);
  uint32_t flags;  // CONFIDE_HOST_*
};

// confide_host_v1::flags: each thread slot has one thread of the loader's own, for the enclave's
// life, and only that thread calls in on it (the soft backend's slot threads; not sim, where
// the host's threads call in). The enclave then marks a slot busy with a plain store instead of
// an atomic read-modify-write. Only a loader inside the enclave's boundary may set it: two
// threads entering one slot at once would share its frames.
#define CONFIDE_HOST_DEDICATED_SLOTS 1u

struct confide_enclave_v1 {
  uint32_t abi_version;
  // Runs ecall `id` on thread slot `slot`; same conventions as confide_host_v1::ocall. The
  // enclave copies `in` into its own memory first, then wipes `in` (it may carry secrets),
  // unless `in` is the buffer request_buffer gave out for this call.
  int32_t (*ecall)(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t out_cap,
                   size_t* out_len);
  // Wipes enclave state; every later ecall fails.
  void (*terminate)(void);
  // In-process (sim) loaders only: the enclave's own buffer, of at least `min_len` bytes,
  // for the request of the next ecall on `slot` at its current nesting depth. A caller that
  // writes the frame there and passes it as `in` saves the copy: the enclave validates it
  // where it lies, as its copy (DESIGN §5 rule 1), and there is no shared buffer to wipe.
  // Only for a loader that shares the enclave's address space, where the host can write
  // enclave memory anyway; the soft runtime never offers it to the host. 0 or a Code.
  int32_t (*request_buffer)(uint32_t slot, size_t min_len, uint8_t** buffer, size_t* capacity);
  // Runs ecall `id` as a value call (confide::abi::ValueHandler): `in` holds exactly the
  // ecall's argument bytes, and on success `out` receives exactly its return value's bytes;
  // otherwise as `ecall` (`in` copied, then wiped; an error's message in `out`).
  int32_t (*call_values)(uint32_t slot, uint32_t id, uint8_t* in, size_t in_len, uint8_t* out, size_t out_cap,
                         size_t* out_len);
};

typedef int32_t (*confide_enclave_start_v1_fn)(const struct confide_host_v1* host, uint32_t num_tcs,
                                                struct confide_enclave_v1* out);
}
