#!/usr/bin/env bash
# Development mode: run a whole tcs config from the build tree under your own systemd user
# manager (`systemctl --user`) — no root, no install, the same units, restart policies,
# watchdog and journald as production (doc/development.md).
#
# Usage: scripts/dev.sh [--build-dir DIR] [--no-build] [CONFIG]
#        scripts/dev.sh --stop [--build-dir DIR]
#   CONFIG        services.yaml to run (default: config/examples.yaml)
#   --build-dir   the CMake build tree (default: build/; configured if it does not exist)
#   --no-build    use the build tree as it is (e.g. a read-only one)
#   --stop        stop and remove everything an earlier run created (units, the local
#                 nats-server and its data); the user manager is left as it was before
#
# It builds, writes the user units (tcs-unitgen --user --bin-dir BUILD/services/bin),
# starts a local nats-server as the user unit tcs-nats.service when the config has a nats:
# section on this host and nothing answers there (JetStream data in
# ${XDG_STATE_HOME:-~/.local/state}/tcs-dev/nats), runs tcs-supervisor --user as the user unit
# tcs-supervisor.service, starts tcs.target, and prints tcsctl's listing and how to follow the
# logs. Run it again after an edit and a rebuild: only services whose binary, libtcs, unit or
# own settings changed are restarted; services removed from the config are stopped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
BUILD=$ROOT/build
CONFIG=$ROOT/config/examples.yaml
STOP=0
BUILD_STEP=1
while (($#)); do
  case $1 in
    --stop) STOP=1 ;;
    --no-build) BUILD_STEP=0 ;;
    --build-dir) [[ $# -ge 2 ]] || { echo "dev.sh: --build-dir needs a directory" >&2; exit 2; }; BUILD=$(realpath -m "$2"); shift ;;
    --build-dir=*) BUILD=$(realpath -m "${1#*=}") ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "dev.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    *) CONFIG=$(realpath -m "$1") ;;
  esac
  shift
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }
USER_NAME=$(id -un)
# Files dev.sh writes itself carry this first line; --stop removes only files that do.
MARK="# Written by tcs scripts/dev.sh; removed by scripts/dev.sh --stop."
STATE=${XDG_STATE_HOME:-$HOME/.local/state}/tcs-dev
UNIT_DIR=${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user
[[ ${XDG_CONFIG_HOME:-} == /* ]] || UNIT_DIR=$HOME/.config/systemd/user

# ---- the user manager ------------------------------------------------------------------------
[[ $(id -u) -ne 0 ]] || die "run this as the user who develops, not as root: development mode uses your own
  systemd user manager (root's units belong in /etc/systemd/system: tcs-unitgen without --user)"
if [[ -z ${XDG_RUNTIME_DIR:-} ]]; then
  die "no systemd user manager in this session: XDG_RUNTIME_DIR is not set (typical after plain 'su'
  or 'sudo -u'). Log in as $USER_NAME directly (console, ssh), or from root run
  'machinectl shell $USER_NAME@' for a full session; 'loginctl enable-linger $USER_NAME' (as root)
  keeps a user manager running without any login."
fi
if ! systemctl --user show-environment >/dev/null 2>&1; then
  die "cannot reach your systemd user manager (XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR): is user@$(id -u).service
  running? Log in through a real session (ssh, console, 'machinectl shell $USER_NAME@'), or have
  root run 'loginctl enable-linger $USER_NAME'."
fi
usc() { systemctl --user "$@"; }

# Units dev.sh may have created, in stop order.
OWN_UNITS=(tcs-supervisor.service tcs-nats.service)
is_ours() { [[ -f $1 ]] && [[ $(head -n 1 "$1") == "$MARK" ]]; }

stop_all() {
  say "Stopping the development fleet"
  local unitgen=$BUILD/unitgen/tcs-unitgen
  [[ -f $STATE/build-dir ]] && unitgen=$(cat "$STATE/build-dir")/unitgen/tcs-unitgen
  usc stop tcs.target 'tcs@*.service' 2>/dev/null || true
  local u
  for u in "${OWN_UNITS[@]}"; do
    if is_ours "$UNIT_DIR/$u"; then
      usc stop "$u" 2>/dev/null || true
      rm -f "$UNIT_DIR/$u"
    fi
  done
  if [[ -x $unitgen ]]; then
    "$unitgen" --user --remove -q -o "$UNIT_DIR"
  else
    die "cannot remove the tcs units: $unitgen is missing (give --build-dir)"
  fi
  usc daemon-reload
  # Failed units stay listed until reset: leave nothing of ours in the manager.
  usc reset-failed 'tcs@*.service' "${OWN_UNITS[@]}" 2>/dev/null || true
  # Directories dev.sh created for the units (not one the user had before).
  local dirs=()
  [[ -f $STATE/created-dirs ]] && mapfile -t dirs < <(sort -r "$STATE/created-dirs")
  rm -rf "$STATE"
  local d
  for d in "${dirs[@]}"; do rmdir "$d" 2>/dev/null || true; done  # deepest first
  say "Stopped; units, nats data and state removed"
}

if ((STOP)); then
  stop_all
  exit 0
fi

[[ -f $CONFIG ]] || die "$CONFIG: no such file"
linger=$(loginctl show-user "$USER_NAME" -p Linger --value 2>/dev/null || echo unknown)
if [[ $linger != yes ]]; then
  echo "dev.sh: note: lingering is off for $USER_NAME: these services stop when your last session ends" \
    "('loginctl enable-linger $USER_NAME' keeps them running)" >&2
fi

# ---- build -------------------------------------------------------------------------------------
if ((BUILD_STEP)); then
  say "Building ($BUILD)"
  [[ -f $BUILD/CMakeCache.txt ]] || cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD"
fi
UNITGEN=$BUILD/unitgen/tcs-unitgen
SUPERVISOR=$BUILD/supervisor/tcs-supervisor
TCSCTL=$BUILD/tcsctl/tcsctl
for f in "$UNITGEN" "$SUPERVISOR" "$TCSCTL"; do
  [[ -x $f ]] || die "$f is missing: build first (cmake --build $BUILD)"
done

# Validate first (config, every binary): on any error nothing is created.
"$UNITGEN" --user --check -q --bin-dir "$BUILD/services/bin" "$CONFIG" ||
  die "$CONFIG: fix the errors above (nothing was written or started)"

# mkdir_tracked DIR — create DIR and its missing parents, remembering which ones were created so
# that --stop removes exactly those (when empty) and leaves the home as it was.
created=()
mkdir_tracked() {
  local d=$1 missing=()
  while [[ ! -d $d ]]; do missing=("$d" "${missing[@]}"); d=$(dirname "$d"); done
  for d in "${missing[@]}"; do mkdir "$d" && created+=("$d"); done
}
mkdir_tracked "$STATE"
mkdir_tracked "$UNIT_DIR"
((${#created[@]} == 0)) || printf '%s\n' "${created[@]}" >>"$STATE/created-dirs"
echo "$BUILD" >"$STATE/build-dir"

# ---- units -------------------------------------------------------------------------------------
say "Writing the user units ($UNIT_DIR)"
out=$("$UNITGEN" --user --bin-dir "$BUILD/services/bin" -o "$UNIT_DIR" "$CONFIG") ||
  die "tcs-unitgen failed (see above); nothing was started"
grep -v "daemon-reload" <<<"$out" || true

# write_own_unit NAME — stdin becomes UNIT_DIR/NAME under dev.sh's mark; a file of the same
# name that dev.sh did not write is never replaced.
write_own_unit() {
  local f=$UNIT_DIR/$1
  if [[ -e $f ]] && ! is_ours "$f"; then
    die "$f exists and was not written by dev.sh: move it away first"
  fi
  { echo "$MARK"; cat; } >"$f.tmp.$$" && mv -f "$f.tmp.$$" "$f"
}

NATS=$("$UNITGEN" --nats-address "$CONFIG" 2>/dev/null || true)
nats_answers() { timeout 1 bash -c "</dev/tcp/$1/$2" 2>/dev/null; }
if [[ -n $NATS ]]; then
  NATS_HOST=${NATS%:*} NATS_PORT=${NATS##*:}
  if nats_answers "$NATS_HOST" "$NATS_PORT"; then
    is_ours "$UNIT_DIR/tcs-nats.service" || echo "NATS: $NATS answers already; using it"
  else
    case $NATS_HOST in
      localhost | 127.* | ::1 | "$(hostname)" | "$(hostname -s)")
        command -v nats-server >/dev/null || die "the config asks for NATS at $NATS and nothing answers there;
  install nats-server (sudo apt-get install nats-server) or change nats: in $CONFIG"
        say "Starting a local nats-server on 127.0.0.1:$NATS_PORT (user unit tcs-nats.service)"
        mkdir -p "$STATE/nats"
        write_own_unit tcs-nats.service <<EOF
[Unit]
Description=tcs development NATS (JetStream data in $STATE/nats)

[Service]
Type=exec
ExecStart=$(command -v nats-server) -a 127.0.0.1 -p $NATS_PORT -js -sd "$STATE/nats"
Restart=on-failure
EOF
        usc daemon-reload
        usc restart tcs-nats.service  # ours on another port before, or not running
        for _ in $(seq 100); do nats_answers 127.0.0.1 "$NATS_PORT" && break; sleep 0.1; done
        nats_answers 127.0.0.1 "$NATS_PORT" || die "nats-server did not answer on 127.0.0.1:$NATS_PORT within 10 s
  (journalctl --user -u tcs-nats)"
        ;;
      *) echo "dev.sh: warning: NATS at $NATS does not answer; the services run without it until it does" >&2 ;;
    esac
  fi
fi

write_own_unit tcs-supervisor.service <<EOF
[Unit]
Description=tcs supervisor for the development fleet (tcs@ user units to NATS, remote control)
After=tcs-nats.service

[Service]
Type=notify
NotifyAccess=main
ExecStart="$SUPERVISOR" --user --config "$CONFIG"
ExecReload=/bin/kill -HUP \$MAINPID
Restart=on-failure
RestartSec=2s
RestartPreventExitStatus=78
WatchdogSec=30s
TimeoutStopSec=15s
EOF
usc daemon-reload

# ---- what changed since the last run -----------------------------------------------------------
# A service's stamp: its drop-in, its binary, the build's libtcs and its own settings (the
# merged entry, from tcs-unitgen --settings); the supervisor's: its unit, binary and the config.
LIBS=$(find "$BUILD" -maxdepth 2 -name 'libtcs*.so.*' -type f 2>/dev/null | sort | xargs -r cat | sha256sum | cut -c1-16)
stamp() { { cat "$@" 2>/dev/null; echo "$LIBS"; } | sha256sum | cut -c1-16; }
declare -A SETTINGS NEW
while read -r unit settings; do SETTINGS[$unit]=$settings; done < <("$UNITGEN" --settings "$CONFIG")
for d in "$UNIT_DIR"/tcs@*.service.d/50-tcs.conf; do
  [[ -f $d ]] || continue
  unit=$(basename "$(dirname "$d")" .d)
  bin=$(sed -n 's/^ExecStart="\([^"]*\)".*/\1/p' "$d")
  NEW[$unit]=$(stamp "$d" "$bin" <(echo "${SETTINGS[$unit]:-}"))
done
NEW[tcs-supervisor.service]=$(stamp "$UNIT_DIR/tcs-supervisor.service" "$SUPERVISOR" "$CONFIG")
declare -A OLD
if [[ -f $STATE/stamps ]]; then
  while read -r unit sum; do OLD[$unit]=$sum; done <"$STATE/stamps"
fi
restart=() gone=()
for unit in "${!OLD[@]}"; do [[ -n ${NEW[$unit]:-} ]] || gone+=("$unit"); done
for unit in "${!NEW[@]}"; do
  if [[ -n ${OLD[$unit]:-} && ${OLD[$unit]} != "${NEW[$unit]}" ]] && usc is-active -q "$unit"; then
    restart+=("$unit")
  fi
done
: >"$STATE/stamps.new"
for unit in "${!NEW[@]}"; do echo "$unit ${NEW[$unit]}" >>"$STATE/stamps.new"; done
mv -f "$STATE/stamps.new" "$STATE/stamps"

if ((${#gone[@]})); then
  say "Stopping services no longer configured: ${gone[*]}"
  usc stop "${gone[@]}" || true
  usc reset-failed "${gone[@]}" 2>/dev/null || true
fi
if ((${#restart[@]})); then
  say "Restarting what changed: ${restart[*]}"
  usc restart "${restart[@]}"
fi
say "Starting tcs-supervisor and tcs.target"
usc start tcs-supervisor.service
if ! usc start tcs.target; then
  usc --no-pager --failed
  die "tcs.target did not start; see 'journalctl --user -u \"tcs@*\" -e'"
fi

# ---- show it -----------------------------------------------------------------------------------
BUILD_ARG="" AGAIN=""
[[ $BUILD == "$ROOT/build" ]] || BUILD_ARG=" --build-dir $BUILD"
AGAIN=$BUILD_ARG
((BUILD_STEP)) || AGAIN+=" --no-build"
[[ $CONFIG == "$ROOT/config/examples.yaml" ]] || AGAIN+=" $CONFIG"
say "Units (systemctl --user)"
usc --no-pager --legend=no list-units 'tcs@*' tcs-supervisor.service tcs-nats.service
if [[ -n $NATS ]] && nats_answers "${NATS%:*}" "${NATS##*:}"; then
  say "tcsctl --config $CONFIG"
  # The supervisor declares the fleet once it is up: give it up to 20 s to appear.
  deadline=$((SECONDS + 20))
  until out=$("$TCSCTL" --config "$CONFIG" 2>&1) && grep -q "launcher\." <<<"$out"; do
    ((SECONDS < deadline)) || { out+=$'\n'"(the supervisor's launcher is not listed yet: journalctl --user -u tcs-supervisor)"; break; }
    sleep 0.2
  done
  printf '%s\n' "$out"
fi
cat <<EOF

Follow the logs:     journalctl --user -u 'tcs@*' -f
One service:         systemctl --user status tcs@<type>:<variant>
The fleet:           $TCSCTL --config $CONFIG [--all] [-f]
After an edit:       scripts/dev.sh$AGAIN  (rebuilds, restarts what changed)
Stop everything:     scripts/dev.sh --stop$BUILD_ARG
EOF
