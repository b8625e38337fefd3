#!/usr/bin/env bash
# Regenerates the seed corpora corpus/<harness>/ from the project's own tests and vectors:
#   config_load, unitgen_render  config/*.yaml, tests/unitgen/**/*.yaml and every YAML text in
#                                the C++ tests (string literals with `services:`, `nats:`, …)
#   protocol_decode              the upstream wire vectors (one body per message structure, plus
#                                its `data` alone) and every JSON object literal in the tests
#   fleet_apply                  the upstream vectors' scenarios, as `<subject> <body>` lines in
#                                chunks of at most 40 messages
#   names                        unit names, service ids and subjects quoted in the tests
#   service_rpc, supervisor_rpc  the requests of the RPC tests (subject line, then the body)
# Files are named by their SHA-1, so a seed is kept once. Findings (reproducers of fixed bugs)
# live in corpus/<harness>/regress-* and are kept. Needs python3.
#
#   tests/fuzz/make_corpus.sh        # then review `git status tests/fuzz/corpus`
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
root=$(cd ../.. && pwd)
for d in corpus/*/; do
  [[ -d $d ]] && find "$d" -type f ! -name 'regress-*' -delete
done
exec python3 - "$root" <<'PY'
import hashlib, json, os, re, sys, glob

root = sys.argv[1]
out = os.path.join(root, "tests/fuzz/corpus")
MAX = 16 * 1024

def seed(harness, text):
    data = text.encode() if isinstance(text, str) else text
    if not data or len(data) > MAX:
        return
    d = os.path.join(out, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

# C++ string literals, adjacent ones joined ("a\n" "b" is one string), escapes undone.
LIT = re.compile(r'R"([^(\s]*)\((.*?)\)\1"|"((?:[^"\\\n]|\\.)*)"', re.S)
ESC = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}
def unescape(s):
    return re.sub(r'\\(x[0-9a-fA-F]{2}|.)', lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "x"
                  else ESC.get(m.group(1), m.group(1)), s)
def literals(path):
    src = open(path, encoding="utf-8", errors="replace").read()
    src = re.sub(r"^\s*//.*$", "", src, flags=re.M)
    result, last_end, current = [], None, None
    for m in LIT.finditer(src):
        text = m.group(2) if m.group(2) is not None else unescape(m.group(3))
        if current is not None and src[last_end:m.start()].strip() == "":
            current += text
        else:
            if current is not None:
                result.append(current)
            current = text
        last_end = m.end()
    if current is not None:
        result.append(current)
    return result

tests = sorted(glob.glob(os.path.join(root, "tests/**/*.cpp"), recursive=True) +
               glob.glob(os.path.join(root, "tests/**/*.hpp"), recursive=True))
tests = [t for t in tests if "/tests/fuzz/" not in t]
all_literals = [(t, s) for t in tests for s in literals(t)]

# --- YAML: config_load, unitgen_render
yaml_files = sorted(glob.glob(os.path.join(root, "config/*.yaml")) +
                    glob.glob(os.path.join(root, "tests/unitgen/**/*.yaml"), recursive=True))
yamls = [open(f, encoding="utf-8").read() for f in yaml_files]
yamls += [s for _, s in all_literals if re.search(r"^\s*(services|nats|registry|globals)\s*:", s, re.M)]
for y in yamls:
    seed("config_load", y)
    seed("unitgen_render", y)

# --- JSON: protocol_decode
def structure(v):
    if isinstance(v, dict):
        return "{" + ",".join(k + ":" + structure(x) for k, x in sorted(v.items())) + "}"
    if isinstance(v, list):
        return "[" + ",".join(sorted(set(structure(x) for x in v))) + "]"
    return type(v).__name__

vectors = [json.loads(l) for l in open(os.path.join(root, "tests/libtcs/vectors/upstream-traffic.jsonl"))]
seen = set()
for r in vectors:
    kind = r["subject"].split(".")[1]
    key = kind + structure(r["data"])
    if key in seen:
        continue
    seen.add(key)
    seed("protocol_decode", json.dumps({"data": r["data"], "meta": r["meta"]}, separators=(",", ":")))
    seed("protocol_decode", json.dumps(r["data"], separators=(",", ":")))
for _, s in all_literals:
    try:
        v = json.loads(s)
    except ValueError:
        continue
    if isinstance(v, (dict, list)):
        seed("protocol_decode", s)

# --- fleet_apply: scenarios as `<subject> <body>` lines, 40 messages a chunk
by_scenario = {}
for r in vectors:
    by_scenario.setdefault(r["scenario"], []).append(
        r["subject"] + " " + json.dumps({"data": r["data"], "meta": r["meta"]}, separators=(",", ":")))
for lines in by_scenario.values():
    for i in range(0, min(len(lines), 400), 40):
        seed("fleet_apply", "\n".join(lines[i:i + 40]) + "\n")

# --- names
for _, s in all_literals:
    if len(s) < 200 and re.fullmatch(r"(tcs@[^\s]*|svc\.[^\s]*|[A-Za-z0-9_.:-]+\.[A-Za-z0-9_]+)", s):
        seed("names", s)

# --- RPC requests: `<subject tail>\n<body>`
meta = '"meta":{"id":"msg","sender":"Messenger_fuzz","ts":[2026,11,25,17,30,35,22725],"trace_level":10,"message_type":"rpc","tags":[]}'
for tail, body in [("health", ""), ("stats", "{}"), ("health", "{\"data\":{}," + meta + "}"), ("reboot", ""),
                   ("start.cam.main", ""), ("health", "[1, 2]"), ("health", "{not json"),
                   ("svc.rpc.other.v1.health", "{}"), ("stats", " \n\t")]:
    seed("service_rpc", tail + "\n" + body)
for tail, body in [("list", ""), ("reload", "{}"), ("start.hello_world.main", ""),
                   ("stop.hello_world.main", "{\"data\":{}," + meta + "}"), ("restart.test.crash.once", ""),
                   ("reset-failed.hello_world.main", "{}"), ("start.nope.main", ""), ("health", ""),
                   ("start", ""), ("logs.hello_world.main", "{\"data\":{\"lines\":2,\"priority\":6}," + meta + "}"),
                   ("logs.hello_world.main", "{\"lines\":3,\"after_cursor\":\"s=1\",\"max_bytes\":50}"),
                   ("logs.hello_world.main", "{\"after_cursor\":\"bad\"}"),
                   ("logs.test.crash.once", "{\"lines\":1,\"max_bytes\":1}"),
                   ("svc.rpc.launcher.other-systemd-launcher.v1.list", "")]:
    seed("supervisor_rpc", tail + "\n" + body)

for h in sorted(os.listdir(out)):
    print(f"{h}: {len(os.listdir(os.path.join(out, h)))} seeds")
PY
