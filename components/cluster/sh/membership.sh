# shellcheck shell=sh
# dtr-ha replica membership: join and remove through whichever declared replica is healthy now (no special replica).
# Constant text. Data only from the environment:
#   DTR_HA_REPLICA_ID   the replica this step is about (12 hex)
#   DTR_HA_CANDIDATES   the other declared replicas, in order of preference: "id address id address ..."
#   DTR_HA_HTTPS_PORT   their HTTPS port
# Expects `dtr_join` and `dtr_remove` (DTR's own command lines, quoted once by the builder) defined before this text;
# each takes the existing replica's id as "$1". The caller appends one line: member_join or member_remove.

set -u

member_fail() {
  echo "dtr-ha membership: $*" >&2
  exit 1
}

member_inputs() {
  case "${DTR_HA_REPLICA_ID:-}" in
    [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
    *) member_fail "DTR_HA_REPLICA_ID is not a 12-hex replica id; nothing was changed" ;;
  esac
  case "${DTR_HA_HTTPS_PORT:-}" in
    '' | *[!0-9]*) member_fail "DTR_HA_HTTPS_PORT is not a port; nothing was changed" ;;
  esac
  case "${DTR_HA_CANDIDATES:-}" in
    *[!0-9a-zA-Z.:\ _-]*) member_fail "DTR_HA_CANDIDATES holds characters no replica id or address has; nothing was changed" ;;
  esac
}

# Sets `existing` to the first candidate whose /_ping answers 200; says why each other one was passed over.
member_pick() {
  existing=''
  set -f
  # shellcheck disable=SC2086 # word splitting of the id/address list is the point
  set -- $DTR_HA_CANDIDATES
  set +f
  while [ $# -ge 2 ]; do
    id=$1
    addr=$2
    shift 2
    case "$id" in
      [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
      *) member_fail "candidate $id is not a replica id; nothing was changed" ;;
    esac
    [ "$id" = "$DTR_HA_REPLICA_ID" ] && continue
    code=$(curl -sS --insecure --max-time 10 -o /dev/null -w '%{http_code}' "https://$addr:$DTR_HA_HTTPS_PORT/_ping" 2>/dev/null) || code=unreachable
    if [ "$code" = 200 ]; then
      existing=$id
      echo "dtr-ha membership: through replica $id at $addr" >&2
      return 0
    fi
    echo "dtr-ha membership: replica $id at $addr is not healthy (/_ping: $code); trying the next" >&2
  done
  return 1
}

member_join() {
  member_inputs
  member_pick || member_fail "no declared replica answers /_ping, so replica $DTR_HA_REPLICA_ID has nothing to join; nothing was changed. See npm run recover -- --stack <stack>"
  dtr_join "$existing" >&2 || member_fail "dtr join of replica $DTR_HA_REPLICA_ID through $existing failed"
  echo "dtr-ha membership: replica $DTR_HA_REPLICA_ID joined through $existing"
}

member_remove() {
  member_inputs
  member_pick || member_fail "no other declared replica answers /_ping, and DTR removes a replica only through a healthy one; nothing was changed. See npm run recover -- --stack <stack>"
  dtr_remove "$existing" >&2 || member_fail "dtr remove of replica $DTR_HA_REPLICA_ID through $existing failed"
  echo "dtr-ha membership: replica $DTR_HA_REPLICA_ID removed through $existing"
}
