#!/usr/bin/env bash
# Throwaway local Redis servers (Debian's redis-server) for tests and benchmarks.
#
#   scripts/redis.sh start <name> <port>   start $REDIS_ROOT/<name> (in-memory only: no RDB, no AOF)
#   scripts/redis.sh stop <name>           stop it
#
# Other scripts source this file and call redis_start / redis_stop. redis-server is installed with apt-get when
# missing, like scripts/pg.sh does for PostgreSQL. Settings: CLEANCRM_REDIS_ROOT (default .local/redis in the clone).
set -euo pipefail

REDIS_REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REDIS_ROOT=${CLEANCRM_REDIS_ROOT:-$REDIS_REPO_ROOT/.local/redis}
# Set by redis_start: 1 when this call started the server, 0 when one was already answering on the port.
# shellcheck disable=SC2034
REDIS_STARTED=0

redis_log() { printf 'redis.sh: %s\n' "$*" >&2; }

redis_install() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return 0
  redis_log "installing Debian's redis-server"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server >/dev/null ||
    { redis_log "could not install redis-server"; return 1; }
}

redis_start() {
  local name=$1 port=$2 dir="$REDIS_ROOT/$1"
  [[ $name =~ ^[A-Za-z0-9_-]+$ ]] || { redis_log "invalid name '$name'"; return 1; }
  redis_install
  REDIS_STARTED=0
  if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
    return 0
  fi
  mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --protected-mode yes
  local deadline=$((SECONDS + 10))
  until redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; do
    ((SECONDS < deadline)) || { redis_log "redis $name did not answer on $port"; tail -n 20 "$dir/redis.log" >&2; return 1; }
    sleep 0.1
  done
  REDIS_STARTED=1
}

redis_stop() {
  local pidfile="$REDIS_ROOT/$1/redis.pid" pid
  [[ -s $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  case ${1:-} in
    start) redis_start "$2" "$3" ;;
    stop) redis_stop "$2" ;;
    *) echo "usage: $0 start <name> <port> | stop <name>" >&2; exit 2 ;;
  esac
fi
