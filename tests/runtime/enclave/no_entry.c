/* A shared object that was signed but never linked with the trusted runtime. */
int not_an_enclave(void) { return 1; }
