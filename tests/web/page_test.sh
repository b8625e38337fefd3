#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The web page (web/static) in a real browser: headless Chromium driven over WebDriver
# (tests/web/webdriver.sh) against the real tcs-web, a real nats-server on a free loopback port
# and real hello_world services run directly (no systemd, no supervisor).
#
#   page_test.sh TCS_WEB HELLO_WORLD STATIC_DIR
#
# Checks: every service is listed with its status; a service stopped with SIGTERM turns its row
# to stopped without a reload; the filter and the "show stopped" toggle hide rows; registry
# events (published as a supervisor would) reach the timeline and the badges; the details
# panel loads (details, health checks, journal or its error); with control disabled there is no
# control button at all; #banner appears when tcs-web dies and goes away when it is back; with
# tcs-web's lost NATS connection is shown; with control enabled a wrong password and a refused
# action are shown in #control-result.
# Exit 77 (CTest SKIP_RETURN_CODE) without chromium/chromedriver or nats-server.
set -euo pipefail

if (($# != 3)); then
  echo "usage: $0 TCS_WEB HELLO_WORLD STATIC_DIR" >&2
  exit 2
fi
TCS_WEB=$1
HELLO_WORLD=$2
STATIC_DIR=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/web/webdriver.sh
source "$here/webdriver.sh"
# shellcheck source=tests/web/registry.sh
source "$here/registry.sh"

if ! wd_available; then
  echo "SKIP: chromium, chromium-driver, curl or jq not installed (scripts/setup.sh installs them)"
  exit 77
fi
NATS_SERVER=${TCS_NATS_SERVER:-$(command -v nats-server || true)}
[[ -z $NATS_SERVER && -x /usr/sbin/nats-server ]] && NATS_SERVER=/usr/sbin/nats-server
if [[ -z $NATS_SERVER ]]; then
  echo "SKIP: nats-server not installed"
  exit 77
fi
for f in "$TCS_WEB" "$HELLO_WORLD"; do
  [[ -x $f ]] || { echo "FAIL: $f is not executable" >&2; exit 1; }
done
[[ -f $STATIC_DIR/index.html ]] || { echo "FAIL: no index.html in $STATIC_DIR" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tcs-web-page.XXXXXX")
declare -A PIDS=()
failed=1

cleanup() {
  local rc=$?
  if ((failed)); then
    echo "---- browser console" >&2
    wd_browser_log >&2 || true
    # TCS_TEST_ARTIFACTS=DIR keeps a screenshot of the page as it was when the test failed.
    if [[ -n ${TCS_TEST_ARTIFACTS:-} && -n $WD_SESSION ]] && mkdir -p "$TCS_TEST_ARTIFACTS" &&
      wd_screenshot "$TCS_TEST_ARTIFACTS/web.page_in_chromium-failure.png" 2>/dev/null; then
      echo "(screenshot: $TCS_TEST_ARTIFACTS/web.page_in_chromium-failure.png)" >&2
    fi
    for log in "$work"/*.log; do
      [[ -f $log ]] || continue
      echo "---- $(basename "$log") (last 30 lines)" >&2
      tail -n 30 "$log" >&2
    done
  fi
  wd_quit
  local name
  for name in "${!PIDS[@]}"; do stop "$name"; done
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# start NAME CMD…: runs CMD in the background, logging to $work/NAME.log; remembers its PID.
start() {
  local name=$1
  shift
  "$@" </dev/null >>"$work/$name.log" 2>&1 &
  PIDS[$name]=$!
}

# stop NAME [SIGNAL]: signals the process started as NAME (by its PID) and reaps it.
stop() {
  local name=$1 sig=${2:-TERM} pid=${PIDS[$1]:-}
  [[ -n $pid ]] || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "PIDS[$name]"
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

step() { echo "== $*"; }

# wait_for SECONDS DESCRIPTION CMD…: polls CMD until it succeeds or the deadline passes.
wait_for() {
  local timeout=$1 what=$2
  shift 2
  local deadline=$(($(date +%s%N) + timeout * 1000000000))
  until "$@" >/dev/null 2>&1; do
    (($(date +%s%N) < deadline)) || fail "$what: not within ${timeout}s"
    sleep 0.1
  done
}

port_open() { (: >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- nats-server -------------------------------------------------------------------------------
nats_port=$(wd_free_port)
cat >"$work/nats.conf" <<EOF
listen: "127.0.0.1:$nats_port"
jetstream {
  store_dir: "$work/jetstream"
}
EOF
start nats "$NATS_SERVER" -c "$work/nats.conf"
wait_for 20 "nats-server listening on $nats_port" port_open "$nats_port"

# ---- services ----------------------------------------------------------------------------------
SERVICES=(alpha beta gamma)
{
  echo "nats: {host: 127.0.0.1, port: $nats_port, required: true}"
  echo "registry:"
  echo "  hello_world: ~"
  echo "services:"
  for v in "${SERVICES[@]}"; do
    echo "  - {type: hello_world, variant: $v, interval: 0.5, heartbeat_interval: 1, message: \"Hello from $v\"}"
  done
} >"$work/services.yaml"
for v in "${SERVICES[@]}"; do
  start "hello_world.$v" env -u NOTIFY_SOCKET "$HELLO_WORLD" "$work/services.yaml" "$v"
done

# ---- tcs-web -----------------------------------------------------------------------------------
web_port=$(wd_free_port)
cat >"$work/web.yaml" <<EOF
nats: {host: 127.0.0.1, port: $nats_port, required: false}
web:
  listen: "127.0.0.1:$web_port"
  control: false
EOF
start_web() {
  start web "$TCS_WEB" -c "$work/web.yaml" --listen "127.0.0.1:$web_port" --static-dir "$STATIC_DIR"
  wait_for 20 "tcs-web answering /api/config on $web_port" curl -sf --max-time 2 "http://127.0.0.1:$web_port/api/config"
}
start_web
url="http://127.0.0.1:$web_port/"
config=$(curl -sf "${url}api/config")
jq -e '.schema == "tcs.web/1" and .control == false' <<<"$config" >/dev/null || fail "unexpected /api/config: $config"

# ---- the browser -------------------------------------------------------------------------------
wd_start "$work/browser"
wd_open "$url"

row() { printf 'document.querySelector(%s)' "$(jq -cn --arg s "tr[data-id=\"$1\"]" '$s')"; }

step "every service is listed with its status"
for v in "${SERVICES[@]}"; do
  wd_wait_js 30 "const r = $(row "hello_world.$v"); return !!r && r.dataset.symbol === 'healthy' && r.dataset.status === 'ok'" ||
    fail "hello_world.$v is not listed as ok/healthy"
done
wd_js "const r = $(row hello_world.alpha); return [r.dataset.kind, r.querySelector('.col-message').textContent]" |
  jq -e '.[0] == "service" and (.[1] | test("Hello from alpha"))' >/dev/null || fail "alpha's row lacks its kind or message"
wd_js 'return document.querySelectorAll("#fleet thead th[scope=col]").length > 0 && document.querySelector("#fleet tbody th[scope=row]") !== null' |
  grep -qx true || fail "the table has no scoped header cells"
wd_js 'return document.getElementById("banner").hidden' | grep -qx true || fail "#banner shown while connected"
wd_js 'return document.getElementById("summary").dataset.services' | grep -qx '"3"' ||
  fail "summary does not count 3 services: $(wd_js 'return document.getElementById("summary").textContent')"

step "the heartbeat age ticks without a reload"
hb_js="return $(row hello_world.alpha).querySelector('.col-hb').textContent"
wd_wait_js 10 "return /^\\d+s\$/.test(document.querySelector('tr[data-id=\"hello_world.alpha\"] .col-hb').textContent)" ||
  fail "alpha's heartbeat age is not shown: $(wd_js "$hb_js")"

step "with control disabled there is no control button"
wd_js 'return document.querySelectorAll("button.control").length' | grep -qx 0 || fail "control buttons in the DOM"
wd_js 'return document.getElementById("unlock").hidden' | grep -qx true || fail "unlock form shown with control disabled"

step "the filter hides rows"
set_filter() {
  wd_js 'const f = document.getElementById("filter"); f.value = arguments[0]; f.dispatchEvent(new Event("input")); return true' \
    "$(jq -cn --arg v "$1" '$v')" >/dev/null
}
set_filter BETA
wd_wait_js 5 "return $(row hello_world.alpha).hidden && !$(row hello_world.beta).hidden && $(row hello_world.gamma).hidden" ||
  fail "filter 'BETA' did not leave only beta"
set_filter ""
wd_wait_js 5 "return !$(row hello_world.alpha).hidden && !$(row hello_world.gamma).hidden" || fail "clearing the filter did not show all rows"

step "a service stopped with SIGTERM turns stopped without a reload"
wd_js 'window.__tcsLoadMarker = 42; return true' >/dev/null
stop hello_world.gamma TERM
wd_wait_js 30 "const r = $(row hello_world.gamma); return !!r && r.dataset.symbol === 'stopped'" ||
  fail "gamma's row did not turn stopped: $(wd_js "const r = $(row hello_world.gamma); return r && [r.dataset.status, r.dataset.symbol]")"
wd_js 'return window.__tcsLoadMarker === 42' | grep -qx true || fail "the page was reloaded"
wd_js "return $(row hello_world.alpha).dataset.symbol" | grep -qx '"healthy"' || fail "alpha changed with gamma"

step "'show stopped' off hides the stopped row"
wd_js 'const c = document.getElementById("show-stopped"); c.click(); return c.checked' | grep -qx false
wd_wait_js 5 "return $(row hello_world.gamma).hidden && !$(row hello_world.alpha).hidden" || fail "the stopped row is still shown"
wd_js 'document.getElementById("show-stopped").click(); return true' >/dev/null
wd_wait_js 5 "return !$(row hello_world.gamma).hidden" || fail "the stopped row did not come back"

step "registry events reach the timeline (newest first) and the row's badges"
# No supervisor runs here: publish what one would (tests/web/registry.sh).
registry_event "$nats_port" crashed hello_world.beta '"status":"error","exit_code":1,"restart_policy":"on-failure","will_restart":true,"result":"exit-code"' ||
  fail "cannot publish a registry event"
registry_event "$nats_port" restarting hello_world.beta '"status":"startup","restart_attempt":1,"max_restarts":3' ||
  fail "cannot publish a registry event"
wd_wait_js 15 'const l = document.querySelectorAll("#timeline li.timeline-event[data-id=\"hello_world.beta\"]"); return l.length >= 2 && l[0].dataset.event === "restarting" && l[1].dataset.event === "crashed"' ||
  fail "the registry events are not in #timeline newest first: $(wd_js 'return Array.from(document.querySelectorAll("#timeline li")).map(l => l.dataset.id + " " + l.dataset.event)')"
wd_wait_js 10 "const r = $(row hello_world.beta), c = r.querySelector('.badge.crash'), b = r.querySelector('.restart-restarting'); return !!c && !c.hidden && /exit 1/.test(c.textContent) && !!b && b.textContent === '⟳ 1/3'" ||
  fail "beta's row lacks the crash or restart badge: $(wd_js "return $(row hello_world.beta).querySelector('.col-badges').textContent")"
echo "   beta's badges: $(wd_js "return $(row hello_world.beta).querySelector('.col-badges').textContent")"

step "the details panel: fields, details, health checks, journal"
wd_js "const r = $(row hello_world.alpha); r.focus(); r.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true})); return true" >/dev/null
wd_wait_js 5 'const d = document.getElementById("details"); return !d.hidden && d.dataset.id === "hello_world.alpha"' ||
  fail "Enter on a row did not open its details"
wd_wait_js 10 'const x = document.getElementById("details-extra"); return !!x && !x.hasAttribute("aria-busy")' ||
  fail "GET /api/services/<id> did not complete in the panel"
wd_js 'document.getElementById("run-health").click(); return true' >/dev/null
wd_wait_js 10 'return document.querySelector("#health [data-status], #health .error") !== null' || fail "health checks did not show"
wd_js 'return document.querySelector("#health [data-status]") ? document.querySelector("#health [data-status]").dataset.status : document.getElementById("health").textContent' |
  grep -qx '"ok"' || echo "note: health answer: $(wd_js 'return document.getElementById("health").textContent')"
# No supervisor runs here: the journal request ends in an error shown in the panel (or lines).
wd_wait_js 15 'const e = document.getElementById("logs-error"); return document.querySelectorAll("#logs .log-line").length > 0 || (!!e && !e.hidden && e.textContent.length > 0)' ||
  fail "the journal neither loaded nor showed an error"
echo "   journal: $(wd_js 'const e = document.getElementById("logs-error"); return e.hidden ? document.querySelectorAll("#logs .log-line").length + " lines" : e.textContent')"
wd_js 'document.getElementById("details-close").click(); return document.getElementById("details").hidden' | grep -qx true || fail "details did not close"

step "the banner appears when tcs-web dies and goes away when it is back"
stop web TERM
wd_wait_js 15 'const b = document.getElementById("banner"); return !b.hidden && b.getAttribute("role") === "alert" && /lost/.test(b.textContent)' ||
  fail "no banner after tcs-web stopped: $(wd_js 'return document.getElementById("banner").outerHTML')"
start_web
wd_wait_js 20 'return document.getElementById("banner").hidden' || fail "the banner stayed after tcs-web came back"
wd_wait_js 20 "const r = $(row hello_world.alpha); return !!r && r.dataset.symbol === 'healthy'" || fail "alpha not listed after the resync"
wd_js 'return window.__tcsLoadMarker === 42' | grep -qx true || fail "the page was reloaded"

step "tcs-web's lost NATS connection is shown, and cleared when it is back"
stop nats TERM
wd_wait_js 30 'const b = document.getElementById("banner"); return !b.hidden && b.dataset.reason === "nats" && /NATS/.test(b.textContent)' ||
  fail "no NATS banner after nats-server stopped: $(wd_js 'return document.getElementById("banner").outerHTML')"
wd_js 'return document.getElementById("nats-state").dataset.connected' | grep -qx '"false"' || fail "#nats-state does not say disconnected"
start nats "$NATS_SERVER" -c "$work/nats.conf"
wait_for 20 "nats-server back on $nats_port" port_open "$nats_port"
wd_wait_js 60 'return document.getElementById("banner").hidden && document.getElementById("nats-state").dataset.connected === "true"' ||
  fail "the NATS banner stayed after nats-server came back: $(wd_js 'return document.getElementById("banner").textContent')"
wd_wait_js 30 "const r = $(row hello_world.alpha); return !!r && r.dataset.symbol === 'healthy'" || fail "alpha not healthy after NATS came back"

step "with control enabled: unlock, and a refused action shown in #control-result"
stop web TERM
printf 'operator-s3cret\n' >"$work/operator-password"
cat >"$work/web.yaml" <<EOF
nats: {host: 127.0.0.1, port: $nats_port, required: false}
web:
  listen: "127.0.0.1:$web_port"
  control: true
  operator_password_file: "$work/operator-password"
EOF
start_web
wd_open "$url"
wd_wait_js 30 "const r = $(row hello_world.alpha); return !!r && r.dataset.symbol === 'healthy'" || fail "alpha not listed (control on)"
wd_js 'return document.querySelectorAll("button.control").length' | grep -qx 0 || fail "control buttons before unlocking"
unlock_with() {
  wd_js 'document.getElementById("password").value = arguments[0]; document.querySelector("#unlock button[type=submit]").click(); return true' \
    "$(jq -cn --arg v "$1" '$v')" >/dev/null
}
wd_wait_js 5 'return !document.getElementById("unlock").hidden' || fail "no unlock form with control enabled"
unlock_with wrong
wd_wait_js 10 'const c = document.getElementById("control-result"); return !c.hidden && c.dataset.ok === "false" && /401/.test(c.textContent)' ||
  fail "a wrong password was not reported: $(wd_js 'return document.getElementById("control-result").textContent')"
unlock_with operator-s3cret
wd_wait_js 10 "return $(row hello_world.alpha).querySelector('button.control[data-action=\"restart\"]') !== null" ||
  fail "no restart button after unlocking: $(wd_js 'return document.getElementById("control-result").textContent')"
wd_js "$(row hello_world.alpha).querySelector('button.control[data-action=\"restart\"]').click(); return true" >/dev/null
# No supervisor owns these services: tcs-web answers an error, and the page must show it.
wd_wait_js 20 'const c = document.getElementById("control-result"); return !c.hidden && c.dataset.ok === "false" && /\b[45]\d\d\b/.test(c.textContent)' ||
  fail "the refused restart was not shown: $(wd_js 'return document.getElementById("control-result").textContent')"
echo "   control-result: $(wd_js 'return document.getElementById("control-result").textContent')"

failed=0
echo "PASS: web.page_in_chromium"
