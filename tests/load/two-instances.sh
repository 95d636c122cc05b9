#!/usr/bin/env bash
# Two API instances and two workers on this machine behind nginx (issue 18), one command:
#
#   tests/load/two-instances.sh
#
# 1. starts its own PostgreSQL cluster (scripts/pg.sh), Redis (scripts/redis.sh) and, once everything is up, nginx
#    (Debian's packages, installed when missing); migrates (worker `migrate`) and seeds BENCH_TENANTS organizations
#    like tests/load/crm-benchmark.sh (same seeding, same admin override far above wrk's rate);
# 2. starts two API processes (the benchmark host `serve-api`: the real Program on Kestrel) with the DEFAULT
#    configuration except what every deployment sets (catalog, Redis, shared keys; the catalog pool at .env.example's
#    `Maximum Pool Size=30`) and two job servers (worker `serve`, health endpoints on their own ports);
# 3. nginx in front: `hash $http_x_org consistent` (sticky by organization: an organization's tenant connections live
#    on one instance, so each instance holds about half of the active tenants; docs/OPERATIONS.md "Several instances");
# 4. budget check on the real processes: an organization with a budget of BENCH_CHECK_BUDGET requests per 10 s is
#    hammered on both API ports at once (not through nginx, which would send it to one); the admitted count must be at
#    most budget + instances - 1;
# 5. throughput: short wrk runs through nginx (GET /api/v1/deals/{id} with a bearer token, BENCH_THROUGHPUT_ORGS orgs),
#    alternating an upstream of one instance and of both (nginx reloaded between runs, order swapped each round,
#    BENCH_ROUNDS pairs, median of the ratios), with the CPU split of each run;
# 6. the mixed load of crm-benchmark.sh (BENCH_USERS users over BENCH_LOAD_ORGS orgs, think time 500-1500 ms, 80/20
#    reads/writes) through nginx, for each upstream in BENCH_LOAD_MODES (default "two one"), client-side and
#    server-side steady-state latency (both instances' /metrics).
#
# Ports (environment): BENCH_PG_PORT=56532 BENCH_REDIS_PORT=6392 BENCH_API_PORTS="5391 5392"
#   BENCH_WORKER_PORTS="5393 5394" BENCH_NGINX_PORT=8191
# Other settings: BENCH_CLUSTER=multi BENCH_TENANTS=100 BENCH_ROWS=50 BENCH_CONNECTIONS=32 BENCH_THREADS=2
#   BENCH_DURATION=5s BENCH_ROUNDS=5 BENCH_WARMUP=10s BENCH_THROUGHPUT_ORGS=10 BENCH_USERS=1000 BENCH_LOAD_ORGS=100
#   BENCH_LOAD_DURATION=60s BENCH_LOAD_MODES="two one" BENCH_CHECK_BUDGET=50 BENCH_NO_BUILD=1 BENCH_KEEP_PG=1
#   BENCH_SKIP=throughput|load|check (comma-separated)  BENCH_API_ENV (extra environment for both APIs)
#   BENCH_PROCESSES=4 (CleanCrm:Tenancy:Processes of all four processes)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=scripts/pg.sh disable=SC1091
source "$repo/scripts/pg.sh"
# shellcheck source=scripts/redis.sh disable=SC1091
source "$repo/scripts/redis.sh"

cluster=${BENCH_CLUSTER:-multi}
pg_port=${BENCH_PG_PORT:-56532}
redis_port=${BENCH_REDIS_PORT:-6392}
read -r -a api_ports <<<"${BENCH_API_PORTS:-5391 5392}"
read -r -a worker_ports <<<"${BENCH_WORKER_PORTS:-5393 5394}"
nginx_port=${BENCH_NGINX_PORT:-8191}
tenants=${BENCH_TENANTS:-100}
rows=${BENCH_ROWS:-50}
connections=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
duration=${BENCH_DURATION:-5s}
rounds=${BENCH_ROUNDS:-5}
warmup=${BENCH_WARMUP:-10s}
throughput_orgs=${BENCH_THROUGHPUT_ORGS:-10}
users=${BENCH_USERS:-1000}
load_orgs=${BENCH_LOAD_ORGS:-100}
load_duration=${BENCH_LOAD_DURATION:-60s}
read -r -a load_modes <<<"${BENCH_LOAD_MODES:-two one}"
check_budget=${BENCH_CHECK_BUDGET:-50}
skip=",${BENCH_SKIP:-},"
url="http://127.0.0.1:$nginx_port"
out="$repo/.local/bench"
log="$out/multi-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$log"

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
for tool in wrk psql curl openssl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done
if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
  say "installing Debian's nginx"
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

