# shellcheck shell=bash
# Three-manager swarm over the lab link (sourced by lab.sh). Join tokens travel on curl's stdin,
# never in argv.

swarm_up() {
  local first=${LAB_HOSTS[0]} a token h
  a=$(host_addr "$first")
  printf '{"ListenAddr":"%s:2377","AdvertiseAddr":"%s","DefaultAddrPool":["%s"],"SubnetSize":24}' \
    "$a" "$a" "$LAB_SWARM_POOL" | docker_api "$first" POST /swarm/init --data-binary @- >/dev/null ||
    die "swarm init on $first failed; see $(host_dir "$first")/log/dockerd.log"
  token=$(docker_api "$first" GET /swarm | jq -r .JoinTokens.Manager)
  [[ $token == SWMTKN-* ]] || die "could not read the manager join token from $first"
  for h in "${LAB_HOSTS[@]:1}"; do
    a=$(host_addr "$h")
    printf '{"ListenAddr":"%s:2377","AdvertiseAddr":"%s","RemoteAddrs":["%s:2377"],"JoinToken":"%s"}' \
      "$a" "$a" "$(host_addr "$first")" "$token" | docker_api "$h" POST /swarm/join --data-binary @- >/dev/null ||
      die "$h could not join the swarm as a manager; see $(host_dir "$h")/log/dockerd.log"
  done
  wait_until 30 "3 ready managers" swarm_all_ready || die "swarm nodes not all Ready after 30 s: $(swarm_json)"
}

# First host whose engine answers (host1 may be killed on purpose).
swarm_query_host() {
  local h
  for h in "${LAB_HOSTS[@]}"; do
    docker_api "$h" GET /_ping >/dev/null 2>&1 && echo "$h" && return 0
  done
  return 1
}

swarm_nodes() {
  local h
  h=$(swarm_query_host) || return 1
  docker_api "$h" GET /nodes 2>/dev/null
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
    ready: ([.[] | select(.Status.State == "ready")] | length),
    leader: ([.[] | select(.ManagerStatus.Leader == true) | .Description.Hostname][0] // null),
    defaultAddrPool: $pool,
    reservedForDtrOl: $ol
  }' <<<"$nodes"
}

swarm_all_ready() {
  local nodes
  nodes=$(swarm_nodes) || return 1
  jq -e --argjson n "${#LAB_HOSTS[@]}" \
    '[.[] | select(.Status.State == "ready" and .ManagerStatus.Reachability == "reachable")] | length == $n' \
    <<<"$nodes" >/dev/null
}
