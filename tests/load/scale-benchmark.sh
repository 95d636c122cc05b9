#!/usr/bin/env bash
# Tenant connection scale proof (issues 3 and 18), one command:
#
#   tests/load/scale-benchmark.sh                      # API -> PostgreSQL
#   BENCH_PGBOUNCER=1 tests/load/scale-benchmark.sh    # API -> PgBouncer (transaction mode) -> PostgreSQL
#
# 1. starts (or reuses) the local cluster "bench" with max_connections=BENCH_PG_MAX_CONNECTIONS,
# 2. migrates the catalog and the template (worker `migrate`),
# 3. seeds BENCH_TENANTS tenant databases (CleanCrm.Benchmarks seed-tenants; idempotent, fast when done),
# 4. starts the API (Release, Development environment for the Dev auth handler) with the tenant connection cap,
# 5. warms up, then runs wrk with the same concurrency against K=1 tenant and K=200 (and K=1000) tenants, sampling
#    every 200 ms the tenant connections the server sees (pg_stat_activity) and the API's RSS,
# 6. prints a summary table (also written to .local/bench/results-<time>.txt): per case also the tenant backends' memory
#    (PSS from /proc/<pid>/smaps_rollup, sampled at the end of the case) and how evenly the K tenants were served
#    (per-tenant transactions from pg_stat_database: min / median / max, and tenants served nothing).
#
# Settings (environment):
#   BENCH_PG_PORT=55532  BENCH_API_PORT=5190  BENCH_PG_MAX_CONNECTIONS=1100 (issue 3 used 100)
#   BENCH_TENANTS=1000   BENCH_ROWS=50 (companies and contacts per tenant)  BENCH_SEED_PARALLELISM=4
#   BENCH_CAP (MaxOpenTenantConnections; empty = the product default, derived from the server's max_connections)
#   BENCH_PER_TENANT (PerTenantMaxPoolSize; empty = the product default)
#   BENCH_PROCESSES=1 (CleanCrm:Tenancy:Processes: this run has one API and no worker sharing the server)
#   BENCH_PGBOUNCER=1 puts PgBouncer (scripts/pgbouncer.sh) on BENCH_PGBOUNCER_PORT=6532 between the API and the server,
#     pool size BENCH_PGBOUNCER_POOL=1 per tenant database, tenant verifiers in its auth file (no auth_query connections)
#   BENCH_CATALOG_POOL=20 (Maximum Pool Size of the API's catalog connection string; Npgsql's default of 100 lets
#                          catalog + tenant connections exceed max_connections=100 on a cold cache)
#   BENCH_CASES="1 200 1000"  BENCH_DURATION=30s  BENCH_CONNECTIONS=64  BENCH_THREADS=2  BENCH_WARMUP=10s
#   BENCH_MODE=list|get  BENCH_NO_BUILD=1 (skip dotnet build)  BENCH_NO_SEED=1 (reuse the tenants of an earlier run)  BENCH_KEEP_PG=1 (leave the cluster running)
#   BENCH_API_ENV="Name=value ..." extra settings for the API process (e.g. to try other tenancy options)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=scripts/pg.sh disable=SC1091
source "$repo/scripts/pg.sh"

pg_port=${BENCH_PG_PORT:-55532}
api_port=${BENCH_API_PORT:-5190}
max_connections=${BENCH_PG_MAX_CONNECTIONS:-1100}
tenants=${BENCH_TENANTS:-1000}
rows=${BENCH_ROWS:-50}
seed_parallelism=${BENCH_SEED_PARALLELISM:-4}
cap=${BENCH_CAP:-}
per_tenant=${BENCH_PER_TENANT:-}
processes=${BENCH_PROCESSES:-1}
pgbouncer=${BENCH_PGBOUNCER:-}
pgbouncer_port=${BENCH_PGBOUNCER_PORT:-6532}
catalog_pool=${BENCH_CATALOG_POOL:-20}
read -r -a cases <<<"${BENCH_CASES:-1 200 1000}"
duration=${BENCH_DURATION:-30s}
connections=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}
warmup=${BENCH_WARMUP:-10s}
mode=${BENCH_MODE:-list}
cluster=bench
api_url="http://127.0.0.1:$api_port"
out="$repo/.local/bench"
stamp=$(date +%Y%m%d-%H%M%S)
log="$out/run-$stamp"
mkdir -p "$log"

