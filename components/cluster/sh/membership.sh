# shellcheck shell=sh
# dtr-ha replica membership: join, remove and upgrade through whichever declared replica is healthy now (no special
# replica). Constant text. Data only from the environment:
#   DTR_HA_MEMBER_ID    the replica this step joins or removes (12 hex; empty for an upgrade)
#   DTR_HA_CANDIDATES   the other declared replicas, in order of preference: "id address id address ..."
#   DTR_HA_HTTPS_PORT   their HTTPS port
#   UCP_USERNAME, UCP_PASSWORD  read by dtr_auth_config (DTR's API takes UCP's credentials)
# Expects `dtr_join`, `dtr_remove` and `dtr_upgrade` (DTR's own command lines, quoted once by the builder) and
# `dtr_auth_config` defined before this text: each DTR function takes the existing replica's id as "$1", dtr_remove
# the replicas to remove (comma-separated) as "$2". The caller appends one line: member_join, member_remove or
# member_upgrade.

set -u

member_fail() {
  echo "dtr-ha membership: $*" >&2
  exit 1
}

member_is_id() {
  case "$1" in
    [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) return 0 ;;
  esac
  return 1
}

member_inputs() {
  if [ "${1:-}" != upgrade ]; then
    member_is_id "${DTR_HA_MEMBER_ID:-}" || member_fail "DTR_HA_MEMBER_ID is not a 12-hex replica id; nothing was changed"
  fi
  case "${DTR_HA_HTTPS_PORT:-}" in
    '' | *[!0-9]*) member_fail "DTR_HA_HTTPS_PORT is not a port; nothing was changed" ;;
  esac
  case "${DTR_HA_CANDIDATES:-}" in
    *[!0-9a-zA-Z.:\ _-]*) member_fail "DTR_HA_CANDIDATES holds characters no replica id or address has; nothing was changed" ;;
  esac
}

# Sets `existing` and `existing_addr` to the first candidate whose /_ping answers 200; says why others were passed over.
# `answered` is set when any candidate answered at all (healthy or not).
member_pick() {
  existing=''
  existing_addr=''
  answered=''
  set -f
  # shellcheck disable=SC2086 # word splitting of the id/address list is the point
  set -- $DTR_HA_CANDIDATES
  set +f
  while [ $# -ge 2 ]; do
    id=$1
    addr=$2
    shift 2
    member_is_id "$id" || member_fail "candidate $id is not a replica id; nothing was changed"
    [ "$id" = "${DTR_HA_MEMBER_ID:-}" ] && continue
    code=$(curl -sS --insecure --max-time 10 -o /dev/null -w '%{http_code}' "https://$addr:$DTR_HA_HTTPS_PORT/_ping" 2>/dev/null) || code=unreachable
    [ "$code" = unreachable ] || [ "$code" = 000 ] || answered=1
    if [ "$code" = 200 ]; then
      existing=$id
      existing_addr=$addr
      echo "dtr-ha membership: through replica $id at $addr" >&2
      return 0
    fi
    echo "dtr-ha membership: replica $id at $addr is not healthy (/_ping: $code); trying the next" >&2
  done
  return 1
}

# Prints DTR's replica set as "id health" lines (health OK, or the first word DTR gave), read through $existing_addr.
member_status() {
  member_body=$(mktemp) || member_fail "no temporary file; nothing was changed"
  code=$(dtr_auth_config | curl -sS --insecure --max-time 30 -K - -o "$member_body" -w '%{http_code}' \
    "https://$existing_addr:$DTR_HA_HTTPS_PORT/api/v0/meta/cluster_status" 2>/dev/null) || code=unreachable
  if [ "$code" != 200 ]; then
    rm -f "$member_body"
    member_fail "DTR's cluster status through replica $existing answered $code; nothing was changed"
  fi
  # replica_health maps each member to "OK" or an error text (ee/dtr/admin/monitor-and-troubleshoot).
  tr -d '\n' <"$member_body" | sed -n 's/.*"replica_health"[[:space:]]*:[[:space:]]*{\([^}]*\)}.*/\1/p' |
    grep -o '"[0-9a-f]\{12\}"[[:space:]]*:[[:space:]]*"[^"]*"' |
    sed 's/^"\([0-9a-f]*\)"[[:space:]]*:[[:space:]]*"\([^" ]*\).*/\1 \2/'
  rm -f "$member_body"
}

member_declared() { # $1: a replica id; true when this stack declares it (the step's replica or a candidate)
  [ "$1" = "${DTR_HA_MEMBER_ID:-}" ] && return 0
  case " $DTR_HA_CANDIDATES " in
    *" $1 "*) return 0 ;;
  esac
  return 1
}

