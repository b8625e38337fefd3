#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tcs-web with 1,000 services across 10 launchers (issue 16), in headless Chromium, next to
# baselines measured in the same run:
#   first render  — from navigation start to the whole fleet in the DOM (the page records
#                   window.tcsMetrics.firstRender), RUNS page loads; baseline: fetching the same
#                   document with curl (/api/services?all=1) and `tcsctl --json` reading it from NATS
#   update        — a status change published with its time (`bench <epoch ms>` as the message,
#                   tcsctl_bench_fleet change, CHANGE_RATE/s for MEASURE s) → the row's text in the
#                   DOM (a MutationObserver in the page); baseline: the same change's arrival on
#                   the SSE stream (curl -N, the server's share)
#   tcs-web       — RSS and CPU (% of one core) over MEASURE s with the page open and the fleet
#                   heartbeating every 10 s (101 messages/s), and with a quiet fleet; baseline:
#                   `tcsctl --follow --json` on the same fleet at the same time
#   SSE bytes     — bytes per `changes` event and per changed row while changes flow
# Targets (issue 16): first render ≤ 1 s, update ≤ 1 s p99, RSS ≤ 20 MiB, idle CPU ≤ 1 %.
#
# Usage: bench/web_bench.sh [BUILD_DIR]
#   env: SERVICES (1000), LAUNCHERS (10), RUNS (7), CHANGE_RATE (5), MEASURE (30)
# Exit 0 whatever the verdicts, unless measuring failed; 77 without nats-server or a browser.
set -euo pipefail
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(cd "${1:-$SOURCE_DIR/build}" && pwd)
SERVICES=${SERVICES:-1000}
LAUNCHERS=${LAUNCHERS:-10}
RUNS=${RUNS:-7}
CHANGE_RATE=${CHANGE_RATE:-5}
MEASURE=${MEASURE:-30}
# shellcheck source=../tests/web/webdriver.sh
source "$SOURCE_DIR/tests/web/webdriver.sh"
command -v nats-server >/dev/null || { echo "nats-server is not installed (scripts/setup.sh)" >&2; exit 77; }
wd_available || { echo "chromium/chromium-driver are not installed (scripts/setup.sh)" >&2; exit 77; }
cmake --build "$BUILD_DIR" --target tcs-web tcsctl tcsctl_bench_fleet >/dev/null
WEB=$BUILD_DIR/web/tcs-web
TCSCTL=$BUILD_DIR/tcsctl/tcsctl
FLEET=$BUILD_DIR/bench/tcsctl_bench_fleet
ENTRIES=$((SERVICES + LAUNCHERS))

