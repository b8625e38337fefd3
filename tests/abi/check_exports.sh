#!/usr/bin/env bash
# check_exports.sh LIBRARY EXPECTED
#
# Fails when the shared library LIBRARY exports anything outside libtcs's public API:
#   1. every exported symbol is a tcs:: name (or its typeinfo/vtable/thunk), and none is an
#      internal one (tcs::detail::, an anonymous namespace, a pimpl's Impl);
#   2. the exported set equals the reviewed list EXPECTED (libtcs/abi/<lib>.symbols, demangled,
#      sorted): a symbol that appears is new ABI to review, one that disappears breaks every
#      program linked against the old list (libtcs/abi/README.md: what bumps the soname).
# TCS_UPDATE_ABI=1 rewrites EXPECTED from LIBRARY (after review, like the golden files).
# EXPECTED "-" checks the names only (the abi tests of the check itself use it).
set -euo pipefail
lib=$1 expected=$2
[[ -f $lib ]] || { echo "check_exports: no library $lib" >&2; exit 1; }

mangled=$(nm -D --defined-only "$lib" | awk '{print $NF}' | LC_ALL=C sort -u)
[[ -n $mangled ]] || { echo "check_exports: $lib exports nothing" >&2; exit 1; }
actual=$(c++filt <<<"$mangled" | LC_ALL=C sort -u)

status=0
# A tcs:: entity's mangled name starts with its own qualified name (see libtcs.map): a
# function, variable or member (_ZN3tcs, _ZNK3tcs …), its typeinfo, typeinfo name, vtable or
# VTT (_ZTI/_ZTS/_ZTV/_ZTT N3tcs), or a thunk to one of its virtual functions.
public='^_Z(N[KRO]{0,2}3tcs|T[ISVT]N3tcs|T[hv][0-9n_]*N[KRO]{0,2}3tcs)'
if bad=$(grep -Ev "$public" <<<"$mangled"); then
  echo "FAIL: $(basename "$lib") exports names outside namespace tcs:" >&2
  c++filt <<<"$bad" | sed 's/^/  /' >&2
  status=1
fi
internal='tcs::detail::|\(anonymous namespace\)|::Impl\b|::Impl::'
if bad=$(grep -E "$internal" <<<"$actual"); then
  echo "FAIL: $(basename "$lib") exports internal names:" >&2
  sed 's/^/  /' <<<"$bad" >&2
  status=1
fi

if [[ $expected == - ]]; then
  [[ $status -eq 0 ]] && echo "$(basename "$lib"): $(wc -l <<<"$actual") exported symbols, all public"
  exit $status
fi
if [[ -n ${TCS_UPDATE_ABI:-} ]]; then
  printf '%s\n' "$actual" >"$expected"
  echo "check_exports: wrote $(wc -l <"$expected") symbols to $expected"
  exit $status
fi
[[ -f $expected ]] || { echo "FAIL: no reviewed list $expected (TCS_UPDATE_ABI=1 writes it)" >&2; exit 1; }
if ! diff_out=$(diff <(LC_ALL=C sort -u "$expected") <(printf '%s\n' "$actual")); then
  echo "FAIL: $(basename "$lib")'s exports differ from $expected ('>' new, '<' gone):" >&2
  sed 's/^/  /' <<<"$diff_out" >&2
  echo "  Review the change (libtcs/abi/README.md), then TCS_UPDATE_ABI=1 ctest -R abi. to accept it." >&2
  status=1
fi
[[ $status -eq 0 ]] && echo "$(basename "$lib"): $(wc -l <<<"$actual") exported symbols, all public and as reviewed"
exit $status
