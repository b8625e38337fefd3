# TCS_FUZZ: the libFuzzer harnesses of tests/fuzz. Clang ≥ 16 only (libFuzzer is part of
# clang's compiler-rt; Debian 12: clang-16 and libclang-rt-16-dev). clang-14, Debian 12's
# default, cannot compile libtcs against libstdc++ 12: it lacks __builtin_source_location, so
# <source_location> (tcs/log.hpp) is empty, and capturing structured bindings. Every target is
# compiled with coverage instrumentation and ASan + UBSan (-fsanitize=fuzzer-no-link,…); the
# harnesses alone link libFuzzer's main (-fsanitize=fuzzer, tcs_add_fuzzer in tests/fuzz).
# yaml-cpp, fmt, nats.c and sdbus-c++ stay Debian's g++-built, uninstrumented libraries.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
  message(FATAL_ERROR "TCS_FUZZ=ON needs Clang 16 or later (libFuzzer), but the C++ compiler is "
                      "${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION} (${CMAKE_CXX_COMPILER}): "
                      "configure a fresh build tree with CC=clang-16 CXX=clang++-16 (scripts/fuzz.sh does)")
endif()
if(TCS_SANITIZE)
  message(FATAL_ERROR "TCS_FUZZ=ON already builds with ASan and UBSan: leave TCS_SANITIZE off")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)
# Fuzzing's usual code generation (as OSS-Fuzz): -O1 runs nearly as fast as -O2 under the
# sanitizers and compiles much faster; line tables are all a stack trace needs.
add_compile_options(-O1 -gline-tables-only)
