#!/usr/bin/env bash
# Fleet migration benchmark (issue 5): N tenant databases one migration behind, brought to
# the latest version by the real CLI (`cleancrm-worker migrate --parallelism P`).
#
#   tests/load/fleet-migration-benchmark.sh [TENANTS] [PARALLELISMS] [BASELINE_TENANTS]
#   defaults: 1000 "4 8 16" 100
#
# Uses its own throwaway cluster (scripts/pg.sh; FLEET_BENCH_CLUSTER=fleet, FLEET_BENCH_PORT=58432),
# its own catalog (bench_fleet_catalog) and templates; everything it created is dropped at the
# end unless FLEET_BENCH_KEEP=1. A cluster it started is stopped again.
#
# "One migration behind", without changing the product's migrations: the last tenant migration
# is rolled back with the product's own Down script (`dotnet ef migrations script <last> <previous>`,
# which drops what that migration created and deletes its __ef_migrations_history row), and the
# organization's catalog schema_version is set to the previous migration (NULL when the last is the
# first). Setup: a template at the latest version (`migrate --catalog-only`), a copy rolled back
# once, N databases cloned from that copy (CREATE DATABASE ... TEMPLATE), N login roles and N
# active organization rows. Between runs every tenant is rolled back again with the same script.
# The timed part is the whole CLI process; "tenants s" is the tenant phase the CLI reports.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=scripts/pg.sh
source "$repo/scripts/pg.sh"

tenants=${1:-1000}
parallelisms=${2:-"4 8 16"}
baseline=${3:-100}
cluster=${FLEET_BENCH_CLUSTER:-fleet}
port=${FLEET_BENCH_PORT:-58432}
catalog=bench_fleet_catalog
template=bench_fleet_template
previous_template=bench_fleet_previous
work="$repo/.local/fleet-bench"
mkdir -p "$work"

log() { printf '[fleet-bench] %s\n' "$*" >&2; }

pg_start "$cluster" "$port"
cluster_started=$PG_STARTED
eval "$(pg_env "$cluster")"
conn=$(pg_conn_string "$cluster")

cleanup() {
  if [[ ${FLEET_BENCH_KEEP:-0} != 1 ]]; then
    drop_everything || true
  fi
  if [[ $cluster_started == 1 ]]; then
    pg_stop "$cluster" || true
  fi
}

q() { psql -X -q -v ON_ERROR_STOP=1 -d "$1" "${@:2}"; }

drop_everything() {
  if [[ $(q postgres -tAc "SELECT count(*) FROM pg_database WHERE datname = '$catalog'") == 1 ]]; then
    log "dropping the benchmark's tenant databases and roles"
    q "$catalog" -tAc "SELECT database_name FROM organizations WHERE slug LIKE 'bench-%'" >"$work/databases.txt"
    # -P2: one DROP DATABASE per psql, two at a time (the machine has 2 cores).
    xargs -a "$work/databases.txt" -P 2 -I{} psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS "{}" WITH (FORCE)' -c 'DROP ROLE IF EXISTS "{}"'
  fi
  for db in "$catalog" "$template" "$previous_template"; do
    q postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
  done
}
trap cleanup EXIT
trap 'exit 130' INT

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log "building the worker (Release)"
dotnet build provisioning/CleanCrm.Provisioning.Worker/CleanCrm.Provisioning.Worker.csproj -c Release -warnaserror -v q -nologo >"$work/build.log"
worker=$(find provisioning/CleanCrm.Provisioning.Worker/bin/Release -name CleanCrm.Provisioning.Worker.dll | head -n 1)

