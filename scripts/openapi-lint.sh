#!/usr/bin/env bash
# Lints the committed OpenAPI document (src/clients/typescript/openapi/v1.json) with Redocly CLI and the committed
# ruleset (openapi/redocly.yaml); zero errors required. Uses the client package's local install when present, else npx
# with the pinned version. With CLEANCRM_COUNTS_FILE set, writes "passed=N failed=N skipped=0" there for scripts/test.sh.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
package=src/clients/typescript
config=$package/openapi/redocly.yaml
document=$package/openapi/v1.json

if [[ -x $package/node_modules/.bin/redocly ]]; then
  redocly=("$package/node_modules/.bin/redocly")
else
  redocly=(npx -y @redocly/cli@2.77.0)
fi

rc=0
"${redocly[@]}" lint --config "$config" "$document" || rc=$?

if [[ -n ${CLEANCRM_COUNTS_FILE:-} ]]; then
  if [[ $rc == 0 ]]; then
    echo "passed=1 failed=0 skipped=0" >"$CLEANCRM_COUNTS_FILE"
  else
    echo "passed=0 failed=1 skipped=0" >"$CLEANCRM_COUNTS_FILE"
  fi
fi

if [[ $rc != 0 ]]; then
  echo "openapi-lint: $document has lint errors (ruleset $config)" >&2
fi
exit "$rc"
