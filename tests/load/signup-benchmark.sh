#!/usr/bin/env bash
# Signup -> first authenticated call (p50/p95, sequential and concurrent) and clone-vs-create-empty, side by side.
# Starts its own cluster (port BENCH_PG_PORT, default 59432), API (5290) and worker, Release build. Results go to stdout.
# Warm pool (docs/adr/0015-warm-pool-of-tenant-databases.md): each size in POOL_SIZES (default "0 5 20"; 0 = no pool,
# every signup clones) is measured ROUNDS times (default 2), interleaved, with the worker restarted for each size and
# the pool full before each sequential run and each burst. Every phase prints the CPU split (API, worker, PostgreSQL,
# client, other) so a busy machine shows, and the run ends with the cost of the PBKDF2 password hashes alone.
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
worker_pid=
cleanup() {
  for pid in "${pids[@]}" $worker_pid; do kill -TERM -- "-$pid" 2>/dev/null || true; done
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
# The built programs run directly (not under `dotnet run`), so their pids are the processes whose CPU is measured.
(cd src/CleanCrm.Api && exec setsid dotnet bin/Release/net10.0/CleanCrm.Api.dll --urls "http://127.0.0.1:$api_port") \
  >"$logs/api.log" 2>&1 &
api_pid=$!
pids+=($api_pid)
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$api_port/health/ready" >/dev/null && break; sleep 1; done

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGPASSWORD=$pw
postmaster=$(head -n 1 "$PG_ROOT/signupbench/postmaster.pid")
# shellcheck source=tests/load/cpu-split.sh
source "$repo/tests/load/cpu-split.sh"

start_worker() { # <pool size>
  (cd provisioning/CleanCrm.Provisioning.Worker && CleanCrm__Provisioning__WarmPool__Size=$1 \
    exec setsid dotnet bin/Release/net10.0/CleanCrm.Provisioning.Worker.dll serve) >>"$logs/worker-$1.log" 2>&1 &
  worker_pid=$!
}
stop_worker() {
  kill -TERM -- "-$worker_pid" 2>/dev/null || true
  wait "$worker_pid" 2>/dev/null || true
  worker_pid=
}
wait_for_pool() { # <size>: until the pool holds <size> ready databases (the worker refills after each claim)
  for _ in $(seq 1 600); do
    [ "$(psql -XAt -d cleancrm_catalog -c "SELECT count(*) FROM warm_pool_databases WHERE status = 'ready'")" -ge "$1" ] && return 0
    sleep 0.2
  done
  echo "pool never reached $1 ready databases" >&2
  return 1
}
measure() { # <label> <python args...>: runs the client and prints the CPU split of the phase
  local label=$1
  shift
  cpu_begin
  { TIMEFORMAT='%U %S'; time python3 tests/load/signup_benchmark.py "http://127.0.0.1:$api_port" "$@" "$label"; } 2>"$logs/client.cpu"
  cpu_report "$label" "$(tail -n 1 "$logs/client.cpu" | awk '{ print $1 + $2 }')"
}

echo "== signup -> first authenticated call, warm pool sizes ${POOL_SIZES:-0 5 20}, ${ROUNDS:-2} rounds (load at start: $(cut -d' ' -f1-3 /proc/loadavg))"
for round in $(seq 1 "${ROUNDS:-2}"); do
  for size in ${POOL_SIZES:-0 5 20}; do
    start_worker "$size"
    wait_for_pool "$size"
    measure "round $round pool=$size" "${SEQUENTIAL:-50}" "${CONCURRENT:-20}" seq
    wait_for_pool "$size"
    measure "round $round pool=$size" "${SEQUENTIAL:-50}" "${CONCURRENT:-20}" conc
    stop_worker
  done
done

echo "== PBKDF2-HMAC-SHA512, 100,000 iterations (the product's password hash), alone on this machine"
python3 - "${CONCURRENT:-20}" <<'PY'
import hashlib, os, sys, time
from concurrent.futures import ThreadPoolExecutor
n = int(sys.argv[1]) * 2  # one hash at signup, one at the token grant
one = lambda _: hashlib.pbkdf2_hmac("sha512", b"bench horse battery staple", os.urandom(16), 100_000)
started = time.perf_counter(); one(0); single = time.perf_counter() - started
with ThreadPoolExecutor(os.cpu_count()) as pool:
    started = time.perf_counter(); list(pool.map(one, range(n))); burst = time.perf_counter() - started
print(f"one hash {single * 1000:.0f} ms; {n} hashes on {os.cpu_count()} threads {burst * 1000:.0f} ms wall")
PY

echo "== clone from template vs create empty + migrate (10 each, same run)"
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
