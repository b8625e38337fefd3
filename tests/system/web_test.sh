#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system tier: tcs-web as installed (tcs-web.service: DynamicUser, the page from <datadir>/tcs/web)
# with tcs-supervisor, real hello_world services and a nats-server in a throwaway systemd 252,
# looked at in headless Chromium (Debian's chromium + chromedriver, driven by
# tests/web/webdriver.sh inside the container's network namespace).
#   web_test.sh SOURCE_DIR BUILD_DIR [NOTIFIER (unused)]
# Checks:
#   the page lists every service under its launcher with its status (DOM rows, data-status);
#   kill -9 of a service → its row turns to the crashed state (status error, restarting) and back
#   to ok with a restart badge, without a reload; the delay between the crashed event on NATS and
#   the row's change is measured (target ≤ 1 s);
#   the details panel shows the unit's journal lines (the supervisor's logs RPC), the kill among them;
#   control disabled (default): no control button in the DOM, POST refused (404);
#   control enabled (web.control + the operator password as a LoadCredential= credential): a
#   wrong password is refused visibly; unlocked, the page's Restart button restarts the unit
#   (new MainPID) through the supervisor.
# SC2016: single-quoted scripts expand inside the container or the browser; SC2317: polled functions.
# shellcheck disable=SC2016,SC2317
set -uo pipefail
SOURCE_DIR=$1 BUILD_DIR=$2
# shellcheck source=../support/nspawn.sh
source "$SOURCE_DIR/tests/support/nspawn.sh"
# shellcheck source=lib_units.sh
source "$SOURCE_DIR/tests/system/lib_units.sh"
# shellcheck source=lib_services.sh
source "$SOURCE_DIR/tests/system/lib_services.sh"
# shellcheck source=../web/webdriver.sh
source "$SOURCE_DIR/tests/web/webdriver.sh"

tcs_nspawn_init web
command -v jq >/dev/null || tcs_skip "jq is not installed (scripts/setup.sh)"
command -v nats-server >/dev/null || tcs_skip "nats-server is not installed (scripts/setup.sh)"
wd_available || tcs_skip "chromium, chromium-driver, curl or jq is not installed (scripts/setup.sh)"
TOOL="$BUILD_DIR/tests/system/tcs-systest-nats"
[[ -x "$TOOL" ]] || tcs_fail "$TOOL is missing: build first"
SNIFF=/run/tcs-sniff.log
PASSWORD="correct horse battery staple"
URL=http://127.0.0.1:8470/

CONFIG="$TCS_TEST_TMPDIR/services.yaml"
write_config() {  # write_config CONTROL(true|false)
  cat >"$CONFIG" <<EOF2
# system test config (web_test.sh)
nats: {host: 127.0.0.1, port: 4222, required: false}
registry:
  hello_world: ~
web: {listen: "127.0.0.1:8470", control: $1}
services:
  - {type: hello_world, variant: victim, interval: 1, restart: always, restart_sec: 1}
  - {type: hello_world, variant: ctl, interval: 1, restart: on-failure}
EOF2
}

services_boot_container
tcs_check "tcs-web is installed" tcs_exec test -x "$TCS_INSTALL_BINDIR/tcs-web"
tcs_check "tcs-web.service is installed" tcs_exec test -f "$TCS_INSTALL_UNITDIR/tcs-web.service"
STATIC=$(tcs_exec sh -c 'for d in /usr/share/tcs/web /usr/local/share/tcs/web; do [ -f $d/index.html ] && echo $d; done' | head -n 1)
[[ -n "$STATIC" ]] || tcs_fail "the page (index.html) is not installed under <datadir>/tcs/web"
start_nats_and_sniffer "$TOOL" "$SNIFF"
sniff() { tcs_exec cat "$SNIFF"; }

write_config false
install_config "$CONFIG"
tcs_check "daemon-reload (the generator writes the units)" tcs_exec systemctl daemon-reload
start_unit tcs-supervisor.service
start_unit tcs.target
start_unit tcs-web.service
wait_state 20 tcs-web.service active
expect_prop tcs-web.service DynamicUser yes
expect_prop tcs-web.service Type notify

