// Enclave side of codegen_all.edl. Also linked into fuzz/dispatch_fuzzer.cc, so every
// function must be safe for any arguments the generated dispatcher lets through: null
// pointers, any sizes, any integers (arithmetic is unsigned so overflow is defined).
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <cwchar>
#include <stdexcept>
#include <string>
#include <thread>

#include "codegen_all_t.h"

namespace {

std::atomic<int> g_inside{0};
std::atomic<int> g_max_inside{0};

// A struct whose padding holds 0xAA, as it would after the stack held other data.
padded DirtyPadded(char c, uint32_t i) {
  padded p;
  std::memset(&p, 0xAA, sizeof p);
  p.c = c;
  p.i = i;
  p.b = 7;
  p.x = 0x1122334455667788u;
  return p;
}

int Report(const confide::Status& s, char* msg, size_t cap) {
  if (msg != nullptr && cap != 0) std::snprintf(msg, cap, "%s", s.message().c_str());
  return static_cast<int>(s.code());
}

int Fail(int code, const std::string& why, char* msg, size_t cap) {
  if (msg != nullptr && cap != 0) std::snprintf(msg, cap, "%s", why.c_str());
  return code;
}

// Writes `byte` over the bool or enum at `field`: what a buggy or hostile side could send.
void Poke(void* field, unsigned char byte) { std::memset(field, byte, 1); }

flagged GoodFlagged() {
  flagged f{};
  f.id = 7;
  f.f.on = true;
  f.f.c = BLUE;
  f.f.bits[0] = true;
  return f;
}

uint64_t Sum(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; p != nullptr && i < n; ++i) s += p[i];
  return s;
}

}  // namespace

int add(int a, int b) { return static_cast<int>(static_cast<unsigned>(a) + static_cast<unsigned>(b)); }

void noop() {}

uint64_t sum_bytes(const uint8_t* buf, size_t len) { return Sum(buf, len); }

void fill(uint8_t* buf, size_t len, uint8_t value) {
  if (buf != nullptr) std::memset(buf, value, len);
}

void increment(uint32_t* values, size_t n) {
  for (size_t i = 0; values != nullptr && i < n; ++i) ++values[i];
}

int sum_signed(const int* values, int n) {
  unsigned s = 0;
  for (int i = 0; values != nullptr && i < n; ++i) s += static_cast<unsigned>(values[i]);
  return static_cast<int>(s);
}

uint64_t sized_counted(const void* data, size_t elem, size_t n) {
  // The dispatcher checked that elem * n fits and equals the buffer's length.
  return Sum(static_cast<const uint8_t*>(data), elem * n);
}

void checksum_out(const uint8_t* data, size_t n, uint64_t* sum) {
  if (sum != nullptr) *sum = Sum(data, n);
}

size_t str_len(const char* s) { return s != nullptr ? std::strlen(s) : SIZE_MAX; }

void upper(char* s) {
  for (; s != nullptr && *s != 0; ++s)
    if (*s >= 'a' && *s <= 'z') *s = static_cast<char>(*s - 'a' + 'A');
}

size_t wstr_len(const wchar_t* s) { return s != nullptr ? std::wcslen(s) : SIZE_MAX; }

int sum_array(int values[4]) {
  unsigned s = 0;
  for (int i = 0; values != nullptr && i < 4; ++i) s += static_cast<unsigned>(values[i]);
  return static_cast<int>(s);
}

void double_matrix(int m[2][3]) {
  for (int i = 0; m != nullptr && i < 2; ++i)
    for (int j = 0; j < 3; ++j) m[i][j] = static_cast<int>(static_cast<unsigned>(m[i][j]) * 2u);
}

void fill_array(int16_t out[5]) {
  for (int i = 0; out != nullptr && i < 5; ++i) out[i] = static_cast<int16_t>(i * 10);
}

enum color next_color(enum color c) { return static_cast<color>((static_cast<int>(c) + 1) % 3); }

int count_colors(const enum color* colors, size_t n, enum color which) {
  int k = 0;
  for (size_t i = 0; colors != nullptr && i < n; ++i) k += colors[i] == which;
  return k;
}

int bool_to_int(bool b) { return b ? 1 : 0; }

bool is_positive(int64_t v) { return v > 0; }

int64_t shadowed_names(uint64_t a, int uint64_t, uint8_t uint8_t, int c) {
  // Unsigned, so that any input of the dispatch fuzzer is defined (C++20 converts back modulo 2^64).
  unsigned long long r = a * 1000ull + static_cast<unsigned long long>(uint64_t) * 100ull + uint8_t * 10ull +
                         static_cast<unsigned long long>(c);
  return static_cast<int64_t>(r);
}

