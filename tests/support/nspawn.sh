# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# SC2016: scripts for tcs_sh are single-quoted on purpose (they expand inside the container).
# SC2034: TCS_* globals are this library's output, read by the sourcing test.
# shellcheck disable=SC2016,SC2034
#
# Throwaway systemd containers for the system test tier.
#
# Boots the host's own OS as PID 1 of a systemd-nspawn container whose root is a volatile
# overlay of the host root: every write inside lands in a tmpfs and vanishes with the
# container. See tests/system/README.md.
#
# DANGER: never run /lib/systemd/systemd on the host root (e.g. in a bare `unshare --pid`):
# its boot-time cleanup wipes the host's /tmp. This library only ever boots it through
# `systemd-nspawn --volatile=overlay`.
#
# Usage (in a test script; do NOT call tcs_nspawn_start inside $(…) or a pipeline — the
# container is tied to the lifetime of the calling shell):
#
#   source "$SOURCE_DIR/tests/support/nspawn.sh"
#   tcs_nspawn_init my_test                     # skips (exit 77) without root/nspawn; traps
#   tcs_nspawn_start --bind-ro="$SOURCE_DIR" --bind-ro="$BUILD_DIR"   # boots, waits until up
#   tcs_nspawn_install "$BUILD_DIR"             # cmake --install + systemd-sysusers, inside
#   tcs_nspawn_install "$BUILD_DIR" runtime tests   # … plus the test services
#   tcs_exec systemctl start foo.service        # run a command inside
#   tcs_check "foo runs" tcs_exec systemctl is-active -q foo.service
#   tcs_pass                                    # exit 0 (the EXIT trap stops the container)
#
# Several containers in one test (a fleet of hosts): `tcs_nspawn_new NAME` before each further
# tcs_nspawn_start makes a new current container (machine <test machine>-NAME) and keeps the
# others running; `tcs_nspawn_select MACHINE` makes one of them current again for tcs_exec,
# tcs_sh, tcs_nspawn_install. TCS_MACHINES lists them in start order; the EXIT trap saves every
# container's journal on failure (journal-<hostname>.txt) and stops them all.
#
# Exit codes: 0 pass, 1 failure, 77 skipped (CTest SKIP_RETURN_CODE).
#
# Knobs (environment):
#   TCS_NSPAWN_BOOT_TIMEOUT  seconds to wait for the container to boot (default 120)
#   TCS_NSPAWN_BOOT_UNIT     unit the container boots into (default basic.target: journald,
#                            D-Bus and nothing of the host's multi-user services)
#   TCS_NSPAWN_NETWORK       "private" (default: loopback only, nothing the container starts
#                            can take a host port), "host" (share the host's network, e.g.
#                            to reach a nats-server on the host's 127.0.0.1) or "netns:PATH"
#                            (join a network namespace the test created, e.g. /run/netns/NAME)
#   TCS_NSPAWN_HOSTNAME      the container's hostname (default: its machine name)
#   TCS_NSPAWN_KEEP_TMPDIR   1 = keep the test's temp dir even when the test passes
#   TCS_INSTALL_PREFIX       prefix for tcs_nspawn_install (default: the build's own
#                            CMAKE_INSTALL_PREFIX; see tcs_nspawn_install)

# ---- state ---------------------------------------------------------------------------------
TCS_HOSTROOT=${TCS_HOSTROOT:-/srv/tcs-hostroot}
TCS_NSPAWN_STATE_DIR=${TCS_NSPAWN_STATE_DIR:-/run/tcs-nspawn}   # registry of running containers
TCS_TEST_NAME=""
TCS_TEST_TMPDIR=""      # per-test temp dir on the host (mktemp)
TCS_MACHINE=""          # container (machine) name, unique per test run
TCS_NSPAWN_PID=""       # the systemd-nspawn process (our child)
TCS_CONTAINER_PID1=""   # the container's PID 1, as seen from the host
TCS_INSTALL_BINDIR=""   # set by tcs_nspawn_install: where tcs binaries went in the container
TCS_INSTALL_UNITDIR=""  # set by tcs_nspawn_install: the systemd unit dir used
TCS_INSTALL_SERVICEDIR=""  # set by tcs_nspawn_install: where service binaries went (registry ~)
_TCS_PID1_START=""     # start time of the container's PID 1 (guards the SIGKILL fallback)
TCS_HOSTNAME=""         # the current container's hostname
TCS_MACHINES=()         # every container this test started, in order
declare -A _TCS_BOX_NSPAWN=() _TCS_BOX_PID1=() _TCS_BOX_PID1_START=() _TCS_BOX_HOSTNAME=()
_TCS_MACHINE_BASE=""
_TCS_NEW_NAME=""       # set by tcs_nspawn_new for the next tcs_nspawn_start
_TCS_EXIT_HOOKS=()     # functions the EXIT trap runs after the containers stopped
_TCS_FAILED=0
_TCS_STARTED_AT=$SECONDS

