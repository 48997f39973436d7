#!/usr/bin/env bash
# The whole test suite, as the README's `npm test` runs it (CI runs exactly this through .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build
npx mocha 'bin/tests/unit/**/*.test.js'