pids=()
nginx_pid=
cluster_started=0
redis_started=0
cleanup() {
  trap - EXIT INT TERM
  local pid
  [[ -n $nginx_pid ]] && kill -QUIT "$nginx_pid" 2>/dev/null || true
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  [[ $redis_started == 1 ]] && redis_stop "$cluster-bench"
  if [[ $cluster_started == 1 && -z ${BENCH_KEEP_PG:-} ]]; then
    pg_stop "$cluster" || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for port in "${api_ports[@]}" "${worker_ports[@]}" "$nginx_port"; do
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then
    say "something already listens on port $port (left over from an earlier run?); stop it first"
    exit 1
  fi
done

export PG_MAX_CONNECTIONS=${BENCH_PG_MAX_CONNECTIONS:-200}
pg_start "$cluster" "$pg_port"
cluster_started=$PG_STARTED
eval "$(pg_env "$cluster")"
export PGDATABASE=postgres
admin=$(pg_conn_string "$cluster")
pg_user=$(pg_conn_field "$admin" username userid user)
pg_password=$(pg_conn_field "$admin" password)
catalog="Host=127.0.0.1;Port=$pg_port;Username=$pg_user;Password=$pg_password;Database=cleancrm_catalog"
redis_start "$cluster-bench" "$redis_port"
redis_started=$REDIS_STARTED

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
worker_bin=provisioning/CleanCrm.Provisioning.Worker/bin/Release/net10.0
bench_bin=tests/CleanCrm.Benchmarks/bin/Release/net10.0
if [[ -z ${BENCH_NO_BUILD:-} ]]; then
  say "building (Release)"
  for project in provisioning/CleanCrm.Provisioning.Worker tests/CleanCrm.Benchmarks; do
    dotnet build "$project" -c Release -v q -nologo >"$log/build.log" 2>&1 || { tail -n 30 "$log/build.log" >&2; exit 1; }
  done
fi

# Four processes open tenant connections (two APIs, two workers): the tenant connection budget derived from the
# server is shared by them (CleanCrm:Tenancy:Processes, docs/OPERATIONS.md); that is the deployment's shape, not a tuned cap.
server_env=(
  ConnectionStrings__Catalog="$catalog" CleanCrm__Tenancy__Processes="${BENCH_PROCESSES:-4}"
  CleanCrm__Tenancy__DefaultServer__Host=127.0.0.1 CleanCrm__Tenancy__DefaultServer__Port="$pg_port"
  CleanCrm__Tenancy__DefaultServer__Username="$pg_user" CleanCrm__Tenancy__DefaultServer__Password="$pg_password"
  Serilog__MinimumLevel__Default=Warning
)
say "migrating the catalog and the template"
(cd "$worker_bin" && env "${server_env[@]}" dotnet CleanCrm.Provisioning.Worker.dll migrate) >"$log/migrate.log" 2>&1 ||
  { cat "$log/migrate.log" >&2; exit 1; }

password=$(openssl rand -hex 16)
say "seeding $tenants tenants ($rows companies, contacts and deals each; skips what exists)"
(cd "$bench_bin" && BENCH_PASSWORD=$password dotnet CleanCrm.Benchmarks.dll seed-tenants --catalog "$catalog" --count "$tenants" \
  --contacts-per-tenant "$rows" --out "$out/multi-bench-tenants.txt") >"$log/seed.out" 2>"$log/seed.err" || { cat "$log/seed.err" >&2; exit 1; }
# As in crm-benchmark.sh: the limiter stays in the pipeline (in Redis here), the budget is far above what wrk sends.
set_budget() { # <budget> [slug]: the admin override of every benchmark organization, or of one
  psql -XAtq -d cleancrm_catalog -c "INSERT INTO limit_overrides (organization_id, api_requests_per10seconds, updated_at)
    SELECT id, $1, now() FROM organizations WHERE slug LIKE '${2:-bench-%}'
    ON CONFLICT (organization_id) DO UPDATE SET api_requests_per10seconds = excluded.api_requests_per10seconds, updated_at = now()" >/dev/null
}
set_budget 100000000

wait_ready() { # <url> <pid> <name>
  local deadline=$((SECONDS + 120))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' "$1/health/ready" || true) == 200 ]]; do
    kill -0 "$2" 2>/dev/null || { say "$3 exited"; tail -n 40 "$log/$3.log" >&2; exit 1; }
    ((SECONDS < deadline)) || { say "$3 was not ready in 120 s"; tail -n 40 "$log/$3.log" >&2; exit 1; }
    sleep 0.5
  done
}

start() { # <name> <directory> <command...>: in its own session; its pid is appended to pids
  local name=$1 dir=$2
  shift 2
  (cd "$dir" && exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$log/$name.pid" "$@") >"$log/$name.log" 2>&1 </dev/null &
  for _ in $(seq 1 50); do [[ -s $log/$name.pid ]] && break; sleep 0.1; done
  pids+=("$(cat "$log/$name.pid")")
}

# One signing and one encryption key for both instances, passed the way a deployment does (configuration).
mkdir -p "$out/multi-keys"
for key in signing encryption; do
  [[ -s $out/multi-keys/$key.pem ]] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$out/multi-keys/$key.pem" 2>/dev/null
done
api_pids=()
for i in 0 1; do
  say "starting API $((i + 1)) on ${api_ports[i]}"
  start "api$((i + 1))" "$repo/tests/CleanCrm.Benchmarks" env ASPNETCORE_ENVIRONMENT=Testing DOTNET_ENVIRONMENT=Testing \
    "${server_env[@]}" ConnectionStrings__Catalog="$catalog;Maximum Pool Size=30" ConnectionStrings__Redis="127.0.0.1:$redis_port" \
    CleanCrm__Api__MigrateOnStartup=false CleanCrm__DevelopmentAuthentication__Enabled=false \
    CleanCrm__Identity__AccessTokenLifetimeMinutes=120 CleanCrm__Identity__SigningKey="$(cat "$out/multi-keys/signing.pem")" \
    CleanCrm__Identity__EncryptionKey="$(cat "$out/multi-keys/encryption.pem")" \
    Serilog__MinimumLevel__Override__CleanCrm.Application.Common.Behaviors.LoggingBehavior=Warning \
    ${BENCH_API_ENV:-} dotnet "$repo/$bench_bin/CleanCrm.Benchmarks.dll" serve-api --port "${api_ports[i]}"
  api_pids+=("${pids[-1]}")
done
worker_pids=()
for i in 0 1; do
  say "starting worker $((i + 1)) (health on ${worker_ports[i]})"
  start "worker$((i + 1))" "$repo/$worker_bin" env "${server_env[@]}" CleanCrm__Worker__HealthUrls="http://127.0.0.1:${worker_ports[i]}" \
    dotnet CleanCrm.Provisioning.Worker.dll serve
  worker_pids+=("${pids[-1]}")
done
for i in 0 1; do
  wait_ready "http://127.0.0.1:${api_ports[i]}" "${api_pids[i]}" "api$((i + 1))"
  wait_ready "http://127.0.0.1:${worker_ports[i]}" "${worker_pids[i]}" "worker$((i + 1))"
done

# nginx: a private prefix, the upstream in its own file so a reload switches between one instance and both.
mkdir -p "$log/nginx/logs" "$log/nginx/tmp"
upstream() { # one|two
  {
    echo "upstream api {"
    echo "  hash \$http_x_org consistent;"
    echo "  server 127.0.0.1:${api_ports[0]};"
    [[ $1 == two ]] && echo "  server 127.0.0.1:${api_ports[1]};"
    echo "  keepalive 256;"
    echo "}"
  } >"$log/nginx/upstream.conf"
}
cat >"$log/nginx/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 16384;
pid $log/nginx/nginx.pid;
error_log $log/nginx/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $log/nginx/tmp/body;
  proxy_temp_path $log/nginx/tmp/proxy;
  fastcgi_temp_path $log/nginx/tmp/fastcgi;
  uwsgi_temp_path $log/nginx/tmp/uwsgi;
  scgi_temp_path $log/nginx/tmp/scgi;
  include $log/nginx/upstream.conf;
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_read_timeout 30s;
    }
  }
}
EOF
upstream two
ulimit -n 65536 2>/dev/null || true
"$nginx_bin" -t -p "$log/nginx" -c "$log/nginx/nginx.conf" >"$log/nginx/test.log" 2>&1 || { cat "$log/nginx/test.log" >&2; exit 1; }
"$nginx_bin" -p "$log/nginx" -c "$log/nginx/nginx.conf" -g 'daemon off;' >"$log/nginx/logs/stdout.log" 2>&1 &
nginx_pid=$!
for _ in $(seq 1 50); do [[ $(curl -s -o /dev/null -w '%{http_code}' "$url/health/live" || true) == 200 ]] && break; sleep 0.1; done
switch() { # one|two: rewrite the upstream, reload, wait until the new workers serve
  upstream "$1"
  kill -HUP "$nginx_pid"
  sleep 1
}

