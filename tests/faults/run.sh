#!/usr/bin/env bash
# Fault-injection and abuse suite (issue 23; results and how to read them: docs/reliability.md).
#
#   tests/faults/run.sh [--quick|--full] [scenario...]
#
# Starts its own PostgreSQL clusters (scripts/pg.sh: "faults-a" holds the catalog and the default tenant server,
# "faults-b" is a second tenant server), builds the API and the worker (Release) once, then hands over to
# tests/faults/faults.py, which starts the API instances and the worker as real processes (the way
# tests/load/two-instances.sh does), drives load from a recording client, injects the faults, checks the invariants,
# prints the table and exits non-zero when an invariant is broken. Everything it starts is stopped when it exits.
#
# --quick (default): abuse (scenario 7), kill -9 of one of two APIs under load (2), kill -9 of the worker during
#   provisioning (1, provisioning part), restart of a tenant server under load (3); well under 10 minutes.
#   Also worker-ops' mail sub-cases (1), the catalog unavailable for 20 s (4) and the backup store full (5a).
# --full: the same with more load and longer fault windows, plus every worker-ops sub-case (1: kill -9 of the worker
#   during mail, webhooks, Slack, an import, a backup, a restore, a tenant move, and of a fleet migration), webhook-time
#   (6: clock skew, replays, a late Stripe event), SMTP down for 10 minutes (5c), Stripe answering 500s and timeouts (5d:
#   checkout and portal, then usage reporting in the worker), the secret store (Key Vault stub) unreachable (5b) and the
#   AI provider answering after 30 s (5e).
# --soak [minutes]: the soak (8) alone, 30 minutes by default, across 100 organizations (--soak-orgs N).
# Scenario names select a subset: abuse, api-kill, worker-kill, pg-restart, worker-ops, webhook-time, catalog-down,
#   backup-full, smtp-down, stripe-down, vault-down, provider-slow. worker-ops and webhook-time also use base+10 (an API
#   of their own), base+11 (a webhook receiver) and base+12 (a Fathom/Stripe stub), and base+3 for an SMTP sink and
#   base+13 for a Slack stub while worker-ops runs; vault-down base+13 (its API), base+14 (the HTTPS vault stub), base+15
#   (the managed-identity token endpoint) and base+18 (the CONNECT proxy in front of the vault); provider-slow base+16
#   (the AI stub) and base+17 (its API). Scenarios run one after the other, so a port is never used by two at once.
#
# Ports (environment; its own, so it can run inside scripts/test.sh next to that script's clusters):
# CLEANCRM_FAULTS_PG_PORT (default 55440) and CLEANCRM_FAULTS_PG2_PORT (55441) for the clusters;
# CLEANCRM_FAULTS_PORT_BASE (5190): API 1 = base, API 2 = base+1, worker health = base+2, SMTP = base+3 (nothing
# listens: mail stays in the outbox), a closed port for external peers (Stripe, OAuth providers) = base+49.
# Everything listens on and is sent to 127.0.0.1 only.
# CLEANCRM_FAULTS_OUT (.local/faults) holds logs and requests; with CLEANCRM_PG_ROOT (scripts/pg.sh) two runs can share
# a clone (e.g. the soak next to other scenarios). CLEANCRM_FAULTS_NO_BUILD=1 skips the build.
# CLEANCRM_COUNTS_FILE (as scripts/test.sh's run_counted sets it) receives
# "passed=N failed=N skipped=N", one count per scenario; the last line printed is "N passed, N failed".
set -euo pipefail
# The whole script is one compound command, read before any of it runs: bash reads a script as it executes it, so an
# edit of this file during a long run (a new scenario's line in the header above) would otherwise make it run
# commands from a shifted offset, such as starting faults.py a second time.
{

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=scripts/pg.sh disable=SC1091
source "$repo/scripts/pg.sh"

out="${CLEANCRM_FAULTS_OUT:-$repo/.local/faults}"
mkdir -p "$out"

report_setup_failure() {
  echo "faults: $*" >&2
  if [[ -n ${CLEANCRM_COUNTS_FILE:-} ]]; then
    echo "passed=0 failed=1 skipped=0" >"$CLEANCRM_COUNTS_FILE"
  fi
  echo "0 passed, 1 failed"
  exit 1
}

started=()
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  trap - EXIT INT TERM
  local name
  for name in "${started[@]}"; do
    pg_stop "$name" || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
if [[ " $* " == *" --soak"* ]]; then
  # The soak measures the live heap with dotnet-gcdump, a local tool (.config/dotnet-tools.json).
  dotnet tool restore >/dev/null || report_setup_failure "dotnet tool restore failed (the soak needs dotnet-gcdump)"
fi
if [[ ${CLEANCRM_FAULTS_NO_BUILD:-0} != 1 ]]; then
  echo "faults: building the worker and the API (Release)"
  for project in provisioning/CleanCrm.Provisioning.Worker src/CleanCrm.Api; do
    dotnet build "$project" -c Release -v q -nologo >"$out/build.log" 2>&1 ||
      { tail -n 30 "$out/build.log" >&2; report_setup_failure "building $project failed"; }
  done
fi

# Fresh clusters every run: the suite creates organizations, users and a second database server, and an earlier run's
# leftovers must not change what it measures. A cluster of this suite that is still running (a killed run) is stopped.
for name in faults-a faults-b; do
  if [[ -z ${CLEANCRM_PG:-} ]]; then
    pg_choose_root
    if pg_running_pid "$PG_ROOT/$name" >/dev/null 2>&1; then
      pg_stop "$name"
    fi
    rm -rf -- "${PG_ROOT:?}/$name" "$PG_ROOT/$name.password"
  fi
done
[[ -z ${CLEANCRM_PG:-} ]] || report_setup_failure "CLEANCRM_PG is set: the suite restarts its servers and needs its own clusters"
pg_start faults-a "${CLEANCRM_FAULTS_PG_PORT:-55440}"
[[ $PG_STARTED == 0 ]] || started+=(faults-a)
pg_start faults-b "${CLEANCRM_FAULTS_PG2_PORT:-55441}"
[[ $PG_STARTED == 0 ]] || started+=(faults-b)

# What faults.py needs to start, stop and restart the servers and to read the catalog (never printed).
export FAULTS_PG_ROOT=$PG_ROOT FAULTS_PG_BIN
FAULTS_PG_BIN=$(pg_find_bin "$(cat "$PG_ROOT/faults-a/PG_VERSION")")
export FAULTS_PG_A_PORT=${CLEANCRM_FAULTS_PG_PORT:-55440} FAULTS_PG_B_PORT=${CLEANCRM_FAULTS_PG2_PORT:-55441}
FAULTS_PG_A_PASSWORD=$(pg_password faults-a)
FAULTS_PG_B_PASSWORD=$(pg_password faults-b)
export FAULTS_PG_A_PASSWORD FAULTS_PG_B_PASSWORD
export FAULTS_REPO=$repo FAULTS_OUT=$out

python3 "$repo/tests/faults/faults.py" "$@"
exit
}
