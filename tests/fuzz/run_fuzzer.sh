#!/usr/bin/env bash
# Runs one libFuzzer harness for a bounded time over a copy of its seed corpus; the CTest
# command of every fuzz.<harness> test (tests/fuzz/CMakeLists.txt) and of scripts/fuzz.sh.
#
#   run_fuzzer.sh HARNESS SEEDS WORKDIR SECONDS [DICT]
#
# WORKDIR/corpus starts as a copy of SEEDS (the source tree is never written) and keeps what
# the run adds; WORKDIR/artifacts gets a reproducer per finding; WORKDIR/log is libFuzzer's
# output. The last line printed is a summary:
#   fuzz <name>: <runs> runs, <exec/s> exec/s, cov <edges>, corpus <seeds> -> <units>, findings <n>
# Exit status: 0 when the time ran out without a crash, leak or timeout, else 1 (the
# reproducer's path and libFuzzer's report are printed).
set -uo pipefail
if (($# < 4)); then
  echo "usage: $0 HARNESS SEEDS WORKDIR SECONDS [DICT]" >&2
  exit 2
fi
harness=$1 seeds=$2 work=$3 seconds=$4 dict=${5:-}
name=$(basename "$harness")
name=${name#fuzz_}

rm -rf "$work/corpus" "$work/artifacts"
mkdir -p "$work/corpus" "$work/artifacts"
[[ -d $seeds ]] && cp -r "$seeds/." "$work/corpus/"
seedCount=$(find "$work/corpus" -type f | wc -l)

args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
      -artifact_prefix="$work/artifacts/")
[[ -n $dict ]] && args+=(-dict="$dict")
# Leaks are findings (libFuzzer's -detect_leaks defaults to 1 under ASan); UBSan is fatal
# (-fno-sanitize-recover) and prints its stack.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$harness" "${args[@]}" "$work/corpus" >"$work/log" 2>&1
rc=$?

stat() { sed -n "s/^stat::$1: *//p" "$work/log" | tail -1; }
runs=$(stat number_of_executed_units)
speed=$(stat average_exec_per_sec)
cov=$(grep -aoE 'cov: [0-9]+' "$work/log" | tail -1 | cut -d' ' -f2)
units=$(find "$work/corpus" -type f | wc -l)
findings=$(find "$work/artifacts" -type f | wc -l)

if ((rc != 0)); then
  echo "fuzz $name: FAILED (exit $rc) after ${runs:-?} runs; libFuzzer's report:"
  grep -a -v -E '^#[0-9]+|^INFO:|^stat::' "$work/log" | tail -60
  for f in "$work"/artifacts/*; do
    [[ -f $f ]] && echo "reproducer: $f   (run: $harness $f)"
  done
  findings=$((findings > 0 ? findings : 1))
fi
echo "fuzz $name: ${runs:-0} runs, ${speed:-0} exec/s, cov ${cov:-0}, corpus $seedCount -> $units, findings $findings"
((rc == 0))