token=$(curl -s "$url/connect/token" -d grant_type=password -d client_id=cleancrm-cli -d username=bench-owner@example.com \
  --data-urlencode "password=$password" -d "scope=openid api" | tr -d '\n' | sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p')
[[ -n $token ]] || { say "no access token"; exit 1; }
for port in "${api_ports[@]}"; do
  # Issued through nginx (its address is the issuer), accepted by each instance when addressed the same way.
  check=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: 127.0.0.1:$nginx_port" -H "Authorization: Bearer $token" -H 'X-Org: bench-0001' \
    "http://127.0.0.1:$port/api/v1/deals/00000000-0000-4000-a000-000000000001")
  [[ $check == 200 ]] || { say "GET deal on port $port answered $check"; exit 1; }
done
say "two APIs, two workers, Redis and nginx ready; token obtained"

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
clk_tck=$(getconf CLK_TCK)
postmaster=$(head -n 1 "$PG_ROOT/$cluster/postmaster.pid")
cpu_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
proc_ticks() { awk -v c="${2:-0}" '{ print $14 + $15 + (c ? $16 + $17 : 0) }' "/proc/$1/stat" 2>/dev/null || echo 0; }
tree_ticks() { # <pid> [with reaped children]: the process and its live children (postgres backends, nginx workers)
  local total child
  total=$(proc_ticks "$1" "${2:-0}")
  for child in $(pgrep -P "$1"); do total=$((total + $(proc_ticks "$child"))); done
  echo "$total"
}
redis_pid=$(cat "$REDIS_ROOT/$cluster-bench/redis.pid" 2>/dev/null || echo 0)
# "api1 api2 pg redis nginx busy" in ticks
snapshot() {
  echo "$(proc_ticks "${api_pids[0]}") $(proc_ticks "${api_pids[1]}") $(tree_ticks "$postmaster" 1) $(proc_ticks "$redis_pid")" \
    "$(tree_ticks "$nginx_pid" 1) $(cpu_busy)"
}
# CPU split between two snapshots, as % of all cores: api1/api2/pg/redis/nginx/wrk/other (wrk's own seconds from time).
split() { # <before> <after> <seconds> <wrk cpu seconds>
  awk -v b="$1" -v a="$2" -v s="$3" -v w="$4" -v n="$(nproc)" -v hz="$clk_tck" 'BEGIN {
    split(b, x, " "); split(a, y, " "); cap = s * n * hz; used = 0
    for (i = 1; i <= 5; i++) { d[i] = y[i] - x[i]; used += d[i] }
    o = (y[6] - x[6]) - used - w * hz; if (o < 0) o = 0
    printf "%.0f/%.0f/%.0f/%.0f/%.0f/%.0f/%.0f", 100*d[1]/cap, 100*d[2]/cap, 100*d[3]/cap, 100*d[4]/cap, 100*d[5]/cap, 100*w*hz/cap, 100*o/cap }'
}
# Requests per CPU-second of the serving processes (APIs, PostgreSQL, Redis, nginx): what other load skews least.
per_cpu() { # <before> <after> <requests>
  awk -v b="$1" -v a="$2" -v r="$3" -v hz="$clk_tck" 'BEGIN {
    split(b, x, " "); split(a, y, " "); t = 0; for (i = 1; i <= 5; i++) t += y[i] - x[i]; printf "%.0f", r * hz / (t > 0 ? t : 1) }'
}

