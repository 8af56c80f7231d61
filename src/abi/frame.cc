#include <algorithm>
#include <string>

#include "confide/abi.h"

namespace confide::abi {
namespace {

const char* KindName(ItemKind k) {
  switch (k) {
    case ItemKind::kValue: return "value";
    case ItemKind::kBuffer: return "buffer";
    case ItemKind::kNull: return "null pointer";
    case ItemKind::kOutRequest: return "output request";
  }
  return "unknown item";
}

void PutU32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void PutU64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t GetU32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
uint64_t GetU64(const uint8_t* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }

// SecureZero without a library call for the few bytes of most frames; the empty asm with a
// memory clobber keeps the compiler from dropping the stores (as explicit_bzero does).
void Wipe(void* p, size_t n) {
  if (n == 0) return;
  std::memset(p, 0, n);
  __asm__ __volatile__("" : : "r"(p) : "memory");
}

}  // namespace

void Buffer::Free() {
  Wipe(p_, n_);
  Unborrow();
  delete[] p_;
  p_ = nullptr;
  n_ = cap_ = 0;
}

void Buffer::Borrow(uint8_t* p, size_t cap) {
  if (borrowed_ || n_ != 0 || p == nullptr) return;
  own_ = p_;
  own_cap_ = cap_;
  p_ = p;
  cap_ = cap;
  borrowed_ = true;
}

void Buffer::Unborrow() {
  if (!borrowed_) return;
  p_ = own_;
  cap_ = own_cap_;
  own_ = nullptr;
  own_cap_ = 0;
  n_ = 0;
  borrowed_ = false;
}

void Buffer::Clear() {
  Wipe(p_, n_);
  n_ = 0;
}

void Buffer::Grow(size_t n) {
  // By hand rather than std::vector, so the old block is wiped before it is freed (freed heap
  // blocks keep their contents) and new bytes are not zero-filled only to be overwritten.
  if (borrowed_) {
    // Out of borrowed room: the frame continues in memory of our own (the callee then copies
    // it as it would any frame), and what was written over there is wiped.
    uint8_t* old = p_;
    size_t used = n_;
    p_ = own_;
    cap_ = own_cap_;
    own_ = nullptr;
    own_cap_ = 0;
    borrowed_ = false;
    n_ = 0;
    if (n > cap_) Grow(n);
    if (used != 0) std::memcpy(p_, old, used);
    Wipe(old, used);
    n_ = used;
    return;
  }
  size_t cap = std::max({n, 2 * cap_, size_t{256}});
  auto* p = new uint8_t[cap];
  if (n_ != 0) std::memcpy(p, p_, n_);
  if (p_ != nullptr) {
    Wipe(p_, n_);
    delete[] p_;
  }
  p_ = p;
  cap_ = cap;
}

void FrameWriter::Start() {
  buf_->Resize(kFrameHeaderSize);
  std::memset(buf_->data(), 0, kFrameHeaderSize);
  count_ = 0;
}

void FrameWriter::Add(ItemKind kind, const void* data, size_t n) {
  if (buf_->size() == 0) Start();
  size_t off = buf_->size();
  size_t total = ItemSize(n);
  buf_->Resize(off + total);
  uint8_t* p = buf_->data() + off;
  PutU32(p, static_cast<uint32_t>(kind));
  PutU32(p + 4, 0);
  PutU64(p + 8, n);
  if (n != 0) std::memcpy(p + kItemHeaderSize, data, n);
  // Padding is zeroed: it never carries stale memory across the boundary.
  std::memset(p + kItemHeaderSize + n, 0, total - kItemHeaderSize - n);
  ++count_;
}

std::span<uint8_t> FrameWriter::Frame() {
  if (buf_->size() == 0) Start();
  uint8_t* p = buf_->data();
  PutU32(p, kFrameMagic);
  PutU32(p + 4, count_);
  PutU64(p + 8, buf_->size());
  return std::span<uint8_t>(p, buf_->size());
}

Bytes FrameWriter::Finish() {
  std::span<uint8_t> f = Frame();
  Bytes done(f.begin(), f.end());
  buf_->Clear();
  count_ = 0;
  return done;
}

Result<FrameView> FrameView::Parse(ByteSpan frame, std::string_view what) {
  FrameView v;
  CONFIDE_RETURN_IF_ERROR(Parse(frame, what, &v));
  return v;
}

Status FrameView::Parse(ByteSpan frame, std::string_view what, FrameView* out) {
  FrameView& v = *out;
  // Two scalar stores: GCC otherwise spills both halves and reloads them as one 16-byte value,
  // a failed store-to-load forward that cost ~10% of an empty call on each side.
  v.what_ = what.data();
  v.what_len_ = what.size();
  v.count_ = 0;
  v.more_.clear();
  auto bad = [&](const std::string& why) { return InvalidArgument(std::string(what) + ": malformed call frame: " + why); };
  if (frame.size() < kFrameHeaderSize) return bad("shorter than its 16-byte header");
  if (GetU32(frame.data()) != kFrameMagic) return bad("bad magic");
  uint32_t count = GetU32(frame.data() + 4);
  uint64_t total = GetU64(frame.data() + 8);
  if (total != frame.size())
    return bad("header says " + std::to_string(total) + " bytes, frame has " + std::to_string(frame.size()));
  if (count > kMaxItems) return bad("too many items (" + std::to_string(count) + ")");
  size_t off = kFrameHeaderSize;
  if (count > kInlineItems) v.more_.reserve(count - kInlineItems);
  for (uint32_t i = 0; i < count; ++i) {
    if (frame.size() - off < kItemHeaderSize) return bad("item " + std::to_string(i) + " header is truncated");
    uint32_t kind = GetU32(frame.data() + off);
    uint32_t reserved = GetU32(frame.data() + off + 4);
    uint64_t len = GetU64(frame.data() + off + 8);
    if (kind < 1 || kind > 4) return bad("item " + std::to_string(i) + " has unknown kind " + std::to_string(kind));
    if (reserved != 0) return bad("item " + std::to_string(i) + " has non-zero reserved bits");
    size_t room = frame.size() - off - kItemHeaderSize;
    // Compare before rounding so a huge length cannot wrap around.
    if (len > room || ((len + 7) & ~uint64_t{7}) > room)
      return bad("item " + std::to_string(i) + " claims " + std::to_string(len) + " bytes, only " +
                 std::to_string(room) + " remain");
    auto k = static_cast<ItemKind>(kind);
    if (k == ItemKind::kNull && len != 0) return bad("null item " + std::to_string(i) + " carries data");
    if (k == ItemKind::kOutRequest && len != 8) return bad("output request " + std::to_string(i) + " is not 8 bytes");
    Item it{k, frame.subspan(off + kItemHeaderSize, len)};
    if (i < kInlineItems) v.inline_[i] = it;
    else v.more_.push_back(it);
    off += kItemHeaderSize + ((len + 7) & ~uint64_t{7});
  }
  if (off != frame.size()) return bad(std::to_string(frame.size() - off) + " bytes after the last item");
  v.count_ = count;
  return Status::Ok();
}

Status FrameView::WrongItemCount(size_t n) const {
  return InvalidArgument(What() + ": expected " + std::to_string(n) + " items in the call frame, got " +
                         std::to_string(count_));
}

Status FrameView::At(size_t index, std::string_view param, const Item** item) const {
  if (index >= count_)
    return InvalidArgument(What() + ": parameter '" + std::string(param) + "' is missing from the call frame");
  *item = &this->item(index);
  return Status::Ok();
}

Status FrameView::ValueBytes(size_t index, std::string_view param, size_t n, ByteSpan* out) const {
  const Item* it;
  CONFIDE_RETURN_IF_ERROR(At(index, param, &it));
  if (it->kind != ItemKind::kValue || it->data.size() != n)
    return InvalidArgument(What() + ": parameter '" + std::string(param) + "' must be a " + std::to_string(n) +
                           "-byte value, got a " + std::to_string(it->data.size()) + "-byte " + KindName(it->kind));
  *out = it->data;
  return Status::Ok();
}

Status FrameView::GetBuffer(size_t index, std::string_view param, size_t expected, bool allow_null,
                            ByteSpan* out) const {
  const Item* it;
  CONFIDE_RETURN_IF_ERROR(At(index, param, &it));
  if (it->kind == ItemKind::kNull) {
    if (!allow_null)
      return InvalidArgument(What() + ": parameter '" + std::string(param) + "' must not be a null pointer");
    *out = ByteSpan();
    return Status::Ok();
  }
  if (it->kind != ItemKind::kBuffer)
    return InvalidArgument(What() + ": parameter '" + std::string(param) + "' must be a buffer, got a " +
                           KindName(it->kind));
  if (it->data.size() != expected)
    return InvalidArgument(What() + ": parameter '" + std::string(param) + "' carries " +
                           std::to_string(it->data.size()) + " bytes but its size attribute says " +
                           std::to_string(expected));
  *out = it->data;
  return Status::Ok();
}

Status FrameView::GetString(size_t index, std::string_view param, size_t char_size, bool allow_null,
                            ByteSpan* out) const {
  const Item* it;
  CONFIDE_RETURN_IF_ERROR(At(index, param, &it));
  if (it->kind == ItemKind::kNull) {
    if (!allow_null)
      return InvalidArgument(What() + ": string parameter '" + std::string(param) + "' must not be a null pointer");
    *out = ByteSpan();
    return Status::Ok();
  }
  if (it->kind != ItemKind::kBuffer)
    return InvalidArgument(What() + ": string parameter '" + std::string(param) + "' must be a buffer");
  const ByteSpan d = it->data;
  if (d.size() < char_size || d.size() % char_size != 0)
    return InvalidArgument(What() + ": string parameter '" + std::string(param) + "' has length " +
                           std::to_string(d.size()) + ", not a whole number of characters including the terminator");
  for (size_t i = d.size() - char_size; i < d.size(); ++i)
    if (d[i] != 0)
      return InvalidArgument(What() + ": string parameter '" + std::string(param) +
                             "' is not terminated at its last character");
  *out = d;
  return Status::Ok();
}

Status FrameView::GetOutRequest(size_t index, std::string_view param, size_t expected, bool* is_null) const {
  uint64_t len = 0;
  CONFIDE_RETURN_IF_ERROR(GetOutRequestAny(index, param, UINT64_MAX, &len, is_null));
  if (!*is_null && len != expected)
    return InvalidArgument(What() + ": output parameter '" + std::string(param) + "' requests " + std::to_string(len) +
                           " bytes but its size attribute says " + std::to_string(expected));
  return Status::Ok();
}

Status FrameView::GetOutRequestAny(size_t index, std::string_view param, uint64_t max, uint64_t* length,
                                   bool* is_null) const {
  const Item* it;
  CONFIDE_RETURN_IF_ERROR(At(index, param, &it));
  *is_null = it->kind == ItemKind::kNull;
  if (*is_null) { *length = 0; return Status::Ok(); }
  if (it->kind != ItemKind::kOutRequest)
    return InvalidArgument(What() + ": output parameter '" + std::string(param) + "' must be an output request, got a " +
                           KindName(it->kind));
  *length = GetU64(it->data.data());
  if (*length > max)
    return OutOfRange(What() + ": output parameter '" + std::string(param) + "' requests " + std::to_string(*length) +
                      " bytes, more than the " + std::to_string(max) + " allowed");
  return Status::Ok();
}

int32_t WriteStatus(const Status& status, uint8_t* out, size_t cap, size_t* out_len) {
  size_t n = std::min(status.message().size(), cap);
  if (n != 0) std::memcpy(out, status.message().data(), n);
  *out_len = n;
  return static_cast<int32_t>(status.code());
}

Status StatusFromAbi(int32_t code, std::string message) {
  bool known = code > 0 && code <= static_cast<int32_t>(Code::kEnclaveCrashed);
  return Status(known ? static_cast<Code>(code) : Code::kInternal, std::move(message));
}

void CopyAndWipe(uint8_t* dst, uint8_t* src, size_t n) {
  constexpr size_t kChunk = 16 * 1024;
  for (size_t off = 0; off < n; off += kChunk) {
    size_t k = std::min(kChunk, n - off);
    std::memcpy(dst + off, src + off, k);
    Wipe(src + off, k);
  }
}

Status CheckedSize(uint64_t count, size_t elem_size, std::string_view param, size_t* out) {
  if (elem_size != 0 && count > SIZE_MAX / elem_size)
    return OutOfRange("size of parameter '" + std::string(param) + "' overflows: " + std::to_string(count) + " x " +
                      std::to_string(elem_size) + " bytes");
  *out = static_cast<size_t>(count) * elem_size;
  return Status::Ok();
}

Status CheckedAdd(size_t a, size_t b, std::string_view what, size_t* out) {
  if (a > SIZE_MAX - b) return OutOfRange(std::string(what) + " overflows");
  *out = a + b;
  return Status::Ok();
}

}  // namespace confide::abi
