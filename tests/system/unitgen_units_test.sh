#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system tier: tcs-unitgen run by hand inside a throwaway systemd 252 container.
#   unitgen_units_test.sh SOURCE_DIR BUILD_DIR NOTIFIER
# Writes a services.yaml covering every restart policy, fractional restart_sec, restart_max
# 0/N, watchdog 0/N, a user override, after/requires, a disabled service, awkward environment
# values and an executable path with a space and '%'; then checks every unit property
# systemd loaded against values computed here from that config, stale removal, starting
# real Type=notify instances, /bin/false and an unconfigured instance, and the exposure.
# SC2016: single-quoted scripts expand inside the container; SC2317: polled via tcs_wait_until.
# shellcheck disable=SC2016,SC2317
set -uo pipefail
SOURCE_DIR=$1 BUILD_DIR=$2 NOTIFIER=$3
# shellcheck source=../support/nspawn.sh
source "$SOURCE_DIR/tests/support/nspawn.sh"
# shellcheck source=lib_units.sh
source "$SOURCE_DIR/tests/system/lib_units.sh"

tcs_nspawn_init unitgen_units

# ---- the config, and what it asks for ---------------------------------------------------------
EXE_ODD='/opt/tcs systest/bin 100%/notifier'  # space and '%' in the path
EXE_PLAIN='/opt/tcs-systest/notifier'
EXE_MISSING='/opt/tcs-systest/not-installed'
CONFIG_PATH=/etc/tcs/services.yaml
CONFIG="$TCS_TEST_TMPDIR/services.yaml"
cat >"$CONFIG" <<'EOF'
# system test config (unitgen_units_test.sh)
nats:
  host: localhost
  port: 4222
  required: false

registry:
  cam.ccd: "/opt/tcs systest/bin 100%/notifier"
  plain: /opt/tcs-systest/notifier
  falsy: /bin/false
  ghost: /opt/tcs-systest/not-installed

services:
  - type: cam.ccd
    variant: north
    restart: no
    restart_sec: 2.5
    restart_max: 2
    restart_window: 30
    watchdog_sec: 0
    environment:
      GREETING: 'He said "hi" to 100% of $HOME'
      SPACED: '  two  spaces  '
      QUOTED: "it's a \"test\""
      BACKSLASH: 'C:\path\to %i and %%'
      EMPTY: ""
      NUMBER: 42

  - type: plain
    variant: a
    restart: on-failure
    restart_sec: 1
    restart_max: 0
    watchdog_sec: 10
    user: daemon
    requires: [cam.ccd.north]
    after: [cam.ccd.north]

  - type: plain
    variant: b
    restart: on-abnormal
    restart_sec: 0.25
    restart_max: 5
    restart_window: 12.5
    watchdog_sec: 0.5
    after: plain.a

  - type: plain
    variant: c
    restart: always
    restart_sec: 90
    restart_max: 1
    restart_window: 3600
    enabled: false

  - type: falsy
    variant: main
    restart: "no"
    restart_sec: 0

  - type: ghost
    variant: x
    enabled: false

# BEGIN gone (removed in the stale-removal step; last, so no other entry's index moves)
  - type: plain
    variant: gone
    restart: on-failure
# END gone
EOF

# Expectations, written down independently of tcs-unitgen (defaults from doc: restart "no",
# restart_sec 5, restart_max 0, restart_window 60, watchdog_sec 30, user tcs, enabled).
IDS=(cam.ccd.north plain.a plain.b plain.c falsy.main ghost.x plain.gone)
declare -A EXE=([cam.ccd.north]=$EXE_ODD [plain.a]=$EXE_PLAIN [plain.b]=$EXE_PLAIN [plain.c]=$EXE_PLAIN
  [falsy.main]=/bin/false [ghost.x]=$EXE_MISSING [plain.gone]=$EXE_PLAIN)
declare -A RESTART=([cam.ccd.north]=no [plain.a]=on-failure [plain.b]=on-abnormal [plain.c]=always
  [falsy.main]=no [ghost.x]=no [plain.gone]=on-failure)
declare -A RESTART_SEC=([cam.ccd.north]=2.5 [plain.a]=1 [plain.b]=0.25 [plain.c]=90
  [falsy.main]=0 [ghost.x]=5 [plain.gone]=5)
declare -A RESTART_MAX=([cam.ccd.north]=2 [plain.a]=0 [plain.b]=5 [plain.c]=1
  [falsy.main]=0 [ghost.x]=0 [plain.gone]=0)
declare -A RESTART_WINDOW=([cam.ccd.north]=30 [plain.a]=60 [plain.b]=12.5 [plain.c]=3600
  [falsy.main]=60 [ghost.x]=60 [plain.gone]=60)
declare -A WATCHDOG=([cam.ccd.north]=0 [plain.a]=10 [plain.b]=0.5 [plain.c]=30
  [falsy.main]=30 [ghost.x]=30 [plain.gone]=30)