# ---- messages and verdicts -----------------------------------------------------------------
tcs_log() { printf '[%s +%ss] %s\n' "${TCS_TEST_NAME:-nspawn}" "$((SECONDS - _TCS_STARTED_AT))" "$*" >&2; }

# tcs_skip MESSAGE — the test cannot run here: exit 77 with a reason.
tcs_skip() {
  printf '%s: SKIPPED: %s\n' "${TCS_TEST_NAME:-system test}" "$*" >&2
  exit 77
}

# tcs_fail MESSAGE — a check failed: exit 1 (the EXIT trap saves the container journal).
tcs_fail() {
  printf '%s: FAILED: %s\n' "${TCS_TEST_NAME:-system test}" "$*" >&2
  _TCS_FAILED=1
  exit 1
}

# tcs_pass — all checks passed.
tcs_pass() {
  tcs_log "PASSED"
  exit 0
}

# tcs_check DESCRIPTION CMD... — run CMD; fail the test with DESCRIPTION unless it succeeds.
tcs_check() {
  local what=$1
  shift
  "$@" || tcs_fail "$what (command: $*)"
}

# tcs_expect_eq DESCRIPTION EXPECTED ACTUAL
tcs_expect_eq() {
  if [[ "$2" != "$3" ]]; then
    tcs_fail "$1: expected '$2', got '$3'"
  fi
}

# tcs_wait_until TIMEOUT_S DESCRIPTION CMD... — poll CMD (every 0.1 s) until it succeeds;
# returns 1 when TIMEOUT_S passes first. No blind sleeps: the poll is the only delay.
tcs_wait_until() {
  local timeout=$1 what=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      tcs_log "timed out after ${timeout}s waiting for: $what"
      return 1
    fi
    sleep 0.1
  done
}

# ---- setup ---------------------------------------------------------------------------------
# tcs_nspawn_init TEST_NAME — check prerequisites (skip with 77 when missing), create the
# test's temp dir and install the cleanup traps. Call once, first.
tcs_nspawn_init() {
  TCS_TEST_NAME=$1
  _TCS_STARTED_AT=$SECONDS
  [[ $(id -u) -eq 0 ]] || tcs_skip "needs root (systemd-nspawn boots a container); run as root"
  local tool
  for tool in systemd-nspawn nsenter mount umount mountpoint flock findmnt; do
    command -v "$tool" >/dev/null 2>&1 ||
      tcs_skip "'$tool' not found (apt-get install systemd-container util-linux; see scripts/setup.sh)"
  done
  [[ -x /lib/systemd/systemd || -x /usr/lib/systemd/systemd ]] ||
    tcs_skip "systemd is not installed (nothing to boot in the container)"
  [[ -d /sys/fs/cgroup ]] || tcs_skip "no /sys/fs/cgroup: systemd cannot run in a container here"
  TCS_TEST_TMPDIR=$(mktemp -d "/tmp/tcs-${TCS_TEST_NAME}.XXXXXX") || tcs_skip "mktemp failed"
  # Machine names: [a-zA-Z0-9-], no dots (the container's hostname is the machine name and
  # %l is the short hostname), unique per run so tests can run in parallel.
  local suffix
  suffix=$(printf '%04x%02x' "$RANDOM" "$((RANDOM % 256))")  # no pipeline: callers may use pipefail
  TCS_MACHINE="tcs-${TCS_TEST_NAME//[^a-zA-Z0-9]/-}-$$-${suffix}"
  TCS_MACHINE=${TCS_MACHINE:0:64}
  _TCS_MACHINE_BASE=${TCS_MACHINE:0:48}
  trap _tcs_nspawn_on_exit EXIT
  trap 'tcs_log "interrupted"; _TCS_FAILED=1; exit 130' INT
  trap 'tcs_log "terminated"; _TCS_FAILED=1; exit 143' TERM HUP
  tcs_log "temp dir $TCS_TEST_TMPDIR, machine $TCS_MACHINE"
}

