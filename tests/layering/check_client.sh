#!/usr/bin/env bash
# check_client.sh CLIENT_DIR
#
# A client of libtcs (tcsctl/) sits above every libtcs module: it may include any installed
# header (tcs/…) and its own folder's headers, but never libtcs's private headers
# (libtcs/src/<module>/…, "../…", "<module>/…"). Fails naming file, line and include.
set -euo pipefail
dir=${1:?usage: check_client.sh CLIENT_DIR}
status=0 checked=0
while IFS= read -r f; do
  n=0
  while IFS= read -r line; do
    n=$((n + 1))
    [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]+\"([^\"]+)\" ]] || continue
    inc=${BASH_REMATCH[1]}
    checked=$((checked + 1))
    if [[ $inc == tcs/* ]]; then
      continue  # an installed header: every module is below a client
    elif [[ $inc == */* ]]; then
      echo "FAIL: ${f#"$dir"/}:$n: #include \"$inc\": a private header outside $(basename "$dir")/" >&2
      status=1
    fi
  done <"$f"
done < <(find "$dir" -name '*.[ch]pp' | sort)
[[ $status -eq 0 ]] && echo "$(basename "$dir") layering: $checked includes checked, only installed libtcs headers and its own"
exit $status
