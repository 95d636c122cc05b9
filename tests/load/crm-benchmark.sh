#!/usr/bin/env bash
# CRM core benchmarks (issue 6), one command:
#
#   tests/load/crm-benchmark.sh
#
# 1. starts (or reuses) a local PostgreSQL cluster, migrates the catalog and the tenant template (worker `migrate`),
# 2. seeds BENCH_TENANTS organizations with BENCH_ROWS companies, contacts and deals each and gives the benchmark owner
#    a random password (CleanCrm.Benchmarks seed-tenants),
# 3. starts the API inside the benchmark host (CleanCrm.Benchmarks serve-api: the real Program on Kestrel plus
#    GET /bench/bare/deals/{id}, the same SQL with raw Npgsql, and GET /bench/ef/deals/{id}, the product's tenant data
#    path without the HTTP pipeline), Release, development authentication OFF,
# 4. signs in with the password grant (a real bearer token: every request validates it),
# 5. read-path overhead: alternates short wrk runs of the full stack (GET /api/v1/deals/{id}) and the bare endpoint on
#    one tenant (same connections and threads, order swapped each round), BENCH_ROUNDS pairs, median of the ratios;
#    an "ef" run between them in each round shows how much of the gap is the data path and how much the pipeline;
#    each run also records the host's CPU time per request (utime+stime from /proc, steadier than req/s when other
#    work shares the machine),
# 6. latency under load: BENCH_USERS connections (users) spread over BENCH_LOAD_ORGS organizations, think time
#    500-1500 ms, mixed reads and writes (tests/load/crm-mixed.lua; tests/load/crm-mixed.k6.js is the k6 version).
#
# Settings (environment):
#   BENCH_CLUSTER=bench BENCH_PG_PORT=55532 BENCH_API_PORT=5190 BENCH_TENANTS=100 BENCH_ROWS=50
#   BENCH_CONNECTIONS=32 BENCH_THREADS=2 BENCH_DURATION=5s BENCH_ROUNDS=9 BENCH_WARMUP=10s
#   BENCH_USERS=1000 BENCH_LOAD_ORGS=100 BENCH_LOAD_DURATION=60s BENCH_NO_BUILD=1 BENCH_KEEP_PG=1
#   BENCH_SKIP=overhead|load (run only the other part)  BENCH_LOAD_WARMUP_USERS (default BENCH_USERS/5)
#   BENCH_HOLD=1 (profiling: set up, start the host, write url/pid/token to <log>/hold.env and wait)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=scripts/pg.sh disable=SC1091
source "$repo/scripts/pg.sh"

cluster=${BENCH_CLUSTER:-bench}
pg_port=${BENCH_PG_PORT:-55532}
api_port=${BENCH_API_PORT:-5190}
tenants=${BENCH_TENANTS:-100}
rows=${BENCH_ROWS:-50}
connections=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
duration=${BENCH_DURATION:-5s}
rounds=${BENCH_ROUNDS:-9}
warmup=${BENCH_WARMUP:-10s}
users=${BENCH_USERS:-1000}
load_orgs=${BENCH_LOAD_ORGS:-100}
load_duration=${BENCH_LOAD_DURATION:-60s}
skip=${BENCH_SKIP:-}
api_url="http://127.0.0.1:$api_port"
out="$repo/.local/bench"
log="$out/crm-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$log"

for tool in wrk psql curl openssl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done
((load_orgs <= tenants)) || { echo "BENCH_LOAD_ORGS exceeds BENCH_TENANTS" >&2; exit 1; }

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

export PG_MAX_CONNECTIONS=${BENCH_PG_MAX_CONNECTIONS:-200}
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

# Tenants created before this branch's migration are brought up to date too (the fleet migrates on `migrate`).
password=$(openssl rand -hex 16)
say "seeding $tenants tenants ($rows companies, contacts and deals each; skips what exists)"
(cd "$bench_bin" && BENCH_PASSWORD=$password dotnet CleanCrm.Benchmarks.dll seed-tenants --catalog "$catalog" --count "$tenants" \
  --contacts-per-tenant "$rows" --out "$out/crm-bench-tenants.txt") >"$log/seed.out" 2>"$log/seed.err" || { cat "$log/seed.err" >&2; exit 1; }

