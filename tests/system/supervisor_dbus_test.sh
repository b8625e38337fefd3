#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system tier: the supervisor's systemd half live (tests/supervisor/tcs-supervisor-events:
# SdbusSystemdManager + UnitTracker) against the systemd 252 of a throwaway container.
#   supervisor_dbus_test.sh SOURCE_DIR BUILD_DIR [NOTIFIER (unused)]
# Checks the registry events, as wire JSON, for: kill -9 of a running service →
# crashed (result signal, exit_code -9, will_restart) → restarting → start (new PID) → ready;
# a crash loop with restart_max 2 → exactly 2 restarting events, then failed
# (restart_limit_reached, restart_count 2) and nothing after it; and no event at all for a unit
# that was already running when the driver started.
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

tcs_nspawn_init supervisor_dbus
DRIVER="$BUILD_DIR/tests/supervisor/tcs-supervisor-events"
[[ -x "$DRIVER" ]] || tcs_fail "$DRIVER is not built (cmake --build BUILD --target tcs-supervisor-events)"
EVENTS=/run/tcs-events.jsonl

services_boot_container
install_config "$SOURCE_DIR/tests/supervisor/recordings/services.yaml"
out=$(tcs_exec "$UNITGEN" 2>&1) || tcs_fail "tcs-unitgen failed: $out"
tcs_check "daemon-reload" tcs_exec systemctl daemon-reload

CLEAN=tcs@test.signal:clean.service
KILL=tcs@test.signal:kill.service
LIMITED=tcs@test.crash:limited.service

# Already running before the driver starts: must give no event (state taken from a snapshot).
start_unit "$CLEAN"

tcs_check "starting the driver" tcs_exec systemd-run --quiet --unit=tcs-events --property=Type=exec \
  "$DRIVER" --config /etc/tcs/services.yaml --output "$EVENTS"
events() { tcs_exec cat "$EVENTS"; }
has_line() { events | grep -Fq -- "$1"; }
tcs_wait_until 20 "the driver to subscribe" has_line '{"mark":"subscribed"}' || {
  tcs_exec journalctl --no-pager -u tcs-events >&2
  tcs_fail "tcs-supervisor-events did not start"
}

# "<event>" per line for SERVICE_ID, in order.
events_of() { events | sed -n "s/^{\"event\":\"\([a-z]*\)\",\"service_id\":\"$1\".*/\1/p" | paste -sd ' '; }
# The Nth (1-based) line of EVENT for SERVICE_ID.
line_of() { events | grep -F "{\"event\":\"$2\",\"service_id\":\"$1\"" | sed -n "${3:-1}p"; }
expect_in() { [[ "$2" == *"$3"* ]] || tcs_fail "$1: expected '$3' in: $2"; }

# ---- kill -9 → crashed(signal, -9) → restarting → start → ready -------------------------------
start_unit "$KILL"
pid=$(show "$KILL" MainPID)
tcs_check "kill -9 $pid" tcs_exec kill -9 "$pid"
kill_seen() { [[ "$(events_of test.signal.kill)" == "start ready crashed restarting start ready" ]]; }
tcs_wait_until 30 "the kill -9 sequence" kill_seen ||
  tcs_fail "test.signal.kill events: '$(events_of test.signal.kill)' (expected start ready crashed restarting start ready)"
crashed=$(line_of test.signal.kill crashed)
tcs_log "crashed: $crashed"
expect_in "crashed" "$crashed" '"status":"error","exit_code":-9,"restart_policy":"on-failure","will_restart":true,"result":"signal"'
expect_in "crashed" "$crashed" '"parent":"launcher.'"$TCS_MACHINE"'-systemd-launcher","runner_id":"'"$TCS_MACHINE"'-systemd-launcher.test.signal"'
expect_in "restarting" "$(line_of test.signal.kill restarting)" '"status":"startup","restart_attempt":1,"max_restarts":null'
expect_in "first start" "$(line_of test.signal.kill start 1)" "\"pid\":$pid,"
newpid=$(show "$KILL" MainPID)
[[ "$newpid" != "$pid" ]] || tcs_fail "$KILL still has PID $pid"
expect_in "second start" "$(line_of test.signal.kill start 2)" "\"hostname\":\"$TCS_MACHINE\",\"pid\":$newpid,"

# ---- restart_max 2: exactly 2 restarts, then failed(restart_limit_reached) ------------------------
start_unit "$LIMITED"
wait_state 30 "$LIMITED" failed
limited_done() { has_line '{"event":"failed","service_id":"test.crash.limited"'; }
tcs_wait_until 20 "the failed event of test.crash.limited" limited_done ||
  tcs_fail "no failed event; test.crash.limited events: $(events_of test.crash.limited)"
tcs_expect_eq "test.crash.limited events" \
  "start ready crashed restarting start ready crashed restarting start ready crashed failed" "$(events_of test.crash.limited)"
expect_in "failed" "$(line_of test.crash.limited failed)" '"status":"failed","reason":"restart_limit_reached","restart_count":2'
expect_in "restarting 2" "$(line_of test.crash.limited restarting 2)" '"restart_attempt":2,"max_restarts":2'
expect_in "last crash" "$(line_of test.crash.limited crashed 3)" '"exit_code":3,"restart_policy":"on-failure","will_restart":true,"result":"exit-code"'
tcs_expect_eq "$LIMITED NRestarts (the refused attempt counted)" 3 "$(show "$LIMITED" NRestarts)"

# ---- the unit running before the driver: nothing, until it is stopped -------------------------------
tcs_expect_eq "events of the already running test.signal.clean" "" "$(events_of test.signal.clean)"
tcs_check "systemctl stop $CLEAN" tcs_exec timeout 60 systemctl stop "$CLEAN"
clean_stopped() { [[ "$(events_of test.signal.clean)" == "stopping stop" ]]; }
tcs_wait_until 20 "stopping and stop of test.signal.clean" clean_stopped ||
  tcs_fail "test.signal.clean events: '$(events_of test.signal.clean)'"
expect_in "stop" "$(line_of test.signal.clean stop)" '"status":"shutdown","reason":"terminated","exit_code":0'

# Nothing else came for the failed unit (a stop is once, a failed is once).
tcs_expect_eq "test.crash.limited events at the end" \
  "start ready crashed restarting start ready crashed restarting start ready crashed failed" "$(events_of test.crash.limited)"
tcs_check "stopping the driver" tcs_exec systemctl stop tcs-events
tcs_pass
