#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system tier: the Debian packages (debian/, built by scripts/build-debs.sh) installed with apt
# into a throwaway systemd 252 container, as on a telescope host:
#   install → users created, tcs-supervisor and tcs-web enabled and active (tcs-web serving the
#   page, read-only), tcs.target neither enabled nor started, nothing failed; the shipped /etc/tcs/services.yaml configures nothing; the
#   autopkgtests debian/tests/{smoke,consumer} pass (find_package(tcs) and pkg-config);
#   a config naming hello_world and two tutorial services → daemon-reload (the generator) →
#   systemctl enable --now tcs.target → every instance active; journalctl -u shows records;
#   tcsctl shows the fleet under the host's launcher, tcs-web's /api/services the same ids; tcs-unitgen --check of a broken config
#   exits 1 naming file:line and changes nothing;
#   remove → no tcs process, no tcs unit loaded or failed; purge → the file system (/etc, /usr,
#   /var/lib, the generator output) and the unit list are as before the install, and no file
#   belongs to the tcs users.
# Usage: debian_install_test.sh SOURCE_DIR BUILD_DIR [NOTIFIER]
# The .debs are looked for in $TCS_DEB_DIR (default SOURCE_DIR/build-deb), with the version of
# SOURCE_DIR/debian/changelog; without them the test is skipped (77): build them with
# scripts/build-debs.sh.
# SC2317: functions are polled through tcs_wait_until; SC2016: scripts expand in the container.
# shellcheck disable=SC2317,SC2016
set -uo pipefail
SOURCE_DIR=$1
# shellcheck source=../support/nspawn.sh
source "$SOURCE_DIR/tests/support/nspawn.sh"

tcs_nspawn_init debian_install
command -v jq >/dev/null || tcs_skip "jq is not installed (scripts/setup.sh)"
command -v nats-server >/dev/null || tcs_skip "nats-server is not installed (scripts/setup.sh)"
command -v dpkg-parsechangelog >/dev/null || tcs_skip "dpkg-parsechangelog is missing (dpkg-dev)"
DEB_DIR=${TCS_DEB_DIR:-$SOURCE_DIR/build-deb}
VERSION=$(dpkg-parsechangelog -l "$SOURCE_DIR/debian/changelog" -S Version) ||
  tcs_fail "cannot read the version of $SOURCE_DIR/debian/changelog"
ARCH=$(dpkg --print-architecture)
# The library package is named after the soname (libtcsN, TCS_SOVERSION): take it from debian/control.
LIBPKG=$(sed -n 's/^Package: \(libtcs[0-9][0-9]*\)$/\1/p' "$SOURCE_DIR/debian/control")
[[ -n "$LIBPKG" ]] || tcs_fail "no libtcsN package in $SOURCE_DIR/debian/control"
PACKAGES=("$LIBPKG" libtcs-dev tcs tcs-examples tcs-web)
DEBS=()
for p in "${PACKAGES[@]}"; do
  f="${p}_${VERSION}_${ARCH}.deb"
  [[ -f "$DEB_DIR/$f" ]] ||
    tcs_skip "$DEB_DIR/$f not found: build the packages first (scripts/build-debs.sh), or set TCS_DEB_DIR"
  DEBS+=("/opt/tcs-debs/$f")
done

tcs_nspawn_start --bind-ro="$DEB_DIR:/opt/tcs-debs" --bind-ro="$SOURCE_DIR:/opt/tcs-src"
cx() { tcs_exec "$@"; }

# ---- the state before -------------------------------------------------------------------------
# A build machine image may forbid maintainer scripts to start services (policy-rc.d exit 101,
# which deb-systemd-invoke honours); a telescope host does not. Only the overlay changes.
tcs_check "removing policy-rc.d in the container" cx rm -f /usr/sbin/policy-rc.d
# What install + purge may not change: files under these roots (the package manager's own
# state, logs and caches excluded, and logind's linger dir: apt's D-Bus calls start logind),
# the loaded units, the unit files.
SNAP_SCRIPT='
  find /etc /usr /var/lib /run/systemd/generator /run/systemd/generator.late -xdev 2>/dev/null |
    grep -Ev "^/var/lib/(dpkg|apt|PackageKit|systemd/(catalog|timers|coredump|linger))(/|$)|^/etc/ld\.so\.cache$|^/var/lib/ucf(/|$)|^/etc/(passwd|group|shadow|gshadow|subuid|subgid)-$" |
    sort'
