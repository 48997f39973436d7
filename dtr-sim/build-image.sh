#!/usr/bin/env bash
# Builds and pushes the dtr-sim images (FROM scratch, no base image, nothing pulled from Docker Hub):
#   $REGISTRY/dtr-sim:<version>           node + the compiled program + a default self-signed TLS cert
#   $REGISTRY/dtr-sim-registry:<version>  Debian's /usr/bin/docker-registry + libc + loader
# Env: DOCKER_HOST (unix socket of a lab dockerd, required), REGISTRY (default 10.200.0.1:5000),
#      DTR_SIM_VERSION (default: dtr-sim/VERSION; set another one to build a second version for mismatch tests),
#      DTR_SIM_NO_PUSH=1 (build and tag only, for a dockerd that cannot reach the registry).
# Idempotent: rebuilding the same version replaces the tags and pushes again.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
die() { echo "build-image: error: $*" >&2; exit 1; }
step() { echo "build-image: $*" >&2; }
# shellcheck source=scripts/lib/scratch-image.sh
. "$repo/scripts/lib/scratch-image.sh"

require_lab_docker
REGISTRY=${REGISTRY:-10.200.0.1:5000}
version=${DTR_SIM_VERSION:-$(tr -d '[:space:]' <"$here/VERSION")}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "version '$version' is not MAJOR.MINOR.PATCH (DTR_SIM_VERSION or dtr-sim/VERSION)"
for tool in openssl ldd; do command -v "$tool" >/dev/null || die "$tool not found"; done
node_bin=$(command -v node) || die "node not found"
[[ -x /usr/bin/docker-registry ]] || die "/usr/bin/docker-registry not found: apt-get install -y docker-registry"
tsc=$repo/node_modules/.bin/tsc
[[ -x $tsc ]] || die "$tsc not found: run npm ci in $repo"

sim_image=$REGISTRY/dtr-sim:$version
reg_image=$REGISTRY/dtr-sim-registry:$version
work=${XDG_CACHE_HOME:-$HOME/.cache}/dtr-ha/dtr-sim-build/$version

step "compiling TypeScript (tsc -p dtr-sim, into $work/tsc)"
rm -rf "$work"
mkdir -p "$work"
"$tsc" -p "$here" --outDir "$work/tsc"

step "staging rootfs of $sim_image in $work/sim"
mkdir -p "$work/sim/root/tmp" "$work/reg/root/tmp" "$work/reg/root/etc/docker/registry"
chmod 1777 "$work/sim/root/tmp" "$work/reg/root/tmp"
copy_with_libs "$node_bin" "$work/sim/root" /usr/bin/node
mkdir -p "$work/sim/root/app"
cp -r "$work/tsc/src" "$work/sim/root/app/src"
printf '{"version":"%s"}\n' "$version" >"$work/sim/root/app/version.json"
# Real DTR makes a self-signed certificate when none is given; this one is made once per image build.
mkdir -p "$work/sim/root/app/certs"
openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=dtr-sim" \
  -addext "subjectAltName=DNS:dtr-sim,DNS:localhost,IP:127.0.0.1,IP:10.200.0.11,IP:10.200.0.12,IP:10.200.0.13" \
  -keyout "$work/sim/root/app/certs/key.pem" -out "$work/sim/root/app/certs/cert.pem" 2>/dev/null
labels="LABEL org.dtr-ha.stand-in=dtr-sim org.dtr-ha.dtr-sim.version=$version"
cat >"$work/sim/Dockerfile" <<DOCKERFILE
FROM scratch
COPY root/ /
$labels org.dtr-ha.dtr-sim.registry-image=$reg_image
ENTRYPOINT ["/usr/bin/node", "/app/src/main.js"]
DOCKERFILE

step "staging rootfs of $reg_image in $work/reg"
copy_with_libs /usr/bin/docker-registry "$work/reg/root" /usr/bin/docker-registry
cat >"$work/reg/Dockerfile" <<DOCKERFILE
FROM scratch
COPY root/ /
$labels org.dtr-ha.dtr-sim.role=registry
ENTRYPOINT ["/usr/bin/docker-registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
DOCKERFILE

build_and_push "$sim_image" "$work/sim" "${DTR_SIM_NO_PUSH:-}" DTR_SIM_NO_PUSH
build_and_push "$reg_image" "$work/reg" "${DTR_SIM_NO_PUSH:-}" DTR_SIM_NO_PUSH
check_image_version "$sim_image" "$version"
step "done: $sim_image ($(image_size "$sim_image")), $reg_image ($(image_size "$reg_image"))"
