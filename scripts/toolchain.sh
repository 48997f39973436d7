#!/usr/bin/env bash
# Installs every tool dtr-ha's lab and tests need, idempotently, caching built tools under
# ${XDG_CACHE_HOME:-$HOME/.cache}/dtr-ha/toolchain/<tool>-<version>/bin so a second run takes seconds.
#
#   bash scripts/toolchain.sh install    # install/build what is missing, then print a summary table
#   bash scripts/toolchain.sh env        # export lines; use: eval "$(bash scripts/toolchain.sh env)"
#   bash scripts/toolchain.sh versions   # JSON of the exact versions installed
#
# Exact versions (keep in step with the constants below):
#   pulumi CLI        v3.248.0  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi, built through the wrapper
#                               module tools/pulumi-cli (go.mod + go.sum pin its whole dependency graph)
#   minio server      v0.0.0-20260212201848-7aac2a2c5b7c  github.com/minio/minio (AGPL-3.0)
#   mc (MinIO client) v0.0.0-20250313080218-cf909e1063a9  github.com/minio/mc (AGPL-3.0)
#   actionlint        v1.7.12   github.com/rhysd/actionlint/cmd/actionlint
#   command provider  tools/command-provider, cached by a sha256 of its files (another helper's module)
#   language host     pulumi-language-nodejs v3.248.0 (the CLI's Node.js language host): a copy on PATH that
#                     reports the same version is used as is; else built from ../shared/vendor/pulumi-language-nodejs
#                     (unchanged upstream source + a wrapper go.mod; override with DTR_HA_LANGUAGE_NODEJS_SRC)
#   Go                >= 1.25.11 (pulumi pkg/v3's go directive), GOTOOLCHAIN=local: never fetch a toolchain
#   Debian packages   whatever bookworm's apt serves; `versions` records the installed ones
# Measured on the project's 2-core machine, empty Go caches: cold install 409-460 s (pulumi 218-225 s,
# minio 115-173 s, mc 26-31 s, command provider 28-35 s, actionlint 3-5 s, S3 smoke 5 s); warm < 1 s.
# The language host: 4 s after the pulumi CLI's build (they share most packages in Go's build cache); 149 s alone with
# an empty build cache (modules already downloaded, nice 19 on the shared 2-core machine).
# pulumi-language-nodejs cannot come from the module proxy (its module answers 403), hence the vendored source.
# Inline Automation API programs do not need it; `pulumi up`/`preview` of this project from the CLI does.
#
# MinIO and mc are AGPL-3.0: we build and run them unmodified as local lab tools; nothing in dtr-ha links
# them or ships them, so their licence places no duty on this project's code.
set -euo pipefail

PULUMI_VERSION=v3.248.0
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9
ACTIONLINT_VERSION=v1.7.12
GO_MIN=1.25.11
NODE_MIN=20.19.0 # package.json's engines field
# The lab's tools (lab/lab.sh's preflight list) and what they come from: dockerd + docker-proxy (docker.io),
# containerd, runc, sshd/ssh/ssh-keygen, docker-registry, ip, iptables, unshare/nsenter/setsid/flock
# (util-linux), mount, awk (mawk), curl, jq, openssl; git and xz-utils for docker.io's build/import paths.
APT_PACKAGES=(docker.io containerd runc openssh-server openssh-client docker-registry iproute2 iptables
  util-linux mount mawk findutils coreutils procps openssl curl jq ca-certificates git xz-utils
  shellcheck systemd dash)
# Why shellcheck: the lint suite checks every *.sh with it, and actionlint the workflows' run: steps;
# systemd-analyze and dash: the schedule tests

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/dtr-ha/toolchain
CP_DIR=$REPO/tools/command-provider
LANGHOST_SRC=${DTR_HA_LANGUAGE_NODEJS_SRC:-$REPO/../shared/vendor/pulumi-language-nodejs}
LANGHOST_DIR=$CACHE/pulumi-language-nodejs-$PULUMI_VERSION

die() { printf 'toolchain.sh: error: %s\n' "$*" >&2; exit 1; }

check_platform() {
  [[ $(uname -s) == Linux ]] || die "this toolchain is for Linux only (uname -s says '$(uname -s)'); run it on the project's Debian machine"
  [[ $(id -u) == 0 ]] || die "must run as root (uid is $(id -u)): it installs Debian packages and the lab needs root; rerun with sudo"
}

