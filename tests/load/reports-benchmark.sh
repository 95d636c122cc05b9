#!/usr/bin/env bash
# Advanced reports benchmark (issue 22, docs/REPORTS.md "Performance"), one command:
#
#   tests/load/reports-benchmark.sh
#
# 1. starts (or reuses) a local PostgreSQL cluster, migrates the catalog and the tenant template (worker `migrate`),
# 2. seeds one organization (CleanCrm.Benchmarks seed-tenants, enterprise plan so advanced_reporting is on, the
#    benchmark owner with a random password) and fills its database with tests/load/reports-data.sql
#    (BENCH_DEALS deals, BENCH_ACTIVITIES activities, BENCH_MEETINGS meetings, splits and stage history),
# 3. starts the API inside the benchmark host (the real Program on Kestrel, Release, development authentication OFF)
#    and signs in with the password grant (a real bearer token, validated on every request),
# 4. measures each report and a bare baseline through the same stack: GET /api/v1/pipelines (same authentication,
#    organization resolution, tenant connection, mediator pipeline; a trivial query). One request at a time (latency,
#    not throughput), round-robin over the endpoints so a drift of the machine's other load hits all alike;
#    BENCH_WARMUP rounds discarded, then BENCH_REQUESTS rounds; p50/p95/max per endpoint, and the same without the
#    baseline's median (what the report itself costs). Target: p95 <= 200 ms per report.
#
# Settings (environment):
#   BENCH_CLUSTER=reports BENCH_PG_PORT=55542 BENCH_API_PORT=5192 BENCH_DEALS=100000 BENCH_ACTIVITIES=300000
#   BENCH_MEETINGS=30000 BENCH_MEMBERS=12 BENCH_WARMUP=10 BENCH_REQUESTS=100 BENCH_NO_BUILD=1 BENCH_KEEP_PG=1
# The data is generated once per cluster (kept with BENCH_KEEP_PG=1; a second run reuses it).
# Output: .local/bench/reports-<time>/summary.txt (and the raw timings beside it).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=scripts/pg.sh disable=SC1091
source "$repo/scripts/pg.sh"

cluster=${BENCH_CLUSTER:-reports}
pg_port=${BENCH_PG_PORT:-55542}
api_port=${BENCH_API_PORT:-5192}
deals=${BENCH_DEALS:-100000}
activities=${BENCH_ACTIVITIES:-300000}
meetings=${BENCH_MEETINGS:-30000}
members=${BENCH_MEMBERS:-12}
warmup=${BENCH_WARMUP:-10}
requests=${BENCH_REQUESTS:-100}
slug=rpt-0001
api_url="http://127.0.0.1:$api_port"
out="$repo/.local/bench"
log="$out/reports-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$log"

for tool in psql curl openssl awk; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done

