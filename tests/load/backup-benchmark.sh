#!/usr/bin/env bash
# Fleet backup benchmark (issue 8), one command:
#
#   tests/load/backup-benchmark.sh
#
# 1. starts (or reuses) the local cluster "bench-backups",
# 2. migrates the catalog and the template (worker `migrate`),
# 3. seeds BENCH_TENANTS tenants with BENCH_ROWS companies and BENCH_ROWS contacts each (seed-tenants; idempotent),
# 4. starts the API and the worker (`serve`: the Hangfire server that runs backup jobs on the maintenance queue),
# 5. run A: POST /api/v1/admin/backups (the fleet backup) with no other load; wall time = first queued → last finished,
#    read from the backups catalog table,
# 6. run B: wrk for D seconds (D = max(BENCH_MIN_LOAD_S, run A's wall time)) against K=BENCH_TENANTS tenants: baseline,
# 7. run C: the same wrk and, at the same moment, another fleet backup: API latency while backing up,
# 8. prints a summary (also .local/bench-backups/results-<time>.txt). Compare ratios from one run, not absolute times.
#
# Settings (environment):
#   BENCH_PG_PORT=55552  BENCH_API_PORT=5192  BENCH_PG_MAX_CONNECTIONS=400  BENCH_PG_SHARED_BUFFERS=256MB
#   BENCH_TENANTS=100  BENCH_ROWS=10000  BENCH_SEED_PARALLELISM=4
#   BENCH_BACKUP_SLOTS=1 (CleanCrm:Backups:MaxConcurrentBackups)  BENCH_WORKERS=10 (Hangfire workers)
#   BENCH_CONNECTIONS=32  BENCH_THREADS=2  BENCH_WARMUP=10s  BENCH_MIN_LOAD_S=20
#   BENCH_THINK_MS=100-300 (paced API load: each connection thinks that many ms between requests; default: closed loop)
#   BENCH_TENANT_CONNECTIONS=150 (CleanCrm:Tenancy:MaxOpenTenantConnections of the API and worker)
#   BENCH_WORKER_LOW_PRIORITY=true (CleanCrm:Worker:LowCpuPriority of the worker)
#   BENCH_NO_BUILD=1 (skip dotnet build)  BENCH_KEEP_PG=1 (leave the cluster running)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=scripts/pg.sh disable=SC1091
source "$repo/scripts/pg.sh"

pg_port=${BENCH_PG_PORT:-55552}
api_port=${BENCH_API_PORT:-5192}
max_connections=${BENCH_PG_MAX_CONNECTIONS:-400}
tenants=${BENCH_TENANTS:-100}
rows=${BENCH_ROWS:-10000}
seed_parallelism=${BENCH_SEED_PARALLELISM:-4}
slots=${BENCH_BACKUP_SLOTS:-1}
workers=${BENCH_WORKERS:-10}
connections=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
warmup=${BENCH_WARMUP:-10s}
min_load=${BENCH_MIN_LOAD_S:-20}
cluster=bench-backups
api_url="http://127.0.0.1:$api_port"
out="$repo/.local/bench-backups"
stamp=$(date +%Y%m%d-%H%M%S)
log="$out/run-$stamp"
store="$out/store"
mkdir -p "$log"

for tool in wrk psql curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install -y $tool)" >&2; exit 1; }
done

api_pid=
worker_pid=
cluster_started=0
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  trap - EXIT INT TERM
  local pid
  for pid in "$api_pid" "$worker_pid"; do
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
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
export PG_SHARED_BUFFERS=${BENCH_PG_SHARED_BUFFERS:-256MB}
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
api_bin=src/CleanCrm.Api/bin/Release/net10.0
bench_bin=tests/CleanCrm.Benchmarks/bin/Release/net10.0
if [[ -z ${BENCH_NO_BUILD:-} ]]; then
  say "building (Release)"
  for project in provisioning/CleanCrm.Provisioning.Worker src/CleanCrm.Api tests/CleanCrm.Benchmarks; do
    dotnet build "$project" -c Release -v q -nologo >"$log/build.log" 2>&1 || { tail -n 30 "$log/build.log" >&2; exit 1; }
  done
fi

common_env=(
  ConnectionStrings__Catalog="$catalog"
  CleanCrm__Tenancy__DefaultServer__Host=127.0.0.1 CleanCrm__Tenancy__DefaultServer__Port="$pg_port"
  CleanCrm__Tenancy__DefaultServer__Username="$pg_user" CleanCrm__Tenancy__DefaultServer__Password="$pg_password"
  CleanCrm__Backups__FileSystemRoot="$store" CleanCrm__Backups__MaxConcurrentBackups="$slots" CleanCrm__Backups__ScheduleEnabled=false
  Serilog__MinimumLevel__Default=Warning
  Serilog__MinimumLevel__Override__CleanCrm.Application.Common.Behaviors.LoggingBehavior=Warning
  # Sized for the 100 tenants the API load touches at once (docs/performance.md, latency under load): with fewer
  # connections than active tenants every request pays a new physical connection and the baseline measures that.
  CleanCrm__Tenancy__MaxOpenTenantConnections="${BENCH_TENANT_CONNECTIONS:-150}" CleanCrm__Tenancy__EfThreadSafetyChecks=false
)

