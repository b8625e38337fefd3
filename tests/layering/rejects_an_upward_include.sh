#!/usr/bin/env bash
# The layering check must be able to fail: a copy of libtcs in which the config module
# includes the monitor's header, and one in which the monitor includes a runtime private
# header. Exits 0 only when check_layers.sh rejects both.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
libtcs=${1:?usage: rejects_an_upward_include.sh LIBTCS_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for case in up across; do
  mkdir -p "$tmp/$case"
  cp -r "$libtcs/include" "$libtcs/src" "$tmp/$case/"
done
printf '#include "tcs/monitor.hpp"\n' >>"$tmp/up/src/config/value.cpp"
printf '#include "runtime/runtime.hpp"\n' >>"$tmp/across/src/monitor/tree.cpp"

for case in up across; do
  if bash "$here/check_layers.sh" "$tmp/$case" 2>"$tmp/$case.err"; then
    echo "FAIL: check_layers.sh accepted the '$case' include" >&2
    exit 1
  fi
  grep -q FAIL "$tmp/$case.err" || { echo "FAIL: no message for '$case'" >&2; exit 1; }
  sed 's/^/  rejected as expected: /' "$tmp/$case.err"
done
