#!/usr/bin/env bash
# Throwaway local PostgreSQL clusters for tests and local runs.
#
#   scripts/pg.sh start <name> <port>   init (once) and start $PG_ROOT/<name>
#   scripts/pg.sh stop <name>           stop it (fast mode)
#   scripts/pg.sh env <name>            print export lines for its admin connection
#
# Other scripts source this file and call the pg_* functions. When CLEANCRM_PG
# (an Npgsql connection string to a server with a superuser) is set, no local
# cluster is used: start/stop do nothing and env describes that server.
#
# Settings: CLEANCRM_PG_ROOT (where clusters live; default .local/pg in the clone,
# or, when we are root and the postgres OS user cannot reach the clone — a clone
# under /root or in a `mktemp -d` folder — /var/lib/postgresql/cleancrm/<clone id>),
# PG_MAX_CONNECTIONS (200), PG_SHARED_BUFFERS (256MB).
set -euo pipefail

PG_REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_OS_USER=postgres
# Set by pg_start: 1 when this call started the server, 0 when it was already up.
# shellcheck disable=SC2034
PG_STARTED=0

pg_log() { printf 'pg.sh: %s\n' "$*" >&2; }
# Exits rather than returns, so a failure is not lost when a caller uses a pg_* function in a condition.
pg_die() {
  pg_log "error: $*"
  exit 1
}

pg_check_name() {
  [[ ${1:-} =~ ^[A-Za-z0-9_-]+$ ]] || pg_die "invalid cluster name '${1:-}'"
}

pg_is_root() { [[ $(id -u) -eq 0 ]]; }

pg_sudo() {
  if pg_is_root; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    pg_die "need root to run: $*"
  fi
}

# Runs a command as the OS user that owns the cluster: the server refuses to run as root. It starts in /, since
# that user may not be allowed into the current directory.
pg_as_owner() {
  if ! pg_is_root; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    local cmd
    printf -v cmd '%q ' "$@"
    (cd / && su -s /bin/sh "$PG_OS_USER" -c "$cmd")
  fi
}

# Highest installed server version, or the one a cluster was created with.
# /usr/local/bin may hold wrappers or links; the versioned directories are authoritative.
pg_find_bin() {
  local wanted=${1:-} best="" d
  if [[ -n $wanted ]]; then
    [[ -x /usr/lib/postgresql/$wanted/bin/pg_ctl ]] ||
      pg_die "cluster was created with PostgreSQL $wanted, which is not installed"
    printf '%s\n' "/usr/lib/postgresql/$wanted/bin"
    return 0
  fi
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x $d/initdb && -x $d/pg_ctl ]] || continue
    if [[ -z $best || $(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n 1) == "$d" ]]; then
      best=$d
    fi
  done
  [[ -n $best ]] || return 1
  printf '%s\n' "$best"
}

# True when the postgres OS user can enter every directory down to $1 (it runs the server when we are root).
pg_owner_can_reach() {
  ! pg_is_root || ! id -u "$PG_OS_USER" >/dev/null 2>&1 || runuser -u "$PG_OS_USER" -- test -x "$1"
}

# Where the clusters live: the clone's .local/pg unless the server's OS user cannot get there; then a folder under
# the postgres user's home, one per clone (named by a hash of its path), so several clones never share clusters.
pg_choose_root() {
  if [[ -n ${CLEANCRM_PG_ROOT:-} ]]; then
    PG_ROOT=$CLEANCRM_PG_ROOT
    return 0
  fi
  PG_ROOT="$PG_REPO_ROOT/.local/pg"
  mkdir -p "$PG_REPO_ROOT/.local"
  chmod 755 "$PG_REPO_ROOT/.local"
  if ! pg_owner_can_reach "$PG_REPO_ROOT/.local"; then
    local id
    id=$(printf '%s' "$PG_REPO_ROOT" | sha256sum | cut -c1-12)
    PG_ROOT="/var/lib/postgresql/cleancrm/$(basename "$PG_REPO_ROOT")-$id"
  fi
}

pg_ensure_installed() {
  pg_find_bin >/dev/null && return 0
  pg_log "PostgreSQL server binaries not found; installing the postgresql package"
  pg_sudo env DEBIAN_FRONTEND=noninteractive apt-get update
  pg_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
  pg_find_bin >/dev/null || pg_die "PostgreSQL server binaries still missing after install"
}

pg_ensure_os_user() {
  pg_is_root || return 0
  id -u "$PG_OS_USER" >/dev/null 2>&1 && return 0
  pg_log "creating OS user $PG_OS_USER"
  useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash "$PG_OS_USER"
}

