#!/usr/bin/env bash
# Builds the Debian packages (debian/) from this tree into OUTDIR (default build-deb/) and prints
# the paths of the .deb files, one a line, on stdout.
#
#   scripts/build-debs.sh [OUTDIR]
#
# The source is copied to OUTDIR/src (tracked and untracked files, no build dirs) so that
# dpkg-buildpackage writes its .debs into OUTDIR and nothing into the tree or its parent.
# Knobs: TCS_DEB_JOBS (parallel jobs, default nproc), TCS_DEB_VERSION (a version to build
# instead of debian/changelog's, e.g. to test upgrades: a changelog entry is added in the copy),
# ccache is used when installed (CCACHE_DIR as usual).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$here/build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)
step() { printf 'build-debs: %s\n' "$*" >&2; }
die() { printf 'build-debs: ERROR: %s\n' "$*" >&2; exit 1; }

for tool in dpkg-buildpackage dh git tar; do
  command -v "$tool" >/dev/null || die "'$tool' not found: run scripts/setup.sh (dpkg-dev, debhelper)"
done
case "$out/" in
  "$here"/debian/*) die "OUTDIR must not be inside debian/" ;;
esac

src=$out/src
step "copying the source to $src"
rm -rf "$src"
mkdir -p "$src"
# Everything git knows or would add (not ignored), which excludes build dirs and old .debs.
(cd "$here" && git ls-files -z --cached --others --exclude-standard |
  tar --null --files-from=- -cf -) | tar -xf - -C "$src"
[[ -f "$src/debian/control" ]] || die "no debian/control in $here"

if [[ -n "${TCS_DEB_VERSION:-}" ]]; then
  step "building as version $TCS_DEB_VERSION"
  {
    printf 'tcs (%s) unstable; urgency=medium\n\n  * Test build of version %s.\n\n' "$TCS_DEB_VERSION" "$TCS_DEB_VERSION"
    printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l "$src/debian/changelog" -S Maintainer)" "$(date -R)"
    cat "$src/debian/changelog"
  } >"$src/debian/changelog.new"
  mv "$src/debian/changelog.new" "$src/debian/changelog"
fi

export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }parallel=${TCS_DEB_JOBS:-$(nproc)}"
if command -v ccache >/dev/null; then
  # CMake takes the launcher from the environment; a fixed source path keeps the cache warm.
  # debhelper 13 points HOME at a fresh directory inside the build: name the cache explicitly.
  CCACHE_DIR=${CCACHE_DIR:-$(ccache -k cache_dir)}
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_DIR CCACHE_BASEDIR=$out CCACHE_NOHASHDIR=1
fi

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
rm -f "$out"/*_"$version"_*.deb "$out"/tcs_"$version"_"$arch".{buildinfo,changes}
step "dpkg-buildpackage -b -us -uc (version $version; log in $out/build.log)"
(cd "$src" && exec dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1 &
builder=$!
# Progress every 15 s while it runs: the build's counter (make's [ n%] or ninja's [n/m]).
last=""
while kill -0 "$builder" 2>/dev/null; do
  for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
    kill -0 "$builder" 2>/dev/null || break
    sleep 1
  done
  now=$(grep -Eo '^\[ *[0-9]+(%|/[0-9]+)\]' "$out/build.log" 2>/dev/null | tail -n 1)
  if [[ -n $now && $now != "$last" ]]; then
    step "compiling $now"
    last=$now
  fi
done
if ! wait "$builder"; then
  tail -n 40 "$out/build.log" >&2
  die "dpkg-buildpackage failed; full log: $out/build.log"
fi
shopt -s nullglob
debs=("$out"/*_"$version"_*.deb)
((${#debs[@]})) || die "dpkg-buildpackage succeeded but wrote no .deb for $version into $out"
printf '%s\n' "${debs[@]}"
