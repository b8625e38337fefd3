#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system tier: NATS secrets handed to services through systemd's LoadCredential= (written by
# tcs-unitgen) instead of being readable by the service's user in /etc.
#   nats_credentials_test.sh SOURCE_DIR BUILD_DIR [NOTIFIER (unused)]
# A nats-server in the container knows a user `hello` whose password only /etc/tcs/hello.password
# holds, and an NKey user whose seed only /etc/tcs/hello.nk holds; both files are 0600 root:root.
# Two hello_world instances use them (their own nats: with password_file / a relative
# nkey_seed_file). Checks: the LoadCredential property (D-Bus) names the credential and the
# absolute path; the `tcs` user cannot read either file; both instances start (nats.required:
# they are READY only once connected) and their status arrives on NATS; the service logged at
# DEBUG that it used the systemd credential; the credential is in /run/credentials/<unit>/.
# The no-auth user the sniffer connects as may not publish svc.>: a status on NATS proves the
# instance authenticated as its own user. A third instance whose LoadCredential= an admin drop-in
# clears (an empty assignment) fails to start: its user cannot read the file; one whose credential
# file does not exist is refused by systemd (status=243/CREDENTIALS). The supervisor connects with
# the top-level section's password file (0600 root:root too) through the generated
# tcs-supervisor.service.d/50-tcs.conf: its launcher status on NATS proves it authenticated.
# A fifth instance's password file is `systemd-creds encrypt` output (*.cred): the unit gets
# LoadCredentialEncrypted= (not LoadCredential=), systemd decrypts it, and the instance publishes.
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

tcs_nspawn_init nats_credentials
command -v nats-server >/dev/null || tcs_skip "nats-server is not installed (scripts/setup.sh)"
TOOL="$BUILD_DIR/tests/system/tcs-systest-nats"
[[ -x "$TOOL" ]] || tcs_fail "$TOOL is missing: build first"
SNIFF=/run/tcs-sniff.log
# The NKey pair of tests/integration/nats_connection_test.cpp (a test key, nothing else).
SEED=SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY
PUBLIC=UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4
PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
[[ -n "$PASSWORD" ]] || tcs_fail "no random password"

CONFIG="$TCS_TEST_TMPDIR/services.yaml"
cat >"$CONFIG" <<'EOF'
# system test config (nats_credentials_test.sh)
nats: {host: 127.0.0.1, port: 4222, required: true, user: supervisor, password_file: /etc/tcs/supervisor.password}
registry:
  hello_world: ~
services:
  - type: hello_world
    variant: pw
    interval: 1
    log_level: DEBUG
    nats: {user: hello, password_file: /etc/tcs/hello.password}
  - type: hello_world
    variant: bare         # its generated LoadCredential= cleared by an admin drop-in
    interval: 1
    nats: {user: hello, password_file: /etc/tcs/hello.password}
  - type: hello_world
    variant: missing      # a credential file that does not exist: systemd refuses the start
    interval: 1
    nats: {user: hello, password_file: /etc/tcs/missing.password}
  - type: hello_world
    variant: nk
    interval: 1
    log_level: DEBUG
    nats: {nkey_seed_file: hello.nk}      # relative: /etc/tcs/hello.nk
  - type: hello_world
    variant: enc          # systemd-creds output (*.cred): LoadCredentialEncrypted=
    interval: 1
    log_level: DEBUG
    nats: {user: hello, password_file: /etc/credstore.encrypted/hello.password.cred}
EOF
NATS_CONF="$TCS_TEST_TMPDIR/nats-server.conf"
cat >"$NATS_CONF" <<EOF
listen: 127.0.0.1:4222
jetstream { store_dir: /var/lib/tcs-test-nats }
no_auth_user: sniffer
authorization {
  users: [
    {user: sniffer, password: "sniffer-$PASSWORD", permissions: {publish: {deny: ["svc.>"]}}}
    {user: hello, password: "$PASSWORD"}
    {user: supervisor, password: "supervisor-$PASSWORD"}
    {nkey: $PUBLIC}
  ]
}
EOF
PW=tcs@hello_world:pw.service
BARE=tcs@hello_world:bare.service
MISSING=tcs@hello_world:missing.service
NK=tcs@hello_world:nk.service
ENC=tcs@hello_world:enc.service

services_boot_container
install_config "$CONFIG"
tcs_check "the password file, 0600 root:root" tcs_sh \
  'umask 077 && printf "%s\n" "$1" >/etc/tcs/hello.password && chown root:root /etc/tcs/hello.password' "$PASSWORD"
tcs_check "the NKey seed file, 0600 root:root" tcs_sh \
  'umask 077 && printf "%s\n" "$1" >/etc/tcs/hello.nk && chown root:root /etc/tcs/hello.nk' "$SEED"
