# bash completion for tcsctl (installed to share/bash-completion/completions/tcsctl).
# Verbs, flags, and the live service ids of the fleet (asked from NATS with a short bound).
_tcsctl() {
  local cur prev words cword
  _init_completion 2>/dev/null || {
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  }
  local verbs="start stop restart reset-failed reload hosts logs"
  local flags="-a --all -d --detailed -v --verbose --legend -c --config --host --port --prefix --host-filter --json -f --follow
    --ascii --upstream-rules --width --timeout --listen --help --version"
  case $prev in
    -c | --config)
      COMPREPLY=($(compgen -f -- "$cur"))
      return
      ;;
    --host | --port | --prefix | --host-filter | --width | --timeout | --listen) return ;;
  esac
  # The connection options already typed, so the ids come from the same NATS.
  local i conn=() verb=""
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      -c | --config | --host | --port | --prefix) conn+=("${words[i]}" "${words[i + 1]}") ;;
      start | stop | restart | reset-failed | reload | hosts | logs) [[ -z $verb ]] && verb=${words[i]} ;;
    esac
  done
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  case $verb in
    start | stop | restart | reset-failed | logs | "")
      local ids
      ids=$(tcsctl "${conn[@]}" --timeout 2 --listen 0 --complete-ids 2>/dev/null)
      if [[ -z $verb ]]; then
        COMPREPLY=($(compgen -W "$verbs $ids" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "$ids" -- "$cur"))
      fi
      ;;
  esac
}
complete -F _tcsctl tcsctl
