#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Idle hello_world under systemd vs. the floor: memory, idle CPU and start latency.
#
# In a throwaway systemd 252 container (tests/support/nspawn.sh; needs root and
# systemd-nspawn, else exit 77) two instances of the tcs@ template run side by side, with
# drop-ins that tcs-unitgen's generator writes from the same kind of entry (same sandbox, same
# WatchdogSec, same restart settings, the same argv and environment shape):
#   tcs@hello_world:idle   the real service (libtcs runtime), interval 3600 s: idle
#   tcs@bench.floor:idle   the floor: a minimal C program compiled here with cc that sends
#                          READY=1 and then waits — pause(), or, as the unit has a watchdog,
#                          nanosleep + WATCHDOG=1 at half of WATCHDOG_USEC (what any service
#                          under this template must at least do)
# Measured for both in the same run:
#   memory  after BENCH_SETTLE s (default 10): Rss, Pss, Private_Clean, Private_Dirty from
#           /proc/<pid>/smaps_rollup
#   CPU     over BENCH_IDLE s (default 60): utime+stime (/proc/<pid>/stat, clock ticks) and
#           the sum of /proc/<pid>/task/*/schedstat (ns)
#           (BENCH_DETAIL=1 also prints them per mapping)
#   start   median over BENCH_STARTS (default 15) stop+start cycles: wall time of
#           `systemctl start` (inside the container) and ActiveEnterTimestampMonotonic −
#           ExecMainStartTimestampMonotonic (fork → READY as systemd saw it, sandbox set-up
#           included); and, for scale, fork+exec → READY=1 of the same programs without
#           systemd (a small C helper owning the notify socket)
# Targets: hello_world Private_Dirty ≤ 2 MiB, RSS ≤ 10 MiB, idle CPU ≤ 0.1 %, `systemctl
# start` ≤ 1.5 × the floor. PASS/FAIL per target; the exit status is 0 unless measuring failed.
#
# BENCH_NATS=1 (bench/service_idle_nats_bench.sh sets it) adds a second phase to the same run:
# a nats-server started inside the container (`systemd-run --unit=bench-nats nats-server -a
# 127.0.0.1 -p 4222 -m 8222 -js`; the container's private network keeps it off the host's ports), the
# config gets a `nats:` section pointing at it, hello_world is restarted (interval 3600 s,
# default 10 s heartbeats, its NATS connection checked), and memory after BENCH_SETTLE s and CPU
# over BENCH_IDLE s are measured again, next to the figures without NATS, with the same targets.
#
# Usage: bench/service_idle_bench.sh [BUILD_DIR]   (default: build; built with cmake --build)
# SC2016: single-quoted scripts expand inside the container.
# shellcheck disable=SC2016
set -uo pipefail
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(cd "${1:-$SOURCE_DIR/build}" 2>/dev/null && pwd) || {
  echo "no build dir ${1:-$SOURCE_DIR/build}: build first (cmake --build)" >&2
  exit 1
}
[[ -x "$BUILD_DIR/services/bin/hello_world" ]] || {
  echo "no $BUILD_DIR/services/bin/hello_world: build first (cmake --build $BUILD_DIR)" >&2
  exit 1
}
SETTLE=${BENCH_SETTLE:-10}
IDLE=${BENCH_IDLE:-60}
STARTS=${BENCH_STARTS:-15}
((STARTS >= 10)) || echo "note: BENCH_STARTS=$STARTS (< 10 starts: medians are noisy)" >&2

# shellcheck source=../tests/support/nspawn.sh
source "$SOURCE_DIR/tests/support/nspawn.sh"
tcs_nspawn_init service_idle_bench
command -v cc >/dev/null || tcs_skip "no C compiler (cc) for the floor program"

