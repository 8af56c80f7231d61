// Enclave side of codegen_uc.edl ([user_check], generated only with ALLOW_USER_CHECK). On the
// sim backend host and enclave share one address space, so the raw pointers are usable.
#include "codegen_uc_t.h"

int peek(const int* p) { return p != nullptr ? *p : -1; }

int peek_via_host(int v) {
  int local = v;
  auto r = host_peek(&local);
  return r.ok() ? *r : -1;
}