report="$log/summary.txt"
{
  echo "Two instances behind nginx, $(date -u '+%Y-%m-%d %H:%M UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(psql -XAtc 'SHOW server_version' | cut -d' ' -f1);" \
    "max_connections $(psql -XAtc 'SHOW max_connections'); $tenants tenants x $rows rows; redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
  echo "product commit: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- src || echo ' + uncommitted src changes')"
  echo "APIs: default configuration + ConnectionStrings:Redis, CleanCrm:Tenancy:Processes=${BENCH_PROCESSES:-4}, catalog 'Maximum Pool Size=30'${BENCH_API_ENV:+, $BENCH_API_ENV}"
} >"$report"

if [[ $skip != *,check,* ]]; then
  slug=bench-$(printf '%04d' "$tenants")
  set_budget "$check_budget" "$slug"
  sleep 1 # the NOTIFY drops both instances' cached profiles
  say "budget check: $((check_budget * 4)) requests for $slug (budget $check_budget per 10 s) on both API ports at once"
  # One curl process, 32 transfers at a time: the whole burst must fit in one 10 s window to be counted against one budget.
  for i in $(seq 1 $((check_budget * 4))); do
    echo "url = \"http://127.0.0.1:${api_ports[i % 2]}/api/v1/deals/00000000-0000-4000-a000-000000000001\""
    echo "output = \"/dev/null\""
  done >"$log/check.curl"
  started=$(date +%s.%N)
  curl -s -Z --parallel-max 32 -K "$log/check.curl" -w '%{http_code}\n' -H "Host: 127.0.0.1:$nginx_port" -H "Authorization: Bearer $token" \
    -H "X-Org: $slug" >"$log/check.txt"
  elapsed=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  admitted=$(grep -c '^200$' "$log/check.txt" || true)
  limited=$(grep -c '^429$' "$log/check.txt" || true)
  other=$(grep -vc '^200$\|^429$' "$log/check.txt" || true)
  verdict=ok
  ((admitted <= check_budget + 1 && other == 0)) || verdict=FAILED
  awk -v e="$elapsed" 'BEGIN { exit !(e >= 10) }' && verdict="inconclusive: the burst outlasted one window"
  echo "budget check (real processes, both API ports, ${elapsed} s; the window is 10 s): $admitted admitted, $limited x 429, $other other;" \
    "budget $check_budget, at most $((check_budget + 1)) allowed: $verdict" >>"$report"
  set_budget 100000000 "$slug"
