#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system tier: development mode — an unprivileged user with lingering runs a config from the
# build tree (bound read-only, nothing installed; later a writable copy of it) under their own
# systemd user manager with scripts/dev.sh, in a throwaway container.
#   dev_mode_test.sh SOURCE_DIR BUILD_DIR [NOTIFIER (unused)]
# Checks:
#   without a user manager (XDG_RUNTIME_DIR unset, as after plain su) dev.sh says how to get one;
#   tcs-unitgen --user as root is refused, a missing binary is named;
#   dev.sh starts hello_world and the tutorial examples as `systemctl --user` units (tcs.target),
#   from the build tree, as the user; STATUS= lines in `systemctl --user status`;
#   `journalctl --user` has their records with TCS_SERVICE_ID;
#   dev.sh prints tcsctl's listing of the fleet under the user's launcher;
#   kill -9 → systemd restarts it and tcs-supervisor --user reports crashed → restarting →
#   start → ready on NATS (a nats-server dev.sh started as a user unit);
#   re-running restarts nothing; after an edit only the edited service restarts and a removed
#   one stops;
#   on a writable copy of the build tree (the user's own): moving to it restarts everything onto
#   it; after one service's binary is rebuilt only that service restarts (new MainPID and
#   InvocationID, running the new file), every other one and the supervisor keep theirs; after
#   libtcs is rebuilt every service and the supervisor restart;
#   dev.sh --stop leaves no unit, unit file, state or process behind.
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

tcs_nspawn_init dev_mode
command -v jq >/dev/null || tcs_skip "jq is not installed (scripts/setup.sh)"
command -v nats-server >/dev/null || tcs_skip "nats-server is not installed (scripts/setup.sh)"
[[ -f /usr/share/dbus-1/services/org.freedesktop.systemd1.service || -f /usr/lib/systemd/user/dbus.socket ]] ||
  tcs_skip "dbus-user-session is not installed: user managers have no session bus (scripts/setup.sh)"
TOOL="$BUILD_DIR/tests/system/tcs-systest-nats"
for f in "$TOOL" "$BUILD_DIR/unitgen/tcs-unitgen" "$BUILD_DIR/supervisor/tcs-supervisor" "$BUILD_DIR/tcsctl/tcsctl"; do
  [[ -x "$f" ]] || tcs_fail "$f is missing: build first"
done
DEV_SH="$SOURCE_DIR/scripts/dev.sh"
SNIFF=/run/tcs-sniff.log
DEV=tcsdev

tcs_nspawn_start --bind-ro="$SOURCE_DIR" --bind-ro="$BUILD_DIR"
tcs_check "creating the unprivileged user $DEV" tcs_exec useradd -m -s /bin/bash "$DEV"
DEV_UID=$(tcs_exec id -u "$DEV")
RUNTIME=/run/user/$DEV_UID
HOME_DIR=/home/$DEV
# as_dev CMD… — CMD as the user, in a session of their user manager (what a login gives).
as_dev() {
  tcs_exec runuser -u "$DEV" -- env HOME="$HOME_DIR" XDG_RUNTIME_DIR="$RUNTIME" \
    DBUS_SESSION_BUS_ADDRESS="unix:path=$RUNTIME/bus" "$@"
}
# as_su CMD… — CMD as the user without a session (plain `su`): no XDG_RUNTIME_DIR.
as_su() { tcs_exec runuser -u "$DEV" -- env HOME="$HOME_DIR" "$@"; }
usc() { as_dev systemctl --user "$@"; }
ushow() { usc show -P "$2" "$1"; }
dev_sh() { as_dev bash "$DEV_SH" --no-build --build-dir "$BUILD_DIR" "$@"; }

# ---- no user manager: a clear way out ------------------------------------------------------------
out=$(as_su bash "$DEV_SH" --no-build --build-dir "$BUILD_DIR" 2>&1) && tcs_fail "dev.sh ran without a user manager: $out"
for want in "XDG_RUNTIME_DIR is not set" "loginctl enable-linger $DEV" "machinectl shell $DEV@"; do
  grep -qF -- "$want" <<<"$out" || tcs_fail "the no-user-manager error lacks '$want': $out"