declare -A USER_OF=([plain.a]=daemon)
declare -A ENABLED=([plain.c]=false [ghost.x]=false)
declare -A AFTER=([plain.a]=cam.ccd.north [plain.b]=plain.a)
declare -A REQUIRES=([plain.a]=cam.ccd.north)
# cam.ccd.north's environment, as the process must see it (NAME=value lines).
EXPECTED_ENV=(
  'GREETING=He said "hi" to 100% of $HOME'
  'SPACED=  two  spaces  '
  "QUOTED=it's a \"test\""
  'BACKSLASH=C:\path\to %i and %%'
  'EMPTY='
  'NUMBER=42'
)
STARTED=(cam.ccd.north plain.a plain.b plain.c)  # Type=notify instances run by the notifier

# ---- container ---------------------------------------------------------------------------------
units_boot_container
DEFAULT_BURST=$(tcs_exec systemctl show -P DefaultStartLimitBurst)

tcs_check "the generator link resolves to the installed tcs-unitgen" \
  tcs_sh 'for d in /usr/lib/systemd/system-generators /lib/systemd/system-generators; do
            [ -L "$d/tcs-generator" ] && exec test -x "$(readlink -f "$d/tcs-generator")"; done; exit 1'
tcs_check "the template's default ExecStart exists" \
  tcs_sh 'test -x "$(sed -n "s/^ExecStart=\([^ ]*\).*/\1/p" "$1")"' "$TEMPLATE"

# A clean slate (the overlay shows the host's /etc) and the executables the registry names.
tcs_check "preparing the container" tcs_sh '
  set -e
  rm -rf /etc/tcs /etc/systemd/system/tcs@* /etc/systemd/system/tcs.target.wants
  install -D -m 0755 "$1" "$2"
  install -D -m 0755 "$1" "$3"
  mkdir -p /etc/tcs
  cat >/etc/tcs/services.yaml
' "$NOTIFIER" "$EXE_ODD" "$EXE_PLAIN" <"$CONFIG"

# ---- generate ----------------------------------------------------------------------------------
out=$(tcs_exec "$UNITGEN" 2>&1) || tcs_fail "tcs-unitgen failed: $out"
tcs_log "$out"
for id in "${IDS[@]}"; do
  unit=$(unit_of "$id")
  tcs_check "$unit: drop-in written" tcs_exec test -f "/etc/systemd/system/$unit.d/50-tcs.conf"
done

# ---- systemd-analyze verify (FILE:ALIAS: a plain tcs@a:b.service argument splits at ':') -------
for id in "${IDS[@]}"; do
  unit=$(unit_of "$id")
  [[ "$id" == ghost.x ]] && continue
  if ! out=$(tcs_exec systemd-analyze verify "$TEMPLATE:$unit" 2>&1); then
    tcs_fail "systemd-analyze verify $unit failed: $out"
  fi
  [[ -z "$out" ]] || tcs_log "verify $unit: $out"
done
# Negative control: verify must see the drop-in, so a missing executable is reported.
if out=$(tcs_exec systemd-analyze verify "$TEMPLATE:$(unit_of ghost.x)" 2>&1); then
  tcs_fail "systemd-analyze verify accepted an instance whose executable is missing: $out"
fi
[[ "$out" == *"$EXE_MISSING"* ]] || tcs_fail "verify of ghost.x did not name $EXE_MISSING: $out"

# ---- the loaded units, property by property ----------------------------------------------------
tcs_check "daemon-reload" tcs_exec systemctl daemon-reload

for id in "${IDS[@]}"; do
  check_static_properties "$id"
done
# The watchdog is the one property systemd 252 only reports once the unit has started
# (WatchdogUSec is "infinity" before): checked below with the running instances.
expect_prop "$(unit_of plain.a)" WatchdogUSec infinity

expect_tcs_deps tcs.target Wants "$(enabled_ids)"
tcs_log "static properties of ${#IDS[@]} instances as configured"

# ---- stale removal -----------------------------------------------------------------------------
snapshot() {
  local id unit
  for id in "${IDS[@]}"; do
    [[ "$id" == plain.gone ]] && continue
    unit=$(unit_of "$id")
    tcs_exec sha256sum "/etc/systemd/system/$unit.d/50-tcs.conf"
    # Dependency lists come in hash order: sort their words.
    tcs_exec systemctl show "$unit" \
      -p Restart,RestartUSec,StartLimitBurst,StartLimitIntervalUSec,User,ExecStart,Environment,After,Requires,DropInPaths |
      while IFS= read -r line; do
        case "$line" in
          After=* | Requires=*) echo "${line%%=*}=$(tr ' ' '\n' <<<"${line#*=}" | LC_ALL=C sort | tr '\n' ' ')" ;;
          *) echo "$line" ;;
        esac
      done
  done
}
before=$(snapshot)
sed -i '/^# BEGIN gone/,/^# END gone/d' "$CONFIG"
tcs_check "rewriting the config" tcs_sh 'cat >/etc/tcs/services.yaml' <"$CONFIG"
out=$(tcs_exec "$UNITGEN" 2>&1) || tcs_fail "tcs-unitgen (second run) failed: $out"
tcs_log "$out"
GONE=$(unit_of plain.gone)
tcs_check "stale drop-in of $GONE removed" tcs_exec test ! -e "/etc/systemd/system/$GONE.d/50-tcs.conf"
tcs_check "stale wants link of $GONE removed" tcs_exec test ! -e "/etc/systemd/system/tcs.target.wants/$GONE"
tcs_check "daemon-reload" tcs_exec systemctl daemon-reload
[[ "$(show "$GONE" DropInPaths)" != *50-tcs.conf* ]] || tcs_fail "$GONE still has its drop-in after daemon-reload"
expect_exec_start "$GONE" "$UNITGEN" --not-configured plain:gone
IDS=(cam.ccd.north plain.a plain.b plain.c falsy.main ghost.x)
expect_tcs_deps tcs.target Wants "$(enabled_ids)"
after=$(snapshot)
if [[ "$before" != "$after" ]]; then
  diff <(echo "$before") <(echo "$after") >&2
  tcs_fail "removing one service changed the others' drop-ins or properties"
