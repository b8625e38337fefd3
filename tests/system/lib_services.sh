# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# SC2317: functions polled through tcs_wait_until; SC2034: SERVICEDIR/UNITGEN are output.
# shellcheck disable=SC2317,SC2034
# Helpers for the system tests that run real tcs services (hello_world, test.*) under the
# container's systemd. Source after tests/support/nspawn.sh and lib_units.sh.

# services_boot_container — boot a container with the source and build dirs bound, install the
# build's runtime and tests components, and clear whatever tcs config the host's /etc shows.
# Sets SERVICEDIR (where `registry: {<type>: ~}` points) and UNITGEN. Needs SOURCE_DIR, BUILD_DIR.
services_boot_container() {
  tcs_nspawn_start --bind-ro="$SOURCE_DIR" --bind-ro="$BUILD_DIR"
  tcs_nspawn_install "$BUILD_DIR" runtime tests
  SERVICEDIR=$TCS_INSTALL_SERVICEDIR
  UNITGEN="$TCS_INSTALL_BINDIR/tcs-unitgen"
  local t
  for t in hello_world test.crash test.hang test.single_shot test.slow_start; do
    tcs_check "$SERVICEDIR/$t is installed" tcs_exec test -x "$SERVICEDIR/$t"
  done
  # The services link libtcs.so.<TCS_SOVERSION> from the libdir: the dynamic linker must find it.
  local missing
  missing=$(tcs_exec ldd "$SERVICEDIR/hello_world" 2>&1 | grep 'not found')
  [[ -z "$missing" ]] || tcs_fail "installed hello_world has unresolved libraries: $missing"
  tcs_check "clearing the host's tcs config from the overlay" tcs_sh '
    rm -rf /etc/tcs /etc/systemd/system/tcs@* /etc/systemd/system/tcs.target.wants && mkdir -p /etc/tcs'
}

# install_config FILE — FILE (on the host, in the test's temp dir) becomes the container's
# /etc/tcs/services.yaml, replaced in one rename as config management does: a supervisor (re)starting
# meanwhile reads the old or the new file, never a half-written one.
install_config() {
  tcs_check "installing $1 as /etc/tcs/services.yaml" \
    tcs_sh 'cat >/etc/tcs/.services.yaml.new && mv -f /etc/tcs/.services.yaml.new /etc/tcs/services.yaml' <"$1"
}

# start_unit UNIT — systemctl start, failing the test with the unit's status when it fails.
start_unit() {
  local out
  if ! out=$(tcs_exec timeout 60 systemctl start "$1" 2>&1); then
    tcs_exec systemctl status --no-pager "$1" >&2
    tcs_fail "systemctl start $1 failed: $out"
  fi
}

# unit_in UNIT PROPERTY VALUE… — the property has one of these values now (for polling).
unit_in() {
  local unit=$1 prop=$2 v
  shift 2
  v=$(show "$unit" "$prop")
  local want
  for want in "$@"; do [[ "$v" == "$want" ]] && return 0; done
  return 1
}

# unit_at_least UNIT PROPERTY N — a numeric property is ≥ N (for polling).
unit_at_least() {
  local v
  v=$(show "$1" "$2")
  [[ "$v" =~ ^[0-9]+$ ]] && ((v >= $3))
}

# wait_state TIMEOUT UNIT ACTIVESTATE — poll until ActiveState is ACTIVESTATE; fail otherwise.
wait_state() {
  tcs_wait_until "$1" "$2 to become $3" unit_in "$2" ActiveState "$3" || {
    tcs_exec systemctl status --no-pager "$2" >&2
    tcs_fail "$2 did not become $3 within $1 s (ActiveState=$(show "$2" ActiveState))"
  }
}

# unit_journal UNIT — the unit's journal this boot (-o cat: messages only).
unit_journal() { tcs_exec journalctl --no-pager -o cat -u "$1"; }
unit_journal_has() { unit_journal "$1" | grep -Fq -- "$2"; }

# wait_unit_journal TIMEOUT UNIT TEXT — the unit's journal contains TEXT (fixed string).
wait_unit_journal() {
  tcs_wait_until "$1" "$2's journal to contain '$3'" unit_journal_has "$2" "$3" || {
    unit_journal "$2" | tail -n 30 | sed 's/^/    /' >&2
    tcs_fail "journalctl -u $2 lacks '$3'"
  }
}

# expect_clean_exit UNIT — every run of UNIT so far ended with exit status 0 (Result=success).
# An inactive unit is garbage-collected right away and `systemctl show` then reports a fresh
# unit (Result=success, ExecMainCode=0 whatever happened), so this reads systemd's own
# messages: "Deactivated successfully." for a clean end, "Main process exited, code=…" (logged
# at notice level only for a non-zero status or a signal) and "Failed with result" otherwise.
expect_clean_exit() {
  local unit=$1
  wait_unit_journal 10 "$unit" "$unit: Deactivated successfully."
  local bad
  bad=$(unit_journal "$unit" | grep -E "^$unit: (Main process exited|Failed with result)")
  [[ -z "$bad" ]] || tcs_fail "$unit did not end cleanly: $bad"
}

# journal_export ARGS… — journalctl -o export inside the container (one FIELD=value line per
# field, records separated by an empty line; our fields are all text).
journal_export() { tcs_exec journalctl --no-pager -o export "$@"; }

