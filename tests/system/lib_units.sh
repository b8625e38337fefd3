# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# shellcheck disable=SC2317  # functions polled through tcs_wait_until
# Expectations and assertions about tcs@ instances, shared by the system tests. Source after
# tests/support/nspawn.sh. Expectations are computed here from the config values a test
# wrote, independently of tcs-unitgen's code.

# usec_of DECIMAL_SECONDS — "2.5" → 2500000 (exact decimal arithmetic, no floats).
usec_of() {
  local s=$1 int frac
  int=${s%%.*}
  if [[ "$s" == *.* ]]; then frac=${s#*.}; else frac=""; fi
  frac=$(printf '%-6s' "$frac")
  frac=${frac// /0}
  echo $((10#${int:-0} * 1000000 + 10#${frac:0:6}))
}

# systemd_timespan USEC — how `systemctl show` prints a time span (format_timespan with
# accuracy 0): "0", "250ms", "2.500000s", "1min 30s", "1h".
systemd_timespan() {
  local t=$1 out="" i a b j
  local -a usec=(31557600000000 2629800000000 604800000000 86400000000 3600000000 60000000 1000000 1000 1)
  local -a suffix=(y month w d h min s ms us)
  ((t == 0)) && { echo 0; return; }
  for i in "${!usec[@]}"; do
    ((t <= 0)) && break
    ((t < usec[i])) && continue
    a=$((t / usec[i]))
    b=$((t % usec[i]))
    if ((t < 60000000 && b > 0)); then
      j=$((${#usec[i]} - 1))  # decimal digits of the unit: s → 6, ms → 3
      if ((j > 0)); then
        out+="${out:+ }$(printf '%d.%0*d%s' "$a" "$j" "$b" "${suffix[i]}")"
        t=0
        break
      fi
    fi
    out+="${out:+ }${a}${suffix[i]}"
    t=$b
  done
  echo "$out"
}

# unit_of SERVICE_ID — "cam.ccd.north" → "tcs@cam.ccd:north.service" (the variant has no dots).
unit_of() { echo "tcs@${1%.*}:${1##*.}.service"; }

# show UNIT PROPERTY — one property's value as systemctl show prints it.
show() { tcs_exec systemctl show -P "$2" "$1"; }

# tcs_units_of WORDS — the tcs@… units among space-separated unit names, sorted, one per line.
tcs_units_of() { tr ' ' '\n' <<<"$1" | grep '^tcs@' | LC_ALL=C sort; }

# expect_prop UNIT PROPERTY EXPECTED
expect_prop() {
  local actual
  actual=$(show "$1" "$2")
  tcs_expect_eq "$1 $2" "$3" "$actual"
}

# expect_tcs_deps UNIT PROPERTY "ID ID…" — the tcs@ units in After=/Requires=/Wants= are
# exactly the units of these service ids.
expect_tcs_deps() {
  local unit=$1 prop=$2 ids=$3 expected="" id
  for id in $ids; do expected+="$(unit_of "$id")"$'\n'; done
  expected=$(printf '%s' "$expected" | LC_ALL=C sort -u)
  tcs_expect_eq "$unit $prop (tcs@ units)" "$expected" "$(tcs_units_of "$(show "$unit" "$prop")")"
}

# expect_exec_start UNIT PATH ARG… — ExecStart is exactly one command with this path and argv
# (argv[0] = PATH). systemctl show joins argv with spaces, so this compares the joined form;
# the notifier's own argv report (expect_running_argv) checks the word boundaries.
expect_exec_start() {
  local unit=$1 path=$2
  shift 2
  local value count
  value=$(show "$unit" ExecStart)
  count=$(grep -o '{ path=' <<<"$value" | wc -l)
  tcs_expect_eq "$unit: number of ExecStart commands" 1 "$count"
  local args="$path"
  local a
  for a in "$@"; do args+=" $a"; done
  [[ "$value" == "{ path=$path ; argv[]=$args ; "* ]] ||
    tcs_fail "$unit ExecStart: expected path '$path' and argv '$args', got: $value"
}

# journal_of_invocation UNIT — the current invocation's journal messages (-o cat).
journal_of_invocation() {
  local id
  id=$(show "$1" InvocationID)
  tcs_exec journalctl --no-pager -o cat "_SYSTEMD_INVOCATION_ID=$id"
}

# wait_for_journal_line UNIT LINE — the current invocation logged exactly LINE (fixed string).
wait_for_journal_line() {
  local unit=$1 line=$2
  tcs_wait_until 10 "$unit to log '$line'" _journal_has_line "$unit" "$line" || {
    journal_of_invocation "$unit" | sed 's/^/    /' >&2
    tcs_fail "$unit did not log the line '$line'"
  }
}
_journal_has_line() { journal_of_invocation "$1" | grep -Fxq -- "$2"; }

# expect_running_argv UNIT ARG… — the notifier running as UNIT's main process got exactly
# these arguments (argv[0] first), word by word.
expect_running_argv() {
  local unit=$1
  shift
  wait_for_journal_line "$unit" "tcs-systest argc=$#"
  local i=0 a
  for a in "$@"; do
    wait_for_journal_line "$unit" "tcs-systest argv[$i]=<$a>"
    i=$((i + 1))
  done
}

# ---- a config's services as bash tables ----------------------------------------------------------
# A test declares, per service id, what its config asks for; unset entries mean the documented
# default (restart "no", restart_sec 5, restart_max 0, restart_window 60, watchdog_sec 30,
# user tcs, enabled):
#   IDS=(id…)  EXE[id]  RESTART[id]  RESTART_SEC[id]  RESTART_MAX[id]  RESTART_WINDOW[id]
#   WATCHDOG[id]  USER_OF[id]  ENABLED[id]  AFTER[id]  REQUIRES[id]  ("id id…")
# and sets CONFIG_PATH (as the units see it), LAUNCHER (<short hostname>-systemd-launcher)
# and DEFAULT_BURST (the manager's DefaultStartLimitBurst).

type_of() { echo "${1%.*}"; }
variant_of() { echo "${1##*.}"; }
expected_restart_usec() { systemd_timespan "$(usec_of "${RESTART_SEC[$1]:-5}")"; }
expected_watchdog_usec() { systemd_timespan "$(usec_of "${WATCHDOG[$1]:-30}")"; }

# check_static_properties ID — every property of the loaded unit that the config sets (all
# but WatchdogUSec, which systemd 252 reports only once the unit has started).
check_static_properties() {
  local id=$1 unit type variant max
  unit=$(unit_of "$id")
  type=$(type_of "$id")
  variant=$(variant_of "$id")
  expect_prop "$unit" LoadState loaded
  expect_prop "$unit" Type notify
  expect_prop "$unit" Restart "${RESTART[$id]:-no}"
  expect_prop "$unit" RestartUSec "$(expected_restart_usec "$id")"
  max=${RESTART_MAX[$id]:-0}
  if ((max > 0)); then
    expect_prop "$unit" StartLimitBurst $((max + 1))  # restarts + the first start
    expect_prop "$unit" StartLimitIntervalUSec "$(systemd_timespan "$(usec_of "${RESTART_WINDOW[$id]:-60}")")"
  else
    expect_prop "$unit" StartLimitIntervalUSec 0  # 0 = no start limit at all
    expect_prop "$unit" StartLimitBurst "$DEFAULT_BURST"
  fi
  expect_prop "$unit" User "${USER_OF[$id]:-tcs}"
  expect_tcs_deps "$unit" After "${AFTER[$id]:-} ${REQUIRES[$id]:-}"
  expect_tcs_deps "$unit" Requires "${REQUIRES[$id]:-}"
  expect_exec_start "$unit" "${EXE[$id]}" "$CONFIG_PATH" "$variant" \
    --runner-id "$LAUNCHER.$type" --parent-name "launcher.$LAUNCHER" --no-banner
  local env word
  env=" $(show "$unit" Environment) "
  for word in "TCS_CONFIG=$CONFIG_PATH" "TCS_SERVICE_TYPE=$type" "TCS_VARIANT=$variant" \
    "TCS_SERVICE_ID=$id" "TCS_PARENT_NAME=launcher.$LAUNCHER" "TCS_RUNNER_ID=$LAUNCHER.$type"; do
    [[ "$env" == *" $word "* ]] || tcs_fail "$unit Environment lacks '$word': $env"
  done
}

# enabled_ids — the ids in IDS that are enabled (one per line).
enabled_ids() {
  local id
  for id in "${IDS[@]}"; do [[ "${ENABLED[$id]:-true}" == true ]] && echo "$id"; done
}

_has_uid() { journal_of_invocation "$1" | grep -q "^tcs-systest uid=$2 gid="; }

# check_running ID — the instance runs the notifier (tests/system/notifier.cpp) as configured:
# active, watchdog as asked, argv word by word, identity environment, user.
check_running() {
  local id=$1 unit type variant uid
  unit=$(unit_of "$id")
  type=$(type_of "$id")
  variant=$(variant_of "$id")
  expect_prop "$unit" ActiveState active
  expect_prop "$unit" SubState running
  expect_prop "$unit" WatchdogUSec "$(expected_watchdog_usec "$id")"
  expect_running_argv "$unit" "${EXE[$id]}" "$CONFIG_PATH" "$variant" \
    --runner-id "$LAUNCHER.$type" --parent-name "launcher.$LAUNCHER" --no-banner
  if [[ -n "${USER_OF[$id]:-}" ]]; then
    # user: sets User= only, so the template's Group=tcs stays: the gid is reported, not asserted.
    uid=$(tcs_exec id -u "${USER_OF[$id]}")
    tcs_wait_until 10 "$unit to report uid $uid" _has_uid "$unit" "$uid" ||
      tcs_fail "$unit does not run as ${USER_OF[$id]} (uid $uid): $(journal_of_invocation "$unit" | grep uid=)"
    tcs_log "$unit (user: ${USER_OF[$id]}) runs as $(journal_of_invocation "$unit" | sed -n 's/^tcs-systest //p' | grep '^uid=')" \
      "(gid $(tcs_exec id -g "${USER_OF[$id]}") is ${USER_OF[$id]}'s own group, $(tcs_exec id -g tcs) is tcs)"
  else
    wait_for_journal_line "$unit" "tcs-systest uid=$(tcs_exec id -u tcs) gid=$(tcs_exec id -g tcs)"
  fi
  wait_for_journal_line "$unit" "tcs-systest env <TCS_PARENT_NAME=launcher.$LAUNCHER>"
  wait_for_journal_line "$unit" "tcs-systest env <TCS_SERVICE_ID=$id>"
}

# units_boot_container — boot a container with the source and build dirs (and the notifier)
# bound, install the build, and set UNITGEN, TEMPLATE, HOST (the container's short hostname,
# what %l expands to) and LAUNCHER. Needs SOURCE_DIR, BUILD_DIR, NOTIFIER.
units_boot_container() {
  local binds=(--bind-ro="$SOURCE_DIR" --bind-ro="$BUILD_DIR")
  [[ "$NOTIFIER" == "$BUILD_DIR"/* ]] || binds+=(--bind-ro="$NOTIFIER")
  tcs_nspawn_start "${binds[@]}"
  tcs_nspawn_install "$BUILD_DIR"
  UNITGEN="$TCS_INSTALL_BINDIR/tcs-unitgen"
  TEMPLATE="$TCS_INSTALL_UNITDIR/tcs@.service"
  HOST=$(tcs_exec hostname -s)
  tcs_log "container short hostname (%l): $HOST"
  LAUNCHER="${HOST}-systemd-launcher"
}
