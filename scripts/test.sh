#!/usr/bin/env bash
# The whole test suite, as the README's `npm test` runs it (CI runs exactly this through .ci/run).
# Installs the toolchain first (idempotent, cached), then runs every suite in order, cheapest first, and ends with one
# line `N passed, N failed` counting the tests of all suites. Needs root on Linux (the lab makes network namespaces).
#   DTR_HA_TEST_ONLY="unit policy"   run only the named suites (unit lint policy policy-engine provider dtr-sim
#                                     backup-agent lab); default: all
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1

started=$(date +%s)
passed=0
failed=0
failed_suites=()
out=$(mktemp)
trap 'rm -f "$out"' EXIT

wanted() { [[ -z ${DTR_HA_TEST_ONLY:-} || $1 == toolchain || $1 == build || " $DTR_HA_TEST_ONLY " == *" $1 "* ]]; }

# Runs one suite, shows its output, and adds its test counts (mocha's or go test's) to the totals.
suite() {
  local name=$1
  shift
  wanted "$name" || return 0
  local t0 rc p f
  t0=$(date +%s)
  printf '\n=== %s: %s\n' "$name" "$*"
  "$@" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  p=$(grep -Eo '^ *[0-9]+ passing' "$out" | awk '{s+=$1} END {print s+0}')
  f=$(grep -Eo '^ *[0-9]+ failing' "$out" | awk '{s+=$1} END {print s+0}')
  p=$((p + $(grep -Ec '^ *--- PASS' "$out")))
  f=$((f + $(grep -Ec '^ *--- FAIL' "$out")))
  if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi # a suite that failed without counting still counts as a failure
  passed=$((passed + p))
  failed=$((failed + f))
  [[ $rc -eq 0 ]] || failed_suites+=("$name")
  printf '=== %s: exit %s, %s passed, %s failed, %ss\n' "$name" "$rc" "$p" "$f" "$(($(date +%s) - t0))"
  records+=("{\"suite\":\"$name\",\"seconds\":$(($(date +%s) - t0)),\"passed\":$p,\"failed\":$f,\"exit\":$rc}")
}
records=()

suite toolchain bash scripts/toolchain.sh install || true
eval "$(bash scripts/toolchain.sh env)"

# The backup agent too: the operator tools run it locally (the engine tests' rebuild reads a bucket through it).
suite build bash -c 'npm run build --silent && npm --prefix backup-agent ci --no-audit --no-fund --silent && npm --prefix backup-agent run build --silent'
suite lint bash -c 'npm run lint --silent && actionlint .github/workflows/*.yml'
# Two mocha workers (tests/unit/.mocharc.json): the files run in parallel, each in one process with its own Pulumi mocks.
suite unit npx mocha --config tests/unit/.mocharc.json
suite policy bash -c 'npm --prefix policy ci --no-audit --no-fund --silent && npm --prefix policy test --silent'
suite policy-engine bash policy/run-preview.sh check
# The pack on the project's own stack program (needs the pack built above and its analyzer script on PATH).
suite policy-engine env PATH="$REPO/policy/plugin:$PATH" npx mocha --timeout 300000 'bin/tests/engine/**/*.test.js'
suite provider bash -c 'cd tools/command-provider && GOTOOLCHAIN=local go test -count=1 -v ./... | grep -E "^(=== RUN|--- (PASS|FAIL)|PASS|FAIL|ok|panic)"'
suite dtr-sim bash -c 'node_modules/.bin/tsc -p dtr-sim && npx mocha "dtr-sim/dist/test/unit/**/*.test.js"'
if [[ -f backup-agent/package.json ]]; then
  suite backup-agent npm --prefix backup-agent test --silent
fi
if wanted lab; then
  # One lab for every lab suite; `lab down` removes its whole state (stacks included) afterwards.
  suite lab bash lab/lab.sh up
  suite lab env DTR_HA_KEEP_LAB=1 npx mocha --timeout 1800000 'bin/tests/lab/**/*.test.js'
  suite lab env DTR_SIM_TEST_KEEP= npx mocha --timeout 1800000 "dtr-sim/dist/test/engine/**/*.test.js"
  bash lab/lab.sh down >/dev/null 2>&1 || true
fi

printf '\n%s\n' "dtr-ha tests finished in $(($(date +%s) - started))s${failed_suites:+; failed suites: ${failed_suites[*]}}"
echo "$passed passed, $failed failed"
# A whole run's times, for `npm run bench` to print beside its own figures (it cannot run a 30-minute suite 3 times).
if [[ -z ${DTR_HA_TEST_ONLY:-} ]]; then
  record_dir=${XDG_CACHE_HOME:-$HOME/.cache}/dtr-ha
  mkdir -p "$record_dir"
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  printf '{"finishedAt":"%s","commit":"%s","seconds":%s,"passed":%s,"failed":%s,"suites":[%s]}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$commit" "$(($(date +%s) - started))" "$passed" "$failed" \
    "$(IFS=,; echo "${records[*]}")" >"$record_dir/test-times.json.tmp" && mv "$record_dir/test-times.json.tmp" "$record_dir/test-times.json"
fi
[[ $failed -eq 0 && ${#failed_suites[@]} -eq 0 ]]
