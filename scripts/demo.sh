#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine (as root): install dependencies, build, and run
# the demo in a real, throwaway systemd — a container booted from a volatile overlay of this
# machine's root, so nothing it does reaches the host.
#
# It shows what tcs-unitgen makes of config/examples.yaml, loads that fleet into systemd 252
# through the generator (units, restart policies, start limits, watchdogs, sandbox score),
# starts it (tcs.target) with a local nats-server and tcs-supervisor running, shows each
# service's status line, structured journal records and what arrives on NATS (status,
# heartbeats, registry events), asks the supervisor and a service over NATS RPC, kills a
# service with SIGKILL to show the crash being reported and repaired, stops the fleet, and
# shows the guard against unconfigured instances. tcsctl shows the fleet as an operator sees it
# (grouped under the host's launcher, crashes and restart counters, remote restart).
#
# Usage: scripts/demo.sh [--shell] [CONFIG]
#   --shell   open a shell inside the container at the end (the container goes away on exit)
#   CONFIG    services.yaml to load (default: config/examples.yaml)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
SHELL_AT_END=0
CONFIG=$ROOT/config/examples.yaml
for arg in "$@"; do
  case $arg in
    --shell) SHELL_AT_END=1 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "demo.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
    *) CONFIG=$(realpath "$arg") ;;
  esac
done
[[ -f $CONFIG ]] || { echo "demo.sh: $CONFIG: no such file" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "demo.sh: run as root (it installs packages and boots a container)" >&2; exit 1; }

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Installing dependencies"
scripts/setup.sh
step "Building (build/)"
cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$ROOT/build" -j "$(nproc)"
UNITGEN=$ROOT/build/unitgen/tcs-unitgen

step "Validating $CONFIG"
"$UNITGEN" --check "$CONFIG"
step "What tcs-unitgen generates for it (--dry-run)"
"$UNITGEN" --dry-run "$CONFIG"

step "Booting a throwaway systemd (nspawn, volatile overlay of /)"
# shellcheck source=../tests/support/nspawn.sh
source "$ROOT/tests/support/nspawn.sh"
# The library reports failures itself (tcs_fail) and checks its own steps; like the tests
# that use it, run it without errexit/pipefail.
set +e +o pipefail
tcs_skip() { echo "demo.sh: cannot boot a container here: $*" >&2; exit 1; }
tcs_nspawn_init demo
tcs_nspawn_start --bind-ro="$ROOT" --bind-ro="$ROOT/build"
tcs_nspawn_install "$ROOT/build"