pg_new_password() {
  if command -v openssl >/dev/null 2>&1; then
    openssl rand -hex 24
  else
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'
  fi
}

# Prints the pid of the postmaster of a cluster if it is alive; removes a stale pid file.
pg_running_pid() {
  local dir=$1 pidfile="$1/postmaster.pid" pid
  [[ -f $pidfile ]] || return 1
  pid=$(head -n 1 "$pidfile")
  # A pid can be reused by an unrelated process after a crash or a killed run.
  if [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/cmdline ]] &&
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -Fq -- "-D $dir "; then
    printf '%s\n' "$pid"
    return 0
  fi
  pg_log "removing stale $pidfile (pid $pid is not this cluster's server)"
  rm -f "$pidfile"
  return 1
}

pg_running_port() { sed -n 4p "$1/postmaster.pid"; }

pg_init() {
  local name=$1 dir="$PG_ROOT/$1" pwfile="$PG_ROOT/$1.password" bin tmp
  bin=$(pg_find_bin)
  # Left by an interrupted initdb, or its password file is gone: either way the
  # cluster is unusable, and it only ever held throwaway data.
  if [[ -d $dir ]]; then
    pg_log "removing incomplete cluster directory $dir"
    rm -rf -- "$dir"
  fi
  (umask 077 && pg_new_password >"$pwfile")
  chmod 600 "$pwfile"
  mkdir -p "$dir"
  chmod 700 "$dir"
  tmp="$PG_ROOT/.$name.initpw"
  (umask 077 && cat "$pwfile" >"$tmp")
  if pg_is_root; then
    chown "$PG_OS_USER:" "$dir" "$tmp"
  fi
  pg_log "initializing cluster $name with $bin/initdb"
  if ! pg_as_owner "$bin/initdb" -D "$dir" -U postgres --auth=scram-sha-256 \
    --pwfile="$tmp" --encoding=UTF8 --locale=C >"$PG_ROOT/$name.initdb.log" 2>&1 {lock_fd}>&-; then
    rm -f "$tmp"
    cat "$PG_ROOT/$name.initdb.log" >&2
    pg_die "initdb failed for $name"
  fi
  rm -f "$tmp"
  printf "\ninclude_if_exists = 'cleancrm.conf'\n" | pg_as_owner tee -a "$dir/postgresql.conf" >/dev/null
}