done
tcs_log "without a user manager: $(head -n 1 <<<"$out")"

# A user manager without lingering (root starts it, as a login would): dev.sh notes that the
# services stop at logout; a config naming a missing binary stops it before anything is created.
tcs_check "starting user@$DEV_UID.service without lingering" tcs_exec systemctl start "user@$DEV_UID.service"
home_tree() { tcs_exec find "$HOME_DIR" | LC_ALL=C sort; }
BROKEN=/tmp/broken.yaml
printf '%s\n' "registry: {nope: /nonexistent/nope}" "services:" "  - {type: nope, variant: main}" |
  tcs_sh 'cat >"$1" && chmod 644 "$1"' "$BROKEN" || tcs_fail "writing the broken config"
home0=$(home_tree)
out=$(dev_sh "$BROKEN" 2>&1) && tcs_fail "dev.sh ran a config with a missing binary: $out"
grep -qF "lingering is off for $DEV" <<<"$out" || tcs_fail "no lingering note: $out"
grep -qF "loginctl enable-linger $DEV" <<<"$out" || tcs_fail "the lingering note does not say how: $out"
grep -qF "$BROKEN:3:5: error: services[0]: service nope.main: binary /nonexistent/nope does not exist" <<<"$out" ||
  tcs_fail "dev.sh does not name the missing binary at its line: $out"
tcs_expect_eq "a failed dev.sh creates nothing in the home" "$home0" "$(home_tree)"
tcs_log "lingering off + missing binary: $(grep -F 'lingering is off' <<<"$out")"

tcs_check "loginctl enable-linger $DEV" tcs_exec loginctl enable-linger "$DEV"
manager_up() { tcs_exec systemctl is-active -q "user@$DEV_UID.service" && tcs_exec test -S "$RUNTIME/bus"; }
tcs_wait_until 30 "user@$DEV_UID.service and its session bus" manager_up || {
  tcs_exec systemctl status --no-pager "user@$DEV_UID.service" >&2
  tcs_fail "the user manager of $DEV did not start with lingering"
}

# ---- tcs-unitgen --user: refusals ----------------------------------------------------------------
CONFIG=$HOME_DIR/services.yaml
tcs_sh 'cat >"$1" && chown "$2": "$1"' "$CONFIG" "$DEV" <<'EOF' || tcs_fail "writing the config"
# system test config (dev_mode_test.sh): hello_world and the tutorial examples, from the build tree
nats: {host: 127.0.0.1, port: 4222, required: false}
registry:
  hello_world: ~
  examples.minimal: ~
  examples.basic: ~
  examples.logging: ~
  examples.monitoring: ~
  examples.nonblocking: ~
  examples.watchdog: ~
services:
  - {type: hello_world, variant: main, interval: 1, message: "first", restart: on-failure, restart_sec: 0.2}
  - {type: hello_world, variant: victim, interval: 1, restart: always, restart_sec: 0.2}
  - {type: examples.minimal, variant: tutorial, restart: "no"}
  - {type: examples.basic, variant: tutorial, interval: 2.0, restart: on-failure, restart_sec: 5}
  - {type: examples.logging, variant: tutorial, interval: 3.0, restart: on-failure}
  - {type: examples.monitoring, variant: tutorial, interval: 2.0, restart: always, restart_sec: 3}
  - {type: examples.nonblocking, variant: tutorial, worker_count: 3, interval: 2.0, restart: "no"}
  - {type: examples.watchdog, variant: tutorial, work_seconds: 0.5, watchdog_sec: 5, restart: on-failure}
