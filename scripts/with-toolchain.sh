#!/usr/bin/env bash
# Runs a command with the project's toolchain on PATH, installing it first when something is missing
# (idempotent and cached: seconds when warm). Used by `npm run demo`, `npm run lab`, `npm test`.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! bash "$REPO/scripts/toolchain.sh" install >"$log" 2>&1; then
  cat "$log" >&2
  echo "with-toolchain.sh: installing the toolchain failed (above)" >&2
  exit 1
fi
eval "$(bash "$REPO/scripts/toolchain.sh" env)"
exec "$@"