# ---- the floor ------------------------------------------------------------------------------
FLOOR_SRC="$TCS_TEST_TMPDIR/floor.c"
# Everything the two services map lives on disk, as on a real host: the container's overlay is
# a tmpfs, and pages of a tmpfs file count as Private_Dirty (~0.75 MiB for libtcs*.so here).
# (The floor and readytime are compiled before the DESTDIR install below, whose sync covers them.)
DISK="$TCS_TEST_TMPDIR/disk"  # on the host's /tmp; /opt/tcs-bench in the container
mkdir -m 0755 "$DISK" || tcs_fail "mkdir $DISK"
FLOOR_BIN="$DISK/floor"
cat >"$FLOOR_SRC" <<'EOF'
/* The floor: READY=1 over $NOTIFY_SOCKET, then nothing but the watchdog pings the unit asks
 * for (WATCHDOG_USEC, half the interval), or pause() without a watchdog. No libsystemd. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int notify(const char *msg) {
  const char *path = getenv("NOTIFY_SOCKET");
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t len = path ? strlen(path) : 0;
  if (len == 0 || len >= sizeof sa.sun_path) return -1;
  memcpy(sa.sun_path, path, len);
  if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  ssize_t n = sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa,
                     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
  close(fd);
  return n < 0 ? -1 : 0;
}

int main(void) {
  if (notify("READY=1") < 0) return 1;
  const char *w = getenv("WATCHDOG_USEC");
  unsigned long long half = w ? strtoull(w, NULL, 10) / 2 : 0;
  if (half == 0)
    for (;;) pause();
  struct timespec ts = {(time_t)(half / 1000000), (long)(half % 1000000) * 1000};
  for (;;) {
    nanosleep(&ts, NULL);
    notify("WATCHDOG=1");
  }
}
EOF
cc -O2 -Wall -Wextra -o "$FLOOR_BIN" "$FLOOR_SRC" || tcs_fail "compiling the floor program failed"

# readytime PROG ARG… — the program's own start-up cost without systemd: fork+exec PROG with
# NOTIFY_SOCKET on a socket of ours, print the µs until READY=1 arrives, then SIGTERM it.
READYTIME_SRC="$TCS_TEST_TMPDIR/readytime.c"
READYTIME_BIN="$DISK/readytime"
cat >"$READYTIME_SRC" <<'EOF'
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "/run/readytime.%d", (int)getpid());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return perror("socket"), 1;
  setenv("NOTIFY_SOCKET", sa.sun_path, 1);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0), dup2(null, 1), dup2(null, 2);
    execv(argv[1], argv + 1);
    _exit(127);
  }
  char buf[4096];
  struct pollfd p = {fd, POLLIN, 0};
  int ready = 0;
  while (!ready && poll(&p, 1, 10000) > 0) {
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    if (n < 0) break;
    buf[n] = '\0';
    ready = strncmp(buf, "READY=1", 7) == 0 || strstr(buf, "\nREADY=1") != NULL;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  unlink(sa.sun_path);
  if (!ready) return fprintf(stderr, "%s: no READY=1\n", argv[1]), 1;
  printf("%lld\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
  return 0;
}
EOF
cc -O2 -Wall -Wextra -o "$READYTIME_BIN" "$READYTIME_SRC" || tcs_fail "compiling readytime failed"

# ---- container ------------------------------------------------------------------------------
# The runtime component, installed on the host under $DISK/root (DESTDIR; same files as in
# the container, RUNPATH stripped) and bound over the copies tcs_nspawn_install put in the overlay.
DESTDIR="$DISK/root" cmake --install "$BUILD_DIR" --component runtime >"$TCS_TEST_TMPDIR/destdir-install.log" 2>&1 ||
  tcs_fail "cmake --install to $DISK/root failed: $(tail -n 5 "$TCS_TEST_TMPDIR/destdir-install.log")"
# Written back now: page-cache pages of a file not yet written back count as Private_Dirty of
# every process mapping them alone (as they would for ~30 s after a package install).
find "$DISK" -type f -exec sync {} + || tcs_fail "sync of $DISK failed"
tcs_nspawn_start --bind-ro="$SOURCE_DIR" --bind-ro="$BUILD_DIR" --bind-ro="$DISK:/opt/tcs-bench"
tcs_nspawn_install "$BUILD_DIR" runtime
tcs_check "binding the on-disk service files over the overlay's copies" tcs_sh '
  set -e
  cd /opt/tcs-bench/root
  find . -type f \( -name "lib*.so.*" -o -path "*/libexec/tcs/*" \) | while read -r f; do
    mount --bind -o ro "/opt/tcs-bench/root/${f#./}" "/${f#./}"
  done
  ldconfig'
fs=$(tcs_exec stat -f -c %T "$TCS_INSTALL_SERVICEDIR/hello_world" \
  "/usr/lib/x86_64-linux-gnu/libtcs.so.$(tcs_cmake_cache "$BUILD_DIR" TCS_SOVERSION)" | sort -u | paste -sd ' ')
tcs_log "hello_world and libtcs*.so are on: $fs"
CONFIG="$TCS_TEST_TMPDIR/services.yaml"
cat >"$CONFIG" <<'EOF'
# service_idle_bench.sh: two entries of the same shape (defaults: watchdog_sec 30, restart no)
registry:
  hello_world: ~
  bench.floor: /opt/tcs-bench/floor

services:
  - type: hello_world
    variant: idle
    interval: 3600

  - type: bench.floor
    variant: idle
    interval: 3600
EOF
tcs_check "installing the config" tcs_sh '
  set -e
  rm -rf /etc/tcs /etc/systemd/system/tcs@* /etc/systemd/system/tcs.target.wants
  mkdir -p /etc/tcs
  cat >/etc/tcs/services.yaml
  systemctl daemon-reload' <"$CONFIG"
HW=tcs@hello_world:idle.service
FL=tcs@bench.floor:idle.service
UNITS=("$HW" "$FL")

# The two units must differ in names and the executable only.
dropin() { tcs_exec cat "/run/systemd/generator/$1.d/50-tcs.conf"; }
norm() { sed -e 's/hello_world/TYPE/g' -e 's/bench\.floor/TYPE/g' -e 's#/usr/libexec/tcs/TYPE#EXE#' -e 's#/opt/tcs-bench/floor#EXE#'; }
unit_diff=$(diff <(dropin "$HW" | norm) <(dropin "$FL" | norm))
[[ -z "$unit_diff" ]] || tcs_fail "the two drop-ins differ beyond names and executable:"$'\n'"$unit_diff"
[[ -n "$(dropin "$HW")" ]] || tcs_fail "no generated drop-in for $HW"

show() { tcs_exec systemctl show -P "$2" "$1"; }
for u in "${UNITS[@]}"; do
  tcs_check "starting $u" tcs_exec timeout 60 systemctl start "$u"
done
declare -A PID
for u in "${UNITS[@]}"; do
  PID[$u]=$(show "$u" MainPID)
  [[ "${PID[$u]}" =~ ^[1-9][0-9]*$ ]] || tcs_fail "$u has no main PID"
done
tcs_log "running: $HW (PID ${PID[$HW]}), $FL (PID ${PID[$FL]}), WatchdogSec $(show "$HW" WatchdogUSec)"

# ---- memory after SETTLE s ------------------------------------------------------------------
tcs_log "settling ${SETTLE}s"
sleep "$SETTLE"
declare -A RSS PSS PCLEAN PDIRTY THREADS
for u in "${UNITS[@]}"; do
  rollup=$(tcs_exec cat "/proc/${PID[$u]}/smaps_rollup") || tcs_fail "cannot read smaps_rollup of $u"
  kb() { awk -v k="$1:" '$1 == k { print $2 }' <<<"$rollup"; }
  RSS[$u]=$(kb Rss) PSS[$u]=$(kb Pss) PCLEAN[$u]=$(kb Private_Clean) PDIRTY[$u]=$(kb Private_Dirty)
  THREADS[$u]=$(tcs_exec awk '/^Threads:/ { print $2 }' "/proc/${PID[$u]}/status")
  [[ -n "${RSS[$u]}" && -n "${PDIRTY[$u]}" ]] || tcs_fail "no Rss/Private_Dirty for $u"
done

if [[ "${BENCH_DETAIL:-0}" == 1 ]]; then
  for u in "${UNITS[@]}"; do
    echo "-- $u: per mapping (KiB): Rss Private_Dirty Private_Clean Anonymous"
    tcs_exec cat "/proc/${PID[$u]}/smaps" | awk '
      /^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "") ? "[anon]" : $6 }
      $1 == "Rss:" { r[name] += $2 } $1 == "Private_Dirty:" { d[name] += $2 }
      $1 == "Private_Clean:" { c[name] += $2 } $1 == "Anonymous:" { a[name] += $2 }
      END { for (n in r) if (d[n] + c[n] > 0) printf "%6d %6d %6d %6d  %s\n", r[n], d[n], c[n], a[n], n }' | sort -k2,2nr
  done
fi

# ---- CPU over IDLE s ------------------------------------------------------------------------
# cpu_sample PID → "ticks ns wall_ns": utime+stime of the whole process, the sum of its
# threads' schedstat run times, and CLOCK_REALTIME, read in one go inside the container.
cpu_sample() {
  tcs_sh 'set -e
    t=$(sed "s/^.*) //" "/proc/$1/stat" | awk "{ print \$12 + \$13 }")
    ns=$(cat /proc/"$1"/task/*/schedstat | awk "{ s += \$1 } END { printf \"%.0f\", s }")
    echo "$t $ns $(date +%s%N)"' "$1"
}
HZ=$(getconf CLK_TCK)
declare -A CPU0 CPU1
for u in "${UNITS[@]}"; do CPU0[$u]=$(cpu_sample "${PID[$u]}") || tcs_fail "cannot read CPU time of $u"; done
tcs_log "idling ${IDLE}s"
sleep "$IDLE"
for u in "${UNITS[@]}"; do CPU1[$u]=$(cpu_sample "${PID[$u]}") || tcs_fail "cannot read CPU time of $u"; done
for u in "${UNITS[@]}"; do
  [[ "$(show "$u" MainPID)" == "${PID[$u]}" ]] || tcs_fail "$u restarted during the idle window"