# --- 2. migrate -------------------------------------------------------------------------------------------------
say "migrating the catalog and the template"
(cd "$worker_bin" && env "${common_env[@]}" dotnet CleanCrm.Provisioning.Worker.dll migrate) >"$log/migrate.log" 2>&1 ||
  { cat "$log/migrate.log" >&2; exit 1; }

# --- 3. seed ----------------------------------------------------------------------------------------------------
say "seeding $tenants tenants ($rows companies + $rows contacts each; skips what exists)"
seed_started=$SECONDS
(cd "$bench_bin" && dotnet CleanCrm.Benchmarks.dll seed-tenants --catalog "$catalog" --count "$tenants" \
  --contacts-per-tenant "$rows" --parallelism "$seed_parallelism" --out "$out/bench-tenants.txt") \
  >"$log/seed.out" 2>"$log/seed.err" || { cat "$log/seed.err" >&2; exit 1; }
user_id=$(sed -n 's/^USER_ID=//p' "$log/seed.out")
seed_seconds=$((SECONDS - seed_started))
data_size=$(psql -XAtc "SELECT pg_size_pretty(sum(pg_database_size(datname))) FROM pg_database WHERE datname LIKE 'cleancrm\_t\_%' AND datname <> 'cleancrm_tenant_template'")
say "seeded in ${seed_seconds}s; tenant databases total $data_size"

# --- 4. API and worker ------------------------------------------------------------------------------------------
start_process() { # <bin dir> <pid file> <log> <command...>
  local dir=$1 pidfile=$2 output=$3
  shift 3
  (
    cd "$dir"
    # shellcheck disable=SC2016 # $$ is expanded by the inner shell: its pid becomes the process's pid through exec
    exec setsid env ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development "${common_env[@]}" \
      CleanCrm__Api__MigrateOnStartup=false CleanCrm__DevelopmentAuthentication__Enabled=true CleanCrm__Jobs__WorkerCount="$workers" \
      CleanCrm__Jobs__QueuePollIntervalMs=200 \
      bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@"
  ) >"$output" 2>&1 </dev/null &
  for _ in $(seq 1 50); do [[ -s $pidfile ]] && break; sleep 0.1; done
  cat "$pidfile"
}
# The API load measures latency, not the plans' request budgets: lift them for the seeded orgs (free = 100 per 10 s).
psql -d cleancrm_catalog -XAtq -c "INSERT INTO limit_overrides (organization_id, api_requests_per10seconds, updated_at)
  SELECT id, 100000000, now() FROM organizations WHERE slug LIKE 'bench-%'
  ON CONFLICT (organization_id) DO UPDATE SET api_requests_per10seconds = excluded.api_requests_per10seconds, updated_at = now()" >/dev/null

say "starting the API on $api_url and the worker ($workers Hangfire workers, $slots backup slots)"
api_pid=$(start_process "$api_bin" "$log/api.pid" "$log/api.log" dotnet CleanCrm.Api.dll --urls "$api_url")
# The worker shares this machine with the API, so it runs as OPERATIONS.md recommends for that: at a low CPU share
# (CleanCrm:Worker:LowCpuPriority; BENCH_WORKER_LOW_PRIORITY=false measures it at the API's share).
worker_pid=$(start_process "$worker_bin" "$log/worker.pid" "$log/worker.log" \
  env CleanCrm__Worker__LowCpuPriority="${BENCH_WORKER_LOW_PRIORITY:-true}" dotnet CleanCrm.Provisioning.Worker.dll serve)
worker_autogroup="n/a"
deadline=$((SECONDS + 90))
until [[ $(curl -s -o /dev/null -w '%{http_code}' "$api_url/health/ready" || true) == 200 ]]; do
  kill -0 "$api_pid" 2>/dev/null || { say "the API exited"; tail -n 40 "$log/api.log" >&2; exit 1; }
  ((SECONDS < deadline)) || { say "the API was not ready in 90 s"; exit 1; }
  sleep 0.5
done
kill -0 "$worker_pid" 2>/dev/null || { say "the worker exited"; tail -n 40 "$log/worker.log" >&2; exit 1; }

window() { # <seconds> <prefix>: server-side histogram window of a run (from 10 s in to 2 s before its end)
  sleep 10; curl -s "$api_url/metrics" >"$2-before.txt"
  sleep $(($1 - 12)); curl -s "$api_url/metrics" >"$2-after.txt"
}