# Registry of containers using $TCS_HOSTROOT, so the last one out unmounts it. One file per
# container: "<owner shell pid> <nspawn pid>". Guarded by an flock.
_tcs_registry_lock() { exec {_TCS_LOCK_FD}>"$TCS_NSPAWN_STATE_DIR/lock" && flock -w 60 "$_TCS_LOCK_FD"; }
_tcs_registry_unlock() { [[ -n "${_TCS_LOCK_FD:-}" ]] && exec {_TCS_LOCK_FD}>&-; _TCS_LOCK_FD=""; }

# Any container (ours or not) still running on $TCS_HOSTROOT?
_tcs_hostroot_in_use() {
  local f owner nspawn
  for f in "$TCS_NSPAWN_STATE_DIR"/users/*; do
    [[ -e "$f" ]] || continue
    read -r owner nspawn <"$f" || true
    if [[ -n "$owner" && -e /proc/$owner ]] || [[ -n "$nspawn" && "$nspawn" != - && -e /proc/$nspawn ]]; then
      return 0
    fi
    # Stale entry of a test that was killed: drop it and what its nspawn left in /run.
    rm -f "$f"
    rmdir "/run/systemd/nspawn/propagate/${f##*/}" 2>/dev/null
  done
  # A container started by hand (not through this library) also counts.
  local p cmd
  for p in /proc/[0-9]*; do
    cmd=$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
    [[ "$cmd" == *systemd-nspawn*"$TCS_HOSTROOT"* ]] && return 0
  done
  return 1
}