# The benchmark measures per-request cost, not the plan's budget: the plan rate limiter stays in the pipeline, but the
# seeded organizations get an admin override far above what wrk can send (free plans allow 100 requests per 10 s).
psql -XAtq -d cleancrm_catalog -c "INSERT INTO limit_overrides (organization_id, api_requests_per10seconds, updated_at)
  SELECT id, 100000000, now() FROM organizations WHERE slug LIKE 'bench-%'
  ON CONFLICT (organization_id) DO UPDATE SET api_requests_per10seconds = excluded.api_requests_per10seconds, updated_at = now()" >/dev/null

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
    CleanCrm__DevelopmentAuthentication__Enabled=false CleanCrm__Tenancy__EfThreadSafetyChecks=false \
    CleanCrm__Identity__AccessTokenLifetimeMinutes=120 \
    CleanCrm__Identity__DevelopmentKeyDirectory="$out/crm-keys" \
    Serilog__MinimumLevel__Default=Warning \
    Serilog__MinimumLevel__Override__CleanCrm.Application.Common.Behaviors.LoggingBehavior=Warning \
    ${BENCH_API_ENV:-} \
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
check=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" -H 'X-Org: bench-0001' "$api_url/api/v1/deals/00000000-0000-4000-a000-000000000001")
[[ $check == 200 ]] || { say "GET deal with the token answered $check"; exit 1; }
check=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Org: bench-0001' "$api_url/bench/bare/deals/00000000-0000-4000-a000-000000000001")
[[ $check == 200 ]] || { say "bare GET deal answered $check"; exit 1; }
say "host ready (pid $api_pid), token obtained"
if [[ -n ${BENCH_HOLD:-} ]]; then
  # For profiling: keep the host up with a valid token until interrupted (dotnet-trace / dotnet-counters on $api_pid).
  printf 'API_URL=%s\nAPI_PID=%s\nTOKEN=%s\nDEALS=%s\n' "$api_url" "$api_pid" "$token" "$rows" >"$log/hold.env"
  say "holding: source $log/hold.env; Ctrl-C (or kill $$) stops host and cluster"
  while kill -0 "$api_pid" 2>/dev/null; do sleep 1; done
  exit 0
fi

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
# CPU time the host has used so far, in clock ticks (user + system, all threads).
host_ticks() { awk '{ print $14 + $15 }' "/proc/$api_pid/stat"; }
ticks_per_s=$(getconf CLK_TCK)
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
report="$log/summary.txt"
{
  echo "CRM benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(psql -XAtc 'SHOW server_version' | cut -d' ' -f1); $tenants tenants x $rows rows"
  echo "product commit: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- src || echo ' + uncommitted src changes')"
} >"$report"

if [[ $skip != overhead ]]; then
  say "warm-up: $warmup each"
  MODE=full TOKEN=$token DEALS=$rows wrk -t"$threads" -c"$connections" -d"$warmup" -s tests/load/crm-read.lua "$api_url" >/dev/null
  MODE=bare DEALS=$rows wrk -t"$threads" -c"$connections" -d"$warmup" -s tests/load/crm-read.lua "$api_url" >/dev/null
  MODE=ef DEALS=$rows wrk -t"$threads" -c"$connections" -d"$warmup" -s tests/load/crm-read.lua "$api_url" >/dev/null
  # Short runs, alternating, with the order swapped every round so a drift of the machine's other load hits both
  # sides alike; each round's pair gives one ratio and the median of the ratios is the result. (Running both at the
  # same time is no good: a saturated server shares its queue, which hides the difference in per-request cost.)
  echo "read-path overhead: wrk -t$threads -c$connections -d$duration per run, one tenant, random of $rows deals, alternating pairs" >>"$report"
  # A third run per round, "ef" (the product's tenant data path without the HTTP pipeline), splits the gap.
  ratios=()
  ef_ratios=()
  for round in $(seq 1 "$rounds"); do
    order="full ef bare"
    ((round % 2 == 0)) && order="bare ef full"
    for mode in $order; do
      ticks_before=$(host_ticks)
      MODE=$mode TOKEN=$token DEALS=$rows wrk -t"$threads" -c"$connections" -d"$duration" --latency -s tests/load/crm-read.lua "$api_url" >"$log/read-$mode-$round.txt"
      ticks_after=$(host_ticks)
      result=$(grep '^RESULT' "$log/read-$mode-$round.txt")
      cpu_us=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$ticks_per_s" -v n="$(field "$result" requests)" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
      echo "$cpu_us" >>"$log/cpu-$mode.txt"
      printf '  round %d %-4s %8s req/s  p50 %6s ms  p99 %6s ms  non200 %s  socket errors %s  host CPU %s us/request\n' "$round" "$mode" \
        "$(field "$result" rps)" "$(ms "$(field "$result" p50_us)")" "$(ms "$(field "$result" p99_us)")" "$(field "$result" non200)" \
        "$(field "$result" socket_err)" "$cpu_us" >>"$report"
    done
    for mode in full ef bare; do
      bad=$(field "$(grep '^RESULT' "$log/read-$mode-$round.txt")" non200)
      if [[ $bad != 0 ]]; then
        echo "  round $round $mode had $bad non-200 answers: the run measures errors, not the read path; aborting" | tee -a "$report" >&2
        exit 1
      fi
    done
    ratio=$(awk -v f="$(field "$(grep '^RESULT' "$log/read-full-$round.txt")" rps)" -v b="$(field "$(grep '^RESULT' "$log/read-bare-$round.txt")" rps)" 'BEGIN { printf "%.1f", 100 * f / b }')
    ef_ratio=$(awk -v f="$(field "$(grep '^RESULT' "$log/read-ef-$round.txt")" rps)" -v b="$(field "$(grep '^RESULT' "$log/read-bare-$round.txt")" rps)" 'BEGIN { printf "%.1f", 100 * f / b }')
    ratios+=("$ratio")
    ef_ratios+=("$ef_ratio")
    echo "  round $round: full stack at $ratio% of bare (data path alone at $ef_ratio%)" >>"$report"
  done
  printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "  median over %d rounds: full stack keeps %s%% of bare (min %s%%, max %s%%)\n", NR, a[int((NR + 1) / 2)], a[1], a[NR] }' >>"$report"
  printf '%s\n' "${ef_ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "  median over %d rounds: tenant data path alone (ef) keeps %s%% of bare (min %s%%, max %s%%)\n", NR, a[int((NR + 1) / 2)], a[1], a[NR] }' >>"$report"
  for mode in full ef bare; do
    sort -n "$log/cpu-$mode.txt" | awk -v m="$mode" '{ a[NR] = $1 } END { printf "  median host CPU per request, %-4s %7s us (min %s, max %s)\n", m, a[int((NR + 1) / 2)], a[1], a[NR] }' >>"$report"
  done
