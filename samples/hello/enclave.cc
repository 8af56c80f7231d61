// Enclave side: implements the ecall declared in hello.edl and calls back into the host.
#include <cstdio>
#include <string>

#include "hello_t.h"

int greet(const char* name, char* greeting, size_t greeting_size) {
  // `name` points into the enclave's own copy of the caller's string, already checked for
  // its terminator; `greeting` is enclave memory, zeroed, copied out after we return.
  std::string line = "enclave: greeting '" + std::string(name) + "'";
  if (!host_print(line.c_str()).ok()) return -1;
  int n = std::snprintf(greeting, greeting_size, "Hello, %s!", name);
  return n < 0 || static_cast<size_t>(n) >= greeting_size ? -1 : n;
}
