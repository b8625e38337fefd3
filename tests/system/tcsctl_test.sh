#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system tier: tcsctl against the real fleet — systemd 252 in a throwaway container, the tcs
# generator's units, tcs-supervisor as installed, a real nats-server with JetStream.
#   tcsctl_test.sh SOURCE_DIR BUILD_DIR [NOTIFIER (unused)]
# Checks:
#   tcsctl lists the fleet nested under the host's launcher (text and --json);
#   tcsctl stop/start/restart work end to end (systemd's state follows, the reply is printed),
#   and an unconfigured id is refused (exit 4: not in the fleet) — ssh.service too;
#   kill -9 shows the crash with systemd's result and the restart counter (--json, --detailed);
#   tcsctl hosts lists the launcher alive; tcsctl reload reaches it;
#   tcsctl logs returns the unit's journal lines (-n, -p) and -f follows new ones; a non-tcs unit
#   is not readable;
#   NATS down → exit 2 within the stated bound.
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

tcs_nspawn_init tcsctl
command -v jq >/dev/null || tcs_skip "jq is not installed (scripts/setup.sh)"
command -v nats-server >/dev/null || tcs_skip "nats-server is not installed (scripts/setup.sh)"
TOOL="$BUILD_DIR/tests/system/tcs-systest-nats"
[[ -x "$TOOL" ]] || tcs_fail "$TOOL is missing: build first"
SNIFF=/run/tcs-sniff.log

CONFIG="$TCS_TEST_TMPDIR/services.yaml"
cat >"$CONFIG" <<'EOF'
# system test config (tcsctl_test.sh)
nats: {host: 127.0.0.1, port: 4222, required: false}
registry:
  hello_world: ~
  test.crash: ~
services:
  - {type: hello_world, variant: main, interval: 1, restart: on-failure, restart_sec: 0.2}
  - {type: hello_world, variant: victim, interval: 1, restart: always, restart_sec: 0.2}
  - {type: test.crash, variant: once, run_duration: 60, restart: "no"}
EOF

services_boot_container
TCSCTL="$TCS_INSTALL_BINDIR/tcsctl"
tcs_check "tcsctl is installed" tcs_exec test -x "$TCSCTL"
PREFIX=${TCS_INSTALL_BINDIR%/bin}
tcs_check "its bash completion is installed" tcs_exec test -f "$PREFIX/share/bash-completion/completions/tcsctl"
tcs_check "its man page is installed" tcs_exec test -f "$PREFIX/share/man/man1/tcsctl.1"
start_nats_and_sniffer "$TOOL" "$SNIFF"
install_config "$CONFIG"
tcs_check "daemon-reload (the generator writes the units)" tcs_exec systemctl daemon-reload
tcs_check "systemctl start tcs-supervisor" tcs_exec timeout 60 systemctl start tcs-supervisor.service
wait_state 30 tcs-supervisor.service active
for u in tcs@hello_world:main.service tcs@hello_world:victim.service tcs@test.crash:once.service; do
  start_unit "$u"
done
LAUNCHER="$(tcs_exec hostname -s)-systemd-launcher"

# tcsctl as the operator runs it: the config in /etc/tcs, not a TTY (no colour).
ctl() { tcs_exec "$TCSCTL" "$@"; }
json() { ctl --json --all "$@"; }
svc() { json | jq -c --arg id "$1" '.services[] | select(.id == $id)'; }
field() { svc "$1" | jq -r "$2"; }