snapshot() {  # snapshot NAME
  tcs_sh "$SNAP_SCRIPT" >"$TCS_TEST_TMPDIR/$1.files" || tcs_fail "file system snapshot $1 failed"
  # A unit left "not-found inactive" is only a reference PID 1 has not collected yet (e.g. one
  # whose cgroup removal it retries), not something installed or running: not counted. Nor is
  # an inactive slice: such an instance keeps its implicit slice (system-tcs.slice, which has
  # no unit file) loaded, and a daemon-reload loads it again (seen once in CI, on cgroup v1,
  # after "Failed to kill control group ...: Input/output error"). An inactive slice holds no
  # process; a slice file tcs shipped would show in the unit files' diff.
  cx systemctl list-units --all --plain --no-legend --no-pager |
    awk '!($2 == "not-found" && $3 == "inactive") && !($1 ~ /\.slice$/ && $3 == "inactive") {print $1}' |
    grep -v '^session-' |
    sort >"$TCS_TEST_TMPDIR/$1.units"
  cx systemctl list-unit-files --no-legend --no-pager | awk '{print $1}' | sort >"$TCS_TEST_TMPDIR/$1.unitfiles"
}
snapshot before
# What the operator (this test) adds beside the packages and keeps after purge: the JetStream
# drop-in for the nats-server package, its store, the observatory's own service.
OPERATOR_FILES='/etc/systemd/system/nats-server\.service\.d|/var/lib/nats-server|/opt/observatory'
NATS_DROPIN_SRC=/usr/share/doc/tcs/examples/nats-server-jetstream.conf

# ---- install ---------------------------------------------------------------------------------
tcs_log "apt-get install ${DEBS[*]}"
if ! cx env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${DEBS[@]}" \
  >"$TCS_TEST_TMPDIR/install.log" 2>&1; then
  cat "$TCS_TEST_TMPDIR/install.log" >&2
  tcs_fail "apt-get install of the packages failed"
fi
for p in "${PACKAGES[@]}"; do
  st=$(cx dpkg-query -W -f='${Status} ${Version}' "$p")
  tcs_expect_eq "dpkg status of $p" "install ok installed $VERSION" "$st"
done
tcs_check "user tcs exists" cx id tcs
tcs_check "user tcs-supervisor exists, in groups tcs and systemd-journal" \
  tcs_sh 'id -nG tcs-supervisor | tr " " "\n" | grep -qx tcs && id -nG tcs-supervisor | tr " " "\n" | grep -qx systemd-journal'
sup_active() { [[ "$(cx systemctl is-active tcs-supervisor.service)" == active ]]; }
tcs_wait_until 30 "tcs-supervisor to be active" sup_active || {
  cx systemctl status --no-pager tcs-supervisor.service >&2
  tcs_fail "tcs-supervisor is not active after the install"
}
tcs_expect_eq "tcs-supervisor is enabled" enabled "$(cx systemctl is-enabled tcs-supervisor.service)"
tcs_expect_eq "tcs.target is not enabled by the install" disabled "$(cx systemctl is-enabled tcs.target)"
tcs_expect_eq "tcs.target is not started by the install" inactive "$(cx systemctl is-active tcs.target)"
web_active() { [[ "$(cx systemctl is-active tcs-web.service)" == active ]]; }
tcs_wait_until 30 "tcs-web to be active" web_active || {
  cx systemctl status --no-pager tcs-web.service >&2
  tcs_fail "tcs-web is not active after the install"
}
tcs_expect_eq "tcs-web is enabled" enabled "$(cx systemctl is-enabled tcs-web.service)"
tcs_check "tcs-web serves the page on 127.0.0.1:8470" tcs_sh 'curl -sf http://127.0.0.1:8470/ | grep -qi "<html"'
tcs_expect_eq "tcs-web is read-only by default" false "$(cx curl -s http://127.0.0.1:8470/api/config | jq -r .control)"
tcs_check "the shipped config is a conffile" \
  tcs_sh 'dpkg-query -W -f="\${Conffiles}" tcs | grep -q "^ /etc/tcs/services.yaml "'
