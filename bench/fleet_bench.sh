#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A simulated fleet on a 3-node NATS cluster, read by the real tcsctl (issue 15, "Performance and
# scale"; bench/README.md).
#
# A 3-node nats-server cluster on loopback (free random ports, cluster routes, JetStream per node
# with its own store directory in a temp dir; waits until the JetStream meta leader is elected,
# with a deadline), the three tcs streams at replicas 3 with the limits of doc/protocol.md
# (build/bench/fleet_sim streams), then for each size in SIZES (services; 100 per host):
#   build/bench/fleet_sim run (bench/fleet_sim.cpp: heartbeats every 10 s at random phases, churn
#   of CHURN % of the services per minute, a fifth of it crash/restarting/start/ready sequences;
#   JetStream publishes, acks timed), and while it runs:
#   (b) follow: tcsctl --follow --json > /dev/null (config with the cluster's three servers) next
#       to a bare nats.c subscriber to the same subjects (tcsctl_bench_read --follow), their CPU
#       over FOLLOW_SECONDS from /proc/<pid>/stat as % of one core; the nats-servers' and the
#       simulator's in the same window;
#   (a) snapshot: RUNS alternating runs of tcsctl --json --all (same config) and of the bare
#       JetStream last-per-subject read (tcsctl_bench_read, same consumers, no decoding) against
#       one of the nodes; medians, the median of the per-pair ratios; tcsctl must list every
#       service and launcher;
#   (c) storage: the streams' bytes at the start and end of the simulator's measuring window
#       (stream info: what the limits count), per service per day, and what the limits keep.
# Then (d) a ramp at RAMP_SERVICES: the heartbeat interval is cut (RAMP_INTERVALS) for
# RAMP_SECONDS each, on fresh streams; per step the offered and acknowledged rate, the ack
# latency, failures and the nats-servers' CPU; the ramp stops after the first step whose acked
# rate falls below 90 % of the offered nominal rate or that has failed publishes.
#
# Usage: bench/fleet_bench.sh [BUILD_DIR]
#   env: SIZES ("500 1000 2000"; up to 99,900 with PER_HOST 100), PER_HOST (100), RUNS (7), FOLLOW_SECONDS (30), CHURN (3),
#        RAMP_SERVICES (2000), RAMP_INTERVALS ("2 1 0.5 0.25 0.1 0.05"), RAMP_SECONDS (10),
#        KEEP=1 keeps the temp dir
# About 5 minutes with the defaults. Exit 0 whatever the figures, unless measuring failed; 77
# without nats-server or jq.
set -euo pipefail
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(cd "${1:-$SOURCE_DIR/build}" && pwd)
SIZES=${SIZES-500 1000 2000}
PER_HOST=${PER_HOST:-100}
RUNS=${RUNS:-7}
FOLLOW_SECONDS=${FOLLOW_SECONDS:-30}
CHURN=${CHURN:-3}
RAMP_SERVICES=${RAMP_SERVICES:-2000}
RAMP_INTERVALS=${RAMP_INTERVALS-2 1 0.5 0.25 0.1 0.05}
RAMP_SECONDS=${RAMP_SECONDS:-10}

command -v nats-server >/dev/null || { echo "nats-server is not installed (scripts/setup.sh)" >&2; exit 77; }
command -v jq >/dev/null || { echo "jq is not installed" >&2; exit 77; }
cmake --build "$BUILD_DIR" --target tcsctl fleet_sim tcsctl_bench_read >/dev/null
TCSCTL=$BUILD_DIR/tcsctl/tcsctl
SIM=$BUILD_DIR/bench/fleet_sim
READ=$BUILD_DIR/bench/tcsctl_bench_read

