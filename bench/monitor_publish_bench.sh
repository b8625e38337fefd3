#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Publish overhead of the monitoring API vs raw nats.c publishes of the same bytes, same run.
#
# Starts its own nats-server (JetStream on, no stream: status messages take the core fallback
# path, as they do wherever no stream captures them) on a free loopback port in a temp dir, then
# runs build/bench/monitor_publish_bench (see its header for what is measured).
# Target: median monitor rate >= 0.8 x median raw rate.
#
# Usage: bench/monitor_publish_bench.sh [BUILD_DIR] [MESSAGES] [ROUNDS]
set -euo pipefail
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-$SOURCE_DIR/build}
MESSAGES=${2:-50000}
ROUNDS=${3:-7}
cmake --build "$BUILD_DIR" --target monitor_publish_bench >/dev/null
command -v nats-server >/dev/null || { echo "nats-server is not installed (scripts/setup.sh)" >&2; exit 77; }
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listen: 127.0.0.1:%s\njetstream { store_dir: "%s/js" }\n' "$port" "$tmp" >"$tmp/nats.conf"
nats-server -c "$tmp/nats.conf" >"$tmp/nats.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do
  grep -q "Server is ready" "$tmp/nats.log" && break
  sleep 0.1
done
BENCH_SERVER_PID=$server "$BUILD_DIR/bench/monitor_publish_bench" "nats://127.0.0.1:$port" "$MESSAGES" "$ROUNDS"