tcs_check "the shipped config is valid" cx tcs-unitgen --check /etc/tcs/services.yaml
n=$(cx tcs-unitgen --dry-run /etc/tcs/services.yaml | grep -c '^tcs@' || true)
tcs_expect_eq "the shipped config configures no service" 0 "$n"
failed=$(cx systemctl --failed --plain --no-legend --no-pager)
[[ -z "$failed" ]] || tcs_fail "units failed after the install: $failed"
tcs_check "man pages installed" cx test -f /usr/share/man/man1/tcs-unitgen.1.gz -a -f /usr/share/man/man5/services.yaml.5.gz
tcs_check "the docs the units point at are uncompressed" cx test -f /usr/share/doc/tcs/units.md

# The autopkgtests (debian/tests) against the installed packages: the smoke test, and a
# service built against the installed libtcs-dev with find_package(tcs) and with pkg-config.
for t in smoke consumer; do
  if ! cx sh "/opt/tcs-src/debian/tests/$t" >"$TCS_TEST_TMPDIR/autopkgtest-$t.log" 2>&1; then
    cat "$TCS_TEST_TMPDIR/autopkgtest-$t.log" >&2
    tcs_fail "autopkgtest $t failed"
  fi
  tcs_log "autopkgtest $t: $(tail -n 1 "$TCS_TEST_TMPDIR/autopkgtest-$t.log")"
done

# ---- NATS: Debian's nats-server (tcs Recommends it) with the JetStream drop-in tcs ships -------
# As README.Debian tells an operator of a host with its own NATS. The package's unit listens
# on 127.0.0.1:4222 (/etc/nats-server.conf) and runs as user nats.
tcs_check "the JetStream drop-in is shipped" cx test -f "$NATS_DROPIN_SRC"
tcs_check "installing the JetStream drop-in" \
  cx install -D -m 644 "$NATS_DROPIN_SRC" /etc/systemd/system/nats-server.service.d/jetstream.conf
tcs_check "daemon-reload for the drop-in" cx systemctl daemon-reload
tcs_check "systemctl restart nats-server" cx timeout 30 systemctl restart nats-server.service
_nats_up() { cx timeout 1 bash -c '</dev/tcp/127.0.0.1/4222' 2>/dev/null; }
tcs_wait_until 20 "nats-server to listen" _nats_up || {
  cx journalctl -u nats-server --no-pager -n 20 >&2
  tcs_fail "nats-server did not come up with the drop-in"
}
tcs_check "nats-server runs with JetStream (its store in /var/lib/nats-server)" \
  cx test -d /var/lib/nats-server/jetstream

# ---- an observatory's own service: tests/consumer against the INSTALLED libtcs-dev ------------
# Built with find_package(tcs) and, separately, with pkg-config; the first is installed under
# /opt and referenced by path in the registry below.
EXT_TYPE=dome_follower_svc.dome_follower
cx cp -r /opt/tcs-src/tests/consumer/project /tmp/consumer
if ! cx sh -c 'cmake -S /tmp/consumer -B /tmp/consumer/build && cmake --build /tmp/consumer/build' \
  >"$TCS_TEST_TMPDIR/consumer-build.log" 2>&1; then
  cat "$TCS_TEST_TMPDIR/consumer-build.log" >&2
  tcs_fail "tests/consumer does not build against the installed libtcs-dev (find_package)"
fi
tcs_check "tests/consumer builds with pkg-config" tcs_sh \
  'g++ -std=c++20 -o /tmp/consumer/dome_follower_pc /tmp/consumer/main.cpp $(pkg-config --cflags --libs tcs)'
tcs_check "the pkg-config build runs" tcs_sh \
  'printf "services:\n  - {type: '"$EXT_TYPE"', variant: pc, cycles: 1}\n" >/tmp/consumer/pc.yaml &&
   /tmp/consumer/dome_follower_pc /tmp/consumer/pc.yaml pc --no-banner 2>&1 | grep -q "following the dome at 30 deg/s"'
tcs_check "installing the find_package build as /opt/observatory/bin/dome_follower" \
  cx install -D -m 755 /tmp/consumer/build/dome_follower /opt/observatory/bin/dome_follower

# ---- configure and start ---------------------------------------------------------------------
tcs_sh 'cat >/etc/tcs/services.yaml' <<'EOF' || tcs_fail "writing /etc/tcs/services.yaml failed"
# debian_install_test.sh
nats: {host: 127.0.0.1, port: 4222, required: false}
registry:
  hello_world: ~
  examples.basic: ~
  examples.monitoring: ~
  dome_follower_svc.dome_follower: /opt/observatory/bin/dome_follower