long double half(long double x) { return x / 2; }

struct wide make_wide(uint32_t tag) {
  wide w;
  std::memset(&w, 0xAA, sizeof w);  // dirty padding, in the long double too
  w.v = static_cast<long double>(tag) / 4;
  w.tag = tag;
  return w;
}

struct padded make_padded(char c, uint32_t i) {
  return DirtyPadded(c, i);
}

void padded_out(struct padded* p) {
  if (p != nullptr) *p = DirtyPadded('o', 99);
}

void padded_raw(uint8_t* raw, size_t n) {
  padded p = DirtyPadded('r', 1);
  if (raw != nullptr) std::memcpy(raw, &p, std::min(n, sizeof p));
}

uint64_t padded_sum(struct padded p) {
  return static_cast<uint64_t>(static_cast<unsigned char>(p.c)) + p.i + p.b + p.x;
}

uint64_t blob_sum(struct blob* b) {
  if (b == nullptr) return UINT64_MAX - 1;
  if (b->data == nullptr) return UINT64_MAX;
  return Sum(b->data, b->len);
}

void blob_invert(struct blob* b) {
  for (size_t i = 0; b != nullptr && b->data != nullptr && i < b->len; ++i) b->data[i] = static_cast<uint8_t>(~b->data[i]);
}

uint64_t blobs_sum(struct blob* blobs, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; blobs != nullptr && i < n; ++i) s += blobs[i].data ? Sum(blobs[i].data, blobs[i].len) : 0;
  return s;
}

uint64_t bundle_visit(struct bundle* b) {
  if (b == nullptr) return 0;
  uint64_t s = b->tag;
  for (size_t i = 0; b->blobs != nullptr && i < b->nblobs; ++i) {
    blob& x = b->blobs[i];
    s += x.data ? Sum(x.data, x.len) : 0;
    for (size_t j = 0; x.data != nullptr && j < x.len; ++j) x.data[j] = static_cast<uint8_t>(~x.data[j]);
  }
  for (size_t i = 0; b->words != nullptr && i < b->nwords; ++i) s += b->words[i]++;
  b->tag += 1;
  // The caller keeps its own pointers whatever the enclave does with these.
  b->blobs = nullptr;
  b->words = nullptr;
  return s;
}

int call_host_log(const char* msg) {
  auto r = host_log(msg);
  return r.ok() ? *r : -static_cast<int>(r.status().code());
}

int call_errno(int code) {
  errno = 0;
  auto r = host_set_errno(code);
  if (!r.ok()) return -1;
  return static_cast<int>(static_cast<unsigned>(errno) * 100u + static_cast<unsigned>(*r));
}

int reenter(int which, int x) {
  auto r = host_reenter(which, x);
  return r.ok() ? *r : -1000 - static_cast<int>(r.status().code());
}

// x < 0: re-enters -x times more through host_reenter, whose allow list names this ecall
// (a cycle the EDL permits); 0 at the bottom.
int nested_target(int x) {
  if (x < 0) return reenter(0, x + 1);
  return static_cast<int>(static_cast<unsigned>(x) * 2u);
}

int nested_public(int x) { return static_cast<int>(static_cast<unsigned>(x) + 1u); }

int thrower(int x) {
  if (x > 0) throw std::runtime_error("boom " + std::to_string(x));
  return x;
}

