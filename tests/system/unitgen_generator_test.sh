#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system tier: tcs-unitgen as the systemd generator (tcs-generator) inside a throwaway
# systemd 252 container. Nobody runs tcs-unitgen by hand here: the config is put at
# /etc/tcs/services.yaml and `systemctl daemon-reload` runs the generator.
#   unitgen_generator_test.sh SOURCE_DIR BUILD_DIR NOTIFIER
# Checks: units appear in /run/systemd/generator with the configured properties; a service
# added to the config appears on reload; a config with one invalid service still yields units
# for the valid ones and the invalid one is reported (where systemd 252 in nspawn lets a
# generator report: see below); no config → no units; exposure of a generated instance.
# SC2016: single-quoted scripts expand inside the container; SC2317: polled via tcs_wait_until.
# shellcheck disable=SC2016,SC2317
set -uo pipefail
SOURCE_DIR=$1 BUILD_DIR=$2 NOTIFIER=$3
# shellcheck source=../support/nspawn.sh
source "$SOURCE_DIR/tests/support/nspawn.sh"
# shellcheck source=lib_units.sh
source "$SOURCE_DIR/tests/system/lib_units.sh"

tcs_nspawn_init unitgen_generator

NOTIFIER_EXE=/opt/tcs-systest/notifier
CONFIG_PATH=/etc/tcs/services.yaml
GEN_DIR=/run/systemd/generator
CONFIG="$TCS_TEST_TMPDIR/services.yaml"

write_config() {  # write_config WITH_C WITH_BAD
  {
    cat <<'EOF'
registry:
  gen: /opt/tcs-systest/notifier
  gen.sub: /opt/tcs-systest/notifier

services:
  - type: gen
    variant: a
    restart: on-failure
    restart_sec: 1.5
    restart_max: 3
    restart_window: 20
    watchdog_sec: 2

  - type: gen.sub
    variant: b
    restart: always
    enabled: false
    after: gen.a
EOF
    if [[ $1 == yes ]]; then
      cat <<'EOF'

  - type: gen
    variant: c
    restart: on-abnormal
    restart_sec: 0.75
    watchdog_sec: 0
    requires: gen.a
EOF
    fi
    if [[ $2 == yes ]]; then
      cat <<'EOF'

  - type: gen
    variant: bad
    restart: sometimes
EOF
    fi
  } >"$CONFIG"
}

declare -A EXE=([gen.a]=$NOTIFIER_EXE [gen.sub.b]=$NOTIFIER_EXE [gen.c]=$NOTIFIER_EXE)
declare -A RESTART=([gen.a]=on-failure [gen.sub.b]=always [gen.c]=on-abnormal)
declare -A RESTART_SEC=([gen.a]=1.5 [gen.c]=0.75)
declare -A RESTART_MAX=([gen.a]=3)
declare -A RESTART_WINDOW=([gen.a]=20)
declare -A WATCHDOG=([gen.a]=2 [gen.c]=0)
declare -A USER_OF=()
declare -A ENABLED=([gen.sub.b]=false)
declare -A AFTER=([gen.sub.b]=gen.a)
declare -A REQUIRES=([gen.c]=gen.a)

# The generator output for IDS: drop-ins and wants links in $GEN_DIR, nothing in /etc, and
# every loaded unit as configured.
check_generated() {
  local id unit
  for id in "${IDS[@]}"; do
    unit=$(unit_of "$id")
    tcs_check "generator wrote $GEN_DIR/$unit.d/50-tcs.conf" tcs_exec test -f "$GEN_DIR/$unit.d/50-tcs.conf"
    if [[ "${ENABLED[$id]:-true}" == true ]]; then
      tcs_check "generator linked $unit into tcs.target.wants" tcs_exec test -L "$GEN_DIR/tcs.target.wants/$unit"
      tcs_check "the wants link of $unit resolves" tcs_exec test -f "$GEN_DIR/tcs.target.wants/$unit"
    else
      tcs_check "no wants link for disabled $unit" tcs_exec test ! -e "$GEN_DIR/tcs.target.wants/$unit"
    fi
    [[ "$(show "$unit" DropInPaths)" == *"$GEN_DIR/$unit.d/50-tcs.conf"* ]] ||
      tcs_fail "$unit: systemd did not load the generated drop-in (DropInPaths=$(show "$unit" DropInPaths))"
    check_static_properties "$id"
  done
  # Exactly these instances, nothing stale.
  local expected actual
  expected=$(for id in "${IDS[@]}"; do echo "$(unit_of "$id").d"; done | LC_ALL=C sort)
  actual=$(tcs_exec ls -1 "$GEN_DIR" | grep '^tcs@' | LC_ALL=C sort)
  tcs_expect_eq "tcs@ drop-in dirs in $GEN_DIR" "$expected" "$actual"
  expect_tcs_deps tcs.target Wants "$(enabled_ids)"
  actual=$(tcs_exec sh -c 'ls -d /etc/systemd/system/tcs@* /etc/systemd/system/tcs.target.wants 2>/dev/null')
  tcs_expect_eq "tcs units in /etc/systemd/system" "" "$actual"
}

