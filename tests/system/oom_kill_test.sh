#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system tier: a service that exceeds its memory_max is OOM-killed by the kernel inside its own
# cgroup, systemd records Result=oom-kill and restarts it (restart: on-failure), and
# tcs-supervisor (as installed, with a nats-server in the same container) reports every kill on
# NATS exactly once as `crashed` with result oom-kill, followed by restarting → start → ready.
#   oom_kill_test.sh SOURCE_DIR BUILD_DIR [NOTIFIER (unused)]
# test.memory_hog allocates 8 MiB every 50 ms (writing every page) under memory_max: 64M.
# Skips (77) where the container's systemd cannot have the kernel OOM-kill inside a unit's
# cgroup: cgroup v1 (the controllers are not delegated into an nspawn container, and systemd 252
# learns of OOM kills only from cgroup v2's memory.events), or no memory controller delegated.
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

tcs_nspawn_init oom_kill
command -v jq >/dev/null || tcs_skip "jq is not installed (scripts/setup.sh)"
command -v nats-server >/dev/null || tcs_skip "nats-server is not installed (scripts/setup.sh)"
TOOL="$BUILD_DIR/tests/system/tcs-systest-nats"
[[ -x "$TOOL" ]] || tcs_fail "$TOOL is missing: build first"
SNIFF=/run/tcs-sniff.log
HOG=tcs@test.memory_hog:main.service
ID=test.memory_hog.main

CONFIG="$TCS_TEST_TMPDIR/services.yaml"
cat >"$CONFIG" <<'EOF2'
# system test config (oom_kill_test.sh)
nats: {host: 127.0.0.1, port: 4222, required: false}
registry:
  test.memory_hog: ~
services:
  - type: test.memory_hog
    variant: main
    hog_after: 1          # s after start: READY=1 first, then allocate
    hog_step_mb: 8
    hog_interval: 0.05
    memory_max: 64M
    tasks_max: 32
    cpu_quota: 80%
    restart: on-failure
    restart_sec: 2        # Result=oom-kill stays visible while the restart is pending
    enabled: false        # started by the test
EOF2

services_boot_container
tcs_check "test.memory_hog is installed" tcs_exec test -x "$SERVICEDIR/test.memory_hog"

# ---- can the kernel OOM-kill inside a unit's cgroup here? ------------------------------------------
fstype=$(tcs_exec stat -fc %T /sys/fs/cgroup)
if [[ "$fstype" != cgroup2fs ]]; then
  memory_mount=$(tcs_exec findmnt -no VFS-OPTIONS /sys/fs/cgroup/memory 2>/dev/null)
  tcs_skip "the kernel cannot OOM-kill inside a unit's cgroup for the container's systemd here: it runs on" \
    "cgroup v1 (/sys/fs/cgroup is '$fstype', host too; kernel $(uname -r)), where systemd-nspawn mounts the" \
    "memory hierarchy read-only into the container (VFS options '${memory_mount:-not mounted}'), so MemoryMax=" \
    "is never applied (MemoryCurrent not set), and systemd 252 learns of OOM kills only from cgroup v2's" \
    "memory.events. Run on a host booted with cgroup v2 (systemd.unified_cgroup_hierarchy=1, Debian 12's default)"
fi
controllers=$(tcs_exec cat /sys/fs/cgroup/system.slice/cgroup.controllers 2>/dev/null)
[[ " $controllers " == *" memory "* ]] ||
  tcs_skip "cgroup v2 without the memory controller delegated to the container's system.slice (controllers: '${controllers}'): MemoryMax= cannot be applied"
swap=$(tcs_exec awk 'NR > 1' /proc/swaps)

install_config "$CONFIG"
# With swap, MemoryMax= first pushes the hog out to swap: an admin's own drop-in (not tcs's)
# takes swap away so the limit means the OOM killer.
tcs_check "a no-swap drop-in for the hog" tcs_sh "mkdir -p /etc/systemd/system/$HOG.d &&
  printf '[Service]\nMemorySwapMax=0\n' >/etc/systemd/system/$HOG.d/60-test-no-swap.conf"
tcs_check "daemon-reload (the generator writes the units)" tcs_exec systemctl daemon-reload
expect_prop "$HOG" MemoryMax 67108864
expect_prop "$HOG" TasksMax 32
expect_prop "$HOG" CPUQuotaPerSecUSec 800ms
expect_prop "$HOG" OOMPolicy stop
tcs_log "swap: ${swap:-none}"

start_nats_and_sniffer "$TOOL" "$SNIFF"
sniff() { tcs_exec cat "$SNIFF"; }
registry() {
  sniff | awk '$2 ~ /^svc\.registry\./ { sub(/^[^ ]+ [^ ]+ /, ""); print }' |
    jq -c --arg id "$1" 'select(.data.service_id == $id) | .data'
}
events() { registry "$1" | jq -r '.event + (if .result then ":" + .result elif .reason then ":" + .reason else "" end)'; }
count_events() { events "$1" | grep -cx -- "$2"; }
has_event() { (($(count_events "$1" "$2") >= ${3:-1})); }
tcs_check "systemctl start tcs-supervisor" tcs_exec timeout 60 systemctl start tcs-supervisor.service
wait_state 30 tcs-supervisor.service active
tcs_wait_until 10 "declared $ID" has_event "$ID" declared || tcs_fail "no declared event for $ID"

