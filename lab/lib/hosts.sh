# shellcheck shell=bash
# Lab hosts: namespace holder, dockerd, sshd (sourced by lab.sh).

# spawn PIDFILE LOG CMD...: start CMD detached (own session, no stdin); PIDFILE gets its PID.
spawn() {
  local pidfile=$1 log=$2
  shift 2
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$log" 2>&1 9>&- &
}

cgroup_mounts_file() {
  # Root namespace's cgroup mounts, parents first: tmpfs at /sys/fs/cgroup (hybrid) or none (pure v2).
  awk '$2 ~ "^/sys/fs/cgroup(/|$)" && ($3 == "tmpfs" || $3 ~ /^cgroup/) {print $1, $2, $3, $4}' \
    /proc/self/mounts | sort -k2,2 >"$LAB_STATE/cgroup-mounts"
  [[ -s $LAB_STATE/cgroup-mounts ]] || die "no cgroup filesystem is mounted under /sys/fs/cgroup"
  echo "$LAB_STATE/cgroup-mounts"
}

holder_pid() {
  local h=$1 pid
  pid=$(read_pid "$(host_dir "$h")/holder.pid")
  pid_alive "$pid" "sleep infinity" || return 1
  # Same network namespace as the lab's: a recycled PID never matches.
  [[ $(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null) == $(stat -L -c %i "/run/netns/$(host_netns "$h")" 2>/dev/null) ]] || return 1
  echo "$pid"
}

host_write_config() {
  local h=$1 n d
  n=$(host_index "$h")
  d=$(host_dir "$h")
  mkdir -p "$d/run" "$d/docker" "$d/exec" "$d/log"
  jq -n --arg d "$d" --arg n "$n" --arg h "$h" --arg pool "$(host_pool "$h")" --arg bip "$(host_bip "$h")" '{
    "data-root": "\($d)/docker",
    "exec-root": "\($d)/exec",
    "pidfile": "\($d)/dockerd.pid",
    "hosts": ["unix:///var/run/docker.sock"],
    "bip": $bip,
    "default-address-pools": [{"base": $pool, "size": 24}],
    "insecure-registries": ["10.200.0.0/16"],
    "cgroup-parent": "/dtrlab-\($h)",
    "storage-driver": "overlay2",
    "shutdown-timeout": 3,
    "log-level": "warn"
  }' >"$d/daemon.json"
  ssh-keygen -q -t ed25519 -N '' -C "$h" -f "$d/ssh_host_ed25519_key"
  cat >"$d/sshd_config" <<CFG
ListenAddress $(host_addr "$h"):22
HostKey $d/ssh_host_ed25519_key
AuthorizedKeysFile $LAB_STATE/ssh/authorized_keys
PidFile none
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
MaxStartups 100:30:200
MaxSessions 100
AcceptEnv UCP_USERNAME UCP_PASSWORD DTR_* AWS_* S3_ENDPOINT S3_FORCE_PATH_STYLE SWARM_JOIN_TOKEN PULUMI_COMMAND_*
Subsystem sftp internal-sftp
CFG
}

host_start_holder() {
  local h=$1 d
  d=$(host_dir "$h")
  rm -f "$d/holder.pid"
  setsid ip netns exec "$(host_netns "$h")" unshare --mount --uts --propagation private -- \
    bash "$LAB_DIR/lib/host-init.sh" "$h" "$d" "$LAB_STATE/cgroup-mounts" </dev/null >>"$d/log/holder.log" 2>&1 9>&- &
  wait_until 10 "$h namespaces" holder_pid "$h" || die "$h: namespace setup failed; see $d/log/holder.log"
}

dockerd_pid() {
  local h=$1 pid
  pid=$(read_pid "$(host_dir "$h")/dockerd.pid")
  pid_alive "$pid" "$(host_dir "$h")/daemon.json" || return 1
  echo "$pid"
}

host_start_dockerd() {
  local h=$1 d holder
  d=$(host_dir "$h")
  holder=$(holder_pid "$h") || die "$h: namespace holder is not running"
  dockerd_pid "$h" >/dev/null && die "$h: dockerd already running (pid $(dockerd_pid "$h"))"
  spawn "$d/dockerd.spawn.pid" "$d/log/dockerd.log" env -i "PATH=$PATH" \
    nsenter -t "$holder" -m -u -n -- dockerd --config-file "$d/daemon.json"
}

host_wait_dockerd() {
  local h=$1
  wait_until 60 "$h dockerd" docker_api "$h" GET /_ping ||
    die "$h: dockerd did not answer on $(host_sock "$h") within 60 s; see $(host_dir "$h")/log/dockerd.log"
}

sshd_pid() {
  local h=$1 pid
  pid=$(read_pid "$(host_dir "$h")/sshd.pid")
  pid_alive "$pid" "$(host_dir "$h")/sshd_config" || return 1
  echo "$pid"
}

