# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Publishing what a tcs-supervisor would, without one: registry events (doc/protocol.md §4) over
# NATS's text protocol with bash's /dev/tcp (no NATS client needed). Loopback only. Source it:
#
#   registry_event PORT crashed cam.main '"status":"error","exit_code":1,"restart_policy":"on-failure","will_restart":true,"result":"exit-code"'
#   registry_event PORT restarting cam.main '"status":"startup","restart_attempt":1,"max_restarts":3'
#
# The event-specific keys are given as a JSON fragment (ASCII); the common keys (event,
# service_id, timestamp = now, runner_id) and the envelope's meta are added here.

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

# wire_now: the protocol's timestamp of now, [Y, M, D, h, m, s, µs] (UTC).
wire_now() {
  local y mo d hh mm ss us
  read -r y mo d hh mm ss us < <(date -u '+%Y %m %d %H %M %S %6N')
  printf '[%d,%d,%d,%d,%d,%d,%d]' "$y" "$((10#$mo))" "$((10#$d))" "$((10#$hh))" "$((10#$mm))" "$((10#$ss))" "$((10#$us))"
}

# registry_event PORT EVENT SERVICE_ID JSON-KEYS [PREFIX]: publishes <PREFIX>.registry.EVENT.SERVICE_ID.
registry_event() {
  local port=$1 event=$2 id=$3 keys=$4 prefix=${5:-svc} ts meta type
  ts=$(wire_now)
  type=${id%%.*}
  meta="{\"id\":\"msg-$RANDOM\",\"sender\":\"Messenger_regtest001\",\"ts\":$ts,\"trace_level\":10,\"message_type\":\"\",\"tags\":[]}"
  nats_pub "$port" "$prefix.registry.$event.$id" \
    "{\"data\":{\"event\":\"$event\",\"service_id\":\"$id\",\"timestamp\":$ts,$keys,\"runner_id\":\"test.$type\"},\"meta\":$meta}"
}
