# confide_add_edl / confide_add_enclave: build enclave applications with CMake.
# Used in-tree and, installed, by find_package(confide). Needs the targets confide::edger8r,
# confide::cli and confide::trusted.

# confide_add_edl(NAME EDL file.edl [SEARCH_PATHS dir...] [ALLOW_USER_CHECK])
# Runs confide-edger8r on the EDL and defines two INTERFACE targets that add the generated
# code to whatever links them:
#   NAME_trusted   -> the enclave side (NAME_t.h, NAME_t.cc; link into the enclave)
#   NAME_untrusted -> the host side (NAME_u.h, NAME_u.cc; link into the host program)
# ALLOW_USER_CHECK lets [user_check] parameters (raw, unchecked pointers) through; without it
# confide-edger8r refuses them (DESIGN §5 rule 9).
# confide's own include directory is searched last, so an EDL can import the library EDL
# files shipped with the headers: from "confide/edl/protected_files.edl" import *;
if(NOT DEFINED CONFIDE_EDL_INCLUDE_DIR)  # in-tree; the installed package config sets it
  get_filename_component(CONFIDE_EDL_INCLUDE_DIR "${CMAKE_CURRENT_LIST_DIR}/../include" ABSOLUTE)
endif()
function(confide_add_edl name)
  cmake_parse_arguments(ARG "ALLOW_USER_CHECK" "EDL" "SEARCH_PATHS" ${ARGN})
  if(NOT ARG_EDL)
    message(FATAL_ERROR "confide_add_edl(${name}): EDL file.edl is required")
  endif()
  get_filename_component(edl "${ARG_EDL}" ABSOLUTE)
  get_filename_component(base "${edl}" NAME_WE)
  get_filename_component(edl_dir "${edl}" DIRECTORY)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${name}_edl")
  set(search --search-path "${edl_dir}")
  foreach(p ${ARG_SEARCH_PATHS})
    get_filename_component(p "${p}" ABSOLUTE)
    list(APPEND search --search-path "${p}")
  endforeach()
  list(APPEND search --search-path "${CONFIDE_EDL_INCLUDE_DIR}")
  if(ARG_ALLOW_USER_CHECK)
    list(APPEND search --allow-user-check)
  endif()
  set(t_files "${out}/trusted/${base}_t.h" "${out}/trusted/${base}_t.cc")
  set(u_files "${out}/untrusted/${base}_u.h" "${out}/untrusted/${base}_u.cc")
  add_custom_command(
    OUTPUT ${t_files} ${u_files}
    COMMAND ${CMAKE_COMMAND} -E make_directory "${out}/trusted" "${out}/untrusted"
    COMMAND confide::edger8r ${search} --trusted-dir "${out}/trusted" --untrusted-dir "${out}/untrusted" "${edl}"
    DEPENDS "${edl}" confide::edger8r
    COMMENT "confide-edger8r ${base}.edl"
    VERBATIM)
  add_custom_target(${name}_edl_gen DEPENDS ${t_files} ${u_files})
  add_library(${name}_trusted INTERFACE)
  target_sources(${name}_trusted INTERFACE "${out}/trusted/${base}_t.cc")
  target_include_directories(${name}_trusted INTERFACE "${out}/trusted")
  target_link_libraries(${name}_trusted INTERFACE confide::trusted)
  add_dependencies(${name}_trusted ${name}_edl_gen)
  add_library(${name}_untrusted INTERFACE)
  target_sources(${name}_untrusted INTERFACE "${out}/untrusted/${base}_u.cc")
  target_include_directories(${name}_untrusted INTERFACE "${out}/untrusted")
  target_link_libraries(${name}_untrusted INTERFACE confide::host)
  add_dependencies(${name}_untrusted ${name}_edl_gen)
endfunction()

