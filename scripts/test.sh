#!/usr/bin/env bash
# `npm test`: builds the web app once, then runs every suite (unit, integration against a fresh
# Postgres database, end-to-end against the built app, the widget in Chromium against the built
# app) and prints one summary line.
# Databases are created in TEST_DATABASE_ADMIN_URL, else in the server at 127.0.0.1:5432 (as the
# postgres role), else in a throwaway embedded PostgreSQL started here once for every suite and
# removed on the way out (scripts/test-database.ts): nothing needs to be installed but Node.
set -uo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 CHECKPOINT_DISABLE=1

results=.data/test-results
rm -rf "$results" && mkdir -p "$results"

echo "== building the web app and the worker (reused by the end-to-end and browser tests)"
if ! npm run --silent build > "$results/build.log" 2>&1; then
  cat "$results/build.log"
  echo "build failed"
  exit 1
fi

if ! database_exports=$(node --import tsx scripts/test-database.ts start); then
  echo "no PostgreSQL for the tests (see the line above)"
  exit 1
fi
if [ -n "$database_exports" ]; then
  eval "$database_exports"
  trap 'node --import tsx scripts/test-database.ts stop' EXIT
fi

echo "== vitest: unit, integration, e2e"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results/vitest.json"
status=$?

# The widget archive as an operator builds it (the browser tests pack their own, for their backend).
echo "== widget.zip"
if ! APP_URL=https://sync.example.com npm run --silent widget:build -- --out "$results/widget.zip"; then
  status=1
fi

echo "== playwright: the Kommo widget in Chromium against the same build"
npx playwright test
browser_status=$?
[ $status -eq 0 ] && status=$browser_status

node scripts/summarize-tests.mjs "$results"
exit $status
