#!/usr/bin/env bash
# Checks a running lab end to end, from the root namespace, the way the stacks use it: SSH sessions on
# each host, the swarm (managers mgr1..3 apart, the replica hosts host1..3 workers), ucp-sim (the stand-in for UCP's
# API: TLS from the lab's UCP CA, login, bearer auth, only network calls), a cross-host attachable overlay, the host's own socket inside a container,
# the registry, S3 versioning and object lock, a dockerd crash + restart, the spare host4 (SSH with its
# pinned key, joining as a worker, the overlay and the registry from it), and whole hosts lost and revived.
# Leaves the lab as found (host4 in no swarm).
#   bash lab/smoke.sh            (the lab must be up: bash lab/lab.sh up)
# Prints one "ok"/"FAIL" line per check and closes with "N passed, N failed"; exits 1 on any failure.
set -uo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LAB_DIR/.." && pwd)
source "$LAB_DIR/lib/common.sh"
source "$LAB_DIR/lib/services.sh"

PASS=0 FAIL=0
check() { # check NAME CMD...: CMD's exit status decides
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    PASS=$((PASS + 1))
    printf 'ok   - %s\n' "$name"
  else
    FAIL=$((FAIL + 1))
    printf 'FAIL - %s\n%s\n' "$name" "$(sed 's/^/       /' <<<"$out" | tail -15)"
  fi
}
finish() {
  echo "lab smoke: $PASS passed, $FAIL failed"
  ((FAIL == 0))
}

status=$(bash "$LAB_DIR/lab.sh" status) || { echo "lab smoke: cannot read lab status"; exit 1; }
if [[ $(jq -r .state <<<"$status") != up ]]; then
  echo "lab smoke: the lab is not up (state $(jq -r .state <<<"$status")); run: bash lab/lab.sh up"
  exit 1
fi
SSHCFG=$(jq -r .ssh.config <<<"$status")
on() { local h=$1; shift; ssh -F "$SSHCFG" "$h" "$@"; }
IMG=$LAB_REGISTRY_ADDR/dtr-sim:$(tr -d '[:space:]' <"$REPO/dtr-sim/VERSION" 2>/dev/null)
NET=lab-smoke-ol

