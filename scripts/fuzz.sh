#!/usr/bin/env bash
# Fuzzes tcs's decoders of untrusted bytes with libFuzzer (tests/fuzz, doc/security.md "Fuzzing"):
# configures build-fuzz/ with clang-16 (-DTCS_FUZZ=ON), builds the harnesses and runs each for
# SECONDS over a copy of its seed corpus, one after the other, then prints a table per harness:
# executions, exec/s, coverage edges (libFuzzer's final `cov:`), corpus units before -> after,
# findings. Reproducers land in build-fuzz/tests/fuzz/runs/<harness>/artifacts/.
#
#   scripts/fuzz.sh                       every harness, 600 s each
#   scripts/fuzz.sh 120 config_load names two harnesses, 120 s each
#   TCS_FUZZ_JOBS=2 scripts/fuzz.sh 300   two harnesses at a time
#
# Needs clang-16 and libclang-rt-16-dev (scripts/setup.sh). Exit status 1 when a harness found
# something. CI's bounded run is `ctest -L fuzz` (scripts/test.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
seconds=${1:-600}
shift || true
build=$ROOT/build-fuzz

CC=clang-16 CXX=clang++-16 cmake -S "$ROOT" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTCS_FUZZ=ON -DTCS_BUILD_TESTS=ON >/dev/null
cmake --build "$build" --target fuzz -j "${TCS_FUZZ_BUILD_JOBS:-$(nproc)}"

harnesses=("$@")
if ((${#harnesses[@]} == 0)); then
  for f in "$ROOT"/tests/fuzz/corpus/*/; do harnesses+=("$(basename "$f")"); done
fi

# shellcheck disable=SC2317  # run by xargs, through declare -f
run() {
  local h=$1 dict=$ROOT/tests/fuzz/$1.dict
  [[ -f $dict ]] || dict=""
  "$ROOT/tests/fuzz/run_fuzzer.sh" "$build/tests/fuzz/fuzz_$h" "$ROOT/tests/fuzz/corpus/$h" \
    "$build/tests/fuzz/runs/$h" "$seconds" ${dict:+"$dict"} >"$build/tests/fuzz/runs/$h.out" 2>&1
}
mkdir -p "$build/tests/fuzz/runs"
echo "fuzz.sh: ${#harnesses[@]} harnesses, ${seconds} s each, ${TCS_FUZZ_JOBS:-1} at a time"
status=0
printf '%s\n' "${harnesses[@]}" | xargs -P "${TCS_FUZZ_JOBS:-1}" -I{} bash -c "$(declare -f run); ROOT=$ROOT build=$build seconds=$seconds run {}" || status=1

printf '\n%-16s %12s %8s %8s %16s %9s\n' harness executions exec/s edges corpus findings
for h in "${harnesses[@]}"; do
  line=$(tail -1 "$build/tests/fuzz/runs/$h.out")
  # fuzz <name>: <runs> runs, <speed> exec/s, cov <edges>, corpus <a> -> <b>, findings <n>
  read -r runs speed edges c0 c1 findings < <(sed -E 's/^fuzz [^:]+: ([0-9]+) runs, ([0-9]+) exec\/s, cov ([0-9]+), corpus ([0-9]+) -> ([0-9]+), findings ([0-9]+).*/\1 \2 \3 \4 \5 \6/' <<<"$line")
  printf '%-16s %12s %8s %8s %16s %9s\n' "$h" "$runs" "$speed" "$edges" "$c0 -> $c1" "$findings"
  if [[ $findings != 0 ]]; then
    grep -E '^reproducer:' "$build/tests/fuzz/runs/$h.out" || true
    status=1
  fi
done
exit $status
