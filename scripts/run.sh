#!/usr/bin/env bash
# Runs CleanCrm locally: a PostgreSQL cluster, the catalog migration, the
# provisioning worker, the API and the provisioning console. Ctrl-C stops
# everything this script started.
#
# Ports: CLEANCRM_PG_PORT (default 55432), CLEANCRM_API_PORT (default 5080),
# CLEANCRM_CONSOLE_PORT (default 5082).
# CLEANCRM_READY_TIMEOUT: seconds to wait for /health/ready (default 120).
# CLEANCRM_PG may name an existing server instead of the local cluster.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/pg.sh
source "$repo/scripts/pg.sh"
# shellcheck source=scripts/services.sh
source "$repo/scripts/services.sh"

api_port=${CLEANCRM_API_PORT:-5080}
api_url="http://127.0.0.1:$api_port"
console_port=${CLEANCRM_CONSOLE_PORT:-5082}
console_url="http://127.0.0.1:$console_port"
console_project=provisioning/CleanCrm.Console
logs="$repo/.local/logs"
worker_project=provisioning/CleanCrm.Provisioning.Worker
api_project=src/CleanCrm.Api
mkdir -p "$logs"

cluster_started=0
pids=()

# Each service runs in its own process group (setsid), so stopping it also stops
# the application process that `dotnet run` starts as its child.
# shellcheck disable=SC2317 # invoked by the EXIT trap
stop_all() {
  trap - EXIT INT TERM
  stop_process_groups
  if [[ $cluster_started == 1 ]]; then
    pg_stop main || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pg_start main "${CLEANCRM_PG_PORT:-55432}"
cluster_started=$PG_STARTED

admin=$(pg_conn_string main)
pg_host=$(pg_conn_field "$admin" host server) || pg_host=127.0.0.1
pg_port=$(pg_conn_field "$admin" port) || pg_port=5432
pg_user=$(pg_conn_field "$admin" username userid user) || pg_user=postgres
pg_password=$(pg_conn_field "$admin" password) || pg_password=

# The catalog is reached as the superuser: good enough for a local dev cluster,
# never for a real deployment.
export ConnectionStrings__Catalog="Host=$pg_host;Port=$pg_port;Username=$pg_user;Password=$pg_password;Database=cleancrm_catalog"
export CleanCrm__Tenancy__DefaultServer__Host=$pg_host
export CleanCrm__Tenancy__DefaultServer__Port=$pg_port
export CleanCrm__Tenancy__DefaultServer__Username=$pg_user
export CleanCrm__Tenancy__DefaultServer__Password=$pg_password
# API (downloads, verification) and worker (backup jobs) must share one backup store.
export CleanCrm__Backups__FileSystemRoot="$repo/.local/backups"
export ASPNETCORE_ENVIRONMENT=Development
export DOTNET_ENVIRONMENT=Development
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# One build up front: two concurrent `dotnet run` builds of shared projects would
# fight over the same obj/ folders.
dotnet build "$worker_project" -c Release
dotnet build "$api_project" -c Release
dotnet build "$console_project" -c Release

# The console signs in as the confidential client cleancrm-console (docs/CONSOLE.md): a fresh secret per run,
# registered by `migrate` and given to the console; nothing is written to disk.
console_secret=$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n')
export CleanCrm__Identity__ConsoleClientSecret=$console_secret
export CleanCrm__Identity__ConsoleRedirectUris__0="$console_url/signin-oidc"
export CleanCrm__Identity__ConsolePostLogoutRedirectUris__0="$console_url/signout-callback-oidc"

# A local platform admin, so the console can be used at once: unless one is configured, admin@cleancrm.local with a
# password generated on the first run and kept in .local (git-ignored), because `migrate` sets it only on creation.
admin_note="the bootstrap admin from CleanCrm__Identity__BootstrapAdmin__Email"
if [[ -z ${CleanCrm__Identity__BootstrapAdmin__Email:-} ]]; then
  admin_password_file="$repo/.local/bootstrap-admin-password"
  if [[ ! -s $admin_password_file ]]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$admin_password_file")
  fi
  export CleanCrm__Identity__BootstrapAdmin__Email=admin@cleancrm.local
  CleanCrm__Identity__BootstrapAdmin__Password=$(cat "$admin_password_file")
  export CleanCrm__Identity__BootstrapAdmin__Password
  admin_note="admin@cleancrm.local, password in .local/bootstrap-admin-password"
fi

# Local mail catcher (smtp4dev, a local dotnet tool): the worker sends invitations and welcome mails to it.
mail_ui=${CLEANCRM_MAIL_UI:-http://127.0.0.1:5081}
mail_port=${CLEANCRM_MAIL_PORT:-2525}
export CleanCrm__Email__Smtp__Host=127.0.0.1 CleanCrm__Email__Smtp__Port=$mail_port CleanCrm__Email__Smtp__Security=None
dotnet tool restore >/dev/null
setsid dotnet smtp4dev --urls="$mail_ui" --smtpport="$mail_port" --imapport=0 --pop3port=0 --db= --nousersettings --hostname=localhost \
  >"$logs/smtp4dev.log" 2>&1 </dev/null &
pids+=("$!")

echo "Migrating the catalog (worker migrate)..."
dotnet run --project "$worker_project" -c Release --no-build -- migrate

setsid dotnet run --project "$worker_project" -c Release --no-build -- serve \
  >"$logs/worker.log" 2>&1 </dev/null &
worker_pid=$!
pids+=("$worker_pid")

setsid dotnet run --project "$api_project" -c Release --no-build --urls "$api_url" \
  >"$logs/api.log" 2>&1 </dev/null &
api_pid=$!
pids+=("$api_pid")

setsid env CleanCrm__Console__ApiBaseUrl="$api_url/" CleanCrm__Console__ClientSecret="$console_secret" \
  dotnet run --project "$console_project" -c Release --no-build --urls "$console_url" \
  >"$logs/console.log" 2>&1 </dev/null &
console_pid=$!
pids+=("$console_pid")

show_logs() {
  local log
  for log in worker api console; do
    echo "--- tail of $logs/$log.log" >&2
    tail -n 40 "$logs/$log.log" >&2 || true
  done
}

wait_until_ready "$api_url" "${CLEANCRM_READY_TIMEOUT:-120}" "$logs/worker.log" "$logs/api.log" -- "$worker_pid" "$api_pid" ||
  exit 1
wait_until_ready "$console_url" "${CLEANCRM_READY_TIMEOUT:-120}" "$logs/console.log" -- "$console_pid" || exit 1

cat <<EOF

CleanCrm is running (Ctrl-C stops it).
  API            $api_url
  Swagger UI     $api_url/swagger
  OpenAPI        $api_url/openapi/v1.json
  Readiness      $api_url/health/ready
  Metrics        $api_url/metrics
  Console        $console_url (platform admins; sign in through the API)
  Jobs           $console_url/jobs (Hangfire dashboard, in the console)
  Console admin  $admin_note
  Mail catcher   $mail_ui (SMTP 127.0.0.1:$mail_port)
  Logs           $logs/api.log, $logs/worker.log, $logs/console.log, $logs/smtp4dev.log
EOF

# Returns when either service exits; the EXIT trap then stops the other one.
status=0
wait -n "$worker_pid" "$api_pid" "$console_pid" || status=$?
echo "A service exited (status $status); stopping." >&2
show_logs
exit "$status"