tmp=$(mktemp -d)
pids=()
cleanup() {
  wd_quit 2>/dev/null || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
pct() { sort -g | awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; print v[i] }'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
free_port() { wd_free_port; }

# ---- the fleet ------------------------------------------------------------------------------
nats_port=$(free_port)
printf 'listen: 127.0.0.1:%s\njetstream { store_dir: "%s/js" }\n' "$nats_port" "$tmp" >nats.conf
nats-server -c nats.conf >nats.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "Server is ready" nats.log && break; sleep 0.1; done
grep -q "Server is ready" nats.log || { cat nats.log >&2; exit 1; }
NATS=nats://127.0.0.1:$nats_port
"$FLEET" seed "$NATS" "$SERVICES" "$LAUNCHERS" >/dev/null
"$FLEET" beat "$NATS" "$SERVICES" "$LAUNCHERS" 10 >beat.out &
beater=$!
pids+=("$beater")

web_port=$(free_port)
printf 'nats: {host: 127.0.0.1, port: %s}\nweb: {listen: "127.0.0.1:%s"}\n' "$nats_port" "$web_port" >services.yaml
"$WEB" -c services.yaml --static-dir "$SOURCE_DIR/web/static" >web.log 2>&1 &
web=$!
pids+=("$web")
URL=http://127.0.0.1:$web_port
listed() { [[ $(curl -s "$URL/api/services?all=1" | jq '.summary.listed' 2>/dev/null) == "$ENTRIES" ]]; }
for _ in $(seq 100); do listed && break; sleep 0.1; done
listed || { echo "tcs-web does not list $ENTRIES entries" >&2; cat web.log >&2; exit 1; }
echo "web_bench: $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg); $SERVICES services, $LAUNCHERS launchers, heartbeats every 10 s"

# ---- first render -----------------------------------------------------------------------------
wd_start "$tmp/browser"
rows_js="return document.querySelectorAll('#fleet-body tr[data-id]').length >= $ENTRIES && !!(window.tcsMetrics && window.tcsMetrics.firstRender)"
: >render.ms && : >curl.ms && : >tcsctl.ms
wd_open "$URL/" && wd_wait_js 30 "$rows_js" >/dev/null  # warm-up
for _ in $(seq "$RUNS"); do
  wd_open "$URL/"
  wd_wait_js 30 "$rows_js" || { echo "the page did not render $ENTRIES rows" >&2; exit 1; }
  wd_js 'return window.tcsMetrics.firstRender' >>render.ms
  curl -s -o /dev/null -w '%{time_total}\n' "$URL/api/services?all=1" | awk '{ print $1 * 1000 }' >>curl.ms
  t0=$(date +%s%N)
  "$TCSCTL" --json --all --host 127.0.0.1 --port "$nats_port" >/dev/null
  echo "$((($(date +%s%N) - t0) / 1000000))" >>tcsctl.ms
done
render=$(median <render.ms)
# The peak so far comes from the page loads (and the baseline's /api/services calls); reset it
# (clear_refs 5: VmHWM) so the follow-mode peak is measured alone.
hwm_loads=$(hwm_kib "$web")
echo 5 >"/proc/$web/clear_refs"
printf '\n| first render (median of %d) | ms |\n|---|---|\n' "$RUNS"
printf '| page: navigation → %d rows in the DOM | **%.0f** (%s) |\n' "$ENTRIES" "$render" "$(sort -g render.ms | sed -n '1p;$p' | paste -sd-)"
printf '| baseline: curl /api/services?all=1 | %.1f |\n' "$(median <curl.ms)"
printf '| baseline: tcsctl --json --all (NATS read) | %.0f |\n' "$(median <tcsctl.ms)"

# ---- update latency -------------------------------------------------------------------------
wd_open "$URL/" && wd_wait_js 30 "$rows_js" >/dev/null
wd_js 'window.__lat = []; const seen = new Set();
  new MutationObserver((ms) => { const now = Date.now();
    for (const m of ms) { const t = (m.target.textContent || ""); for (const x of t.matchAll(/bench (\d{13})/g)) {
      if (!seen.has(x[1])) { seen.add(x[1]); window.__lat.push(now - Number(x[1])); } } } })
  .observe(document.getElementById("fleet-body"), {subtree: true, childList: true, characterData: true});
  return true' >/dev/null
# The server's share: the same changes on the event stream, stamped on arrival.
(curl -sN "$URL/api/events" | while IFS= read -r line; do
  [[ $line == data:* ]] || continue
  now=${EPOCHREALTIME/./}
  printf '%s %s\n' "$((now / 1000))" "${#line}"
  { grep -o 'bench [0-9]\{13\}' <<<"$line" || true; } | while read -r _ t; do echo "lat $t $(((now / 1000) - t))"; done
done) >sse.out &
sse=$!
pids+=("$sse")
sleep 1  # the stream's first (whole fleet) event goes by before changes are published
t0=$(cpu_ticks "$web")
"$FLEET" change "$NATS" "$SERVICES" "$LAUNCHERS" "$CHANGE_RATE" >change.out &
changer=$!
pids+=("$changer")
sleep "$MEASURE"
kill -INT "$changer"
wait "$changer" || true
sleep 1
t1=$(cpu_ticks "$web")
changes=$(cat change.out)
wd_js 'return window.__lat' | jq -r '.[]' >dom.ms
# A row is sent again while its message stays (heartbeats): only a change's first arrival counts.
awk '$1 == "lat" && !seen[$2]++ { print $3 }' sse.out >sse.ms
printf '\n| update: status change → (%s changes, %s/s for %s s) | median ms | p99 ms | max ms | seen |\n|---|---|---|---|---|\n' \
  "$changes" "$CHANGE_RATE" "$MEASURE"
printf '| the row in the DOM | **%s** | **%s** | %s | %s |\n' "$(median <dom.ms)" "$(pct 99 <dom.ms)" "$(sort -g dom.ms | tail -n 1)" "$(wc -l <dom.ms)"
printf '| baseline: the event on the SSE stream | %s | %s | %s | %s |\n' "$(median <sse.ms)" "$(pct 99 <sse.ms)" "$(sort -g sse.ms | tail -n 1)" "$(wc -l <sse.ms)"
hz=$(getconf CLK_TCK)
busy_cpu=$(awk -v a="$t0" -v b="$t1" -v s="$((MEASURE + 1))" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz / s * 100 }')

# SSE bytes while changes flowed (one line per data: line; the first is the whole fleet)
kill "$sse" 2>/dev/null || true
read -r events bytes < <(awk 'NR > 2 && $1 != "lat" { n++; b += $2 } END { print n + 0, b + 0 }' sse.out)

# ---- follow mode: tcs-web (page open) next to tcsctl --follow -----------------------------------
"$TCSCTL" --follow --json --host 127.0.0.1 --port "$nats_port" >/dev/null 2>follow.err &
follower=$!
pids+=("$follower")
sleep 5
a0=$(cpu_ticks "$web") && b0=$(cpu_ticks "$follower")
sleep "$MEASURE"
a1=$(cpu_ticks "$web") && b1=$(cpu_ticks "$follower")
cpu() { awk -v a="$1" -v b="$2" -v s="$MEASURE" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz / s * 100 }'; }
web_hb=$(cpu "$a0" "$a1") && ctl_hb=$(cpu "$b0" "$b1")
kill -INT "$beater"
wait "$beater" || true
sleep 12  # the last heartbeats age out of "changed" (liveness ticks are changes too)
a0=$(cpu_ticks "$web") && b0=$(cpu_ticks "$follower")
sleep "$MEASURE"
a1=$(cpu_ticks "$web") && b1=$(cpu_ticks "$follower")
web_quiet=$(cpu "$a0" "$a1") && ctl_quiet=$(cpu "$b0" "$b1")
rss=$(rss_kib "$web") && hwm=$(hwm_kib "$web") && ctl_rss=$(rss_kib "$follower")
printf '\n| follow mode (%s s each) | tcs-web (page open) | baseline: tcsctl --follow |\n|---|---|---|\n' "$MEASURE"
printf '| CPU, fleet heartbeating (%% of a core) | **%s** | %s |\n' "$web_hb" "$ctl_hb"
printf '| CPU, quiet fleet | **%s** | %s |\n' "$web_quiet" "$ctl_quiet"
printf '| CPU, %s status changes/s + heartbeats | %s | — |\n' "$CHANGE_RATE" "$busy_cpu"
printf '| RSS now / peak while following (MiB) | **%.1f** / %.1f | %.1f |\n' "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
  "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')" "$(awk -v k="$ctl_rss" 'BEGIN { print k / 1024 }')"
printf '| RSS peak during the %d page loads + baseline requests (MiB) | %.1f | |\n' "$((RUNS + 1))" \
  "$(awk -v k="$hwm_loads" 'BEGIN { print k / 1024 }')"
printf '| SSE: bytes per changes event / events | %s / %s |  |\n' "$(awk -v b="$bytes" -v n="$events" 'BEGIN { printf "%.0f", n ? b / n : 0 }')" "$events"

echo
verdict() { awk -v v="$2" -v t="$3" 'BEGIN { exit !(v <= t) }' && echo "target: $1 $2 (≤ $3) PASS" || echo "target: $1 $2 (≤ $3) FAIL"; }
verdict "first render ms" "$render" 1000
verdict "update p99 ms" "$(pct 99 <dom.ms)" 1000
verdict "RSS MiB (peak while following)" "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')" 20
verdict "quiet CPU %" "$web_quiet" 1
