#!/usr/bin/env bash
# Brings the CleanCrm compose stack up on this host (docs/DEPLOYMENT.md, "One host with Docker Compose"): installs
# docker when missing and starts dockerd when none runs, writes docker/.env with random secrets on the first run,
# builds the local images that are missing or stale (docker/build-images.sh; skipped with CLEANCRM_COMPOSE_LOCAL=0,
# which uses the released images of docker/docker-compose.yml), starts the stack, waits until it is healthy and
# prints the URLs. Stop it with docker/down.sh (data stays in the volumes).
#
#   docker/up.sh [--observability]   --observability adds the otel-collector, Prometheus, Grafana, Loki and Jaeger
#
# Env: CLEANCRM_PROJECT (compose project, default cleancrm), CLEANCRM_ENV_FILE (default docker/.env),
# CLEANCRM_COMPOSE_LOCAL (1 = images built here, the default), CLEANCRM_READY_TIMEOUT (seconds, default 300).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=docker/lib.sh
source "$here/lib.sh"

observability=0
for arg in "$@"; do
  case $arg in
    --observability) observability=1 ;;
    -h | --help)
      sed -n '2,12p' "$0"
      exit 0
      ;;
    *)
      echo "unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

export CLEANCRM_ENV_FILE=${CLEANCRM_ENV_FILE:-$here/.env}
docker_install_tools
docker_start_daemon
cleancrm_write_env "$CLEANCRM_ENV_FILE"
if [[ ${CLEANCRM_COMPOSE_LOCAL:-1} != 0 ]]; then
  "$here/build-images.sh"
fi

if [[ $observability == 1 ]]; then
  export COMPOSE_PROFILES=observability CLEANCRM_OTLP_ENDPOINT=http://otel-collector:4317
fi

started=$SECONDS
cleancrm_compose up -d --remove-orphans
cleancrm_wait_healthy "${CLEANCRM_READY_TIMEOUT:-300}" postgres-1 postgres-2 pgbouncer-1 pgbouncer-2 migrate \
  api-1 api-2 worker-1 worker-2 console nginx setup
ready=$((SECONDS - started))

env_value() { sed -n "s/^$1=//p" "$CLEANCRM_ENV_FILE" | tail -n 1; }
public_url=$(env_value CLEANCRM_PUBLIC_URL)
console_url=$(env_value CLEANCRM_CONSOLE_URL)
cat <<INFO

CleanCrm is up (ready ${ready} s after \`up\`; project ${CLEANCRM_PROJECT:-cleancrm}). docker/down.sh stops it.
  API (nginx, 2 instances)  ${public_url:-http://cleancrm.localhost:8088}   (also http://127.0.0.1:${CLEANCRM_HTTP_PORT:-8088})
  Swagger UI                ${public_url:-http://cleancrm.localhost:8088}/swagger
  Console                   ${console_url:-http://cleancrm.localhost:8089}   (platform admins)
  Console admin             $(env_value CLEANCRM_ADMIN_EMAIL), password CLEANCRM_ADMIN_PASSWORD in $CLEANCRM_ENV_FILE
  Mail catcher              http://127.0.0.1:${CLEANCRM_MAIL_UI_PORT:-8025}
INFO
if [[ $observability == 1 ]]; then
  cat <<INFO
  Grafana                   http://127.0.0.1:${CLEANCRM_GRAFANA_PORT:-3000}   (admin, CLEANCRM_GRAFANA_PASSWORD in $CLEANCRM_ENV_FILE)
  Prometheus                http://127.0.0.1:${CLEANCRM_PROMETHEUS_PORT:-9090}
  Jaeger                    http://127.0.0.1:${CLEANCRM_JAEGER_PORT:-16686}
INFO
fi
echo "  Logs                      docker-compose -p ${CLEANCRM_PROJECT:-cleancrm} -f docker/docker-compose.yml logs -f api-1"