api_pid=
cluster_started=0
cleanup() {
  trap - EXIT INT TERM
  if [[ -n $api_pid ]] && kill -0 "$api_pid" 2>/dev/null; then
    kill -TERM "$api_pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$api_pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$api_pid" 2>/dev/null || true
  fi
  if [[ $cluster_started == 1 && -z ${BENCH_KEEP_PG:-} ]]; then
    pg_stop "$cluster" || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

pg_start "$cluster" "$pg_port"
cluster_started=$PG_STARTED
eval "$(pg_env "$cluster")"
export PGDATABASE=postgres
admin=$(pg_conn_string "$cluster")
pg_user=$(pg_conn_field "$admin" username userid user)
pg_password=$(pg_conn_field "$admin" password)
catalog="Host=127.0.0.1;Port=$pg_port;Username=$pg_user;Password=$pg_password;Database=cleancrm_catalog"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
worker_bin=provisioning/CleanCrm.Provisioning.Worker/bin/Release/net10.0
bench_bin=tests/CleanCrm.Benchmarks/bin/Release/net10.0
if [[ -z ${BENCH_NO_BUILD:-} ]]; then
  say "building (Release)"
  for project in provisioning/CleanCrm.Provisioning.Worker tests/CleanCrm.Benchmarks; do
    dotnet build "$project" -c Release -v q -nologo >"$log/build.log" 2>&1 || { tail -n 30 "$log/build.log" >&2; exit 1; }
  done
fi

say "migrating the catalog and the template"
(
  cd "$worker_bin"
  ConnectionStrings__Catalog=$catalog \
    CleanCrm__Tenancy__DefaultServer__Host=127.0.0.1 CleanCrm__Tenancy__DefaultServer__Port=$pg_port \
    CleanCrm__Tenancy__DefaultServer__Username=$pg_user CleanCrm__Tenancy__DefaultServer__Password=$pg_password \
    Serilog__MinimumLevel__Default=Warning \
    dotnet CleanCrm.Provisioning.Worker.dll migrate
) >"$log/migrate.log" 2>&1 || { cat "$log/migrate.log" >&2; exit 1; }

password=$(openssl rand -hex 16)
say "seeding organization $slug (enterprise plan)"
(cd "$bench_bin" && BENCH_PASSWORD=$password dotnet CleanCrm.Benchmarks.dll seed-tenants --catalog "$catalog" --count 1 \
  --contacts-per-tenant 10 --slug-prefix rpt- --out "$log/tenants.txt") >"$log/seed.out" 2>"$log/seed.err" \
  || { cat "$log/seed.err" >&2; exit 1; }
psql -XAtq -d cleancrm_catalog -c "INSERT INTO limit_overrides (organization_id, api_requests_per10seconds, updated_at)
  SELECT id, 100000000, now() FROM organizations WHERE slug = '$slug'
  ON CONFLICT (organization_id) DO UPDATE SET api_requests_per10seconds = excluded.api_requests_per10seconds, updated_at = now()" >/dev/null
tenant_db=$(psql -XAtq -d cleancrm_catalog -c "SELECT database_name FROM organizations WHERE slug = '$slug'")
[[ -n $tenant_db ]] || { say "no database for $slug"; exit 1; }

if [[ $(psql -XAtq -d "$tenant_db" -c "SELECT count(*) FROM pipelines WHERE name = 'Bench enterprise'") == 0 ]]; then
  say "generating $deals deals, $activities activities, $meetings meetings in $tenant_db"
  started=$SECONDS
  psql -Xq -d "$tenant_db" -v deals="$deals" -v activities="$activities" -v meetings="$meetings" -v members="$members" \
    -f tests/load/reports-data.sql >"$log/generate.log" 2>&1 || { cat "$log/generate.log" >&2; exit 1; }
  say "generated in $((SECONDS - started)) s: $(tail -n 3 "$log/generate.log" | head -n 1)"
else
  say "reusing the generated data in $tenant_db"
fi
pipeline=$(psql -XAtq -d "$tenant_db" -c "SELECT id FROM pipelines WHERE name = 'Bench enterprise'")
owner=$(psql -XAtq -d "$tenant_db" -c "SELECT owner_id FROM deals WHERE owner_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
counts=$(psql -XAtq -F ' ' -d "$tenant_db" -c "SELECT (SELECT count(*) FROM deals), (SELECT count(*) FROM activities),
  (SELECT count(*) FROM meetings), (SELECT count(*) FROM deal_splits), (SELECT count(*) FROM deal_stage_history)")

if curl -s -o /dev/null --max-time 2 "$api_url/health/live"; then
  say "something already listens on $api_url (a host left over from an earlier run?); stop it first"
  exit 1
fi
say "starting the benchmark host on $api_url"
(
  cd "$repo/tests/CleanCrm.Benchmarks"
  exec setsid env \
    ASPNETCORE_ENVIRONMENT=Testing DOTNET_ENVIRONMENT=Testing \
    ConnectionStrings__Catalog="$catalog;Maximum Pool Size=20" \
    CleanCrm__Api__MigrateOnStartup=false \
    CleanCrm__DevelopmentAuthentication__Enabled=false \
    CleanCrm__Identity__AccessTokenLifetimeMinutes=120 \
    CleanCrm__Identity__DevelopmentKeyDirectory="$out/reports-keys" \
    Serilog__MinimumLevel__Default=Warning \
    bash -c 'echo $$ >"$0"; exec dotnet "$1" serve-api --port "$2"' "$log/api.pid" "$repo/$bench_bin/CleanCrm.Benchmarks.dll" "$api_port"
) >"$log/api.log" 2>&1 </dev/null &
for _ in $(seq 1 50); do [[ -s $log/api.pid ]] && break; sleep 0.1; done
api_pid=$(cat "$log/api.pid")
deadline=$((SECONDS + 120))
until [[ $(curl -s -o /dev/null -w '%{http_code}' "$api_url/health/ready" || true) == 200 ]]; do
  kill -0 "$api_pid" 2>/dev/null || { say "the host exited"; tail -n 40 "$log/api.log" >&2; exit 1; }
  ((SECONDS < deadline)) || { say "the host was not ready in 120 s"; tail -n 40 "$log/api.log" >&2; exit 1; }
  sleep 0.5
done

token=$(curl -s "$api_url/connect/token" -d grant_type=password -d client_id=cleancrm-cli -d username=bench-owner@example.com \
  --data-urlencode "password=$password" -d "scope=openid api" | tr -d '\n' | sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p')
[[ -n $token ]] || { say "no access token"; exit 1; }

year_ago=$(date -u -d '-365 days' +%F)
today=$(date -u +%F)
endpoints=(
  "baseline /api/v1/pipelines"
  "pipeline /api/v1/reports/pipeline"
  "pipeline+filter /api/v1/reports/pipeline?pipelineId=$pipeline&ownerId=$owner"
  "forecast /api/v1/reports/forecast"
  "win-rate /api/v1/reports/win-rate"
  "win-rate+year /api/v1/reports/win-rate?from=$year_ago&to=$today"
  "revenue-by-owner /api/v1/reports/revenue-by-owner"
  "activity /api/v1/reports/activity"
  "activity+year /api/v1/reports/activity?from=$year_ago&to=$today"
)
call() {
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $token" -H "X-Org: $slug" "$api_url$1"
}
for endpoint in "${endpoints[@]}"; do
  status=$(call "${endpoint#* }" | cut -d' ' -f1)
  [[ $status == 200 ]] || { say "${endpoint%% *} answered $status"; exit 1; }
done
say "host ready (pid $api_pid); $warmup warm-up rounds, then $requests measured rounds over ${#endpoints[@]} endpoints"

for round in $(seq 1 $((warmup + requests))); do
  for endpoint in "${endpoints[@]}"; do
    name=${endpoint%% *}
    result=$(call "${endpoint#* }")
    [[ ${result%% *} == 200 ]] || { say "$name answered ${result%% *} in round $round"; exit 1; }
    ((round > warmup)) && echo "${result#* }" >>"$log/times-$name.txt"
  done
done

# p-th percentile (nearest rank) of the seconds in a file, in milliseconds.
percentile() { sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int((p / 100) * NR + 0.999999); if (i < 1) i = 1; printf "%.1f", v[i] * 1000 }'; }
baseline_p50=$(percentile "$log/times-baseline.txt" 50)
report="$log/summary.txt"
{
  echo "Reports benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(psql -XAtc 'SHOW server_version' | cut -d' ' -f1)"
  echo "product commit: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- src || echo ' + uncommitted src changes')"
  echo "data (deals activities meetings splits history): $counts"
  echo "one request at a time, round-robin, $warmup warm-up rounds then $requests measured; baseline = GET /api/v1/pipelines"
  printf '%-18s %9s %9s %9s %14s\n' endpoint p50_ms p95_ms max_ms p95-base50_ms
  for endpoint in "${endpoints[@]}"; do
    name=${endpoint%% *}
    p50=$(percentile "$log/times-$name.txt" 50)
    p95=$(percentile "$log/times-$name.txt" 95)
    max=$(percentile "$log/times-$name.txt" 100)
    printf '%-18s %9s %9s %9s %14s\n' "$name" "$p50" "$p95" "$max" "$(awk -v a="$p95" -v b="$baseline_p50" 'BEGIN { printf "%.1f", a - b }')"
  done
  echo "command: BENCH_DEALS=$deals BENCH_ACTIVITIES=$activities BENCH_MEETINGS=$meetings BENCH_REQUESTS=$requests tests/load/reports-benchmark.sh"
} >"$report"
cat "$report"
