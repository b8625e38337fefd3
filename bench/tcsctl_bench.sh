#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tcsctl against 100 … 10,000 stored services, next to a bare JetStream read of the same messages
# measured in the same run; then the CPU of tcsctl --follow over a heartbeating fleet (issue 13).
#
# For each size: a private nats-server with JetStream (free loopback port, temp dir), the three
# streams and, per service, a registry `declared` + `start`, a status and a heartbeat (per
# launcher a status and a heartbeat), stored by build/bench/tcsctl_bench_fleet. Then RUNS
# alternating runs (after one warm-up each) of
#   tcsctl --json --host 127.0.0.1 --port P > /dev/null
#   build/bench/tcsctl_bench_read nats://127.0.0.1:P   (same consumers, nats.c only, no decoding)
# each under /usr/bin/time -f %M (peak RSS), timed with date +%s%N; medians, the median of the
# per-pair ratios tcsctl/bare. Targets (issue 13): <= 300 ms at 1,000 services, <= 2x the bare
# read at every size.
#
# Follow: FOLLOW_SERVICES services (+ LAUNCHERS launchers) heartbeating every 10 s
# (tcsctl_bench_fleet beat: core publishes spread evenly), tcsctl --follow --json > /dev/null
# (not a TTY) for FOLLOW_SECONDS after FOLLOW_SETTLE s; CPU time from /proc/<pid>/stat
# (utime+stime) as % of one core, next to the publisher's own and that of a bare nats.c subscriber
# to the same subjects (tcsctl_bench_read --follow: the floor of receiving them). Target <= 1 %.
# tcsctl is stopped by SIGINT and must exit 0.
#
# Usage: bench/tcsctl_bench.sh [BUILD_DIR]
#   env: SIZES ("100 1000 10000"), LAUNCHERS (10), RUNS (9), FOLLOW_SERVICES (1000),
#        FOLLOW_SECONDS (30; 0 skips the follow part), FOLLOW_SETTLE (5)
# Exit 0 whatever the verdicts, unless measuring failed; 77 without nats-server or /usr/bin/time.
set -euo pipefail
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(cd "${1:-$SOURCE_DIR/build}" && pwd)
SIZES=${SIZES-100 1000 10000}  # "" = the follow part only
LAUNCHERS=${LAUNCHERS:-10}
RUNS=${RUNS:-9}
FOLLOW_SERVICES=${FOLLOW_SERVICES:-1000}
FOLLOW_SECONDS=${FOLLOW_SECONDS:-30}
FOLLOW_SETTLE=${FOLLOW_SETTLE:-5}

