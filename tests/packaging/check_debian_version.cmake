# cmake -DCHANGELOG=debian/changelog -DPROJECT_VERSION=x.y.z -P check_debian_version.cmake
# The version comes from one place, project(VERSION) in CMakeLists.txt: the newest entry of
# debian/changelog must carry it (without epoch and Debian revision).
if(NOT EXISTS "${CHANGELOG}")
  message(FATAL_ERROR "no ${CHANGELOG}")
endif()
file(STRINGS "${CHANGELOG}" _first LIMIT_COUNT 1)
if(NOT _first MATCHES "^tcs \\(([^)]+)\\) ")
  message(FATAL_ERROR "${CHANGELOG}:1: expected 'tcs (VERSION) …', got '${_first}'")
endif()
set(_deb "${CMAKE_MATCH_1}")
string(REGEX REPLACE "^[0-9]+:" "" _upstream "${_deb}")   # epoch
string(REGEX REPLACE "-[^-]*$" "" _upstream "${_upstream}")  # Debian revision
if(NOT _upstream STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "${CHANGELOG}:1: version ${_deb} (upstream part ${_upstream}) differs from "
                      "the CMake project version ${PROJECT_VERSION} (CMakeLists.txt project(VERSION)); "
                      "add a changelog entry (dch -v ${PROJECT_VERSION}) or fix the project version")
endif()
message(STATUS "debian/changelog ${_deb} agrees with the project version ${PROJECT_VERSION}")
