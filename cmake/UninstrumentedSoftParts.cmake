# In a sanitizer build, the soft backend's enclave side is built a second time without the
# sanitizers, in build/<preset>/uninstrumented: confide-enclave-runtime replaces malloc and
# runs under a seccomp filter, so neither it nor the images it loads can carry ASan. The host
# library, the platform daemon (the confide tool) and the tests stay instrumented, which is
# what the soft tests of a sanitizer build check.
include(ExternalProject)
set(CONFIDE_UNINSTRUMENTED_DIR ${PROJECT_BINARY_DIR}/uninstrumented)
set(CONFIDE_UNINSTRUMENTED_TARGETS confide_enclave_runtime
  raw_enclave_signed raw_enclave_release_signed no_entry_signed
  soft_test_enclave_signed soft_test_enclave_debug_signed soft_keep_file_at_load_enclave_signed
  soft_replace_stdin_at_load_enclave_signed soft_keep_thread_at_load_enclave_signed
  soft_catch_sigsys_at_load_enclave_signed soft_make_dumpable_at_load_enclave_signed
  soft_add_filter_at_load_enclave_signed soft_exec_on_read_at_load_enclave_signed)
ExternalProject_Add(confide_uninstrumented
  SOURCE_DIR ${PROJECT_SOURCE_DIR}
  BINARY_DIR ${CONFIDE_UNINSTRUMENTED_DIR}
  CMAKE_ARGS -DCMAKE_BUILD_TYPE=RelWithDebInfo
             -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER} -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
             -DCONFIDE_SANITIZE=OFF -DCONFIDE_BUILD_BENCH=OFF -DCONFIDE_BUILD_SAMPLES=OFF
  BUILD_COMMAND ${CMAKE_COMMAND} --build <BINARY_DIR> --parallel 2 --target ${CONFIDE_UNINSTRUMENTED_TARGETS}
  # The host library and the daemon look for the runtime next to the confide tool.
  INSTALL_COMMAND ${CMAKE_COMMAND} -E copy <BINARY_DIR>/bin/confide-enclave-runtime ${PROJECT_BINARY_DIR}/bin/
  BUILD_ALWAYS ON
  USES_TERMINAL_BUILD ON)
# Where the uninstrumented build puts an enclave image (confide_add_enclave's layout).
function(confide_uninstrumented_image var subdir name)
  set(${var} ${CONFIDE_UNINSTRUMENTED_DIR}/${subdir}/${name}.signed.so PARENT_SCOPE)
endfunction()