EOF
UNITGEN=$BUILD_DIR/unitgen/tcs-unitgen
err=$(tcs_exec "$UNITGEN" --user --bin-dir "$BUILD_DIR/services/bin" "$CONFIG" 2>&1)
tcs_expect_eq "tcs-unitgen --user as root: exit status" 2 "$?"
grep -q "this is root" <<<"$err" || tcs_fail "unclear refusal as root: $err"
err=$(as_dev "$UNITGEN" --user --bin-dir /nonexistent/bin "$CONFIG" 2>&1)
tcs_expect_eq "tcs-unitgen --user with a wrong bin dir: exit status" 1 "$?"
grep -qF "$CONFIG:12:5: error: services[0]: service hello_world.main: binary /nonexistent/bin/hello_world does not exist" <<<"$err" ||
  tcs_fail "the missing binary is not named at its config line: $err"
tcs_check "nothing was written" as_dev test ! -e "$HOME_DIR/.config/systemd/user/tcs@.service"

# ---- dev.sh: the fleet under the user's manager ----------------------------------------------------
HOME_BEFORE=$(home_tree)
out=$(dev_sh "$CONFIG" 2>&1) || tcs_fail "scripts/dev.sh failed: $out"
tcs_log "scripts/dev.sh:"$'\n'"$out"
grep -q "lingering is off" <<<"$out" && tcs_fail "dev.sh claims lingering is off"
LAUNCHER="$(tcs_exec hostname -s)-systemd-launcher"
grep -q "launcher\.$LAUNCHER" <<<"$out" || tcs_fail "dev.sh did not print tcsctl's listing with the launcher"
grep -q "hello_world\.main" <<<"$out" || tcs_fail "tcsctl's listing lacks hello_world.main"
grep -qF "journalctl --user -u 'tcs@*' -f" <<<"$out" || tcs_fail "dev.sh does not say how to follow the logs"

SERVICES=(hello_world:main hello_world:victim examples.minimal:tutorial examples.basic:tutorial
  examples.logging:tutorial examples.monitoring:tutorial examples.nonblocking:tutorial examples.watchdog:tutorial)
for s in "${SERVICES[@]}"; do
  u="tcs@$s.service"
  tcs_expect_eq "$u is active" active "$(ushow "$u" ActiveState)"
  pid=$(ushow "$u" MainPID)
  tcs_expect_eq "$u runs as $DEV" "$DEV" "$(tcs_exec ps -o user= -p "$pid" | tr -d ' ')"
  exe=$(tcs_exec readlink "/proc/$pid/exe")
  tcs_expect_eq "$u runs the build tree's binary" "$BUILD_DIR/services/bin/${s%%:*}" "$exe"
done
tcs_expect_eq "tcs.target is active" active "$(ushow tcs.target ActiveState)"
tcs_expect_eq "tcs-supervisor (user) is active" active "$(ushow tcs-supervisor.service ActiveState)"
tcs_expect_eq "tcs-nats (user) is active" active "$(ushow tcs-nats.service ActiveState)"
tcs_expect_eq "the restart policy comes from the config" always "$(ushow tcs@hello_world:victim.service Restart)"
tcs_expect_eq "the watchdog comes from the config" 5s "$(ushow tcs@examples.watchdog:tutorial.service WatchdogUSec)"
# The user manager accepts every directive of the user template and the drop-ins as they are.
verify=$(as_dev systemd-analyze --user verify \
  "$HOME_DIR/.config/systemd/user/tcs@.service:tcs@hello_world:main.service" 2>&1) ||
  tcs_fail "systemd-analyze --user verify failed: $verify"
[[ -z "$verify" ]] || tcs_fail "systemd-analyze --user verify complains: $verify"
manager_log=$(as_dev journalctl --user --no-pager -o cat -t systemd)
grep -q "Started tcs@hello_world:main.service" <<<"$manager_log" || tcs_fail "the user manager's own log is not readable"
noise=$(grep -E "tcs.*(Unknown|ignoring|not supported|Failed to)" <<<"$manager_log")
[[ -z "$noise" ]] || tcs_fail "the user manager complains about the tcs units: $noise"
status=$(usc status --no-pager tcs@hello_world:main.service)
grep -q '^ *Status: "' <<<"$status" || tcs_fail "no Status: line (STATUS=) in systemctl --user status: $status"
tcs_log "systemctl --user status: $(grep 'Status:' <<<"$status")"

