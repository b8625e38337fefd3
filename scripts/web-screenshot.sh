#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Takes the screenshot of tcs-web's page in doc/images/tcs-web.png: a nats-server on a free
# loopback port, a few services run directly (hello_world ×3, one of them stopped, and
# examples.monitoring with its children), tcs-web serving web/static, headless Chromium
# (tests/web/webdriver.sh). No systemd and no supervisor run: what a host's tcs-supervisor
# would publish (its status, registry events: declared, start, ready, a crash and its restart, a
# stop) is published by tests/web/registry.sh, back-dated, so the page shows uptimes, a
# launcher row, badges and a timeline.
#
#   scripts/web-screenshot.sh [BUILD_DIR] [OUT.png]     (defaults: build, doc/images/tcs-web.png)
#
# Build first: ninja -C build tcs-web service_hello_world service_examples_monitoring
# Needs chromium and chromium-driver (scripts/setup.sh) and nats-server.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
out=${2:-$root/doc/images/tcs-web.png}
WD_WINDOW=${WD_WINDOW:-1600,1200} # tall enough for the details panel and the timeline
# shellcheck source=tests/web/webdriver.sh
source "$root/tests/web/webdriver.sh"
# shellcheck source=tests/web/registry.sh
source "$root/tests/web/registry.sh"

die() {
  echo "web-screenshot: $*" >&2
  exit 1
}
wd_available || die "needs chromium, chromium-driver, curl and jq (scripts/setup.sh)"
nats_server=${TCS_NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}
[[ -x $nats_server ]] || die "needs nats-server"
tcs_web=$build/web/tcs-web
[[ -x $tcs_web ]] || tcs_web=$(find "$build" -name tcs-web -type f -perm -u+x -print -quit)
[[ -x $tcs_web ]] || die "no tcs-web in $build (ninja -C $build tcs-web)"
hello=$build/services/bin/hello_world
monitoring=$build/services/bin/examples.monitoring
[[ -x $hello ]] || die "no $hello (ninja -C $build service_hello_world)"

