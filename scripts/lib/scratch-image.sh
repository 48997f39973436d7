# shellcheck shell=bash
# Shared by dtr-sim/build-image.sh and backup-agent/build-image.sh (sourced, bash): the pieces of building a
# FROM-scratch image out of host binaries and pushing it to the lab registry. Nothing is pulled from Docker Hub.
# The sourcing script defines die() and step() first.

# DOCKER_HOST must name a lab dockerd's unix socket: images are never built by a dockerd in the root namespace.
require_lab_docker() {
  [[ -n ${DOCKER_HOST:-} ]] || die "DOCKER_HOST is not set: point it at a lab dockerd (unix:///.../docker.sock); never a dockerd in the root namespace"
  [[ $DOCKER_HOST == unix://* ]] || die "DOCKER_HOST '$DOCKER_HOST' must be a unix socket (unix:///path)"
  command -v docker >/dev/null || die "docker (client) not found"
  export DOCKER_BUILDKIT=0 # the lab's dockerd 20.10 + a client without buildx: the classic builder
}

# Copies a dynamically linked binary and every library ldd lists (plus the loader) into a rootfs.
#   copy_with_libs BINARY ROOT DEST_PATH
copy_with_libs() {
  local bin=$1 root=$2 dest=$3 lib
  install -D -m 0755 "$(readlink -f "$bin")" "$root$dest"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*' | sort -u); do
    install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
  install -D -m 0755 "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$root/lib64/ld-linux-x86-64.so.2"
}

# Builds IMAGE from the context DIR (its Dockerfile) and pushes it unless NO_PUSH is 1 (NO_PUSH_VAR names the
# variable in messages). Idempotent: the same tag is replaced and pushed again.
#   build_and_push IMAGE DIR NO_PUSH NO_PUSH_VAR
build_and_push() {
  local image=$1 dir=$2 no_push=$3 var=$4
  step "building $image"
  docker build --pull=false -q -t "$image" "$dir" >/dev/null
  if [[ $no_push == 1 ]]; then
    step "not pushing $image ($var=1)"
    return 0
  fi
  step "pushing $image"
  docker push -q "$image" >/dev/null 2>&1 || docker push "$image" >&2
}

# Runs IMAGE's `version` command (no network) and dies unless it prints VERSION.
#   check_image_version IMAGE VERSION
check_image_version() {
  local image=$1 version=$2 got
  step "checking $image runs (version)"
  got=$(docker run --rm --pull never --network none "$image" version)
  [[ $got == "$version" ]] || die "$image reports version '$got', expected $version"
}

# "NN MB" for a built image.
image_size() { docker image inspect -f '{{.Size}}' "$1" | awk '{printf "%d MB", $1/1e6}'; }
