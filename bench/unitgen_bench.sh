#!/usr/bin/env bash
# tcs-unitgen render+write time for 10 … 10,000 services.
#
# For each size: a config with N services (mixed restart policies, a third with limits,
# some disabled) is rendered into a fresh directory RUNS times (median reported), then
# re-run over its own output (the "unchanged" path systemd's generator mode hits at every
# daemon-reload). The baseline, measured in the same run on the same file system, is
# `cp -a` of the produced tree into a fresh directory: the cost of just creating those files.
# Target: 10,000 services in under 1 s.
# Both a tmpfs (/dev/shm: what the generator writes to, /run/systemd/generator) and the disk
# (/var/tmp: what `tcs-unitgen` writes to, /etc/systemd/system) are measured; override with
# BENCH_DIRS="dir1 dir2".
#
# Usage: bench/unitgen_bench.sh [BUILD_DIR]   (default: build)
set -euo pipefail
BUILD=${1:-build}
UNITGEN="$BUILD/unitgen/tcs-unitgen"
[[ -x $UNITGEN ]] || { echo "no $UNITGEN: build first (cmake --build $BUILD)" >&2; exit 1; }
RUNS=${RUNS:-5}
BENCH_DIRS=${BENCH_DIRS:-/dev/shm /var/tmp}
CFGS=$(mktemp -d /var/tmp/tcs-unitgen-cfg.XXXXXX)
WORK=
trap 'rm -rf "$CFGS" ${WORK:+"$WORK"}' EXIT

now_ns() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

make_config() {  # N FILE
  local n=$1 f=$2 i
  {
    echo "nats: {host: localhost, port: 4222, required: false}"
    echo "registry: {svc: ~}"
    echo "services:"
    for ((i = 0; i < n; i++)); do
      case $((i % 3)) in
        0) echo "  - {type: svc, variant: v$i, restart: on-failure, restart_sec: 2.5, restart_max: 3, restart_window: 60, interval: 1}" ;;
        1) echo "  - {type: svc, variant: v$i, restart: always, watchdog_sec: 10, environment: {A: \"x%y\"}}" ;;
        2) echo "  - {type: svc, variant: v$i, enabled: false, description: \"service \$i\"}" ;;
      esac
    done
  } >"$f"
}

for n in 10 100 1000 10000; do make_config "$n" "$CFGS/services-$n.yaml"; done
for base_dir in $BENCH_DIRS; do
WORK=$(mktemp -d "$base_dir/tcs-unitgen-bench.XXXXXX")
echo "== output on $base_dir ($(stat -f -c %T "$base_dir"))"
printf '%-9s %12s %14s %14s %14s %8s\n' services "render+write" "rerun(same)" "cp -a (base)" "per service" ratio
for n in 10 100 1000 10000; do
  cfg="$CFGS/services-$n.yaml"
  fresh=() rerun=() base=()
  for ((r = 0; r < RUNS; r++)); do
    out="$WORK/out-$n-$r"
    t0=$(now_ns); "$UNITGEN" -q -o "$out" "$cfg"; t1=$(now_ns)
    "$UNITGEN" -q -o "$out" "$cfg"; t2=$(now_ns)
    cp -a "$out" "$WORK/copy-$n-$r"; t3=$(now_ns)
    fresh+=($(((t1 - t0) / 1000))) rerun+=($(((t2 - t1) / 1000))) base+=($(((t3 - t2) / 1000)))
    rm -rf "$out" "$WORK/copy-$n-$r"
  done
  mf=$(printf '%s\n' "${fresh[@]}" | median)
  mr=$(printf '%s\n' "${rerun[@]}" | median)
  mb=$(printf '%s\n' "${base[@]}" | median)
  awk -v n="$n" -v f="$mf" -v r="$mr" -v b="$mb" 'BEGIN {
    printf "%-9d %9.1f ms %11.1f ms %11.1f ms %11.1f us %7.2fx\n", n, f/1000, r/1000, b/1000, f/n, f/b }'
done
rm -rf "$WORK"; WORK=
done
echo "(median of $RUNS runs; ratio = render+write / cp -a of the same tree; target: 10000 services < 1000 ms)"
