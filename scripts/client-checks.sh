#!/usr/bin/env bash
# The TypeScript client's checks (src/clients/typescript, docs/API.md "The TypeScript client"): the declarations
# type-check with no `any`, the committed generated client matches a fresh NSwag run from openapi/v1.json, the
# document has no breaking change against openapi/v1.snapshot.json, and the unit tests pass. Each check counts as
# one test, the unit tests count each; with CLEANCRM_COUNTS_FILE set the totals are written there as
# "passed=N failed=N skipped=N" (scripts/test.sh adds them to its final line).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo/src/clients/typescript" || exit 1
passed=0 failed=0 skipped=0

check() {
  local name=$1
  shift
  echo "--- client check: $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "client check FAILED: $name"
    failed=$((failed + 1))
  fi
}

if ! npm ci --no-audit --no-fund; then
  echo "client checks: npm ci failed"
  [[ -n ${CLEANCRM_COUNTS_FILE:-} ]] && echo "passed=0 failed=1 skipped=0" >"$CLEANCRM_COUNTS_FILE"
  exit 1
fi
dotnet tool restore >/dev/null

check "types and no any in the declarations" npm run --silent check
check "generated client matches openapi/v1.json" npm run --silent check:generated
check "no breaking change against the v1 snapshot" npm run --silent check:breaking

unit_counts=$(mktemp)
CLEANCRM_COUNTS_FILE=$unit_counts npm test || true
if [[ -s $unit_counts ]]; then
  declare -A unit
  for pair in $(cat "$unit_counts"); do unit[${pair%%=*}]=${pair#*=}; done
  passed=$((passed + ${unit[passed]:-0})) failed=$((failed + ${unit[failed]:-0})) skipped=$((skipped + ${unit[skipped]:-0}))
else
  echo "client unit tests wrote no counts"
  failed=$((failed + 1))
fi
rm -f "$unit_counts"

echo "client checks: $passed passed, $failed failed, $skipped skipped"
[[ -n ${CLEANCRM_COUNTS_FILE:-} ]] && echo "passed=$passed failed=$failed skipped=$skipped" >"$CLEANCRM_COUNTS_FILE"
[[ $failed == 0 ]]