api() { tcs_exec curl -sS --max-time 5 "http://127.0.0.1:8470$1"; }
listed() { api '/api/services?all=1' | jq -e '[.services[].id] | index("hello_world.victim") and index("hello_world.ctl")' >/dev/null; }
tcs_wait_until 20 "tcs-web to list both services" listed || tcs_fail "tcs-web does not list the services: $(api /api/services?all=1)"
tcs_expect_eq "POST control with control disabled" 404 \
  "$(tcs_exec curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Length: 0' http://127.0.0.1:8470/api/services/hello_world.ctl/restart)"

# ---- the browser, in the container's network namespace -------------------------------------
WD_EXEC=(nsenter -t "$TCS_CONTAINER_PID1" -n --)
browser_fail() {
  wd_browser_log >&2 || true
  [[ -n $WD_SESSION ]] && wd_screenshot "$TCS_TEST_TMPDIR/failure.png" 2>/dev/null &&
    tcs_log "screenshot: $TCS_TEST_TMPDIR/failure.png"
  wd_quit || true
  tcs_fail "$@"
}
wd_start "$TCS_TEST_TMPDIR/browser" || tcs_fail "headless Chromium did not start (see $TCS_TEST_TMPDIR/browser)"
wd_open "$URL" || browser_fail "the page did not load"
row() { printf 'document.querySelector(%s)' "$(jq -cn --arg s "tr[data-id=\"$1\"]" '$s')"; }
for id in hello_world.victim hello_world.ctl; do
  wd_wait_js 30 "const r = $(row "$id"); return !!r && r.dataset.status === 'ok' && r.dataset.symbol === 'healthy'" ||
    browser_fail "$id is not shown ok: $(wd_js "const r = $(row "$id"); return r && [r.dataset.status, r.dataset.symbol]")"
done
LAUNCHER="launcher.$(tcs_exec hostname -s)-systemd-launcher"
wd_wait_js 10 "return !!$(row "$LAUNCHER")" || browser_fail "the launcher $LAUNCHER has no row"
tcs_expect_eq "no control button with control disabled" 0 "$(wd_js 'return document.querySelectorAll("button.control").length')"
tcs_log "the page lists the launcher and both services, ok"

# ---- kill -9 → crashed → restarted, live ------------------------------------------------------
wd_js "const r = $(row hello_world.victim); window.__seen = []; window.__loaded = performance.timeOrigin;
  new MutationObserver(() => window.__seen.push([Date.now(), r.dataset.status, r.dataset.symbol]))
    .observe(r, {attributes: true, attributeFilter: ['data-status', 'data-symbol']}); return true" >/dev/null ||
  browser_fail "cannot observe the victim's row"
pid=$(show tcs@hello_world:victim.service MainPID)
[[ "$pid" =~ ^[1-9][0-9]*$ ]] || tcs_fail "no main PID for hello_world.victim ('$pid')"
tcs_exec kill -9 "$pid"
seen_crash() { wd_js 'return window.__seen.some(s => s[1] === "error" || s[1] === "failed")' | grep -qx true; }
tcs_wait_until 15 "the victim's row to show the crash" seen_crash ||
  browser_fail "the row never showed the crash: $(wd_js 'return window.__seen')"
back_ok() {
  wd_js "const r = $(row hello_world.victim); return r.dataset.status === 'ok' && r.dataset.symbol === 'healthy'" | grep -qx true
}
tcs_wait_until 20 "the victim's row to be ok again" back_ok ||
  browser_fail "the row did not come back: $(wd_js 'return window.__seen')"
wd_js 'return window.__loaded === performance.timeOrigin' | grep -qx true || browser_fail "the page was reloaded"
badge=$(wd_js "return $(row hello_world.victim).textContent")
grep -q '↻' <<<"$badge" || browser_fail "no restart badge (↻) on the recovered row: $badge"
crash_ms=$(sniff | awk '$2 == "svc.registry.crashed.hello_world.victim" {print $1; exit}')
shown_ms=$(wd_js 'const s = window.__seen.find(s => s[1] === "error" || s[1] === "failed"); return s[0]')
[[ "$crash_ms" =~ ^[0-9]+$ && "$shown_ms" =~ ^[0-9]+$ ]] || tcs_fail "no times to compare ('$crash_ms', '$shown_ms')"
delay=$((shown_ms - crash_ms))
tcs_log "crashed on NATS → row in the browser: ${delay} ms (target ≤ 1000 ms); rows seen: $(wd_js 'return window.__seen.map(s => s[1]).join(" → ")')"
((delay <= 1000)) || browser_fail "the crash took ${delay} ms to reach the page (target ≤ 1000 ms)"

# ---- the details panel: the unit's journal -------------------------------------------------
wd_js "$(row hello_world.victim).click(); return true" >/dev/null
wd_wait_js 15 'return document.querySelectorAll("#logs .log-line").length > 1' ||
  browser_fail "no journal lines in the details panel: $(wd_js 'const l = document.getElementById("logs"); return l && l.textContent')"
has_kill() {
  wd_js 'return document.getElementById("logs").textContent' | grep -q 'status=9/KILL' && return 0
  wd_js 'const b = document.getElementById("refresh-logs"); if (b) b.click(); return true' >/dev/null
  return 1
}
tcs_wait_until 15 "the kill in the panel's journal lines" has_kill ||
  browser_fail "the journal lines lack the kill: $(wd_js 'return document.getElementById("logs").textContent')"
tcs_log "the details panel shows the unit's journal, the kill -9 included"
wd_quit

# ---- control enabled: the operator password as a credential -----------------------------------
write_config true
install_config "$CONFIG"
tcs_check "the operator password file" tcs_sh 'umask 077; printf "%s\n" "$1" >/etc/tcs/web-operator-password' "$PASSWORD"
tcs_check "the LoadCredential= drop-in" tcs_sh 'mkdir -p /etc/systemd/system/tcs-web.service.d && printf "[Service]\nLoadCredential=operator-password:/etc/tcs/web-operator-password\n" >/etc/systemd/system/tcs-web.service.d/control.conf'
tcs_check "daemon-reload" tcs_exec systemctl daemon-reload
tcs_check "restart tcs-web" tcs_exec timeout 30 systemctl restart tcs-web.service
wait_state 20 tcs-web.service active
control_on() { api /api/config | jq -e '.control == true' >/dev/null; }
tcs_wait_until 10 "tcs-web with control" control_on || tcs_fail "tcs-web does not say control: $(api /api/config)"

wd_start "$TCS_TEST_TMPDIR/browser2" || tcs_fail "headless Chromium did not start again"
wd_open "$URL" || browser_fail "the page did not load with control"
wd_wait_js 30 "const r = $(row hello_world.ctl); return !!r && r.dataset.status === 'ok'" || browser_fail "no ctl row with control"
tcs_expect_eq "no control button before unlocking" 0 "$(wd_js 'return document.querySelectorAll("button.control").length')"
unlock() {
  wd_js 'const p = document.getElementById("password"); p.value = arguments[0];
    document.getElementById("unlock").requestSubmit(); return true' "$(jq -cn --arg p "$1" '$p')" >/dev/null
}
unlock "not the password" || browser_fail "cannot submit the unlock form"
wd_wait_js 10 'const r = document.getElementById("control-result"); return !r.hidden && r.dataset.ok === "false"' ||
  browser_fail "a wrong password was not refused visibly"
unlock "$PASSWORD"
wd_wait_js 10 'return document.querySelectorAll("button.control[data-action=restart][data-id=\"hello_world.ctl\"]").length > 0' ||
  browser_fail "no Restart button after unlocking: $(wd_js 'return document.getElementById("control-result").textContent')"
before=$(show tcs@hello_world:ctl.service MainPID)
wd_js 'document.querySelector("button.control[data-action=restart][data-id=\"hello_world.ctl\"]").click(); return true' >/dev/null
wd_wait_js 70 'const r = document.getElementById("control-result"); return r.dataset.ok === "true" && /restarted/.test(r.textContent)' ||
  browser_fail "the restart was not confirmed: $(wd_js 'return document.getElementById("control-result").textContent')"
after=$(show tcs@hello_world:ctl.service MainPID)
[[ "$after" =~ ^[1-9][0-9]*$ && "$after" != "$before" ]] || tcs_fail "MainPID of hello_world.ctl did not change ($before → $after)"
tcs_log "restart from the page: $(wd_js 'return document.getElementById("control-result").textContent') (MainPID $before → $after)"
wd_quit
tcs_pass
