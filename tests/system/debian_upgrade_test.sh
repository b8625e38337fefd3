#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system tier: upgrading the Debian packages in a throwaway systemd 252 container.
#   install VERSION, configure an enabled and a disabled service, enable --now tcs.target →
#   apt install of UPGRADE_VERSION keeps /etc/tcs/services.yaml, restarts the supervisor and the
#   running instance (new PID, active), leaves the stopped one stopped, tcs.target active and
#   enabled, nothing failed.
# Usage: debian_upgrade_test.sh SOURCE_DIR BUILD_DIR [NOTIFIER]
# The .debs: $TCS_DEB_DIR (default SOURCE_DIR/build-deb), VERSION from debian/changelog and
# UPGRADE_VERSION = $TCS_DEB_UPGRADE_VERSION (default VERSION+t1), built with
#   scripts/build-debs.sh && TCS_DEB_VERSION=<VERSION>+t1 scripts/build-debs.sh
# Skipped (77) when either set is missing.
# SC2016: scripts expand in the container.
# shellcheck disable=SC2016
set -uo pipefail
SOURCE_DIR=$1
# shellcheck source=../support/nspawn.sh
source "$SOURCE_DIR/tests/support/nspawn.sh"

tcs_nspawn_init debian_upgrade
command -v nats-server >/dev/null || tcs_skip "nats-server is not installed (scripts/setup.sh)"
command -v dpkg-parsechangelog >/dev/null || tcs_skip "dpkg-parsechangelog is missing (dpkg-dev)"
DEB_DIR=${TCS_DEB_DIR:-$SOURCE_DIR/build-deb}
FROM=$(dpkg-parsechangelog -l "$SOURCE_DIR/debian/changelog" -S Version) ||
  tcs_fail "cannot read the version of $SOURCE_DIR/debian/changelog"
TO=${TCS_DEB_UPGRADE_VERSION:-$FROM+t1}
ARCH=$(dpkg --print-architecture)
# The library package is named after the soname (libtcsN, TCS_SOVERSION): take it from debian/control.
LIBPKG=$(sed -n 's/^Package: \(libtcs[0-9][0-9]*\)$/\1/p' "$SOURCE_DIR/debian/control")
[[ -n "$LIBPKG" ]] || tcs_fail "no libtcsN package in $SOURCE_DIR/debian/control"
debs() {  # debs VERSION — the container paths of the packages of VERSION
  local p f
  for p in "$LIBPKG" tcs tcs-examples; do
    f="${p}_$1_${ARCH}.deb"
    [[ -f "$DEB_DIR/$f" ]] ||
      tcs_skip "$DEB_DIR/$f not found: build it (TCS_DEB_VERSION=$1 scripts/build-debs.sh)"
    printf '/opt/tcs-debs/%s\n' "$f"
  done
}
mapfile -t FROM_DEBS < <(debs "$FROM")
mapfile -t TO_DEBS < <(debs "$TO")
((${#FROM_DEBS[@]} == 3 && ${#TO_DEBS[@]} == 3)) || tcs_skip "packages of $FROM or $TO missing in $DEB_DIR"

tcs_nspawn_start --bind-ro="$DEB_DIR:/opt/tcs-debs"
cx() { tcs_exec "$@"; }
# A build machine image may forbid maintainer scripts to start services (policy-rc.d).
tcs_check "removing policy-rc.d in the container" cx rm -f /usr/sbin/policy-rc.d
tcs_check "nats-server starts" cx systemd-run --unit=tcs-test-nats --property=Type=exec \
  nats-server -a 127.0.0.1 -p 4222 -js -sd /run/tcs-test-nats
_nats_up() { cx timeout 1 bash -c '</dev/tcp/127.0.0.1/4222' 2>/dev/null; }
tcs_wait_until 20 "nats-server to listen" _nats_up || tcs_fail "nats-server did not come up"

apt_install() {  # apt_install LOG DEB...
  local log=$1
  shift
  if ! cx env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" \
    >"$TCS_TEST_TMPDIR/$log" 2>&1; then
    cat "$TCS_TEST_TMPDIR/$log" >&2
    tcs_fail "apt-get install $* failed"
  fi
}
tcs_log "installing $FROM"
apt_install install.log "${FROM_DEBS[@]}"
tcs_sh 'cat >/etc/tcs/services.yaml' <<'EOF' || tcs_fail "writing /etc/tcs/services.yaml failed"
# debian_upgrade_test.sh
nats: {host: 127.0.0.1, port: 4222, required: false}
registry: {hello_world: ~, examples.basic: ~}
services:
  - {type: hello_world, variant: main, interval: 1, restart: on-failure}
  - {type: examples.basic, variant: tutorial, interval: 1, restart: on-failure, enabled: false}
EOF
tcs_check "daemon-reload" cx systemctl daemon-reload
tcs_check "restart tcs-supervisor" cx timeout 30 systemctl restart tcs-supervisor.service
tcs_check "enable --now tcs.target" cx timeout 60 systemctl enable --now tcs.target
HW=tcs@hello_world:main.service
pid() { cx systemctl show -P MainPID "$1"; }
hw_before=$(pid "$HW")
sup_before=$(pid tcs-supervisor.service)
conf_before=$(cx md5sum /etc/tcs/services.yaml)
[[ "$hw_before" =~ ^[1-9][0-9]*$ ]] || tcs_fail "$HW is not running before the upgrade"
tcs_expect_eq "examples.basic (enabled: false) before the upgrade" inactive \
  "$(cx systemctl is-active tcs@examples.basic:tutorial.service)"

tcs_log "upgrading to $TO"
apt_install upgrade.log "${TO_DEBS[@]}"
tcs_expect_eq "tcs version after the upgrade" "$TO" "$(cx dpkg-query -W -f='${Version}' tcs)"
tcs_expect_eq "the config after the upgrade" "$conf_before" "$(cx md5sum /etc/tcs/services.yaml)"
for u in tcs-supervisor.service "$HW" tcs.target; do
  tcs_expect_eq "$u after the upgrade" active "$(cx systemctl is-active "$u")"
done
tcs_expect_eq "tcs.target stays enabled" enabled "$(cx systemctl is-enabled tcs.target)"
hw_after=$(pid "$HW")
sup_after=$(pid tcs-supervisor.service)
[[ "$hw_after" != "$hw_before" ]] || tcs_fail "$HW was not restarted by the upgrade (pid $hw_after)"
[[ "$sup_after" != "$sup_before" ]] || tcs_fail "tcs-supervisor was not restarted by the upgrade"
tcs_expect_eq "examples.basic (stopped) stays stopped" inactive \
  "$(cx systemctl is-active tcs@examples.basic:tutorial.service)"
failed=$(cx systemctl --failed --plain --no-legend --no-pager)
[[ -z "$failed" ]] || tcs_fail "units failed after the upgrade: $failed"
tcs_log "hello_world pid $hw_before → $hw_after, supervisor $sup_before → $sup_after"
tcs_pass
