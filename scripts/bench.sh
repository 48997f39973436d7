#!/usr/bin/env bash
# `npm run bench`: every performance figure in one run, then one table of the targets (met, or the measured limit):
#   1. the backup agent's bench (backup and restore vs plain S3 transfers, peak memory by size), MinIO on loopback;
#   2. the unit suite, timed 3 times (wall and CPU);
#   3. the RTO bench on the lab (rebuild, recover class 1, recover class 2; 3 rounds each, interleaved);
#   4. the report (stacks/bench-report.ts), with npm test's last whole run on this machine.
# About 35 minutes on 2 cores. DTR_HA_BENCH_ROUNDS sets the RTO rounds (default 3).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
started=$(date +%s)
step() { printf '\n=== bench %s (%ss in)\n' "$1" "$(($(date +%s) - started))" >&2; }

step "1/4: backup agent (backup and restore vs plain S3)"
npm --prefix backup-agent ci --no-audit --no-fund --silent
npm --prefix backup-agent run bench --silent | tee "$out/agent.txt"

step "2/4: unit suite, 3 timed runs"
TIMEFORMAT='%R %U %S'
for i in 1 2 3; do
  rc=0
  { time npx mocha --config tests/unit/.mocharc.json >"$out/unit-$i.log" 2>&1; } 2>>"$out/unit.txt" || rc=$?
  if [[ $rc -ne 0 ]]; then
    tail -40 "$out/unit-$i.log" >&2
    echo "bench: the unit suite failed (run $i, exit $rc); no figure is taken from a failing suite" >&2
    exit 1
  fi
  printf 'unit run %s: %s (wall user sys, s)\n' "$i" "$(tail -1 "$out/unit.txt")" >&2
done

step "3/4: RTO on the lab (rebuild, class 1, class 2)"
node bin/stacks/bench-rto.js --rounds "${DTR_HA_BENCH_ROUNDS:-3}" | tee "$out/rto.txt"

step "4/4: targets"
node bin/stacks/bench-report.js "$out/agent.txt" "$out/unit.txt" "$out/rto.txt" \
  "${XDG_CACHE_HOME:-$HOME/.cache}/dtr-ha/test-times.json" "$(nproc)"
printf '\nbench finished in %ss\n' "$(($(date +%s) - started))" >&2
