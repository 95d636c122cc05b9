#!/usr/bin/env bash
# Builds the solution, checks the house style (scripts/check-style.sh: dotnet format and the
# 140-character line rule) and runs every test against real PostgreSQL servers.
# Extra arguments go to `dotnet test` (e.g. --filter). The last line printed is
# "N passed, N failed" (", N skipped" when some were skipped); a style failure fails the run
# without hiding the test results. CLEANCRM_SKIP_STYLE=1 skips the style check (for quick
# filtered runs while working).
#
# The .NET tests include the console's browser tests (tests/CleanCrm.ConsoleTests: the worker,
# API and console as real processes, driven in Debian's headless Chromium, installed here with
# apt-get when missing). CLEANCRM_SKIP_BROWSER=1 leaves them out (quick runs); they are counted
# in the final line like every other .NET test.
#
# Servers: two local throwaway clusters (ports CLEANCRM_PG_PORT, default 55432, and
# CLEANCRM_PG2_PORT, default 55433), unless CLEANCRM_PG / CLEANCRM_PG2 name existing
# servers. Tests read CLEANCRM_TEST_PG and CLEANCRM_TEST_PG2.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/pg.sh
source "$repo/scripts/pg.sh"

results_dir="$repo/.local/test-results"
started=()

stop_clusters() {
  local name
  [[ -z ${pgbouncer_started:-} ]] || pgbouncer_stop test || true
  [[ -z ${redis_started:-} ]] || redis_stop test || true
  for name in "${started[@]}"; do
    pg_stop "$name" || true
  done
  started=()
}
trap stop_clusters EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A cluster that was already running (a killed earlier run, or scripts/run.sh) is
# reused and left running.
start_cluster() {
  pg_start "$1" "$2"
  if [[ $PG_STARTED == 1 ]]; then
    started+=("$1")
  fi
}

start_cluster main "${CLEANCRM_PG_PORT:-55432}"
CLEANCRM_TEST_PG=$(pg_conn_string main)
if [[ -n ${CLEANCRM_PG2:-} ]]; then
  CLEANCRM_TEST_PG2=$CLEANCRM_PG2
else
  # With only CLEANCRM_PG set, pg.sh hands back that same server for "second".
  start_cluster second "${CLEANCRM_PG2_PORT:-55433}"
  CLEANCRM_TEST_PG2=$(pg_conn_string second)
fi
export CLEANCRM_TEST_PG CLEANCRM_TEST_PG2

# Redis for the tests of plan budgets shared by several API instances (scripts/redis.sh installs Debian's redis-server
# when missing): CLEANCRM_TEST_REDIS names it, unless CLEANCRM_REDIS names an existing server (host:port).
# shellcheck source=scripts/redis.sh
source "$repo/scripts/redis.sh"
if [[ -n ${CLEANCRM_REDIS:-} ]]; then
  CLEANCRM_TEST_REDIS=$CLEANCRM_REDIS
else
  redis_start test "${CLEANCRM_REDIS_PORT:-56379}"
  [[ $REDIS_STARTED == 0 ]] || redis_started=1
  CLEANCRM_TEST_REDIS="127.0.0.1:${CLEANCRM_REDIS_PORT:-56379}"
fi
export CLEANCRM_TEST_REDIS

# CLEANCRM_PGBOUNCER=1: a PgBouncer in front of the main server (scripts/pgbouncer.sh, transaction mode for tenant roles)
# on CLEANCRM_PGBOUNCER_PORT (default 55434); the tests then reach the tenant databases of that server through it
# (CleanCrm:Tenancy:PgBouncer and PgBouncerEndpoints) and the catalog and admin work directly. Meant for a filtered run:
#   CLEANCRM_PGBOUNCER=1 scripts/test.sh --filter "FullyQualifiedName~TenantIsolation|FullyQualifiedName~TenantConnectionBudget"
if [[ ${CLEANCRM_PGBOUNCER:-0} == 1 ]]; then
  # shellcheck source=scripts/pgbouncer.sh
  source "$repo/scripts/pgbouncer.sh"
  pgbouncer_port=${CLEANCRM_PGBOUNCER_PORT:-55434}
  pgbouncer_start test "$pgbouncer_port" "$(pg_conn_field "$CLEANCRM_TEST_PG" port)" \
    "$(pg_conn_field "$CLEANCRM_TEST_PG" username userid user)" "$(pg_conn_field "$CLEANCRM_TEST_PG" password)"
  pgbouncer_started=1
  export CLEANCRM_TEST_PGBOUNCER="127.0.0.1:$pgbouncer_port"
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

rm -rf "$results_dir"
mkdir -p "$results_dir"

# The Azure Blob backup store tests run against Azurite from npm, installed once under tests/tools/azurite
# (the test fixture starts it on a free port).
if [[ ! -x tests/tools/azurite/node_modules/.bin/azurite-blob ]]; then
  npm ci --prefix tests/tools/azurite --no-audit --no-fund
fi

build_ok=1
if ! dotnet tool restore ||
  ! dotnet restore CleanCrm.sln ||
  ! dotnet build CleanCrm.sln -c Release --no-restore -warnaserror; then
  build_ok=0