# ---- the listing ---------------------------------------------------------------------------------
all_ok() {
  [[ "$(field "launcher.$LAUNCHER" .running)" == true && "$(field hello_world.main .status)" == ok &&
    "$(field hello_world.victim .status)" == ok && "$(field test.crash.once .running)" == true ]]
}
tcs_wait_until 20 "tcsctl to show the launcher and the three services running" all_ok || {
  ctl --all --detailed >&2
  tcs_exec "$TOOL" req nats://127.0.0.1:4222 "svc.rpc.launcher.$LAUNCHER.v1.list" "" 5000 >&2
  tcs_exec journalctl -u tcs-supervisor --no-pager | tail -n 20 >&2
  tcs_fail "the fleet is not shown running"
}
out=$(ctl) || tcs_fail "tcsctl failed: $out"
tcs_log "tcsctl:"$'\n'"$out"
grep -q "^● launcher\.$LAUNCHER \[ok\] (♥)" <<<"$out" || tcs_fail "no launcher line at the top level"
grep -q "^  ├─ ● hello_world\.main \[ok\] (♥) up:" <<<"$out" || tcs_fail "hello_world.main is not nested under the launcher"
grep -q "^3 loaded services\|^4 loaded services" <<<"$out" || tcs_fail "summary line missing"
tcs_expect_eq "hello_world.main's parent" "launcher.$LAUNCHER" "$(field hello_world.main .parent)"
tcs_expect_eq "hello_world.main's heartbeat" alive "$(field hello_world.main .heartbeat)"
tcs_expect_eq "hello_world.main's pid" "$(show tcs@hello_world:main.service MainPID)" "$(field hello_world.main .pid)"
tcs_expect_eq "schema" "tcs.fleet/1" "$(json | jq -r .schema)"
ascii=$(ctl --ascii) || tcs_fail "tcsctl --ascii failed"
grep -q "^\* launcher\.$LAUNCHER \[ok\]" <<<"$ascii" || tcs_fail "--ascii: no ASCII launcher line: $ascii"
narrow=$(ctl --width 80) || tcs_fail "tcsctl --width 80 failed"
too_long=$(awk 'length($0) > 80' <<<"$narrow")  # the glyphs count as one column in a UTF-8 locale
[[ -z "$too_long" ]] || tcs_log "lines over 80 bytes (Unicode glyphs are 3 bytes): $too_long"

# ---- hosts -------------------------------------------------------------------------------------
h=$(ctl hosts --json) || tcs_fail "tcsctl hosts failed"
tcs_expect_eq "hosts: the launcher" "$LAUNCHER" "$(jq -r '.hosts[0].launcher_id' <<<"$h")"
tcs_expect_eq "hosts: alive" alive "$(jq -r '.hosts[0].heartbeat' <<<"$h")"

# ---- stop / start / restart ---------------------------------------------------------------------
out=$(ctl stop hello_world.main) || tcs_fail "tcsctl stop failed: $out"
tcs_expect_eq "stop output" "stopped hello_world.main on launcher.$LAUNCHER" "$out"
tcs_expect_eq "systemd: stopped" inactive "$(show tcs@hello_world:main.service ActiveState)"
stopped() { [[ "$(field hello_world.main .running)" == false ]]; }
tcs_wait_until 10 "tcsctl to show hello_world.main stopped" stopped || tcs_fail "not shown stopped"
ctl | grep -q "hello_world.main" && tcs_fail "a stopped service is listed without --all"
ctl hello_world.main | grep -q "○ hello_world.main" || tcs_fail "the filter does not find the stopped service"
out=$(ctl start hello_world.main) || tcs_fail "tcsctl start failed: $out"
pid=$(show tcs@hello_world:main.service MainPID)
tcs_expect_eq "start output" "started hello_world.main on launcher.$LAUNCHER (pid $pid)" "$out"
out=$(ctl restart hello_world.main) || tcs_fail "tcsctl restart failed: $out"
pid2=$(show tcs@hello_world:main.service MainPID)
[[ "$pid2" != "$pid" ]] || tcs_fail "restart did not give a new main PID"
tcs_expect_eq "restart output" "restarted hello_world.main on launcher.$LAUNCHER (pid $pid2)" "$out"

