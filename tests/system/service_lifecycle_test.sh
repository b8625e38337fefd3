#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system tier: real tcs services (libtcs runtime) under the systemd 252 of a throwaway
# container, units from the generator (the config at /etc/tcs/services.yaml + daemon-reload).
#   service_lifecycle_test.sh SOURCE_DIR BUILD_DIR [NOTIFIER (unused)]
# Checks: `systemctl start tcs@hello_world:main` returns once the service is ready and the
# unit is active/running; `systemctl status` shows the service's STATUS text; journalctl -u and
# journalctl TCS_SERVICE_ID= show its structured records (PRIORITY, TCS_* fields, CODE_FILE/
# CODE_LINE of the log call); watchdog pings keep a 1 s watchdog fed; `systemctl stop` is a
# clean stop (exit 0, onStop's log line). test.slow_start: start blocks until READY.
# test.single_shot: exit 0 → inactive (not failed), exit 4 → failed with ExecMainStatus=4.
# SC2016: single-quoted scripts expand inside the container; SC2317: polled via tcs_wait_until.
# shellcheck disable=SC2016,SC2317
set -uo pipefail
SOURCE_DIR=$1 BUILD_DIR=$2
# shellcheck source=../support/nspawn.sh
source "$SOURCE_DIR/tests/support/nspawn.sh"
# shellcheck source=lib_units.sh
source "$SOURCE_DIR/tests/system/lib_units.sh"
# shellcheck source=lib_services.sh
source "$SOURCE_DIR/tests/system/lib_services.sh"

tcs_nspawn_init service_lifecycle

CONFIG="$TCS_TEST_TMPDIR/services.yaml"
cat >"$CONFIG" <<'EOF'
# system test config (service_lifecycle_test.sh)
registry:
  hello_world: ~
  test.slow_start: ~
  test.single_shot: ~

services:
  - type: hello_world
    variant: main
    interval: 0.2
    message: "Hello World!"
    watchdog_sec: 1
    log_level: DEBUG

  - type: test.slow_start
    variant: main
    start_delay: 2

  - type: test.single_shot
    variant: ok
    duration: 1
    exit_code: 0

  - type: test.single_shot
    variant: four
    duration: 0.5
    exit_code: 4
EOF
HW=tcs@hello_world:main.service
SLOW=tcs@test.slow_start:main.service
SS_OK=tcs@test.single_shot:ok.service
SS_FOUR=tcs@test.single_shot:four.service

services_boot_container
HOST=$(tcs_exec hostname -s)
install_config "$CONFIG"
tcs_check "daemon-reload (runs the generator)" tcs_exec systemctl daemon-reload
for unit in "$HW" "$SLOW" "$SS_OK" "$SS_FOUR"; do
  [[ "$(show "$unit" DropInPaths)" == *"/run/systemd/generator/$unit.d/50-tcs.conf"* ]] ||
    tcs_fail "$unit: no generated drop-in loaded (DropInPaths=$(show "$unit" DropInPaths))"
done

# ---- hello_world: start returns when active ----------------------------------------------------
start_unit "$HW"
# Right after `systemctl start` returned, without polling: Type=notify makes the start job wait
# for READY=1, which the runtime sends after onStart().
state=$(tcs_exec systemctl show -p ActiveState,SubState --value "$HW" | tr '\n' ' ')
tcs_expect_eq "$HW ActiveState SubState right after start" "active running " "$state"
HW_PID=$(show "$HW" MainPID)
[[ "$HW_PID" =~ ^[1-9][0-9]*$ ]] || tcs_fail "$HW has no MainPID: '$HW_PID'"
expect_prop "$HW" ExecMainPID "$HW_PID"
[[ "$(show "$HW" StatusText)" == "ok: "* ]] ||
  tcs_fail "$HW StatusText right after start is not 'ok: …': '$(show "$HW" StatusText)'"
expect_prop "$HW" WatchdogUSec 1s
tcs_log "$HW active/running right after start (MainPID $HW_PID, StatusText '$(show "$HW" StatusText)')"

# ---- systemctl status shows STATUS= ------------------------------------------------------------
sent_count() {  # N of "ok: Hello World! (N sent)", or nothing
  sed -n 's/^ok: Hello World! (\([0-9][0-9]*\) sent)$/\1/p' <<<"$(show "$HW" StatusText)"
}
status_counts_to() { local n; n=$(sent_count); [[ -n "$n" ]] && ((n >= $1)); }
tcs_wait_until 10 "$HW status to count 3 messages" status_counts_to 3 ||
  tcs_fail "$HW StatusText never reached 'ok: Hello World! (3 sent)': '$(show "$HW" StatusText)'"
