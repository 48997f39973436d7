# shellcheck shell=bash
# Lab health and the `status` JSON (sourced by lab.sh).

host_healthy() {
  local h=$1
  host_lost "$h" && return 1
  holder_pid "$h" >/dev/null && dockerd_pid "$h" >/dev/null && sshd_pid "$h" >/dev/null &&
    docker_api "$h" GET /_ping >/dev/null 2>&1
}

images_ok() { [[ ! -f $REPO/dtr-sim/build-image.sh || -f $LAB_STATE/images.ok ]]; }

# Anything of a lab present at all: names, live recorded processes or runtime files.
lab_traces() {
  local h
  ip link show "$LAB_BRIDGE" >/dev/null 2>&1 && return 0
  for h in "${LAB_ALL_HOSTS[@]}"; do
    [[ -e /run/netns/$(host_netns "$h") ]] && return 0
    ip link show "$(host_veth "$h")" >/dev/null 2>&1 && return 0
    holder_pid "$h" >/dev/null && return 0
    dockerd_pid "$h" >/dev/null && return 0
    sshd_pid "$h" >/dev/null && return 0
    [[ -n $(host_container_pids "$h") ]] && return 0
  done
  registry_pid >/dev/null && return 0
  s3_pid >/dev/null && return 0
  ucp_pid >/dev/null && return 0
  [[ -n $(find "$LAB_STATE" -mindepth 1 -maxdepth 1 ! -name last-logs 2>/dev/null) ]] && return 0
  return 1
}

# up: every host (managers, replicas and spares) healthy, the managers Ready and reachable, the replica hosts Ready
# workers, ucp-sim answering, registry, S3, images.
# A lost host (lose-host) makes the lab partial, like a killed engine: `up` would rebuild it; once the
# host is revived (and its node Ready again) the lab is up again.
lab_state() {
  local h ok=1
  ip link show "$LAB_BRIDGE" >/dev/null 2>&1 || ok=0
  if ((ok)); then
    for h in "${LAB_ALL_HOSTS[@]}"; do host_healthy "$h" || { ok=0; break; }; done
  fi
  ((ok)) && registry_pid >/dev/null && registry_healthy && s3_pid >/dev/null && s3_healthy &&
    swarm_all_ready && ucp_pid >/dev/null && ucp_healthy && images_ok && { echo up; return; }
  if lab_traces; then echo partial; else echo down; fi
}

# PIDs of everything the lab runs: namespace members, containers, registry and S3 server.
lab_pids() {
  local h
  for h in "${LAB_ALL_HOSTS[@]}"; do
    ip netns pids "$(host_netns "$h")" 2>/dev/null || true
    host_container_pids "$h"
  done
  registry_pid || true
  s3_pid || true
}

lab_memory_mb() {
  local p kb=0 v
  for p in $(lab_pids | sort -u); do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
    kb=$((kb + ${v:-0}))
  done
  echo $((kb / 1024))
}

host_json() {
  local h=$1 pid key
  pid=$(dockerd_pid "$h") || pid=null
  key=$(cut -d' ' -f1,2 "$(host_dir "$h")/ssh_host_ed25519_key.pub" 2>/dev/null) || key=
  jq -nc --arg name "$h" --arg addr "$(host_addr "$h")" --arg key "$key" \
    --arg priv "$LAB_STATE/ssh/id_ed25519" --arg sock "$(host_sock "$h")" --argjson pid "$pid" \
    --arg ns "$(host_netns "$h")" --argjson healthy "$(host_healthy "$h" && echo true || echo false)" \
    --argjson lost "$(host_lost "$h" && echo true || echo false)" \
    '{name: $name, address: $addr, sshPort: 22, user: "root", privateKeyPath: $priv,
      hostPublicKey: (if $key == "" then null else $key end), ucpNode: $name, dockerSocket: $sock,
      dockerdPid: $pid, netns: $ns, healthy: $healthy, lost: $lost}'
}

cmd_status() {
  local state h hosts=() spares=() managers=() swarm ucp_ok=false
  state=$(lab_state)
  for h in "${LAB_MANAGERS[@]}"; do managers+=("$(host_json "$h")"); done
  for h in "${LAB_HOSTS[@]}"; do hosts+=("$(host_json "$h")"); done
  for h in "${LAB_SPARES[@]}"; do spares+=("$(host_json "$h")"); done
  if [[ $state == down ]]; then swarm=null; else swarm=$(swarm_json); fi
  [[ $state != down ]] && ucp_pid >/dev/null && ucp_healthy && ucp_ok=true
  # A spare's swarmRole: the role of its node (worker after join-spare; Down while the host is lost), null
  # while it is in no swarm.
  jq -n --arg state "$state" --argjson swarm "$swarm" \
    --argjson hosts "$(printf '%s\n' "${hosts[@]}" | jq -s .)" --argjson managers "$(printf '%s\n' "${managers[@]}" | jq -s .)" --argjson spares "$(printf '%s\n' "${spares[@]}" | jq -s .)" \
    --arg reg "$LAB_REGISTRY_ADDR" --arg s3 "http://$LAB_S3_ADDR" --arg region "$LAB_S3_REGION" \
    --arg ak "$LAB_STATE/s3/access-key" --arg sk "$LAB_STATE/s3/secret-key" \
    --arg bl "$LAB_BUCKET_LAYERS" --arg bb "$LAB_BUCKET_BACKUPS" --arg st "$LAB_STATE" \
    --arg sshcfg "$LAB_STATE/ssh/config" --arg kh "$LAB_STATE/ssh/known_hosts" \
    --arg ucpca "$(cat "$LAB_STATE/ucp/ca.pem" 2>/dev/null)" --arg ucpurl "$(ucp_url)" --arg ucpuser "$LAB_UCP_USER" \
    --arg ucppw "$LAB_STATE/ucp/admin-password" --arg ucphost "$LAB_UCP_HOST" --argjson ucpok "$ucp_ok" \
    '{state: $state, stateDir: $st, managers: $managers, hosts: $hosts,
      spares: [$spares[] | .name as $n | . + {swarmRole: ([($swarm.nodes // [])[] | select(.hostname == $n)] | sort_by(.status == "down") | .[0].role // null)}],
      lost: [($managers + $hosts + $spares)[] | select(.lost) | .name],
      swarm: $swarm, registry: $reg,
      s3: {endpoint: $s3, region: $region, accessKeyPath: $ak, secretKeyPath: $sk,
           buckets: {layers: $bl, backups: $bb}},
      ssh: {config: $sshcfg, knownHosts: $kh},
      ucp: {ca: (if $ucpca == "" then null else $ucpca end),
            url: (if $state == "down" then null else $ucpurl end), host: $ucphost, username: $ucpuser,
            passwordPath: (if $state == "down" then null else $ucppw end), healthy: $ucpok, standIn: "ucp-sim"}}'
}
