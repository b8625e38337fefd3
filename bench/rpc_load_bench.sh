#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tcs-supervisor under RPC load (issue 17): BENCH_CLIENTS (50) concurrent NATS clients calling the
# launcher RPCs `list` (most) and `start.<sid>`/`stop.<sid>` for BENCH_SECONDS (30) s; meanwhile
# kill -9 → `crashed` latency, compared with the same measurement without load in the same run.
#
# In a throwaway systemd 252 container (tests/support/nspawn.sh; needs root, systemd-nspawn, jq
# and nats-server, else exit 77) the build is installed as in tests/system/supervisor_test.sh
# (tcs-supervisor.service under its own user and polkit rule), with a nats-server and a sniffer
# (tcs-systest-nats sub … --us) inside. The set-up is a trimmed copy of bench/supervisor_bench.sh's
# (no on-disk DESTDIR binding: no memory figures are taken here). Config: hello_world variants
# ss1…ss3 (the start/stop targets), idle1, idle2 and victim (restart: on-abnormal,
# restart_sec 0.1), all interval 3600.
#
#  0. RPC baselines, BENCH_BASE_SECONDS (10) s each: rpc_load with 1 client and the same mix
#     (the unloaded round trip of each verb), and with BENCH_CLIENTS clients calling only `list`
#     (no systemd job in the way: what the supervisor's 4 RPC workers do with lists alone).
#  1. baseline: BENCH_KILLS (10) kill -9 of tcs@hello_world:victim without load, each measured
#     from bash's $EPOCHREALTIME right before its builtin `kill -9` (inside the container) to
#     the sniffer's receipt of svc.registry.crashed.hello_world.victim; also systemd's
#     StateChangeTimestamp (the event's timestamp) → NATS, i.e. what the supervisor adds. The
#     next kill waits for `ready`.
#  2. load: build/bench/rpc_load (bench/rpc_load.cpp) inside the container, BENCH_CLIENTS
#     clients each with its own connection, list share BENCH_LIST_SHARE (0.8), the rest start
#     and stop on ss1…ss3, 10 s timeout per request. After BENCH_WARMUP s (3), the same
#     BENCH_KILLS kills, BENCH_KILL_GAP s (1) apart; only the kills whose kill and `crashed` fall
#     inside the load window (rpc_load's start_unix_us + BENCH_SECONDS) count as under load (the
#     others are listed apart; on a slow machine the kills can outlast the load). The CPU of the
#     supervisor, nats-server and PID 1 over the load window, the load average before/after.
#  3. after the load: the supervisor is active with the same MainPID and NRestarts (no crash),
#     and answers one more `list` (all 6 services); its journal's warnings during the load.
#
# Exit 0 when the load ran and every request was answered (no timeout, no transport error) and
# the supervisor survived; 1 otherwise; 77 when the bench cannot run here.
#
# Usage: bench/rpc_load_bench.sh [BUILD_DIR]   (default: build; needs the full build, as
#        `cmake --install` of the runtime component is used, and bench/rpc_load)
# SC2016: single-quoted scripts expand inside the container; SC2317: polled functions.
# shellcheck disable=SC2016,SC2317
set -uo pipefail
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(cd "${1:-$SOURCE_DIR/build}" 2>/dev/null && pwd) || {
  echo "no build dir ${1:-$SOURCE_DIR/build}: build first (cmake --build)" >&2
  exit 1
}
for f in supervisor/tcs-supervisor tests/system/tcs-systest-nats services/bin/hello_world bench/rpc_load; do
  [[ -x "$BUILD_DIR/$f" ]] || {
    echo "no $BUILD_DIR/$f: build first (cmake --build $BUILD_DIR)" >&2
    exit 1
  }
done
KILLS=${BENCH_KILLS:-10}
CLIENTS=${BENCH_CLIENTS:-50}
SECS=${BENCH_SECONDS:-30}
LIST_SHARE=${BENCH_LIST_SHARE:-0.8}
WARMUP=${BENCH_WARMUP:-3}
GAP=${BENCH_KILL_GAP:-1}
BASE_SECS=${BENCH_BASE_SECONDS:-10}