status_out=$(tcs_exec systemctl status --no-pager "$HW")
status_line=$(grep -E '^ +Status: "ok: Hello World! \([0-9]+ sent\)"$' <<<"$status_out") || {
  echo "$status_out" >&2
  tcs_fail "systemctl status $HW does not show 'Status: \"ok: Hello World! (N sent)\"'"
}
tcs_log "systemctl status: ${status_line#"${status_line%%[! ]*}"}"
# The count goes on: STATUS= follows the service, it is not a one-off.
n_before=$(sent_count)
tcs_wait_until 10 "$HW status to count past $n_before" status_counts_to $((n_before + 2)) ||
  tcs_fail "$HW StatusText stopped counting at $n_before: '$(show "$HW" StatusText)'"

# ---- journal: journalctl -u and TCS_SERVICE_ID= -------------------------------------------------
READY_MSG="Hello World service ready (interval 0.2s)"
TICK_MSG="Hello World! (interval: 0.2s)"
FW_READY_MSG="hello_world.main is ready"
DEBUG_MSG="parent launcher.$HOST-systemd-launcher, runner id $HOST-systemd-launcher.hello_world"
wait_unit_journal 10 "$HW" "$READY_MSG"
wait_unit_journal 10 "$HW" "$TICK_MSG"
wait_unit_journal 10 "$HW" "$FW_READY_MSG"
wait_unit_journal 10 "$HW" "$DEBUG_MSG"  # log_level: DEBUG from the config reaches the service
by_id=$(tcs_exec journalctl --no-pager -o cat TCS_SERVICE_ID=hello_world.main)
for msg in "$READY_MSG" "$TICK_MSG" "$FW_READY_MSG"; do
  grep -Fxq -- "$msg" <<<"$by_id" || tcs_fail "journalctl TCS_SERVICE_ID=hello_world.main lacks '$msg'"
done
export_hw=$(journal_export TCS_SERVICE_ID=hello_world.main)
HW_SRC=services/hello_world/main.cpp
RT_SRC=libtcs/src/runtime/runtime.cpp
BOOT_SRC=libtcs/src/runtime/bootstrap.cpp
# msg | PRIORITY | source file | the text of its log call in that file
checks=(
  "$READY_MSG|6|$HW_SRC|log().info(\"Hello World service ready"
  "$TICK_MSG|6|$HW_SRC|log().info(\"{} (interval: {}s)\""
  "$FW_READY_MSG|6|$RT_SRC|log::info(\"{} is ready\""
  "$DEBUG_MSG|7|$BOOT_SRC|log::debug(\"parent {}, runner id {}\""
)
for c in "${checks[@]}"; do
  IFS='|' read -r msg prio src call <<<"$c"
  expect_record "$export_hw" "$msg" PRIORITY "$prio"
  expect_record "$export_hw" "$msg" TCS_SERVICE_ID hello_world.main
  expect_record "$export_hw" "$msg" TCS_SERVICE_TYPE hello_world
  expect_record "$export_hw" "$msg" TCS_VARIANT main
  expect_record "$export_hw" "$msg" SYSLOG_IDENTIFIER hello_world.main
  expect_record "$export_hw" "$msg" _SYSTEMD_UNIT "$HW"
  expect_record "$export_hw" "$msg" _PID "$HW_PID"
  # CODE_FILE/CODE_LINE name the service's (or the runtime's) log call — once each, not the
  # logging backend's own location next to it.
  files=$(record_field "$msg" CODE_FILE <<<"$export_hw")
  [[ "$files" != *$'\n'* && "$files" == */"$src" ]] ||
    tcs_fail "journal record '$msg': CODE_FILE should be one value ending in /$src, got: $(echo "$files" | paste -sd '|')"
  expect_record "$export_hw" "$msg" CODE_LINE "$(source_line "$src" "$call")"