# DTR's disaster-recovery order for lost replicas with quorum kept: remove them first, then join replacements. So a
# join first removes the members the stack no longer declares that DTR reports unhealthy (the host taken out of the
# config); a declared one that is down stops the join instead (replace it in the config, or npm run recover).
member_prune() {
  statuses=$(member_status) || exit 1
  gone=''
  down=''
  while read -r id health; do
    [ -n "$id" ] || continue
    [ "$health" = OK ] && continue
    if member_declared "$id"; then down="$down $id"; else gone="${gone:+$gone,}$id"; fi
  done <<STATUS
$statuses
STATUS
  [ -z "$down" ] || member_fail "declared replica(s)$down are unhealthy in DTR's cluster status: DTR joins only into a healthy cluster. Take the lost host out of the config (up removes its replica first) or see npm run recover -- --stack <stack>; nothing was changed"
  if [ -n "$gone" ]; then
    echo "dtr-ha membership: removing replica(s) $gone (unhealthy, no longer declared) through $existing before the join" >&2
    dtr_remove "$existing" "$gone" >&2 || member_fail "dtr remove of $gone through $existing failed; nothing was joined"
  fi
}

member_join() {
  member_inputs
  member_pick || member_fail "no declared replica answers /_ping, so replica $DTR_HA_MEMBER_ID has nothing to join; nothing was changed. See npm run recover -- --stack <stack>"
  member_prune
  dtr_join "$existing" >&2 || member_fail "dtr join of replica $DTR_HA_MEMBER_ID through $existing failed"
  echo "dtr-ha membership: replica $DTR_HA_MEMBER_ID joined through $existing"
}

member_remove() {
  member_inputs
  if ! member_pick; then
    # No other replica answers at all (the cluster is gone, e.g. destroyed by the stack that rebuilt it): there is no
    # replica set left to remove it from. One that answers unhealthy (quorum lost) is a failure: DTR still holds data.
    if [ -z "$answered" ]; then
      echo "dtr-ha membership: no other declared replica answers at all: no replica set is left to remove $DTR_HA_MEMBER_ID from; nothing was changed"
      return 0
    fi
    member_fail "no other declared replica answers /_ping healthy, and DTR removes a replica only through a healthy one; nothing was changed. See npm run recover -- --stack <stack>"
  fi
  statuses=$(member_status) || exit 1
  case "
$statuses" in
    *"
$DTR_HA_MEMBER_ID "*) ;;
    *)
      echo "dtr-ha membership: replica $DTR_HA_MEMBER_ID is no longer in DTR's replica set (removed before); nothing to do"
      return 0
      ;;
  esac
  dtr_remove "$existing" "$DTR_HA_MEMBER_ID" >&2 || member_fail "dtr remove of replica $DTR_HA_MEMBER_ID through $existing failed"
  echo "dtr-ha membership: replica $DTR_HA_MEMBER_ID removed through $existing"
}

member_upgrade() {
  member_inputs upgrade
  member_pick || member_fail "no declared replica answers /_ping; DTR upgrades only a healthy cluster; nothing was changed. See npm run recover -- --stack <stack>"
  dtr_upgrade "$existing" >&2 || member_fail "dtr upgrade through $existing failed"
}

# On the leaving host once its replica is removed (DTR_HA_REPLICA_ID: that replica): wait, bounded, until DTR's remove
# has cleaned its containers and volumes from the host (remove run through another replica cleans them from there, and
# may do it asynchronously), so "removed" means the host is clean. A host that keeps them is named, not failed.
member_wait_gone() {
  member_is_id "${DTR_HA_REPLICA_ID:-}" || member_fail "DTR_HA_REPLICA_ID is not a 12-hex replica id; nothing was changed"
  i=0
  while { docker ps -a --format '{{.Names}}' && docker volume ls --format '{{.Name}}'; } 2>/dev/null | grep -q -- "-$DTR_HA_REPLICA_ID\$"; do
    i=$((i + 1))
    if [ "$i" -gt 60 ]; then
      echo "dtr-ha membership: WARNING: replica $DTR_HA_REPLICA_ID's containers or volumes are still on $(hostname) 60 s after its removal: destroy --replica-id $DTR_HA_REPLICA_ID there" >&2
      return 0
    fi
    sleep 1
  done
}
