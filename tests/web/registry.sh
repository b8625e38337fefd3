# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Publishing what a tcs-supervisor would, without one: registry events (doc/protocol.md §4) over
# NATS's text protocol with bash's /dev/tcp (no NATS client needed). Loopback only. Source it:
#
#   registry_event PORT crashed cam.main '"status":"error","exit_code":1,"restart_policy":"on-failure","will_restart":true,"result":"exit-code"'
#   registry_event PORT restarting cam.main '"status":"startup","restart_attempt":1,"max_restarts":3'
#
# The event-specific keys are given as a JSON fragment (ASCII); the common keys (event,
# service_id, timestamp, parent, runner_id) and the envelope's meta are added here.
# nats_message publishes any other message (a launcher's status or heartbeat) the same way.

# nats_pub PORT SUBJECT PAYLOAD: one core publish to nats-server on 127.0.0.1:PORT, confirmed by a
# PING/PONG round trip; fails on -ERR or no answer.
nats_pub() {
  local port=$1 subject=$2 payload=$3 line fd ok=1
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return 1
  IFS= read -r -t 5 line <&"$fd" || true # INFO
  printf 'CONNECT {"verbose":false,"pedantic":false,"lang":"bash","version":"0"}\r\nPUB %s %d\r\n%s\r\nPING\r\n' \
    "$subject" "${#payload}" "$payload" >&"$fd"
  while IFS= read -r -t 5 line <&"$fd"; do
    line=${line%$'\r'}
    if [[ $line == PONG ]]; then
      ok=0
      break
    fi
    if [[ $line == -ERR* ]]; then
      echo "nats_pub: nats-server refused the publish on $subject: $line" >&2
      break
    fi
  done
  exec {fd}>&-
  return "$ok"
}

# wire_time [SECONDS_AGO]: the protocol's timestamp of now (or that long ago),
# [Y, M, D, h, m, s, µs] (UTC).
wire_time() {
  local ago=${1:-0} y mo d hh mm ss us now
  now=$(date -u '+%s %6N')
  read -r y mo d hh mm ss < <(date -u -d "@$((${now% *} - ago))" '+%Y %m %d %H %M %S')
  us=${now#* }
  printf '[%d,%d,%d,%d,%d,%d,%d]' "$y" "$((10#$mo))" "$((10#$d))" "$((10#$hh))" "$((10#$mm))" "$((10#$ss))" "$((10#$us))"
}

# nats_message PORT SUBJECT DATA-JSON: publishes DATA in the protocol's envelope ({data, meta}).
nats_message() {
  local meta
  meta="{\"id\":\"msg-$RANDOM\",\"sender\":\"Messenger_regtest001\",\"ts\":$(wire_time),\"trace_level\":10,\"message_type\":\"\",\"tags\":[]}"
  nats_pub "$1" "$2" "{\"data\":$3,\"meta\":$meta}"
}

# registry_event PORT EVENT SERVICE_ID JSON-KEYS: publishes $REGISTRY_PREFIX.registry.EVENT.SERVICE_ID
# (prefix default svc). The event's timestamp is now, or $REGISTRY_AGO seconds ago. With
# $REGISTRY_LAUNCHER set (a launcher id) the service runs under launcher.<that id>.
registry_event() {
  local port=$1 event=$2 id=$3 keys=$4 ts type parent=
  ts=$(wire_time "${REGISTRY_AGO:-0}")
  type=${id%%.*}
  [[ -n ${REGISTRY_LAUNCHER:-} ]] && parent=",\"parent\":\"launcher.$REGISTRY_LAUNCHER\""
  nats_message "$port" "${REGISTRY_PREFIX:-svc}.registry.$event.$id" \
    "{\"event\":\"$event\",\"service_id\":\"$id\",\"timestamp\":$ts,$keys$parent,\"runner_id\":\"${REGISTRY_LAUNCHER:-test}.$type\"}"
}