int park() {
  int now = ++g_inside;
  int seen = g_max_inside.load();
  while (now > seen && !g_max_inside.compare_exchange_weak(seen, now)) {
  }
  int result = -1;
  if (host_parked().ok()) {
    // Bounded: the host releases within milliseconds; give up after 10 s rather than hang.
    for (int i = 0; i < 10000; ++i) {
      auto r = host_release();
      if (!r.ok()) break;
      if (*r) {
        result = g_max_inside.load();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  --g_inside;
  return result;
}

int ping() { return 42; }

int ocall_kinds(char* msg, size_t cap) {
  uint8_t buf[16];
  std::memset(buf, 0x11, sizeof buf);
  char s[] = "hello, host";
  padded p = DirtyPadded('p', 1000);
  padded byval = DirtyPadded('v', 20);
  const uint16_t three[3] = {1, 2, 3};
  auto r = host_kinds(buf, sizeof buf, s, &p, byval, three);
  if (!r.ok()) return Report(r.status(), msg, cap);
  // The host returns -1 when it saw a non-zero padding byte in either struct.
  if (*r != 1000 + 20 + 6) return Fail(100, "host_kinds returned " + std::to_string(*r), msg, cap);
  for (uint8_t b : buf)
    if (b != 0x5a) return Fail(101, "host_kinds [out] buffer not filled", msg, cap);
  if (std::string(s) != "HELLO, HOST") return Fail(102, std::string("[in, out, string] came back as ") + s, msg, cap);
  auto q = host_make_padded(77);
  if (!q.ok()) return Report(q.status(), msg, cap);
  if (q->c != 'h' || q->i != 77 || q->b != 3 || q->x != 5) return Fail(103, "host_make_padded fields", msg, cap);
  if (!host_switchless().ok()) return Fail(104, "host_switchless failed", msg, cap);
  // Null pointers travel as null items and arrive as nullptr.
  auto n = host_kinds(nullptr, 16, nullptr, nullptr, byval, nullptr);
  if (!n.ok()) return Report(n.status(), msg, cap);
  if (*n != -2) return Fail(105, "host_kinds with nulls returned " + std::to_string(*n), msg, cap);
  return Fail(0, "ok", msg, cap);
}

int ocall_deep(char* msg, size_t cap) {
  uint8_t d0[3] = {1, 2, 3}, d1[2] = {10, 20};
  blob blobs[2] = {{sizeof d0, d0}, {sizeof d1, d1}};
  uint32_t words[3] = {100, 200, 300};
  bundle b{7, 2, blobs, 3, words};
  auto r = host_bundle(&b);
  if (!r.ok()) return Report(r.status(), msg, cap);
  if (*r != 7 + 6 + 30 + 600) return Fail(200, "host_bundle sum " + std::to_string(*r), msg, cap);
  if (b.tag != 99 || b.blobs != blobs || b.words != words || b.nblobs != 2 || b.nwords != 3)
    return Fail(201, "struct fields or the enclave's own pointers not as expected", msg, cap);
  if (blobs[0].data != d0 || blobs[1].data != d1) return Fail(202, "nested pointers replaced", msg, cap);
  if (d0[0] != 0xfe || d0[2] != 0xfc || d1[1] != 0xeb) return Fail(203, "nested buffers not copied back", msg, cap);
  if (words[0] != 110 || words[2] != 310) return Fail(204, "counted member not copied back", msg, cap);
  // Checked struct fields in range pass, in every direction.
  auto fl = host_flagged();
  if (!fl.ok()) return Report(fl.status(), msg, cap);
  if (fl->id != 9 || !fl->f.on || fl->f.c != GREEN || !fl->f.bits[1]) return Fail(205, "host_flagged fields", msg, cap);
  flags out[2] = {};
  if (auto st = host_flags_out(out); !st.ok()) return Report(st, msg, cap);
  if (!out[0].on || out[1].c != BLUE) return Fail(206, "host_flags_out fields", msg, cap);
  bool on[2] = {true, false};
  flags f[1] = {GoodFlagged().f};
  switches sw{2, on, 1, f};
  if (auto st = host_switches(&sw); !st.ok()) return Report(st, msg, cap);
  if (on[0] || !on[1] || f[0].on) return Fail(207, "host_switches not copied back", msg, cap);
  return Fail(0, "ok", msg, cap);
}

int flags_sum(struct flagged f) {
  return static_cast<int>(f.id) + f.f.on + static_cast<int>(f.f.c) + f.f.bits[0] + f.f.bits[1];
}

int flags_count(const struct flags* f, size_t n) {
  int k = 0;
  for (size_t i = 0; f != nullptr && i < n; ++i) k += f[i].on;
  return k;
}

int switches_count(struct switches* s) {
  if (s == nullptr) return -1;
  int k = 0;
  for (size_t i = 0; s->on != nullptr && i < s->n; ++i) k += s->on[i];
  for (size_t i = 0; s->f != nullptr && i < s->nf; ++i) k += s->f[i].on;
  return k;
}

// mode 1: a bool byte of 127 in the nested struct, 2: an enum of 9; the host's proxy must
// refuse either.
struct flagged make_flagged(int mode) {
  flagged f = GoodFlagged();
  if (mode == 1) Poke(&f.f.on, 127);
  if (mode == 2) Poke(&f.f.c, 9);
  return f;
}

void flags_fill(struct flags* f, int mode) {
  if (f == nullptr) return;
  f[0] = GoodFlagged().f;
  f[1] = GoodFlagged().f;
  if (mode == 1) Poke(&f[1].bits[1], 2);
}

// A misbehaving enclave as the host sees it: the buffer changes and its length grows.
void blob_grow(struct blob* b) {
  if (b == nullptr) return;
  blob_invert(b);
  b->len += 48;
}

// mode 0: a top-level count grows; mode 1: a nested length grows. Other fields and the
// buffers change too, and must not reach the host either.
void bundle_regrow(struct bundle* b, int mode) {
  if (b == nullptr) return;
  b->tag += 1;
  for (size_t i = 0; b->blobs != nullptr && i < b->nblobs; ++i) blob_invert(&b->blobs[i]);
  if (mode == 0) b->nwords += 100;
  if (mode == 1 && b->blobs != nullptr && b->nblobs > 1) b->blobs[1].len += 100;
}

namespace {

// The probes of hostile replies to [in, out] deep copies and checked struct fields: each
// must be refused, and leave the enclave's own data as it was.
int ProbeDeep(int mode, char* msg, size_t cap) {
  uint8_t secret[16];
  for (int i = 0; i < 16; ++i) secret[i] = static_cast<uint8_t>(0xA0 + i);
  uint8_t before[16];
  std::memcpy(before, secret, sizeof secret);
  switch (mode) {
    case 4: {  // the host answers len=64 for a 16-byte buffer
      blob b{sizeof secret, secret};
      auto r = host_blob_io(&b);
      if (r.ok()) return Fail(0, "accepted, len now " + std::to_string(b.len), msg, cap);
      if (b.len != sizeof secret || b.data != secret || std::memcmp(secret, before, sizeof secret) != 0)
        return Fail(300, "the enclave's blob changed", msg, cap);
      return Report(r, msg, cap);
    }
    case 5:
    case 6: {  // 5: the host grows bundle::nwords; 6: blobs[1].len (and sets tag=99)
      uint8_t d1[2] = {1, 2};
      blob blobs[2] = {{sizeof secret, secret}, {sizeof d1, d1}};
      uint32_t words[3] = {100, 200, 300};
      bundle b{7, 2, blobs, 3, words};
      auto r = host_bundle_resize(&b, mode - 5);
      if (r.ok()) return Fail(0, "accepted", msg, cap);
      if (b.tag != 7 || b.nblobs != 2 || b.nwords != 3 || b.blobs != blobs || b.words != words ||
          blobs[0].len != sizeof secret || blobs[1].len != sizeof d1 || blobs[1].data != d1 || d1[0] != 1 ||
          words[0] != 100 || std::memcmp(secret, before, sizeof secret) != 0)
        return Fail(301, "the enclave's bundle changed", msg, cap);
      return Report(r.status(), msg, cap);
    }
    case 7: {
      auto r = host_flagged();
      return r.ok() ? Fail(0, "accepted", msg, cap) : Report(r.status(), msg, cap);
    }
    case 8: {
      flags f[2] = {};
      auto r = host_flags_out(f);
      if (r.ok()) return Fail(0, "accepted", msg, cap);
      if (f[0].on || f[1].on) return Fail(302, "the enclave's flags changed", msg, cap);
      return Report(r, msg, cap);
    }
    case 9:
    case 10: {  // the hostile handler tells the two apart by n
      bool on[3] = {true, false, true};
      flags f[1] = {GoodFlagged().f};
      switches s{mode == 9 ? size_t{2} : size_t{3}, on, 1, f};
      auto r = host_switches(&s);
      if (r.ok()) return Fail(0, "accepted", msg, cap);
      if (!on[0] || on[1] || !f[0].on || f[0].bits[1]) return Fail(303, "the enclave's switches changed", msg, cap);
      return Report(r, msg, cap);
    }
    default:
      return Fail(-1, "unknown mode", msg, cap);
  }
}

}  // namespace

int probe_hostile(int mode, char* msg, size_t cap) {
  uint8_t buf[16] = {};
  if (mode >= 4) return ProbeDeep(mode, msg, cap);
  switch (mode) {
    case 0: {  // the host returns more bytes than requested (inside the item's padding)
      auto r = host_hostile(buf, 5);
      return r.ok() ? Fail(0, "accepted", msg, cap) : Report(r.status(), msg, cap);
    }
    case 1: {  // the host returns fewer bytes than requested
      auto r = host_hostile(buf, 16);
      return r.ok() ? Fail(0, "accepted", msg, cap) : Report(r.status(), msg, cap);
    }
    case 2: {
      auto r = host_hostile_bool();
      return r.ok() ? Fail(0, "accepted", msg, cap) : Report(r.status(), msg, cap);
    }
    case 3: {
      auto r = host_hostile_color();
      return r.ok() ? Fail(0, "accepted", msg, cap) : Report(r.status(), msg, cap);
    }
    default:
      return Fail(-1, "unknown mode", msg, cap);
  }
}