# tcs_nspawn_start [NSPAWN ARGS...] — boot the container (extra args such as --bind-ro=DIR go
# to systemd-nspawn) and wait until `systemctl is-system-running` says running or degraded.
# Skips (77) when the container cannot boot on this machine.
tcs_nspawn_start() {
  [[ -n "$TCS_MACHINE" ]] || tcs_fail "tcs_nspawn_init was not called"
  mkdir -p "$TCS_NSPAWN_STATE_DIR/users" || tcs_skip "cannot create $TCS_NSPAWN_STATE_DIR"
  _tcs_registry_lock || tcs_skip "cannot lock $TCS_NSPAWN_STATE_DIR/lock"
  mkdir -p "$TCS_HOSTROOT"
  if ! mountpoint -q "$TCS_HOSTROOT"; then
    # nspawn refuses "/" itself; a non-recursive bind shows just the root file system.
    if ! mount --bind / "$TCS_HOSTROOT"; then
      _tcs_registry_unlock
      tcs_skip "cannot bind-mount / on $TCS_HOSTROOT"
    fi
  fi
  echo "$$ -" >"$TCS_NSPAWN_STATE_DIR/users/$TCS_MACHINE"
  _tcs_registry_unlock

  local network=()
  case "${TCS_NSPAWN_NETWORK:-private}" in
    private) network=(--private-network) ;;
    host) network=() ;;
    netns:/*) network=("--network-namespace-path=${TCS_NSPAWN_NETWORK#netns:}") ;;
    *) tcs_fail "TCS_NSPAWN_NETWORK must be 'private', 'host' or 'netns:PATH'" ;;
  esac
  TCS_HOSTNAME=${TCS_NSPAWN_HOSTNAME:-$TCS_MACHINE}
  # Tie the container to this shell: if the test is killed (e.g. by a CTest timeout) before
  # its trap runs, nspawn still gets SIGTERM and shuts the container down.
  local deathsig=()
  command -v setpriv >/dev/null 2>&1 && deathsig=(setpriv --pdeathsig TERM --)
  local boot_unit=${TCS_NSPAWN_BOOT_UNIT:-basic.target}
  local console="$TCS_TEST_TMPDIR/console.log"
  [[ -z "$_TCS_NEW_NAME" ]] || console="$TCS_TEST_TMPDIR/console-$_TCS_NEW_NAME.log"
  _TCS_NEW_NAME=""
  tcs_log "booting container $TCS_MACHINE (unit $boot_unit, network ${TCS_NSPAWN_NETWORK:-private})"
  "${deathsig[@]}" systemd-nspawn -D "$TCS_HOSTROOT" --volatile=overlay --register=no --keep-unit \
    -M "$TCS_MACHINE" --console=read-only "${network[@]}" "$@" \
    -b -- "systemd.unit=$boot_unit" "systemd.hostname=$TCS_HOSTNAME" \
    </dev/null >"$console" 2>&1 &
  TCS_NSPAWN_PID=$!
  echo "$$ $TCS_NSPAWN_PID" >"$TCS_NSPAWN_STATE_DIR/users/$TCS_MACHINE"
  TCS_MACHINES+=("$TCS_MACHINE")
  _tcs_nspawn_save

  local timeout=${TCS_NSPAWN_BOOT_TIMEOUT:-120}
  local deadline=$((SECONDS + timeout))
  # The container's PID 1 is a child of nspawn whose innermost PID is 1, once it has exec'd
  # systemd (before that it is still nspawn's own code).
  until TCS_CONTAINER_PID1=$(_tcs_find_pid1); do
    if ! _tcs_alive "$TCS_NSPAWN_PID"; then
      _tcs_boot_skip "systemd-nspawn exited during start-up"
    fi
    ((SECONDS < deadline)) || _tcs_boot_skip "no container PID 1 after ${timeout}s"
    sleep 0.1
  done
  _TCS_PID1_START=$(_tcs_starttime "$TCS_CONTAINER_PID1")
  _tcs_nspawn_save
  tcs_log "container PID 1 is host PID $TCS_CONTAINER_PID1 (nspawn $TCS_NSPAWN_PID)"

  # is-system-running --wait blocks until boot finished; it fails while the manager's bus is
  # not up yet, so poll it against the deadline.
  local state=""
  while :; do
    _tcs_alive "$TCS_NSPAWN_PID" || _tcs_boot_skip "systemd-nspawn exited during boot"
    local left=$((deadline - SECONDS))
    ((left > 0)) || _tcs_boot_skip "container not up after ${timeout}s (last state '${state:-unknown}')"
    state=$(timeout "$left" nsenter -t "$TCS_CONTAINER_PID1" -m -u -i -n -p -- \
      systemctl is-system-running --wait 2>/dev/null) || true  # non-zero until running
    case "$state" in
      running | degraded) break ;;
      # offline: PID 1 is not answering as a manager yet
      starting | initializing | offline | "") sleep 0.1 ;;
      *) _tcs_boot_skip "container reached state '$state' instead of running/degraded" ;;
    esac
  done
  if [[ "$state" == degraded ]]; then
    tcs_log "container is degraded; failed units:"
    tcs_exec systemctl --failed --no-legend --plain >&2 || true
  fi
  tcs_log "container $TCS_MACHINE is $state"
}

# tcs_nspawn_new NAME — the next tcs_nspawn_start boots a further container, machine
# <this test's machine>-NAME (NAME: [a-zA-Z0-9-]); the containers started before keep running
# (tcs_nspawn_select switches between them). Set TCS_NSPAWN_HOSTNAME/TCS_NSPAWN_NETWORK for it
# before tcs_nspawn_start.
tcs_nspawn_new() {
  [[ -n "$_TCS_MACHINE_BASE" ]] || tcs_fail "tcs_nspawn_init was not called"
  [[ "$1" =~ ^[a-zA-Z0-9-]+$ ]] || tcs_fail "tcs_nspawn_new: bad name '$1'"
  TCS_MACHINE="$_TCS_MACHINE_BASE-$1"
  [[ -z "${_TCS_BOX_NSPAWN[$TCS_MACHINE]+x}" ]] || tcs_fail "tcs_nspawn_new: $1 exists already"
  TCS_NSPAWN_PID="" TCS_CONTAINER_PID1="" _TCS_PID1_START="" TCS_HOSTNAME=""
  _TCS_NEW_NAME=$1
}

# tcs_nspawn_select MACHINE — make a container started by this test the current one.
tcs_nspawn_select() {
  [[ -n "${_TCS_BOX_NSPAWN[$1]+x}" ]] || tcs_fail "tcs_nspawn_select: no container '$1'"
  TCS_MACHINE=$1
  TCS_NSPAWN_PID=${_TCS_BOX_NSPAWN[$1]}
  TCS_CONTAINER_PID1=${_TCS_BOX_PID1[$1]}
  _TCS_PID1_START=${_TCS_BOX_PID1_START[$1]}
  TCS_HOSTNAME=${_TCS_BOX_HOSTNAME[$1]}
}

_tcs_nspawn_save() {
  _TCS_BOX_NSPAWN[$TCS_MACHINE]=$TCS_NSPAWN_PID
  _TCS_BOX_PID1[$TCS_MACHINE]=$TCS_CONTAINER_PID1
  _TCS_BOX_PID1_START[$TCS_MACHINE]=$_TCS_PID1_START
  _TCS_BOX_HOSTNAME[$TCS_MACHINE]=$TCS_HOSTNAME
}

# tcs_at_exit FUNCTION — the EXIT trap calls FUNCTION after every container stopped (and before
# the temp dir is removed): for what the test started itself (servers, network namespaces).
tcs_at_exit() { _TCS_EXIT_HOOKS+=("$1"); }

# Start time (clock ticks since boot) of a PID: tells a PID from a later reuse of it.
_tcs_starttime() { { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat"; } 2>/dev/null; }

_tcs_alive() {
  local st
  st=$( { awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat"; } 2>/dev/null) || return 1
  [[ -n "$st" && "$st" != Z ]]
}

_tcs_children() {
  if [[ -r "/proc/$1/task/$1/children" ]]; then
    cat "/proc/$1/task/"*/children 2>/dev/null
  else
    pgrep -P "$1" 2>/dev/null
  fi
}