# ---- the hog: ready, then OOM-killed inside its cgroup, restarted ----------------------------------
t0=$(now_ms)
start_unit "$HOG"
first_pid=$(show "$HOG" MainPID)
cg=$(show "$HOG" ControlGroup)
tcs_expect_eq "the hog's cgroup memory.max" 67108864 "$(tcs_exec cat "/sys/fs/cgroup$cg/memory.max")"
tcs_log "$HOG started (PID $first_pid, cgroup $cg)"

tcs_wait_until 30 "$HOG Result=oom-kill" unit_in "$HOG" Result oom-kill || {
  unit_journal "$HOG" | tail -n 20 >&2
  tcs_fail "$HOG never showed Result=oom-kill (Result=$(show "$HOG" Result), NRestarts=$(show "$HOG" NRestarts))"
}
oom_ms=$(($(now_ms) - t0))
tcs_log "$HOG: Result=oom-kill ${oom_ms} ms after the start (ActiveState $(show "$HOG" ActiveState), SubState $(show "$HOG" SubState))"
wait_unit_journal 5 "$HOG" "$HOG: A process of this unit has been killed by the OOM killer."
wait_unit_journal 5 "$HOG" "$HOG: Failed with result 'oom-kill'."
tcs_exec journalctl -k --no-pager -o cat 2>/dev/null | grep -q "Memory cgroup out of memory: Killed process $first_pid" &&
  tcs_log "kernel: Memory cgroup out of memory: Killed process $first_pid"

# Two kills, each restarted: NRestarts grows, a new main process each time.
two_restarts() { unit_at_least "$HOG" NRestarts 2 && unit_in "$HOG" ActiveState active; }
tcs_wait_until 60 "$HOG to be OOM-killed and restarted twice" two_restarts ||
  tcs_fail "$HOG: NRestarts=$(show "$HOG" NRestarts), ActiveState=$(show "$HOG" ActiveState)"
cycle_ms=$(($(now_ms) - t0))
tcs_log "$HOG: 2 OOM kills and restarts in ${cycle_ms} ms (NRestarts=$(show "$HOG" NRestarts))"
tcs_check "systemctl stop $HOG" tcs_exec timeout 60 systemctl stop "$HOG"

# ---- NATS: each kill exactly once as crashed(oom-kill), then restarting → start → ready ----------
kills=$(unit_journal "$HOG" | grep -c "^$HOG: Failed with result 'oom-kill'.")
((kills >= 2)) || tcs_fail "systemd logged $kills OOM failures of $HOG, expected at least 2"
reported() { (($(count_events "$ID" crashed:oom-kill) >= kills)); }
tcs_wait_until 10 "$kills crashed(oom-kill) events" reported || {
  events "$ID" >&2
  tcs_fail "only $(count_events "$ID" crashed:oom-kill) crashed(oom-kill) events for $kills kills"
}
holds_for 1 "no extra crashed event" reported
tcs_expect_eq "crashed(oom-kill) events = systemd's oom-kill failures" "$kills" "$(count_events "$ID" crashed:oom-kill)"
tcs_expect_eq "crashed events with another result" 0 "$(events "$ID" | grep '^crashed' | grep -cvx 'crashed:oom-kill')"
seq=$(events "$ID" | grep -v '^declared' | head -n 10 | paste -sd ' ')
tcs_expect_eq "event sequence of the first two kills" \
  "start ready crashed:oom-kill restarting start ready crashed:oom-kill restarting start ready" "$seq"
crash=$(registry "$ID" | jq -c 'select(.event=="crashed")' | head -n 1)
tcs_expect_eq "crashed: result" oom-kill "$(jq -r .result <<<"$crash")"
tcs_expect_eq "crashed: exit_code (SIGKILL)" -9 "$(jq -r .exit_code <<<"$crash")"
tcs_expect_eq "crashed: will_restart" true "$(jq -r .will_restart <<<"$crash")"
tcs_expect_eq "crashed: status" error "$(jq -r .status <<<"$crash")"
tcs_expect_eq "crashed: restart_policy" on-failure "$(jq -r .restart_policy <<<"$crash")"
rs=$(registry "$ID" | jq -c 'select(.event=="restarting")' | head -n 2 | jq -r .restart_attempt | paste -sd ' ')
tcs_expect_eq "restarting attempts" "1 2" "$rs"
ready1=$(sniff | awk -v s="svc.registry.ready.$ID" '$2 == s {print $1; exit}')
crash1=$(sniff | awk -v s="svc.registry.crashed.$ID" '$2 == s {print $1; exit}')
tcs_log "timings: first ready → first crashed(oom-kill) on NATS $((crash1 - ready1)) ms; start → Result=oom-kill seen ${oom_ms} ms; 2 kill/restart cycles ${cycle_ms} ms"
tcs_pass