find_go() {
  GO=$(command -v go || true)
  [[ -n $GO ]] || { [[ -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go; } ||
    die "no 'go' on PATH or at /usr/local/go/bin/go; install Go >= $GO_MIN and put it on PATH"
  local have
  have=$(GOTOOLCHAIN=local "$GO" env GOVERSION | sed 's/^go//')
  [[ $(printf '%s\n%s\n' "$GO_MIN" "$have" | sort -V | head -1) == "$GO_MIN" ]] ||
    die "Go $have is too old: the pulumi CLI needs Go >= $GO_MIN; install a newer Go at /usr/local/go"
  GO_VERSION=$have
}

# The Go environment every build uses: no toolchain downloads, no workspace files, and static binaries
# (CGO off) so they run in FROM-scratch images and do not depend on a C compiler.
go_env() { env GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$GO" "$@"; }

# A hash of the command provider's files (paths + contents), so any source change gets a new cache dir.
cp_hash() {
  (cd "$CP_DIR" && find . -type f ! -path './.git/*' -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum | sha256sum | cut -c1-16)
}

# ---- summary bookkeeping (step lines, timings, cached builds: scripts/lib/toolchain-steps.sh) -----------------
T0=$(date +%s)
SUMMARY=()
# shellcheck source=scripts/lib/toolchain-steps.sh
. "$REPO/scripts/lib/toolchain-steps.sh"

# ---- steps ---------------------------------------------------------------------------------------
apt_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

install_apt() {
  step_start apt
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do apt_installed "$p" || missing+=("$p"); done
  if ((${#missing[@]})); then
    echo "[toolchain] apt: installing ${missing[*]}"
    apt-get update -q >/dev/null
    # needrestart (recommended by docker.io) would otherwise prompt or print noise mid-install.
    DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -q "${missing[@]}" >/dev/null
    step_end installed "${missing[*]}"
  else
    step_end cached "${#APT_PACKAGES[@]} packages present"
  fi
}

# Node comes with the machine (a nodejs 20 .deb from NodeSource is preinstalled; bookworm's own nodejs
# is 18, too old for package.json), so it is checked, not installed.
check_node() {
  step_start node
  local v
  v=$(node --version 2>/dev/null | sed 's/^v//') || true
  [[ -n $v ]] || die "no 'node' on PATH: install Node >= $NODE_MIN (package.json engines)"
  [[ $(printf '%s\n%s\n' "$NODE_MIN" "$v" | sort -V | head -1) == "$NODE_MIN" ]] ||
    die "Node $v is too old: package.json's engines need >= $NODE_MIN; install a newer nodejs"
  step_end present "v$v"
}

build_pulumi() {
  (cd "$REPO/tools/pulumi-cli" && go_env build -mod=readonly -trimpath -o "$1/pulumi" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}
verify_pulumi() {
  local v; v=$(PULUMI_HOME=$(mktemp -d) PULUMI_SKIP_UPDATE_CHECK=true "$1/pulumi" version)
  [[ $v == "$PULUMI_VERSION" ]] || die "built pulumi reports version '$v', expected $PULUMI_VERSION"
  echo "$v"
}

# The language host's source folder may be read-only: -mod=readonly and -o outside it, nothing written there.
build_langhost() {
  (cd "$LANGHOST_SRC" && go_env build -mod=readonly -trimpath -o "$1/pulumi-language-nodejs" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" .)
}
verify_langhost() {
  local v; v=$("$1/pulumi-language-nodejs" -version)
  [[ $v == "$PULUMI_VERSION" ]] || die "built pulumi-language-nodejs reports version '$v', expected $PULUMI_VERSION"
  echo "$v"
}
# A pulumi-language-nodejs already on PATH (outside this cache) that reports the CLI's version; prints its path.
langhost_on_path() {
  local p
  p=$(command -v pulumi-language-nodejs 2>/dev/null) || return 1
  [[ $p != "$CACHE"/* && $("$p" -version 2>/dev/null) == "$PULUMI_VERSION" ]] || return 1
  echo "$p"
}

install_langhost() {
  step_start language-nodejs
  local p
  if [[ -f $LANGHOST_DIR/.ok ]]; then
    build_cached langhost "$LANGHOST_DIR" build_langhost
  elif p=$(langhost_on_path); then
    step_end present "$PULUMI_VERSION at $p"
  elif [[ -f $LANGHOST_SRC/go.mod ]]; then
    build_cached langhost "$LANGHOST_DIR" build_langhost
  else
    step_end absent "not on PATH and no source at $LANGHOST_SRC; \`pulumi preview\` from the CLI will not run"
  fi
}

# go install of a module that has no replace directives: the module's own go.sum pins its dependencies.
go_install_to() { (cd /tmp && GOBIN=$1 go_env install -trimpath -ldflags "-s -w" "$2"); }

build_minio() { go_install_to "$1" "github.com/minio/minio@$MINIO_VERSION"; }
verify_minio() { "$1/minio" --version >/dev/null && echo "$MINIO_VERSION"; }
build_mc() { go_install_to "$1" "github.com/minio/mc@$MC_VERSION"; }
verify_mc() { "$1/mc" --version >/dev/null && echo "$MC_VERSION"; }
build_actionlint() { go_install_to "$1" "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"; }
verify_actionlint() {
  local v; v=$("$1/actionlint" -version | head -1)
  [[ $v == "$ACTIONLINT_VERSION" ]] || die "built actionlint reports '$v', expected $ACTIONLINT_VERSION"
  echo "$v"
}

build_command() {
  # The module holds other main packages too (an e2e driver): take the one named for the plugin binary.
  local main
  main=$(cd "$CP_DIR" && go_env list -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' ./... |
    grep -m1 '/pulumi-resource-command$') ||
    die "tools/command-provider has no main package named pulumi-resource-command (expected cmd/pulumi-resource-command)"
  (cd "$CP_DIR" && go_env build -mod=readonly -trimpath -ldflags "-s -w" -o "$1/pulumi-resource-command" "$main")
}
verify_command() { [[ -x $1/pulumi-resource-command ]] && echo "tools/command-provider@$CP_HASH"; }

# Starts the freshly built MinIO on 127.0.0.1, and with mc creates a bucket with object lock, checks
# that versioning is on and that a version under default retention cannot be deleted, then stops it.
smoke_s3() {
  step_start s3-smoke
  local stamp=$CACHE/minio-$MINIO_VERSION/.smoke-ok
  if [[ -f $stamp ]]; then step_end cached "$(cat "$stamp")"; return; fi
  local tmp port pid log
  tmp=$(mktemp -d) port=$((20000 + RANDOM % 20000)) log=$tmp/minio.log
  (
    fail() { printf 'toolchain.sh: error: s3 smoke: %s\n' "$*" >&2; tail -5 "$log" >&2; exit 1; }
    MINIO_ROOT_PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    export MINIO_ROOT_USER=smoke MINIO_ROOT_PASSWORD
    export MINIO_BROWSER=off MINIO_UPDATE=off MC_UPDATE=off MC_CONFIG_DIR=$tmp/mc
    export MC_HOST_smoke="http://$MINIO_ROOT_USER:$MINIO_ROOT_PASSWORD@127.0.0.1:$port"
    "$CACHE/minio-$MINIO_VERSION/bin/minio" server --quiet --address "127.0.0.1:$port" "$tmp/data" >"$log" 2>&1 &
    pid=$!
    trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
    mc=$CACHE/mc-$MC_VERSION/bin/mc
    for _ in $(seq 50); do "$mc" ready smoke >/dev/null 2>&1 && break; sleep 0.2; done
    "$mc" mb --with-lock smoke/locked >/dev/null || fail "could not create a bucket with object lock"
    "$mc" version info smoke/locked | grep -q 'versioning is enabled' || fail "versioning is not enabled on a lock bucket"
    "$mc" retention set --default GOVERNANCE 1d smoke/locked >/dev/null || fail "could not set default retention"
    echo hello | "$mc" pipe smoke/locked/obj >/dev/null || fail "could not write an object"
    vid=$("$mc" stat --json smoke/locked/obj | jq -r .versionID)
    [[ -n $vid && $vid != null ]] || fail "the object has no version id"
    out=$("$mc" rm --version-id "$vid" smoke/locked/obj 2>&1) &&
      fail "a version under GOVERNANCE retention was deleted: object lock does not hold"
    grep -q 'WORM protected' <<<"$out" || fail "deleting a locked version failed for another reason: $out"
    # Governance mode can be bypassed by an authorised caller: proves the refusal above was the lock.
    "$mc" rm --bypass --version-id "$vid" smoke/locked/obj >/dev/null || fail "governance bypass delete failed"
  ) || exit 1
  echo "versioning+object-lock ok ($MINIO_VERSION)" >"$stamp"
  step_end passed "$(cat "$stamp")"
}

cmd_install() {
  check_platform
  find_go
  mkdir -p "$CACHE" "$CACHE/pulumi-home"
  # Tests may call install concurrently (scripts/with-toolchain.sh): one builds, the others wait.
  exec 9>"$CACHE/.install.lock"
  flock 9
  echo "[toolchain] cache: $CACHE; go $GO_VERSION"
  install_apt
  check_node
  step_start pulumi;     build_cached pulumi "$CACHE/pulumi-$PULUMI_VERSION" build_pulumi
  step_start minio;      build_cached minio "$CACHE/minio-$MINIO_VERSION" build_minio
  step_start mc;         build_cached mc "$CACHE/mc-$MC_VERSION" build_mc
  smoke_s3
  install_langhost
  step_start actionlint; build_cached actionlint "$CACHE/actionlint-$ACTIONLINT_VERSION" build_actionlint
  step_start command-provider
  if [[ -f $CP_DIR/go.mod ]]; then
    CP_HASH=$(cp_hash)
    build_cached command "$CACHE/command-provider-$CP_HASH" build_command
    # Older builds of the provider are stale by definition: drop them so the cache does not grow.
    find "$CACHE" -maxdepth 1 -name 'command-provider-*' ! -name "command-provider-$CP_HASH" -exec rm -rf {} +
  else
    step_end absent "tools/command-provider/go.mod not found; skipped"
  fi
  echo
  printf '%-18s %-9s %7s  %s\n' STEP STATUS TIME VERSION
  printf '%s\n' "${SUMMARY[@]}"
  # shellcheck disable=SC2016 # the $(...) is meant literally: it is the command to type
  printf 'total %ds; now run: eval "$(bash scripts/toolchain.sh env)"\n' $(($(date +%s) - T0))
}

bin_dirs() {
  local d
  for d in "pulumi-$PULUMI_VERSION" "minio-$MINIO_VERSION" "mc-$MC_VERSION" "actionlint-$ACTIONLINT_VERSION"; do
    if [[ -f $CACHE/$d/.ok ]]; then echo "$CACHE/$d/bin"; else echo "toolchain.sh: $d is not built; run: bash scripts/toolchain.sh install" >&2; fi
  done
  # The language host: the cached build, or else the PATH copy is already on PATH.
  if [[ -f $LANGHOST_DIR/.ok ]]; then echo "$LANGHOST_DIR/bin"
  elif ! langhost_on_path >/dev/null; then echo "toolchain.sh: pulumi-language-nodejs is not built; run: bash scripts/toolchain.sh install" >&2; fi
  if [[ -f $CP_DIR/go.mod ]]; then
    d=command-provider-$(cp_hash)
    if [[ -f $CACHE/$d/.ok ]]; then echo "$CACHE/$d/bin"
    else echo "toolchain.sh: tools/command-provider is not built for its current sources; run: bash scripts/toolchain.sh install" >&2; fi
  fi
}

cmd_env() {
  check_platform
  local path
  path=$(bin_dirs | paste -sd: -)
  # No backend is chosen here: the operator tools and `pulumi` use the caller's PULUMI_BACKEND_URL, Pulumi.yaml's
  # backend or the logged-in one (the lab passes its own file backend explicitly). PULUMI_HOME is the cache's only
  # when the caller has none and never logged in (~/.pulumi/credentials.json), so an existing login stays visible.
  cat <<EOF
export PATH="${path:+$path:}\$PATH"
if [ -z "\${PULUMI_HOME:-}" ] && [ ! -f "\$HOME/.pulumi/credentials.json" ]; then export PULUMI_HOME="$CACHE/pulumi-home"; fi
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export MINIO_UPDATE=off
export MC_UPDATE=off
EOF
}

json_str() { if [[ -n $1 ]]; then printf '"%s"' "$1"; else printf null; fi; }
cached_version() { if [[ -f $CACHE/$1/.ok ]]; then cat "$CACHE/$1/.ok"; fi; }

cmd_versions() {
  check_platform
  local cp="" p first=1
  [[ -f $CP_DIR/go.mod ]] && cp=$(cached_version "command-provider-$(cp_hash)")
  printf '{\n  "go": %s,\n' "$(json_str "$( (GOTOOLCHAIN=local go env GOVERSION || /usr/local/go/bin/go env GOVERSION) 2>/dev/null)")"
  printf '  "node": %s,\n' "$(json_str "$(node --version 2>/dev/null)")"
  printf '  "pulumi": %s,\n' "$(json_str "$(cached_version "pulumi-$PULUMI_VERSION")")"
  local lh; lh=$(cached_version "pulumi-language-nodejs-$PULUMI_VERSION")
  if [[ -z $lh ]] && langhost_on_path >/dev/null; then lh=$PULUMI_VERSION; fi
  printf '  "pulumi-language-nodejs": %s,\n' "$(json_str "$lh")"
  printf '  "minio": %s,\n' "$(json_str "$(cached_version "minio-$MINIO_VERSION")")"
  printf '  "mc": %s,\n' "$(json_str "$(cached_version "mc-$MC_VERSION")")"
  printf '  "actionlint": %s,\n' "$(json_str "$(cached_version "actionlint-$ACTIONLINT_VERSION")")"
  printf '  "pulumi-resource-command": %s,\n' "$(json_str "$cp")"
  printf '  "debian": {'
  for p in "${APT_PACKAGES[@]}"; do
    ((first)) || printf ','
    first=0
    printf '\n    "%s": %s' "$p" "$(json_str "$(apt_installed "$p" && dpkg-query -W -f='${Version}' "$p")")"
  done
  printf '\n  }\n}\n'
}

case ${1:-} in
  install) cmd_install ;;
  env) cmd_env ;;
  versions) cmd_versions ;;
  *) die "unknown command '${1:-}': use one of install, env, versions" ;;
esac
