#!/usr/bin/env bash
# Fleet operations with 1,000 tenants in the catalog (issue 18), one command:
#
#   tests/load/fleet-ops-benchmark.sh
#
# 1. starts its own cluster (FLEETOPS_PG_PORT=5491), migrates the catalog and template (worker `migrate`),
# 2. provisions FLEETOPS_TENANTS (1000) tenants through the product's TenantOnboarding (CleanCrm.Benchmarks
#    seed-tenants, parallelism FLEETOPS_SEED_PARALLELISM=4; empty tenants) and reports the time,
# 3. starts the API (FLEETOPS_API_PORT=5492, Development authentication) and the worker,
# 4. admin list and search: FLEETOPS_REQUESTS (200) sequential requests per query shape against
#    GET /api/v1/admin/organizations, p50/p95/max each,
# 5. fleet backup: POST /api/v1/admin/backups, wall time from the first queued to the last finished backup,
# 6. `migrate` with every tenant at the latest version (the no-op fleet run an every-deploy migration does).
# The fleet migration of 1,000 stale tenants has its own script (tests/load/fleet-migration-benchmark.sh).
# Each phase prints the CPU split (API, worker, PostgreSQL, other) so a busy machine shows.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=scripts/pg.sh disable=SC1091
source "$repo/scripts/pg.sh"

pg_port=${FLEETOPS_PG_PORT:-5491}
api_port=${FLEETOPS_API_PORT:-5492}
tenants=${FLEETOPS_TENANTS:-1000}
requests=${FLEETOPS_REQUESTS:-200}
cluster=fleetops
api_url="http://127.0.0.1:$api_port"
log="$repo/.local/logs/fleet-ops-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$log" "$log/store"
api_pid=
worker_pid=
cleanup() {
  local pid
  for pid in $api_pid $worker_pid; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 1
  [[ -n ${FLEETOPS_KEEP_PG:-} ]] || pg_stop "$cluster" || true
}
trap cleanup EXIT
say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

export PG_MAX_CONNECTIONS=200
pg_start "$cluster" "$pg_port"
eval "$(pg_env "$cluster")"
export PGDATABASE=postgres
admin=$(pg_conn_string "$cluster")
pg_user=$(pg_conn_field "$admin" username userid user)
pg_password=$(pg_conn_field "$admin" password)
catalog="Host=127.0.0.1;Port=$pg_port;Username=$pg_user;Password=$pg_password;Database=cleancrm_catalog"
export ConnectionStrings__Catalog=$catalog
export CleanCrm__Tenancy__DefaultServer__Host=127.0.0.1 CleanCrm__Tenancy__DefaultServer__Port=$pg_port
export CleanCrm__Tenancy__DefaultServer__Username=$pg_user CleanCrm__Tenancy__DefaultServer__Password=$pg_password
export CleanCrm__Backups__FileSystemRoot=$log/store CleanCrm__Backups__ScheduleEnabled=false Serilog__MinimumLevel__Default=Warning
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
worker_bin=$repo/provisioning/CleanCrm.Provisioning.Worker/bin/Release/net10.0
api_bin=$repo/src/CleanCrm.Api/bin/Release/net10.0
bench_bin=$repo/tests/CleanCrm.Benchmarks/bin/Release/net10.0
if [[ -z ${FLEETOPS_NO_BUILD:-} ]]; then
  say "building (Release)"
  for project in provisioning/CleanCrm.Provisioning.Worker src/CleanCrm.Api tests/CleanCrm.Benchmarks; do
    dotnet build "$project" -c Release -v q -nologo >"$log/build.log" 2>&1 || { tail -n 30 "$log/build.log" >&2; exit 1; }
  done
fi

postmaster=$(head -n 1 "$PG_ROOT/$cluster/postmaster.pid")
# shellcheck source=tests/load/cpu-split.sh
source "$repo/tests/load/cpu-split.sh"

echo "== fleet operations, $tenants tenants (load at start: $(cut -d' ' -f1-3 /proc/loadavg))"
(cd "$worker_bin" && dotnet CleanCrm.Provisioning.Worker.dll migrate) >"$log/migrate.log" 2>&1 || { cat "$log/migrate.log" >&2; exit 1; }

say "provisioning $tenants tenants"
cpu_begin
child0=$(awk '{ print $16 + $17 }' /proc/$$/stat)
(cd "$bench_bin" && dotnet CleanCrm.Benchmarks.dll seed-tenants --catalog "$catalog" --count "$tenants" --contacts-per-tenant 0 \
  --parallelism "${FLEETOPS_SEED_PARALLELISM:-4}" --out "$log/tenants.txt") >"$log/seed.out" 2>"$log/seed.err" ||
  { tail -n 30 "$log/seed.err" >&2; exit 1; }
