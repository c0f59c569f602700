#!/usr/bin/env bash
# Runs every test of GrantSilo and ends with the line "N passed, N failed".
# Needs the .NET SDK and Node (npm installs Azurite and the reference Cedar engine the tests use).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/azurite-table ] || [ ! -d node_modules/@cedar-policy/cedar-wasm ]; then
  npm ci --no-audit --no-fund --loglevel=error || { echo "npm ci failed: the tests need Azurite and cedar-wasm from npm."; echo "0 passed, 1 failed"; exit 1; }
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0
dotnet build GrantSilo.sln -c Release --nologo -v q || status=$?
if [ "$status" -eq 0 ]; then
  # One results folder per test project, so no report can overwrite another's.
  for project in tests/*/*.Tests.csproj; do
    name=$(basename "$project" .csproj)
    dotnet test "$project" -c Release --no-build --nologo \
      --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
      --results-directory "$results/$name" "$@" || status=$?
  done
fi

passed=0; failed=0; files=0
for trx in "$results"/*/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* timeout="\([0-9]*\)".*/\1/p' <<<"$counters")
  a=$(sed -n 's/.* aborted="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0} + ${a:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The build failed, or a test host crashed before it could report: count that as a failure.
  failed=1
fi
projects=$(ls tests/*/*.Tests.csproj | wc -l)
if [ "$files" -lt "$projects" ]; then
  # A project that left no report (build failure, crashed test host) counts as a failure.
  failed=$((failed + projects - files))
fi
if [ "$failed" -gt 0 ] && ls "$results"/*/*.trx >/dev/null 2>&1; then
  node scripts/failed-tests.mjs "$results"/*/*.trx || true
fi
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