tcs_check "the supervisor's password file, 0600 root:root" tcs_sh \
  'umask 077 && printf "supervisor-%s\n" "$1" >/etc/tcs/supervisor.password && chown root:root /etc/tcs/supervisor.password' "$PASSWORD"
# The same password encrypted with the host's credential key (no TPM needed), under the name the
# generated LoadCredentialEncrypted= asks for: systemd decrypts it for the unit only.
tcs_check "the encrypted password file (systemd-creds encrypt)" tcs_sh \
  'mkdir -p /etc/credstore.encrypted && printf "%s\n" "$1" |
     systemd-creds encrypt --name=nats.password --with-key=host - /etc/credstore.encrypted/hello.password.cred' "$PASSWORD"
if tcs_exec grep -qF "$PASSWORD" /etc/credstore.encrypted/hello.password.cred; then
  tcs_fail "the encrypted file holds the password in clear"
fi
tcs_expect_eq "hello.password mode" "600 root:root" "$(tcs_exec stat -c '%a %U:%G' /etc/tcs/hello.password)"
tcs_expect_eq "hello.nk mode" "600 root:root" "$(tcs_exec stat -c '%a %U:%G' /etc/tcs/hello.nk)"
tcs_check "the service user exists" tcs_exec id tcs
for f in /etc/tcs/hello.password /etc/tcs/hello.nk; do
  if tcs_exec runuser -u tcs -- cat "$f" >/dev/null 2>&1; then tcs_fail "the tcs user can read $f"; fi
done
if tcs_exec runuser -u tcs-supervisor -- cat /etc/tcs/supervisor.password >/dev/null 2>&1; then
  tcs_fail "the tcs-supervisor user can read /etc/tcs/supervisor.password"
fi
tcs_log "the tcs user cannot read /etc/tcs/hello.password nor /etc/tcs/hello.nk; tcs-supervisor cannot read its own file"

# ---- NATS with the two users, and a sniffer as the no-auth user -----------------------------------
tcs_check "the nats-server config" tcs_sh 'cat >/etc/tcs-test-nats.conf' <"$NATS_CONF"
tcs_check "nats-server starts" tcs_exec systemd-run --unit=tcs-test-nats --property=Type=exec \
  nats-server -c /etc/tcs-test-nats.conf
nats_up() { tcs_exec timeout 1 bash -c '</dev/tcp/127.0.0.1/4222' 2>/dev/null; }
tcs_wait_until 20 "nats-server to listen" nats_up || tcs_fail "nats-server did not come up"
tcs_check "the sniffer starts" tcs_exec systemd-run --unit=tcs-test-sniff --property=Type=exec \
  "$TOOL" sub nats://127.0.0.1:4222 'svc.>' "$SNIFF"
tcs_wait_until 10 "the sniffer to subscribe" tcs_exec test -f "$SNIFF" || tcs_fail "the sniffer did not subscribe"

# ---- the units -----------------------------------------------------------------------------------
out=$(tcs_exec "$UNITGEN" 2>&1) || tcs_fail "tcs-unitgen failed: $out"
tcs_check "daemon-reload" tcs_exec systemctl daemon-reload
for unit in "$PW" "$NK"; do
  verify=$(tcs_exec systemd-analyze verify "/lib/systemd/system/tcs@.service:$unit" 2>&1 | grep -v '^$')
  [[ -z "$verify" ]] || tcs_fail "systemd-analyze verify $unit: $verify"
done
# systemctl show of systemd 252 prints an a(ss) property as "[unprintable]": ask over D-Bus.
load_credential() {
  local path
  path=$(tcs_exec busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
    org.freedesktop.systemd1.Manager LoadUnit s "$1" | awk '{ print $2 }' | tr -d '"')
  tcs_exec busctl get-property org.freedesktop.systemd1 "$path" org.freedesktop.systemd1.Service LoadCredential
}
cred_pw=$(load_credential "$PW")
cred_nk=$(load_credential "$NK")
tcs_log "$PW LoadCredential: $cred_pw; $NK LoadCredential: $cred_nk"
tcs_expect_eq "$PW LoadCredential" 'a(ss) 1 "nats.password" "/etc/tcs/hello.password"' "$cred_pw"
tcs_expect_eq "$NK LoadCredential" 'a(ss) 1 "nats.nkey" "/etc/tcs/hello.nk"' "$cred_nk"

# ---- running: connected as their own users --------------------------------------------------------
start_unit "$PW"
start_unit "$NK"
tcs_expect_eq "$PW runs as" tcs "$(tcs_exec ps -o user= -p "$(show "$PW" MainPID)" | tr -d ' ')"
status_of() { tcs_exec cat "$SNIFF" | awk -v s="svc.status.$1" '$2 == s' | grep -q .; }
for id in hello_world.pw hello_world.nk; do
  tcs_wait_until 15 "a status of $id on NATS" status_of "$id" || {
    tcs_exec cat "$SNIFF" | tail -n 20 >&2
    tcs_fail "no status of $id arrived on NATS"
  }
