#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system tier: failing tcs services under the systemd 252 of a throwaway container, units
# written by tcs-unitgen run by hand (+ daemon-reload).
#   service_restart_test.sh SOURCE_DIR BUILD_DIR [NOTIFIER (unused)]
# Checks: test.hang stops making progress → the runtime withholds watchdog pings → systemd
# kills it (Result=watchdog, "Watchdog timeout") and restarts it (restart: on-failure);
# test.crash (exit 3) restarts with restart: on-failure, not with restart: "no" (failed,
# ExecMainStatus=3); restart_max: 2 / restart_window: 60 allows exactly 3 starts (upstream:
# start, 2 restarts, then failed) and the unit stays failed. Stopping a hung service ends
# after its stop_timeout with exit status 1.
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

tcs_nspawn_init service_restart

CONFIG="$TCS_TEST_TMPDIR/services.yaml"
cat >"$CONFIG" <<'EOF'
# system test config (service_restart_test.sh)
registry:
  test.hang: ~
  test.crash: ~

services:
  - type: test.hang
    variant: main
    hang_after: 1
    watchdog_sec: 2
    restart: on-failure
    restart_sec: 1
    stop_timeout: 1       # a hung run() is given up after 1 s on stop (default 20 s)

  - type: test.crash
    variant: again
    run_duration: 1
    exit_code: 3
    restart: on-failure
    restart_sec: 0.5

  - type: test.crash
    variant: once
    run_duration: 1
    exit_code: 3
    restart: "no"

  - type: test.crash
    variant: limited
    run_duration: 0.5
    exit_code: 3
    restart: on-failure
    restart_sec: 0.5
    restart_max: 2
    restart_window: 60
EOF
HANG=tcs@test.hang:main.service
AGAIN=tcs@test.crash:again.service
ONCE=tcs@test.crash:once.service
LIMITED=tcs@test.crash:limited.service

services_boot_container
install_config "$CONFIG"
out=$(tcs_exec "$UNITGEN" 2>&1) || tcs_fail "tcs-unitgen failed: $out"
tcs_log "$out"
tcs_check "daemon-reload" tcs_exec systemctl daemon-reload
expect_prop "$HANG" Restart on-failure
expect_prop "$AGAIN" Restart on-failure
expect_prop "$ONCE" Restart no
expect_prop "$LIMITED" StartLimitBurst 3
expect_prop "$LIMITED" StartLimitIntervalUSec 1min

# All four run at once; each check below polls its own unit.
for unit in "$HANG" "$AGAIN" "$ONCE" "$LIMITED"; do start_unit "$unit"; done
HANG_PID=$(show "$HANG" MainPID)
expect_prop "$HANG" WatchdogUSec 2s
tcs_log "started $HANG (PID $HANG_PID), $AGAIN, $ONCE, $LIMITED"

# ---- the watchdog kills a hung service, on-failure restarts it -----------------------------------
# Result=watchdog lasts while the restart is pending (restart_sec 1 s) and recurs at every hang.
tcs_wait_until 20 "$HANG Result=watchdog" unit_in "$HANG" Result watchdog || {
  unit_journal "$HANG" | tail -n 20 >&2
  tcs_fail "$HANG never showed Result=watchdog"
}
tcs_log "$HANG: Result=watchdog seen (ActiveState $(show "$HANG" ActiveState), SubState $(show "$HANG" SubState))"
wait_unit_journal 5 "$HANG" "$HANG: Watchdog timeout (limit 2s)!"
wait_unit_journal 5 "$HANG" "$HANG: Killing process $HANG_PID (test.hang) with signal SIGABRT."
wait_unit_journal 5 "$HANG" "$HANG: Failed with result 'watchdog'."
hang_restarted() {
  unit_at_least "$HANG" NRestarts 1 && unit_in "$HANG" ActiveState active &&
    ! unit_in "$HANG" MainPID "$HANG_PID" 0
}
tcs_wait_until 20 "$HANG to run again under a new PID" hang_restarted ||
  tcs_fail "$HANG was not restarted (NRestarts=$(show "$HANG" NRestarts), ActiveState=$(show "$HANG" ActiveState), MainPID=$(show "$HANG" MainPID))"
tcs_log "$HANG restarted: NRestarts=$(show "$HANG" NRestarts), MainPID $HANG_PID → $(show "$HANG" MainPID)"

# The runtime, not a dead process, stopped the pings: the service said it hung (warning) and the
# runtime said it withholds the pings (error), and the watchdog fired within 2 × WatchdogSec of
# the hang (pings continue while the last progress is younger than WatchdogSec), not before.
export_hang=$(journal_export TCS_SERVICE_ID=test.hang.main)
HANG_MSG="hanging now (no more progress)"
expect_record "$export_hang" "$HANG_MSG" PRIORITY 4
expect_record "$export_hang" "$HANG_MSG" _PID "$HANG_PID"
expect_record "$export_hang" "$HANG_MSG" TCS_SERVICE_TYPE test.hang
expect_record "$export_hang" "$HANG_MSG" TCS_VARIANT main
withhold_msg=$(tcs_exec journalctl --no-pager -o cat TCS_SERVICE_ID=test.hang.main "_PID=$HANG_PID" |
  grep -m1 '^test.hang.main made no progress for .* withholding watchdog pings')