# journald: the user's journal, the service's structured fields.
jrecords() { as_dev journalctl --user --no-pager -o export "TCS_SERVICE_ID=$1"; }
has_records() { jrecords "$1" | grep -q '^MESSAGE='; }
tcs_wait_until 10 "journalctl --user records of hello_world.main" has_records hello_world.main || {
  as_dev journalctl --user --no-pager -n 30 >&2
  tcs_fail "journalctl --user has no TCS_SERVICE_ID=hello_world.main record"
}
rec=$(jrecords hello_world.main)
grep -qx "_SYSTEMD_USER_UNIT=tcs@hello_world:main.service" <<<"$rec" || tcs_fail "records are not from the user unit"
grep -qx "TCS_SERVICE_TYPE=hello_world" <<<"$rec" || tcs_fail "records lack TCS_SERVICE_TYPE"
grep -qx "_UID=$DEV_UID" <<<"$rec" || tcs_fail "records are not the user's"
tcs_check "journalctl --user -u 'tcs@*' shows the examples" as_dev sh -c \
  "journalctl --user --no-pager -o cat -u 'tcs@*' | grep -q 'examples.basic.tutorial'"

# An instance that is not configured explains itself against this config and fails at once (78).
usc start tcs@nope:main.service >/dev/null 2>&1 && tcs_fail "an unconfigured instance started"
tcs_expect_eq "unconfigured instance: exit status" 78 "$(ushow tcs@nope:main.service ExecMainStatus)"
as_dev journalctl --user --no-pager -o cat -u tcs@nope:main.service | grep -qF "is not configured in $CONFIG" ||
  tcs_fail "the unconfigured instance does not say why: $(as_dev journalctl --user --no-pager -o cat -u tcs@nope:main.service)"
usc reset-failed tcs@nope:main.service

# ---- kill -9 → restarted, and reported on NATS by tcs-supervisor --user -------------------------------
tcs_check "the sniffer starts" tcs_exec systemd-run --unit=tcs-test-sniff --property=Type=exec \
  "$TOOL" sub nats://127.0.0.1:4222 'svc.>' "$SNIFF"
tcs_wait_until 10 "the sniffer to subscribe" tcs_exec test -f "$SNIFF" || tcs_fail "the sniffer did not subscribe"
sniff() { tcs_exec cat "$SNIFF"; }
events() {
  sniff | awk '$2 ~ /^svc\.registry\./ { sub(/^[^ ]+ [^ ]+ /, ""); print }' |
    jq -r --arg id "$1" 'select(.data.service_id == $id) | .data |
      .event + (if .result then ":" + .result elif .reason then ":" + .reason else "" end)'
}
victim=$(ushow tcs@hello_world:victim.service MainPID)
n0=$(events hello_world.victim | wc -l)
tcs_exec kill -9 "$victim"
four() { (($(events hello_world.victim | wc -l) >= n0 + 4)) && events hello_world.victim | tail -n +"$((n0 + 1))" | grep -qx ready; }
tcs_wait_until 15 "crashed → restarting → start → ready on NATS" four || {
  events hello_world.victim >&2
  as_dev journalctl --user --no-pager -u tcs-supervisor -n 20 >&2
  tcs_fail "the kill -9 sequence did not arrive"
}
seq=$(events hello_world.victim | tail -n +"$((n0 + 1))" | head -n 4 | paste -sd ' ')
tcs_expect_eq "kill -9 sequence from tcs-supervisor --user" "crashed:signal restarting start ready" "$seq"
new=$(ushow tcs@hello_world:victim.service MainPID)
[[ "$new" != "$victim" && "$(ushow tcs@hello_world:victim.service ActiveState)" == active ]] ||
  tcs_fail "hello_world.victim was not restarted"
tcs_expect_eq "NRestarts" 1 "$(ushow tcs@hello_world:victim.service NRestarts)"
parent=$(sniff | awk '$2 == "svc.registry.crashed.hello_world.victim"' | head -n 1 | cut -d' ' -f3- | jq -r .data.parent)
tcs_log "crashed event from $parent"

