#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine (as root): install the build dependencies, build
# the Debian packages, and run the demo fleet on them in a real, throwaway systemd — a
# container booted from a volatile overlay of this machine's root, so nothing it does reaches
# the host.
#
# Inside the container, as on a telescope host: `apt install` of the .debs (tcs-supervisor
# enabled and running, nothing else started), Debian's nats-server (tcs Recommends it) with
# JetStream through the drop-in tcs ships, CONFIG as /etc/tcs/services.yaml loaded by the
# generator on daemon-reload, `systemctl enable --now tcs.target`. It shows what systemd made
# of each instance (restart policy, start limits, watchdog, sandbox score), each service's
# status line and journal records, tcsctl's view of the fleet, what arrives on NATS (read by
# a subscriber built in the container against the installed libtcs-dev), RPC to the supervisor
# and a service, a kill -9 reported as a crash and repaired by systemd, remote restart and
# refusals, `tcsctl logs`, stopping the fleet, and the guard against unconfigured instances.
#
# Usage: scripts/demo.sh [--shell] [--no-build] [CONFIG]
#   --shell     open a shell inside the container at the end (the container goes away on exit)
#   --no-build  use the .debs already in build-deb/ (debian/changelog's version)
#   CONFIG      services.yaml to load (default: config/examples.yaml)
# SC2317: functions are called through traps and polled through tcs_wait_until.
# shellcheck disable=SC2317
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
SHELL_AT_END=0
BUILD=1
CONFIG=$ROOT/config/examples.yaml
for arg in "$@"; do
  case $arg in
    --shell) SHELL_AT_END=1 ;;
    --no-build) BUILD=0 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "demo.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
    *) CONFIG=$(realpath "$arg") ;;
  esac
done
[[ -f $CONFIG ]] || { echo "demo.sh: $CONFIG: no such file" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "demo.sh: run as root (it installs packages and boots a container)" >&2; exit 1; }

DEMO_STARTED=$SECONDS
STEP="starting"
step() {
  STEP=$*
  printf '\n\033[1m==> [%3ss] %s\033[0m\n' "$((SECONDS - DEMO_STARTED))" "$*"
}
# A failure names the step it happened in and why, then the container is torn down.
FAILED_SAID=0
fail() {
  printf '\ndemo.sh: FAILED in step "%s": %s\n' "$STEP" "$*" >&2
  FAILED_SAID=1
  exit 1
}
# Until the container library takes over the EXIT trap (it keeps its logs on failure).
early_exit() {
  local rc=$?
  ((rc == 0 || FAILED_SAID)) || printf '\ndemo.sh: FAILED in step "%s" (exit status %s)\n' "$STEP" "$rc" >&2
}
trap early_exit EXIT

step "Installing the build dependencies (scripts/setup.sh)"
scripts/setup.sh
DEB_DIR=$ROOT/build-deb
if ((BUILD)); then
  step "Building the Debian packages (scripts/build-debs.sh into build-deb/; about 6 min the first time)"
  scripts/build-debs.sh "$DEB_DIR" >/dev/null
fi
VERSION=$(dpkg-parsechangelog -l debian/changelog -S Version)
ARCH=$(dpkg --print-architecture)
# The library package is named after the soname (libtcsN, TCS_SOVERSION).
LIBPKG=$(sed -n 's/^Package: \(libtcs[0-9][0-9]*\)$/\1/p' debian/control)
[[ -n $LIBPKG ]] || fail "no libtcsN package in debian/control"
DEBS=()
for p in "$LIBPKG" libtcs-dev tcs tcs-examples tcs-web; do
  f=${p}_${VERSION}_${ARCH}.deb
  [[ -f $DEB_DIR/$f ]] || fail "$DEB_DIR/$f is missing (run without --no-build)"
  DEBS+=("/opt/tcs-debs/$f")