_tcs_find_pid1() {
  local child
  for child in $(_tcs_children "$TCS_NSPAWN_PID"); do
    if awk '/^NSpid:/ { found = ($NF == 1 && NF > 2) } END { exit found ? 0 : 1 }' "/proc/$child/status" 2>/dev/null &&
      [[ "$(readlink "/proc/$child/exe" 2>/dev/null)" == */systemd ]]; then
      echo "$child"
      return 0
    fi
  done
  return 1
}

_tcs_boot_skip() {
  tcs_log "container console (tail):"
  tail -n 30 "$TCS_TEST_TMPDIR/console.log" >&2 2>/dev/null || true
  if [[ -n "$TCS_CONTAINER_PID1" ]] && _tcs_alive "$TCS_CONTAINER_PID1"; then
    tcs_exec systemctl list-jobs --no-pager >&2 2>/dev/null || true
    _tcs_save_journal
  fi
  _TCS_FAILED=0
  tcs_skip "the container cannot boot here: $*"
}

# ---- running things inside -----------------------------------------------------------------
# tcs_exec CMD... — run CMD inside the container (all its namespaces but the cgroup one),
# with a clean environment: host variables (TMPDIR, TCS_*, …) must not leak in.
tcs_exec() {
  [[ -n "$TCS_CONTAINER_PID1" ]] || tcs_fail "tcs_exec: no container running"
  nsenter -t "$TCS_CONTAINER_PID1" -m -u -i -n -p -- \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    TERM=dumb SYSTEMD_COLORS=0 SYSTEMD_PAGER= SYSTEMD_LOG_COLOR=0 "$@"
}

# tcs_sh SCRIPT [ARGS...] — run a shell script inside the container ($1… are ARGS).
tcs_sh() {
  local script=$1
  shift
  tcs_exec sh -c "$script" sh "$@"
}

# tcs_cmake_cache BUILD_DIR VAR — a value from BUILD_DIR/CMakeCache.txt (host side).
tcs_cmake_cache() {
  sed -n "s/^$2:[A-Z]*=//p" "$1/CMakeCache.txt" | head -n 1
}