done
# Every record of this service id comes from its unit with its identity fields, once each.
bad=$(awk -v unit="$HW" '
  function flush() {
    if (n["MESSAGE"] > 0 && (n["TCS_SERVICE_TYPE"] != 1 || t != "hello_world" || n["TCS_VARIANT"] != 1 ||
        v != "main" || u != unit || n["CODE_FILE"] != 1 || n["CODE_LINE"] != 1 || n["PRIORITY"] != 1))
      print m
    delete n; t = v = u = m = ""
  }
  /^$/ { flush(); next }
  { k = substr($0, 1, index($0, "=") - 1); val = substr($0, index($0, "=") + 1); n[k]++
    if (k == "TCS_SERVICE_TYPE") t = val; if (k == "TCS_VARIANT") v = val
    if (k == "_SYSTEMD_UNIT") u = val; if (k == "MESSAGE") m = val }
  END { flush() }' <<<"$export_hw" | sort | uniq -c)
[[ -z "$bad" ]] || tcs_fail "records of TCS_SERVICE_ID=hello_world.main with missing or repeated fields:"$'\n'"$bad"
tcs_log "journal: $(grep -c '^MESSAGE=' <<<"$export_hw") records by TCS_SERVICE_ID, fields and priorities as logged"

# ---- the watchdog is fed while the service makes progress --------------------------------------
hw_start=$(show "$HW" ExecMainStartTimestampMonotonic)
watchdog_fed_past() { local last; last=$(show "$HW" WatchdogTimestampMonotonic); ((last - hw_start > $1)); }
tcs_wait_until 10 "$HW watchdog pings for 3 s (3 watchdog intervals)" watchdog_fed_past 3000000 ||
  tcs_fail "$HW: watchdog pings stopped (WatchdogTimestampMonotonic=$(show "$HW" WatchdogTimestampMonotonic), start $hw_start)"
expect_prop "$HW" NRestarts 0
expect_prop "$HW" MainPID "$HW_PID"
expect_prop "$HW" ActiveState active

# ---- stop: clean, exit 0 -----------------------------------------------------------------------
t0=$(now_ms)
tcs_check "systemctl stop $HW" tcs_exec timeout 60 systemctl stop "$HW"
stop_ms=$(($(now_ms) - t0))
expect_prop "$HW" ActiveState inactive
expect_prop "$HW" SubState dead
expect_clean_exit "$HW"
((stop_ms < 5000)) || tcs_fail "stopping $HW took $stop_ms ms (a clean stop should be prompt)"
wait_unit_journal 10 "$HW" "Hello World service cleaning up"
wait_unit_journal 10 "$HW" "hello_world.main stopped (exit status 0)"
tcs_log "$HW stopped in $stop_ms ms: inactive, exit status 0, onStop logged"

# ---- slow start: systemctl start waits for READY -----------------------------------------------
t0=$(now_ms)
start_unit "$SLOW"
start_ms=$(($(now_ms) - t0))
state=$(tcs_exec systemctl show -p ActiveState,SubState --value "$SLOW" | tr '\n' ' ')
tcs_expect_eq "$SLOW ActiveState SubState right after start" "active running " "$state"
((start_ms >= 2000)) || tcs_fail "systemctl start $SLOW returned after $start_ms ms, before its 2 s onStart() ended"
ready_us=$(($(show "$SLOW" ActiveEnterTimestampMonotonic) - $(show "$SLOW" ExecMainStartTimestampMonotonic)))
((ready_us >= 2000000)) || tcs_fail "$SLOW became active $ready_us us after its process started, before onStart() ended"
tcs_log "$SLOW: systemctl start took $start_ms ms, exec → active $((ready_us / 1000)) ms (start_delay 2 s)"
tcs_check "systemctl stop $SLOW" tcs_exec timeout 60 systemctl stop "$SLOW"
# Once more without waiting: the unit is 'activating' while onStart() runs.
tcs_check "systemctl start --no-block $SLOW" tcs_exec systemctl start --no-block "$SLOW"
slow_starting() { unit_journal "$SLOW" | grep -c 'starting slowly (2 s)' | grep -qx 2; }
tcs_wait_until 10 "$SLOW to log its second start" slow_starting || tcs_fail "$SLOW did not start again"
state=$(tcs_exec systemctl show -p ActiveState,SubState --value "$SLOW" | tr '\n' ' ')
tcs_expect_eq "$SLOW ActiveState SubState while onStart() runs" "activating start " "$state"
wait_state 10 "$SLOW" active
tcs_check "systemctl stop $SLOW" tcs_exec timeout 60 systemctl stop "$SLOW"
expect_clean_exit "$SLOW"

# ---- single-shot: exit 0 → inactive, exit 4 → failed ---------------------------------------------
start_unit "$SS_OK"
start_unit "$SS_FOUR"
wait_state 15 "$SS_OK" inactive
expect_prop "$SS_OK" SubState dead
expect_clean_exit "$SS_OK"
wait_unit_journal 5 "$SS_OK" "done, exit status 0"
tcs_log "$SS_OK: exited 0 after its work, unit inactive (Deactivated successfully), not failed"
wait_state 15 "$SS_FOUR" failed
expect_prop "$SS_FOUR" Result exit-code
expect_prop "$SS_FOUR" ExecMainCode 1
expect_prop "$SS_FOUR" ExecMainStatus 4
expect_prop "$SS_FOUR" NRestarts 0
wait_unit_journal 5 "$SS_FOUR" "done, exit status 4"
tcs_log "$SS_FOUR: exited 4, unit failed (Result=exit-code, ExecMainStatus=4)"

tcs_pass