# record_field MESSAGE FIELD — read an export stream on stdin; print every value of FIELD (one
# per line, in order) in the first record whose MESSAGE is exactly MESSAGE. A field that
# occurs twice in a record prints twice: callers compare against exactly one line.
record_field() {
  awk -v msg="$1" -v field="$2" '
    function flush() {
      if (!done && m == msg) { for (i = 1; i <= n; i++) print v[i]; done = 1 }
      n = 0; m = ""
    }
    /^$/ { flush(); next }
    {
      k = substr($0, 1, index($0, "=") - 1); val = substr($0, index($0, "=") + 1)
      if (k == "MESSAGE") m = val
      if (k == field) v[++n] = val
    }
    END { flush() }'
}

# record_monotonic MESSAGE — __MONOTONIC_TIMESTAMP (µs) of the first record with MESSAGE.
record_monotonic() { record_field "$1" __MONOTONIC_TIMESTAMP; }

# expect_record EXPORT MESSAGE FIELD EXPECTED — in the export text EXPORT, the first record
# with MESSAGE has FIELD exactly once, with value EXPECTED.
expect_record() {
  local export=$1 msg=$2 field=$3 expected=$4 got
  got=$(record_field "$msg" "$field" <<<"$export")
  [[ -n "$got" ]] || tcs_fail "no journal record '$msg' with a $field field"
  tcs_expect_eq "journal record '$msg': $field (every occurrence, one per line)" "$expected" "$got"
}

# source_line FILE TEXT — the line number of the only line of SOURCE_DIR/FILE containing TEXT
# (a log call's CODE_LINE, found independently of the runtime).
source_line() {
  local lines
  lines=$(grep -nF -- "$2" "$SOURCE_DIR/$1" | cut -d: -f1)
  [[ "$lines" =~ ^[0-9]+$ ]] || tcs_fail "expected exactly one line with '$2' in $1, got: ${lines:-none}"
  echo "$lines"
}

# main_pids_of UNIT — the distinct _PID values of the unit's own processes' records, in order.
main_pids_of() {
  journal_export "_SYSTEMD_UNIT=$1" | awk -F= '$1 == "_PID" && !seen[$2]++ { print $2 }'
}

# holds_for SECONDS DESCRIPTION CMD… — CMD keeps succeeding (polled every 0.1 s) for SECONDS:
# "nothing happens" checks, e.g. a unit stays failed. Fails the test as soon as CMD fails.
holds_for() {
  local secs=$1 what=$2
  shift 2
  local end=$(($(date +%s%N) + secs * 1000000000))
  while (($(date +%s%N) < end)); do
    "$@" || tcs_fail "$what stopped holding within ${secs}s"
    sleep 0.1
  done
}

# now_ms — host wall clock in ms (for durations).
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# start_nats_and_sniffer TOOL SNIFF_FILE [SNIFF_ARGS…] — a nats-server with JetStream on the
# container's 127.0.0.1:4222 (unit tcs-test-nats) and TOOL (tcs-systest-nats) subscribed to
# svc.> writing to SNIFF_FILE (unit tcs-test-sniff); returns once both are ready (the file
# appears only after the subscription is in place).
start_nats_and_sniffer() {
  local tool=$1 file=$2
  shift 2
  tcs_check "nats-server starts" tcs_exec systemd-run --unit=tcs-test-nats --property=Type=exec \
    nats-server -a 127.0.0.1 -p 4222 -js -sd /var/lib/tcs-test-nats
  _nats_up() { tcs_exec timeout 1 bash -c '</dev/tcp/127.0.0.1/4222' 2>/dev/null; }
  tcs_wait_until 20 "nats-server to listen" _nats_up || tcs_fail "nats-server did not come up"
  tcs_check "the sniffer starts" tcs_exec systemd-run --unit=tcs-test-sniff --property=Type=exec \
    "$tool" sub nats://127.0.0.1:4222 'svc.>' "$file" "$@"
  tcs_wait_until 10 "the sniffer to subscribe" tcs_exec test -f "$file" || tcs_fail "the sniffer did not subscribe"
}

# cgroup_setup_failed UNIT — true when UNIT's last start failed because systemd could not set up
# its cgroup (exit status 219/CGROUP) inside a cgroup v1 container. Under nspawn on a cgroup v1
# host the kernel sometimes has not removed a killed process's cgroup yet when systemd creates
# the next one (seen in CI and here); a cgroup v2 host does not do this. Callers restart the unit
# once, saying so, rather than failing on the environment.
cgroup_setup_failed() {
  [[ "$(tcs_exec stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]] &&
    [[ "$(tcs_exec systemctl show -P ExecMainStatus "$1")" == 219 ]] &&
    [[ "$(tcs_exec systemctl show -P ActiveState "$1")" == failed ]]
}

# restart_after_cgroup_failure UNIT — if cgroup_setup_failed UNIT: log it, reset-failed, start.
restart_after_cgroup_failure() {
  cgroup_setup_failed "$1" || return 1
  tcs_log "cgroup v1 environment: systemd could not set up $1's cgroup (219/CGROUP); starting it again"
  tcs_exec systemctl reset-failed "$1"
  tcs_exec timeout 60 systemctl start "$1"
}