fi

if [[ $skip != *,throughput,* ]]; then
  say "throughput warm-up: $warmup on each upstream"
  for mode in two one; do
    switch "$mode"
    MODE=full TOKEN=$token DEALS=$rows ORGS=$throughput_orgs wrk -t"$threads" -c"$connections" -d"$warmup" -s tests/load/crm-read.lua "$url" >/dev/null
  done
  echo "throughput: wrk -t$threads -c$connections -d$duration per run through nginx, GET deal with a bearer token over $throughput_orgs orgs," \
    "alternating upstreams; cpu% = api1/api2/postgres/redis/nginx/wrk/other of all cores" >>"$report"
  ratios=()
  cpu_ratios=()
  for round in $(seq 1 "$rounds"); do
    order="one two"
    ((round % 2 == 0)) && order="two one"
    for mode in $order; do
      switch "$mode"
      before=$(snapshot)
      started=$(date +%s.%N)
      { TIMEFORMAT='%U %S'; time MODE=full TOKEN=$token DEALS=$rows ORGS=$throughput_orgs wrk -t"$threads" -c"$connections" -d"$duration" \
        --latency -s tests/load/crm-read.lua "$url" >"$log/read-$mode-$round.txt"; } 2>"$log/read-$mode-$round.cpu"
      after=$(snapshot)
      seconds=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
      result=$(grep '^RESULT' "$log/read-$mode-$round.txt")
      [[ $(field "$result" non200) == 0 ]] || { echo "  round $round $mode: $(field "$result" non200) non-200 answers; aborting" | tee -a "$report" >&2; exit 1; }
      efficiency=$(per_cpu "$before" "$after" "$(field "$result" requests)")
      echo "$efficiency" >"$log/read-$mode-$round.per-cpu"
      printf '  round %d %-3s %8s req/s  p50 %6s ms  p99 %6s ms  non200 %s  cpu%% %s  %s req/cpu-s\n' "$round" "$mode" \
        "$(field "$result" rps)" "$(ms "$(field "$result" p50_us)")" "$(ms "$(field "$result" p99_us)")" "$(field "$result" non200)" \
        "$(split "$before" "$after" "$seconds" "$(awk '{ print $1 + $2 }' "$log/read-$mode-$round.cpu")")" "$efficiency" >>"$report"
    done
    ratio=$(awk -v t="$(field "$(grep '^RESULT' "$log/read-two-$round.txt")" rps)" -v o="$(field "$(grep '^RESULT' "$log/read-one-$round.txt")" rps)" \
      'BEGIN { printf "%.1f", 100 * t / o }')
    cpu_ratio=$(awk -v t="$(cat "$log/read-two-$round.per-cpu")" -v o="$(cat "$log/read-one-$round.per-cpu")" 'BEGIN { printf "%.1f", 100 * t / o }')
    ratios+=("$ratio")
    cpu_ratios+=("$cpu_ratio")
    echo "  round $round: two instances at $ratio% of one (req/s), $cpu_ratio% (req/cpu-s)" >>"$report"
  done
  printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "  median over %d rounds: two instances give %s%% of one instance'"'"'s req/s (min %s%%, max %s%%); target >= 90%%\n", NR, a[int((NR + 1) / 2)], a[1], a[NR] }' >>"$report"
  printf '%s\n' "${cpu_ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "  median over %d rounds: two instances give %s%% of one instance'"'"'s requests per CPU-second of the serving processes (min %s%%, max %s%%)\n", NR, a[int((NR + 1) / 2)], a[1], a[NR] }' >>"$report"
