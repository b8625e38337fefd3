#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test tier; this is what CI runs
# (.ci/run). Needs root: it installs packages and boots throwaway systemd containers.
#
#   scripts/test.sh            setup + sanitizer build (unit, golden) + full build, all tiers
#   TCS_SKIP_ASAN=1 ...        skip the sanitizer build
#   TCS_SKIP_FUZZ=1 ...        skip the libFuzzer harnesses (build-fuzz/, clang-16, ctest -L fuzz)
#   TCS_FUZZ_SECONDS=45 ...    how long each harness runs (two at a time)
#   TCS_SKIP_DEBS=1 ...        skip building the Debian packages (system.debian_* skip)
#   TCS_CTEST_ARGS="-L unit"   pass extra arguments to the final ctest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
JOBS=$(nproc)

step() { printf '\n==> %s\n' "$*"; }

step "Installing build and test dependencies"
scripts/setup.sh

step "Formatting (clang-format, .clang-format)"
git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

if [[ -z ${TCS_SKIP_ASAN:-} ]]; then
  step "AddressSanitizer + UBSan build: unit and golden tiers"
  cmake -S "$ROOT" -B "$ROOT/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTCS_SANITIZE=ON -DTCS_WERROR=ON >/dev/null
  cmake --build "$ROOT/build-asan" -j "$JOBS"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$ROOT/build-asan" -L 'unit|golden' -j "$JOBS" --output-on-failure
fi

if [[ -z ${TCS_SKIP_FUZZ:-} ]]; then
  step "libFuzzer harnesses (clang-16, ASan + UBSan): ${TCS_FUZZ_SECONDS:-45} s each"
  CC=clang-16 CXX=clang++-16 cmake -S "$ROOT" -B "$ROOT/build-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTCS_FUZZ=ON -DTCS_BUILD_TESTS=ON -DTCS_WERROR=ON -DTCS_FUZZ_SECONDS="${TCS_FUZZ_SECONDS:-45}" >/dev/null
  cmake --build "$ROOT/build-fuzz" --target fuzz -j "$JOBS"
  ctest --test-dir "$ROOT/build-fuzz" -L fuzz -j 2 --output-on-failure
fi

step "Release build"
cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTCS_WERROR=ON >/dev/null
cmake --build "$ROOT/build" -j "$JOBS"

if [[ -z ${TCS_SKIP_DEBS:-} ]]; then
  step "Debian packages (build-deb/, for system.debian_install) and lintian"
  scripts/build-debs.sh "$ROOT/build-deb"
  # The same tree as the next version, for system.debian_upgrade (ccache makes it quick).
  version=$(dpkg-parsechangelog -l debian/changelog -S Version)
  TCS_DEB_VERSION="$version+t1" scripts/build-debs.sh "$ROOT/build-deb"
  lintian --fail-on error,warning "$ROOT/build-deb/tcs_${version}_$(dpkg --print-architecture).changes"
fi

step "All tiers: unit, golden, integration, system"
# shellcheck disable=SC2086
ctest --test-dir "$ROOT/build" -j "$JOBS" --output-on-failure ${TCS_CTEST_ARGS:-}