# shellcheck source=../tests/support/nspawn.sh
source "$SOURCE_DIR/tests/support/nspawn.sh"
# shellcheck source=../tests/system/lib_units.sh
source "$SOURCE_DIR/tests/system/lib_units.sh"
# shellcheck source=../tests/system/lib_services.sh
source "$SOURCE_DIR/tests/system/lib_services.sh"
tcs_nspawn_init rpc_load_bench
command -v jq >/dev/null || tcs_skip "jq is not installed (scripts/setup.sh)"
command -v nats-server >/dev/null || tcs_skip "nats-server is not installed (scripts/setup.sh)"
TOOL="$BUILD_DIR/tests/system/tcs-systest-nats"
LOADGEN="$BUILD_DIR/bench/rpc_load"
NATS=nats://127.0.0.1:4222
SNIFF=/run/tcs-sniff.log

# ---- container ------------------------------------------------------------------------------
tcs_nspawn_start --bind-ro="$SOURCE_DIR" --bind-ro="$BUILD_DIR"
tcs_nspawn_install "$BUILD_DIR" runtime
tcs_check "clearing the host's tcs config from the overlay" tcs_sh '
  rm -rf /etc/tcs /etc/systemd/system/tcs@* /etc/systemd/system/tcs.target.wants && mkdir -p /etc/tcs'
start_nats_and_sniffer "$TOOL" "$SNIFF" --us

