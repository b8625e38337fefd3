#!/usr/bin/env bash
# Installs every Debian 12 package tcs needs to build, test and package itself.
# Idempotent and non-interactive: packages already present are skipped quickly.
# Usage: sudo scripts/setup.sh   (root needed; CI runs as root)
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake pkg-config make ninja-build clang-format git
  # fuzzing (TCS_FUZZ, scripts/fuzz.sh): clang 16 and its libFuzzer/sanitizer runtimes
  clang-16 libclang-rt-16-dev
  # libraries (Debian 12 versions are the supported ones)
  libyaml-cpp-dev libfmt-dev libgtest-dev libgmock-dev nlohmann-json3-dev libcli11-dev
  libsystemd-dev libsdbus-c++-dev libnats-dev libssl-dev libcpp-httplib-dev
  # runtime peers for the integration and system tiers
  nats-server openssl systemd systemd-container dbus polkitd iproute2 util-linux jq
  # the web page's browser test (tests/web, scripts/web-screenshot.sh): headless Chromium + WebDriver
  chromium chromium-driver
  # development mode (scripts/dev.sh): a session bus for every user manager, logind sessions
  dbus-user-session libpam-systemd
  # packaging
  dpkg-dev debhelper fakeroot lintian devscripts
  # benches
  hyperfine time
)

if [[ $(id -u) -ne 0 ]]; then
  echo "setup.sh: must run as root (it installs Debian packages)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup.sh: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "setup.sh: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A stale or missing index is the usual cause of "Unable to locate package".
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup.sh: done"
