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

[[ -n ${DOCKER_HOST:-} ]] || die "DOCKER_HOST is not set: point it at a lab dockerd (unix:///.../docker.sock); never a dockerd in the root namespace"
[[ $DOCKER_HOST == unix://* ]] || die "DOCKER_HOST '$DOCKER_HOST' must be a unix socket (unix:///path)"
REGISTRY=${REGISTRY:-10.200.0.1:5000}
version=${DTR_SIM_VERSION:-$(tr -d '[:space:]' <"$here/VERSION")}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "version '$version' is not MAJOR.MINOR.PATCH (DTR_SIM_VERSION or dtr-sim/VERSION)"
for tool in docker openssl ldd; do command -v "$tool" >/dev/null || die "$tool not found"; done
node_bin=$(command -v node) || die "node not found"
[[ -x /usr/bin/docker-registry ]] || die "/usr/bin/docker-registry not found: apt-get install -y docker-registry"
tsc=$repo/node_modules/.bin/tsc
[[ -x $tsc ]] || die "$tsc not found: run npm ci in $repo"

sim_image=$REGISTRY/dtr-sim:$version
reg_image=$REGISTRY/dtr-sim-registry:$version
work=${XDG_CACHE_HOME:-$HOME/.cache}/dtr-ha/dtr-sim-build/$version
export DOCKER_BUILDKIT=0 # the lab's dockerd 20.10 + a client without buildx: the classic builder

step "compiling TypeScript (tsc -p dtr-sim, into $work/tsc)"
rm -rf "$work"
mkdir -p "$work"
"$tsc" -p "$here" --outDir "$work/tsc"

# Copies a dynamically linked binary and every library ldd lists (plus the loader) into a rootfs.
copy_with_libs() {
  local bin=$1 root=$2 dest=$3 lib
  install -D -m 0755 "$(readlink -f "$bin")" "$root$dest"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*' | sort -u); do
    install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
  install -D -m 0755 "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$root/lib64/ld-linux-x86-64.so.2"
}

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

for pair in "sim:$sim_image" "reg:$reg_image"; do
  dir=${pair%%:*} image=${pair#*:}
  step "building $image"
  docker build --pull=false -q -t "$image" "$work/$dir" >/dev/null
  if [[ ${DTR_SIM_NO_PUSH:-} == 1 ]]; then step "not pushing $image (DTR_SIM_NO_PUSH=1)"; continue; fi
  step "pushing $image"
  docker push -q "$image" >/dev/null 2>&1 || docker push "$image" >&2
done
step "checking $sim_image runs (version)"
got=$(docker run --rm --pull never --network none "$sim_image" version)
[[ $got == "$version" ]] || die "$sim_image reports version '$got', expected $version"
step "done: $sim_image ($(docker image inspect -f '{{.Size}}' "$sim_image" | awk '{printf "%d MB", $1/1e6}')), $reg_image ($(docker image inspect -f '{{.Size}}' "$reg_image" | awk '{printf "%d MB", $1/1e6}'))"
