/* A tiny shared object to sign and load in tests: code, initialised data and a .bss that
 * spans several pages, like a real enclave image. */
static const int kTable[4] = {1, 2, 3, 4};
static char scratch[3 * 4096];

int confide_test_answer(int x);
int confide_test_answer(int x) {
  scratch[(unsigned)x % sizeof scratch] = (char)x;
  return 40 + kTable[x & 3] + scratch[0];
}
