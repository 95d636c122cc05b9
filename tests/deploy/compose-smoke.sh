#!/usr/bin/env bash
# Compose smoke test (run by scripts/test.sh; skipped there with CLEANCRM_SKIP_COMPOSE=1): installs docker when
# missing, starts dockerd when none runs, builds the local base once (cached by content hash) and the images
# (docker/build-images.sh), brings the stack of docker/docker-compose.yml + docker-compose.local.yml up under its own
# project name with freshly generated secrets, and runs tests/deploy/compose_smoke.py against nginx on 127.0.0.1
# (signup -> active -> token -> CRUD, placement on both servers, an API instance and a worker killed under load, a
# backup, down/up keeping data and backups, the CSV import body limit). Then it tears everything down: containers,
# networks, volumes, the images it built (not the cached base) and the dockerd it started.
#
# Writes `passed=N failed=N skipped=0` to $CLEANCRM_COUNTS_FILE (one count per check). Prints the cold start (up ->
# every service healthy) and the image sizes.
# Env: CLEANCRM_SMOKE_PROJECT (default cleancrm-smoke), CLEANCRM_SMOKE_KEEP=1 leaves the stack running (debugging),
# CLEANCRM_READY_TIMEOUT (seconds, default 300). The stack publishes 127.0.0.1:8088/8089/8025: stop a running
# docker/up.sh stack first (docker/down.sh); both use the same fixed subnet.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=docker/lib.sh
source "$repo/docker/lib.sh"
started=$SECONDS

work=$(mktemp -d /tmp/cleancrm-compose-smoke.XXXXXX)
export CLEANCRM_PROJECT=${CLEANCRM_SMOKE_PROJECT:-cleancrm-smoke}
export CLEANCRM_ENV_FILE=$work/.env
export CLEANCRM_COMPOSE_LOCAL=1
built_images=()

# shellcheck disable=SC2317 # invoked by the EXIT trap
teardown() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ ${CLEANCRM_SMOKE_KEEP:-0} == 1 ]]; then
    echo "CLEANCRM_SMOKE_KEEP=1: the stack keeps running (project $CLEANCRM_PROJECT, env $CLEANCRM_ENV_FILE)" >&2
    exit "$rc"
  fi
  echo "Tearing down (containers, networks, volumes, images, dockerd)..." >&2
  if docker_cli >/dev/null && "$(docker_cli)" info >/dev/null 2>&1; then
    COMPOSE_PROFILES=observability cleancrm_compose down --volumes --remove-orphans --timeout 20 >/dev/null 2>&1 || true
    if ((${#built_images[@]} > 0)); then
      "$(docker_cli)" image rm "${built_images[@]}" >/dev/null 2>&1 || true
    fi
  fi
  docker_stop_daemon
  rm -rf "$work"
  echo "compose smoke: $((SECONDS - started)) s in all" >&2
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for port in 8088 8089 8025; do
  if (: </dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "127.0.0.1:$port is in use (a docker/up.sh stack? docker/down.sh stops it)" >&2
    exit 1
  fi
done

docker_install_tools
docker_start_daemon
cleancrm_write_env "$CLEANCRM_ENV_FILE"

build_started=$SECONDS
"$repo/docker/build-images.sh"
echo "images ready in $((SECONDS - build_started)) s" >&2
for name in api worker console postgres pgbouncer nginx mailcatcher; do
  built_images+=("cleancrm/$name:local")
done

echo "Image sizes:"
"$(docker_cli)" image ls --format '  {{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'cleancrm/|local/cleancrm-base' | sort

SMOKE_REPO=$repo SMOKE_READY_TIMEOUT=${CLEANCRM_READY_TIMEOUT:-300} python3 "$repo/tests/deploy/compose_smoke.py"