services:
  - {type: hello_world, variant: main, interval: 1, restart: on-failure}
  - {type: examples.basic, variant: tutorial, interval: 1, restart: on-failure}
  - {type: examples.monitoring, variant: tutorial, restart: on-failure}
  - {type: dome_follower_svc.dome_follower, variant: main, dome_speed: 12.5, restart: on-failure}
EOF
INSTANCES=(tcs@hello_world:main.service tcs@examples.basic:tutorial.service tcs@examples.monitoring:tutorial.service
  "tcs@$EXT_TYPE:main.service")
tcs_check "daemon-reload (the generator)" cx systemctl daemon-reload
# The supervisor started without a nats: section (the shipped config has none); a reload
# re-reads the services but keeps the NATS connection it has, so the first configuration
# needs a restart (README.md, "Production"); before the services start, so that the
# JetStream streams it creates hold their first status.
tcs_check "systemctl restart tcs-supervisor" cx timeout 30 systemctl restart tcs-supervisor.service
sup_active || tcs_fail "tcs-supervisor is not active after its restart"
tcs_check "systemctl enable --now tcs.target" cx timeout 90 systemctl enable --now tcs.target
for u in "${INSTANCES[@]}"; do
  st=$(cx systemctl is-active "$u")
  [[ "$st" == active ]] || { cx systemctl status --no-pager "$u" >&2; tcs_fail "$u is $st, not active"; }
done
has_records() { [[ -n "$(cx journalctl -u tcs@hello_world:main.service -o cat --no-pager -n 5)" ]]; }
tcs_wait_until 15 "journal records of tcs@hello_world:main" has_records ||
  tcs_fail "journalctl -u tcs@hello_world:main shows nothing"

LAUNCHER="$(cx hostname -s)-systemd-launcher"
field() { cx tcsctl --json --all | jq -r --arg id "$1" ".services[] | select(.id == \$id) | $2"; }
fleet_ok() {
  [[ "$(field "launcher.$LAUNCHER" .running)" == true && "$(field hello_world.main .status)" == ok &&
    "$(field examples.basic.tutorial .running)" == true && "$(field examples.monitoring.tutorial .running)" == true &&
    "$(field "$EXT_TYPE.main" .status)" == ok && "$(field "$EXT_TYPE.main" .parent)" == "launcher.$LAUNCHER" ]]
}
tcs_wait_until 30 "tcsctl to show the launcher and its four services running" fleet_ok || {
  cx tcsctl --all --detailed >&2
  cx journalctl -u tcs-supervisor --no-pager -n 20 >&2
  tcs_fail "tcsctl does not show the fleet"
}
tcs_log "tcsctl:"$'\n'"$(cx tcsctl)"
tcs_expect_eq "tcsctl read the fleet from JetStream" true "$(cx tcsctl --json | jq -r .jetstream)"
ext_logged() { cx journalctl -u "tcs@$EXT_TYPE:main.service" -o cat --no-pager | grep -q 'following the dome at 12.5 deg/s'; }
tcs_wait_until 15 "the external service's records in its unit's journal" ext_logged ||
  tcs_fail "journalctl -u tcs@$EXT_TYPE:main shows no record of the service"
tcs_expect_eq "the external service runs the registry's binary" /opt/observatory/bin/dome_follower \
  "$(cx systemctl show -P ExecStart "tcs@$EXT_TYPE:main.service" | sed -n 's/.*path=\([^ ;]*\).*/\1/p')"
tcs_check "tcsctl logs reaches the external service's journal" tcs_sh \
  "tcsctl logs $EXT_TYPE.main -n 3 | grep -q 'following the dome'"
# tcs-web (started before NATS had anything) shows the same fleet as tcsctl --json.
web_ids() { cx curl -s 'http://127.0.0.1:8470/api/services?all=1' | jq -c '[.services[].id] | sort'; }
ctl_ids() { cx tcsctl --json --all | jq -c '[.services[].id] | sort'; }
same_fleet() { [[ "$(web_ids)" == "$(ctl_ids)" ]] && web_ids | grep -q "$EXT_TYPE.main"; }
tcs_wait_until 30 "tcs-web to list the fleet tcsctl lists" same_fleet ||
  tcs_fail "tcs-web lists $(web_ids), tcsctl $(ctl_ids)"