host_start_sshd() {
  local h=$1 d holder sshd
  d=$(host_dir "$h")
  holder=$(holder_pid "$h") || die "$h: namespace holder is not running"
  sshd=$(command -v sshd)
  nsenter -t "$holder" -m -u -n -- "$sshd" -t -f "$d/sshd_config" || die "$h: sshd rejects $d/sshd_config"
  spawn "$d/sshd.pid" "$d/log/sshd.log" env -i "PATH=$PATH" \
    nsenter -t "$holder" -m -u -n -- "$sshd" -D -f "$d/sshd_config" -E "$d/log/sshd.log"
}

lab_ssh() {
  local h=$1
  shift
  ssh -F "$LAB_STATE/ssh/config" "$h" "$@"
}

host_wait_sshd() {
  local h=$1
  wait_until 20 "$h sshd" lab_ssh "$h" true ||
    die "$h: ssh root@$(host_addr "$h") fails; see $(host_dir "$h")/log/sshd.log"
}

# PIDs of a host's containers (docker's cgroup parent /dtrlab-<host>, seen in the root namespace).
host_container_pids() {
  local h=$1
  find /sys/fs/cgroup -path "*/dtrlab-$h/*" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u
}

# Crash one host's engine: dockerd, its containerd, shims and containers die; sshd and the host stay.
host_kill_docker() {
  local h=$1 d pid cpid p comm
  d=$(host_dir "$h")
  pid=$(dockerd_pid "$h") && kill -KILL "$pid"
  cpid=$(read_pid "$d/exec/containerd/containerd.pid")
  pid_alive "$cpid" containerd && kill -KILL "$cpid"
  for p in $(ip netns pids "$(host_netns "$h")" 2>/dev/null); do
    comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    [[ $comm == containerd-shim* || $comm == docker-proxy ]] && kill -KILL "$p" 2>/dev/null
  done
  for p in $(host_container_pids "$h"); do kill -KILL "$p" 2>/dev/null || true; done
  wait_until 10 "$h engine gone" pids_gone $pid $cpid || true
}

# Stop everything of one host. The lab is thrown away, so nothing is stopped gracefully (swarm tasks
# alone would take their 10 s grace period): sshd, the engine and its containers, then any process left
# in the host's network namespace or docker cgroup (all of them were started by the lab).
host_stop_all() {
  local h=$1 d pid left
  d=$(host_dir "$h")
  pid=$(sshd_pid "$h") && stop_pid "$pid" "$d/sshd_config" "$h sshd" 5
  host_kill_docker "$h"
  for _ in 1 2 3 4 5; do
    left="$(ip netns pids "$(host_netns "$h")" 2>/dev/null) $(host_container_pids "$h")"
    [[ -z ${left//[[:space:]]/} ]] && break
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
    sleep 0.2
  done
  # Empty cgroups of the lab's containers can now go (deepest first).
  find /sys/fs/cgroup -depth -type d -path "*/dtrlab-$h*" -exec rmdir {} \; 2>/dev/null || true
}

# A lost host: the marker file says it was lost on purpose (status reports it; start-docker refuses).
host_lost() { [[ -f $(host_dir "$1")/lost ]]; }

# Lose a host the way a dead machine is lost: sshd (and every session), dockerd, containerd, shims and
# containers are killed at once (SIGKILL, nothing flushed or drained), so SSH is refused and nothing
# runs there. What stays is what a powered-off machine keeps: its disk (data-root with the swarm's
# raft/TLS state, daemon.json, host key) and, here, the namespaces that give it its address and name
# (the holder), so `revive-host` brings back the same host.
host_lose() {
  local h=$1 d pid holder left p
  d=$(host_dir "$h")
  touch "$d/lost"
  pid=$(sshd_pid "$h") && kill -KILL "$pid" 2>/dev/null
  host_kill_docker "$h"
  holder=$(holder_pid "$h") || holder=
  for _ in 1 2 3 4 5; do
    left=
    for p in $(ip netns pids "$(host_netns "$h")" 2>/dev/null) $(host_container_pids "$h"); do
      [[ $p == "$holder" ]] || left+=" $p"
    done
    [[ -z ${left// /} ]] && return 0
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
    sleep 0.2
  done
  warn "$h: processes still present after SIGKILL:$left"
}

# Bring a lost host back: the same dockerd (daemon.json, data-root) and sshd (host key), in the same
# namespaces; the engine rejoins its swarm from the state on disk.
host_revive() {
  local h=$1
  holder_pid "$h" >/dev/null || die "$h: its namespaces are gone, so it cannot be revived; \`bash lab/lab.sh up\` rebuilds the lab"
  rm -f "$(host_dir "$h")/lost"
  # The killed dockerd left its pid file; once its pid is reused by any other process, a new dockerd refuses to start
  # ("pid file found, ensure docker is not running"). No dockerd of this host runs here, so the file is stale.
  if ! dockerd_pid "$h" >/dev/null; then
    rm -f "$(host_dir "$h")/dockerd.pid" "$(host_dir "$h")/exec/containerd/containerd.pid"
  fi
  dockerd_pid "$h" >/dev/null || host_start_dockerd "$h"
  sshd_pid "$h" >/dev/null || host_start_sshd "$h"
  host_wait_dockerd "$h"
  host_wait_sshd "$h"
}