done
tcs_log "both instances publish their status on NATS"
wait_unit_journal 10 "$PW" "nats.password_file: using the systemd credential '/run/credentials/$PW/nats.password'"
wait_unit_journal 10 "$NK" "nats.nkey_seed_file: using the systemd credential '/run/credentials/$NK/nats.nkey'"
tcs_expect_eq "the delivered password" "$PASSWORD" "$(tcs_exec cat "/run/credentials/$PW/nats.password")"

# ---- an encrypted credential: LoadCredentialEncrypted=, decrypted by systemd --------------------
load_credential_encrypted() {
  local path
  path=$(tcs_exec busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
    org.freedesktop.systemd1.Manager LoadUnit s "$1" | awk '{ print $2 }' | tr -d '"')
  tcs_exec busctl get-property org.freedesktop.systemd1 "$path" org.freedesktop.systemd1.Service LoadCredentialEncrypted
}
tcs_expect_eq "$ENC LoadCredentialEncrypted" 'a(ss) 1 "nats.password" "/etc/credstore.encrypted/hello.password.cred"' \
  "$(load_credential_encrypted "$ENC")"
tcs_expect_eq "$ENC LoadCredential (none in clear)" 'a(ss) 0' "$(load_credential "$ENC")"
start_unit "$ENC"
tcs_wait_until 15 "a status of hello_world.enc on NATS" status_of hello_world.enc || {
  unit_journal "$ENC" | tail -n 20 >&2
  tcs_fail "no status of hello_world.enc arrived on NATS"
}
wait_unit_journal 10 "$ENC" "nats.password_file: using the systemd credential '/run/credentials/$ENC/nats.password'"
tcs_expect_eq "the decrypted password" "$PASSWORD" "$(tcs_exec cat "/run/credentials/$ENC/nats.password")"
tcs_log "an encrypted credential (systemd-creds, host key) reached the service decrypted; it authenticated"

# ---- without the credential: an empty LoadCredential= in a later drop-in clears the generated
# one (security.md's recipe for LoadCredentialEncrypted=), and the tcs user cannot read the file.
tcs_check "an admin drop-in clearing LoadCredential=" tcs_sh \
  'mkdir -p "/etc/systemd/system/$1.d" && printf "[Service]\nLoadCredential=\n" >"/etc/systemd/system/$1.d/60-no-credential.conf"' "$BARE"
tcs_check "daemon-reload" tcs_exec systemctl daemon-reload
tcs_expect_eq "$BARE LoadCredential after the empty assignment" 'a(ss) 0' "$(load_credential "$BARE")"
if tcs_exec timeout 60 systemctl start "$BARE" >/dev/null 2>&1; then
  tcs_fail "$BARE started without its credential"
fi
wait_unit_journal 10 "$BARE" "cannot read nats.password_file '/etc/tcs/hello.password': Permission denied"
tcs_log "without LoadCredential= the service cannot read the file and fails to start"

# ---- a missing credential file: systemd refuses the start before the service runs --------------
if tcs_exec timeout 60 systemctl start "$MISSING" >/dev/null 2>&1; then
  tcs_fail "$MISSING started without its credential file"
fi
wait_unit_journal 10 "$MISSING" "status=243/CREDENTIALS"
tcs_log "a missing credential file: $(unit_journal "$MISSING" | grep -m1 -i credential)"

# ---- the supervisor: the top-level section's file through its generated drop-in ------------------
tcs_expect_eq "tcs-supervisor LoadCredential" 'a(ss) 1 "nats.password" "/etc/tcs/supervisor.password"' \
  "$(load_credential tcs-supervisor.service)"
tcs_check "systemctl start tcs-supervisor" tcs_exec timeout 60 systemctl start tcs-supervisor.service
LAUNCHER="$(tcs_exec hostname -s | tr -d '\r')-systemd-launcher"
tcs_wait_until 20 "the supervisor's status on NATS" status_of "launcher.$LAUNCHER" || {
  tcs_exec journalctl -u tcs-supervisor --no-pager | tail -n 20 >&2
  tcs_fail "no status of launcher.$LAUNCHER arrived on NATS"
}
tcs_log "tcs-supervisor authenticated with its credential (launcher.$LAUNCHER publishes)"
tcs_check "systemctl stop tcs-supervisor" tcs_exec timeout 60 systemctl stop tcs-supervisor.service

for unit in "$PW" "$NK" "$ENC"; do
  tcs_check "systemctl stop $unit" tcs_exec timeout 60 systemctl stop "$unit"
  expect_clean_exit "$unit"
done
tcs_pass