fi

style_ok=1
if [[ $build_ok == 1 && ${CLEANCRM_SKIP_STYLE:-0} != 1 ]]; then
  scripts/check-style.sh || style_ok=0
fi

# The console tests drive Debian's chromium, never a downloaded browser; without it they fail saying so.
if [[ $build_ok == 1 && ${CLEANCRM_SKIP_BROWSER:-0} != 1 && ! -x /usr/bin/chromium ]]; then
  echo "Installing Debian's chromium package for the console tests..."
  { pg_sudo env DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null &&
    pg_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; } ||
    echo "Could not install chromium: the console tests will fail."
fi

test_rc=0
if [[ $build_ok == 1 ]]; then
  # CLEANCRM_SKIP_BROWSER=1 reaches the console test project as an MSBuild property, which then is no test project.
  dotnet test CleanCrm.sln -c Release --no-build \
    --results-directory "$results_dir" \
    --logger trx \
    --logger "console;verbosity=normal" \
    "$@" || test_rc=$?
fi

# The SPA's way in (docs/API.md, "The TypeScript client"): the OpenAPI lint, the drift and breaking-change checks,
# the client's unit tests and the end-to-end suites against a real API + worker. Each writes its counts to
# <name>.counts; one that dies before writing them counts as one failure. They run on a full run only: extra
# arguments (a --filter) select .NET tests. CLEANCRM_SKIP_CLIENT=1 skips them.
# The compose smoke test (tests/deploy/compose-smoke.sh: docker, images, the whole stack) runs last among them;
# CLEANCRM_SKIP_COMPOSE=1 skips it alone.
run_counted() {
  local name=$1 counts="$results_dir/$1.counts"
  shift
  echo "=== $name: $*"
  rm -f "$counts"
  local rc=0
  CLEANCRM_COUNTS_FILE="$counts" "$@" || rc=$?
  if [[ $rc != 0 ]]; then
    echo "$name failed (exit code $rc)"
  fi
  if [[ ! -s $counts ]]; then
    echo "passed=0 failed=1 skipped=0" >"$counts"
  fi
  echo "=== $name: $(cat "$counts")"
}

if [[ $build_ok == 1 && $# == 0 && ${CLEANCRM_SKIP_CLIENT:-0} != 1 ]]; then
  run_counted deploy-manifests tests/deploy/check-manifests.sh
  run_counted openapi-lint scripts/openapi-lint.sh
  run_counted client scripts/client-checks.sh
  run_counted e2e env CLEANCRM_E2E_NO_BUILD=1 scripts/e2e.sh
  # The fault suite's quick subset (docs/reliability.md): abuse corpus from the OpenAPI document, an API and the worker
  # killed, a tenant server restarted, all under load on real processes. CLEANCRM_SKIP_FAULTS=1 skips it alone.
  if [[ ${CLEANCRM_SKIP_FAULTS:-0} != 1 ]]; then
    run_counted faults env CLEANCRM_FAULTS_NO_BUILD=1 tests/faults/run.sh --quick
  fi
  # The compose stack for real (docker, images, two APIs behind nginx, kills, down/up); docs/DEPLOYMENT.md.
  if [[ ${CLEANCRM_SKIP_COMPOSE:-0} != 1 ]]; then
    run_counted compose-smoke tests/deploy/compose-smoke.sh
  fi
fi

# Counts results per .trx file and .counts file; zero files (a failed build) is 0/0.
summary=$(python3 - "$results_dir" <<'PY'
import glob
import os
import sys
import xml.etree.ElementTree as ET

ns = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"
passed = failed = skipped = 0
for path in sorted(glob.glob(os.path.join(sys.argv[1], "**", "*.trx"), recursive=True)):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        print(f"unreadable test results {path}: {error}", file=sys.stderr)
        failed += 1
        continue
    results = root.find(f"{ns}Results")
    if results is None:
        continue
    # Direct children only: data-driven rows may repeat as InnerResults.
    for result in results.findall(f"{ns}UnitTestResult"):
        outcome = result.get("outcome", "")
        if outcome == "Passed":
            passed += 1
        elif outcome in ("NotExecuted", "Inconclusive", "Pending"):
            skipped += 1
        else:
            failed += 1
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.counts"))):
    with open(path, encoding="utf-8") as handle:
        fields = dict(part.split("=", 1) for part in handle.read().split())
    passed += int(fields.get("passed", 0))
    failed += int(fields.get("failed", 0))
    skipped += int(fields.get("skipped", 0))
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
PY
)

stop_clusters

status=0
if [[ $build_ok != 1 ]]; then
  echo "BUILD FAILED: no tests were run"
  status=1
elif [[ $test_rc != 0 ]]; then
  echo "dotnet test exited with code $test_rc (results: $results_dir)"
  status=1
fi
if [[ $style_ok != 1 ]]; then
  echo "STYLE CHECK FAILED: see scripts/check-style.sh output above"
  status=1
fi
[[ $summary =~ ,\ 0\ failed ]] || status=1
echo "$summary"
exit "$status"
