#!/usr/bin/env bash
# check_layers.sh LIBTCS_DIR
#
# libtcs's module rule (doc/architecture.md): a module includes only modules below it, and no
# module reaches into another's private headers (libtcs/src/<other>/…). Each installed header
# and each folder libtcs/src/<module>/ belongs to one module; this fails, naming file, line and
# include, on any `#include "…"` that the module may not use.
set -euo pipefail
root=${1:?usage: check_layers.sh LIBTCS_DIR}

# The module each installed header belongs to.
module_of_header() {
  case $1 in
    tcs/error.hpp | tcs/status.hpp | tcs/signals.hpp | tcs/log_level.hpp | tcs/exit_code.hpp | tcs/export.hpp) echo base ;;
    tcs/config.hpp | tcs/settings.hpp | tcs/unit_name.hpp) echo config ;;
    tcs/protocol.hpp | tcs/protocol/*) echo protocol ;;
    tcs/fleet.hpp) echo fleet ;;
    tcs/log.hpp) echo log ;;
    tcs/nats.hpp | tcs/jetstream.hpp) echo nats ;;
    tcs/monitor.hpp) echo monitor ;;
    tcs/control.hpp) echo control ;;
    tcs/service.hpp | tcs/main.hpp | tcs/notify.hpp | tcs/tcs.hpp) echo runtime ;;
    *) echo unknown ;;
  esac
}

# What each module may include (itself and the modules below it).
declare -A allowed=(
  [base]="base"
  [config]="base config"
  [protocol]="base protocol"
  [fleet]="base protocol fleet"
  [log]="base log"
  [nats]="base config log nats"
  [monitor]="base config protocol log nats monitor"
  [runtime]="base config protocol log nats monitor runtime"
  [control]="base config protocol fleet log nats control"
)

status=0 checked=0
check_file() {  # FILE MODULE
  local file=$1 module=$2 n=0 line inc target
  while IFS= read -r line; do
    n=$((n + 1))
    [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]+\"([^\"]+)\" ]] || continue
    inc=${BASH_REMATCH[1]}
    checked=$((checked + 1))
    if [[ $inc == tcs/* ]]; then
      target=$(module_of_header "$inc")
    elif [[ $inc == ../* || $inc == */* ]]; then
      # A private header: only the module's own folder (src/<module>/x.hpp or a bare name).
      target=${inc#../}
      target=${target%%/*}
      [[ $file == */src/$target/* ]] || {
        echo "FAIL: ${file#"$root"/}:$n: #include \"$inc\": another module's private header (module $module)" >&2
        status=1
      }
      continue
    else
      continue  # a header of the same folder
    fi
    if [[ $target == unknown ]]; then
      echo "FAIL: ${file#"$root"/}:$n: #include \"$inc\": header of no known module (add it to $0)" >&2
      status=1
    elif [[ " ${allowed[$module]} " != *" $target "* ]]; then
      echo "FAIL: ${file#"$root"/}:$n: #include \"$inc\": module $module may not include module $target (above it or beside it)" >&2
      status=1
    fi
  done <"$file"
}

while IFS= read -r f; do
  rel=${f#"$root"/include/}
  m=$(module_of_header "$rel")
  [[ $m != unknown ]] || { echo "FAIL: $rel: installed header of no known module" >&2; status=1; continue; }
  check_file "$f" "$m"
done < <(find "$root/include" -name '*.hpp' | sort)

for dir in "$root"/src/*/; do
  m=$(basename "$dir")
  [[ -n ${allowed[$m]:-} ]] || { echo "FAIL: src/$m: a module the rule does not know" >&2; status=1; continue; }
  while IFS= read -r f; do check_file "$f" "$m"; done < <(find "$dir" -name '*.[ch]pp' | sort)
done

[[ $status -eq 0 ]] && echo "libtcs layering: $checked includes checked, none runs up or across"
exit $status
