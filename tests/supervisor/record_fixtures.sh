#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Re-records the fixtures in tests/supervisor/recordings/ against the real systemd 252 of a
# throwaway nspawn container (tests/support/nspawn.sh). A development script, not a test: the
# tests replay the committed recordings (unit_tracker_replay_test.cpp), and
# system/supervisor_dbus_test.sh checks the live sequences.
#
#   record_fixtures.sh SOURCE_DIR BUILD_DIR [OUT_DIR] [SCENARIO...]
#
# Needs root and a build with tcs-dbus-record, tcs-unitgen and the runtime + test services.
# Every scenario runs tcs-dbus-record (as a transient unit) for one tcs@ unit only, does one
# thing to the unit and waits for the end state by polling; the recording is OUT_DIR/<scenario>.jsonl
# (default: the source tree's recordings dir). TCS_RECORDER=PATH uses another tcs-dbus-record
# (e.g. a -DTCS_SANITIZE=ON build's; it must be visible inside the container, as anything under
# SOURCE_DIR or BUILD_DIR is).
# SC2016: single-quoted scripts expand inside the container; SC2317: polled functions.
# shellcheck disable=SC2016,SC2317
set -uo pipefail
SOURCE_DIR=$1 BUILD_DIR=$2
OUT_DIR=${3:-$SOURCE_DIR/tests/supervisor/recordings}
shift $(($# < 3 ? $# : 3))
SCENARIOS=("$@")
((${#SCENARIOS[@]})) || SCENARIOS=(clean_stop sigkill watchdog start_limit single_shot start_failure
  stop_activating mid_crash_loop)
# shellcheck source=../support/nspawn.sh
source "$SOURCE_DIR/tests/support/nspawn.sh"
# shellcheck source=../system/lib_units.sh
source "$SOURCE_DIR/tests/system/lib_units.sh"
# shellcheck source=../system/lib_services.sh
source "$SOURCE_DIR/tests/system/lib_services.sh"
# shellcheck source=lib_record.sh
source "$SOURCE_DIR/tests/supervisor/lib_record.sh"

tcs_nspawn_init record_fixtures
RECORDER=${TCS_RECORDER:-$BUILD_DIR/supervisor/tcs-dbus-record}  # e.g. a sanitizer build's
[[ -x "$RECORDER" ]] || tcs_fail "$RECORDER is not built"
mkdir -p "$OUT_DIR"

services_boot_container
install_config "$SOURCE_DIR/tests/supervisor/recordings/services.yaml"
out=$(tcs_exec "$UNITGEN" 2>&1) || tcs_fail "tcs-unitgen failed: $out"
tcs_check "daemon-reload" tcs_exec systemctl daemon-reload

for scenario in "${SCENARIOS[@]}"; do
  tcs_log "---- scenario $scenario"
  "scenario_$scenario"
  tcs_check "copying the $scenario recording" tcs_exec cat "/run/tcs-rec/$scenario.jsonl" >"$OUT_DIR/$scenario.jsonl"
  tcs_log "$scenario: $(wc -l <"$OUT_DIR/$scenario.jsonl") lines → $OUT_DIR/$scenario.jsonl"
done
tcs_pass
