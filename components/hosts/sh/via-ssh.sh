# shellcheck shell=sh
# dtr-ha: runs constant scripts on the stack's hosts over SSH from the machine running Pulumi, so a step can go through
# any reachable host and take an unreachable one as a fact (seconds, not the provider's dial retries). Constant text.
# Data only from the environment:
#   DTR_HA_SSH_TARGETS     one host a line: "name replica-id address port user key-type key-data" (the pinned host key)
#   DTR_HA_SSH_MANAGERS    swarm managers, same form (replica id "-"): reached with via_manager (or via_on by name),
#                          never by via_first/via_each, which go over the DTR hosts
#   DTRHA_SSH_PRIVATE_KEY  the stack's SSH private key: a secret, written to a 0600 file here, never sent to a host
#   DTR_HA_SSH_SEND        names of the variables sent to the host with SendEnv (its sshd accepts DTR_* and UCP_*)
# On each host DTR_HA_REPLICA_ID is that host's replica (the key of its ownership record).
# Functions: via_on NAME SCRIPT, via_first SCRIPT [SKIP-NAME], via_each SCRIPT, via_manager SCRIPT; `via_state` says
# `ran` or `unreachable`.

set -u
umask 077
via_dir=$(mktemp -d) || exit 1
trap 'rm -rf "$via_dir"' EXIT
printf '%s\n' "${DTRHA_SSH_PRIVATE_KEY:?DTRHA_SSH_PRIVATE_KEY must be set}" >"$via_dir/key"
case "${DTR_HA_SSH_SEND:-}" in
  *[!A-Z0-9_\ ]*)
    echo "dtr-ha ssh: DTR_HA_SSH_SEND holds characters no variable name has; nothing was run" >&2
    exit 1
    ;;
esac
via_state=''

# via_names [managers]: the names of DTR_HA_SSH_TARGETS (with `managers`: of DTR_HA_SSH_MANAGERS), in the stack's order.
via_names() {
  if [ "${1:-}" = managers ]; then via_list=${DTR_HA_SSH_MANAGERS:-}; else via_list=${DTR_HA_SSH_TARGETS:-}; fi
  printf '%s\n' "$via_list" | while read -r n _; do [ -n "$n" ] && echo "$n"; done
}

# via_on NAME SCRIPT: runs SCRIPT on host NAME with `sh -s`, returns its status; an unreachable host returns 1 with
# via_state=unreachable (a refused host key or login is a failure, never "unreachable").
via_on() {
  via_state=''
  found=''
  while read -r name id addr port user ktype kdata; do
    [ "$name" = "$1" ] && found=1 && break
  done <<TARGETS
${DTR_HA_SSH_TARGETS:-}
${DTR_HA_SSH_MANAGERS:-}
TARGETS
  if [ -z "$found" ]; then
    echo "dtr-ha ssh: no host named $1 among the stack's hosts" >&2
    return 1
  fi
  case "$name$id$addr$port$user$ktype$kdata" in
    *[!A-Za-z0-9._:@+/=-]*)
      echo "dtr-ha ssh: host $name's record holds characters no name, address, user or key has; nothing was run" >&2
      return 1
      ;;
  esac
  if [ "$port" = 22 ]; then kh_host=$addr; else kh_host="[$addr]:$port"; fi
  printf '%s %s %s\n' "$kh_host" "$ktype" "$kdata" >"$via_dir/known_hosts_$name"
  printf '%s\n' "$2" | DTR_HA_REPLICA_ID=$id ssh -F /dev/null -i "$via_dir/key" -o BatchMode=yes -o IdentitiesOnly=yes \
    -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$via_dir/known_hosts_$name" -o ConnectTimeout=5 \
    -o ConnectionAttempts=1 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR \
    -o "SendEnv=DTR_HA_REPLICA_ID ${DTR_HA_SSH_SEND:-}" -p "$port" -l "$user" "$addr" sh -s 2>"$via_dir/err_$name"
  rc=$?
  if [ "$rc" = 255 ] && grep -Eqi 'timed out|refused|no route|unreachable|could not resolve|closed by remote host|reset by peer' "$via_dir/err_$name"; then
    via_state=unreachable
    echo "dtr-ha ssh: host $name ($addr) is unreachable: $(tr '\n' ' ' <"$via_dir/err_$name")" >&2
    return 1
  fi
  via_state=ran
  cat "$via_dir/err_$name" >&2
  return "$rc"
}

# via_any WHAT SCRIPT SKIP NAME...: SCRIPT on the first reachable NAME (in order), skipping host SKIP; WHAT names the
# list in the refusal. A host that was reached but failed stops the search: it is a failure, not a reason to try another.
via_any() {
  via_what=$1 via_script=$2 via_skip=$3
  shift 3
  for n in "$@"; do
    [ "$n" = "$via_skip" ] && continue
    if via_on "$n" "$via_script"; then return 0; fi
    [ "$via_state" = unreachable ] || return 1
  done
  echo "dtr-ha ssh: no $via_what${via_skip:+ other than $via_skip} is reachable; nothing was run" >&2
  via_state=unreachable
  return 1
}

# via_first SCRIPT [SKIP]: on the first reachable DTR host, skipping host SKIP. Names never hold blanks (via_on refuses
# a record with any), so splitting the list is safe.
# shellcheck disable=SC2046
via_first() { via_any "host of the stack" "$1" "${2:-}" $(via_names); }

# via_each SCRIPT: on every host at once (a check of N hosts costs one SSH round, and a lost host's timeout is paid
# once); each host's output is then shown in the stack's order. Unreachable ones are named and passed over; fails when
# SCRIPT failed on any.
via_each() {
  via_failed=''
  for n in $(via_names); do
    (
      via_on "$n" "$1" >"$via_dir/out_$n" 2>"$via_dir/log_$n"
      echo "$? $via_state" >"$via_dir/rc_$n"
    ) &
  done
  wait
  for n in $(via_names); do
    cat "$via_dir/out_$n"
    cat "$via_dir/log_$n" >&2
    read -r via_rc via_st <"$via_dir/rc_$n" || via_rc=1 via_st=''
    [ "$via_rc" = 0 ] && continue
    if [ "$via_st" = unreachable ]; then echo "dtr-ha ssh: host $n: unreachable, not checked"; else via_failed="$via_failed $n"; fi
  done
  [ -z "$via_failed" ] || {
    echo "dtr-ha ssh: the step failed on:$via_failed" >&2
    return 1
  }
}

# via_manager SCRIPT: on the first reachable swarm manager (DTR_HA_SSH_MANAGERS, in the stack's order).
# shellcheck disable=SC2046
via_manager() { via_any "swarm manager of the stack" "$1" "" $(via_names managers); }
