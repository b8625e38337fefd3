# Compiler warnings and sanitizers, applied to every target of this project through one
# interface target so third-party code is unaffected.
add_library(tcs_build_flags INTERFACE)
add_library(tcs::build_flags ALIAS tcs_build_flags)
target_compile_options(tcs_build_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                                                 -Wnon-virtual-dtor -Wold-style-cast)
if(TCS_WERROR)
  target_compile_options(tcs_build_flags INTERFACE -Werror)
endif()
if(TCS_SANITIZE)
  target_compile_options(tcs_build_flags INTERFACE -fsanitize=address,undefined
                                                   -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(tcs_build_flags INTERFACE -fsanitize=address,undefined)
endif()
