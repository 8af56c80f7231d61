// The host's implementations of codegen_all.edl's ocalls, called by the generated dispatcher.
#include "all_host.h"

#include <cerrno>
#include <cstring>

namespace codegen_test {

HostState& State() {
  static HostState s;
  return s;
}

uint32_t EcallId(const std::string& name) {
  const confide::abi::UntrustedTables& t = codegen_all_untrusted_tables();
  for (uint32_t i = 0; i < t.ecall_count; ++i)
    if (name == t.ecall_names[i]) return i;
  ADD_FAILURE() << "no ecall " << name;
  return UINT32_MAX;
}

std::unique_ptr<confide::Enclave> LoadAll(const confide::abi::UntrustedTables* tables) {
  confide::EnclaveOptions options;
  options.backend = confide::BackendKind::kSim;
  auto e = tables ? confide::Enclave::Create(CODEGEN_ALL_ENCLAVE, *tables, options)
                  : create_codegen_all_enclave(CODEGEN_ALL_ENCLAVE, options);
  EXPECT_TRUE(e.ok()) << e.status().message();
  if (!e.ok()) return nullptr;
  State().enclave = e->get();
  return std::move(e).value();
}

}  // namespace codegen_test

using codegen_test::State;

int host_log(const char* msg) {
  std::lock_guard<std::mutex> lock(State().mu);
  State().logs.push_back(msg ? msg : "(null)");
  return msg ? static_cast<int>(std::strlen(msg)) : -1;
}

int host_set_errno(int code) {
  errno = code;
  return 7;
}

int host_reenter(int which, int x) {
  confide::Enclave& e = *State().enclave;
  auto r = which == 0 ? nested_target(e, x) : nested_public(e, x);
  std::lock_guard<std::mutex> lock(State().mu);
  State().reenter_status = r.status();
  if (State().reenter_error.ok()) State().reenter_error = r.status();
  return r.ok() ? *r : -1;
}

void host_parked() { ++State().parked; }

bool host_release() { return State().release.load(); }

namespace {
// Padding bytes of struct padded: 1..3 and 9..15.
bool PaddingIsZero(const padded* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  for (size_t i : {1, 2, 3, 9, 10, 11, 12, 13, 14, 15})
    if (b[i] != 0) return false;
  return true;
}
}  // namespace

int host_kinds(uint8_t* buf, size_t n, char* s, const struct padded* p, struct padded byval,
               const uint16_t* three) {
  if (buf == nullptr && s == nullptr && p == nullptr && three == nullptr) return -2;
  if (buf == nullptr || s == nullptr || p == nullptr || three == nullptr) return -3;
  if (!PaddingIsZero(p) || !PaddingIsZero(&byval)) return -1;
  std::memset(buf, 0x5a, n);
  for (char* c = s; *c; ++c)
    if (*c >= 'a' && *c <= 'z') *c = static_cast<char>(*c - 'a' + 'A');
  return static_cast<int>(p->i + byval.i + three[0] + three[1] + three[2]);
}

struct padded host_make_padded(uint32_t i) {
  padded p{};
  p.c = 'h';
  p.i = i;
  p.b = 3;
  p.x = 5;
  return p;
}

uint64_t host_bundle(struct bundle* b) {
  uint64_t s = b->tag;
  for (size_t i = 0; i < b->nblobs; ++i)
    for (size_t j = 0; j < b->blobs[i].len; ++j) {
      s += b->blobs[i].data[j];
      b->blobs[i].data[j] = static_cast<uint8_t>(~b->blobs[i].data[j]);
    }
  for (size_t i = 0; i < b->nwords; ++i) {
    s += b->words[i];
    b->words[i] += 10;
  }
  b->tag = 99;
  b->blobs = nullptr;  // the enclave must keep its own pointers
  return s;
}

int host_hostile(uint8_t* buf, size_t n) {
  if (buf) std::memset(buf, 1, n);
  return static_cast<int>(n);
}

bool host_hostile_bool() { return true; }

enum color host_hostile_color() { return GREEN; }

void host_switchless() { ++State().switchless_calls; }

// A host that changes the sizes of [in, out] deep copies: the enclave's proxy must refuse
// the reply, whatever the generated host dispatcher sends back.
void host_blob_io(struct blob* b) {
  if (b == nullptr || b->data == nullptr) return;
  std::memset(b->data, 0x41, b->len);
  b->len = 64;
}

uint64_t host_bundle_resize(struct bundle* b, int mode) {
  if (b == nullptr) return 0;
  b->tag = 99;
  for (size_t i = 0; b->blobs != nullptr && i < b->nblobs; ++i)
    for (size_t j = 0; b->blobs[i].data != nullptr && j < b->blobs[i].len; ++j) b->blobs[i].data[j] ^= 0xff;
  if (mode == 0) b->nwords += 100;
  if (mode == 1 && b->blobs != nullptr && b->nblobs > 1) b->blobs[1].len += 100;
  return 1;
}

struct flagged host_flagged() {
  flagged f{};
  f.id = 9;
  f.f.on = true;
  f.f.c = GREEN;
  f.f.bits[1] = true;
  return f;
}

void host_flags_out(struct flags* f) {
  if (f == nullptr) return;
  f[0] = flags{true, RED, {false, false}};
  f[1] = flags{false, BLUE, {true, true}};
}

void host_switches(struct switches* s) {
  if (s == nullptr) return;
  for (size_t i = 0; s->on != nullptr && i < s->n; ++i) s->on[i] = !s->on[i];
  for (size_t i = 0; s->f != nullptr && i < s->nf; ++i) s->f[i].on = !s->f[i].on;
}
