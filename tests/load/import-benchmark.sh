#!/usr/bin/env bash
# CSV contact import benchmark (issue 6), one command:
#
#   tests/load/import-benchmark.sh
#
# 1. starts (or reuses) a local cluster (BENCH_CLUSTER, default "bench-import" on BENCH_PG_PORT=55542),
# 2. builds Release, migrates a dedicated catalog and template (worker `migrate`),
# 3. runs `CleanCrm.Benchmarks import-contacts`: a deterministic 10-column contacts CSV of BENCH_ROWS rows imported into
#    a fresh tenant from empty tables, alternating the product path (upload streamed into the tenant database, then the
#    import job: streamed parse + binary COPY into a staging table + set-based merge, one transaction) and the same
#    import through EF Core SaveChanges, BENCH_RUNS times each, in one process; prints wall time, peak working set and
#    peak managed heap per run, the medians and the speed-up (also written to .local/bench/import-<time>.txt).
#
# Settings (environment): BENCH_ROWS=100000 BENCH_RUNS=3 BENCH_PATHS=both|copy|ef BENCH_PG_PORT=55542 BENCH_CLUSTER=bench-import
#   BENCH_NO_BUILD=1 (skip dotnet build)  BENCH_KEEP_PG=1 (leave a cluster this script started running)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=scripts/pg.sh disable=SC1091
source "$repo/scripts/pg.sh"

pg_port=${BENCH_PG_PORT:-55542}
cluster=${BENCH_CLUSTER:-bench-import}
rows=${BENCH_ROWS:-100000}
runs=${BENCH_RUNS:-3}
out="$repo/.local/bench"
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cluster_started=0
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  trap - EXIT INT TERM
  if [[ $cluster_started == 1 && -z ${BENCH_KEEP_PG:-} ]]; then
    pg_stop "$cluster" || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pg_start "$cluster" "$pg_port"
cluster_started=$PG_STARTED
admin=$(pg_conn_string "$cluster")
pg_user=$(pg_conn_field "$admin" username userid user)
pg_password=$(pg_conn_field "$admin" password)
catalog="Host=127.0.0.1;Port=$pg_port;Username=$pg_user;Password=$pg_password;Database=cleancrm_import_bench"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export CleanCrm__Tenancy__TemplateDatabase=cleancrm_import_bench_template
worker_bin=provisioning/CleanCrm.Provisioning.Worker/bin/Release/net10.0
bench_bin=tests/CleanCrm.Benchmarks/bin/Release/net10.0
if [[ -z ${BENCH_NO_BUILD:-} ]]; then
  say "building (Release)"
  for project in provisioning/CleanCrm.Provisioning.Worker tests/CleanCrm.Benchmarks; do
    dotnet build "$project" -c Release -v q -nologo >"$out/import-build.log" 2>&1 || { tail -n 30 "$out/import-build.log" >&2; exit 1; }
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
) >"$out/import-migrate.log" 2>&1 || { cat "$out/import-migrate.log" >&2; exit 1; }

# The server's CPU per run is read from /proc (the cluster is assumed to serve nothing else meanwhile).
BENCH_PG_PID=$(head -n 1 "$PG_ROOT/$cluster/postmaster.pid" 2>/dev/null || true)
export BENCH_PG_PID
say "importing $rows contacts, $runs runs per path"
(cd "$bench_bin" && dotnet CleanCrm.Benchmarks.dll import-contacts --catalog "$catalog" --rows "$rows" --runs "$runs" --paths "${BENCH_PATHS:-both}") | tee "$out/import-$stamp.txt"