# A broken config: --check names file:line and nothing changes.
tcs_sh 'printf "services:\n  - type: hello_world\n    variant: [oops\n" >/tmp/broken.yaml'
out=$(cx tcs-unitgen --check /tmp/broken.yaml 2>&1)
tcs_expect_eq "tcs-unitgen --check of a broken config exits" 1 "$?"
[[ "$out" == *"/tmp/broken.yaml:"[0-9]* ]] || tcs_fail "the error does not name file:line: $out"
for u in "${INSTANCES[@]}"; do
  tcs_expect_eq "$u still active after the broken check" active "$(cx systemctl is-active "$u")"
done

# ---- remove ----------------------------------------------------------------------------------
if ! cx env DEBIAN_FRONTEND=noninteractive apt-get remove -y "${PACKAGES[@]}" >"$TCS_TEST_TMPDIR/remove.log" 2>&1; then
  cat "$TCS_TEST_TMPDIR/remove.log" >&2
  tcs_fail "apt-get remove failed"
fi
no_tcs_processes() { ! cx pgrep -u tcs,tcs-supervisor >/dev/null && ! cx pgrep -x tcs-web >/dev/null; }
tcs_wait_until 30 "every tcs process to end" no_tcs_processes || {
  cx ps -o pid,user,args -u tcs,tcs-supervisor >&2
  cx pgrep -a -x tcs-web >&2
  tcs_fail "tcs processes are left running after remove"
}
# Only a reference may remain: the operator's `systemctl enable tcs.target` link is kept until
# purge (Debian keeps a removed service's enablement), so tcs.target may show as not-found.
loaded=$(cx systemctl list-units --all --plain --no-legend --no-pager 'tcs@*' 'tcs.target' 'tcs-supervisor.service' 'tcs-web.service' |
  awk '!($2 == "not-found" && $3 == "inactive")')
[[ -z "$loaded" ]] || tcs_fail "tcs units still loaded or active after remove: $loaded"
failed=$(cx systemctl --failed --plain --no-legend --no-pager)
[[ -z "$failed" ]] || tcs_fail "units failed after remove: $failed"
tcs_check "the config is kept by remove" cx test -f /etc/tcs/services.yaml

# ---- purge -----------------------------------------------------------------------------------
# dpkg, not apt: packages installed from local files and already removed (those without
# conffiles) are unknown to apt's lists.
if ! cx dpkg --purge "${PACKAGES[@]}" >"$TCS_TEST_TMPDIR/purge.log" 2>&1; then
  cat "$TCS_TEST_TMPDIR/purge.log" >&2
  tcs_fail "dpkg --purge failed"
fi
for p in "${PACKAGES[@]}"; do
  st=$(cx dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)
  [[ -z "$st" || "$st" == "un "* || "$st" == "pn "* ]] || tcs_fail "$p is '$st' after purge, not gone"
done
tcs_check "daemon-reload after purge" cx systemctl daemon-reload
tcs_check "stopping nats-server" cx timeout 30 systemctl stop nats-server.service
snapshot after
for kind in files units unitfiles; do
  diff "$TCS_TEST_TMPDIR/before.$kind" "$TCS_TEST_TMPDIR/after.$kind" | grep -E '^[<>]' |
    grep -Ev "$OPERATOR_FILES" >"$TCS_TEST_TMPDIR/$kind.diff"
  if [[ $kind == files ]]; then
    bad=$(cat "$TCS_TEST_TMPDIR/$kind.diff")
  else
    # Peers that D-Bus activates while tcs runs (polkit for the supervisor) may stay loaded;
    # no unit of tcs may.
    bad=$(grep -i 'tcs' "$TCS_TEST_TMPDIR/$kind.diff")
    other=$(grep -vi 'tcs' "$TCS_TEST_TMPDIR/$kind.diff")
    [[ -z "$other" ]] || tcs_log "other $kind changed while tcs was installed (not tcs's):"$'\n'"$other"
  fi
  if [[ -n "$bad" ]]; then
    [[ $kind == units ]] && cx systemctl list-units --all --plain --no-legend --no-pager 'tcs*' '*-tcs*' >&2
    tcs_fail "install + purge changed the $kind (< before, > after):"$'\n'"$bad"
  fi
done
owned=$(tcs_sh 'for u in tcs tcs-supervisor; do find / -xdev -user "$u" 2>/dev/null; done')
[[ -z "$owned" ]] || tcs_fail "files of the tcs users remain after purge: $owned"
tcs_pass