t_host_view() { # each SSH session sees its own host: hostname, daemon name, swarm role (worker; manager; the spare in no swarm)
  local h=$1 want=${2:-active false} out
  out=$(on "$h" 'echo "$(hostname) ${DOCKER_HOST:-nodockerhost}"; docker info --format "{{.Name}} {{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"') || return 1
  echo "$out"
  [[ $out == "$h nodockerhost"$'\n'"$h $want" ]]
}
t_accept_env() { # AcceptEnv passes UCP_PASSWORD / DTR_* and drops others
  local h=$1 out
  out=$(UCP_PASSWORD=smoke-pw DTR_SMOKE=1 LAB_SMOKE_OTHER=x ssh -F "$SSHCFG" -o SendEnv=UCP_PASSWORD \
    -o SendEnv=DTR_SMOKE -o SendEnv=LAB_SMOKE_OTHER "$h" 'echo "${UCP_PASSWORD:-} ${DTR_SMOKE:-} ${LAB_SMOKE_OTHER:-none}"')
  echo "$out"
  [[ $out == "smoke-pw 1 none" ]]
}
t_spare_status() { # status: hosts are the replica hosts only, spares is host4 (same shape), in no swarm yet
  jq -e '[.hosts[].name] == ["host1","host2","host3"] and [.spares[].name] == ["host4"] and .lost == []
    and [.managers[].name] == ["mgr1","mgr2","mgr3"] and ((.hosts[0] | keys) == (.managers[0] | keys))
    and (.ucp | .url == "https://10.200.0.21" and .healthy and .host == "mgr1" and .username == "admin")
    and (.spares[0] | .address == "10.200.0.14" and .healthy and (.lost | not) and .swarmRole == null and (.hostPublicKey | startswith("ssh-ed25519 ")))
    and ((.hosts[0] | keys) - (.spares[0] | keys) == [])' <<<"$status"
}
t_pinned_key() { # host4's host key is pinned in known_hosts, and a wrong pin is refused
  local kh key bad out
  kh=$(jq -r .ssh.knownHosts <<<"$status")
  key=$(jq -r .spares[0].hostPublicKey <<<"$status")
  grep -qxF "10.200.0.14,host4 $key" "$kh" || { echo "host4's key is not pinned in $kh"; return 1; }
  bad=$(mktemp)
  printf '10.200.0.14,host4 %s\n' "$(jq -r .hosts[0].hostPublicKey <<<"$status")" >"$bad"
  out=$(ssh -F "$SSHCFG" -o UserKnownHostsFile="$bad" host4 true 2>&1) && { rm -f "$bad"; echo "accepted a wrong host key"; return 1; }
  rm -f "$bad"
  echo "wrong pin: $out"
  [[ $out == *"HOST IDENTIFICATION HAS CHANGED"* || $out == *"verification failed"* ]]
}
t_swarm() { # three managers apart; the replica hosts Ready workers (a worker cannot list nodes)
  local out
  out=$(on mgr1 'docker node ls --format "{{.Hostname}} {{.Status}} {{.ManagerStatus}}"' | sort) || return 1
  echo "$out"
  [[ $(grep -cE '^mgr[123] Ready (Leader|Reachable)$' <<<"$out") == 3 ]] || return 1
  [[ $(grep -cE '^host[123] Ready $' <<<"$out") == 3 ]] || return 1
  [[ $(wc -l <<<"$out") == 6 ]] || return 1
  out=$(on host1 'docker node ls' 2>&1) && { echo "a worker listed the nodes: $out"; return 1; }
  [[ $out == *"not a swarm manager"* ]]
}
t_ucp() { # ucp-sim: its certificate verifies only with the lab's UCP CA; login; bearer; network calls only
  local ca url pwfile token out code
  ca=$LAB_STATE/ucp/ca.pem url=$(jq -r .ucp.url <<<"$status") pwfile=$(jq -r .ucp.passwordPath <<<"$status")
  [[ $(stat -c %a "$pwfile") == 600 ]] || { echo "$pwfile is not mode 600"; return 1; }
  out=$(curl -sS --max-time 5 "$url/_ping" 2>&1) && { echo "verified without the lab's CA: $out"; return 1; }
  echo "without the CA: $out"
  [[ $(curl -sS --max-time 5 --cacert "$ca" "$url/_ping") == OK ]] || return 1
  code=$(jq -nc --arg u admin --arg p wrong '{username: $u, password: $p}' |
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$ca" -d @- "$url/auth/login")
  [[ $code == 401 ]] || { echo "wrong password: $code"; return 1; }
  # The password goes to curl on stdin, never in argv.
  token=$(jq -Rc '{username: "admin", password: .}' <"$pwfile" |
    curl -sS --fail --max-time 5 --cacert "$ca" -d @- "$url/auth/login" | jq -r .auth_token) || return 1
  [[ -n $token && $token != null ]] || { echo "no auth_token"; return 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$ca" "$url/info")
  [[ $code == 401 ]] || { echo "no token: $code"; return 1; }
  out=$(printf 'header = "Authorization: Bearer %s"\n' "$token" | curl -sS --fail --max-time 5 --cacert "$ca" -K - "$url/info" |
    jq -r '"\(.Name) \(.Swarm.ControlAvailable)"') || return 1
  echo "GET /info through ucp-sim: $out"
  [[ $out == "mgr1 true" ]] || return 1
  code=$(printf 'header = "Authorization: Bearer %s"\n' "$token" | curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$ca" -K - "$url/containers/json")
  [[ $code == 403 ]] || { echo "GET /containers/json: $code"; return 1; }
}
t_image() { curl -sf "http://$LAB_REGISTRY_ADDR/v2/dtr-sim/tags/list" | grep -q "\"${IMG##*:}\""; }
t_overlay() { # a server on host3, clients on host1 and host2 reach it by name over VXLAN
  on mgr1 "docker network rm $NET >/dev/null 2>&1; docker network create -d overlay --attachable $NET" >/dev/null || return 1
  on host3 "docker rm -f smoke-srv >/dev/null 2>&1; docker run -d --name smoke-srv --network $NET --entrypoint node $IMG \
    -e 'require(\"http\").createServer((q,r)=>r.end(require(\"os\").hostname()+\" on host3\")).listen(8080)'" >/dev/null || return 1
  local h out
  for h in host1 host2; do
    out=$(on "$h" "docker run --rm --network $NET --entrypoint node $IMG -e '
      const get=n=>require(\"http\").get(\"http://smoke-srv:8080\",r=>r.pipe(process.stdout)).on(\"error\",e=>n>0?setTimeout(()=>get(n-1),500):(console.error(e.message),process.exit(1)));get(10)'") || return 1
    echo "$h -> $out"
    [[ $out == *" on host3" ]] || return 1
  done
}
t_socket() { # the standard socket path inside a container is that host's own daemon
  local out
  out=$(on host2 "docker run --rm -v /var/run/docker.sock:/var/run/docker.sock --entrypoint node $IMG -e '
    require(\"http\").get({socketPath:\"/var/run/docker.sock\",path:\"/info\"},r=>{let b=\"\";r.on(\"data\",d=>b+=d);r.on(\"end\",()=>console.log(JSON.parse(b).Name))})'") || return 1
  echo "$out"
  [[ $out == host2 ]]
}
t_s3() { # a versioned put in dtr-layers; in dtr-backups a version under retention cannot be deleted
  local f until vid lvid out
  f=$(mktemp)
  echo "smoke $(date +%s%N)" >"$f"
  lvid=$(s3_call PUT "/$LAB_BUCKET_LAYERS/smoke/obj" -H "x-amz-content-sha256: $(sha256sum <"$f" | cut -d' ' -f1)" \
    --data-binary "@$f" -D - -o /dev/null | tr -d '\r' | awk -F': ' 'tolower($1) == "x-amz-version-id" {print $2}')
  [[ -n $lvid ]] || { echo "no version id from dtr-layers"; return 1; }
  until=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
  vid=$(s3_call PUT "/$LAB_BUCKET_BACKUPS/smoke/locked" -H "x-amz-content-sha256: $(sha256sum <"$f" | cut -d' ' -f1)" \
    -H "Content-MD5: $(openssl md5 -binary <"$f" | base64)" -H 'x-amz-object-lock-mode: GOVERNANCE' \
    -H "x-amz-object-lock-retain-until-date: $until" --data-binary "@$f" -D - -o /dev/null |
    tr -d '\r' | awk -F': ' 'tolower($1) == "x-amz-version-id" {print $2}')
  rm -f "$f"
  [[ -n $vid ]] || { echo "locked put returned no version id"; return 1; }
  # AWS answers 403 AccessDenied; MinIO answers 400 "Object is WORM protected". Either is a refusal.
  out=$(s3_call DELETE "/$LAB_BUCKET_BACKUPS/smoke/locked?versionId=$vid" 2>&1) && { echo "deleted: $out"; return 1; }
  echo "delete of locked version $vid refused: $(grep -o '<Code>[^<]*</Code><Message>[^<]*' <<<"$out")"
  [[ $out == *"WORM protected"* || $out == *AccessDenied* ]] || return 1
  # Leave the buckets as found: GOVERNANCE retention yields to an explicit bypass (COMPLIANCE would not).
  s3_call DELETE "/$LAB_BUCKET_BACKUPS/smoke/locked?versionId=$vid" -H 'x-amz-bypass-governance-retention: true' >/dev/null || return 1
  s3_call DELETE "/$LAB_BUCKET_LAYERS/smoke/obj?versionId=$lvid" >/dev/null || return 1
  out=$(s3_call GET "/$LAB_BUCKET_BACKUPS?versions=&prefix=smoke/")$(s3_call GET "/$LAB_BUCKET_LAYERS?versions=&prefix=smoke/")
  [[ $out != *"<Key>smoke/"* ]] || { echo "smoke objects left behind: $out"; return 1; }
}
t_failover() { # crash host2's engine: swarm marks it Down, host2 still answers SSH; restart: Ready again
  bash "$LAB_DIR/lab.sh" kill-docker host2 || return 1
  local i st
  for ((i = 0; i < 60; i++)); do
    st=$(on mgr1 'docker node inspect host2 --format "{{.Status.State}}"')
    [[ $st == down ]] && break
    sleep 0.5
  done
  echo "host2 after kill: $st"
  [[ $st == down ]] || return 1
  on host2 hostname | grep -qx host2 || return 1
  bash "$LAB_DIR/lab.sh" start-docker host2 || return 1
  for ((i = 0; i < 60; i++)); do
    st=$(on mgr1 'docker node inspect host2 --format "{{.Status.State}}"')
    [[ $st == ready ]] && break
    sleep 0.5
  done
  echo "host2 after restart: $st"
  [[ $st == ready ]]
}
t_join_spare() { # join-spare: host4 a Ready worker; mgr1..3 still the 3 managers; lab still up
  bash "$LAB_DIR/lab.sh" join-spare host4 || return 1
  local out st
  out=$(on mgr1 'docker node ls --format "{{.Hostname}} {{.Status}} {{.ManagerStatus}}"' | sort) || return 1
  echo "$out"
  grep -qx 'host4 Ready ' <<<"$out" || return 1
  [[ $(grep -cE '^mgr[123] Ready (Leader|Reachable)$' <<<"$out") == 3 ]] || return 1
  [[ $(on host4 'docker info --format "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"') == "active false" ]] || return 1
  st=$(bash "$LAB_DIR/lab.sh" status) || return 1
  jq -e '.state == "up" and .spares[0].swarmRole == "worker" and .swarm.managers == 3' <<<"$st"
}
t_spare_overlay() { # on the worker host4: pull from the registry, and reach across the manager-made attachable overlay both ways
  local out
  on host4 "docker image rm $IMG >/dev/null 2>&1; docker pull -q $IMG" || return 1
  out=$(on host4 "docker run --rm --network $NET --entrypoint node $IMG -e '
    const get=n=>require(\"http\").get(\"http://smoke-srv:8080\",r=>r.pipe(process.stdout)).on(\"error\",e=>n>0?setTimeout(()=>get(n-1),500):(console.error(e.message),process.exit(1)));get(10)'") || return 1
  echo "host4 -> $out"
  [[ $out == *" on host3" ]] || return 1
  on host4 "docker rm -f smoke-srv4 >/dev/null 2>&1; docker run -d --name smoke-srv4 --network $NET --entrypoint node $IMG \
    -e 'require(\"http\").createServer((q,r)=>r.end(require(\"os\").hostname()+\" on host4\")).listen(8080)'" >/dev/null || return 1
  out=$(on host1 "docker run --rm --network $NET --entrypoint node $IMG -e '
    const get=n=>require(\"http\").get(\"http://smoke-srv4:8080\",r=>r.pipe(process.stdout)).on(\"error\",e=>n>0?setTimeout(()=>get(n-1),500):(console.error(e.message),process.exit(1)));get(10)'") || return 1
  echo "host1 -> $out"
  [[ $out == *" on host4" ]]
}
# node_state VIA HOST: the swarm's view of HOST's node ("ready", "down", ...), asked of manager VIA.
node_state() { on "$1" "docker node inspect $2 --format '{{.Status.State}}'"; }
wait_node() { # wait_node VIA HOST STATE SECONDS
  local i st
  for ((i = 0; i < $4 * 2; i++)); do
    st=$(node_state "$1" "$2" 2>/dev/null)
    [[ $st == "$3" ]] && break
    sleep 0.5
  done
  echo "$2 as seen from $1: $st"
  [[ $st == "$3" ]]
}
t_lose_revive() { # lose-host: SSH refused, no engine, status says lost (partial), the swarm marks it Down; revive-host: all back
  local h=$1 via=$2 out st t0 holder left
  t0=$EPOCHREALTIME
  bash "$LAB_DIR/lab.sh" lose-host "$h" || return 1
  echo "lose-host $h: $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s"
  out=$(on "$h" true 2>&1) && { echo "ssh $h still works"; return 1; }
  echo "ssh $h: $out"
  [[ $out == *"Connection refused"* ]] || return 1
  out=$(DOCKER_HOST="unix://$LAB_STATE/hosts/$h/run/docker.sock" docker version --format '{{.Server.Version}}' 2>&1) &&
    { echo "$h's engine still answers"; return 1; }
  holder=$(<"$LAB_STATE/hosts/$h/holder.pid")
  left=$(ip netns pids "dtrlab-$h" | grep -vx "$holder" | xargs -r ps -o comm= -p) && [[ -n $left ]] &&
    { echo "still running on $h: $left"; return 1; }
  st=$(bash "$LAB_DIR/lab.sh" status) || { echo "status fails with $h lost"; return 1; }
  jq -e --arg h "$h" '.state == "partial" and .lost == [$h] and
    ([(.managers + .hosts + .spares)[] | select(.name == $h) | .healthy == false and .lost and .dockerdPid == null] == [true])' <<<"$st" || return 1
  wait_node "$via" "$h" down 40 || return 1
  t0=$EPOCHREALTIME
  bash "$LAB_DIR/lab.sh" revive-host "$h" || return 1
  echo "revive-host $h (until Ready in the swarm): $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s"
  [[ $(on "$h" hostname) == "$h" ]] || return 1
  on "$h" 'docker ps -q >/dev/null' || return 1
  wait_node "$via" "$h" ready 5 || return 1
  st=$(bash "$LAB_DIR/lab.sh" status) || return 1
  jq -e '.state == "up" and .lost == []' <<<"$st"
}
t_leave_spare() { # leave-spare: host4 in no swarm again, the swarm lists the replica hosts only
  bash "$LAB_DIR/lab.sh" leave-spare host4 || return 1
  local out st
  out=$(on mgr1 'docker node ls --format "{{.Hostname}}"' | sort | tr '\n' ' ')
  echo "nodes: $out"
  [[ $out == "host1 host2 host3 mgr1 mgr2 mgr3 " ]] || return 1
  [[ $(on host4 'docker info --format "{{.Swarm.LocalNodeState}}"') == inactive ]] || return 1
  st=$(bash "$LAB_DIR/lab.sh" status) || return 1
  jq -e '.state == "up" and .spares[0].swarmRole == null' <<<"$st"
}
cleanup() {
  on host3 'docker rm -f smoke-srv' >/dev/null 2>&1
  on host4 'docker rm -f smoke-srv4' >/dev/null 2>&1
  on mgr1 "docker network rm $NET" >/dev/null 2>&1
}

for h in mgr1 mgr2 mgr3; do check "$h (manager): SSH session sees its own hostname and daemon (no DOCKER_HOST)" t_host_view "$h" "active true"; done
for h in host1 host2 host3; do check "$h (replica host, worker): SSH session sees its own hostname and daemon (no DOCKER_HOST)" t_host_view "$h"; done
check "host4 (spare): SSH session sees its own hostname and daemon, in no swarm" t_host_view host4 "inactive false"
check "status: managers = mgr1..3, hosts = host1..3, spares = [host4] (same fields), ucp-sim up, nothing lost" t_spare_status
check "host4: SSH with the lab key against its pinned host key; a wrong pin is refused" t_pinned_key
for h in host1 host4; do check "$h: sshd AcceptEnv passes UCP_PASSWORD and DTR_*, drops other variables" t_accept_env "$h"; done
check "swarm: mgr1..3 Ready managers, host1..3 Ready workers (which cannot list nodes)" t_swarm
check "ucp-sim: only the lab's UCP CA verifies it; login refuses a wrong password; bearer needed; network calls only" t_ucp
check "registry serves $IMG" t_image
check "attachable overlay: host1 and host2 reach a container on host3 by name" t_overlay
check "join-spare host4: a Ready worker; mgr1..3 still the managers; lab up" t_join_spare
check "host4 (worker) pulls from the registry and uses the manager-made attachable overlay both ways" t_spare_overlay
check "-v /var/run/docker.sock mounts the host's own daemon" t_socket
check "S3: dtr-layers versions objects; dtr-backups refuses to delete a retained version" t_s3
cleanup
check "kill-docker/start-docker host2: node Down, then Ready again" t_failover
check "lose-host/revive-host host2 (replica host, worker): SSH refused, engine gone, status partial+lost, node Down; then back, Ready, lab up" t_lose_revive host2 mgr1
check "lose-host/revive-host host4 (spare, worker): the same for the spare" t_lose_revive host4 mgr1
check "lose-host/revive-host mgr1 (manager with ucp-sim): raft keeps quorum; back, Ready, ucp-sim again, lab up" t_lose_revive mgr1 mgr2
check "leave-spare host4: in no swarm again; the swarm lists the managers and host1..3 only" t_leave_spare
finish
