#!/usr/bin/env bash
# End-to-end suites (tests/e2e): the generated TypeScript client (src/clients/typescript) and a real SPA page in
# headless Chromium against a real API, worker and PostgreSQL started the way scripts/run.sh starts them.
# Everything this script starts is stopped when it exits. The last line printed is "N passed, N failed" (", N skipped"
# when some were skipped); CLEANCRM_COUNTS_FILE (when set) receives "passed=N failed=N skipped=N".
#
# Settings:
#   CLEANCRM_E2E_API_URL   use an API that is already running (with its worker) instead of starting one; it must have
#                          the SPA redirect URI and CORS origin of the static page configured (see below)
#   CLEANCRM_E2E_PG_PORT   port of the throwaway cluster "e2e" (default 55434); CLEANCRM_PG names an existing server
#   CLEANCRM_E2E_API_PORT  (default 5090)   CLEANCRM_E2E_SPA_PORT  static page server (default 5091)
#   CLEANCRM_E2E_MAIL_PORT SMTP port of the mail sink the worker sends to (default 2526; mail lands in .local/e2e-mail)
#   CLEANCRM_E2E_NO_BUILD=1  skip the Release build of the API and worker (scripts/test.sh has just built them)
#   CLEANCRM_READY_TIMEOUT   seconds to wait for /health/ready (default 180)
# Extra arguments go to `node --test` (e.g. --test-name-pattern=burst). `scripts/e2e.sh --serve` only starts the stack
# and keeps it running until Ctrl-C (run the suites against it with CLEANCRM_E2E_API_URL set).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/pg.sh
source "$repo/scripts/pg.sh"
# shellcheck source=scripts/services.sh
source "$repo/scripts/services.sh"

api_port=${CLEANCRM_E2E_API_PORT:-5090}
spa_port=${CLEANCRM_E2E_SPA_PORT:-5091}
mail_port=${CLEANCRM_E2E_MAIL_PORT:-2526}
spa_origin="http://127.0.0.1:$spa_port"
logs="$repo/.local/logs"
results="$repo/.local/e2e-results"
client_dir="$repo/src/clients/typescript"
e2e_dir="$repo/tests/e2e"
mail_dir="$repo/.local/e2e-mail"
worker_project=provisioning/CleanCrm.Provisioning.Worker
api_project=src/CleanCrm.Api
mkdir -p "$logs"
rm -rf "$results"
mkdir -p "$results"

cluster_started=0
pids=()