for tool in wrk psql curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install -y $tool)" >&2; exit 1; }
done
for k in "${cases[@]}"; do
  ((k <= tenants)) || { echo "case K=$k exceeds BENCH_TENANTS=$tenants" >&2; exit 1; }
done

api_pid=
sampler_pids=()
cluster_started=0
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  trap - EXIT INT TERM
  local pid
  for pid in "${sampler_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  if [[ -n $api_pid ]] && kill -0 "$api_pid" 2>/dev/null; then
    kill -TERM "$api_pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$api_pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$api_pid" 2>/dev/null || true
  fi
  [[ -z $pgbouncer ]] || pgbouncer_stop bench || true
  if [[ $cluster_started == 1 && -z ${BENCH_KEEP_PG:-} ]]; then
    pg_stop "$cluster" || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- 1. cluster -------------------------------------------------------------------------------------------------
export PG_MAX_CONNECTIONS=$max_connections
pg_start "$cluster" "$pg_port"
cluster_started=$PG_STARTED
eval "$(pg_env "$cluster")"
export PGDATABASE=postgres
if [[ $(psql -XAtc 'SHOW max_connections') != "$max_connections" ]]; then
  say "cluster $cluster runs with another max_connections; restarting it"
  pg_stop "$cluster"
  pg_start "$cluster" "$pg_port"
  cluster_started=1
fi
admin=$(pg_conn_string "$cluster")
pg_user=$(pg_conn_field "$admin" username userid user)
pg_password=$(pg_conn_field "$admin" password)
catalog="Host=127.0.0.1;Port=$pg_port;Username=$pg_user;Password=$pg_password;Database=cleancrm_catalog"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
worker_bin=provisioning/CleanCrm.Provisioning.Worker/bin/Release/net10.0
api_bin=src/CleanCrm.Api/bin/Release/net10.0
bench_bin=tests/CleanCrm.Benchmarks/bin/Release/net10.0
if [[ -z ${BENCH_NO_BUILD:-} ]]; then
  say "building (Release)"
  for project in provisioning/CleanCrm.Provisioning.Worker src/CleanCrm.Api tests/CleanCrm.Benchmarks; do
    dotnet build "$project" -c Release -v q -nologo >"$log/build.log" 2>&1 || { tail -n 30 "$log/build.log" >&2; exit 1; }
  done
fi

# --- 2. migrate -------------------------------------------------------------------------------------------------
say "migrating the catalog and the template"
(
  cd "$worker_bin"
  ConnectionStrings__Catalog=$catalog \
    CleanCrm__Tenancy__DefaultServer__Host=127.0.0.1 CleanCrm__Tenancy__DefaultServer__Port=$pg_port \
    CleanCrm__Tenancy__DefaultServer__Username=$pg_user CleanCrm__Tenancy__DefaultServer__Password=$pg_password \
    Serilog__MinimumLevel__Default=Warning \
    dotnet CleanCrm.Provisioning.Worker.dll migrate
) >"$log/migrate.log" 2>&1 || { cat "$log/migrate.log" >&2; exit 1; }

# --- 3. seed ----------------------------------------------------------------------------------------------------
say "seeding $tenants tenants ($rows companies + $rows contacts each; skips what exists)"
seed_started=$SECONDS
if [[ -n ${BENCH_NO_SEED:-} && -s $out/user-id ]]; then
  say "BENCH_NO_SEED: reusing the tenants seeded before"
else
  (cd "$bench_bin" && dotnet CleanCrm.Benchmarks.dll seed-tenants --catalog "$catalog" --count "$tenants" \
    --contacts-per-tenant "$rows" --parallelism "$seed_parallelism" --out "$out/bench-tenants.txt") \
    >"$log/seed.out" 2>"$log/seed.err" || { cat "$log/seed.err" >&2; exit 1; }
  sed 's/^/  seed: /' "$log/seed.err" >&2
  sed -n 's/^USER_ID=//p' "$log/seed.out" >"$out/user-id"