# Refusals: not in the fleet → 4; the supervisor's own refusal would be 3.
ctl stop ssh.service >/dev/null 2>&1
tcs_expect_eq "tcsctl stop ssh.service exit code" 4 "$?"
err=$(ctl restart nope.main 2>&1 >/dev/null)
tcs_expect_eq "tcsctl restart nope.main exit code" 4 "$?"
grep -q "no service 'nope.main'" <<<"$err" || tcs_fail "unclear refusal: $err"
ctl stop >/dev/null 2>&1
tcs_expect_eq "tcsctl stop without an id: usage" 1 "$?"

# ---- kill -9 → the crash with systemd's result, and the restart counter ----------------------------
victim=$(show tcs@hello_world:victim.service MainPID)
tcs_exec kill -9 "$victim"
crashed() { [[ "$(field hello_world.victim .last_crash.result)" == signal ]]; }
tcs_wait_until 10 "tcsctl to show the crash" crashed || {
  svc hello_world.victim >&2
  tcs_fail "the crash is not shown"
}
tcs_expect_eq "crash exit code" -9 "$(field hello_world.victim .last_crash.exit_code)"
restarted() { [[ "$(field hello_world.victim .restart.attempt)" == 1 && "$(field hello_world.victim .running)" == true ]]; }
tcs_wait_until 10 "tcsctl to show the restart counter" restarted || {
  svc hello_world.victim >&2
  tcs_fail "the restart counter is not shown"
}
detail=$(ctl -d hello_world.victim) || tcs_fail "tcsctl -d failed"
grep -q "Last Crash: .*exit code: -9" <<<"$detail" || tcs_fail "detailed view lacks the crash: $detail"
ctl hello_world.victim | grep -q "↻\|⟳" || tcs_fail "the table shows no restart indicator: $(ctl hello_world.victim)"

# ---- reload --------------------------------------------------------------------------------------
out=$(ctl reload "$LAUNCHER") || tcs_fail "tcsctl reload failed: $out"
grep -q "^reloaded launcher.$LAUNCHER: 3 service(s) declared" <<<"$out" || tcs_fail "reload output: $out"

# ---- logs from the unit's journal, through the supervisor ------------------------------------------
out=$(ctl logs hello_world.main -n 5) || tcs_fail "tcsctl logs failed: $out"
tcs_log "tcsctl logs hello_world.main -n 5:"$'\n'"$out"
tcs_expect_eq "logs -n 5: lines" 5 "$(wc -l <<<"$out")"
grep -q "Hello World!" <<<"$out" || tcs_fail "logs: no hello_world line: $out"
# -f: the first lines, then new ones as hello_world logs every second; timeout ends it (SIGTERM → exit 0).
out=$(tcs_exec timeout 4 "$TCSCTL" logs hello_world.main -n 1 -f)
n=$(wc -l <<<"$out")
((n >= 3)) || tcs_fail "logs -f printed $n line(s) in 4 s: $out"
tcs_log "logs -f: $n lines in 4 s"
ctl logs hello_world.main -p err >/dev/null || tcs_fail "logs -p err failed"
ctl logs hello_world.main -p bogus >/dev/null 2>&1
tcs_expect_eq "logs -p bogus: usage" 1 "$?"
ctl logs ssh.service >/dev/null 2>&1
tcs_expect_eq "logs of a non-tcs unit: not in the fleet" 4 "$?"

# ---- NATS down → exit 2 within the bound ---------------------------------------------------------
tcs_check "stopping nats-server" tcs_exec systemctl stop tcs-test-nats.service
t0=$(now_ms)
err=$(ctl --timeout 2 2>&1 >/dev/null)
rc=$?
t1=$(now_ms)
tcs_expect_eq "NATS down: exit code" 2 "$rc"
grep -q "cannot reach NATS at nats://127.0.0.1:4222 (tried for 2 s)" <<<"$err" || tcs_fail "unclear NATS error: $err"
(((t1 - t0) <= 4000)) || tcs_fail "NATS down took $((t1 - t0)) ms with --timeout 2"
tcs_log "NATS down → exit 2 after $((t1 - t0)) ms (--timeout 2)"

tcs_pass
