#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Idle hello_world with NATS connected: service_idle_bench.sh with its NATS phase (BENCH_NATS=1):
# the figures without NATS, then the same service connected to a nats-server started inside the
# throwaway container, in the same run. Targets: Private_Dirty ≤ 2 MiB, RSS ≤ 10 MiB, idle CPU
# ≤ 0.1 % (bench/README.md).
#
# Usage: bench/service_idle_nats_bench.sh [BUILD_DIR]
set -euo pipefail
BENCH_NATS=1 exec "$(dirname "${BASH_SOURCE[0]}")/service_idle_bench.sh" "$@"
