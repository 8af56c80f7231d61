// Enclave side of sealing_bench: the data stays in enclave memory, so each ecall measures
// Seal / Unseal themselves (plus one sim ecall, ~0.1 us).
#include "confide/sealing.h"
#include "sealing_bench_t.h"

namespace {
confide::Bytes g_plain;
confide::Bytes g_blob;
confide::Bytes g_out;   // SealTo's output
confide::Bytes g_back;  // UnsealTo's output
}  // namespace

int prepare(size_t size) {
  g_plain.assign(size, 0x5a);
  auto blob = confide::trusted::Seal(g_plain);
  if (!blob.ok()) return -1;
  g_blob = std::move(*blob);
  g_out.assign(g_blob.size(), 0);
  g_back.assign(size, 0);
  return 0;
}

int seal_once() {
  auto blob = confide::trusted::Seal(g_plain);
  return blob.ok() && blob->size() == g_plain.size() + 84 ? 0 : -1;
}

int unseal_once() {
  auto u = confide::trusted::Unseal(g_blob);
  return u.ok() && u->plaintext.size() == g_plain.size() ? 0 : -1;
}

int seal_to_once() { return confide::trusted::SealTo(g_plain, {}, confide::trusted::KeyPolicy::kProduct, g_out).ok() ? 0 : -1; }

int unseal_to_once() { return confide::trusted::UnsealTo(g_blob, g_back).ok() ? 0 : -1; }