# confide_add_enclave(NAME SOURCES src... [EDL edl_name] [LIBS lib...]
#                     [CONFIG file.conf | HEAP_PAGES n STACK_PAGES n TCS n PRODUCT_ID n
#                      SECURITY_VERSION n DEBUG 0|1] [KEY signing-key.pem])
# Builds the enclave shared object NAME and signs it into NAME.signed.so next to it
# (target NAME_signed, built by default; its path is in the target property SIGNED_IMAGE).
# Without KEY, a development key is generated once per build tree (never use it in
# production: anyone with the build tree can sign as you).
function(confide_add_enclave name)
  cmake_parse_arguments(ARG "" "EDL;CONFIG;KEY;HEAP_PAGES;STACK_PAGES;TCS;PRODUCT_ID;SECURITY_VERSION;DEBUG"
                        "SOURCES;LIBS" ${ARGN})
  add_library(${name} SHARED ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES PREFIX "" CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  # An enclave resolves nothing from the host program: every symbol must be defined at link time.
  # (Sanitizer builds leave their runtime's symbols to the host program, so not there.)
  if(NOT CONFIDE_SANITIZE)
    target_link_options(${name} PRIVATE -Wl,-z,defs)
  endif()
  # Nothing in the enclave references the entry point: without this, an enclave whose EDL has
  # no ocalls links none of confide::trusted's runtime and cannot be started.
  target_link_options(${name} PRIVATE -Wl,--undefined=confide_enclave_start_v1)
  # GCC's unique symbols would keep an unloaded enclave's code and data mapped for good.
  target_compile_options(${name} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-fno-gnu-unique>)
  if(ARG_EDL)
    target_link_libraries(${name} PRIVATE ${ARG_EDL}_trusted)
  endif()
  target_link_libraries(${name} PRIVATE confide::trusted ${ARG_LIBS})

  if(ARG_CONFIG)
    get_filename_component(config "${ARG_CONFIG}" ABSOLUTE)
  else()
    foreach(pair "HEAP_PAGES;1024" "STACK_PAGES;64" "TCS;4" "PRODUCT_ID;1" "SECURITY_VERSION;1" "DEBUG;1")
      list(GET pair 0 key)
      list(GET pair 1 default)
      if(NOT DEFINED ARG_${key})
        set(ARG_${key} ${default})
      endif()
    endforeach()
    set(config "${CMAKE_CURRENT_BINARY_DIR}/${name}.conf")
    file(GENERATE OUTPUT "${config}" CONTENT
"# Generated by confide_add_enclave(${name})
Debug=${ARG_DEBUG}
NumHeapPages=${ARG_HEAP_PAGES}
NumStackPages=${ARG_STACK_PAGES}
NumTCS=${ARG_TCS}
ProductID=${ARG_PRODUCT_ID}
SecurityVersion=${ARG_SECURITY_VERSION}
")
  endif()

  if(ARG_KEY)
    get_filename_component(key "${ARG_KEY}" ABSOLUTE)
  else()
    set(key "${CMAKE_BINARY_DIR}/confide-dev-signing-key.pem")
    if(NOT TARGET confide_dev_signing_key)
      add_custom_command(OUTPUT "${key}"
        # Generated once: rebuilding the tool must not replace the key (or MRSIGNER).
        COMMAND confide::cli keygen --force --out "${key}"
        COMMENT "Generating a development enclave signing key (not for production)"
        VERBATIM)
      add_custom_target(confide_dev_signing_key DEPENDS "${key}")
    endif()
  endif()

  set(signed "${CMAKE_CURRENT_BINARY_DIR}/${name}.signed.so")
  add_custom_command(OUTPUT "${signed}"
    COMMAND confide::cli sign --enclave $<TARGET_FILE:${name}> --config "${config}" --key "${key}" --out "${signed}"
    DEPENDS ${name} "${config}" "${key}" confide::cli
    COMMENT "Signing enclave ${name}"
    VERBATIM)
  add_custom_target(${name}_signed ALL DEPENDS "${signed}")
  set_target_properties(${name} PROPERTIES SIGNED_IMAGE "${signed}")
endfunction()