step "A local NATS (nats-server with JetStream, inside the container) and a subscriber on svc.>"
NATS_TOOL=$ROOT/build/tests/system/tcs-systest-nats
SNIFF=/run/demo-nats.log
tcs_exec systemd-run --quiet --unit=demo-nats --property=Type=exec nats-server -a 127.0.0.1 -p 4222 -js -sd /var/lib/demo-nats
nats_up() { tcs_exec timeout 1 bash -c '</dev/tcp/127.0.0.1/4222' 2>/dev/null; }
tcs_wait_until 20 "nats-server" nats_up || tcs_fail "nats-server did not start"
tcs_exec systemd-run --quiet --unit=demo-sniff --property=Type=exec "$NATS_TOOL" sub nats://127.0.0.1:4222 'svc.>' "$SNIFF"
tcs_wait_until 10 "the subscriber" tcs_exec test -f "$SNIFF" || tcs_fail "the subscriber did not start"
rpc() { tcs_exec "$NATS_TOOL" req nats://127.0.0.1:4222 "$1" "" 30000; }
pretty() { if command -v jq >/dev/null; then jq -c .data; else cat; fi; }

step "Loading the config through the generator: /etc/tcs/services.yaml + daemon-reload"
tcs_sh 'mkdir -p /etc/tcs && cat >/etc/tcs/services.yaml' <"$CONFIG"
tcs_exec systemctl daemon-reload
tcs_exec find /run/systemd/generator -path '*tcs*' -newer /etc/tcs/services.yaml | sort
step "tcs.target and its instances"
tcs_exec systemctl list-dependencies --plain --no-pager tcs.target || true

step "What systemd made of each instance"
# Every configured instance has a drop-in directory in the generator's output.
mapfile -t UNITS < <(tcs_exec ls /run/systemd/generator | sed -n 's/^\(tcs@.*\.service\)\.d$/\1/p')
printf '%-40s %-12s %-9s %-10s %-13s %-9s %s\n' UNIT Restart RestartSec StartBurst StartInterval Watchdog User
for unit in "${UNITS[@]}"; do
  declare -A p=()
  while IFS='=' read -r k v; do p[$k]=$v; done < <(tcs_exec systemctl show "$unit" \
    -p Restart,RestartUSec,StartLimitBurst,StartLimitIntervalUSec,User)
  # systemd 252 shows WatchdogUSec=infinity until an instance has run once: read the unit.
  p[WatchdogUSec]=$(tcs_exec systemctl cat "$unit" | sed -n 's/^WatchdogSec=//p' | tail -n 1)
  printf '%-40s %-12s %-9s %-10s %-13s %-9s %s\n' "$unit" "${p[Restart]}" "${p[RestartUSec]}" \
    "${p[StartLimitBurst]}" "${p[StartLimitIntervalUSec]}" "${p[WatchdogUSec]}" "${p[User]}"
  unset p
done
first=${UNITS[0]:-}
if [[ -n $first ]]; then
  step "systemctl cat $first"
  tcs_exec systemctl cat --no-pager "$first" | sed -n '/^# \/.*50-tcs.conf$/,$p'
  step "Sandbox score of $first (systemd-analyze security)"
  tcs_exec systemd-analyze security --no-pager "$first" | tail -n 1
fi

step "Starting tcs-supervisor (user tcs-supervisor; polkit lets it manage tcs@ units only)"
tcs_exec timeout 60 systemctl start tcs-supervisor.service || tcs_fail "tcs-supervisor did not start"
tcs_exec systemctl show -p User,StatusText tcs-supervisor.service
LAUNCHER="$(tcs_exec hostname -s)-systemd-launcher"

step "Starting the fleet: systemctl start tcs.target (returns when every service sent READY=1)"
tcs_exec timeout 120 systemctl start tcs.target || true
tcs_exec systemctl list-units --all --no-pager 'tcs@*' || true
step "Each service's own status line (STATUS= from libtcs, as systemctl status shows it)"
fleet_status() {
  local unit
  for unit in "${UNITS[@]}"; do
    printf '%-42s %s\n' "$unit" "$(tcs_exec systemctl show -P StatusText "$unit")"
  done
}
fleet_status
step "Once examples.logging has run 3 cycles"
three_cycles() { tcs_exec journalctl --no-pager -o cat TCS_SERVICE_TYPE=examples.logging | grep -q 'Processing cycle 3'; }
tcs_wait_until 30 "examples.logging to run 3 cycles" three_cycles || true
fleet_status
TCSCTL="$TCS_INSTALL_BINDIR/tcsctl"
step "tcsctl: the fleet as an operator sees it (launcher -> services -> children)"
tcs_exec "$TCSCTL" --width 120 || true
step "tcsctl --detailed examples.monitoring"
tcs_exec "$TCSCTL" --detailed examples.monitoring || true
step "tcsctl hosts"
tcs_exec "$TCSCTL" hosts || true
step "On NATS underneath: registry events from the supervisor (svc.registry.<event>.<service_id>)"
tcs_exec cat "$SNIFF" | awk '$2 ~ /^svc\.registry\./ {print $2}' | head -n 24
step "On NATS: heartbeats so far"
tcs_exec cat "$SNIFF" | awk '$2 ~ /^svc\.heartbeat\./ {n[$2]++} END {for (k in n) print n[k], k}' | sort -k2
step "RPC to the supervisor: svc.rpc.launcher.$LAUNCHER.v1.list"
rpc "svc.rpc.launcher.$LAUNCHER.v1.list" | pretty | cut -c1-400
step "RPC to a service: svc.rpc.examples.monitoring.tutorial.v1.health (children, metrics, a health check)"
rpc svc.rpc.examples.monitoring.tutorial.v1.health | pretty
step "kill -9 examples.basic: the supervisor reports what the dying process cannot (restart: on-failure)"
victim=tcs@examples.basic:tutorial.service
pid=$(tcs_exec systemctl show -P MainPID "$victim")
tcs_exec kill -9 "$pid"
back_up() { tcs_exec cat "$SNIFF" | grep -c 'svc.registry.ready.examples.basic.tutorial' | grep -qv '^[01]$'; }
tcs_wait_until 30 "examples.basic to be back" back_up || true
tcs_exec cat "$SNIFF" | awk '$2 ~ /^svc\.registry\.[a-z]+\.examples\.basic\.tutorial$/' | tail -n 4 | cut -d' ' -f3- | pretty
step "tcsctl -d examples.basic: the crash with systemd's result, and the restart counter"
tcs_exec "$TCSCTL" --detailed examples.basic || true
step "tcsctl restart examples.basic.tutorial (through the host's supervisor, after systemd's job)"
tcs_exec "$TCSCTL" restart examples.basic.tutorial || true
step "Refused: tcsctl stop ssh.service (not in the fleet), and the supervisor's own refusal over NATS"
tcs_exec "$TCSCTL" stop ssh.service || echo "(exit code $?)"
rpc "svc.rpc.launcher.$LAUNCHER.v1.stop.ssh.service" | pretty

step "tcsctl logs examples.logging.tutorial -n 5 (its journal, read by the supervisor on its host)"
tcs_exec "$TCSCTL" logs examples.logging.tutorial -n 5 || true
step "Structured journal records: journalctl TCS_SERVICE_TYPE=examples.logging -o verbose (last one)"
tcs_exec journalctl --no-pager TCS_SERVICE_TYPE=examples.logging -n 1 -o verbose |
  grep -E '^\s*(PRIORITY|MESSAGE|TCS_SERVICE_ID|TCS_SERVICE_TYPE|TCS_VARIANT|CODE_FILE|CODE_LINE)=' || true
step "Warnings and worse across the fleet: journalctl -p warning -u 'tcs@*'"
tcs_exec journalctl --no-pager -o short -p warning -u 'tcs@*' | tail -n 8
step "Stopping the fleet: systemctl stop tcs.target"
tcs_exec timeout 60 systemctl stop tcs.target || true
# The instances stop after the target (reverse start order): wait for the last one.
all_inactive() { [[ -z $(tcs_exec systemctl list-units --state=active,deactivating --plain --no-legend 'tcs@*') ]]; }
tcs_wait_until 60 "every instance to stop" all_inactive || true
for unit in "${UNITS[@]}"; do
  printf '%-42s %s\n' "$unit" "$(tcs_exec systemctl show -P ActiveState,Result,ExecMainStatus "$unit" | tr '\n' ' ')"
done

step "Starting an instance that is not in the config fails fast and says why"
tcs_exec timeout 30 systemctl start tcs@guider:demo || true
tcs_exec journalctl --no-pager -o cat -u tcs@guider:demo | grep -v '^$' | tail -n 4

if ((SHELL_AT_END)); then
  step "A shell inside the container (exit to tear it down)"
  nsenter -t "$TCS_CONTAINER_PID1" -m -u -i -n -p -- env TERM="${TERM:-xterm}" bash -l || true
fi
step "Done: the container is removed on exit"
tcs_pass