# The tenant migrations in this build, oldest first; the benchmark rolls back the last one.
mapfile -t migrations < <(find src/CleanCrm.Infrastructure/Persistence/Tenant/Migrations -name '*_*.cs' ! -name '*.Designer.cs' -printf '%f\n' | sed 's/\.cs$//' | sort)
latest=${migrations[-1]}
if ((${#migrations[@]} > 1)); then
  previous=${migrations[-2]}
  previous_sql="'$previous'"
else
  previous=0
  previous_sql=NULL
fi
log "rolling back $latest to $previous (${#migrations[@]} tenant migrations in this build)"
dotnet tool restore >/dev/null
dotnet ef migrations script "$latest" "$previous" --context TenantDbContext \
  --project src/CleanCrm.Infrastructure --startup-project src/CleanCrm.Infrastructure \
  --configuration Release --no-build --output "$work/rollback.sql" >"$work/ef.log" 2>&1
grep -q "DELETE FROM __ef_migrations_history" "$work/rollback.sql"

drop_everything
q postgres -c "CREATE DATABASE \"$catalog\""

run_worker() {
  ConnectionStrings__Catalog="$conn;Database=$catalog" \
    CleanCrm__Tenancy__TemplateDatabase=$template \
    CleanCrm__Tenancy__DefaultServer__Name=bench \
    CleanCrm__Tenancy__DefaultServer__Host=$PGHOST \
    CleanCrm__Tenancy__DefaultServer__Port=$PGPORT \
    CleanCrm__Tenancy__DefaultServer__Username=$PGUSER \
    CleanCrm__Tenancy__DefaultServer__Password=$PGPASSWORD \
    Serilog__MinimumLevel__Default=Warning \
    DOTNET_ENVIRONMENT=Production COLUMNS=160 \
    dotnet "$worker" "$@"
}

log "catalog and template at $latest"
run_worker migrate --catalog-only >"$work/catalog.log" 2>&1

log "template one migration behind, then $tenants roles, organizations and databases"
q postgres -c "CREATE DATABASE \"$previous_template\" TEMPLATE \"$template\""
q "$previous_template" -f "$work/rollback.sql"
setup_started=$(date +%s.%N)
q "$catalog" <<SQL
INSERT INTO organizations (id, slug, name, status, plan_key, database_server_id, database_name, database_role, schema_version, created_at, updated_at, activated_at)
SELECT id, 'bench-' || lpad(i::text, 5, '0'), 'Bench ' || i, 'active', 'free', (SELECT id FROM database_servers WHERE name = 'bench'),
       'cleancrm_t_' || replace(id::text, '-', ''), 'cleancrm_t_' || replace(id::text, '-', ''), $previous_sql, now(), now(), now()
FROM (SELECT i, gen_random_uuid() AS id FROM generate_series(1, $tenants) AS i) AS s;
SQL
q "$catalog" -tAc "SELECT database_name FROM organizations WHERE slug LIKE 'bench-%' ORDER BY slug" >"$work/databases.txt"
# Roles and databases as provisioning leaves them (CONNECT revoked from PUBLIC, granted to the tenant role).
sed 's/.*/CREATE ROLE "&" LOGIN;/' "$work/databases.txt" | q postgres
while read -r db; do
  printf 'CREATE DATABASE "%s" TEMPLATE "%s";\nREVOKE ALL ON DATABASE "%s" FROM PUBLIC;\nGRANT CONNECT ON DATABASE "%s" TO "%s";\n' "$db" "$previous_template" "$db" "$db" "$db"
done <"$work/databases.txt" | q postgres
log "setup of $tenants tenants took $(echo "$(date +%s.%N) - $setup_started" | bc) s"

# Rolls the given tenants back by the last migration (its Down script) and marks them stale in the catalog.
roll_back() {
  local list=$1
  xargs -a "$list" -P 2 -I{} psql -X -q -v ON_ERROR_STOP=1 -d {} -f "$work/rollback.sql"
  q "$catalog" <<SQL
CREATE TEMP TABLE stale (db text);
\copy stale FROM '$list'
UPDATE organizations SET schema_version = $previous_sql WHERE database_name IN (SELECT db FROM stale);
SQL
}

# CPU seconds used by the cluster's processes that have exited (backends are reaped by the postmaster):
# with other work on the machine, CPU per tenant is steadier than wall time.
postmaster=$(head -n 1 "$PG_ROOT/$cluster/postmaster.pid")
ticks=$(getconf CLK_TCK)
server_cpu() { awk -v t="$ticks" '{ printf "%.2f", ($14 + $15 + $16 + $17) / t }' "/proc/$postmaster/stat"; }

results=()
measure() {
  local label=$1 parallelism=$2 count=$3 started ended wall line tenant_s migrated failed at_latest sample sampled
  local load cpu_before cpu_after worker_cpu
  log "$label: migrating $count stale tenants at parallelism $parallelism"
  load=$(cut -d ' ' -f 1 /proc/loadavg)
  cpu_before=$(server_cpu)
  started=$(date +%s.%N)
  TIMEFORMAT='%U %S'
  { time run_worker migrate --parallelism "$parallelism" >"$work/run-$label.log" 2>&1 || true; } 2>"$work/time-$label.txt"
  ended=$(date +%s.%N)
  cpu_after=$(server_cpu)
  worker_cpu=$(awk '{ printf "%.1f", $1 + $2 }' "$work/time-$label.txt")
  wall=$(echo "$ended - $started" | bc)
  line=$(grep -a '^fleet: ' "$work/run-$label.log" | tail -n 1)
  [[ -n $line ]] || {
    tail -n 30 "$work/run-$label.log" >&2
    pg_die "no report line in $work/run-$label.log"
  }
  migrated=$(sed -E 's/^fleet: ([0-9]+) migrated.*/\1/' <<<"$line")
  failed=$(sed -E 's/.* ([0-9]+) failed in .*/\1/' <<<"$line")
  tenant_s=$(sed -E 's/.* failed in ([0-9.]+) s.*/\1/' <<<"$line")
  at_latest=$(q "$catalog" -tAc "SELECT count(*) FROM organizations WHERE slug LIKE 'bench-%' AND schema_version = '$latest'")
  # The databases themselves, not only the catalog: a sample must have the migration in its history.
  sample=0 sampled=$((count < 20 ? count : 20))
  while read -r db; do
    sample=$((sample + $(q "$db" -tAc "SELECT count(*) FROM __ef_migrations_history WHERE migration_id = '$latest'")))
  done < <(shuf -n "$sampled" "$work/stale.txt")
  results+=("| $label | $parallelism | $count | $migrated | $failed | $tenant_s | $(echo "scale=1; $count / $tenant_s" | bc) | $(printf '%.1f' "$wall") | $worker_cpu | $(echo "$cpu_after - $cpu_before" | bc) | $load | $at_latest/$tenants | $sample/$sampled |")
  log "${results[-1]}"
}

cp "$work/databases.txt" "$work/stale.txt"
first=1
for parallelism in $parallelisms; do
  if [[ $first == 0 ]]; then
    roll_back "$work/stale.txt"
  fi
  first=0
  measure "p$parallelism" "$parallelism" "$tenants"
done

head -n "$baseline" "$work/databases.txt" >"$work/stale.txt"
roll_back "$work/stale.txt"
measure "sequential" 1 "$baseline"

echo
echo "PostgreSQL $(q postgres -tAc 'SHOW server_version'), $(nproc) cores, $tenants tenants, migration rolled back: $latest"
echo "| run | parallelism | stale tenants | migrated | failed | tenants s | tenants/s | process wall s | worker CPU s | PostgreSQL CPU s | load before | catalog at latest | history sample |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${results[@]}"