reload() {
  CURSOR=$(tcs_exec journalctl --no-pager -n 0 --show-cursor | sed -n 's/^-- cursor: //p')
  tcs_check "daemon-reload" tcs_exec systemctl daemon-reload
}
journal_since_reload() { tcs_exec journalctl --no-pager -o cat --after-cursor="$CURSOR"; }

# ---- container ---------------------------------------------------------------------------------
units_boot_container
DEFAULT_BURST=$(tcs_exec systemctl show -P DefaultStartLimitBurst)
GENERATOR=$(tcs_sh 'for d in /usr/lib/systemd/system-generators /lib/systemd/system-generators; do
                      [ -L "$d/tcs-generator" ] && { echo "$d/tcs-generator"; exit 0; }; done; exit 1') ||
  tcs_fail "tcs-generator is not installed in systemd's system-generators dir"
tcs_check "$GENERATOR resolves to the installed tcs-unitgen" \
  tcs_sh '[ "$(readlink -f "$1")" = "$(readlink -f "$2")" ]' "$GENERATOR" "$UNITGEN"
tcs_check "preparing the container" tcs_sh '
  set -e
  rm -rf /etc/tcs /etc/systemd/system/tcs@* /etc/systemd/system/tcs.target.wants
  install -D -m 0755 "$1" "$2"
  mkdir -p /etc/tcs' "$NOTIFIER" "$NOTIFIER_EXE"

# ---- the generator on daemon-reload ------------------------------------------------------------
write_config no no
tcs_check "installing the config" tcs_sh 'cat >/etc/tcs/services.yaml' <"$CONFIG"
reload
IDS=(gen.a gen.sub.b)
check_generated
tcs_log "generator: ${IDS[*]} generated and loaded as configured"

# A generated instance really runs (Type=notify, watchdog 2 s) and stops cleanly.
tcs_check "starting $(unit_of gen.a)" tcs_exec timeout 60 systemctl start "$(unit_of gen.a)"
check_running gen.a
tcs_check "stopping $(unit_of gen.a)" tcs_exec timeout 60 systemctl stop "$(unit_of gen.a)"
expect_prop "$(unit_of gen.a)" Result success

# ---- a service added to the config appears on reload -------------------------------------------
write_config yes no
tcs_check "updating the config" tcs_sh 'cat >/etc/tcs/services.yaml' <"$CONFIG"
reload
IDS=(gen.a gen.sub.b gen.c)
check_generated
tcs_log "generator: gen.c added on daemon-reload"

# ---- one invalid service: the valid ones still get units, the invalid one is reported ----------
write_config yes yes
tcs_check "installing a config with an invalid service" tcs_sh 'cat >/etc/tcs/services.yaml' <"$CONFIG"
reload
check_generated  # same IDS: gen.bad has no units
BAD=tcs@gen:bad.service
tcs_check "no drop-in for the invalid $BAD" tcs_exec test ! -e "$GEN_DIR/$BAD.d"

# Where does the report go? The generator writes to /dev/kmsg when it can open it; else, when
# systemd runs it (stderr on /dev/null), to /dev/console like systemd's own generators; by
# hand, to stderr. systemd-nspawn gives containers no /dev/kmsg (a FIFO hides /proc/kmsg), so
# here the report lands on the container console, which nspawn writes to console.log.
# Besides, systemd logs the generator's exit status, and the instance's own journal explains
# on start (tcs-unitgen --not-configured).
if tcs_exec test -c /dev/kmsg && tcs_exec test -w /dev/kmsg; then
  kmsg_has_report() { tcs_exec journalctl --no-pager -k -o cat | grep -q "services\[3\].restart"; }
  tcs_wait_until 10 "the invalid service in the kernel log" kmsg_has_report ||
    tcs_fail "/dev/kmsg exists but the generator's error is not in journalctl -k"
  tcs_log "invalid service reported in the kernel log (journalctl -k)"
else
  console_has_report() { grep -q "tcs-generator: .*services\[3\]\.restart: invalid value 'sometimes'" "$TCS_TEST_TMPDIR/console.log"; }
  tcs_wait_until 10 "the invalid service on the container console" console_has_report ||
    tcs_fail "no writable /dev/kmsg, and the generator's error is not on the console: $(tail -n 5 "$TCS_TEST_TMPDIR/console.log")"
  tcs_log "console: $(grep -m1 'tcs-generator: ' "$TCS_TEST_TMPDIR/console.log")"
fi
generator_failed_logged() { journal_since_reload | grep -q "tcs-generator failed with exit status 1"; }
tcs_wait_until 10 "systemd to log the generator's exit status" generator_failed_logged ||
  tcs_fail "the journal does not say that tcs-generator failed (exit status 1): $(journal_since_reload | grep -i generator)"
tcs_log "journal: $(journal_since_reload | grep 'tcs-generator failed')"

# The same binary under the same name, run by hand as systemd runs it: its stderr names the
# invalid entry, the key and the bad value.
gen_err=$(tcs_sh 'd=$(mktemp -d) && mkdir "$d/n" "$d/e" "$d/l" &&
                  "$1" "$d/n" "$d/e" "$d/l" 2>&1 >/dev/null; echo "exit=$?"; ls "$d/n"; rm -rf "$d"' "$GENERATOR")
tcs_log "manual generator run: $(echo "$gen_err" | tr '\n' '|')"
[[ "$gen_err" == *"services[3].restart"*"sometimes"* ]] ||
  tcs_fail "the generator's stderr does not name services[3].restart and 'sometimes': $gen_err"
[[ "$gen_err" == *"exit=1"* ]] || tcs_fail "the generator did not exit 1 for a partly invalid config: $gen_err"
[[ "$gen_err" == *"tcs@gen:a.service.d"* ]] || tcs_fail "the manual generator run wrote no units for the valid services"

tcs_exec timeout 30 systemctl start "$BAD" >/dev/null 2>&1 && tcs_fail "$BAD started although invalid"
expect_prop "$BAD" Result exit-code
expect_prop "$BAD" ExecMainStatus 78
bad_logged() { tcs_exec journalctl --no-pager -o cat -u "$BAD" | grep -q "services\[3\].restart"; }
tcs_wait_until 10 "the config error in the journal of $BAD" bad_logged ||
  tcs_fail "journalctl -u $BAD does not show the config error: $(tcs_exec journalctl --no-pager -o cat -u "$BAD")"
tcs_log "journal of $BAD: $(tcs_exec journalctl --no-pager -o cat -u "$BAD" | grep 'services\[3\]' | head -n 1)"

# ---- exposure of a generated instance ----------------------------------------------------------
# Online (the manager's loaded unit, generator drop-in included) and offline (unit files only;
# offline mode does not see /run/systemd/generator, which changes no sandbox setting).
A=$(unit_of gen.a)
for args in "$A" "--offline=yes $A" "--offline=yes $TEMPLATE:$A"; do
  # shellcheck disable=SC2086  # intended word splitting
  level=$(tcs_exec systemd-analyze security --no-pager $args 2>&1 |
    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  [[ -n "$level" ]] || tcs_fail "systemd-analyze security $args printed no exposure level"
  tcs_log "exposure (systemd-analyze security $args): $level"
  awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || tcs_fail "exposure $level of $A is above 2.0"
done

# ---- no config, no units -----------------------------------------------------------------------
tcs_check "removing the config" tcs_exec rm -f "$CONFIG_PATH"
reload
actual=$(tcs_exec ls -1 "$GEN_DIR" | grep '^tcs' || true)
tcs_expect_eq "generated tcs units without a config" "" "$actual"
journal_since_reload | grep -q "tcs-generator failed" && tcs_fail "the generator failed without a config"
expect_prop "$A" DropInPaths ""

tcs_pass