fi
user_id=$(cat "$out/user-id")
seed_seconds=$((SECONDS - seed_started))
tenant_dbs=$(psql -XAtc "SELECT count(*) FROM pg_database WHERE datname LIKE 'cleancrm\_t\_%' AND datname <> 'cleancrm_tenant_template'")
say "user $user_id, $tenant_dbs tenant databases on the server"

# --- 4. API -----------------------------------------------------------------------------------------------------
read -r -a extra_env <<<"${BENCH_API_ENV:-}"
tenancy_env=("CleanCrm__Tenancy__Processes=$processes")
[[ -z $cap ]] || tenancy_env+=("CleanCrm__Tenancy__MaxOpenTenantConnections=$cap")
[[ -z $per_tenant ]] || tenancy_env+=("CleanCrm__Tenancy__PerTenantMaxPoolSize=$per_tenant")
if [[ -n $pgbouncer ]]; then
  # shellcheck source=scripts/pgbouncer.sh
  source "$repo/scripts/pgbouncer.sh"
  PGBOUNCER_DEFAULT_POOL_SIZE=${BENCH_PGBOUNCER_POOL:-1} PGBOUNCER_AUTH_FILE_ROLES='cleancrm\_t\_%' \
    pgbouncer_start bench "$pgbouncer_port" "$pg_port" "$pg_user" "$pg_password"
  tenancy_env+=(CleanCrm__Tenancy__PgBouncer=true "CleanCrm__Tenancy__PgBouncerEndpoints__0__Server=127.0.0.1:$pg_port"
    "CleanCrm__Tenancy__PgBouncerEndpoints__0__Endpoint=127.0.0.1:$pgbouncer_port")
fi
say "starting the API on $api_url (${tenancy_env[*]}${pgbouncer:+, through PgBouncer on $pgbouncer_port})"
(
  cd "$api_bin"
  # shellcheck disable=SC2016 # $$ is expanded by the inner shell: its pid becomes the API's pid through exec
  exec setsid env \
    ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development \
    ConnectionStrings__Catalog="$catalog;Maximum Pool Size=$catalog_pool" \
    CleanCrm__Api__MigrateOnStartup=false \
    CleanCrm__DevelopmentAuthentication__Enabled=true \
    CleanCrm__RateLimiting__Enabled=false \
    "${tenancy_env[@]}" \
    Serilog__MinimumLevel__Default=Warning \
    Serilog__MinimumLevel__Override__CleanCrm.Application.Common.Behaviors.LoggingBehavior=Warning \
    "${extra_env[@]}" \
    bash -c 'echo $$ >"$0"; exec dotnet CleanCrm.Api.dll --urls "$1"' "$log/api.pid" "$api_url"
) >"$log/api.log" 2>&1 </dev/null &
for _ in $(seq 1 50); do [[ -s $log/api.pid ]] && break; sleep 0.1; done
api_pid=$(cat "$log/api.pid")
deadline=$((SECONDS + 90))
until [[ $(curl -s -o /dev/null -w '%{http_code}' "$api_url/health/ready" || true) == 200 ]]; do
  kill -0 "$api_pid" 2>/dev/null || { say "the API exited"; tail -n 40 "$log/api.log" >&2; exit 1; }
  ((SECONDS < deadline)) || { say "the API was not ready in 90 s"; tail -n 40 "$log/api.log" >&2; exit 1; }
  sleep 0.5
done
say "API ready (pid $api_pid)"
pgbouncer_pid=
[[ -z $pgbouncer ]] || pgbouncer_pid=$(cat "$(pgbouncer_dir bench)/pgbouncer.pid")

# --- 5. load ----------------------------------------------------------------------------------------------------
run_wrk() { # <K> <duration> <output> [ORDER]; the CPU wrk used (user+system seconds) goes to <output>.cpu
  local TIMEFORMAT='%3U %3S'
  { time ORDER=${4:-random} THREADS=$threads USER_ID=$user_id K=$1 MODE=$mode COMPANIES=$rows wrk -t"$threads" -c"$connections" -d"$2" --latency --timeout 10s \
    -s tests/load/tenants.lua "$api_url" -- "$1" >"$3" 2>&1; } 2>"$3.cpu"
}