done
stat -c '%8s bytes  %n' "$DEB_DIR"/*_"$VERSION"_"$ARCH".deb

step "Booting a throwaway systemd host (nspawn, volatile overlay of /)"
# shellcheck source=tests/support/nspawn.sh
source "$ROOT/tests/support/nspawn.sh"
# The library checks its own steps and reports failures itself (tcs_fail); like the tests
# that use it, run it without errexit/pipefail.
set +e +o pipefail
tcs_skip() { fail "cannot boot a container here: $*"; }
tcs_nspawn_init demo
tcs_nspawn_start --bind-ro="$DEB_DIR:/opt/tcs-debs" --bind-ro="$ROOT:/opt/tcs-src"
cx() { tcs_exec "$@"; }
# This machine's image forbids maintainer scripts to start services (/usr/sbin/policy-rc.d,
# as Docker-built images do); a telescope host has no such file. Only the overlay changes.
cx rm -f /usr/sbin/policy-rc.d

step "apt install ./$LIBPKG ./libtcs-dev ./tcs ./tcs-examples ./tcs-web (nats-server comes as the Recommends)"
if ! cx env DEBIAN_FRONTEND=noninteractive apt-get install -y "${DEBS[@]}" >"$TCS_TEST_TMPDIR/install.log" 2>&1; then
  tail -n 30 "$TCS_TEST_TMPDIR/install.log" >&2
  fail "apt-get install of the packages failed (log: $TCS_TEST_TMPDIR/install.log)"
fi
grep -E '^(Setting up|Created symlink)' "$TCS_TEST_TMPDIR/install.log"
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
cx dpkg-query -W -f='${Package} ${Version} ${Status}\n' "$LIBPKG" libtcs-dev tcs tcs-examples tcs-web nats-server
sup_active() { [[ "$(cx systemctl is-active tcs-supervisor.service)" == active ]]; }
tcs_wait_until 30 "tcs-supervisor" sup_active || fail "tcs-supervisor is not active after the install"
echo "tcs-supervisor.service: $(cx systemctl is-enabled tcs-supervisor) and $(cx systemctl is-active tcs-supervisor)," \
  "user $(cx systemctl show -P User tcs-supervisor); tcs.target: $(cx systemctl is-enabled tcs.target)" \
  "(nothing runs until services are configured)"

step "A local NATS with JetStream: the nats-server package + the drop-in tcs ships (README.Debian)"
cx install -D -m 644 /usr/share/doc/tcs/examples/nats-server-jetstream.conf \
  /etc/systemd/system/nats-server.service.d/jetstream.conf || fail "installing the drop-in failed"
cx systemctl daemon-reload
cx timeout 30 systemctl restart nats-server.service || fail "nats-server did not start"
nats_up() { cx timeout 1 bash -c '</dev/tcp/127.0.0.1/4222' 2>/dev/null; }
tcs_wait_until 20 "nats-server" nats_up || fail "nats-server does not listen on 127.0.0.1:4222"
cx systemctl show -P ExecStart nats-server.service | sed -n 's/.*argv\[\]=\([^;]*\);.*/nats-server: \1/p'

step "A subscriber on svc.>, built in the container against the installed libtcs-dev (pkg-config)"
# tests/system/nats_tool.cpp is what the system tests use (Debian 12 has no nats CLI): here it
# is also a service-author's build against the packages.
# shellcheck disable=SC2016 # expanded in the container
cx sh -c 'g++ -std=c++20 -O1 -o /usr/local/bin/tcs-demo-nats /opt/tcs-src/tests/system/nats_tool.cpp \
  $(pkg-config --cflags --libs tcs)' || fail "building the subscriber against libtcs-dev failed"
