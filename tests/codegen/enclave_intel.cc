// Enclave side of codegen_intel.edl.
#include <cwchar>
#include <cwctype>

#include "codegen_intel_t.h"

size_t isptr_sum(byte_ptr_t p, size_t len) {
  size_t s = 0;
  for (size_t i = 0; p != nullptr && i < len; ++i) s += p[i];
  return s;
}

void isptr_double(int_ptr_t p) {
  if (p != nullptr) *p *= 2;
}

int readonly_get(const_int_ptr_t p) { return p != nullptr ? *p : -1; }

int isary_sum(int_array_t a) { return a[0] + a[1] + a[2] + a[3]; }

void isary_fill(int_array_t a) {
  for (int i = 0; i < 4; ++i) a[i] = 100 + i;
}

uint64_t size_and_count(const void* p, size_t n) {
  // size=4, count=n: 4 * n bytes, read as uint32_t values.
  const uint32_t* v = static_cast<const uint32_t*>(p);
  uint64_t s = 0;
  for (size_t i = 0; v != nullptr && i < n; ++i) s += v[i];
  return s;
}

size_t wide_len(const wchar_t* s) { return std::wcslen(s); }

void wide_upper(wchar_t* s) {
  for (; *s != 0; ++s) *s = static_cast<wchar_t>(std::towupper(static_cast<wint_t>(*s)));
}

long long mixed(long a, unsigned long b, long long c, unsigned short d, float e, double f, char g) {
  return a + static_cast<long long>(b) + c + d + static_cast<long long>(e * 2) + static_cast<long long>(f * 4) + g;
}

void swap_pairs(struct pair_t* pairs) {
  for (int i = 0; pairs != nullptr && i < 2; ++i) {
    int t = pairs[i].first;
    pairs[i].first = pairs[i].second;
    pairs[i].second = t;
  }
  if (pairs != nullptr) {
    // The host's implementation of intel_pairs adds 1000 to every field.
    auto r = intel_pairs(pairs, 2);
    if (!r.ok()) pairs[0].first = -1;
  }
}

int print_twice(const char* s) {
  if (!intel_print(s).ok()) return -1;
  if (!intel_print(s).ok()) return -1;
  return 2;
}