pg_write_conf() {
  local dir=$1 port=$2
  # fsync, synchronous_commit and full_page_writes are off because these clusters
  # hold only throwaway test and dev data: a crash may lose it, and that is fine.
  pg_as_owner tee "$dir/cleancrm.conf" >/dev/null <<EOF
# Written by scripts/pg.sh on every start; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = ${PG_MAX_CONNECTIONS:-200}
shared_buffers = ${PG_SHARED_BUFFERS:-256MB}
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

# shellcheck disable=SC2034 # PG_STARTED is read by the scripts that source this file
pg_start() {
  local name=${1:-} port=${2:-} dir bin lock_fd pid running_port
  PG_STARTED=0
  pg_check_name "$name"
  [[ $port =~ ^[0-9]+$ ]] || pg_die "usage: pg.sh start <name> <port>"
  if [[ -n ${CLEANCRM_PG:-} ]]; then
    pg_log "CLEANCRM_PG is set; using that server instead of a local cluster '$name'"
    return 0
  fi
  pg_ensure_installed
  pg_ensure_os_user
  # Chosen again now that the postgres OS user surely exists.
  pg_choose_root
  mkdir -p "$PG_ROOT"
  # The server runs as postgres when we are root, so it must be able to reach its directory.
  chmod 755 "$PG_ROOT"
  if ! pg_owner_can_reach "$PG_ROOT"; then
    pg_die "OS user $PG_OS_USER cannot traverse $PG_ROOT; set CLEANCRM_PG_ROOT to a directory it can reach"
  fi
  [[ $PG_ROOT == "$PG_REPO_ROOT/.local/pg" ]] || pg_log "clusters live in $PG_ROOT (OS user $PG_OS_USER cannot reach the clone)"
  dir="$PG_ROOT/$name"

  exec {lock_fd}>"$PG_ROOT/$name.lock"
  flock "$lock_fd"

  if pid=$(pg_running_pid "$dir"); then
    running_port=$(pg_running_port "$dir")
    exec {lock_fd}>&-
    if [[ $running_port == "$port" ]]; then
      pg_log "cluster $name already running (pid $pid, port $port)"
      return 0
    fi
    pg_die "cluster $name is already running on port $running_port, not $port; stop it first"
  fi

  # Not running: socket lock files left by a killed server would block the start, and the
  # socket directory belongs to this cluster alone.
  rm -f -- "$dir"/.s.PGSQL.*
  if [[ ! -f $dir/PG_VERSION || ! -f $PG_ROOT/$name.password ]]; then
    pg_init "$name"
  fi
  bin=$(pg_find_bin "$(cat "$dir/PG_VERSION")")
  if pg_is_root; then
    chown -R "$PG_OS_USER:" "$dir"
  fi
  pg_write_conf "$dir" "$port"
  pg_log "starting cluster $name on 127.0.0.1:$port"
  # The lock fd is closed for pg_ctl: the server would otherwise inherit it and hold the lock forever.
  if ! pg_as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null {lock_fd}>&-; then
    exec {lock_fd}>&-
    tail -n 30 "$dir/server.log" >&2 || true
    pg_die "cluster $name failed to start (log: $dir/server.log)"
  fi
  exec {lock_fd}>&-
  PG_STARTED=1
}

pg_stop() {
  local name=${1:-} dir bin
  pg_check_name "$name"
  [[ -z ${CLEANCRM_PG:-} ]] || return 0
  dir="$PG_ROOT/$name"
  if ! pg_running_pid "$dir" >/dev/null; then
    pg_log "cluster $name is not running"
    return 0
  fi
  bin=$(pg_find_bin "$(cat "$dir/PG_VERSION")")
  pg_log "stopping cluster $name"
  pg_as_owner "$bin/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null
}

# Value of the first of the given keys in a simple Npgsql connection string
# (keys case-insensitive, no quoted values containing ';').
pg_conn_field() {
  local conn=$1 part key want
  shift
  local -a parts
  IFS=';' read -r -a parts <<<"$conn"
  for want in "$@"; do
    for part in "${parts[@]}"; do
      key=${part%%=*}
      key=$(printf '%s' "$key" | tr -d ' ' | tr '[:upper:]' '[:lower:]')
      if [[ $key == "$want" ]]; then
        printf '%s\n' "${part#*=}"
        return 0
      fi
    done
  done
  return 1
}

pg_port() {
  local name=$1 conf="$PG_ROOT/$1/cleancrm.conf"
  [[ -f $conf ]] || pg_die "cluster $name has never been started"
  sed -n 's/^port = \([0-9]*\)$/\1/p' "$conf"
}

pg_password() { cat "$PG_ROOT/$1.password"; }

# Admin connection string of the cluster (or CLEANCRM_PG when set).
pg_conn_string() {
  local name=${1:-}
  pg_check_name "$name"
  if [[ -n ${CLEANCRM_PG:-} ]]; then
    printf '%s\n' "$CLEANCRM_PG"
    return 0
  fi
  printf 'Host=127.0.0.1;Port=%s;Username=postgres;Password=%s\n' "$(pg_port "$name")" "$(pg_password "$name")"
}

pg_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

pg_env() {
  local conn host port user password database
  conn=$(pg_conn_string "${1:-}")
  host=$(pg_conn_field "$conn" host server) || host=127.0.0.1
  port=$(pg_conn_field "$conn" port) || port=5432
  user=$(pg_conn_field "$conn" username 'userid' user) || user=postgres
  password=$(pg_conn_field "$conn" password) || password=
  database=$(pg_conn_field "$conn" database db) || database=postgres
  printf 'export CLEANCRM_PG_ADMIN=%s\n' "$(pg_quote "$conn")"
  printf 'export PGHOST=%s\n' "$(pg_quote "$host")"
  printf 'export PGPORT=%s\n' "$(pg_quote "$port")"
  printf 'export PGUSER=%s\n' "$(pg_quote "$user")"
  printf 'export PGPASSWORD=%s\n' "$(pg_quote "$password")"
  printf 'export PGDATABASE=%s\n' "$(pg_quote "$database")"
}

pg_main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
    start)
      [[ $# -eq 2 ]] || pg_die "usage: pg.sh start <name> <port>"
      pg_start "$@"
      ;;
    stop)
      [[ $# -eq 1 ]] || pg_die "usage: pg.sh stop <name>"
      pg_stop "$@"
      ;;
    env)
      [[ $# -eq 1 ]] || pg_die "usage: pg.sh env <name>"
      pg_env "$@"
      ;;
    *)
      pg_die "usage: pg.sh start <name> <port> | stop <name> | env <name>"
      ;;
  esac
}

pg_choose_root

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  pg_main "$@"
fi