metric() { # <file> <prometheus metric name>: sum over all label sets (0 when absent)
  awk -v m="$2" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%d\n", s }' "$1"
}

# Per-tenant transactions (commits + rollbacks) of the first K tenant databases, one line per database.
tenant_xacts() {
  psql -XAtc "SELECT d.datname, d.xact_commit + d.xact_rollback FROM pg_stat_database d
    WHERE d.datname LIKE 'cleancrm\_t\_%' ORDER BY 1"
}

# Memory of the tenant backends now: count, total and average PSS (shared pages divided among their users).
backend_memory() {
  local pid pss total=0 n=0
  for pid in $(psql -XAtc "SELECT pid FROM pg_stat_activity WHERE usename LIKE 'cleancrm\_t\_%'"); do
    pss=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
    [[ -n $pss ]] || continue
    total=$((total + pss)) n=$((n + 1))
  done
  awk -v n="$n" -v t="$total" 'BEGIN { printf "%d backends, %.0f MiB PSS, %.1f MiB each\n", n, t / 1024, n ? t / 1024 / n : 0 }'
}

tenant_sessions() {
  psql -XAtc "SELECT coalesce(sum(sessions), 0) FROM pg_stat_database WHERE datname LIKE 'cleancrm\_t\_%'"
}

rss_kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$api_pid/status"; }