SNIFF=/run/demo-nats.log
cx systemd-run --quiet --unit=demo-sniff --property=Type=exec tcs-demo-nats sub nats://127.0.0.1:4222 'svc.>' "$SNIFF"
tcs_wait_until 10 "the subscriber" cx test -f "$SNIFF" || fail "the subscriber did not start"
rpc() { cx tcs-demo-nats req nats://127.0.0.1:4222 "$1" "" 30000; }
pretty() { if command -v jq >/dev/null; then jq -c .data; else cat; fi; }

step "Validating $(basename "$CONFIG"): tcs-unitgen --check, and what it generates (--dry-run)"
cx mkdir -p /etc/tcs
tcs_sh 'cat >/tmp/demo-services.yaml' <"$CONFIG"
cx tcs-unitgen --check /tmp/demo-services.yaml || fail "$CONFIG does not validate"
cx tcs-unitgen --dry-run /tmp/demo-services.yaml | head -n 40
echo "(…)"

step "Loading it: /etc/tcs/services.yaml + systemctl daemon-reload (the generator writes the units)"
cx cp /tmp/demo-services.yaml /etc/tcs/services.yaml
cx systemctl daemon-reload
cx find /run/systemd/generator -path '*tcs*' -newer /etc/tcs/services.yaml | sort
# The shipped file has no nats: section; the supervisor connects at start (a reload would say
# the section changed and needs a restart).
cx timeout 60 systemctl restart tcs-supervisor.service || fail "tcs-supervisor did not restart"
LAUNCHER="$(cx hostname -s)-systemd-launcher"

step "What systemd made of each instance"
# Every configured instance has a drop-in directory in the generator's output.
mapfile -t UNITS < <(cx ls /run/systemd/generator | sed -n 's/^\(tcs@.*\.service\)\.d$/\1/p')
((${#UNITS[@]})) || fail "the generator wrote no tcs@ instance for $CONFIG"
printf '%-40s %-12s %-9s %-10s %-13s %-9s %s\n' UNIT Restart RestartSec StartBurst StartInterval Watchdog User
for unit in "${UNITS[@]}"; do
  declare -A p=()
  while IFS='=' read -r k v; do p[$k]=$v; done < <(cx systemctl show "$unit" \
    -p Restart,RestartUSec,StartLimitBurst,StartLimitIntervalUSec,User)
  # systemd 252 shows WatchdogUSec=infinity until an instance has run once: read the unit.
  p[WatchdogUSec]=$(cx systemctl cat "$unit" | sed -n 's/^WatchdogSec=//p' | tail -n 1)
  printf '%-40s %-12s %-9s %-10s %-13s %-9s %s\n' "$unit" "${p[Restart]}" "${p[RestartUSec]}" \
    "${p[StartLimitBurst]}" "${p[StartLimitIntervalUSec]}" "${p[WatchdogUSec]}" "${p[User]}"
  unset p
done
first=${UNITS[0]}
step "systemctl cat $first (the generator's drop-in)"
cx systemctl cat --no-pager "$first" | sed -n '/^# \/.*50-tcs.conf$/,$p'
step "Sandbox score of $first (systemd-analyze security)"
cx systemd-analyze security --no-pager "$first" | tail -n 1

step "Starting the fleet: systemctl enable --now tcs.target (returns when every service sent READY=1)"
cx timeout 120 systemctl enable --now tcs.target || echo "(some instance did not start: see below)"
cx systemctl list-units --all --no-pager 'tcs@*'
step "Each service's own status line (STATUS= from libtcs, as systemctl status shows it)"
fleet_status() {
  local unit
  for unit in "${UNITS[@]}"; do
    printf '%-42s %s\n' "$unit" "$(cx systemctl show -P StatusText "$unit")"
  done
}
fleet_status
step "Once examples.logging has run 3 cycles"
three_cycles() { cx journalctl --no-pager -o cat TCS_SERVICE_TYPE=examples.logging | grep -q 'Processing cycle 3'; }
tcs_wait_until 30 "examples.logging to run 3 cycles" three_cycles || echo "(examples.logging is not in $CONFIG, or slow)"
fleet_status
step "tcsctl: the fleet as an operator sees it (launcher -> services -> children)"
cx tcsctl --width 120 || fail "tcsctl failed"
step "tcsctl --detailed examples.monitoring"
cx tcsctl --detailed examples.monitoring
step "tcsctl hosts"
cx tcsctl hosts
step "On NATS underneath: registry events from the supervisor (svc.registry.<event>.<service_id>)"
cx cat "$SNIFF" | awk '$2 ~ /^svc\.registry\./ {print $2}' | head -n 24
step "On NATS: heartbeats so far"
cx cat "$SNIFF" | awk '$2 ~ /^svc\.heartbeat\./ {n[$2]++} END {for (k in n) print n[k], k}' | sort -k2
step "RPC to the supervisor: svc.rpc.launcher.$LAUNCHER.v1.list"
rpc "svc.rpc.launcher.$LAUNCHER.v1.list" | pretty | cut -c1-400
step "RPC to a service: svc.rpc.examples.monitoring.tutorial.v1.health (children, metrics, a health check)"
rpc svc.rpc.examples.monitoring.tutorial.v1.health | pretty

step "kill -9 examples.basic: the supervisor reports what the dying process cannot (restart: on-failure)"
victim=tcs@examples.basic:tutorial.service
pid=$(cx systemctl show -P MainPID "$victim")
[[ -n $pid && $pid != 0 ]] || fail "$victim is not running (is examples.basic in $CONFIG?)"
cx kill -9 "$pid"
back_up() { cx cat "$SNIFF" | grep -c 'svc.registry.ready.examples.basic.tutorial' | grep -qv '^[01]$'; }
tcs_wait_until 30 "examples.basic to be back" back_up || fail "examples.basic was not restarted within 30 s"
cx cat "$SNIFF" | awk '$2 ~ /^svc\.registry\.[a-z]+\.examples\.basic\.tutorial$/' | tail -n 4 | cut -d' ' -f3- | pretty
step "tcsctl: the crash with systemd's result, and the restart counter"
cx tcsctl --width 120 examples.basic
cx tcsctl --detailed examples.basic
step "tcsctl restart examples.basic.tutorial (through the host's supervisor, after systemd's job)"
cx tcsctl restart examples.basic.tutorial || fail "tcsctl restart failed"
step "tcs-web: the same fleet on a page (http://127.0.0.1:8470/ inside the host; doc/web.md)"
cx curl -s 'http://127.0.0.1:8470/api/services?all=1' |
  jq -r '"\(.summary.listed) entries, \(.summary.running) running", (.services[] | select(.id | startswith("examples.basic")) |
    "\(.id): \(.status), restart \(.restart.state) \(.restart.count), last crash \(.last_crash.result // "none")")' ||
  fail "tcs-web does not answer"
cx curl -s http://127.0.0.1:8470/api/timeline | jq -r '.events[-3:][] | "\(.time) \(.event) \(.id): \(.message)"'
step "Refused: tcsctl stop ssh.service (not in the fleet), and the supervisor's own refusal over NATS"
cx tcsctl stop ssh.service || echo "(exit code $?)"
rpc "svc.rpc.launcher.$LAUNCHER.v1.stop.ssh.service" | pretty

step "tcsctl logs examples.logging.tutorial -n 5 (its journal, read by the supervisor on its host)"
cx tcsctl logs examples.logging.tutorial -n 5
step "Structured journal records: journalctl TCS_SERVICE_TYPE=examples.logging -o verbose (last one)"
cx journalctl --no-pager TCS_SERVICE_TYPE=examples.logging -n 1 -o verbose |
  grep -E '^\s*(PRIORITY|MESSAGE|TCS_SERVICE_ID|TCS_SERVICE_TYPE|TCS_VARIANT|CODE_FILE|CODE_LINE)='
step "Warnings and worse across the fleet: journalctl -p warning -u 'tcs@*'"
cx journalctl --no-pager -o short -p warning -u 'tcs@*' | tail -n 8
step "Stopping the fleet: systemctl stop tcs.target"
cx timeout 60 systemctl stop tcs.target
# The instances stop after the target (reverse start order): wait for the last one.
all_inactive() { [[ -z $(cx systemctl list-units --state=active,deactivating --plain --no-legend 'tcs@*') ]]; }
tcs_wait_until 60 "every instance to stop" all_inactive || fail "instances still running 60 s after stop"
for unit in "${UNITS[@]}"; do
  printf '%-42s %s\n' "$unit" "$(cx systemctl show -P ActiveState,Result,ExecMainStatus "$unit" | tr '\n' ' ')"
done
step "tcsctl after the stop"
cx tcsctl --width 120 --all

step "Starting an instance that is not in the config fails fast and says why"
cx timeout 30 systemctl start tcs@guider:demo || echo "(exit code $?)"
cx journalctl --no-pager -o cat -u tcs@guider:demo | grep -v '^$' | tail -n 4

if ((SHELL_AT_END)); then
  step "A shell inside the container (exit to tear it down); try: tcsctl, journalctl -u 'tcs@*'"
  nsenter -t "$TCS_CONTAINER_PID1" -m -u -i -n -p -- env TERM="${TERM:-xterm}" bash -l || true
fi
step "Done in $((SECONDS - DEMO_STARTED)) s: the container is removed on exit"
tcs_pass
