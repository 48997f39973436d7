# shellcheck shell=sh
# dtr-ha ownership record (POSIX sh; sourced text, constant for a library version).
#
# Which Pulumi stack owns the DTR replica on this host right now. The record is a Docker volume on the host's own engine,
# dtrha_owner_<replica id>, whose labels say the owner, since when, and the owner before it. It lives with the engine, so
# each host carries its own record and a wiped host carries none. A rebuild into a new stack takes it over; every
# destructive step of a stack first asks it, so the old stack's `destroy` or `up` cannot touch the rebuilt cluster.
#
# Data comes only from the environment, never from this text:
#   DTR_HA_OWNER       this stack (organization/project/stack)
#   DTR_HA_REPLICA_ID  the replica on this host (12 hex)
#   DTR_HA_DESTROY_EXISTING  "true" when the restore may destroy replicas found on the host (take-over only)
# The caller appends one line calling a function below.

owner_fail() {
  echo "dtr-ha ownership: $*" >&2
  exit 1
}

owner_inputs() {
  case "${DTR_HA_REPLICA_ID:-}" in
    [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
    *) owner_fail "DTR_HA_REPLICA_ID is not a 12-hex replica id; nothing was changed" ;;
  esac
  case "${DTR_HA_OWNER:-}" in
    "" | *[!A-Za-z0-9._/-]*) owner_fail "DTR_HA_OWNER is empty or not a stack name; nothing was changed" ;;
  esac
  owner_vol="dtrha_owner_$DTR_HA_REPLICA_ID"
}

# Sets owner, since, previous, how ("" when there is no record). An engine that does not answer is an error, never "no owner".
owner_read() {
  owner_fetch || owner_fail "the Docker engine on $(hostname) did not answer; nothing was changed"
}

# As owner_read, but returns 1 when the engine does not answer.
owner_fetch() {
  owner_inputs
  vols=$(docker volume ls --quiet --filter "name=$owner_vol") || return 1
  owner=''
  since=''
  previous=''
  how=''
  for v in $vols; do
    [ "$v" = "$owner_vol" ] || continue
    owner=$(docker volume inspect --format '{{index .Labels "dtr-ha.owner"}}' "$owner_vol") || owner_fail "cannot read $owner_vol on $(hostname)"
    since=$(docker volume inspect --format '{{index .Labels "dtr-ha.since"}}' "$owner_vol")
    previous=$(docker volume inspect --format '{{index .Labels "dtr-ha.previous"}}' "$owner_vol")
    how=$(docker volume inspect --format '{{index .Labels "dtr-ha.how"}}' "$owner_vol")
  done
  [ -n "$owner" ] || owner_of_host
}