done
declare -A TICKS CPUNS CPUPCT
for u in "${UNITS[@]}"; do
  read -r t0 n0 w0 <<<"${CPU0[$u]}"
  read -r t1 n1 w1 <<<"${CPU1[$u]}"
  TICKS[$u]=$((t1 - t0))
  CPUNS[$u]=$((n1 - n0))
  CPUPCT[$u]=$(awk -v n="${CPUNS[$u]}" -v w="$((w1 - w0))" 'BEGIN { printf "%.4f", 100 * n / w }')
done

# ---- start latency --------------------------------------------------------------------------
# One stop+start per unit per round, alternating, timed inside the container (no nsenter in
# the measurement). A first round warms the page cache and is not counted.
start_once() {
  tcs_sh 'set -e
    systemctl stop "$1"
    a=$(date +%s%N); systemctl start "$1"; b=$(date +%s%N)
    x=$(systemctl show -P ExecMainStartTimestampMonotonic "$1")
    y=$(systemctl show -P ActiveEnterTimestampMonotonic "$1")
    echo "$(( (b - a) / 1000 )) $((y - x))"' "$1"
}
declare -A WALL EXEC
tcs_log "start latency: $STARTS stop+start cycles each"
for u in "${UNITS[@]}"; do start_once "$u" >/dev/null || tcs_fail "warm-up start of $u failed"; done
for ((i = 0; i < STARTS; i++)); do
  for u in "${UNITS[@]}"; do
    r=$(start_once "$u") || tcs_fail "start $i of $u failed"
    read -r wall exec <<<"$r"
    WALL[$u]+="$wall " EXEC[$u]+="$exec "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