[[ -n "$withhold_msg" ]] || tcs_fail "the runtime did not log that it withholds the watchdog pings of $HANG_PID"
expect_record "$export_hang" "$withhold_msg" PRIORITY 3
hang_us=$(record_monotonic "$HANG_MSG" <<<"$export_hang")
timeout_us=$(journal_export -u "$HANG" | record_monotonic "$HANG: Watchdog timeout (limit 2s)!")
[[ -n "$hang_us" && -n "$timeout_us" ]] || tcs_fail "no monotonic timestamps for the hang ($hang_us) / the timeout ($timeout_us)"
delta_ms=$(((timeout_us - hang_us) / 1000))
tcs_log "$HANG: watchdog timeout $delta_ms ms after the hang (WatchdogSec 2 s)"
((delta_ms >= 2000)) || tcs_fail "the watchdog fired $delta_ms ms after the hang: before WatchdogSec, while pings were due"
((delta_ms <= 7000)) || tcs_fail "the watchdog fired $delta_ms ms after the hang: pings went on too long"

# Stopping it while hung: run() ignores the stop request, so the runtime gives up after its
# stop_timeout (1 s here) and exits 1, well within TimeoutStopSec — no SIGKILL needed.
HANG_PID2=$(show "$HANG" MainPID)
hung_again() { tcs_exec journalctl --no-pager -o cat TCS_SERVICE_ID=test.hang.main "_PID=$HANG_PID2" | grep -Fxq "$HANG_MSG"; }
tcs_wait_until 10 "$HANG (PID $HANG_PID2) to hang" hung_again || tcs_fail "$HANG (PID $HANG_PID2) did not hang again"
t0=$(now_ms)
tcs_check "systemctl stop $HANG" tcs_exec timeout 60 systemctl stop "$HANG"
stop_ms=$(($(now_ms) - t0))
tcs_log "$HANG stopped while hung in $stop_ms ms (stop_timeout 1 s)"
((stop_ms >= 1000 && stop_ms < 10000)) || tcs_fail "stopping the hung $HANG took $stop_ms ms (stop_timeout is 1 s)"
expect_prop "$HANG" ActiveState failed
expect_prop "$HANG" Result exit-code
expect_prop "$HANG" ExecMainStatus 1
wait_unit_journal 5 "$HANG" "test.hang.main did not stop within 1.0 s; giving up on it"
unit_journal "$HANG" | grep -q "$HANG: Killing process $HANG_PID2 .* with signal SIGKILL" &&
  tcs_fail "$HANG needed SIGKILL to stop"

# ---- restart: on-failure restarts a crash ----------------------------------------------------------
again_pid=$(main_pids_of "$AGAIN" | head -n 1)
again_restarted_twice() {
  unit_at_least "$AGAIN" NRestarts 2 && unit_in "$AGAIN" ActiveState active &&
    (($(main_pids_of "$AGAIN" | wc -l) >= 3))
}
tcs_wait_until 20 "$AGAIN to be restarted twice" again_restarted_twice ||
  tcs_fail "$AGAIN: NRestarts=$(show "$AGAIN" NRestarts), PIDs: $(main_pids_of "$AGAIN" | paste -sd ' ')"
! unit_in "$AGAIN" MainPID "$again_pid" || tcs_fail "$AGAIN still runs its first PID $again_pid"
wait_unit_journal 5 "$AGAIN" "$AGAIN: Main process exited, code=exited, status=3/NOTIMPLEMENTED"
export_again=$(journal_export TCS_SERVICE_ID=test.crash.again)
expect_record "$export_again" "simulated crash" PRIORITY 3
expect_record "$export_again" "simulated crash" _PID "$again_pid"
tcs_log "$AGAIN: restarted (NRestarts=$(show "$AGAIN" NRestarts), PIDs $(main_pids_of "$AGAIN" | paste -sd ' '))"
tcs_check "systemctl stop $AGAIN" tcs_exec timeout 60 systemctl stop "$AGAIN"

# ---- restart: "no" leaves the crash failed -----------------------------------------------------------
wait_state 15 "$ONCE" failed
expect_prop "$ONCE" Result exit-code
expect_prop "$ONCE" ExecMainCode 1
expect_prop "$ONCE" ExecMainStatus 3
expect_prop "$ONCE" NRestarts 0
tcs_expect_eq "$ONCE processes" 1 "$(main_pids_of "$ONCE" | wc -l)"
tcs_log "$ONCE: failed, ExecMainStatus=3, not restarted"

# ---- restart_max: 2 in restart_window: 60 → exactly 3 starts, then failed ---------------------------
wait_state 30 "$LIMITED" failed
starts_logged() { unit_journal "$LIMITED" | grep -c "^Started $LIMITED"; }
own_starts() { journal_export TCS_SERVICE_ID=test.crash.limited | grep -cx 'MESSAGE=running; crashing with exit status 3 in 0.5 s'; }
tcs_expect_eq "$LIMITED: systemd's 'Started' messages" 3 "$(starts_logged)"
tcs_expect_eq "$LIMITED: the service's own start messages" 3 "$(own_starts)"
tcs_expect_eq "$LIMITED: distinct main PIDs" 3 "$(main_pids_of "$LIMITED" | wc -l)"
wait_unit_journal 5 "$LIMITED" "$LIMITED: Start request repeated too quickly."
expect_prop "$LIMITED" ExecMainStatus 3
# systemd 252 reports the refused 3rd restart as Result=exit-code and counts it in NRestarts
# (doc/units.md); what ran is counted above.
expect_prop "$LIMITED" Result exit-code
expect_prop "$LIMITED" NRestarts 3
# It stays failed: nothing starts it again (more than 4 × restart_sec).
limited_still_failed() { unit_in "$LIMITED" ActiveState failed && (($(own_starts) == 3)); }
holds_for 3 "$LIMITED staying failed after the limit" limited_still_failed
tcs_log "$LIMITED: 3 starts (PIDs $(main_pids_of "$LIMITED" | paste -sd ' ')), then failed for good"

# The restart: "no" crash is still failed, never restarted.
expect_prop "$ONCE" ActiveState failed
expect_prop "$ONCE" NRestarts 0

tcs_pass