# ---- helpers (as bench/supervisor_bench.sh) -----------------------------------------------------
JQ_RX='capture("^(?<t>[0-9]+) (?<s>[^ ]+) (?<b>.*)$") | .t |= tonumber'
JQ_TS_US='([.[0], .[1] - 1, .[2], .[3], .[4], .[5], 0, 0] | mktime) * 1000000 + .[6]'
count() { tcs_exec awk -v s="$1" -v t="${2:-0}" '$2 == s && $1 >= t { n++ } END { print n + 0 }' "$SNIFF"; }
count_above() { (($(count "$1" "${3:-0}") > $2)); }
cpu_sample() {  # PID → "ticks ns wall_ns" inside the container
  tcs_sh 'set -e
    t=$(sed "s/^.*) //" "/proc/$1/stat" | awk "{ print \$12 + \$13 }")
    ns=$(cat /proc/"$1"/task/*/schedstat | awk "{ s += \$1 } END { printf \"%.0f\", s }")
    echo "$t $ns $(date +%s%N)"' "$1"
}
cpu_between() {  # SAMPLE0 SAMPLE1 → "ticks cpu_ms wall_s percent"
  local t0 n0 w0 t1 n1 w1
  read -r t0 n0 w0 <<<"$1"
  read -r t1 n1 w1 <<<"$2"
  awk -v t=$((t1 - t0)) -v n=$((n1 - n0)) -v w=$((w1 - w0)) \
    'BEGIN { printf "%d %.1f %.1f %.2f\n", t, n / 1e6, w / 1e9, 100 * n / w }'
}
stats() {  # numbers on stdin → "median p90 max n" (nearest-rank p90)
  grep . | sort -n | awk '{ a[NR] = $1 } END {
    if (NR == 0) { print "- - - 0"; exit }
    m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    i = int(0.9 * NR); if (i < 0.9 * NR) i++
    print m, a[i], a[NR], NR }'
}
ms() { awk -v u="$1" 'BEGIN { if (u == "-" || u < 0) print "-"; else printf "%.1f ms", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# kv KEY [LINE] — a value of rpc_load's machine-readable line (default: the load's, $RESULT)
kv() { tr ' ' '\n' <<<"${2:-$RESULT}" | sed -n "s/^$1=//p"; }
# rpc_load_run OUT ARGS… — run the load generator inside the container, output to OUT (host)
rpc_load_run() {
  local out=$1
  shift
  tcs_exec "$LOADGEN" --url "$NATS" --launcher "$LAUNCHER" --service hello_world.ss1 --service hello_world.ss2 \
    --service hello_world.ss3 "$@" >"$out" 2>&1
}

# ---- config and supervisor ------------------------------------------------------------------------
CONFIG="$TCS_TEST_TMPDIR/services.yaml"
cat >"$CONFIG" <<'EOF'
# rpc_load_bench.sh
nats: {host: 127.0.0.1, port: 4222, required: false}
registry:
  hello_world: ~
services:
  - {type: hello_world, variant: victim, interval: 3600, restart: on-abnormal, restart_sec: 0.1}
  - {type: hello_world, variant: ss1, interval: 3600}
  - {type: hello_world, variant: ss2, interval: 3600}
  - {type: hello_world, variant: ss3, interval: 3600}
  - {type: hello_world, variant: idle1, interval: 3600}
  - {type: hello_world, variant: idle2, interval: 3600}
EOF
NSERVICES=6
install_config "$CONFIG"
tcs_check "daemon-reload (the generator writes the units)" tcs_exec systemctl daemon-reload
tcs_check "systemctl start tcs-supervisor" tcs_exec timeout 120 systemctl start tcs-supervisor.service
wait_state 30 tcs-supervisor.service active
SUP_PID=$(show tcs-supervisor.service MainPID)
[[ "$SUP_PID" =~ ^[1-9][0-9]*$ ]] || tcs_fail "tcs-supervisor has no main PID"
SUP_RESTARTS=$(show tcs-supervisor.service NRestarts)
LAUNCHER="$(tcs_exec hostname -s)-systemd-launcher"
RPC="svc.rpc.launcher.$LAUNCHER.v1"
tcs_log "supervisor PID $SUP_PID as launcher.$LAUNCHER"
tcs_wait_until 10 "declared hello_world.victim" count_above svc.registry.declared.hello_world.victim 0 ||
  tcs_fail "no declared event for hello_world.victim"
tcs_check "systemctl start tcs.target" tcs_exec timeout 120 systemctl start tcs.target
NATS_PID=$(show tcs-test-nats.service MainPID)

VICTIM=tcs@hello_world:victim.service
CRASHED=svc.registry.crashed.hello_world.victim
READY=svc.registry.ready.hello_world.victim
tcs_wait_until 10 "ready of hello_world.victim" count_above "$READY" 0 || tcs_fail "no ready event for the victim"

# kill_round LABEL — BENCH_KILLS kills of the victim, each waiting for `crashed` and `ready`;
# appends the kill times (µs) to KILL_US. GAP_S (seconds) between kills.
KILL_US=()
kill_round() {
  local label=$1 gap=$2 i pid t ready_before crashed_before
  for ((i = 0; i < KILLS; i++)); do
    ready_before=$(count "$READY")
    crashed_before=$(count "$CRASHED")
    pid=$(show "$VICTIM" MainPID)
    [[ "$pid" =~ ^[1-9][0-9]*$ ]] || tcs_fail "$label kill $i: the victim has no main PID"
    t=$(tcs_exec bash -c 't=$EPOCHREALTIME; kill -9 "$1" && echo "${t/./}"' _ "$pid") ||
      tcs_fail "$label kill $i: kill -9 $pid failed"
    KILL_US+=("$t")
    tcs_wait_until 10 "$label crashed #$((i + 1))" count_above "$CRASHED" "$crashed_before" ||
      tcs_fail "$label kill $i: no crashed event"
    tcs_wait_until 10 "$label ready after kill #$((i + 1))" count_above "$READY" "$ready_before" ||
      tcs_fail "$label kill $i: no ready event"
    [[ "$gap" == 0 ]] || sleep "$gap"  # spreads the kills over the load window
  done
}

# ---- 0. RPC baselines: one client (same mix), and BENCH_CLIENTS clients calling only `list` -------
tcs_log "RPC baselines: 1 client, ${BASE_SECS}s; $CLIENTS clients list only, ${BASE_SECS}s"
OUT_ONE="$TCS_TEST_TMPDIR/rpc_load-1client.out" OUT_LIST="$TCS_TEST_TMPDIR/rpc_load-listonly.out"
rpc_load_run "$OUT_ONE" --clients 1 --duration "$BASE_SECS" --list-share "$LIST_SHARE" ||
  tcs_log "rpc_load (1 client) exit $?"
ONE=$(grep '^RPCLOAD ' "$OUT_ONE") || tcs_fail "rpc_load (1 client) printed no result: $(tail -n 20 "$OUT_ONE")"
rpc_load_run "$OUT_LIST" --clients "$CLIENTS" --duration "$BASE_SECS" --list-share 1 ||
  tcs_log "rpc_load (list only) exit $?"
LISTONLY=$(grep '^RPCLOAD ' "$OUT_LIST") || tcs_fail "rpc_load (list only) printed no result: $(tail -n 20 "$OUT_LIST")"

# ---- 1. baseline: kill -9 → crashed without load --------------------------------------------------
tcs_log "baseline: $KILLS kills without load (load average $(loadavg))"
LOAD_BEFORE=$(loadavg)
kill_round baseline 0

# ---- 2. the same under RPC load -------------------------------------------------------------------
OUT="$TCS_TEST_TMPDIR/rpc_load.out"
tcs_log "load: $CLIENTS clients for ${SECS}s (list share $LIST_SHARE; start/stop on ss1 ss2 ss3)"
c0=$(cpu_sample "$SUP_PID") || tcs_fail "cannot read the supervisor's CPU time"
n0=$(cpu_sample "$NATS_PID") || tcs_fail "cannot read nats-server's CPU time"
p0=$(cpu_sample 1) || tcs_fail "cannot read PID 1's CPU time"
rpc_load_run "$OUT" --clients "$CLIENTS" --duration "$SECS" --list-share "$LIST_SHARE" &
LOAD_PID=$!
sleep "$WARMUP"  # the clients connect (not timed), then the load runs; the kills start after this
kill -0 "$LOAD_PID" 2>/dev/null || tcs_fail "rpc_load ended early: $(cat "$OUT")"
LOAD_MID=$(loadavg)
kill_round "under load" "$GAP"
wait "$LOAD_PID"
LOAD_RC=$?
c1=$(cpu_sample "$SUP_PID") || tcs_fail "cannot read the supervisor's CPU time (did it die?)"
n1=$(cpu_sample "$NATS_PID") || tcs_fail "cannot read nats-server's CPU time"
p1=$(cpu_sample 1) || tcs_fail "cannot read PID 1's CPU time"
LOAD_AFTER=$(loadavg)
read -r _ sup_ms sup_wall sup_pct < <(cpu_between "$c0" "$c1")
read -r _ nats_ms _ nats_pct < <(cpu_between "$n0" "$n1")
read -r _ pid1_ms _ pid1_pct < <(cpu_between "$p0" "$p1")
RESULT=$(grep '^RPCLOAD ' "$OUT") || tcs_fail "rpc_load printed no result (exit $LOAD_RC): $(tail -n 20 "$OUT")"

# ---- 3. after the load ------------------------------------------------------------------------------
SUP_STATE=$(show tcs-supervisor.service ActiveState)
SUP_PID_AFTER=$(show tcs-supervisor.service MainPID)
SUP_RESTARTS_AFTER=$(show tcs-supervisor.service NRestarts)
LIST_AFTER=$(tcs_exec "$TOOL" req "$NATS" "$RPC.list" "" 10000) || LIST_AFTER=""
LIST_N=$(jq -r '.data.services | length' <<<"$LIST_AFTER" 2>/dev/null || echo "-")
SUP_WARNINGS=$(tcs_exec journalctl --no-pager -o cat -p warning -u tcs-supervisor.service | sort | uniq -c |
  sort -rn | head -n 8)

# ---- kill figures -------------------------------------------------------------------------------------
crashed_lines=$(tcs_exec awk -v s="$CRASHED" '$2 == s' "$SNIFF")
mapfile -t CRASH_US < <(jq -rR "$JQ_RX | .t" <<<"$crashed_lines")
mapfile -t STATE_US < <(jq -rR "$JQ_RX | .b | fromjson | .data.timestamp | $JQ_TS_US" <<<"$crashed_lines")
tcs_expect_eq "crashed events" "$((2 * KILLS))" "${#CRASH_US[@]}"
# The load window: from rpc_load's start to its last new request (start + BENCH_SECONDS).
load_t0=$(kv start_unix_us)
load_t1=$(awk -v a="$load_t0" -v d="$SECS" 'BEGIN { printf "%.0f", a + d * 1000000 }')
B_NATS="" B_ADDED="" B_STATE="" L_NATS="" L_ADDED="" L_STATE="" IN_LOAD=0 OUTSIDE=""
for ((i = 0; i < 2 * KILLS; i++)); do
  if ((i < KILLS)); then
    B_NATS+="$((CRASH_US[i] - KILL_US[i]))"$'\n'
    B_ADDED+="$((CRASH_US[i] - STATE_US[i]))"$'\n'
    B_STATE+="$((STATE_US[i] - KILL_US[i]))"$'\n'
  elif ((KILL_US[i] >= load_t0 && CRASH_US[i] <= load_t1)); then  # only kills inside the load window
    L_NATS+="$((CRASH_US[i] - KILL_US[i]))"$'\n'
    L_ADDED+="$((CRASH_US[i] - STATE_US[i]))"$'\n'
    L_STATE+="$((STATE_US[i] - KILL_US[i]))"$'\n'
    IN_LOAD=$((IN_LOAD + 1))
  else
    OUTSIDE+="$((CRASH_US[i] - KILL_US[i]))/$((CRASH_US[i] - STATE_US[i])) "
  fi
done
read -r bn_med bn_p90 bn_max _ < <(stats <<<"$B_NATS")
read -r ba_med ba_p90 ba_max _ < <(stats <<<"$B_ADDED")
read -r ln_med ln_p90 ln_max _ < <(stats <<<"$L_NATS")
read -r la_med la_p90 la_max _ < <(stats <<<"$L_ADDED")
read -r bs_med bs_p90 bs_max _ < <(stats <<<"$B_STATE")
read -r ls_med ls_p90 ls_max _ < <(stats <<<"$L_STATE")

# ---- report -------------------------------------------------------------------------------------------
row() { printf '%-44s %12s %12s %12s %10s\n' "$@"; }
echo
echo "== tcs-supervisor under RPC load (same run; $(nproc) CPUs, $(uname -r))"
echo "load average: before $LOAD_BEFORE | during (after warm-up) $LOAD_MID | after $LOAD_AFTER"
echo
echo "-- rpc_load: baseline, 1 client, same mix, ${BASE_SECS} s"
grep -v '^RPCLOAD ' "$OUT_ONE"
echo "-- rpc_load: baseline, $CLIENTS clients, list only, ${BASE_SECS} s"
grep -v '^RPCLOAD ' "$OUT_LIST"
echo "-- rpc_load: THE LOAD, $CLIENTS clients, list share $LIST_SHARE, ${SECS} s (the kills meanwhile)"
grep -v '^RPCLOAD ' "$OUT"
echo
echo "-- per verb, p50 / p99 (ms): the load vs. its baselines"
row "" "1 client" "list only" "the load" "ratio p50"
for v in list start stop; do
  for q in p50 p99; do
    b=$(kv "${v}_${q}_us" "$ONE") lo=$(kv "${v}_${q}_us" "$LISTONLY") l=$(kv "${v}_${q}_us")
    row "$v $q" "$(ms "$b")" "$(ms "$lo")" "$(ms "$l")" "$([[ $q == p50 ]] && ratio "$l" "$b")"
  done
done
row "requests/s" "$(awk -v n="$(kv requests "$ONE")" -v w="$(kv wall_s "$ONE")" 'BEGIN { printf "%.1f", n / w }')" \
  "$(awk -v n="$(kv requests "$LISTONLY")" -v w="$(kv wall_s "$LISTONLY")" 'BEGIN { printf "%.1f", n / w }')" \
  "$(awk -v n="$(kv requests)" -v w="$(kv wall_s)" 'BEGIN { printf "%.1f", n / w }')" ""
row "timeouts / transport errors" "$(kv timeouts "$ONE") / $(kv transport "$ONE")" \
  "$(kv timeouts "$LISTONLY") / $(kv transport "$LISTONLY")" "$(kv timeouts) / $(kv transport)" ""
echo
echo "-- kill -9 -> crashed ($KILLS kills each; restart_sec 0.1)"
row "" "median" "p90" "max" "med ratio"
row "kill -> crashed on NATS, no load" "$(ms "$bn_med")" "$(ms "$bn_p90")" "$(ms "$bn_max")" ""
row "kill -> crashed on NATS, under RPC load" "$(ms "$ln_med")" "$(ms "$ln_p90")" "$(ms "$ln_max")" "$(ratio "$ln_med" "$bn_med")"
row "  kill -> systemd's state change, no load" "$(ms "$bs_med")" "$(ms "$bs_p90")" "$(ms "$bs_max")" ""
row "  kill -> systemd's state change, under load" "$(ms "$ls_med")" "$(ms "$ls_p90")" "$(ms "$ls_max")" "$(ratio "$ls_med" "$bs_med")"
row "  state change -> NATS, no load" "$(ms "$ba_med")" "$(ms "$ba_p90")" "$(ms "$ba_max")" ""
row "  state change -> NATS, under RPC load" "$(ms "$la_med")" "$(ms "$la_p90")" "$(ms "$la_max")" "$(ratio "$la_med" "$ba_med")"
echo "under load = the kills whose kill and crashed both fell in the load window: $IN_LOAD of $KILLS" \
  "(last crashed $(((load_t1 - CRASH_US[2 * KILLS - 1]) / 1000)) ms before the load's end)"
[[ -z "$OUTSIDE" ]] || echo "(kills after the load window, not counted above: kill -> crashed / state change -> NATS, us: $OUTSIDE)"
echo "(no load, kill -> crashed us: $(paste -sd ' ' <<<"$B_NATS"))"
echo "(under load, kill -> crashed us: $(paste -sd ' ' <<<"$L_NATS"))"
echo
echo "-- the supervisor"
row "CPU during the load window (${sup_wall} s)" "$sup_ms ms" "$sup_pct %" "" ""
row "nats-server CPU in the same window" "$nats_ms ms" "$nats_pct %" "" ""
row "PID 1 (systemd) CPU in the same window" "$pid1_ms ms" "$pid1_pct %" "" ""
row "after the load: ActiveState" "$SUP_STATE" "" "" ""
row "  MainPID (before: $SUP_PID)" "$SUP_PID_AFTER" "" "" ""
row "  NRestarts (before: $SUP_RESTARTS)" "$SUP_RESTARTS_AFTER" "" "" ""
row "  one more list: services" "$LIST_N" "(of $NSERVICES)" "" ""
echo "supervisor warnings in its journal (count, message):"
while IFS= read -r l; do echo "  $l"; done <<<"${SUP_WARNINGS:-none}"
echo
timeouts=$(kv timeouts) transport=$(kv transport)
survived=$([[ "$SUP_STATE" == active && "$SUP_PID_AFTER" == "$SUP_PID" && "$SUP_RESTARTS_AFTER" == "$SUP_RESTARTS" &&
  "$LIST_N" == "$NSERVICES" ]] && echo 1 || echo 0)
printf '%-4s %s\n' "$([[ $survived == 1 ]] && echo PASS || echo FAIL)" "no crash: same MainPID, active, answers list"
printf '%-4s %s\n' "$([[ "$timeouts" == 0 ]] && echo PASS || echo FAIL)" \
  "no deadlock: every request answered within 10 s (timeouts: $timeouts)"
printf '%-4s %s\n' "$([[ "$transport" == 0 ]] && echo PASS || echo FAIL)" "no transport error (count: $transport)"
echo "RPCLOADBENCH kills=$KILLS base_med_us=$bn_med base_p90_us=$bn_p90 base_max_us=$bn_max" \
  "load_med_us=$ln_med load_p90_us=$ln_p90 load_max_us=$ln_max base_added_med_us=$ba_med load_added_med_us=$la_med" \
  "load_added_p90_us=$la_p90 load_added_max_us=$la_max sup_cpu_pct=$sup_pct nats_cpu_pct=$nats_pct pid1_cpu_pct=$pid1_pct" \
  "survived=$survived ${RESULT#RPCLOAD }"
[[ $survived == 1 && "$timeouts" == 0 && "$transport" == 0 ]] || exit 1
exit 0