# ---- re-running restarts only what changed ----------------------------------------------------------
pids() { local s u; for s in "${SERVICES[@]}"; do echo "$s $(ushow "tcs@$s.service" MainPID)"; done; }
before=$(pids)
sup=$(ushow tcs-supervisor.service MainPID)
out=$(dev_sh "$CONFIG" 2>&1) || tcs_fail "the second dev.sh run failed: $out"
tcs_expect_eq "an unchanged re-run restarts nothing" "$before" "$(pids)"
tcs_expect_eq "an unchanged re-run keeps the supervisor" "$sup" "$(ushow tcs-supervisor.service MainPID)"
grep -q "Restarting" <<<"$out" && tcs_fail "an unchanged re-run restarted something: $out"
# Edit: hello_world.main's message changes, examples.minimal goes away.
tcs_sh 'sed -i -e "s/message: \"first\"/message: \"second\"/" -e "/examples.minimal, variant/d" "$1"' "$CONFIG"
out=$(dev_sh "$CONFIG" 2>&1) || tcs_fail "the dev.sh run after an edit failed: $out"
tcs_log "after the edit:"$'\n'"$(grep '==>' <<<"$out")"
grep -q "Restarting what changed: .*tcs@hello_world:main.service" <<<"$out" || tcs_fail "hello_world.main not restarted: $out"
old_main=$(awk '$1 == "hello_world:main" {print $2}' <<<"$before")
[[ "$(ushow tcs@hello_world:main.service MainPID)" != "$old_main" ]] || tcs_fail "hello_world.main kept its process"
for s in hello_world:victim examples.basic:tutorial examples.watchdog:tutorial; do
  tcs_expect_eq "$s was not restarted" "$(awk -v s="$s" '$1 == s {print $2}' <<<"$before")" "$(ushow "tcs@$s.service" MainPID)"
done
[[ "$(ushow tcs@examples.minimal:tutorial.service ActiveState)" != active ]] || tcs_fail "a removed service still runs"
tcs_check "the removed service's drop-in is gone" as_dev test ! -e "$HOME_DIR/.config/systemd/user/tcs@examples.minimal:tutorial.service.d"

# ---- a rebuild restarts only what was rebuilt ---------------------------------------------------------
# The bound build tree is read-only: the user gets a writable copy of what dev.sh uses from one
# (the tools, services/bin, libtcs/libtcs*.so*) and "rebuilds" in it as a linker does, a new file
# renamed over the old one (a running binary cannot be written in place). The copied binaries
# still load the original build's libtcs (their RUNPATH is absolute), so changing the copy's
# libtcs checks dev.sh's decision only.
COPY=/var/tmp/tcs-dev-build
tcs_check "copying the build tree for $DEV" tcs_sh '
  install -d -o "$2" "$3" "$3/unitgen" "$3/supervisor" "$3/tcsctl" "$3/services" "$3/libtcs" &&
  cp -a "$1/unitgen/tcs-unitgen" "$3/unitgen/" && cp -a "$1/supervisor/tcs-supervisor" "$3/supervisor/" &&
  cp -a "$1/tcsctl/tcsctl" "$3/tcsctl/" && cp -a "$1/services/bin" "$3/services/" &&
  cp -a "$1"/libtcs/libtcs*.so* "$3/libtcs/" && chown -R "$2": "$3"' "$BUILD_DIR" "$DEV" "$COPY"
# rebuild FILE — a changed but working FILE: a copy with one more byte, renamed over it.
rebuild() { as_dev sh -c 'cp -p "$1" "$1.new" && printf x >>"$1.new" && mv -f "$1.new" "$1"' sh "$1"; }
RUNNING=(hello_world:main hello_world:victim examples.basic:tutorial examples.logging:tutorial
  examples.monitoring:tutorial examples.nonblocking:tutorial examples.watchdog:tutorial)
ids() { local s u; for s in "${RUNNING[@]}" supervisor; do
  u="tcs@$s.service"; [[ $s == supervisor ]] && u=tcs-supervisor.service
  echo "$s $(ushow "$u" MainPID) $(ushow "$u" InvocationID)"; done; }