# No record of this replica here. A restore gives its host the backed-up replica's id, so another stack's replica of
# another id may run on this host (and this stack's own record may be gone with a reinstalled host): when a replica
# running here has a record naming another stack, that stack owns this host now. Records without a replica running
# here (left over) are not taken as an owner.
owner_of_host() {
  records=$(docker volume ls --quiet --filter "name=dtrha_owner_") || return 1
  [ -n "$records" ] || return 0
  here=$(docker ps -a --format '{{.Names}}') || return 1
  for rid in $(printf '%s
' "$here" | sed -n 's/^dtr-[a-z0-9-]*-\([0-9a-f]\{12\}\)$/\1/p' | sort -u); do
    [ "$rid" = "$DTR_HA_REPLICA_ID" ] && continue
    o=$(docker volume inspect --format '{{index .Labels "dtr-ha.owner"}}' "dtrha_owner_$rid" 2>/dev/null) || continue
    [ -n "$o" ] && [ "$o" != "$DTR_HA_OWNER" ] || continue
    owner=$o
    since=$(docker volume inspect --format '{{index .Labels "dtr-ha.since"}}' "dtrha_owner_$rid")
    previous=$(docker volume inspect --format '{{index .Labels "dtr-ha.previous"}}' "dtrha_owner_$rid")
    how=host
    return 0
  done
  return 0
}

owner_write() { # $1: the previous owner, $2: how this stack got it (claim or take_over)
  if docker volume inspect "$owner_vol" >/dev/null 2>&1; then
    docker volume rm "$owner_vol" >/dev/null || owner_fail "cannot replace $owner_vol on $(hostname)"
  fi
  docker volume create --label "dtr-ha.owner=$DTR_HA_OWNER" --label "dtr-ha.since=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --label "dtr-ha.previous=$1" --label "dtr-ha.how=$2" --label "dtr-ha.replica=$DTR_HA_REPLICA_ID" "$owner_vol" >/dev/null ||
    owner_fail "cannot write $owner_vol on $(hostname)"
  owner_read
}

owner_line() {
  echo "dtr-ha owner: replica $DTR_HA_REPLICA_ID on $(hostname) belongs to $owner since $since${previous:+ (before: $previous)}"
}

owner_elsewhere() {
  echo "dtr-ha ownership: replica $DTR_HA_REPLICA_ID on $(hostname) belongs to stack $owner since $since${previous:+ (taken over from $previous)}; this stack ($DTR_HA_OWNER) no longer owns it. $1 To retire this stack's state without running any delete: npm run retire -- --stack <this stack> --yes (or pulumi destroy: each delete skips what the stack does not own)." >&2
}

# Install or join (and a restore's first up): claim a free replica slot, keep our own, refuse another stack's.
owner_claim() {
  owner_read
  if [ -z "$owner" ]; then
    owner_write '' claim
  elif [ "$owner" != "$DTR_HA_OWNER" ]; then
    owner_elsewhere "Nothing was changed."
    exit 1
  fi
  owner_line
}

# Every later up: as claim, and a slot taken over by a restore becomes a plain claim (the restore is over), so a later
# switch of this stack to restore is refused by owner_take_over. Another stack's record stops the up before any step
# that changes the cluster.
owner_check() {
  if ! owner_fetch; then
    # A replica host whose engine is down is a degraded cluster, not a reason to stop the up (a backup from a healthy
    # replica must still run): every destructive step on this host reads the record again and fails without it.
    echo "dtr-ha ownership: WARNING: the Docker engine on $(hostname) did not answer; replica $DTR_HA_REPLICA_ID's owner was not checked" >&2
    echo "dtr-ha owner: replica $DTR_HA_REPLICA_ID on $(hostname): engine not answering, owner unknown"
    return 0
  fi
  if [ -z "$owner" ]; then
    owner_write '' claim
  elif [ "$owner" != "$DTR_HA_OWNER" ]; then
    owner_elsewhere "Nothing was changed."
    exit 1
  elif [ "$how" != claim ]; then
    owner_write "$previous" claim
  fi
  owner_line
}

# Restore into this stack: take the slot over from whichever stack had it (the rebuild is the transfer), once. A re-run
# of an interrupted restore finds its own take-over and goes on.
owner_take_over() {
  owner_read
  if [ "$owner" = "$DTR_HA_OWNER" ] && [ "$how" = take_over ]; then
    owner_line
    return 0
  fi
  if [ "$owner" = "$DTR_HA_OWNER" ]; then
    owner_fail "this stack already owns replica $DTR_HA_REPLICA_ID on $(hostname) (since $since): a stack that installed a cluster is not switched to restore in place (its joins would not run again). Restore into a fresh stack: npm run rebuild -- --from <manifest> --stack <new>. Nothing was changed."
  fi
  found=$(docker ps -a --format '{{.Names}}' | sed -n 's/^dtr-[a-z0-9-]*-\([0-9a-f]\{12\}\)$/\1/p' | sort -u | tr '\n' ' ') ||
    owner_fail "the Docker engine on $(hostname) did not answer; nothing was changed"
  if [ -n "${found% }" ] && [ "${DTR_HA_DESTROY_EXISTING:-}" != true ]; then
    owner_fail "DTR replicas ${found% } still exist on $(hostname)${owner:+ (owned by stack $owner)}; a restore would destroy them. Set restore.destroyExisting: true if that is intended. Nothing was changed."
  fi
  owner_write "$owner" take_over
  owner_supersede
  owner_line
}

# A restore restores with the backed-up replica's id, which may differ from the id another stack had on this host: that
# stack's record (another id) describes a replica the restore clears, so it becomes this stack's too ("superseded"), and
# the old stack's check and guards on this host then name this stack instead of finding their own record.
owner_supersede() {
  others=$(docker volume ls --quiet --filter "name=dtrha_owner_") || owner_fail "the Docker engine on $(hostname) did not answer; nothing was changed"
  for v in $others; do
    case $v in
      "$owner_vol") continue ;;
      dtrha_owner_[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
      *) continue ;;
    esac
    was=$(docker volume inspect --format '{{index .Labels "dtr-ha.owner"}}' "$v") || owner_fail "cannot read $v on $(hostname)"
    [ "$was" = "$DTR_HA_OWNER" ] && continue
    docker volume rm "$v" >/dev/null || owner_fail "cannot replace $v on $(hostname)"
    docker volume create --label "dtr-ha.owner=$DTR_HA_OWNER" --label "dtr-ha.since=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
      --label "dtr-ha.previous=$was" --label "dtr-ha.how=superseded" --label "dtr-ha.replica=${v#dtrha_owner_}" \
      --label "dtr-ha.by=$DTR_HA_REPLICA_ID" "$v" >/dev/null || owner_fail "cannot write $v on $(hostname)"
    echo "dtr-ha owner: replica ${v#dtrha_owner_}'s record on $(hostname) (stack ${was:-none}) is superseded by replica $DTR_HA_REPLICA_ID" >&2
  done
}

# Before a destructive step (destroy, remove, upgrade): go on only when this stack owns the replica or no
# stack does. Another stack's replica is left alone and the step succeeds, so `pulumi destroy` of an old stack
# completes without touching the cluster it no longer owns.
owner_guard() {
  owner_read
  if [ -n "$owner" ] && [ "$owner" != "$DTR_HA_OWNER" ]; then
    owner_elsewhere "Nothing was destroyed or changed."
    echo "dtr-ha ownership: skipped (owned by $owner)"
    exit 0
  fi
}

# Like owner_guard, for steps whose skipping would hide a requested change (an upgrade): refuse instead.
owner_require() {
  owner_read
  if [ -n "$owner" ] && [ "$owner" != "$DTR_HA_OWNER" ]; then
    owner_elsewhere "Nothing was changed."
    exit 1
  fi
}

# The stack lets go of a replica it destroyed; another stack's record stays.
owner_release() {
  owner_read
  if [ "$owner" = "$DTR_HA_OWNER" ]; then
    docker volume rm "$owner_vol" >/dev/null || owner_fail "cannot remove $owner_vol on $(hostname)"
    # The records this replica superseded on the host go with it.
    for v in $(docker volume ls --quiet --filter "name=dtrha_owner_"); do
      [ "$(docker volume inspect --format '{{index .Labels "dtr-ha.by"}}' "$v" 2>/dev/null)" = "$DTR_HA_REPLICA_ID" ] || continue
      [ "$(docker volume inspect --format '{{index .Labels "dtr-ha.owner"}}' "$v")" = "$DTR_HA_OWNER" ] && docker volume rm "$v" >/dev/null
    done
    echo "dtr-ha owner: released replica $DTR_HA_REPLICA_ID on $(hostname)"
  elif [ -n "$owner" ]; then
    owner_elsewhere "Its record stays."
  fi
}
