# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# SC2016: single-quoted scripts expand inside the container; SC2317: polled functions.
# shellcheck disable=SC2016,SC2317
# tcs-dbus-record in a container and the recorded scenarios, shared by record_fixtures.sh and
# tests/system/supervisor_dbus_test.sh. Source after nspawn.sh, lib_units.sh and lib_services.sh;
# needs RECORDER (the tcs-dbus-record binary, visible inside the container).

REC_DIR=/run/tcs-rec

# rec_has NAME TEXT — the recording NAME contains TEXT (fixed string).
rec_has() { tcs_exec grep -sFq -- "$2" "$REC_DIR/$1.jsonl"; }

# rec_count NAME TEXT — how many lines of the recording contain TEXT.
rec_count() { tcs_exec grep -sFc -- "$2" "$REC_DIR/$1.jsonl"; }

# rec_start NAME UNIT — run tcs-dbus-record for UNIT only (transient unit tcs-rec-NAME), writing
# $REC_DIR/NAME.jsonl; returns once it has subscribed and listed the units.
rec_start() {
  local name=$1 unit=$2
  tcs_check "preparing $REC_DIR" tcs_sh 'mkdir -p "$1" && rm -f "$1/$2.jsonl"' "$REC_DIR" "$name"
  tcs_check "starting tcs-dbus-record for $unit" tcs_exec systemd-run --quiet --unit="tcs-rec-$name" \
    --property=Type=exec "$RECORDER" --pattern "$unit" --output "$REC_DIR/$name.jsonl"
  tcs_wait_until 20 "tcs-dbus-record to subscribe" rec_has "$name" '"text":"subscribed"' || {
    tcs_exec journalctl --no-pager -u "tcs-rec-$name" >&2
    tcs_fail "tcs-dbus-record did not start"
  }
}

# rec_wait NAME TEXT [N] — wait until at least N (default 1) lines of the recording contain TEXT.
rec_wait() {
  local name=$1 text=$2 n=${3:-1}
  _rec_at_least() { (($(rec_count "$name" "$text") >= n)); }
  tcs_wait_until 20 "$n line(s) with '$text' in the $name recording" _rec_at_least || {
    tcs_exec cat "$REC_DIR/$name.jsonl" >&2
    tcs_fail "the $name recording lacks $n line(s) with '$text'"
  }
}

# rec_stop NAME — stop the recorder (SIGTERM) and wait until it wrote its last line.
rec_stop() {
  tcs_check "stopping tcs-dbus-record $1" tcs_exec systemctl stop "tcs-rec-$1"
  rec_wait "$1" '"text":"end"'
  # A sanitizer build of the recorder (TCS_RECORDER) reports to its journal.
  local log
  log=$(tcs_exec journalctl --no-pager -o cat -u "tcs-rec-$1")
  if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:|tcs-supervisor: ' <<<"$log"; then
    printf '%s\n' "$log" >&2
    tcs_fail "tcs-dbus-record $1 reported errors"
  fi
}

# unit_pid UNIT — MainPID now.
unit_pid() { show "$1" MainPID; }

# restarted UNIT OLDPID N — NRestarts ≥ N, active and running under a PID other than OLDPID.
restarted() { unit_at_least "$1" NRestarts "$3" && unit_in "$1" SubState running && ! unit_in "$1" MainPID "$2" 0; }

# ---- scenarios: each records into $REC_DIR/<scenario>.jsonl ---------------------------------

scenario_clean_stop() {
  local u=tcs@test.signal:clean.service
  rec_start clean_stop "$u"
  start_unit "$u"
  tcs_check "systemctl stop $u" tcs_exec timeout 60 systemctl stop "$u"
  rec_wait clean_stop '"ActiveState":"inactive"'
  rec_stop clean_stop
}