work=$(mktemp -d "${TMPDIR:-/tmp}/tcs-web-shot.XXXXXX")
pids=()
cleanup() {
  local rc=$? pid
  wd_quit
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if ((rc != 0)); then
    for log in "$work"/*.log; do
      [[ -f $log ]] && { echo "---- $log" >&2; tail -n 20 "$log" >&2; }
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

bg() {
  local log=$1
  shift
  "$@" </dev/null >>"$work/$log.log" 2>&1 &
  pids+=($!)
}
port_open() { (: >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() {
  local timeout=$1 what=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what: not within ${timeout}s"
    sleep 0.1
  done
}

nats_port=$(wd_free_port)
printf 'listen: "127.0.0.1:%s"\njetstream {\n  store_dir: "%s"\n}\n' "$nats_port" "$work/js" >"$work/nats.conf"
bg nats "$nats_server" -c "$work/nats.conf"
wait_for 20 "nats-server" port_open "$nats_port"

cat >"$work/services.yaml" <<EOF
nats: {host: 127.0.0.1, port: $nats_port, required: true}
registry:
  hello_world: ~
  examples.monitoring: ~
services:
  - {type: hello_world, variant: dome, interval: 1, message: "Dome synchronised"}
  - {type: hello_world, variant: mount, interval: 1, message: "Tracking"}
  - {type: hello_world, variant: filter, interval: 1, message: "Filter wheel ready"}
  - {type: examples.monitoring, variant: camera, interval: 1.0, max_errors: 50}
EOF
for v in dome mount filter; do
  bg "hello_world.$v" env -u NOTIFY_SOCKET "$hello" "$work/services.yaml" "$v"
done
filter_pid=${pids[-1]}
[[ -x $monitoring ]] && bg examples.monitoring env -u NOTIFY_SOCKET "$monitoring" "$work/services.yaml" camera

web_port=$(wd_free_port)
printf 'nats: {host: 127.0.0.1, port: %s, required: false}\nweb:\n  listen: "127.0.0.1:%s"\n' \
  "$nats_port" "$web_port" >"$work/web.yaml"
bg web "$tcs_web" -c "$work/web.yaml" --listen "127.0.0.1:$web_port" --static-dir "$root/web/static"
wait_for 20 "tcs-web" curl -sf "http://127.0.0.1:$web_port/api/config"

host=$(hostname)
export REGISTRY_LAUNCHER=$host
launcher_status() {
  nats_message "$nats_port" "svc.status.launcher.$host" \
    "{\"name\":\"launcher.$host\",\"status\":\"ok\",\"timestamp\":$(wire_time 7200),\"message\":\"Launcher running: 4 of 4 services active\",\"pid\":$$,\"hostname\":\"$host\"}"
  nats_message "$nats_port" "svc.heartbeat.launcher.$host" \
    "{\"service_id\":\"launcher.$host\",\"timestamp\":$(wire_time),\"status\":\"ok\"}"
}
launcher_status
declare -A svc_pid=([hello_world.dome]=${pids[1]} [hello_world.mount]=${pids[2]} [hello_world.filter]=${pids[3]})
[[ -x $monitoring ]] && svc_pid[examples.monitoring.camera]=${pids[4]}
for id in "${!svc_pid[@]}"; do
  REGISTRY_AGO=7300 registry_event "$nats_port" declared "$id" '"restart_policy":"on-failure"'
  REGISTRY_AGO=7200 registry_event "$nats_port" start "$id" "\"status\":\"startup\",\"hostname\":\"$host\",\"pid\":${svc_pid[$id]}"
  REGISTRY_AGO=7199 registry_event "$nats_port" ready "$id" '"status":"ok","startup_duration_seconds":0.41'
done
# mount crashed an hour ago and recovered; the camera crashed a minute ago and restarts.
REGISTRY_AGO=3605 registry_event "$nats_port" crashed hello_world.mount '"status":"error","exit_code":-6,"restart_policy":"on-failure","will_restart":true,"result":"core-dump"'
REGISTRY_AGO=3602 registry_event "$nats_port" restarting hello_world.mount '"status":"startup","restart_attempt":1,"max_restarts":3'
REGISTRY_AGO=3602 registry_event "$nats_port" start hello_world.mount "\"status\":\"startup\",\"hostname\":\"$host\",\"pid\":${svc_pid[hello_world.mount]}"
REGISTRY_AGO=3601 registry_event "$nats_port" ready hello_world.mount '"status":"ok","startup_duration_seconds":0.38'
if [[ -v svc_pid[examples.monitoring.camera] ]]; then
  REGISTRY_AGO=70 registry_event "$nats_port" crashed examples.monitoring.camera '"status":"error","exit_code":1,"restart_policy":"on-failure","will_restart":true,"result":"exit-code"'
  REGISTRY_AGO=67 registry_event "$nats_port" restarting examples.monitoring.camera '"status":"startup","restart_attempt":2,"max_restarts":null'
  REGISTRY_AGO=67 registry_event "$nats_port" start examples.monitoring.camera "\"status\":\"startup\",\"hostname\":\"$host\",\"pid\":${svc_pid[examples.monitoring.camera]}"
  REGISTRY_AGO=66 registry_event "$nats_port" ready examples.monitoring.camera '"status":"ok","startup_duration_seconds":0.52'
fi

wd_start "$work/browser"
wd_open "http://127.0.0.1:$web_port/"
wd_wait_js 30 'const r = document.querySelector("tr[data-id=\"hello_world.filter\"]"); return !!r && r.dataset.symbol === "healthy"'
# One stopped service, so the picture shows a stopped row and the timeline moving.
REGISTRY_AGO=1 registry_event "$nats_port" stopping hello_world.filter '"status":"shutdown","reason":"terminated"'
kill -TERM "$filter_pid"
wait "$filter_pid" 2>/dev/null || true
registry_event "$nats_port" stop hello_world.filter '"status":"shutdown","reason":"terminated","exit_code":0'
launcher_status
wd_wait_js 30 'const r = document.querySelector("tr[data-id=\"hello_world.filter\"]"); return !!r && r.dataset.symbol === "stopped"'
wd_wait_js 20 'return Array.from(document.querySelectorAll("tr[data-kind=service]")).filter(r => r.dataset.symbol !== "stopped" && /^\d+s$/.test(r.querySelector(".col-hb").textContent)).length >= 2'
# The details panel of a service with children and metrics.
wd_js 'const r = document.querySelector("tr[data-id=\"examples.monitoring.camera\"]") || document.querySelector("tr[data-id=\"hello_world.dome\"]"); r.click(); return true' >/dev/null
wd_wait_js 10 'const x = document.getElementById("details-extra"); return !!x && !x.hasAttribute("aria-busy")'
wd_wait_js 15 'const e = document.getElementById("logs-error"); return document.querySelectorAll("#logs .log-line").length > 0 || (!!e && !e.hidden)'
wd_js 'document.getElementById("run-health").click(); return true' >/dev/null
wd_wait_js 10 'return document.querySelector("#health [data-status], #health .error") !== null'
mkdir -p "$(dirname "$out")"
wd_screenshot "$out"
echo "web-screenshot: wrote $out"
