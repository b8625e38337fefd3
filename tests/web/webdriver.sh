# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# A minimal W3C WebDriver client in bash (curl + jq) driving headless Chromium through Debian's
# chromedriver (packages chromium, chromium-driver). Source it, then:
#
#   wd_available || exit 77           # chromium/chromedriver/curl/jq missing: skip
#   wd_start "$workdir"               # chromedriver on a free loopback port + a headless session
#   wd_open "http://127.0.0.1:$port/"
#   wd_wait_js 15 'return document.querySelectorAll("tr[data-id]").length > 0'
#   wd_js 'return document.title'     # prints the JSON value (jq -c): "tcs fleet"
#   wd_screenshot page.png
#   wd_quit                           # deletes the session, stops chromedriver by its PID
#
# Every function returns non-zero (and says why on stderr) when the WebDriver call fails.
# Variables: WD_CHROMEDRIVER, WD_CHROMIUM (binaries), WD_WINDOW (WxH, default 1600,1000),
# WD_EXEC (an array: a command prefix for chromedriver and every request, e.g.
# `WD_EXEC=(nsenter -t PID -n --)` to drive a browser inside a container's network namespace).

WD_CHROMEDRIVER=${WD_CHROMEDRIVER:-/usr/bin/chromedriver}
WD_CHROMIUM=${WD_CHROMIUM:-/usr/bin/chromium}
WD_WINDOW=${WD_WINDOW:-1600,1000}
WD_PID=
WD_PORT=
WD_URL=
WD_SESSION=
WD_DIR=
[[ -v WD_EXEC ]] || WD_EXEC=()

# Succeeds when everything needed to drive a browser is installed.
wd_available() {
  [[ -x $WD_CHROMEDRIVER && -x $WD_CHROMIUM ]] && command -v curl >/dev/null && command -v jq >/dev/null
}

# A TCP port on 127.0.0.1 nobody listens on right now (random, checked with bash's /dev/tcp).
wd_free_port() {
  local port tries
  for ((tries = 0; tries < 50; tries++)); do
    port=$((20000 + RANDOM % 40000))
    # shellcheck disable=SC2016 # $1 expands in the inner shell
    if ! "${WD_EXEC[@]}" bash -c ': >"/dev/tcp/127.0.0.1/$1"' _ "$port" 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "wd_free_port: no free port found" >&2
  return 1
}

# _wd METHOD PATH [JSON-BODY]: one WebDriver request; prints the answer's JSON, fails on an error.
_wd() {
  local method=$1 path=$2 body=${3:-} out
  local -a args=(-sS --max-time 60 -X "$method" -H 'Content-Type: application/json')
  [[ -n $body ]] && args+=(--data-binary "$body")
  if ! out=$("${WD_EXEC[@]}" curl "${args[@]}" "$WD_URL$path"); then
    echo "webdriver: $method $path: no answer from chromedriver" >&2
    return 1
  fi
  if jq -e '(.value | type) == "object" and (.value.error? != null)' <<<"$out" >/dev/null 2>&1; then
    echo "webdriver: $method $path: $(jq -r '.value.error + ": " + (.value.message | split("\n")[0])' <<<"$out")" >&2
    return 1
  fi
  printf '%s\n' "$out"
}