scenario_sigkill() {
  local u=tcs@test.signal:kill.service pid
  rec_start sigkill "$u"
  start_unit "$u"
  pid=$(unit_pid "$u")
  tcs_check "kill -9 $pid" tcs_exec kill -9 "$pid"
  tcs_wait_until 20 "$u to run again" restarted "$u" "$pid" 1 || tcs_fail "$u was not restarted after kill -9"
  rec_wait sigkill '"SubState":"running"' 2
  tcs_check "systemctl stop $u" tcs_exec timeout 60 systemctl stop "$u"
  rec_wait sigkill '"ActiveState":"inactive"'
  rec_stop sigkill
}

scenario_watchdog() {
  local u=tcs@test.hang:wd.service pid
  rec_start watchdog "$u"
  start_unit "$u"
  pid=$(unit_pid "$u")
  tcs_wait_until 30 "$u to be restarted after the watchdog" restarted "$u" "$pid" 1 ||
    tcs_fail "$u was not restarted after its watchdog timeout"
  rec_wait watchdog '"SubState":"running"' 2
  # Stopped while it hangs again: the runtime gives up after stop_timeout (1 s), exit 1.
  tcs_check "systemctl stop $u" tcs_exec timeout 60 systemctl stop "$u"
  rec_wait watchdog '"ActiveState":"failed"'
  rec_stop watchdog
}

scenario_start_limit() {
  local u=tcs@test.crash:limited.service
  rec_start start_limit "$u"
  start_unit "$u"
  wait_state 30 "$u" failed
  rec_wait start_limit '"ActiveState":"failed"'
  rec_stop start_limit
}

scenario_single_shot() {
  local u=tcs@test.single_shot:ok.service
  rec_start single_shot "$u"
  tcs_check "systemctl start --no-block $u" tcs_exec systemctl start --no-block "$u"
  wait_unit_journal 20 "$u" "$u: Deactivated successfully."
  rec_wait single_shot '"ActiveState":"inactive"'
  rec_stop single_shot
}

scenario_start_failure() {
  local u=tcs@test.crash:badcfg.service
  rec_start start_failure "$u"
  tcs_check "systemctl start --no-block $u" tcs_exec systemctl start --no-block "$u"
  wait_state 20 "$u" failed
  rec_wait start_failure '"ActiveState":"failed"'
  rec_wait start_failure '"kind":"JobRemoved"'
  rec_stop start_failure
}

scenario_stop_activating() {
  local u=tcs@test.slow_start:slow.service
  rec_start stop_activating "$u"
  tcs_check "systemctl start --no-block $u" tcs_exec systemctl start --no-block "$u"
  starting() { unit_in "$u" ActiveState activating && ! unit_in "$u" MainPID 0; }
  tcs_wait_until 20 "$u to be activating" starting || tcs_fail "$u did not start activating"
  tcs_check "systemctl stop $u" tcs_exec timeout 60 systemctl stop "$u"
  inactive_or_failed() { unit_in "$u" ActiveState inactive failed; }
  tcs_wait_until 20 "$u to stop" inactive_or_failed || tcs_fail "$u did not stop"
  rec_wait stop_activating '"kind":"JobRemoved"' 2
  rec_stop stop_activating
}

scenario_mid_crash_loop() {
  local u=tcs@test.crash:loop.service
  start_unit "$u"
  waiting() { unit_in "$u" SubState auto-restart; }
  tcs_wait_until 20 "$u to wait for its restart" waiting || tcs_fail "$u never entered auto-restart"
  rec_start mid_crash_loop "$u"
  running_again() { unit_at_least "$u" NRestarts 2 && unit_in "$u" SubState running; }
  tcs_wait_until 30 "$u to run after its 2nd restart" running_again || tcs_fail "$u was not restarted twice"
  tcs_check "systemctl stop $u" tcs_exec timeout 60 systemctl stop "$u"
  inactive_or_failed() { unit_in "$u" ActiveState inactive failed; }
  tcs_wait_until 20 "$u to stop" inactive_or_failed || tcs_fail "$u did not stop"
  rec_wait mid_crash_loop '"kind":"JobRemoved"'
  rec_stop mid_crash_loop
}
