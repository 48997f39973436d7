# shellcheck shell=bash
# Shared settings and helpers for lab.sh (sourced, not run).
# shellcheck disable=SC2034 # the settings are used by lab.sh and the other lib files that source this one
# Address plan (all inside 10.200.0.0/16; see lab/README.md):
#   10.200.0.0/24    lab link: bridge dtrlab0 = .1, host1..4 = .11/.12/.13/.14, mgr1..3 = .21/.22/.23
#   10.200.N.0/24    docker0 (--bip) of hostN (N = 1..4); 10.200.(4+N).0/24 of mgrN (N = 1..3)
#   10.200.16N.0/20  hostN's local bridge networks (default-address-pools), e.g. docker_gwbridge, for
#                    N = 1..3; host4 (the spare) takes 10.200.80.0/20, as 10.200.64.0/20 holds dtr-ol's range
#   10.200.96.0/21, .104.0/21, .112.0/21  mgr1's, mgr2's, mgr3's local bridge networks
#   10.200.64.0/24   reserved for the dtr-ol overlay (stack config); never handed out by the lab
#   10.200.128.0/17  swarm overlay pool (--default-addr-pool, /24 per network), incl. ingress
LAB_STATE=${DTR_HA_LAB_STATE:-/var/tmp/dtr-ha-lab}
LAB_BRIDGE=dtrlab0
LAB_GW=10.200.0.1
LAB_PREFIX=24
# As in production (DTR's system requirements: DTR runs on UCP worker nodes), the swarm's three managers (UCP's
# managers; `status.managers`) are hosts of their own, the replica hosts (`status.hosts`) are swarm workers, and the
# spare hosts (`status.spares`) are the same kind of host, kept out of the swarm until `join-spare`, to replace a lost
# replica host. UCP's API is ucp-sim (a stand-in) on the first manager.
LAB_MANAGERS=(mgr1 mgr2 mgr3)
LAB_HOSTS=(host1 host2 host3)
LAB_SPARES=(host4)
LAB_ALL_HOSTS=("${LAB_MANAGERS[@]}" "${LAB_HOSTS[@]}" "${LAB_SPARES[@]}")
LAB_UCP_HOST=mgr1
LAB_UCP_USER="admin"
LAB_REGISTRY_ADDR=$LAB_GW:5000
LAB_S3_ADDR=$LAB_GW:9000
LAB_S3_REGION="us-east-1"
LAB_BUCKET_LAYERS=dtr-layers
LAB_BUCKET_BACKUPS=dtr-backups
LAB_SWARM_POOL=10.200.128.0/17
LAB_DTR_OL_RESERVED=10.200.64.0/24

LAB_T0=${EPOCHREALTIME/[.,]/}

# host<N> / mgr<N> -> N
host_index() { echo "${1##*[a-z]}"; }
is_manager() { [[ $1 == mgr* ]]; }
host_addr() { if is_manager "$1"; then echo "10.200.0.2$(host_index "$1")"; else echo "10.200.0.1$(host_index "$1")"; fi; }
# docker0: 10.200.N.1/24 for hostN, 10.200.(4+N).1/24 for mgrN.
host_bip() {
  local n
  n=$(host_index "$1")
  is_manager "$1" && n=$((n + 4))
  echo "10.200.$n.1/24"
}
# hostN's local bridge pool: 10.200.16N.0/20, skipping 10.200.64.0/20 (dtr-ol's reserved /24 lies in it); mgrN's:
# 10.200.(88+8N).0/21.
host_pool() {
  local n
  n=$(host_index "$1")
  if is_manager "$1"; then
    echo "10.200.$((88 + n * 8)).0/21"
    return
  fi
  ((n >= 4)) && n=$((n + 1))
  echo "10.200.$((n * 16)).0/20"
}
host_netns() { echo "dtrlab-$1"; }
# Root-side veth name (<= 15 chars): dtrlab-h1, dtrlab-m1.
host_veth() { echo "dtrlab-${1:0:1}$(host_index "$1")"; }
host_dir() { echo "$LAB_STATE/hosts/$1"; }
# The host's /run is a bind of this directory, so its daemon socket is reachable from the root namespace.
host_sock() { echo "$(host_dir "$1")/run/docker.sock"; }

valid_host() {
  local h
  for h in "${LAB_ALL_HOSTS[@]}"; do [[ $1 == "$h" ]] && return 0; done
  die "unknown host '$1': use one of ${LAB_ALL_HOSTS[*]}"
}
is_replica_host() {
  local h
  for h in "${LAB_HOSTS[@]}"; do [[ $1 == "$h" ]] && return 0; done
  return 1
}
is_spare() {
  local h
  for h in "${LAB_SPARES[@]}"; do [[ $1 == "$h" ]] && return 0; done
  return 1
}

elapsed() {
  local now=${EPOCHREALTIME/[.,]/}
  local us=$((now - LAB_T0))
  printf '%d.%d' $((us / 1000000)) $((us % 1000000 / 100000))
}
step() { printf '[lab %6ss] %s\n' "$(elapsed)" "$*" >&2; }
warn() { printf '[lab %6ss] WARNING: %s\n' "$(elapsed)" "$*" >&2; }
die() {
  printf 'lab: error: %s\n' "$*" >&2
  exit 1
}

# pid_alive PID [CMDLINE-SUBSTRING]: true when PID runs and (if given) its cmdline contains the string,
# so a recycled PID is never mistaken for one of ours.
pid_alive() {
  local pid=$1 want=${2:-}
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -d /proc/$pid ]] || return 1
  # A zombie (dead, not yet reaped: our daemons' parent may not reap) counts as gone.
  local stat
  stat=$(<"/proc/$pid/stat") 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} == Z ]] && return 1
  [[ -z $want ]] && return 0
  local cmd
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *"$want"* ]]
}

pids_gone() {
  local p
  for p; do pid_alive "$p" && return 1; done
  return 0
}

read_pid() { [[ -s $1 ]] && tr -dc '0-9' <"$1" || true; }

# stop_pid PID MATCH NAME [TIMEOUT_S]: TERM, wait, then KILL.
stop_pid() {
  local pid=$1 want=$2 name=$3 timeout=${4:-10} i
  pid_alive "$pid" "$want" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    pid_alive "$pid" "$want" || return 0
    sleep 0.1
  done
  warn "$name (pid $pid) ignored SIGTERM for ${timeout}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" "$want" || return 0
    sleep 0.1
  done
  warn "$name (pid $pid) still present after SIGKILL"
}

# wait_until SECONDS DESCRIPTION CMD...: poll CMD every 0.1 s.
wait_until() {
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 10; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# Engine API call on a host's socket from the root namespace.
docker_api() {
  local host=$1 method=$2 path=$3
  shift 3
  curl -sS --fail-with-body --max-time 20 --unix-socket "$(host_sock "$host")" -X "$method" \
    -H 'Content-Type: application/json' "$@" "http://docker$path"
}
hdocker() {
  local host=$1
  shift
  DOCKER_HOST="unix://$(host_sock "$host")" docker "$@"
}