tmp=$(mktemp -d)
servers=()
pids=()
cleanup() {
  for pid in "${pids[@]}" "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}" "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
cd "$tmp"

free_ports() {  # N distinct free loopback ports
  python3 -c 'import socket,sys
ss=[socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1",0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}
read -r -a ports <<<"$(free_ports 6)"
client_ports=("${ports[@]:0:3}")
route_ports=("${ports[@]:3:3}")
routes=""
for p in "${route_ports[@]}"; do routes+="nats-route://127.0.0.1:$p, "; done
urls=""
for p in "${client_ports[@]}"; do urls+="nats://127.0.0.1:$p,"; done
urls=${urls%,}
for n in 0 1 2; do
  mkdir -p "$tmp/n$n"
  cat >"$tmp/n$n.conf" <<EOF
server_name: n$n
listen: 127.0.0.1:${client_ports[n]}
jetstream { store_dir: "$tmp/n$n/js", max_file_store: 4G, max_memory_store: 256M }
cluster { name: tcsbench, listen: 127.0.0.1:${route_ports[n]}, routes: [${routes%, }] }
EOF
  nats-server -c "$tmp/n$n.conf" >"$tmp/n$n.log" 2>&1 &
  servers+=($!)
done
deadline=$((SECONDS + 30))
until grep -q "JetStream cluster new metadata leader\|Self is new JetStream cluster metadata leader" "$tmp"/n?.log 2>/dev/null; do
  if ((SECONDS > deadline)); then
    echo "the cluster did not elect a JetStream meta leader within 30 s" >&2
    tail -n 20 "$tmp"/n?.log >&2
    exit 1
  fi
  sleep 0.2
done
cat >"$tmp/services.yaml" <<EOF
nats:
  servers: [${urls//,/, }]
EOF
formed=$((30 - deadline + SECONDS))
make_streams() { "$SIM" streams --servers "$urls" --replicas 3 --deadline 30 >"$tmp/streams.out"; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_ns() { date +%s%N; }
timed_ms() {
  local t0 t1
  t0=$(now_ns)
  "$@" >/dev/null
  t1=$(now_ns)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'
}
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
server_ticks() {
  local sum=0 pid
  for pid in "${servers[@]}"; do sum=$((sum + $(ticks "$pid"))); done
  echo "$sum"
}
hz=$(getconf CLK_TCK)
pct() { awk -v d="$1" -v hz="$hz" -v s="$2" 'BEGIN { printf "%.2f", 100 * d / hz / s }'; }
val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
# Waits until FILE has a line LINE (the simulator's progress), while PID lives.
wait_line() {
  local file=$1 line=$2 pid=$3 limit=$((SECONDS + 120))
  until grep -qx "$line" "$file"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS > limit)); then
      echo "fleet_sim did not reach '$line':" >&2
      cat "$file" "$file.err" >&2
      exit 1
    fi
    sleep 0.1
  done
}
stop_sim() {
  kill -INT "$1"
  wait "$1" || { echo "fleet_sim failed:" >&2; cat "$2.err" >&2; exit 1; }
  pids=()
}

echo "fleet_bench: $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg); nats-server $(nats-server --version | awk '{ print $2 }'); cluster of 3 formed in ${formed} s; $PER_HOST services per host; $RUNS snapshot runs; churn $CHURN %/min"

snap_rows=()
follow_rows=()
store_rows=()
for n in $SIZES; do
  hosts=$(((n + PER_HOST - 1) / PER_HOST))
  per=$((n / hosts))
  make_streams
  out=$tmp/sim$n
  : >"$out"
  "$SIM" run --servers "$urls" --hosts "$hosts" --services "$per" --interval 10 --churn "$CHURN" --warmup 5 \
    >"$out" 2>"$out.err" &
  sim=$!
  pids=("$sim")
  wait_line "$out" steady "$sim"
  total=$((hosts * per + hosts))

  # (b) follow mode: tcsctl and the bare subscriber side by side, with the servers and the simulator.
  "$TCSCTL" -c "$tmp/services.yaml" --follow --json >/dev/null 2>"$tmp/follow.err" &
  follower=$!
  "$READ" --follow "nats://127.0.0.1:${client_ports[0]}" >"$tmp/listen.out" &
  listener=$!
  pids+=("$follower" "$listener")
  sleep 3
  f0=$(ticks "$follower") l0=$(ticks "$listener") s0=$(server_ticks) m0=$(ticks "$sim") t0=$(now_ns)
  sleep "$FOLLOW_SECONDS"
  f1=$(ticks "$follower") l1=$(ticks "$listener") s1=$(server_ticks) m1=$(ticks "$sim") t1=$(now_ns)
  rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$follower/status")
  kill -INT "$follower" "$listener"
  rc=0
  wait "$follower" || rc=$?
  wait "$listener" || true
  pids=("$sim")
  [[ $rc == 0 ]] || { echo "tcsctl --follow exited with $rc:" >&2; cat "$tmp/follow.err" >&2; exit 1; }
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')
  follow_rows+=("| $n | $hosts | $(pct $((f1 - f0)) "$secs") | $(pct $((l1 - l0)) "$secs") | $(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') | $(pct $((s1 - s0)) "$secs") | $(pct $((m1 - m0)) "$secs") | $(cut -d' ' -f1 "$tmp/listen.out") in $(printf %.0f "$secs") s | $(cut -d' ' -f1 /proc/loadavg) |")

  # (a) snapshot: tcsctl vs the bare read, alternating, while the fleet keeps publishing.
  listed=$("$TCSCTL" -c "$tmp/services.yaml" --json --all | jq -r '.summary.listed')
  [[ $listed == "$total" ]] || echo "warning: tcsctl listed $listed of $total (services + launchers)" >&2
  : >"$tmp/a" && : >"$tmp/b" && : >"$tmp/r"
  timed_ms "$READ" "nats://127.0.0.1:${client_ports[0]}" >/dev/null  # warm-up
  for _ in $(seq "$RUNS"); do
    ta=$(timed_ms "$TCSCTL" -c "$tmp/services.yaml" --json --all)
    tb=$(timed_ms "$READ" "nats://127.0.0.1:${client_ports[0]}")
    echo "$ta" >>"$tmp/a"
    echo "$tb" >>"$tmp/b"
    awk -v a="$ta" -v b="$tb" 'BEGIN { print a / b }' >>"$tmp/r"
  done
  range=$(sort -g "$tmp/r" | sed -n '1p;$p' | awk '{ printf (NR == 1 ? "%.2f–" : "%.2f"), $1 }')
  snap_rows+=("| $n | $listed | **$(median <"$tmp/a")** | $(median <"$tmp/b") | **$(median <"$tmp/r" | awk '{ printf "%.2f", $1 }')×** ($range) | $(cut -d' ' -f1 /proc/loadavg) |")

  stop_sim "$sim" "$out"
  # (c) storage over the simulator's window.
  win=$(val window_s "$out")
  for s in svc_registry svc_status svc_heartbeat; do
    read -r m0 b0 < <(awk -v s="$s" '$1 == "stream_start" && $2 == s { print $3, $4 }' "$out")
    read -r m1 b1 < <(awk -v s="$s" '$1 == "stream_end" && $2 == s { print $3, $4 }' "$out")
    store_rows+=("$n $s $m0 $b0 $m1 $b1 $win")
  done
  cp "$out" "$tmp/last_sim"
  echo "size $n done: $(val ack_rate "$out") msgs/s acked, ack p99 $(val ack_ms_p99 "$out") ms, failed $(val failed "$out"), load $(cut -d' ' -f1 /proc/loadavg)" >&2
done

# (d) the ramp.
ramp_rows=()
if [[ -n $RAMP_INTERVALS ]]; then
  hosts=$(((RAMP_SERVICES + PER_HOST - 1) / PER_HOST))
  per=$((RAMP_SERVICES / hosts))
  for iv in $RAMP_INTERVALS; do
    make_streams
    out=$tmp/ramp$iv
    : >"$out"
    "$SIM" run --servers "$urls" --hosts "$hosts" --services "$per" --interval "$iv" --churn "$CHURN" --warmup 2 \
      --duration "$RAMP_SECONDS" >"$out" 2>"$out.err" &
    sim=$!
    pids=("$sim")
    wait_line "$out" steady "$sim"
    s0=$(server_ticks) t0=$(now_ns)
    per_node0=()
    for pid in "${servers[@]}"; do per_node0+=("$(ticks "$pid")"); done
    wait "$sim" || { echo "fleet_sim failed:" >&2; cat "$out.err" >&2; exit 1; }
    pids=()
    s1=$(server_ticks) t1=$(now_ns)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')
    nodes=""
    i=0
    for pid in "${servers[@]}"; do
      nodes+="$(pct $(($(ticks "$pid") - per_node0[i])) "$secs")/"
      i=$((i + 1))
    done
    nominal=$(val nominal_rate "$out")
    acked=$(val ack_rate "$out")
    failed=$(val failed "$out")
    ramp_rows+=("| $iv | $nominal | $(val send_rate "$out") | **$acked** | $(val ack_ms_p50 "$out") / $(val ack_ms_p99 "$out") / $(val ack_ms_max "$out") | $failed | $(val behind_s_max "$out") | **$(pct $((s1 - s0)) "$secs")** (${nodes%/}) | $(val sim_cpu_pct "$out") | $(cut -d' ' -f1 /proc/loadavg) |")
    echo "ramp interval $iv: nominal $nominal, acked $acked msgs/s, failed $failed" >&2
    if awk -v a="$acked" -v n="$nominal" -v f="$failed" 'BEGIN { exit !(a < 0.9 * n || f > 0) }'; then break; fi
  done
fi

echo
echo "(a) snapshot at each size: tcsctl -c cluster.yaml --json --all vs the bare JetStream last-per-subject read (median of $RUNS, ms), while the fleet publishes"
echo
echo "| services | listed (+ launchers) | tcsctl (ms) | bare read (ms) | ratio (range) | load |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${snap_rows[@]}"
echo
echo "(b) follow mode over $FOLLOW_SECONDS s (% of one core)"
echo
echo "| services | hosts | tcsctl --follow --json | bare subscriber | tcsctl RSS (MiB) | 3 nats-servers | simulator | messages received | load |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${follow_rows[@]}"
echo
echo "(c) JetStream storage (stream info bytes, one replica; the cluster holds 3 copies) over the measuring window, per service per day, and what the limits of doc/protocol.md keep"
echo
echo "| services | stream | stored at the window's start: msgs (MiB) | msgs/service/day | bytes/msg | KiB/service/day | fleet MiB/day | limit | kept at this size | kept at 10,000 services (extrapolated) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for row in "${store_rows[@]}"; do
  read -r n s m0 b0 m1 b1 win <<<"$row"
  awk -v n="$n" -v s="$s" -v m0="$m0" -v b0="$b0" -v m1="$m1" -v b1="$b1" -v w="$win" 'BEGIN {
    day = 86400 / w; msgs = (m1 - m0) * day / n; bytes = (b1 - b0) * day / n
    per = (m1 > m0) ? (b1 - b0) / (m1 - m0) : 0
    fleet = bytes * n / 1048576; big = bytes * 10000 / 1048576
    if (s == "svc_heartbeat") { lim = "1 day, 100 MiB"; age = 1; cap = 100 }
    else if (s == "svc_status") { lim = "30 days, 500 MiB"; age = 30; cap = 500 }
    else { lim = "10 MiB, 100/subject"; age = 0; cap = 10 }
    if (b1 >= cap * 1048576 * 0.99) {  # at its byte limit: each new message discards an old one
      printf "| %d | %s | %d (%.2f) | — | — | — | — | %s | **full**: at %.2f MiB, discarding | — |\n", n, s, m0, b0 / 1048576, lim, b1 / 1048576
      exit
    }
    if (age > 0) {
      d1 = (fleet > 0) ? cap / fleet : 1e9; d2 = (big > 0) ? cap / big : 1e9
      k1 = (d1 >= age) ? sprintf("%d days (age; %.0f MiB)", age, fleet * age) : sprintf("%.1f h (bytes)", d1 * 24)
      k2 = (d2 >= age) ? sprintf("%d days (age; %.0f MiB)", age, big * age) : sprintf("%.1f h (bytes)", d2 * 24)
    } else {
      d1 = (fleet > 0) ? cap / fleet : 1e9; d2 = (big > 0) ? cap / big : 1e9
      k1 = (fleet > 0) ? sprintf("%.1f h of events (bytes)", d1 * 24) : "— (no event in the window)"
      k2 = (big > 0) ? sprintf("%.1f h of events (bytes)", d2 * 24) : "—"
    }
    printf "| %d | %s | %d (%.2f) | %.0f | %.0f | %.1f | %.2f | %s | %s | %s |\n", n, s, m0, b0 / 1048576, msgs, per, bytes / 1024, fleet, lim, k1, k2
  }'
done
echo
echo "disk after the last size: $(for n in 0 1 2; do du -sk "$tmp/n$n/js" | awk -v n="$n" '{ printf "n%d %.1f MiB  ", n, $1 / 1024 }'; done)"
if ((${#ramp_rows[@]} > 0)); then
  echo
  echo "(d) ramp at $RAMP_SERVICES services: heartbeat interval cut, ${RAMP_SECONDS} s per step, R3 streams, JetStream publishes with acks"
  echo
  echo "| interval (s) | nominal msgs/s | sent/s | acked/s | ack ms p50 / p99 / max | failed | schedule behind max (s) | nats-servers CPU % (n0/n1/n2) | simulator CPU % | load |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ramp_rows[@]}"
fi
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