fi

if [[ $skip != *,load,* ]]; then
  seconds=${load_duration%s}
  steady_skip=${BENCH_STEADY_SKIP:-15}
  for mode in "${load_modes[@]}"; do
    switch "$mode"
    say "mixed load through nginx, upstream $mode: $users users over $load_orgs orgs for $load_duration"
    TOKEN=$token K=$load_orgs ROWS=$rows wrk -t"$threads" -c"$((users / 5))" -d"$warmup" --timeout 10s -s tests/load/crm-mixed.lua "$url" \
      >"$log/load-$mode-warmup.txt"
    (
      sleep "$steady_skip"
      for port in "${api_ports[@]}"; do curl -s "http://127.0.0.1:$port/metrics"; done >"$log/metrics-$mode-before.txt"
      sleep $((seconds - steady_skip - 2))
      for port in "${api_ports[@]}"; do curl -s "http://127.0.0.1:$port/metrics"; done >"$log/metrics-$mode-after.txt"
    ) &
    scraper=$!
    before=$(snapshot)
    started=$(date +%s.%N)
    { TIMEFORMAT='%U %S'; time TOKEN=$token K=$load_orgs ROWS=$rows wrk -t"$threads" -c"$users" -d"$load_duration" --timeout 10s --latency \
      -s tests/load/crm-mixed.lua "$url" >"$log/load-$mode.txt"; } 2>"$log/load-$mode.cpu"
    after=$(snapshot)
    wait "$scraper" || true
    elapsed=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
    steady=$(python3 tests/load/prom_window.py "$log/metrics-$mode-before.txt" "$log/metrics-$mode-after.txt" /api/ 2>&1 || true)
    result=$(grep '^RESULT' "$log/load-$mode.txt")
    {
      echo "mixed load, upstream $mode: wrk -t$threads -c$users -d$load_duration through nginx, $load_orgs orgs, think 500-1500 ms, 80% reads / 20% writes"
      printf '  %s requests, %s req/s, p50 %s ms, p95 %s ms, p99 %s ms, max %s ms, non-2xx %s, socket errors %s; cpu%% %s\n' \
        "$(field "$result" requests)" "$(field "$result" rps)" "$(ms "$(field "$result" p50_us)")" "$(ms "$(field "$result" p95_us)")" \
        "$(ms "$(field "$result" p99_us)")" "$(ms "$(field "$result" max_us)")" "$(field "$result" non2xx)" "$(field "$result" socket_err)" \
        "$(split "$before" "$after" "$elapsed" "$(awk '{ print $1 + $2 }' "$log/load-$mode.cpu")")"
      echo "  server-side, steady state (from ${steady_skip} s to $((seconds - 2)) s of the run, both instances): $steady"
      echo "  tenant connection waits / refusals (both instances, whole run): $(for port in "${api_ports[@]}"; do curl -s "http://127.0.0.1:$port/metrics"; done |
        awk '/^cleancrm_tenant_connections_waits_total/ { w += $NF } /^cleancrm_tenant_connections_refusals_total/ { r += $NF } END { printf "%d / %d", w, r }')"
    } >>"$report"
  done
fi

for i in 0 1; do
  echo "API $((i + 1)) peak RSS $(awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/${api_pids[i]}/status")," \
    "worker $((i + 1)) ready: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${worker_ports[i]}/health/ready")" >>"$report"
done
cat "$report"
say "logs in $log"