run_wrk() { # <duration> <output>
  env USER_ID=$user_id K=$tenants MODE=list COMPANIES=$rows ${BENCH_THINK_MS:+THINK_MIN=${BENCH_THINK_MS%-*} THINK_MAX=${BENCH_THINK_MS#*-}} wrk -t"$threads" -c"$connections" -d"$1" --latency --timeout 10s \
    -s tests/load/tenants.lua "$api_url" -- "$tenants" >"$2" 2>&1
}

fleet_backup() { # <label>: queues the fleet backup, waits for every backup to finish; prints "<seconds> <succeeded> <failed> <bytes>"
  local since response queued done
  since=$(psql -d cleancrm_catalog -XAtc "SELECT now()")
  response=$(curl -s -X POST -H "Authorization: Dev user=$user_id;admin" "$api_url/api/v1/admin/backups")
  queued=$(sed -n 's/.*"queued":\([0-9]*\).*/\1/p' <<<"$response")
  [[ -n $queued ]] || { say "fleet backup was not queued: $response"; exit 1; }
  deadline=$((SECONDS + 1800))
  while :; do
    done=$(psql -d cleancrm_catalog -XAtc "SELECT count(*) FROM backups WHERE queued_at >= '$since' AND status IN ('succeeded', 'failed')")
    ((done >= queued)) && break
    ((SECONDS < deadline)) || { say "$1: backups not finished after 30 minutes"; exit 1; }
    sleep 0.5
  done
  psql -d cleancrm_catalog -XAtF' ' -c "SELECT round(extract(epoch FROM max(finished_at) - min(queued_at))::numeric, 2),
      count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed'), coalesce(sum(size_bytes), 0)
    FROM backups WHERE queued_at >= '$since'"
}

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$(grep '^RESULT' "$1")"; }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }

# --- 5. run A: fleet backup alone -------------------------------------------------------------------------------
say "warm-up: $warmup of API load"
run_wrk "$warmup" "$log/warmup.txt"
worker_autogroup=$(cat "/proc/$worker_pid/autogroup" 2>/dev/null || echo none)
say "run A: fleet backup of $tenants tenants, no API load"
read -r alone_s alone_ok alone_failed alone_bytes <<<"$(fleet_backup A)"
[[ -n ${alone_s:-} ]] || { say "run A did not finish"; exit 1; }
say "run A: ${alone_s}s, $alone_ok succeeded, $alone_failed failed, $alone_bytes bytes"
load_s=$(awk -v a="$alone_s" -v m="$min_load" 'BEGIN { d = a > m ? a : m; printf "%d", d + 0.999 }')

# --- 6. run B: API baseline -------------------------------------------------------------------------------------
say "run B: ${load_s}s of API load without backups"
window "$load_s" "$log/metrics-baseline" &
run_wrk "${load_s}s" "$log/wrk-baseline.txt"
wait

# --- 7. run C: API load and the fleet backup together ----------------------------------------------------------
say "run C: ${load_s}s of API load while the fleet backup runs"
window "$load_s" "$log/metrics-during" &
window_pid=$!
run_wrk "${load_s}s" "$log/wrk-during.txt" &
wrk_pid=$!
read -r loaded_s loaded_ok loaded_failed _ <<<"$(fleet_backup C)"
wait "$wrk_pid"
wait "$window_pid" || true
[[ -n ${loaded_s:-} ]] || { say "run C did not finish"; exit 1; }

# --- 8. summary -------------------------------------------------------------------------------------------------
base_p95=$(field "$log/wrk-baseline.txt" p95_us)
during_p95=$(field "$log/wrk-during.txt" p95_us)
{
  echo "Fleet backup benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "tenants: $tenants with $rows companies + $rows contacts each ($data_size of tenant databases); backup slots $slots; Hangfire workers $workers"
  echo "worker: CleanCrm:Worker:LowCpuPriority=${BENCH_WORKER_LOW_PRIORITY:-true}, scheduling group $worker_autogroup"
  echo "run A  fleet backup alone:           ${alone_s} s  ($alone_ok succeeded, $alone_failed failed, $((alone_bytes / 1024 / 1024)) MiB of dumps)"
  echo "run C  fleet backup under API load:  ${loaded_s} s  ($loaded_ok succeeded, $loaded_failed failed)"
  printf "API (wrk -t%s -c%s, %ss, think %s ms, GET /api/v1/companies?limit=20 over %s tenants):\n" "$threads" "$connections" "$load_s" "${BENCH_THINK_MS:-0}" "$tenants"
  printf "  %-18s %10s %10s %10s %10s %8s\n" "" "req/s" "p50 ms" "p95 ms" "p99 ms" "non-200"
  for case in baseline during; do
    f="$log/wrk-$case.txt"
    printf "  %-18s %10s %10s %10s %10s %8s\n" "$case" "$(field "$f" rps)" "$(ms "$(field "$f" p50_us)")" "$(ms "$(field "$f" p95_us)")" \
      "$(ms "$(field "$f" p99_us)")" "$(field "$f" non200)"
  done
  awk -v b="$base_p95" -v d="$during_p95" 'BEGIN { printf "  p95 during / baseline: %.2f (target <= 1.20)\n", d / b }'
  echo "  server-side, from 10 s in to 2 s before the end of each run (steady state, start of the connections excluded):"
  echo "    baseline: $(python3 tests/load/prom_window.py "$log/metrics-baseline-before.txt" "$log/metrics-baseline-after.txt" /api/ 2>&1)"
  echo "    during:   $(python3 tests/load/prom_window.py "$log/metrics-during-before.txt" "$log/metrics-during-after.txt" /api/ 2>&1)"
} | tee "$out/results-$stamp.txt"