fi
tcs_log "stale removal: $GONE gone, the other drop-ins byte-identical"

# ---- running instances -------------------------------------------------------------------------
for id in "${STARTED[@]}"; do
  unit=$(unit_of "$id")
  if ! out=$(tcs_exec timeout 60 systemctl start "$unit" 2>&1); then
    tcs_exec systemctl status --no-pager "$unit" >&2
    tcs_fail "starting $unit failed: $out"
  fi
done
for id in "${STARTED[@]}"; do
  check_running "$id"
done
for line in "${EXPECTED_ENV[@]}"; do
  wait_for_journal_line "$(unit_of cam.ccd.north)" "tcs-systest env <$line>"
done
tcs_log "running: ${STARTED[*]} (argv, environment and user as configured)"

# The 500 ms watchdog of plain.b is fed by its main process: no timeout, no restart.
B=$(unit_of plain.b)
b_pid=$(show "$B" MainPID)
b_start=$(show "$B" ExecMainStartTimestampMonotonic)
watchdog_fed_for() {
  local last
  last=$(show "$B" WatchdogTimestampMonotonic)
  ((last - b_start > $1))
}
tcs_wait_until 20 "plain.b watchdog pings for 2 s" watchdog_fed_for 2000000 ||
  tcs_fail "$B: no watchdog pings seen (WatchdogTimestampMonotonic=$(show "$B" WatchdogTimestampMonotonic))"
expect_prop "$B" NRestarts 0
expect_prop "$B" MainPID "$b_pid"
expect_prop "$B" ActiveState active

for id in "${STARTED[@]}"; do
  tcs_check "stopping $(unit_of "$id")" tcs_exec timeout 60 systemctl stop "$(unit_of "$id")"
  expect_prop "$(unit_of "$id")" Result success
done

# ---- /bin/false fails fast with exit-code ------------------------------------------------------
FALSY=$(unit_of falsy.main)
t0=$SECONDS
tcs_exec timeout 30 systemctl start "$FALSY" >/dev/null 2>&1 && tcs_fail "$FALSY started although /bin/false exits 1"
((SECONDS - t0 <= 10)) || tcs_fail "$FALSY took $((SECONDS - t0))s to fail"
expect_prop "$FALSY" ActiveState failed
expect_prop "$FALSY" Result exit-code
expect_prop "$FALSY" ExecMainStatus 1
expect_prop "$FALSY" NRestarts 0

# ---- an unconfigured instance explains itself ---------------------------------------------------
NOTHERE=tcs@nothere:x.service
t0=$SECONDS
tcs_exec timeout 30 systemctl start "$NOTHERE" >/dev/null 2>&1 && tcs_fail "$NOTHERE started although unconfigured"
((SECONDS - t0 <= 10)) || tcs_fail "$NOTHERE took $((SECONDS - t0))s to fail"
expect_prop "$NOTHERE" ActiveState failed
expect_prop "$NOTHERE" Result exit-code
expect_prop "$NOTHERE" ExecMainStatus 78
expect_prop "$NOTHERE" NRestarts 0
nothere_logged() { tcs_exec journalctl --no-pager -o cat -u "$NOTHERE" | grep -q "is not configured"; }
tcs_wait_until 10 "the not-configured message" nothere_logged || {
  tcs_exec journalctl --no-pager -u "$NOTHERE" >&2
  tcs_fail "journalctl -u $NOTHERE lacks the 'is not configured' message"
}
tcs_log "$(tcs_exec journalctl --no-pager -o cat -u "$NOTHERE" | grep "is not configured")"

# ---- exposure ----------------------------------------------------------------------------------
exposure() {
  tcs_exec systemd-analyze security --no-pager "$@" 2>&1 |
    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p'
}
for args in "--offline=yes $TEMPLATE:$B" "--offline=yes $B" "$B"; do
  # shellcheck disable=SC2086  # word splitting of args is intended; $TEMPLATE has no spaces
  level=$(exposure $args)
  [[ -n "$level" ]] || tcs_fail "systemd-analyze security $args printed no exposure level"
  tcs_log "exposure (systemd-analyze security $args): $level"
  awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || tcs_fail "exposure $level of $B is above 2.0"
done

tcs_pass