declare -A WALL_MED EXEC_MED
for u in "${UNITS[@]}"; do
  WALL_MED[$u]=$(median <<<"${WALL[$u]}")
  EXEC_MED[$u]=$(median <<<"${EXEC[$u]}")
done
for u in "${UNITS[@]}"; do tcs_exec systemctl stop "$u"; done

# The same programs and arguments without systemd (no sandbox set-up): fork+exec → READY=1.
declare -A BARE BARE_MED
declare -A ARGV=([$HW]="/usr/libexec/tcs/hello_world /etc/tcs/services.yaml idle --no-banner"
  [$FL]="/opt/tcs-bench/floor /etc/tcs/services.yaml idle --no-banner")
for ((i = 0; i <= STARTS; i++)); do
  for u in "${UNITS[@]}"; do
    # shellcheck disable=SC2086  # ARGV words are split on purpose
    r=$(tcs_exec /opt/tcs-bench/readytime ${ARGV[$u]}) || tcs_fail "readytime of $u failed"
    ((i > 0)) && BARE[$u]+="$r "  # round 0 warms up
  done
done
for u in "${UNITS[@]}"; do BARE_MED[$u]=$(median <<<"${BARE[$u]}"); done

# ---- with NATS (BENCH_NATS=1) ---------------------------------------------------------------
# memory_of PID → "Rss Pss Private_Clean Private_Dirty threads" (KiB)
memory_of() {
  tcs_sh 'set -e
    awk "\$1 == \"Rss:\" { r = \$2 } \$1 == \"Pss:\" { p = \$2 } \$1 == \"Private_Clean:\" { c = \$2 }
         \$1 == \"Private_Dirty:\" { d = \$2 } END { printf \"%d %d %d %d \", r, p, c, d }" "/proc/$1/smaps_rollup"
    awk "/^Threads:/ { print \$2 }" "/proc/$1/status"' "$1"
}
# tcs_sh runs sh (dash): no /dev/tcp there.
tcs_bash() {
  local script=$1
  shift
  tcs_exec bash -c "$script" bash "$@"
}
NATS_PHASE=0
if [[ "${BENCH_NATS:-0}" == 1 ]]; then
  tcs_exec test -x /usr/sbin/nats-server -o -x /usr/bin/nats-server || tcs_skip "no nats-server in the container"
  tcs_check "starting nats-server in the container" tcs_bash '
    set -e
    systemd-run --unit=bench-nats --property=Type=exec \
      "$(command -v nats-server)" -a 127.0.0.1 -p 4222 -m 8222 -js -sd /var/tmp/bench-nats-js
    for _ in $(seq 100); do
      (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null && exit 0
      sleep 0.1
    done
    echo "nats-server does not listen on 127.0.0.1:4222"; exit 1'
  tcs_check "giving the config a nats: section" tcs_sh '
    set -e
    { printf "nats:\n  host: 127.0.0.1\n  port: 4222\n  required: true\n\n"; cat /etc/tcs/services.yaml; } >/etc/tcs/services.yaml.new
    mv /etc/tcs/services.yaml.new /etc/tcs/services.yaml
    systemctl daemon-reload'
  tcs_check "starting $HW with NATS" tcs_exec timeout 60 systemctl start "$HW"
  NPID=$(show "$HW" MainPID)
  [[ "$NPID" =~ ^[1-9][0-9]*$ ]] || tcs_fail "$HW has no main PID with NATS"
  # Its connection: one established TCP connection of the service to 127.0.0.1:4222.
  conns=$(tcs_sh 'ss -Htnp state established "( dport = :4222 )" | grep -c "pid=$1,"' "$NPID")
  [[ "$conns" == 1 ]] || tcs_fail "$HW (PID $NPID) has $conns connections to nats-server, expected 1"
  tcs_log "with NATS: $HW (PID $NPID) connected to nats-server in the container; settling ${SETTLE}s"
  sleep "$SETTLE"
  read -r NRSS NPSS NPCLEAN NPDIRTY NTHREADS <<<"$(memory_of "$NPID")" || tcs_fail "cannot read memory of $HW with NATS"
  [[ -n "$NTHREADS" ]] || tcs_fail "cannot read memory of $HW with NATS"
  N0=$(cpu_sample "$NPID") || tcs_fail "cannot read CPU time of $HW with NATS"
  tcs_log "with NATS: idling ${IDLE}s"
  sleep "$IDLE"
  N1=$(cpu_sample "$NPID") || tcs_fail "cannot read CPU time of $HW with NATS"
  [[ "$(show "$HW" MainPID)" == "$NPID" ]] || tcs_fail "$HW restarted during the idle window with NATS"
  read -r t0 n0 w0 <<<"$N0"
  read -r t1 n1 w1 <<<"$N1"
  NTICKS=$((t1 - t0)) NCPUNS=$((n1 - n0))
  NCPUPCT=$(awk -v n="$NCPUNS" -v w="$((w1 - w0))" 'BEGIN { printf "%.4f", 100 * n / w }')
  # Heartbeats reached the server: its statistics count the messages it received.
  NATS_IN=$(tcs_bash 'exec 3<>/dev/tcp/127.0.0.1/8222
    printf "GET /varz HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3
    timeout 5 cat <&3 | grep -o "\"in_msgs\": *[0-9]*" | grep -o "[0-9]*$"') || NATS_IN="?"
  tcs_exec systemctl stop "$HW"
  NATS_PHASE=1
fi

# ---- report ---------------------------------------------------------------------------------
mib() { awk -v k="$1" 'BEGIN { printf "%.2f MiB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
row() { printf '%-34s %16s %16s %9s\n' "$@"; }
echo
echo "== idle hello_world vs. the floor under tcs@.service (same run; $(nproc) CPUs, $(uname -r))"
row "" "hello_world" "floor (C)" "ratio"
row "RSS" "$(mib "${RSS[$HW]}")" "$(mib "${RSS[$FL]}")" "$(ratio "${RSS[$HW]}" "${RSS[$FL]}")"
row "PSS" "$(mib "${PSS[$HW]}")" "$(mib "${PSS[$FL]}")" "$(ratio "${PSS[$HW]}" "${PSS[$FL]}")"
row "Private_Dirty" "$(mib "${PDIRTY[$HW]}")" "$(mib "${PDIRTY[$FL]}")" "$(ratio "${PDIRTY[$HW]}" "${PDIRTY[$FL]}")"
row "Private_Clean" "$(mib "${PCLEAN[$HW]}")" "$(mib "${PCLEAN[$FL]}")" "$(ratio "${PCLEAN[$HW]}" "${PCLEAN[$FL]}")"
row "Private_Dirty + Private_Clean" "$(mib $((PDIRTY[$HW] + PCLEAN[$HW])))" "$(mib $((PDIRTY[$FL] + PCLEAN[$FL])))" \
  "$(ratio $((PDIRTY[$HW] + PCLEAN[$HW])) $((PDIRTY[$FL] + PCLEAN[$FL])))"
row "threads" "${THREADS[$HW]}" "${THREADS[$FL]}" ""
row "CPU over ${IDLE}s: utime+stime" "${TICKS[$HW]} ticks" "${TICKS[$FL]} ticks" "(1/$HZ s)"
row "CPU over ${IDLE}s: schedstat" "$(awk -v n="${CPUNS[$HW]}" 'BEGIN { printf "%.3f ms", n / 1e6 }')" \
  "$(awk -v n="${CPUNS[$FL]}" 'BEGIN { printf "%.3f ms", n / 1e6 }')" "$(ratio "${CPUNS[$HW]}" "${CPUNS[$FL]}")"
row "idle CPU" "${CPUPCT[$HW]} %" "${CPUPCT[$FL]} %" ""
row "systemctl start (median of $STARTS)" "$(awk -v u="${WALL_MED[$HW]}" 'BEGIN { printf "%.1f ms", u / 1000 }')" \
  "$(awk -v u="${WALL_MED[$FL]}" 'BEGIN { printf "%.1f ms", u / 1000 }')" "$(ratio "${WALL_MED[$HW]}" "${WALL_MED[$FL]}")"
row "fork → active (median of $STARTS)" "$(awk -v u="${EXEC_MED[$HW]}" 'BEGIN { printf "%.1f ms", u / 1000 }')" \
  "$(awk -v u="${EXEC_MED[$FL]}" 'BEGIN { printf "%.1f ms", u / 1000 }')" "$(ratio "${EXEC_MED[$HW]}" "${EXEC_MED[$FL]}")"
row "exec → READY, no systemd (median)" "$(awk -v u="${BARE_MED[$HW]}" 'BEGIN { printf "%.1f ms", u / 1000 }')" \
  "$(awk -v u="${BARE_MED[$FL]}" 'BEGIN { printf "%.1f ms", u / 1000 }')" "$(ratio "${BARE_MED[$HW]}" "${BARE_MED[$FL]}")"
echo "(systemctl start samples, µs: hello_world ${WALL[$HW]}| floor ${WALL[$FL]})"

echo
echo "== targets (hello_world)"
verdict() {  # verdict NAME OK MEASURED LIMIT
  printf '%-4s %-34s %s (target %s)\n' "$([[ $2 == 1 ]] && echo PASS || echo FAIL)" "$1" "$3" "$4"
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b) ? 1 : 0 }'; }
verdict "Private_Dirty" "$(le "${PDIRTY[$HW]}" 2048)" "$(mib "${PDIRTY[$HW]}")" "≤ 2 MiB"
verdict "RSS" "$(le "${RSS[$HW]}" 10240)" "$(mib "${RSS[$HW]}")" "≤ 10 MiB"
verdict "idle CPU" "$(le "${CPUPCT[$HW]}" 0.1)" "${CPUPCT[$HW]} %" "≤ 0.1 %"
verdict "systemctl start vs. floor" "$(le "${WALL_MED[$HW]}" "$(awk -v f="${WALL_MED[$FL]}" 'BEGIN { print 1.5 * f }')")" \
  "$(ratio "${WALL_MED[$HW]}" "${WALL_MED[$FL]}")" "≤ 1.50x"

if ((NATS_PHASE)); then
  echo
  echo "== idle hello_world with NATS connected (nats-server in the container; same run, measured after the above)"
  row "" "with NATS" "without NATS" "ratio"
  row "RSS" "$(mib "$NRSS")" "$(mib "${RSS[$HW]}")" "$(ratio "$NRSS" "${RSS[$HW]}")"
  row "PSS" "$(mib "$NPSS")" "$(mib "${PSS[$HW]}")" "$(ratio "$NPSS" "${PSS[$HW]}")"
  row "Private_Dirty" "$(mib "$NPDIRTY")" "$(mib "${PDIRTY[$HW]}")" "$(ratio "$NPDIRTY" "${PDIRTY[$HW]}")"
  row "Private_Clean" "$(mib "$NPCLEAN")" "$(mib "${PCLEAN[$HW]}")" "$(ratio "$NPCLEAN" "${PCLEAN[$HW]}")"
  row "threads" "$NTHREADS" "${THREADS[$HW]}" ""
  row "CPU over ${IDLE}s: utime+stime" "$NTICKS ticks" "${TICKS[$HW]} ticks" "(1/$HZ s)"
  row "CPU over ${IDLE}s: schedstat" "$(awk -v n="$NCPUNS" 'BEGIN { printf "%.3f ms", n / 1e6 }')" \
    "$(awk -v n="${CPUNS[$HW]}" 'BEGIN { printf "%.3f ms", n / 1e6 }')" "$(ratio "$NCPUNS" "${CPUNS[$HW]}")"
  row "idle CPU" "$NCPUPCT %" "${CPUPCT[$HW]} %" ""
  echo "(messages the server received from the start of hello_world to the end of the idle window: $NATS_IN)"
  echo
  echo "== targets (hello_world with NATS connected)"
  verdict "Private_Dirty" "$(le "$NPDIRTY" 2048)" "$(mib "$NPDIRTY")" "≤ 2 MiB"
  verdict "RSS" "$(le "$NRSS" 10240)" "$(mib "$NRSS")" "≤ 10 MiB"
  verdict "idle CPU" "$(le "$NCPUPCT" 0.1)" "$NCPUPCT %" "≤ 0.1 %"
fi
exit 0
