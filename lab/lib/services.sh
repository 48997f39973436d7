# shellcheck shell=bash
# Root-namespace services on the bridge address: image registry and S3 server (sourced by lab.sh).

registry_pid() {
  local pid
  pid=$(read_pid "$LAB_STATE/registry/registry.pid")
  pid_alive "$pid" "$LAB_STATE/registry/config.yml" || return 1
  echo "$pid"
}

registry_start() {
  local d=$LAB_STATE/registry
  mkdir -p "$d/data"
  cat >"$d/config.yml" <<CFG
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $d/data
  delete:
    enabled: true
http:
  addr: $LAB_REGISTRY_ADDR
CFG
  spawn "$d/registry.pid" "$d/registry.log" env -i "PATH=$PATH" docker-registry serve "$d/config.yml"
}

registry_healthy() { curl -sf --max-time 3 "http://$LAB_REGISTRY_ADDR/v2/" >/dev/null; }

s3_pid() {
  local pid
  pid=$(read_pid "$LAB_STATE/s3/s3.pid")
  pid_alive "$pid" "$LAB_STATE/s3/data" || return 1
  echo "$pid"
}

s3_start() {
  local d=$LAB_STATE/s3
  mkdir -p "$d/data" "$d/home"
  (
    umask 077
    openssl rand -hex 10 >"$d/access-key"
    openssl rand -base64 30 | tr -d '/+=\n' >"$d/secret-key"
  )
  # Credentials reach minio through its environment, read from the 0600 files by the wrapper shell.
  setsid env -i "PATH=$PATH" "HOME=$d/home" MINIO_BROWSER=off MINIO_UPDATE=off \
    bash -c 'echo $$ >"$0/s3.pid"
      MINIO_ROOT_USER=$(<"$0/access-key") MINIO_ROOT_PASSWORD=$(<"$0/secret-key")
      export MINIO_ROOT_USER MINIO_ROOT_PASSWORD
      exec minio server --quiet --address "$1" "$0/data"' "$d" "$LAB_S3_ADDR" \
    </dev/null >>"$d/s3.log" 2>&1 9>&- &
}

s3_healthy() { curl -sf --max-time 3 "http://$LAB_S3_ADDR/minio/health/live" >/dev/null; }

# s3_call METHOD PATH [curl args...]: SigV4-signed request; the keys go to curl on stdin (-K -).
# curl 7.88's signer needs "?name=" (not "?name") in the query and, with a body, an explicit
# x-amz-content-sha256 header, or the server computes a different signature.
s3_call() {
  local method=$1 path=$2 d=$LAB_STATE/s3
  shift 2
  printf 'user = "%s:%s"\n' "$(<"$d/access-key")" "$(<"$d/secret-key")" |
    curl -sS --fail-with-body --max-time 20 -K - --aws-sigv4 "aws:amz:$LAB_S3_REGION:s3" \
      -X "$method" "$@" "http://$LAB_S3_ADDR$path"
}

s3_buckets() {
  local d=$LAB_STATE/s3 v sum
  printf '%s' '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>' >"$d/versioning.xml"
  sum=$(sha256sum <"$d/versioning.xml" | cut -d' ' -f1)
  s3_call PUT "/$LAB_BUCKET_LAYERS" >/dev/null || die "could not create bucket $LAB_BUCKET_LAYERS; see $d/s3.log"
  s3_call PUT "/$LAB_BUCKET_BACKUPS" -H 'x-amz-bucket-object-lock-enabled: true' >/dev/null ||
    die "could not create bucket $LAB_BUCKET_BACKUPS with object lock; see $d/s3.log"
  for b in "$LAB_BUCKET_LAYERS" "$LAB_BUCKET_BACKUPS"; do
    s3_call PUT "/$b?versioning=" -H 'Content-Type: application/xml' -H "x-amz-content-sha256: $sum" --data-binary "@$d/versioning.xml" >/dev/null ||
      die "could not enable versioning on $b"
    v=$(s3_call GET "/$b?versioning=") || die "could not read versioning of $b"
    [[ $v == *"<Status>Enabled</Status>"* ]] || die "versioning of $b is not Enabled: $v"
  done
  v=$(s3_call GET "/$LAB_BUCKET_BACKUPS?object-lock=") || die "could not read object lock of $LAB_BUCKET_BACKUPS"
  [[ $v == *"<ObjectLockEnabled>Enabled</ObjectLockEnabled>"* ]] || die "object lock of $LAB_BUCKET_BACKUPS is not enabled: $v"
}

