# shellcheck shell=bash
# The toolchain's step bookkeeping (sourced by scripts/toolchain.sh, bash): a line as each step starts and ends with
# its time, a summary table, and cached builds that say what they build and, while a cold build runs for minutes,
# that it is still running. Tested in tests/unit/toolchain-steps.test.ts.
# The sourcing script sets T0 (its start, epoch seconds) and SUMMARY=() first.

# Seconds between "still building" lines (a cold Go build of pulumi or minio runs for minutes on 2 cores).
HEARTBEAT_SECONDS=${DTR_HA_TOOLCHAIN_HEARTBEAT:-30}

step_start() { STEP=$1; STEP_T0=$(date +%s); printf '[toolchain] %-18s ... (at %ds)\n' "$STEP" $((STEP_T0 - T0)); }
step_end() { # status version
  local dt=$(($(date +%s) - STEP_T0))
  SUMMARY+=("$(printf '%-18s %-9s %6ss  %s' "$STEP" "$1" "$dt" "$2")")
  printf '[toolchain] %-18s %s in %ds: %s\n' "$STEP" "$1" "$dt" "$2"
}

# with_heartbeat <name> <command...>: runs the command; every HEARTBEAT_SECONDS prints that <name> is still building
# and for how long. Returns the command's status.
with_heartbeat() {
  local name=$1 t0 beat rc=0
  shift
  t0=$(date +%s)
  ( while sleep "$HEARTBEAT_SECONDS"; do printf '[toolchain] %s: still building (%ds so far)\n' "$name" $(($(date +%s) - t0)); done ) &
  beat=$!
  # In a subshell: a build that calls `exit` must not leave the heartbeat running.
  ( "$@" ) || rc=$?
  kill "$beat" 2>/dev/null || true
  wait "$beat" 2>/dev/null || true
  return "$rc"
}

# build_cached <name> <dir> <build-fn>: runs <build-fn> into <dir>.tmp/bin, checks the result with
# verify_<name> (which prints the version recorded), then renames it into place so a killed build never
# leaves a half-written tool in the cache. The dir's .ok file marks a finished, verified build.
build_cached() {
  local name=$1 dir=$2 build=$3
  if [[ -f $dir/.ok ]]; then step_end cached "$(cat "$dir/.ok")"; return; fi
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/bin"
  echo "[toolchain] $name: building into $dir (a cold Go build of pulumi or minio takes minutes on 2 cores)"
  with_heartbeat "$name" "$build" "$dir.tmp/bin"
  local ver; ver=$("verify_$name" "$dir.tmp/bin")
  printf '%s\n' "$ver" >"$dir.tmp/.ok"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  step_end built "$ver"
}

# Filter for scripts/with-toolchain.sh: of an install's output, the lines saying what is being built, that it still
# runs, and how long it took (a warm install, all cached, shows nothing).
toolchain_progress() {
  grep --line-buffered -E '^\[toolchain\] (.*: building into |.*: still building |apt: installing |[^ ]+ +(built|installed) in )' || true
}
