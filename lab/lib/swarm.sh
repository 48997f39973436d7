# shellcheck shell=bash
# The swarm over the lab link: three managers (mgr1..3, UCP's managers in production), the replica hosts joined as
# workers (DTR hosts are UCP workers), the spare hosts joining as workers on demand (sourced by lab.sh).
# Join tokens travel on curl's stdin, never in argv.

swarm_up() {
  local first=${LAB_MANAGERS[0]} a token h
  a=$(host_addr "$first")
  printf '{"ListenAddr":"%s:2377","AdvertiseAddr":"%s","DefaultAddrPool":["%s"],"SubnetSize":24}' \
    "$a" "$a" "$LAB_SWARM_POOL" | docker_api "$first" POST /swarm/init --data-binary @- >/dev/null ||
    die "swarm init on $first failed; see $(host_dir "$first")/log/dockerd.log"
  token=$(docker_api "$first" GET /swarm | jq -r .JoinTokens.Manager)
  [[ $token == SWMTKN-* ]] || die "could not read the manager join token from $first"
  for h in "${LAB_MANAGERS[@]:1}"; do
    a=$(host_addr "$h")
    printf '{"ListenAddr":"%s:2377","AdvertiseAddr":"%s","RemoteAddrs":["%s:2377"],"JoinToken":"%s"}' \
      "$a" "$a" "$(host_addr "$first")" "$token" | docker_api "$h" POST /swarm/join --data-binary @- >/dev/null ||
      die "$h could not join the swarm as a manager; see $(host_dir "$h")/log/dockerd.log"
  done
  token=$(docker_api "$first" GET /swarm | jq -r .JoinTokens.Worker)
  [[ $token == SWMTKN-* ]] || die "could not read the worker join token from $first"
  # In parallel; waited for by PID (a bare `wait` would also wait for the registry and S3 servers).
  local pids=()
  for h in "${LAB_HOSTS[@]}"; do
    swarm_join_with "$h" "$first" "$token" 9>&- &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  for h in "${LAB_HOSTS[@]}"; do
    [[ $(swarm_local_state "$h") == active ]] || die "$h could not join the swarm as a worker; see $(host_dir "$h")/log/dockerd.log"
  done
  wait_until 30 "3 ready managers, 3 ready workers" swarm_all_ready || die "swarm nodes not all Ready after 30 s: $(swarm_json)"
}

# swarm_join_with HOST MANAGER TOKEN: HOST joins the swarm through MANAGER with TOKEN (on curl's stdin).
swarm_join_with() {
  local h=$1 m=$2 token=$3
  printf '{"ListenAddr":"%s:2377","AdvertiseAddr":"%s","RemoteAddrs":["%s:2377"],"JoinToken":"%s"}' \
    "$(host_addr "$h")" "$(host_addr "$h")" "$(host_addr "$m")" "$token" |
    docker_api "$h" POST /swarm/join --data-binary @- >/dev/null
}

# First manager that answers the node list (one may be killed or lost on purpose; a worker never answers it).
swarm_query_host() {
  local h
  for h in "${LAB_MANAGERS[@]}"; do
    docker_api "$h" GET /nodes >/dev/null 2>&1 && echo "$h" && return 0
  done
  return 1
}

swarm_nodes() {
  local h
  for h in "${LAB_MANAGERS[@]}"; do
    docker_api "$h" GET /nodes 2>/dev/null && return 0
  done
  return 1
}

swarm_json() {
  local nodes
  nodes=$(swarm_nodes) || nodes='[]'
  jq -c --arg pool "$LAB_SWARM_POOL" --arg ol "$LAB_DTR_OL_RESERVED" '{
    nodes: [.[] | {hostname: .Description.Hostname, id: .ID, role: .Spec.Role,
                   status: .Status.State, availability: .Spec.Availability, address: .Status.Addr,
                   leader: (.ManagerStatus.Leader // false), reachability: (.ManagerStatus.Reachability // null)}]
           | sort_by(.hostname),
    managers: ([.[] | select(.Spec.Role == "manager")] | length),
    workers: ([.[] | select(.Spec.Role == "worker")] | length),
    ready: ([.[] | select(.Status.State == "ready")] | length),
    leader: ([.[] | select(.ManagerStatus.Leader == true) | .Description.Hostname][0] // null),
    defaultAddrPool: $pool,
    reservedForDtrOl: $ol
  }' <<<"$nodes"
}

# Every manager is a Ready, reachable manager and every replica host a Ready worker (a spare, if joined, does not
# count).
swarm_all_ready() {
  local nodes
  nodes=$(swarm_nodes) || return 1
  jq -e --argjson m "${#LAB_MANAGERS[@]}" --argjson hosts "$(printf '%s\n' "${LAB_HOSTS[@]}" | jq -R . | jq -s .)" \
    '([.[] | select(.Spec.Role == "manager" and .Status.State == "ready" and .ManagerStatus.Reachability == "reachable")] | length == $m) and
     all($hosts[] as $h | any(.[]; .Description.Hostname == $h and .Spec.Role == "worker" and .Status.State == "ready"); .)' \
    <<<"$nodes" >/dev/null
}

# The engine's own view: inactive, pending, active, error, locked.
swarm_local_state() { docker_api "$1" GET /info | jq -r .Swarm.LocalNodeState; }

# hostN is a Ready node of the swarm (and, if a manager, a reachable one).
swarm_node_ready() {
  local nodes
  nodes=$(swarm_nodes) || return 1
  jq -e --arg h "$1" 'any(.[]; .Description.Hostname == $h and .Status.State == "ready" and
      (.Spec.Role == "worker" or .ManagerStatus.Reachability == "reachable"))' <<<"$nodes" >/dev/null
}

# A spare joins the swarm as a worker (as DTR hosts are UCP workers in production).
swarm_join_worker() {
  local h=$1 m token
  m=$(swarm_query_host) || die "no manager answers: the swarm is not usable"
  token=$(docker_api "$m" GET /swarm | jq -r .JoinTokens.Worker)
  [[ $token == SWMTKN-* ]] || die "could not read the worker join token from $m"
  swarm_join_with "$h" "$m" "$token" || die "$h could not join the swarm as a worker; see $(host_dir "$h")/log/dockerd.log"
  wait_until 30 "$h Ready" swarm_node_ready "$h" || die "$h joined but is not a Ready node after 30 s: $(swarm_json)"
}

# A spare leaves the swarm and its node entries are removed, so the swarm lists the managers and replica hosts only.
swarm_leave_worker() {
  local h=$1 m id
  [[ $(swarm_local_state "$h") == inactive ]] ||
    docker_api "$h" POST "/swarm/leave?force=false" >/dev/null || die "$h could not leave the swarm; see $(host_dir "$h")/log/dockerd.log"
  m=$(swarm_query_host) || die "no manager answers: cannot remove $h's node"
  for id in $(docker_api "$m" GET /nodes | jq -r --arg h "$h" '.[] | select(.Description.Hostname == $h and .Spec.Role == "worker") | .ID'); do
    docker_api "$m" DELETE "/nodes/$id?force=true" >/dev/null || die "could not remove node $id ($h) from the swarm"
  done
}