# Each service runs in its own process group (setsid), so stopping it also stops the process `dotnet run` starts.
# shellcheck disable=SC2317 # invoked by the EXIT trap
stop_all() {
  trap - EXIT INT TERM
  stop_process_groups
  if [[ $cluster_started == 1 ]]; then
    pg_stop e2e || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints the counts line (and writes CLEANCRM_COUNTS_FILE); a run that never reached the suites counts as one failure.
report() {
  local passed=$1 failed=$2 skipped=$3 line
  if [[ -n ${CLEANCRM_COUNTS_FILE:-} ]]; then
    printf 'passed=%s failed=%s skipped=%s\n' "$passed" "$failed" "$skipped" >"$CLEANCRM_COUNTS_FILE"
  fi
  line="$passed passed, $failed failed"
  if [[ $skipped != 0 ]]; then
    line+=", $skipped skipped"
  fi
  echo "$line"
}

fail_setup() {
  echo "e2e: $*" >&2
  report 0 1 0
  exit 1
}

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# Chromium for the browser suite: Debian's package, never a downloaded browser.
if [[ ! -x /usr/bin/chromium ]]; then
  echo "Installing Debian's chromium package..."
  pg_sudo env DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null
  pg_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null ||
    fail_setup "could not install chromium"
fi

serve_only=0
if [[ ${1:-} == --serve ]]; then
  serve_only=1
  shift
  [[ -z ${CLEANCRM_E2E_API_URL:-} ]] || fail_setup "--serve starts a stack; unset CLEANCRM_E2E_API_URL"
fi

# The client package first (the suites import its build), then the suites' own dependencies from the lockfile.
if [[ $serve_only == 0 ]]; then
  if [[ ! -f $client_dir/package.json ]]; then
    fail_setup "no client package in $client_dir"
  fi
  # The generated client is committed; a checkout without it generates it from the committed document (NSwag).
  if [[ ! -f $client_dir/src/generated.ts ]]; then
    (dotnet tool restore >/dev/null && cd "$client_dir" && node scripts/generate.mjs) || fail_setup "generating the client failed"
  fi
  (cd "$client_dir" && npm ci --no-audit --no-fund && npm run build) || fail_setup "building the client package failed"
fi
(cd "$e2e_dir" && npm ci --no-audit --no-fund) || fail_setup "npm ci in tests/e2e failed"
if [[ $serve_only == 0 ]]; then
  (cd "$e2e_dir" && npx tsc -p tsconfig.json --noEmit) || fail_setup "the e2e suites do not type-check"
  # Every call typed: no explicit any in the suites, their helpers or the SPA page.
  if grep -rnE ':\s*any\b|\bas any\b|<any>|any\[\]' --include='*.ts' "$e2e_dir/suites" "$e2e_dir/support" "$e2e_dir/spa"; then
    fail_setup "the e2e code above uses any"
  fi
fi

if [[ -n ${CLEANCRM_E2E_API_URL:-} ]]; then
  api_url=${CLEANCRM_E2E_API_URL%/}
  echo "Using the running API at $api_url"
else
  api_url="http://127.0.0.1:$api_port"
  # A fresh cluster every run: the SPA's redirect URI is registered by the catalog migration only when the client is
  # first created, and leftovers of an earlier run (organizations, users) must not leak into this one.
  if [[ -z ${CLEANCRM_PG:-} ]]; then
    if pg_running_pid "$PG_ROOT/e2e" >/dev/null 2>&1; then
      pg_stop e2e
    fi
    rm -rf -- "${PG_ROOT:?}/e2e" "$PG_ROOT/e2e.password"
  fi
  pg_start e2e "${CLEANCRM_E2E_PG_PORT:-55434}"
  cluster_started=$PG_STARTED

  admin=$(pg_conn_string e2e)
  pg_host=$(pg_conn_field "$admin" host server) || pg_host=127.0.0.1
  pg_port=$(pg_conn_field "$admin" port) || pg_port=5432
  pg_user=$(pg_conn_field "$admin" username userid user) || pg_user=postgres
  pg_password=$(pg_conn_field "$admin" password) || pg_password=

  # Own catalog database, so an existing server (CLEANCRM_PG) keeps its other catalogs apart.
  export ConnectionStrings__Catalog="Host=$pg_host;Port=$pg_port;Username=$pg_user;Password=$pg_password;Database=cleancrm_e2e_catalog"
  export CleanCrm__Tenancy__DefaultServer__Host=$pg_host
  export CleanCrm__Tenancy__DefaultServer__Port=$pg_port
  export CleanCrm__Tenancy__DefaultServer__Username=$pg_user
  export CleanCrm__Tenancy__DefaultServer__Password=$pg_password
  export CleanCrm__Backups__FileSystemRoot="$repo/.local/e2e-backups"
  # Development: the OpenID server accepts plain http on 127.0.0.1 (as in scripts/run.sh).
  export ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development
  # The static SPA page of the browser suite: its callback is a redirect URI of cleancrm-spa (registered by the
  # catalog migration), and its origin may call the API (CORS).
  export CleanCrm__Identity__SpaRedirectUris__0="$spa_origin/callback.html"
  export CleanCrm__AbuseProtection__AllowedOrigins__0="$spa_origin"
  # Mail goes to a minimal SMTP sink (tests/e2e/support/smtp-sink.ts), one .eml file per message.
  export CleanCrm__Email__Smtp__Host=127.0.0.1 CleanCrm__Email__Smtp__Port=$mail_port CleanCrm__Email__Smtp__Security=None
  rm -rf "$mail_dir"
  export CLEANCRM_E2E_MAIL_DIR=$mail_dir
  (cd "$e2e_dir" && exec setsid node --import tsx support/smtp-sink.ts "$mail_port" "$mail_dir") \
    >"$logs/e2e-smtp.log" 2>&1 </dev/null &
  pids+=("$!")

  if [[ ${CLEANCRM_E2E_NO_BUILD:-0} != 1 ]]; then
    # One build at a time: two builds of shared projects would fight over the same obj/ folders.
    dotnet build "$worker_project" -c Release -warnaserror >"$logs/e2e-build.log" 2>&1 ||
      { tail -n 30 "$logs/e2e-build.log" >&2; fail_setup "building the worker failed"; }
    dotnet build "$api_project" -c Release -warnaserror >>"$logs/e2e-build.log" 2>&1 ||
      { tail -n 30 "$logs/e2e-build.log" >&2; fail_setup "building the API failed"; }
  fi

  echo "Migrating the catalog (worker migrate)..."
  dotnet run --project "$worker_project" -c Release --no-build -- migrate >"$logs/e2e-migrate.log" 2>&1 ||
    { tail -n 30 "$logs/e2e-migrate.log" >&2; fail_setup "the catalog migration failed"; }

  setsid dotnet run --project "$worker_project" -c Release --no-build -- serve \
    >"$logs/e2e-worker.log" 2>&1 </dev/null &
  worker_pid=$!
  pids+=("$worker_pid")

  setsid dotnet run --project "$api_project" -c Release --no-build --urls "$api_url" \
    >"$logs/e2e-api.log" 2>&1 </dev/null &
  api_pid=$!
  pids+=("$api_pid")

  wait_until_ready "$api_url" "${CLEANCRM_READY_TIMEOUT:-180}" "$logs/e2e-worker.log" "$logs/e2e-api.log" \
    -- "$worker_pid" "$api_pid" || fail_setup "the stack did not become ready"
fi

if [[ $serve_only == 1 ]]; then
  echo "CleanCrm for the e2e suites is running at $api_url (SPA origin $spa_origin); Ctrl-C stops it."
  echo "Logs: $logs/e2e-api.log, $logs/e2e-worker.log"
  status=0
  wait -n "${pids[@]}" || status=$?
  echo "A service exited (status $status); stopping." >&2
  exit "$status"
fi

export CLEANCRM_E2E_API_URL=$api_url CLEANCRM_E2E_SPA_PORT=$spa_port
export CLEANCRM_E2E_CHROMIUM=${CLEANCRM_E2E_CHROMIUM:-/usr/bin/chromium}

# One file at a time: each signs up its own organization, and the burst test must not share its rate-limit window.
test_rc=0
(cd "$e2e_dir" && node --import tsx --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$results/e2e.tap" \
  "$@" suites/*.test.ts) || test_rc=$?

# The TAP summary of node --test: "# pass N", "# fail N", "# cancelled N", "# skipped N", "# todo N".
count() { sed -n "s/^# $1 \([0-9]*\)$/\1/p" "$results/e2e.tap" 2>/dev/null | tail -n 1 || true; }
passed=$(count pass)
failed=$(count fail)
cancelled=$(count cancelled)
skipped=$(count skipped)
todo=$(count todo)
if [[ -z $passed || -z $failed ]]; then
  echo "e2e: node --test wrote no summary (exit code $test_rc)" >&2
  report "${passed:-0}" "$((${failed:-0} + 1))" "${skipped:-0}"
  exit 1
fi
failed=$((failed + ${cancelled:-0}))
skipped=$((${skipped:-0} + ${todo:-0}))
if [[ $test_rc != 0 && $failed == 0 ]]; then
  echo "e2e: node --test exited with code $test_rc" >&2
  failed=1
fi
report "$passed" "$failed" "$skipped"
[[ $failed == 0 ]]
