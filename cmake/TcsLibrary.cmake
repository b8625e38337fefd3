# tcs_add_library(<name> ALIAS <tcs::x> OUTPUT_NAME <file name> EXPORT_NAME <x> SOURCES ...)
#
# One libtcs library, built once and used two ways:
#   <name>           SHARED, what services and consumers link: hidden visibility, TCS_API
#                    exports only, the version script libtcs/abi/libtcs.map, soname
#                    lib<OUTPUT_NAME>.so.${TCS_SOVERSION}
#   <name>_internal  STATIC over the same objects, for this tree's tests that exercise
#                    internals (classes in src/ that the shared library does not export)
# Link dependencies are declared on both with tcs_library_link(<name> ...).
set(TCS_SOVERSION 2 CACHE INTERNAL "libtcs ABI version (libtcs/abi/README.md says what bumps it)")

function(tcs_add_library name)
  cmake_parse_arguments(L "" "ALIAS;OUTPUT_NAME;EXPORT_NAME" "SOURCES" ${ARGN})
  add_library(${name}_objects OBJECT ${L_SOURCES})
  set_target_properties(${name}_objects PROPERTIES
    POSITION_INDEPENDENT_CODE ON CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_include_directories(${name}_objects PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/libtcs/include>
    PRIVATE ${PROJECT_SOURCE_DIR}/libtcs/src)
  target_link_libraries(${name}_objects PRIVATE tcs::build_flags)

  add_library(${name} SHARED $<TARGET_OBJECTS:${name}_objects>)
  add_library(${L_ALIAS} ALIAS ${name})
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/libtcs/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  set(map ${PROJECT_SOURCE_DIR}/libtcs/abi/libtcs.map)
  target_link_options(${name} PRIVATE "LINKER:--version-script=${map}")
  # Under TCS_FUZZ the sanitizer runtimes are linked into the executables only (clang's way),
  # so an instrumented library has undefined __asan_*/__sanitizer_* references by design.
  if(NOT TCS_FUZZ)
    target_link_options(${name} PRIVATE "LINKER:--no-undefined")
  endif()
  set_target_properties(${name} PROPERTIES
    OUTPUT_NAME ${L_OUTPUT_NAME} EXPORT_NAME ${L_EXPORT_NAME}
    VERSION ${PROJECT_VERSION} SOVERSION ${TCS_SOVERSION} LINK_DEPENDS ${map})
  target_link_libraries(${name} PRIVATE tcs::build_flags)

  add_library(${name}_internal STATIC $<TARGET_OBJECTS:${name}_objects>)
  target_include_directories(${name}_internal PUBLIC
    ${PROJECT_SOURCE_DIR}/libtcs/include ${PROJECT_SOURCE_DIR}/libtcs/src)
endfunction()

# tcs_library_link(<name> PUBLIC ... PRIVATE ...): the same dependencies for the objects,
# the shared library and the internal static library. A dependency on another libtcs
# library <dep> becomes <dep>_internal for the internal variant, so a test never loads a
# shared and a static copy of the same code.
function(tcs_library_link name)
  cmake_parse_arguments(L "" "" "PUBLIC;PRIVATE" ${ARGN})
  foreach(scope PUBLIC PRIVATE)
    foreach(dep IN LISTS L_${scope})
      target_link_libraries(${name}_objects ${scope} ${dep})
      target_link_libraries(${name} ${scope} ${dep})
      if(dep MATCHES "^tcs_" AND TARGET ${dep}_internal)
        target_link_libraries(${name}_internal ${scope} ${dep}_internal)
      else()
        # A static library's private dependencies are its users' too.
        target_link_libraries(${name}_internal PUBLIC ${dep})
      endif()
    endforeach()
  endforeach()
endfunction()
