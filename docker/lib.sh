#!/usr/bin/env bash
# Helpers shared by the docker/ scripts and tests/deploy/compose-smoke.sh (sourced, not run):
#   docker_install_tools  installs docker.io, docker-compose and debootstrap with apt-get when one is missing
#   docker_start_daemon   starts dockerd in the background when no daemon answers; sets DOCKERD_STARTED=1 and
#                         DOCKERD_PID when it started one (stop it with docker_stop_daemon)
#   docker_stop_daemon    stops the dockerd that docker_start_daemon started (by its pid), nothing else
#   docker_cli            the Docker CLI to build with: /usr/bin/docker (20.10, built-in BuildKit) when present
# Env: DOCKERD_LOG (default /tmp/cleancrm-dockerd.log).
set -euo pipefail

DOCKERD_STARTED=0
DOCKERD_PID=

docker_install_tools() {
  local missing=()
  command -v docker >/dev/null || missing+=(docker.io)
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if ((${#missing[@]} > 0)); then
    echo "Installing ${missing[*]} with apt-get..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" xz-utils ca-certificates >/dev/null
  fi
}

# BuildKit skips build stages the target does not need (the official-image stages of the Dockerfiles); the static
# CLI 28 that may sit in /usr/local/bin needs buildx for that, which does not exist here, so prefer the 20.10 CLI.
docker_cli() {
  if [[ -x /usr/bin/docker ]]; then
    echo /usr/bin/docker
  else
    command -v docker
  fi
}

docker_start_daemon() {
  local cli
  cli=$(docker_cli)
  if "$cli" info >/dev/null 2>&1; then
    return 0
  fi
  echo "Starting dockerd..." >&2
  setsid nohup dockerd >"${DOCKERD_LOG:-/tmp/cleancrm-dockerd.log}" 2>&1 </dev/null &
  DOCKERD_PID=$!
  DOCKERD_STARTED=1
  local deadline=$((SECONDS + 60))
  until "$cli" info >/dev/null 2>&1; do
    if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
      echo "dockerd exited; see ${DOCKERD_LOG:-/tmp/cleancrm-dockerd.log}" >&2
      return 1
    fi
    if ((SECONDS > deadline)); then
      echo "dockerd did not answer within 60 s" >&2
      return 1
    fi
    sleep 0.2
  done
}

docker_stop_daemon() {
  if [[ $DOCKERD_STARTED != 1 || -z $DOCKERD_PID ]]; then
    return 0
  fi
  kill "$DOCKERD_PID" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$DOCKERD_PID" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  DOCKERD_STARTED=0
}
