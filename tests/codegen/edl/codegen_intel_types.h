// Types codegen_intel.edl takes from a C header, as Intel-style EDL files do.
#pragma once
#include <stdint.h>

typedef uint8_t* byte_ptr_t;
typedef int* int_ptr_t;
typedef const int* const_int_ptr_t;
typedef int int_array_t[4];

struct pair_t {
  int first;
  int second;
};
