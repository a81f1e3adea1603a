#!/usr/bin/env bash
# The whole test suite: lint, typecheck, build, unit and integration tests against real NATS
# and PostgreSQL (found, or installed and started, by services.sh). `.ci/run` calls exactly this.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/services.sh --with-postgis --with-tools
npm run --silent lint
npm run --silent typecheck
npm run --silent build
mkdir -p .local
status=0
npx vitest run --reporter=default --reporter=json --outputFile=.local/vitest.json "$@" || status=$?
# One plain closing line that any CI log reader understands.
node -e '
  const r = JSON.parse(require("fs").readFileSync(".local/vitest.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || status=1
exit "$status"
