#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system tier, issue 17: a chaos soak checked against systemd's own record.
#   chaos_soak_test.sh SOURCE_DIR BUILD_DIR [NOTIFIER (unused)]
# One throwaway systemd container with a nats-server (JetStream), tcs-supervisor as installed and
# eight services with mixed restart policies: a watchdog-hung test.hang in a watchdog loop, a
# test.crash loop that reaches its start limit, hello_world instances with restart always /
# on-failure / on-abnormal / no, one with a short watchdog. For TCS_SOAK_SECONDS (default 180) a
# seeded random injector (TCS_SOAK_SEED; printed, so a run can be repeated) does, every 0.5–3 s:
# kill -9 a service, SIGSTOP the watchdog service (→ watchdog kill), stop / start / restart a
# service as an operator would, start what is down, kill -9 the supervisor, restart nats-server,
# restart dbus, or change the config and daemon-reload + reload the supervisor.
# Then every service is brought to rest, and tcs-systest-soak-check (soak_check.cpp) compares the
# registry events in the svc_registry stream with the journal's record of PID 1 (the units'
# transitions, exit statuses, restart counters) and the final state on NATS (the last registry
# event, and `tcsctl --json`) with systemd's. It prints faults / transitions / events and lost /
# duplicated / wrong / invented; the windows in which the supervisor could not see systemd (killed,
# or its bus connection lost) are reported apart: what happened there is not reconstructed
# (doc/protocol.md), and the protocol marks the end of such a window with `declared` events.
# Fails when anything outside those windows was lost, duplicated, wrong or invented, or the final
# state on NATS differs from systemd's. Artefacts (journal, stream, faults, report) stay in the
# test's temp dir (kept on failure; TCS_NSPAWN_KEEP_TMPDIR=1 keeps it always).
# SC2016: single-quoted scripts expand inside the container; SC2317: polled functions.
# shellcheck disable=SC2016,SC2317
set -uo pipefail
SOURCE_DIR=$1 BUILD_DIR=$2
# shellcheck source=../support/nspawn.sh
source "$SOURCE_DIR/tests/support/nspawn.sh"
# shellcheck source=lib_units.sh
source "$SOURCE_DIR/tests/system/lib_units.sh"
# shellcheck source=lib_services.sh
source "$SOURCE_DIR/tests/system/lib_services.sh"

tcs_nspawn_init chaos_soak
command -v jq >/dev/null || tcs_skip "jq is not installed (scripts/setup.sh)"
command -v nats-server >/dev/null || tcs_skip "nats-server is not installed (scripts/setup.sh)"
TOOL="$BUILD_DIR/tests/system/tcs-systest-nats"
CHECK="$BUILD_DIR/tests/system/tcs-systest-soak-check"
[[ -x "$TOOL" && -x "$CHECK" ]] || tcs_fail "$TOOL or $CHECK is missing: build first"
SOAK_SECONDS=${TCS_SOAK_SECONDS:-180}
[[ "$SOAK_SECONDS" =~ ^[1-9][0-9]*$ ]] || tcs_fail "TCS_SOAK_SECONDS must be a positive number of seconds"
SEED=${TCS_SOAK_SEED:-$(((RANDOM << 15) | RANDOM))}
[[ "$SEED" =~ ^[0-9]+$ ]] || tcs_fail "TCS_SOAK_SEED must be a number"
NATS=nats://127.0.0.1:4222
SNIFF=/run/tcs-sniff.log
OUT=$TCS_TEST_TMPDIR
FAULTS=$OUT/faults.log
tcs_log "seed $SEED (TCS_SOAK_SEED=$SEED repeats the injector's choices), $SOAK_SECONDS s of faults"

SERVICES=(hello_world.always hello_world.onfail hello_world.abnormal hello_world.never hello_world.wd
  hello_world.quiet test.hang.main test.crash.loop)
CONFIG="$OUT/services.yaml"
# write_config GENERATION — the soak's config; the generation changes a restart delay and an
# interval (what a config edit followed by daemon-reload changes), never the set of services.
write_config() {
  local g=$1
  cat >"$CONFIG" <<EOF
# chaos soak config (chaos_soak_test.sh), generation $g
nats: {host: 127.0.0.1, port: 4222, required: false}
registry:
  hello_world: ~
  test.hang: ~
  test.crash: ~
services:
  - {type: hello_world, variant: always, interval: 1, restart: always, restart_sec: 0.$((3 + g % 2))}
  - {type: hello_world, variant: onfail, interval: 1, restart: on-failure, restart_sec: 0.3}
  - {type: hello_world, variant: abnormal, interval: 1, restart: on-abnormal, restart_sec: 0.5}
  - {type: hello_world, variant: never, interval: 1, restart: "no"}
  - {type: hello_world, variant: wd, interval: 1, restart: always, restart_sec: 0.5, watchdog_sec: 3, stop_timeout: 3}
  - {type: hello_world, variant: quiet, interval: $((5 + g % 2)), restart: on-failure, restart_sec: 1}
  - {type: test.hang, variant: main, hang_after: 4, watchdog_sec: 2, restart: always, restart_sec: 1, stop_timeout: 2}
  - {type: test.crash, variant: loop, run_duration: 1.5, exit_code: 3, restart: on-failure, restart_sec: 0.5,
     restart_max: 3, restart_window: 20}
EOF
}