# wd_start DIR: starts chromedriver (log DIR/chromedriver.log) and a headless Chromium session.
wd_start() {
  WD_DIR=${1:?wd_start needs a working directory}
  mkdir -p "$WD_DIR/chromium-profile"
  local attempt deadline caps
  for ((attempt = 0; attempt < 5; attempt++)); do
    WD_PORT=$(wd_free_port) || return 1
    WD_URL="http://127.0.0.1:$WD_PORT"
    "${WD_EXEC[@]}" "$WD_CHROMEDRIVER" --port="$WD_PORT" --allowed-ips=127.0.0.1 --log-path="$WD_DIR/chromedriver.log" \
      </dev/null >>"$WD_DIR/chromedriver.out" 2>&1 &
    WD_PID=$!
    deadline=$((SECONDS + 20))
    while ((SECONDS < deadline)); do
      if "${WD_EXEC[@]}" curl -sf --max-time 2 "$WD_URL/status" 2>/dev/null | jq -e '.value.ready == true' >/dev/null 2>&1; then
        break 2
      fi
      if ! kill -0 "$WD_PID" 2>/dev/null; then break; fi  # died (port taken?): another port
      sleep 0.1
    done
    _wd_stop_driver
  done
  if [[ -z $WD_PID ]]; then
    echo "wd_start: chromedriver did not come up; see $WD_DIR/chromedriver.log" >&2
    return 1
  fi
  caps=$(jq -cn --arg bin "$WD_CHROMIUM" --arg win "$WD_WINDOW" --arg prof "$WD_DIR/chromium-profile" '{
    capabilities: {alwaysMatch: {
      browserName: "chrome",
      pageLoadStrategy: "normal",
      "goog:chromeOptions": {
        binary: $bin,
        args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               ("--window-size=" + $win), ("--user-data-dir=" + $prof), "--no-first-run",
               "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
               "--force-color-profile=srgb", "--hide-scrollbars"]
      }
    }}}')
  local out
  out=$(_wd POST /session "$caps") || { _wd_stop_driver; return 1; }
  WD_SESSION=$(jq -r '.value.sessionId' <<<"$out")
  [[ -n $WD_SESSION && $WD_SESSION != null ]] || { echo "wd_start: no session id in $out" >&2; _wd_stop_driver; return 1; }
}

_wd_stop_driver() {
  if [[ -n $WD_PID ]]; then
    kill "$WD_PID" 2>/dev/null || true
    wait "$WD_PID" 2>/dev/null || true
  fi
  WD_PID=
}

# wd_open URL: navigates and waits for the page's load event.
wd_open() {
  _wd POST "/session/$WD_SESSION/url" "$(jq -cn --arg u "$1" '{url: $u}')" >/dev/null
}

# wd_js 'return EXPR' [ARG…]: runs a synchronous script (arguments passed as JSON values, e.g.
# '"text"' or 3, reachable as arguments[0] …); prints its JSON value compactly (jq -c).
wd_js() {
  local script=$1 body
  shift
  body=$(jq -cn --arg s "$script" --args '{script: $s, args: ($ARGS.positional | map(fromjson))}' "$@") || return 1
  _wd POST "/session/$WD_SESSION/execute/sync" "$body" | jq -c '.value'
}

# wd_js_raw 'return EXPR': like wd_js but prints a string value without quotes (jq -r).
wd_js_raw() {
  wd_js "$@" | jq -r '.'
}

# wd_wait_js SECONDS 'return <bool expr>' [ARG…]: polls until the script returns true; fails
# (printing the last value) when the deadline passes first.
wd_wait_js() {
  local timeout=$1 script=$2 value=
  shift 2
  local deadline=$(($(date +%s%N) + timeout * 1000000000))
  while :; do
    value=$(wd_js "$script" "$@" 2>/dev/null) || value='(script error)'
    [[ $value == true ]] && return 0
    if (($(date +%s%N) >= deadline)); then
      echo "wd_wait_js: not true within ${timeout}s (last value: $value): $script" >&2
      return 1
    fi
    sleep 0.1
  done
}

# wd_screenshot FILE.png: the viewport as PNG.
wd_screenshot() {
  _wd GET "/session/$WD_SESSION/screenshot" | jq -r '.value' | base64 -d >"$1"
}

# wd_window WIDTH HEIGHT: resizes the browser window.
wd_window() {
  _wd POST "/session/$WD_SESSION/window/rect" "$(jq -cn --argjson w "$1" --argjson h "$2" '{width: $w, height: $h}')" >/dev/null
}

# wd_browser_log: prints the browser's console log (for failures), if chromedriver has it.
wd_browser_log() {
  _wd POST "/session/$WD_SESSION/se/log" '{"type":"browser"}' 2>/dev/null | jq -r '.value[]? | "\(.level) \(.message)"' || true
}

# wd_quit: ends the session and stops chromedriver (by its PID only). Safe to call twice.
wd_quit() {
  if [[ -n $WD_SESSION && -n $WD_PID ]]; then
    "${WD_EXEC[@]}" curl -sS --max-time 10 -X DELETE "$WD_URL/session/$WD_SESSION" >/dev/null 2>&1 || true
  fi
  WD_SESSION=
  _wd_stop_driver
}
