#!/usr/bin/env bash
# Signup -> first authenticated call (p50/p95, sequential and concurrent) and clone-vs-create-empty, side by side.
# Starts its own cluster (port BENCH_PG_PORT, default 59432), API (5290) and worker, Release build. Results go to stdout.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=scripts/pg.sh
source "$repo/scripts/pg.sh"
port=${BENCH_PG_PORT:-59432}
api_port=${BENCH_API_PORT:-5290}
logs="$repo/.local/logs/signup-bench"
mkdir -p "$logs"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  sleep 1
  pg_stop signupbench || true
}
trap cleanup EXIT

pg_start signupbench "$port"
admin=$(pg_conn_string signupbench)
pw=$(sed -n 's/.*Password=\([^;]*\).*/\1/p' <<<"$admin")
export ConnectionStrings__Catalog="Host=127.0.0.1;Port=$port;Database=cleancrm_catalog;Username=postgres;Password=$pw"
export CleanCrm__Tenancy__DefaultServer__Host=127.0.0.1 CleanCrm__Tenancy__DefaultServer__Port=$port
export CleanCrm__Tenancy__DefaultServer__Username=postgres CleanCrm__Tenancy__DefaultServer__Password=$pw
export ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development Serilog__MinimumLevel__Default=Warning
export CleanCrm__Jobs__QueuePollIntervalMs=100
# The benchmark signs up 71 orgs from one address; the per-IP abuse limits would otherwise refuse it.
export CleanCrm__AbuseProtection__SignupsPerMinutePerIp=100000 CleanCrm__AbuseProtection__TokenRequestsPerMinutePerIp=100000

dotnet build provisioning/CleanCrm.Provisioning.Worker -c Release -v q >/dev/null
dotnet build src/CleanCrm.Api -c Release -v q >/dev/null
dotnet run --project provisioning/CleanCrm.Provisioning.Worker -c Release --no-build -- migrate >"$logs/migrate.log" 2>&1
setsid dotnet run --project provisioning/CleanCrm.Provisioning.Worker -c Release --no-build -- serve >"$logs/worker.log" 2>&1 &
pids+=($!)
setsid dotnet run --project src/CleanCrm.Api -c Release --no-build --urls "http://127.0.0.1:$api_port" >"$logs/api.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$api_port/health/ready" >/dev/null && break; sleep 1; done

echo "== signup -> first authenticated call"
python3 tests/load/signup_benchmark.py "http://127.0.0.1:$api_port" "${SEQUENTIAL:-50}" "${CONCURRENT:-20}"

echo "== clone from template vs create empty + migrate (10 each, same run)"
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGPASSWORD=$pw
dotnet tool restore >/dev/null
dotnet ef migrations script -i -p src/CleanCrm.Infrastructure -s src/CleanCrm.Infrastructure -c TenantDbContext -o "$logs/tenant.sql" >/dev/null 2>&1
clone_ms=0; empty_ms=0
for i in $(seq 1 10); do
  t0=$(date +%s%N); psql -qAt -d postgres -c "CREATE DATABASE bench_clone_$i TEMPLATE cleancrm_tenant_template" >/dev/null; t1=$(date +%s%N)
  psql -qAt -d postgres -c "CREATE DATABASE bench_empty_$i" >/dev/null; psql -qAt -d "bench_empty_$i" -v ON_ERROR_STOP=1 -f "$logs/tenant.sql" >/dev/null; t2=$(date +%s%N)
  clone_ms=$((clone_ms + (t1 - t0) / 1000000)); empty_ms=$((empty_ms + (t2 - t1) / 1000000))
  psql -qAt -d postgres -c "DROP DATABASE bench_clone_$i" -c "DROP DATABASE bench_empty_$i" >/dev/null
done
echo "clone: $((clone_ms / 10)) ms avg; create empty + migrate: $((empty_ms / 10)) ms avg; ratio $(python3 -c "print(f'{$empty_ms / max($clone_ms, 1):.1f}x')")"