services_boot_container
SUPERVISOR="$TCS_INSTALL_BINDIR/tcs-supervisor"
TCSCTL="$TCS_INSTALL_BINDIR/tcsctl"
tcs_check "tcs-supervisor is installed" tcs_exec test -x "$SUPERVISOR"
start_nats_and_sniffer "$TOOL" "$SNIFF" --us

GENERATION=0
write_config "$GENERATION"
install_config "$CONFIG"
tcs_check "daemon-reload (the generator writes the units)" tcs_exec systemctl daemon-reload
tcs_check "systemctl start tcs-supervisor" tcs_exec timeout 60 systemctl start tcs-supervisor.service
wait_state 30 tcs-supervisor.service active
LAUNCHER="$(tcs_exec hostname -s)-systemd-launcher"
declared_all() { (($(tcs_exec grep -c ' svc\.registry\.declared\.' "$SNIFF") >= ${#SERVICES[@]})); }
tcs_wait_until 20 "the supervisor to declare the services" declared_all || tcs_fail "no declared events"
for id in "${SERVICES[@]}"; do start_unit "$(unit_of "$id")"; done
tcs_log "supervisor up as launcher.$LAUNCHER; ${#SERVICES[@]} services started"

# ---- the injector ------------------------------------------------------------------------------
now_us() { date +%s%6N; }
fault() { printf '%s %s %s\n' "$(now_us)" "$1" "${2:--}" >>"$FAULTS"; }
main_pid() { show "$1" MainPID; }
pick() { local a=("$@"); echo "${a[RANDOM % ${#a[@]}]}"; }

kill9_service() {
  local id pid
  id=$(pick "${SERVICES[@]}")
  pid=$(main_pid "$(unit_of "$id")")
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] || return 1  # down or between runs: nothing to kill
  fault kill9 "$id"
  tcs_exec kill -9 "$pid" 2>/dev/null
}
sigstop_service() {
  local pid
  pid=$(main_pid tcs@hello_world:wd.service)
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] || return 1
  [[ "$(tcs_exec ps -o stat= -p "$pid")" != T* ]] || return 1  # already stopped
  fault sigstop hello_world.wd
  tcs_exec kill -STOP "$pid" 2>/dev/null
}
operator_verb() {
  local id verb
  id=$(pick "${SERVICES[@]}")
  verb=$(pick stop start restart)
  fault "$verb" "$id"
  tcs_exec systemctl --no-block "$verb" "$(unit_of "$id")"
}
# start_down — an operator starting every service that is down (test.crash after its start
# limit, hello_world.never after a kill, a service stopped above), after reset-failed.
start_down() {
  local id unit state started=""
  for id in "${SERVICES[@]}"; do
    unit=$(unit_of "$id")
    state=$(show "$unit" ActiveState)
    [[ "$state" == failed || "$state" == inactive ]] || continue
    tcs_exec systemctl reset-failed "$unit" 2>/dev/null
    tcs_exec systemctl --no-block start "$unit"
    started+=" $id"
  done
  [[ -n "$started" ]] || return 1
  fault start_down "${started# }"
}
kill9_supervisor() {
  local pid
  pid=$(main_pid tcs-supervisor.service)
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] || return 1  # restarting already
  fault kill9_supervisor "$pid"
  tcs_exec kill -9 "$pid"
}
restart_nats() {
  fault restart_nats
  tcs_exec timeout 60 systemctl restart tcs-test-nats.service
}
restart_dbus() {
  fault restart_dbus
  tcs_exec timeout 60 systemctl restart dbus.service
}
reload_config() {
  GENERATION=$((GENERATION + 1))
  write_config "$GENERATION"
  fault reload_config "generation-$GENERATION"
  install_config "$CONFIG"
  tcs_exec timeout 60 systemctl daemon-reload
  tcs_exec systemctl reload tcs-supervisor.service 2>/dev/null  # SIGHUP; refused while it restarts
}

# Weights (per 100): the service faults dominate, the infrastructure faults recur every ~30 s.
FAULT_TABLE=(
  30 kill9_service
  7 sigstop_service
  15 operator_verb
  16 start_down
  8 kill9_supervisor
  9 restart_nats
  6 restart_dbus
  9 reload_config
)
choose_fault() {
  local r=$((RANDOM % 100)) i
  for ((i = 0; i < ${#FAULT_TABLE[@]}; i += 2)); do
    ((r < FAULT_TABLE[i])) && { echo "${FAULT_TABLE[i + 1]}"; return; }
    r=$((r - FAULT_TABLE[i]))
  done
  echo kill9_service
}

RANDOM=$SEED
: >"$FAULTS"
soak_end=$((SECONDS + SOAK_SECONDS))
declare -A done_by_kind=()
tcs_log "injecting faults for $SOAK_SECONDS s"
while ((SECONDS < soak_end)); do
  f=$(choose_fault)
  if "$f"; then done_by_kind[$f]=$((${done_by_kind[$f]:-0} + 1)); fi
  # The injector's pace (not a wait for a condition): 0.5–3.4 s between faults.
  sleep "$((RANDOM % 3 + 0)).$((RANDOM % 10 + 0))"
  sleep 0.5
done
summary=""
for f in "${!done_by_kind[@]}"; do summary+=" $f=${done_by_kind[$f]}"; done
tcs_log "faults injected: $(wc -l <"$FAULTS") ($summary )"

# ---- bring everything to rest ------------------------------------------------------------------
# test.hang and test.crash would loop for ever: an operator stops them (checked like any stop).
# Whatever is stopped (SIGSTOP) is left to the watchdog, which kills it within watchdog_sec.
wait_state 60 tcs-supervisor.service active
wait_state 30 dbus.service active
wait_state 30 tcs-test-nats.service active
fault stop_at_end "test.hang.main test.crash.loop"
tcs_exec timeout 60 systemctl stop tcs@test.hang:main.service tcs@test.crash:loop.service
at_rest() {
  [[ -z "$(tcs_exec systemctl list-jobs --no-legend)" ]] || return 1
  local states
  states=$(for id in "${SERVICES[@]}"; do show "$(unit_of "$id")" ActiveState; done | sort -u | paste -sd ' ')
  [[ " $states " != *" activating "* && " $states " != *" deactivating "* && " $states " != *" reloading "* ]] || return 1
  # a unit waiting in auto-restart is "activating"; one SIGSTOPped reports active until the
  # watchdog fires: check that no main process is stopped
  local id pid
  for id in "${SERVICES[@]}"; do
    pid=$(main_pid "$(unit_of "$id")")
    [[ "$pid" =~ ^[1-9][0-9]*$ ]] || continue
    [[ "$(tcs_exec ps -o stat= -p "$pid")" != T* ]] || return 1
  done
}
tcs_wait_until 90 "every service to come to rest" at_rest || tcs_fail "the services did not come to rest"
stream_count() { tcs_exec "$TOOL" req "$NATS" '$JS.API.STREAM.INFO.svc_registry' '' 5000 | jq -r .state.messages; }
last_count=-1
stable_since=$SECONDS
stream_settled() {
  local n
  n=$(stream_count) || return 1
  [[ "$n" =~ ^[0-9]+$ ]] || return 1
  if [[ "$n" != "$last_count" ]]; then
    last_count=$n
    stable_since=$SECONDS
    return 1
  fi
  ((SECONDS - stable_since >= 3))
}
tcs_wait_until 60 "svc_registry to settle (no new message for 3 s)" stream_settled || tcs_fail "svc_registry kept growing"
tcs_log "at rest; svc_registry holds $last_count messages"

# ---- collect what NATS says and what systemd says --------------------------------------------------
tcs_exec "$TOOL" stream "$NATS" svc_registry 'svc.registry.>' |
  jq -c '{seq: .message.seq, subject: .message.subject, message: (.message.data | @base64d | fromjson)}' \
    >"$OUT/stream.jsonl" || tcs_fail "could not read the svc_registry stream"
tcs_exec cat "$SNIFF" >"$OUT/sniffed.log"
# PID 1's records (the units' transitions) and the supervisor's own lines, since the boot.
tcs_exec journalctl --no-pager -o json _PID=1 + _SYSTEMD_UNIT=tcs-supervisor.service >"$OUT/journal.jsonl" ||
  tcs_fail "could not read the container's journal"
: >"$OUT/final.txt"
for id in "${SERVICES[@]}"; do
  unit=$(unit_of "$id")
  printf '%s %s %s %s %s\n' "$id" "$(show "$unit" ActiveState)" "$(show "$unit" NRestarts)" \
    "$(show "$unit" MainPID)" "$(show "$unit" Restart)" >>"$OUT/final.txt"
done
tcs_exec "$TCSCTL" --all --json --timeout 10 >"$OUT/tcsctl.json" || tcs_fail "tcsctl --json failed"

tcs_log "checking $(wc -l <"$OUT/stream.jsonl") stream messages against $(wc -l <"$OUT/journal.jsonl") journal records"
"$CHECK" --journal "$OUT/journal.jsonl" --stream "$OUT/stream.jsonl" --faults "$FAULTS" \
  --final "$OUT/final.txt" --tcsctl "$OUT/tcsctl.json" --sniffed "$OUT/sniffed.log" \
  --seed "$SEED" --seconds "$SOAK_SECONDS" >"$OUT/report.txt"
verdict=$?
cat "$OUT/report.txt" >&2
((verdict == 0)) || tcs_fail "the chaos soak found lost, duplicated, wrong or invented events (report above; artefacts in $OUT)"
tcs_pass