# CPU accounting in clock ticks, to see where the time goes and whether something else loaded the machine.
clk_tck=$(getconf CLK_TCK)
postmaster=$(head -n 1 "$PG_ROOT/$cluster/postmaster.pid")
cpu_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# utime+stime of a process ($2 = with reaped children too); the comm field has no spaces for dotnet/postgres.
proc_ticks() { awk -v c="${2:-0}" '{ print $14 + $15 + (c ? $16 + $17 : 0) }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Exited backends are in the postmaster's reaped-children time, live ones are added one by one.
pg_ticks() {
  local total child
  total=$(proc_ticks "$postmaster" 1)
  for child in $(pgrep -P "$postmaster"); do
    total=$((total + $(proc_ticks "$child")))
  done
  echo "$total"
}

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
# Warm-up on every K, widest first, visiting the tenants in turn (so each of them has its data source and a parked
# connection when its case starts, even when the machine is slow), so the single-tenant case runs last and measurement starts from a warm JIT,
# warm directory caches and warm data sources for every case.
for ((i = ${#cases[@]} - 1; i >= 0; i--)); do
  say "warm-up: $warmup on K=${cases[i]}"
  run_wrk "${cases[i]}" "$warmup" "$log/warmup-${cases[i]}.txt" cycle
done
sleep 2

declare -A rps p50 p99 errors statuses maxconn maxrss sessions evictions waits refusals socket dur cpu serving_cpu_s case_s \
  backend_mem fairness api_cap
# The organizations' databases in slug order (bench-0001 ... ), to count per-tenant work for the first K.
mapfile -t slug_dbs < <(psql -XAt -d cleancrm_catalog -c "SELECT database_name FROM organizations WHERE slug LIKE 'bench-%' ORDER BY slug")
for k in "${cases[@]}"; do
  say "case K=$k: wrk -t$threads -c$connections -d$duration"
  curl -s "$api_url/metrics" >"$log/metrics-before-$k.txt"
  sessions_before=$(tenant_sessions)
  tenant_xacts >"$log/xacts-before-$k.txt"

  # Samplers: the server's view of tenant connections, and the API's resident memory, every 200 ms.
  printf "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE 'cleancrm\\\\_t\\\\_%%';\n\\\\watch 0.2\n" |
    psql -XAt >"$log/conns-$k.txt" 2>&1 &
  sampler_pids=($!)
  (while kill -0 "$api_pid" 2>/dev/null; do rss_kb VmRSS; sleep 0.2; done) >"$log/rss-$k.txt" &
  sampler_pids+=($!)

  started=$(date +%s.%N) busy0=$(cpu_busy) api0=$(proc_ticks "$api_pid") pg0=$(pg_ticks)
  [[ -z $pgbouncer_pid ]] || pg0=$((pg0 + $(proc_ticks "$pgbouncer_pid")))
  run_wrk "$k" "$duration" "$log/wrk-$k.txt"
  busy1=$(cpu_busy) api1=$(proc_ticks "$api_pid") pg1=$(pg_ticks) finished=$(date +%s.%N)
  [[ -z $pgbouncer_pid ]] || pg1=$((pg1 + $(proc_ticks "$pgbouncer_pid")))
  backend_mem[$k]=$(backend_memory)
  tenant_xacts >"$log/xacts-after-$k.txt"
  # Served work per tenant among the first K (transactions, one per request on this read path): min / median / max.
  fairness[$k]=$(printf '%s\n' "${slug_dbs[@]:0:k}" | awk '
    FILENAME == ARGV[1] { split($0, f, "|"); before[f[1]] = f[2]; next }
    FILENAME == ARGV[2] { split($0, f, "|"); after[f[1]] = f[2]; next }
    { print after[$1] - before[$1] }' "$log/xacts-before-$k.txt" "$log/xacts-after-$k.txt" - | sort -n | awk '
    { n[NR] = $1; if ($1 == 0) z++ }
    END { printf "%d/%d/%d, %d of %d served nothing", n[1], n[int((NR + 1) / 2)], n[NR], z, NR }')
  # api/pg/wrk/other as % of all cores over the case; "other" is everything else on the machine (should be ~0).
  cpu[$k]=$(awk -v t0="$started" -v t1="$finished" -v n="$(nproc)" -v hz="$clk_tck" -v b=$((busy1 - busy0)) \
    -v a=$((api1 - api0)) -v p=$((pg1 - pg0)) -v w="$(awk '{ print $1 + $2 }' "$log/wrk-$k.txt.cpu")" 'BEGIN {
      cap = (t1 - t0) * n * hz; o = b - a - p - w * hz; if (o < 0) o = 0
      printf "%.0f/%.0f/%.0f/%.0f", 100 * a / cap, 100 * p / cap, 100 * w * hz / cap, 100 * o / cap }')
  # Requests per CPU-second of API + PostgreSQL: a ratio that other load on the machine does not skew much.
  serving_cpu_s[$k]=$(awk -v t=$((api1 - api0 + pg1 - pg0)) -v hz="$clk_tck" 'BEGIN { printf "%.3f", t / hz }')
  case_s[$k]=$(awk -v t0="$started" -v t1="$finished" 'BEGIN { printf "%.3f", t1 - t0 }')

  sleep 0.3
  for pid in "${sampler_pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  sampler_pids=()
  curl -s "$api_url/metrics" >"$log/metrics-after-$k.txt"

  result=$(grep '^RESULT' "$log/wrk-$k.txt" || true)
  [[ -n $result ]] || { say "wrk produced no RESULT line"; cat "$log/wrk-$k.txt" >&2; exit 1; }
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$result"; }
  rps[$k]=$(field rps)
  dur[$k]=$(field duration_s)
  p50[$k]=$(awk -v us="$(field p50_us)" 'BEGIN { printf "%.1f", us / 1000 }')
  p99[$k]=$(awk -v us="$(field p99_us)" 'BEGIN { printf "%.1f", us / 1000 }')
  errors[$k]=$(field non200)
  statuses[$k]=$(field statuses)
  socket[$k]=$(($(field connect_err) + $(field read_err) + $(field write_err) + $(field timeout_err)))
  maxconn[$k]=$(grep -E '^[0-9]+$' "$log/conns-$k.txt" | sort -n | tail -n 1)
  maxrss[$k]=$(sort -n "$log/rss-$k.txt" | tail -n 1)
  sessions[$k]=$(($(tenant_sessions) - sessions_before))
  counter_delta() { echo $(($(metric "$log/metrics-after-$k.txt" "$1") - $(metric "$log/metrics-before-$k.txt" "$1"))); }
  evictions[$k]=$(counter_delta cleancrm_tenant_data_sources_evictions_total)
  waits[$k]=$(counter_delta cleancrm_tenant_connections_waits_total)
  refusals[$k]=$(counter_delta cleancrm_tenant_connections_refusals_total)
  api_cap[$k]=$(metric "$log/metrics-after-$k.txt" cleancrm_tenant_connections_cap)
done

hwm=$(rss_kb VmHWM)
rss_end=$(rss_kb VmRSS)

# --- 6. summary -------------------------------------------------------------------------------------------------
{
  echo "Tenant connection scale benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "load average before the warm-up: $load_at_start"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(psql -XAtc 'SHOW server_version' | cut -d' ' -f1) max_connections=$max_connections; $tenant_dbs tenant databases"
  echo "api: Release, ${tenancy_env[*]}, catalog pool $catalog_pool, other tenancy options default${BENCH_API_ENV:+, extra: $BENCH_API_ENV}"
  echo "path: API -> ${pgbouncer:+PgBouncer $(pgbouncer --version 2>/dev/null | head -n 1 | cut -d' ' -f2) (transaction mode, pool ${BENCH_PGBOUNCER_POOL:-1} per tenant) -> }PostgreSQL"
  echo "product commit: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- src || echo ' + uncommitted src changes')"
  echo "load: wrk -t$threads -c$connections -d$duration, mode=$mode (GET /api/v1/companies?limit=20 unless mode=get), seed step ${seed_seconds}s"
  echo
  printf '%-6s %10s %8s %9s %9s %9s %-14s %8s %9s %10s %8s %9s %9s  %-21s  %s\n' \
    K 'req/s' 'vs K=1' 'p50 ms' 'p99 ms' 'non-200' 'statuses' 'sock err' 'max conns' 'new sess/s' 'evict' 'waits' 'refused' \
    'cpu% api/pg/wrk/other' 'req/cpu-s (vs K=1)'
  for k in "${cases[@]}"; do
    ratio=$(awk -v a="${rps[$k]}" -v b="${rps[${cases[0]}]}" 'BEGIN { printf "%.1f%%", 100 * a / b }')
    per_cpu() { awk -v r="${rps[$1]}" -v d="${case_s[$1]}" -v c="${serving_cpu_s[$1]}" 'BEGIN { printf "%.0f", r * d / c }'; }
    efficiency=$(awk -v a="$(per_cpu "$k")" -v b="$(per_cpu "${cases[0]}")" 'BEGIN { printf "%s (%.0f%%)", a, 100 * a / b }')
    printf '%-6s %10s %8s %9s %9s %9s %-14s %8s %9s %10s %8s %9s %9s  %-21s  %s\n' \
      "$k" "${rps[$k]}" "$ratio" "${p50[$k]}" "${p99[$k]}" "${errors[$k]}" "${statuses[$k]}" "${socket[$k]}" \
      "${maxconn[$k]}/${api_cap[$k]}" "$(awk -v n="${sessions[$k]}" -v d="${dur[$k]}" 'BEGIN { printf "%.1f", n / d }')" \
      "${evictions[$k]}" "${waits[$k]}" "${refusals[$k]}" "${cpu[$k]}" "$efficiency"
  done
  echo
  for k in "${cases[@]}"; do
    printf 'RSS during K=%-5s max %d MiB; tenant backends at the end: %s; per-tenant transactions min/median/max %s\n' \
      "$k" $((maxrss[$k] / 1024)) "${backend_mem[$k]}" "${fairness[$k]}"
  done
  printf 'RSS at end %d MiB, peak (VmHWM) %d MiB\n' $((rss_end / 1024)) $((hwm / 1024))
  echo "max conns = highest count(*) of pg_stat_activity rows of tenant roles, sampled every 200 ms / the API's cap (cleancrm.tenant_connections.cap)"
  echo "new sess/s = tenant database sessions the server started per second of the case (pg_stat_database.sessions)"
  echo "cpu% = share of all $(nproc) cores used by the API, PostgreSQL, wrk and anything else during the case"
  echo "req/cpu-s = requests per CPU-second used by the API + PostgreSQL (little skewed by other load on the machine)"
  echo "evict/waits/refused = deltas of the API's cleancrm.tenant_* counters; logs in ${log#"$repo"/}"
} | tee "$out/results-$stamp.txt"