# ucp-sim: a stand-in for UCP's API (dtr-sim/src/ucp-sim.ts) on the first manager, https://<mgr1>:443, its server
# certificate issued by the lab's UCP CA, its admin password in a 0600 file (read by ucp-sim itself, never in argv).
ucp_url() { echo "https://$(host_addr "$LAB_UCP_HOST")"; }

ucp_pid() {
  local pid
  pid=$(read_pid "$LAB_STATE/ucp/ucp-sim.pid")
  pid_alive "$pid" "$LAB_STATE/ucp/app/ucp-sim.js" || return 1
  echo "$pid"
}

# The CA (pinned by the lab stacks as ucp.ca), the server certificate for the manager's address, the admin password.
ucp_prepare() {
  local d=$LAB_STATE/ucp
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=dtr-ha lab UCP CA" \
    -keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>/dev/null || die "openssl could not make the lab's UCP CA"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=ucp-sim" \
    -keyout "$d/server-key.pem" -out "$d/server.csr" 2>/dev/null || die "openssl could not make ucp-sim's key"
  printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$(host_addr "$LAB_UCP_HOST")" >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial -days 30 \
    -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null || die "openssl could not issue ucp-sim's certificate"
  chmod 600 "$d/ca-key.pem" "$d/server-key.pem"
  (
    umask 077
    openssl rand -base64 24 | tr -d '/+=\n' >"$d/admin-password"
  )
}

# Compiles ucp-sim (one file, node built-ins only) into the state dir; run in the background while hosts start.
ucp_compile() {
  "$REPO/node_modules/.bin/tsc" --outDir "$LAB_STATE/ucp/app" --target ES2022 --module commonjs --esModuleInterop \
    --strict --skipLibCheck --types node --typeRoots "$REPO/node_modules/@types" "$REPO/dtr-sim/src/ucp-sim.ts" \
    >"$LAB_STATE/ucp/compile.log" 2>&1
}

ucp_start() {
  local d=$LAB_STATE/ucp holder
  holder=$(holder_pid "$LAB_UCP_HOST") || die "$LAB_UCP_HOST: namespace holder is not running"
  [[ -f $d/app/ucp-sim.js ]] || die "ucp-sim is not compiled ($d/app/ucp-sim.js missing; see $d/compile.log)"
  spawn "$d/ucp-sim.pid" "$d/ucp-sim.log" env -i "PATH=$PATH" "UCP_SIM_LISTEN=$(host_addr "$LAB_UCP_HOST"):443" \
    "UCP_SIM_CERT=$d/server.pem" "UCP_SIM_KEY=$d/server-key.pem" "UCP_SIM_USERNAME=$LAB_UCP_USER" \
    "UCP_SIM_PASSWORD_FILE=$d/admin-password" UCP_SIM_DOCKER_SOCKET=/var/run/docker.sock \
    nsenter -t "$holder" -m -u -n -- node "$d/app/ucp-sim.js"
  wait_until 20 "ucp-sim" ucp_healthy || die "ucp-sim did not answer on $(ucp_url) within 20 s; see $d/ucp-sim.log"
}

# Answers with the certificate the pinned CA verifies.
ucp_healthy() { curl -sf --max-time 3 --cacert "$LAB_STATE/ucp/ca.pem" "$(ucp_url)/_ping" >/dev/null; }