# tcs_nspawn_install BUILD_DIR [COMPONENT...] — install the build's COMPONENTs (default:
# runtime; e.g. `runtime tests` adds the test services) into the container, refresh the
# dynamic linker cache (libtcs is a shared library in the libdir) and create the tcs user.
# Writes land in the container's overlay only. BUILD_DIR must be visible inside (bind it with
# --bind-ro=); since cmake --install writes its manifest into the build dir, a tmpfs-backed
# overlay is mounted over it inside the container. Sets TCS_INSTALL_BINDIR,
# TCS_INSTALL_UNITDIR and TCS_INSTALL_SERVICEDIR (where service binaries went: the registry's
# `~`).
#
# The prefix is the build's own CMAKE_INSTALL_PREFIX (or TCS_INSTALL_PREFIX): paths that are
# fixed at configure time (the generator symlink's target, the template's ExecStart, the
# defaults compiled into tcs-unitgen) only agree with the installed files for that prefix.
tcs_nspawn_install() {
  local build=$1
  shift
  local components=("$@")
  ((${#components[@]})) || components=(runtime)
  [[ -f "$build/CMakeCache.txt" ]] || tcs_fail "$build is not a CMake build dir"
  local configured prefix bindir
  configured=$(tcs_cmake_cache "$build" CMAKE_INSTALL_PREFIX)
  prefix=${TCS_INSTALL_PREFIX:-$configured}
  bindir=$(tcs_cmake_cache "$build" CMAKE_INSTALL_BINDIR)
  [[ "$bindir" == /* ]] || bindir="$prefix/${bindir:-bin}"
  TCS_INSTALL_BINDIR=$bindir
  TCS_INSTALL_UNITDIR=$(tcs_cmake_cache "$build" TCS_SYSTEMD_UNIT_DIR)
  TCS_INSTALL_SERVICEDIR=$(tcs_cmake_cache "$build" TCS_SERVICE_BIN_DIR)
  [[ "$prefix" == "$configured" ]] || TCS_INSTALL_SERVICEDIR="$prefix/${TCS_INSTALL_SERVICEDIR#"$configured"/}"
  if [[ "$prefix" != "$configured" ]]; then
    tcs_log "WARNING: installing with --prefix $prefix into a build configured for $configured:" \
      "configure-time paths (generator link, template ExecStart) will point to $configured"
  fi
  tcs_log "installing $build into the container (prefix $prefix, components ${components[*]})"
  local out="$TCS_TEST_TMPDIR/install.log"
  if ! tcs_sh '
      set -e
      b=$1 prefix=$2
      shift 2
      if ! touch "$b/.tcs-writable" 2>/dev/null; then
        mkdir -p /run/tcs-build-overlay/upper /run/tcs-build-overlay/work
        mount -t overlay tcs-build-overlay \
          -o "lowerdir=$b,upperdir=/run/tcs-build-overlay/upper,workdir=/run/tcs-build-overlay/work" "$b"
      fi
      for c in "$@"; do cmake --install "$b" --prefix "$prefix" --component "$c"; done
      ldconfig  # the new libtcs*.so.<TCS_SOVERSION> in the libdir
      systemd-sysusers
      id tcs
    ' "$build" "$prefix" "${components[@]}" >"$out" 2>&1; then
    cat "$out" >&2
    tcs_fail "installing the build into the container failed"
  fi
  grep -E 'Installing|Up-to-date|uid=' "$out" >&2 || true
}

# ---- teardown ------------------------------------------------------------------------------
# _tcs_ns CMD… — run CMD in the running container (no pager, no colours), bounded in time.
_tcs_ns() {
  timeout 15 nsenter -t "$TCS_CONTAINER_PID1" -m -u -i -n -p -- \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_COLORS=0 SYSTEMD_PAGER= "$@"
}
_tcs_save_journal() {
  [[ -n "$TCS_CONTAINER_PID1" ]] || return 0
  local j="$TCS_TEST_TMPDIR/journal.txt"
  ((${#TCS_MACHINES[@]} <= 1)) || j="$TCS_TEST_TMPDIR/journal-$TCS_HOSTNAME.txt"
  if timeout 30 nsenter -t "$TCS_CONTAINER_PID1" -m -u -i -n -p -- \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_COLORS=0 journalctl --no-pager -b >"$j" 2>&1; then
    # What failed first and why, short: CI logs keep only the head and the end of long output.
    local failed
    failed=$(_tcs_ns systemctl list-units --all --state=failed,activating,deactivating --no-legend --plain 'tcs*' 2>/dev/null |
      awk '{print $1}')
    if [[ -n "$failed" ]]; then
      tcs_log "tcs units failed or in transition: $(paste -sd ' ' <<<"$failed")"
      local u
      for u in $failed; do
        _tcs_ns systemctl show "$u" -p Result -p ExecMainCode -p ExecMainStatus -p NRestarts 2>/dev/null | paste -sd ' ' >&2
        _tcs_ns journalctl --no-pager -u "$u" -n 12 -o short-monotonic 2>/dev/null | sed 's/^/    /' >&2
      done
    fi
    tcs_log "container journal saved to $j; its tail (nats-server's lines left out):"
    grep -v ' nats-server\[' "$j" | tail -n 40 >&2
  else
    tcs_log "could not read the container journal"
  fi
}

# tcs_nspawn_stop — shut the container down (SIGTERM to nspawn, SIGKILL after a deadline)
# and unmount $TCS_HOSTROOT when no other container uses it. Idempotent; the EXIT trap runs it.
tcs_nspawn_stop() {
  if [[ -n "$TCS_NSPAWN_PID" ]]; then
    if _tcs_alive "$TCS_NSPAWN_PID"; then
      # nspawn turns SIGTERM into a clean poweroff of the container. Repeat it: a PID 1 that
      # has not installed its handlers yet (very early boot) drops the signal.
      local deadline=$((SECONDS + ${TCS_NSPAWN_STOP_TIMEOUT:-30})) next=0
      while _tcs_alive "$TCS_NSPAWN_PID" && ((SECONDS < deadline)); do
        if ((SECONDS >= next)); then
          kill -TERM "$TCS_NSPAWN_PID" 2>/dev/null
          next=$((SECONDS + 3))
        fi
        sleep 0.1
      done
      if _tcs_alive "$TCS_NSPAWN_PID"; then
        # SIGKILL to the container's PID 1 ends its whole PID namespace; killing only nspawn
        # would orphan the container.
        if [[ -n "$TCS_CONTAINER_PID1" && "$(_tcs_starttime "$TCS_CONTAINER_PID1")" == "${_TCS_PID1_START:-}" ]]; then
          tcs_log "container did not stop in time: SIGKILL to its PID 1 ($TCS_CONTAINER_PID1)"
          kill -KILL "$TCS_CONTAINER_PID1" 2>/dev/null
        fi
        deadline=$((SECONDS + 10))
        while _tcs_alive "$TCS_NSPAWN_PID" && ((SECONDS < deadline)); do sleep 0.1; done
        if _tcs_alive "$TCS_NSPAWN_PID"; then
          tcs_log "SIGKILL to nspawn $TCS_NSPAWN_PID"
          kill -KILL "$TCS_NSPAWN_PID" 2>/dev/null
        fi
      fi
    fi
    wait "$TCS_NSPAWN_PID" 2>/dev/null
    tcs_log "container $TCS_MACHINE stopped"
    TCS_NSPAWN_PID=""
    TCS_CONTAINER_PID1=""
    [[ -z "${_TCS_BOX_NSPAWN[$TCS_MACHINE]+x}" ]] || _tcs_nspawn_save
  fi
  [[ -n "$TCS_MACHINE" ]] || return 0
  # nspawn leaves its propagation dir behind when /run is not a tmpfs.
  rmdir "/run/systemd/nspawn/propagate/$TCS_MACHINE" 2>/dev/null
  [[ -d "$TCS_NSPAWN_STATE_DIR/users" ]] || return 0
  if _tcs_registry_lock; then
    rm -f "$TCS_NSPAWN_STATE_DIR/users/$TCS_MACHINE"
    if mountpoint -q "$TCS_HOSTROOT" && ! _tcs_hostroot_in_use; then
      umount "$TCS_HOSTROOT" || umount -l "$TCS_HOSTROOT" || tcs_log "could not unmount $TCS_HOSTROOT"
    fi
    _tcs_registry_unlock
  fi
}

_tcs_nspawn_on_exit() {
  local rc=$?
  trap - EXIT INT TERM HUP
  [[ $rc -eq 0 || $rc -eq 77 ]] || _TCS_FAILED=1
  local m machines=("${TCS_MACHINES[@]}")
  ((${#machines[@]})) || machines=("")
  for m in "${machines[@]}"; do
    [[ -z "$m" ]] || tcs_nspawn_select "$m"
    if [[ $_TCS_FAILED -ne 0 && -n "$TCS_NSPAWN_PID" ]] && _tcs_alive "$TCS_NSPAWN_PID"; then _tcs_save_journal; fi
    tcs_nspawn_stop
  done
  local hook
  for hook in "${_TCS_EXIT_HOOKS[@]}"; do "$hook" || tcs_log "cleanup $hook failed"; done
  if [[ -n "$TCS_TEST_TMPDIR" && -d "$TCS_TEST_TMPDIR" ]]; then
    if [[ $_TCS_FAILED -ne 0 || "${TCS_NSPAWN_KEEP_TMPDIR:-0}" == 1 ]]; then
      tcs_log "kept $TCS_TEST_TMPDIR (console.log, journal.txt, …)"
    else
      rm -rf "$TCS_TEST_TMPDIR"
    fi
  fi
  tcs_log "exit $rc after $((SECONDS - _TCS_STARTED_AT))s"
  exit "$rc"
}