cpu_report "provisioning $tenants tenants (seed-tenants, TenantOnboarding)" \
  "$(awk -v t="$(($(awk '{ print $16 + $17 }' /proc/$$/stat) - child0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { print t / hz }')"
grep -h "provisioned" "$log/seed.err" "$log/seed.out" || true
user_id=$(sed -n 's/^USER_ID=//p' "$log/seed.out")
echo "catalog: $(psql -XAtd cleancrm_catalog -c "SELECT count(*) FROM organizations WHERE status = 'active'") active organizations"

start() { # <bin dir> <log> <command...>: prints the pid of the started program
  local dir=$1 output=$2
  shift 2
  (cd "$dir" && exec setsid env ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development \
    CleanCrm__DevelopmentAuthentication__Enabled=true CleanCrm__Jobs__QueuePollIntervalMs=200 "$@") >"$output" 2>&1 </dev/null &
  echo $!
}
api_pid=$(start "$api_bin" "$log/api.log" dotnet CleanCrm.Api.dll --urls "$api_url")
worker_pid=$(start "$worker_bin" "$log/worker.log" dotnet CleanCrm.Provisioning.Worker.dll serve)
for _ in $(seq 1 120); do curl -fs "$api_url/health/ready" >/dev/null && break; sleep 1; done

say "admin list and search"
cpu_begin
python3 - "$api_url" "$user_id" "$requests" <<'PY'
import json, sys, time, urllib.request
base, user, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
assert base.startswith("http://127.0.0.1")
def get(path):
    request = urllib.request.Request(base + path, headers={"Authorization": f"Dev user={user};admin"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    return time.perf_counter() - started, body
_, first = get("/api/v1/admin/organizations?limit=50")
cursor = first.get("nextCursor")
shapes = {
    "first page (default sort -createdAt, 50)": "/api/v1/admin/organizations?limit=50",
    "page 2 by keyset cursor": f"/api/v1/admin/organizations?limit=50&cursor={cursor}",
    "sorted by name": "/api/v1/admin/organizations?limit=50&sort=name",
    "sorted by -databaseSize": "/api/v1/admin/organizations?limit=50&sort=-databaseSize",
    "search q=bench-05 (name, slug, owner email)": "/api/v1/admin/organizations?limit=50&q=bench-05",
    "search q=nomatch": "/api/v1/admin/organizations?limit=50&q=nomatch",
    "filter status=active&schemaBehind=false": "/api/v1/admin/organizations?limit=50&status=active&schemaBehind=false",
    "filter backupOlderThanHours=24": "/api/v1/admin/organizations?limit=50&backupOlderThanHours=24",
}
for label, path in shapes.items():
    for _ in range(5):
        get(path)  # warm-up
    samples = sorted(get(path)[0] for _ in range(n))
    p = lambda q: samples[min(len(samples) - 1, int(round(q * (len(samples) - 1))))] * 1000
    print(f"admin list {label}: n={n} p50={p(0.5):.1f} ms p95={p(0.95):.1f} ms max={samples[-1] * 1000:.1f} ms")
PY
cpu_report "admin list and search"

say "fleet backup"
cpu_begin
since=$(psql -XAtd cleancrm_catalog -c "SELECT now()")
response=$(curl -s -X POST -H "Authorization: Dev user=$user_id;admin" "$api_url/api/v1/admin/backups")
queued=$(sed -n 's/.*"queued":\([0-9]*\).*/\1/p' <<<"$response")
[[ -n $queued ]] || { echo "fleet backup was not queued: $response" >&2; exit 1; }
for _ in $(seq 1 7200); do
  finished=$(psql -XAtd cleancrm_catalog -c "SELECT count(*) FROM backups WHERE queued_at >= '$since' AND status IN ('succeeded', 'failed')")
  ((finished >= queued)) && break
  sleep 0.5
done
cpu_report "fleet backup of $queued tenants"
psql -XAtd cleancrm_catalog -F' ' -c "SELECT 'fleet backup: first queued to last finished ' ||
    round(extract(epoch FROM max(finished_at) - min(queued_at))::numeric, 1) || ' s, ' ||
    count(*) FILTER (WHERE status = 'succeeded') || ' succeeded, ' || count(*) FILTER (WHERE status = 'failed') || ' failed, ' ||
    pg_size_pretty(coalesce(sum(size_bytes), 0))
  FROM backups WHERE queued_at >= '$since'"

say "migrate with every tenant current"
cpu_begin
(cd "$worker_bin" && dotnet CleanCrm.Provisioning.Worker.dll migrate) >"$log/migrate-2.log" 2>&1 || { cat "$log/migrate-2.log" >&2; exit 1; }
cpu_report "migrate (catalog, template, warm pool, $tenants tenants already current)"
grep -E "^fleet:|warm-pool" "$log/migrate-2.log" || true
echo "logs: $log"
