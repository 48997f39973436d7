#!/usr/bin/env bash
# Runs a command with the project's toolchain on PATH, installing it first when something is missing
# (idempotent and cached: seconds when warm). Used by `npm run demo`, `npm run lab`, `npm test`.
# A cold install builds for minutes: what it builds, that it still runs and how long each part took are shown on
# stderr as they happen; a warm one shows nothing; the whole log is shown when the install fails.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/toolchain-steps.sh
. "$REPO/scripts/lib/toolchain-steps.sh"
# DTR_HA_TOOLCHAIN_SCRIPT: another install script (the tests' stand-in for a cold install).
toolchain=${DTR_HA_TOOLCHAIN_SCRIPT:-$REPO/scripts/toolchain.sh}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
bash "$toolchain" install 2>&1 | tee "$log" | toolchain_progress >&2
rc=${PIPESTATUS[0]}
set -e
if ((rc != 0)); then
  cat "$log" >&2
  echo "with-toolchain.sh: installing the toolchain failed (above)" >&2
  exit 1
fi
eval "$(bash "$toolchain" env)"
exec "$@"
