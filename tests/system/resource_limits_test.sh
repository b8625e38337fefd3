#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system tier: the resource limits of services.yaml (memory_max, cpu_quota, tasks_max, nice,
# io_weight) in the units tcs-unitgen writes, as the systemd 252 of a throwaway container reads
# them, and on the running services.
#   resource_limits_test.sh SOURCE_DIR BUILD_DIR [NOTIFIER (unused)]
# Checks: `systemctl show` has MemoryMax=, CPUQuotaPerSecUSec=, TasksMax=, Nice= and IOWeight=
# as configured (a top-level tasks_max is every service's default; a percentage resolves to a
# count); the running main processes have the configured nice value (negative too, although
# the service runs unprivileged); where the container's systemd runs on cgroup v2 with the
# controllers delegated, the unit's cgroup has memory.max, pids.max and cpu.max set (on cgroup
# v1 systemd keeps the properties but cannot apply them in a container: logged, not checked);
# test.memory_hog's resident set really grows by what it allocates.
# The OOM kill itself: oom_kill_test.sh.
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

tcs_nspawn_init resource_limits

CONFIG="$TCS_TEST_TMPDIR/services.yaml"
cat >"$CONFIG" <<'EOF2'
# system test config (resource_limits_test.sh)
registry:
  hello_world: ~
  test.memory_hog: ~
tasks_max: 48                 # every service's default
services:
  - type: hello_world
    variant: limited
    interval: 1
    memory_max: 64M
    cpu_quota: 50%
    tasks_max: 32
    nice: 5
    io_weight: 200
  - type: hello_world
    variant: favoured
    interval: 1
    tasks_max: 10%
    nice: -5
    io_weight: 10000
  - type: hello_world
    variant: defaults
    interval: 1
  - type: test.memory_hog     # no memory_max: holds 48 MiB, resident
    variant: bounded
    hog_after: 0
    hog_mb: 48
EOF2
LIMITED=tcs@hello_world:limited.service
FAVOURED=tcs@hello_world:favoured.service
DEFAULTS=tcs@hello_world:defaults.service
HOG=tcs@test.memory_hog:bounded.service

services_boot_container
install_config "$CONFIG"
out=$(tcs_exec "$UNITGEN" 2>&1) || tcs_fail "tcs-unitgen failed: $out"
tcs_log "$out"
tcs_check "daemon-reload" tcs_exec systemctl daemon-reload
for unit in "$LIMITED" "$FAVOURED" "$DEFAULTS"; do
  verify=$(tcs_exec systemd-analyze verify "/lib/systemd/system/tcs@.service:$unit" 2>&1 | grep -v '^$')
  [[ -z "$verify" ]] || tcs_fail "systemd-analyze verify $unit: $verify"
done

# ---- the properties systemd read from the drop-ins --------------------------------------------
expect_prop "$LIMITED" MemoryMax 67108864
expect_prop "$LIMITED" CPUQuotaPerSecUSec 500ms
expect_prop "$LIMITED" TasksMax 32
expect_prop "$LIMITED" Nice 5
expect_prop "$LIMITED" IOWeight 200
expect_prop "$FAVOURED" Nice -5
expect_prop "$FAVOURED" IOWeight 10000
expect_prop "$FAVOURED" MemoryMax infinity
expect_prop "$FAVOURED" CPUQuotaPerSecUSec infinity
# systemd resolves a percentage against the kernel's limit (pid_max, threads-max): a count.
favoured_tasks=$(show "$FAVOURED" TasksMax)
[[ "$favoured_tasks" =~ ^[1-9][0-9]*$ ]] || tcs_fail "$FAVOURED TasksMax=10% resolved to '$favoured_tasks'"
tcs_log "$FAVOURED: TasksMax=10% resolves to $favoured_tasks"
expect_prop "$DEFAULTS" TasksMax 48
expect_prop "$DEFAULTS" Nice 0
expect_prop "$DEFAULTS" MemoryMax infinity

# ---- the running services ------------------------------------------------------------------------
for unit in "$LIMITED" "$FAVOURED" "$DEFAULTS"; do start_unit "$unit"; done
nice_of() { tcs_exec ps -o ni= -p "$(show "$1" MainPID)" | tr -d ' '; }
tcs_expect_eq "$LIMITED main process nice" 5 "$(nice_of "$LIMITED")"
tcs_expect_eq "$FAVOURED main process nice (unprivileged, set before the switch to User=)" -5 "$(nice_of "$FAVOURED")"
tcs_expect_eq "$DEFAULTS main process nice" 0 "$(nice_of "$DEFAULTS")"
tcs_expect_eq "$FAVOURED runs as" tcs "$(tcs_exec ps -o user= -p "$(show "$FAVOURED" MainPID)" | tr -d ' ')"

# test.memory_hog (what oom_kill_test.sh runs under memory_max) really grows its resident set.
start_unit "$HOG"
wait_unit_journal 20 "$HOG" "holding 48 MiB until stopped"
rss_kb=$(tcs_exec awk '$1 == "VmRSS:" { print $2 }' "/proc/$(show "$HOG" MainPID)/status")
tcs_log "$HOG: VmRSS ${rss_kb} kB after allocating 48 MiB"
((rss_kb >= 48 * 1024)) || tcs_fail "$HOG holds 48 MiB but its VmRSS is only ${rss_kb} kB: pages not touched"
tcs_check "systemctl stop $HOG" tcs_exec timeout 60 systemctl stop "$HOG"
expect_clean_exit "$HOG"

# ---- enforcement: the cgroup files (cgroup v2 only) ----------------------------------------------
fstype=$(tcs_exec stat -fc %T /sys/fs/cgroup)
cg=$(show "$LIMITED" ControlGroup)
if [[ "$fstype" == cgroup2fs ]] && tcs_exec test -f "/sys/fs/cgroup$cg/memory.max"; then
  tcs_expect_eq "$LIMITED memory.max" 67108864 "$(tcs_exec cat "/sys/fs/cgroup$cg/memory.max")"
  tcs_expect_eq "$LIMITED pids.max" 32 "$(tcs_exec cat "/sys/fs/cgroup$cg/pids.max")"
  tcs_expect_eq "$LIMITED cpu.max" "50000 100000" "$(tcs_exec cat "/sys/fs/cgroup$cg/cpu.max")"
  tcs_log "cgroup v2: memory.max, pids.max and cpu.max of $cg as configured"
else
  tcs_log "NOT CHECKED: enforcement — the container's /sys/fs/cgroup is '$fstype' (cgroup v1: the host" \
    "does not delegate the memory/pids/cpu controllers into the container), so its systemd keeps the" \
    "properties but cannot apply them; oom_kill_test.sh skips for the same reason"
fi

for unit in "$LIMITED" "$FAVOURED" "$DEFAULTS"; do
  tcs_check "systemctl stop $unit" tcs_exec timeout 60 systemctl stop "$unit"
  expect_clean_exit "$unit"
done
tcs_pass
