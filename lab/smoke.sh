#!/usr/bin/env bash
# Checks a running lab end to end, from the root namespace, the way the stacks use it: SSH sessions on
# each host, swarm managers, a cross-host attachable overlay, the host's own socket inside a container,
# the registry, S3 versioning and object lock, and a dockerd crash + restart.
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

t_host_view() { # each SSH session sees its own host: hostname, daemon name, swarm manager
  local h=$1 out
  out=$(on "$h" 'echo "$(hostname) ${DOCKER_HOST:-nodockerhost}"; docker info --format "{{.Name}} {{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"') || return 1
  echo "$out"
  [[ $out == "$h nodockerhost"$'\n'"$h active true" ]]
}
t_accept_env() { # AcceptEnv passes UCP_PASSWORD / DTR_* and drops others
  local out
  out=$(UCP_PASSWORD=smoke-pw DTR_SMOKE=1 LAB_SMOKE_OTHER=x ssh -F "$SSHCFG" -o SendEnv=UCP_PASSWORD \
    -o SendEnv=DTR_SMOKE -o SendEnv=LAB_SMOKE_OTHER host1 'echo "${UCP_PASSWORD:-} ${DTR_SMOKE:-} ${LAB_SMOKE_OTHER:-none}"')
  echo "$out"
  [[ $out == "smoke-pw 1 none" ]]
}
t_swarm() {
  local out
  out=$(on host1 'docker node ls --format "{{.Hostname}} {{.Status}} {{.ManagerStatus}}"' | sort) || return 1
  echo "$out"
  [[ $(grep -cE '^host[123] Ready (Leader|Reachable)$' <<<"$out") == 3 ]]
}
t_image() { curl -sf "http://$LAB_REGISTRY_ADDR/v2/dtr-sim/tags/list" | grep -q "\"${IMG##*:}\""; }
t_overlay() { # a server on host3, clients on host1 and host2 reach it by name over VXLAN
  on host1 "docker network rm $NET >/dev/null 2>&1; docker network create -d overlay --attachable $NET" >/dev/null || return 1
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
    st=$(on host1 'docker node inspect host2 --format "{{.Status.State}}"')
    [[ $st == down ]] && break
    sleep 0.5
  done
  echo "host2 after kill: $st"
  [[ $st == down ]] || return 1
  on host2 hostname | grep -qx host2 || return 1
  bash "$LAB_DIR/lab.sh" start-docker host2 || return 1
  for ((i = 0; i < 60; i++)); do
    st=$(on host1 'docker node inspect host2 --format "{{.Status.State}}"')
    [[ $st == ready ]] && break
    sleep 0.5
  done
  echo "host2 after restart: $st"
  [[ $st == ready ]]
}
cleanup() {
  on host3 'docker rm -f smoke-srv' >/dev/null 2>&1
  on host1 "docker network rm $NET" >/dev/null 2>&1
}

for h in host1 host2 host3; do check "$h: SSH session sees its own hostname and daemon (no DOCKER_HOST)" t_host_view "$h"; done
check "sshd AcceptEnv passes UCP_PASSWORD and DTR_*, drops other variables" t_accept_env
check "swarm: host1..3 Ready managers" t_swarm
check "registry serves $IMG" t_image
check "attachable overlay: host1 and host2 reach a container on host3 by name" t_overlay
check "-v /var/run/docker.sock mounts the host's own daemon" t_socket
check "S3: dtr-layers versions objects; dtr-backups refuses to delete a retained version" t_s3
cleanup
check "kill-docker/start-docker host2: node Down, then Ready again" t_failover
finish