# Moving to the copy changes every drop-in and the supervisor's unit: all of it restarts onto it.
before=$(ids)
out=$(as_dev bash "$DEV_SH" --no-build --build-dir "$COPY" "$CONFIG" 2>&1) || tcs_fail "dev.sh on the copy failed: $out"
for s in "${RUNNING[@]}"; do
  tcs_expect_eq "tcs@$s runs from the copy" "$COPY/services/bin/${s%%:*}" \
    "$(tcs_exec readlink "/proc/$(ushow "tcs@$s.service" MainPID)/exe")"
done
[[ "$(ids | grep -c -xFf <(echo "$before"))" == 0 ]] || tcs_fail "moving to the copy did not restart everything: $out"
# One binary rebuilt: exactly its service restarts, onto the new file.
before=$(ids)
rebuild "$COPY/services/bin/examples.basic"
out=$(as_dev bash "$DEV_SH" --no-build --build-dir "$COPY" "$CONFIG" 2>&1) || tcs_fail "dev.sh after a rebuild failed: $out"
tcs_log "after rebuilding examples.basic:"$'\n'"$(grep '==>' <<<"$out")"
tcs_expect_eq "dev.sh restarts exactly examples.basic" "==> Restarting what changed: tcs@examples.basic:tutorial.service" \
  "$(grep 'Restarting' <<<"$out" | sed 's/\x1b\[[0-9;]*m//g')"
tcs_expect_eq "only examples.basic has a new process and invocation" "examples.basic:tutorial" \
  "$(diff <(echo "$before") <(ids) | sed -n 's/^> \([^ ]*\) .*/\1/p' | paste -sd ' ')"
tcs_expect_eq "examples.basic is active again" active "$(ushow tcs@examples.basic:tutorial.service ActiveState)"
tcs_expect_eq "examples.basic runs the rebuilt binary" "$COPY/services/bin/examples.basic" \
  "$(tcs_exec readlink "/proc/$(ushow tcs@examples.basic:tutorial.service MainPID)/exe")"
# libtcs rebuilt: every service and the supervisor restart.
before=$(ids)
# The real file behind libtcs.so → libtcs.so.<soversion> → libtcs.so.<project version>.
rebuild "$COPY/libtcs/$(basename "$(readlink -f "$BUILD_DIR/libtcs/libtcs.so")")"
out=$(as_dev bash "$DEV_SH" --no-build --build-dir "$COPY" "$CONFIG" 2>&1) || tcs_fail "dev.sh after a libtcs rebuild failed: $out"
tcs_log "after rebuilding libtcs:"$'\n'"$(grep '==>' <<<"$out")"
kept=$(ids | grep -xFf <(echo "$before"))
[[ -z "$kept" ]] || tcs_fail "a libtcs rebuild did not restart: $kept"
for s in "${RUNNING[@]}"; do
  tcs_expect_eq "tcs@$s is active after the libtcs rebuild" active "$(ushow "tcs@$s.service" ActiveState)"
done
DEV_BUILD=$COPY

# ---- dev.sh --stop: nothing left -------------------------------------------------------------------
out=$(as_dev bash "$DEV_SH" --stop --build-dir "$DEV_BUILD" 2>&1) || tcs_fail "dev.sh --stop failed: $out"
left=$(usc list-units --all --plain --no-legend 'tcs*' 'tcs@*')
[[ -z "$left" ]] || tcs_fail "units left in the user manager: $left"
left=$(usc list-unit-files --no-legend 'tcs*')
[[ -z "$left" ]] || tcs_fail "unit files left: $left"
tcs_expect_eq "the home holds what it held before dev.sh" "$HOME_BEFORE" "$(home_tree)"
procs=$(tcs_exec pgrep -u "$DEV" -a -f "services/bin|nats-server|tcs-supervisor")
[[ -z "$procs" ]] || tcs_fail "processes left: $procs"
tcs_expect_eq "the user manager itself still runs" active "$(tcs_exec systemctl is-active "user@$DEV_UID.service")"
tcs_pass