fi

if [[ $skip != load ]]; then
  say "latency under load: $users users over $load_orgs orgs for $load_duration"
  notes_before=$(psql -XAtc "SELECT count(*) FROM pg_database WHERE datname LIKE 'cleancrm\_t\_%'")
  ulimit -n 65536 2>/dev/null || true
  # Warm-up: every organization's pool, token and caches, at BENCH_LOAD_WARMUP_USERS (default a fifth of the users).
  TOKEN=$token K=$load_orgs ROWS=$rows wrk -t"$threads" -c"${BENCH_LOAD_WARMUP_USERS:-$((users / 5))}" -d"$warmup" --timeout 10s -s tests/load/crm-mixed.lua "$api_url" >"$log/load-warmup.txt"
  # Steady state, measured on the server: scrape /metrics BENCH_STEADY_SKIP seconds into the run (after the start of
  # 1,000 simultaneous users has settled) and again 2 s before its end; the difference is the window's histogram.
  seconds=${load_duration%s}
  steady_skip=${BENCH_STEADY_SKIP:-15}
  (
    sleep "$steady_skip"; curl -s "$api_url/metrics" >"$log/metrics-before.txt"
    sleep $((seconds - steady_skip - 2)); curl -s "$api_url/metrics" >"$log/metrics-after.txt"
  ) &
  scraper=$!
  TOKEN=$token K=$load_orgs ROWS=$rows wrk -t"$threads" -c"$users" -d"$load_duration" --timeout 10s --latency -s tests/load/crm-mixed.lua "$api_url" >"$log/load.txt"
  wait "$scraper" || true
  steady=$(python3 tests/load/prom_window.py "$log/metrics-before.txt" "$log/metrics-after.txt" /api/ 2>&1 || true)
  result=$(grep '^RESULT' "$log/load.txt")
  {
    echo "latency under load: wrk -t$threads -c$users -d$load_duration, $load_orgs orgs, think 500-1500 ms, 80% reads / 20% writes ($notes_before tenant databases)"
    printf '  %s requests, %s req/s, p50 %s ms, p95 %s ms, p99 %s ms, max %s ms, non-2xx %s, socket errors %s\n' \
      "$(field "$result" requests)" "$(field "$result" rps)" "$(ms "$(field "$result" p50_us)")" "$(ms "$(field "$result" p95_us)")" \
      "$(ms "$(field "$result" p99_us)")" "$(ms "$(field "$result" max_us)")" "$(field "$result" non2xx)" "$(field "$result" socket_err)"
    echo "  server-side, steady state (from ${steady_skip} s to $((seconds - 2)) s of the run): $steady"
  } >>"$report"
fi

cat "$report"
say "logs in $log"
