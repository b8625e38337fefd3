# Every external dependency is found here, once, and exposed as a namespaced target.
# Versions are the Debian 12 (bookworm) ones; scripts/setup.sh installs them.
find_package(PkgConfig REQUIRED)

find_package(fmt 9 REQUIRED)                       # fmt::fmt
find_package(yaml-cpp 0.7 REQUIRED)                # bare target yaml-cpp in 0.7
if(NOT TARGET yaml-cpp::yaml-cpp)
  add_library(yaml-cpp::yaml-cpp ALIAS yaml-cpp)
endif()
pkg_check_modules(libsystemd REQUIRED IMPORTED_TARGET GLOBAL libsystemd>=252)
add_library(Systemd::Libsystemd ALIAS PkgConfig::libsystemd)
# Debian's cnats-config.cmake references a libnats_static.a the package does not ship, so
# find_package(cnats) fails; its pkg-config file is correct.
pkg_check_modules(libnats REQUIRED IMPORTED_TARGET GLOBAL libnats>=3.4)
add_library(cnats::nats ALIAS PkgConfig::libnats)
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)  # OpenSSL::Crypto (libnats links it already)
find_package(sdbus-c++ 1.2 REQUIRED)               # SDBusCpp::sdbus-c++
find_package(nlohmann_json 3 REQUIRED)             # nlohmann_json::nlohmann_json
find_package(CLI11 2 REQUIRED)                     # CLI11::CLI11
# cpp-httplib (tcs-web): Debian builds it as a shared library with a pkg-config file.
pkg_check_modules(cpphttplib REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib>=0.11)
add_library(httplib::httplib ALIAS PkgConfig::cpphttplib)

if(TCS_BUILD_TESTS)
  find_package(GTest REQUIRED)                     # GTest::gtest_main, GTest::gmock
endif()
