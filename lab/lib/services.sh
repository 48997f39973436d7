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