command -v nats-server >/dev/null || { echo "nats-server is not installed (scripts/setup.sh)" >&2; exit 77; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is not installed (scripts/setup.sh: time)" >&2; exit 77; }
cmake --build "$BUILD_DIR" --target tcsctl tcsctl_bench_fleet tcsctl_bench_read >/dev/null
TCSCTL=$BUILD_DIR/tcsctl/tcsctl
FLEET=$BUILD_DIR/bench/tcsctl_bench_fleet
READ=$BUILD_DIR/bench/tcsctl_bench_read

tmp=$(mktemp -d)
server=""
pids=()
cleanup() {
  for pid in "${pids[@]}" $server; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}" $server; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"  # no config/services.yaml here: --host/--port are tcsctl's only settings

port=""
start_server() {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  rm -rf "$tmp/js" "$tmp/nats.log"
  printf 'listen: 127.0.0.1:%s\njetstream { store_dir: "%s/js" }\n' "$port" "$tmp" >"$tmp/nats.conf"
  nats-server -c "$tmp/nats.conf" >"$tmp/nats.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    grep -q "Server is ready" "$tmp/nats.log" && return 0
    sleep 0.1
  done
  echo "nats-server did not start:" >&2
  cat "$tmp/nats.log" >&2
  exit 1
}
stop_server() {
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=""
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_ns() { date +%s%N; }
# Runs "$@" under /usr/bin/time, stdout to /dev/null; prints "<wall ms> <peak RSS KiB>".
timed() {
  local t0 t1
  t0=$(now_ns)
  /usr/bin/time -f %M -o "$tmp/rss" "$@" >/dev/null
  t1=$(now_ns)
  echo "$(((t1 - t0) / 1000)) $(tail -n 1 "$tmp/rss")" | awk '{ printf "%.1f %d\n", $1 / 1000, $2 }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

echo "tcsctl_bench: $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs per size (median), $LAUNCHERS launchers"
printf '\n| services | stored msgs | KiB | tcsctl (ms) | bare read (ms) | ratio | tcsctl RSS (MiB) | bare RSS (MiB) | load |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
verdicts=()
for n in $SIZES; do
  start_server
  read -r msgs bytes < <("$FLEET" seed "nats://127.0.0.1:$port" "$n" "$LAUNCHERS")
  # tcsctl must list the whole fleet, with nothing missing.
  listed=$("$TCSCTL" --json --host 127.0.0.1 --port "$port" | jq -r '[.summary.listed, (.notes | length)] | @tsv')
  if [[ $listed != "$((n + LAUNCHERS))	0" ]]; then
    echo "tcsctl listed/notes '$listed', expected $((n + LAUNCHERS)) services and no note" >&2
    exit 1
  fi
  read -r got _ < <("$READ" "nats://127.0.0.1:$port")
  [[ $got == "$msgs" ]] || { echo "the bare read got $got messages of $msgs" >&2; exit 1; }
  : >"$tmp/a" && : >"$tmp/b" && : >"$tmp/r"
  timed "$TCSCTL" --json --host 127.0.0.1 --port "$port" >/dev/null  # warm-up
  timed "$READ" "nats://127.0.0.1:$port" >/dev/null
  for _ in $(seq "$RUNS"); do
    read -r ta ra < <(timed "$TCSCTL" --json --host 127.0.0.1 --port "$port")
    read -r tb rb < <(timed "$READ" "nats://127.0.0.1:$port")
    echo "$ta $ra" >>"$tmp/a"
    echo "$tb $rb" >>"$tmp/b"
    awk -v a="$ta" -v b="$tb" 'BEGIN { print a / b }' >>"$tmp/r"
  done
  ta=$(cut -d' ' -f1 "$tmp/a" | median)
  tb=$(cut -d' ' -f1 "$tmp/b" | median)
  ra=$(cut -d' ' -f2 "$tmp/a" | median)
  rb=$(cut -d' ' -f2 "$tmp/b" | median)
  ratio=$(median <"$tmp/r")
  range=$(sort -g "$tmp/r" | sed -n '1p;$p' | awk '{ printf (NR == 1 ? "%.2f–" : "%.2f"), $1 }')
  printf '| %s | %s | %d | **%.1f** | %.1f | **%.2f×** (%s) | %.1f | %.1f | %s |\n' "$n" "$msgs" "$((bytes / 1024))" \
    "$ta" "$tb" "$ratio" "$range" "$(awk -v k="$ra" 'BEGIN { print k / 1024 }')" \
    "$(awk -v k="$rb" 'BEGIN { print k / 1024 }')" "$(cut -d' ' -f1 /proc/loadavg)"
  ok=$(awk -v r="$ratio" 'BEGIN { print (r <= 2.0) ? "PASS" : "FAIL" }')
  verdicts+=("$n services: tcsctl/bare $(printf %.2f "$ratio")× (≤ 2×) $ok")
  if [[ $n == 1000 ]]; then
    ok=$(awk -v t="$ta" 'BEGIN { print (t <= 300) ? "PASS" : "FAIL" }')
    verdicts+=("1000 services: tcsctl ${ta} ms (≤ 300 ms) $ok")
  fi
  stop_server
done
echo
for v in "${verdicts[@]}"; do echo "target: $v"; done

if ((FOLLOW_SECONDS > 0)); then
  start_server
  "$FLEET" seed "nats://127.0.0.1:$port" "$FOLLOW_SERVICES" "$LAUNCHERS" >/dev/null
  "$FLEET" beat "nats://127.0.0.1:$port" "$FOLLOW_SERVICES" "$LAUNCHERS" 10 >"$tmp/beat.out" &
  beater=$!
  pids+=("$beater")
  "$TCSCTL" --follow --json --host 127.0.0.1 --port "$port" >/dev/null 2>"$tmp/follow.err" &
  follower=$!
  pids+=("$follower")
  "$READ" --follow "nats://127.0.0.1:$port" >"$tmp/listen.out" &
  listener=$!
  pids+=("$listener")
  sleep "$FOLLOW_SETTLE"
  hz=$(getconf CLK_TCK)
  f0=$(cpu_ticks "$follower")
  b0=$(cpu_ticks "$beater")
  l0=$(cpu_ticks "$listener")
  t0=$(now_ns)
  sleep "$FOLLOW_SECONDS"
  f1=$(cpu_ticks "$follower")
  b1=$(cpu_ticks "$beater")
  l1=$(cpu_ticks "$listener")
  t1=$(now_ns)
  rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$follower/status")
  kill -INT "$follower"
  rc=0
  wait "$follower" || rc=$?
  kill -INT "$beater" "$listener"
  wait "$beater" || true
  wait "$listener" || true
  pids=()
  read -r beats _ <"$tmp/beat.out"
  [[ $rc == 0 ]] || { echo "tcsctl --follow exited with $rc after SIGINT:" >&2; cat "$tmp/follow.err" >&2; exit 1; }
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')
  fpct=$(awk -v d="$((f1 - f0))" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.2f", 100 * d / hz / s }')
  bpct=$(awk -v d="$((b1 - b0))" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.2f", 100 * d / hz / s }')
  lpct=$(awk -v d="$((l1 - l0))" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.2f", 100 * d / hz / s }')
  echo
  echo "follow: $FOLLOW_SERVICES services + $LAUNCHERS launchers, a heartbeat each every 10 s ($beats sent in all);"
  printf '  over %.1f s: tcsctl --follow --json > /dev/null %s ticks = **%s %%** of one core (RSS %.1f MiB); publisher %s ticks = %s %%; bare nats.c subscriber to the same subjects %s ticks = %s %% (%s messages); load %s\n' \
    "$secs" "$((f1 - f0))" "$fpct" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$((b1 - b0))" "$bpct" \
    "$((l1 - l0))" "$lpct" "$(cut -d' ' -f1 "$tmp/listen.out")" "$(cut -d' ' -f1 /proc/loadavg)"
  ok=$(awk -v p="$fpct" 'BEGIN { print (p <= 1.0) ? "PASS" : "FAIL" }')
  echo "target: follow CPU ${fpct} % (≤ 1 % of one core) $ok"
  stop_server
fi
