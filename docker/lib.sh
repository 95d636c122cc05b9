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

# docker-compose for the CleanCrm stack: project CLEANCRM_PROJECT (default cleancrm), env file CLEANCRM_ENV_FILE
# (default docker/.env), docker/docker-compose.yml plus docker/docker-compose.local.yml unless CLEANCRM_COMPOSE_LOCAL=0.
cleancrm_compose() {
  local dir
  dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  local files=(-f "$dir/docker-compose.yml")
  if [[ ${CLEANCRM_COMPOSE_LOCAL:-1} != 0 ]]; then
    files+=(-f "$dir/docker-compose.local.yml")
  fi
  docker-compose -p "${CLEANCRM_PROJECT:-cleancrm}" --env-file "${CLEANCRM_ENV_FILE:-$dir/.env}" "${files[@]}" "$@"
}

# The container id of a compose service (first replica), empty when it has none.
cleancrm_container() {
  cleancrm_compose ps -q "$1" 2>/dev/null | head -n 1
}

# Waits until every named service's container is healthy (or, for one-shots, exited 0); fails on an exit != 0, an
# unhealthy container or the deadline (seconds).
cleancrm_wait_healthy() {
  local deadline=$((SECONDS + $1))
  shift
  local cli service id state pending
  cli=$(docker_cli)
  while :; do
    pending=()
    for service in "$@"; do
      id=$(cleancrm_container "$service")
      if [[ -z $id ]]; then
        pending+=("$service:missing")
        continue
      fi
      state=$("$cli" inspect -f '{{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id")
      case $state in
        "running "*" healthy" | "exited 0 "*) ;;
        "exited "*)
          echo "$service exited: $state" >&2
          "$cli" logs --tail 40 "$id" >&2 || true
          return 1
          ;;
        *" unhealthy")
          echo "$service is unhealthy" >&2
          "$cli" logs --tail 40 "$id" >&2 || true
          return 1
          ;;
        *) pending+=("$service:${state// /,}") ;;
      esac
    done
    if ((${#pending[@]} == 0)); then
      return 0
    fi
    if ((SECONDS > deadline)); then
      echo "not ready in time: ${pending[*]}" >&2
      return 1
    fi
    sleep 1
  done
}

# Writes a new env file with random secrets (passwords, console client secret, token signing and encryption keys)
# unless it exists. PEM keys are stored on one line (whitespace for newlines), which .NET's PEM reader accepts.
cleancrm_write_env() {
  local file=$1
  if [[ -s $file ]]; then
    return 0
  fi
  random() { head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | cut -c1-32; }
  key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null | tr '\n' ' '; }
  (
    umask 077
    cat >"$file" <<ENV
# Generated by docker/up.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ). Secrets of the compose stack: keep this file private
# (git-ignored) and back it up; losing CLEANCRM_ENCRYPTION_KEY invalidates refresh tokens, losing the passwords locks
# you out of the databases' admin roles. docs/DEPLOYMENT.md, "One host with Docker Compose".
CLEANCRM_PG1_PASSWORD=$(random)
CLEANCRM_PG2_PASSWORD=$(random)
CLEANCRM_ADMIN_EMAIL=admin@cleancrm.local
CLEANCRM_ADMIN_PASSWORD=$(random)
CLEANCRM_CONSOLE_CLIENT_SECRET=$(random)
CLEANCRM_GRAFANA_PASSWORD=$(random)
CLEANCRM_SIGNING_KEY=$(key)
CLEANCRM_ENCRYPTION_KEY=$(key)
CLEANCRM_PUBLIC_HOST=cleancrm.localhost
CLEANCRM_PUBLIC_URL=http://cleancrm.localhost:8088
CLEANCRM_CONSOLE_URL=http://cleancrm.localhost:8089
ENV
  )
}
