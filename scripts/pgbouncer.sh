#!/usr/bin/env bash
# A throwaway local PgBouncer in front of a local PostgreSQL server, configured like docker/pgbouncer (tenant roles in
# transaction mode, authenticated through auth_query as the server's admin role; the admin role in session mode).
# Sourced after scripts/pg.sh by scripts/test.sh (CLEANCRM_PGBOUNCER=1) and tests/load/scale-benchmark.sh.
#
#   pgbouncer_start <name> <listen port> <server port> <admin user> <admin password>
#   pgbouncer_stop <name>
#
# Settings: PGBOUNCER_DEFAULT_POOL_SIZE (5), PGBOUNCER_MAX_DB_CONNECTIONS (0 = unlimited), PGBOUNCER_MAX_CLIENT_CONN
# (2000), PGBOUNCER_AUTH_FILE_ROLES (a LIKE pattern: the SCRAM verifiers of matching roles are copied from pg_shadow
# into the auth file at start, so those logins need no auth_query, which PgBouncer 1.18 runs through one more server
# connection to each database). Installs Debian's pgbouncer when missing.
set -euo pipefail

pgbouncer_dir() { printf '%s\n' "$PG_ROOT/$1-pgbouncer"; }

pgbouncer_start() {
  local name=$1 port=$2 server_port=$3 user=$4 password=$5 dir
  if ! command -v pgbouncer >/dev/null 2>&1; then
    pg_log "installing pgbouncer"
    pg_sudo apt-get install -y pgbouncer >/dev/null
  fi
  dir=$(pgbouncer_dir "$name")
  pgbouncer_stop "$name"
  mkdir -p "$dir"
  (
    umask 077
    printf '"%s" "%s"\n' "$user" "${password//\"/\"\"}" >"$dir/userlist.txt"
    if [[ -n ${PGBOUNCER_AUTH_FILE_ROLES:-} ]]; then
      # Through stdin: psql interpolates :'pattern' there, not in -c.
      PGPASSWORD=$password psql -XAt -h 127.0.0.1 -p "$server_port" -U "$user" -d postgres -v pattern="$PGBOUNCER_AUTH_FILE_ROLES" \
        >>"$dir/userlist.txt" <<<"SELECT format('\"%s\" \"%s\"', usename, passwd) FROM pg_shadow
          WHERE usename LIKE :'pattern' AND passwd IS NOT NULL"
    fi
  )
  cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$server_port

[users]
$user = pool_mode=session

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
auth_user = $user
auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename = \$1
pool_mode = transaction
default_pool_size = ${PGBOUNCER_DEFAULT_POOL_SIZE:-5}
max_db_connections = ${PGBOUNCER_MAX_DB_CONNECTIONS:-0}
max_client_conn = ${PGBOUNCER_MAX_CLIENT_CONN:-2000}
server_idle_timeout = 60
server_check_delay = 0
server_check_query = select 1
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
log_connections = 0
log_disconnections = 0
INI
  if pg_is_root; then
    chown -R "$PG_OS_USER:" "$dir"
  fi
  pg_log "starting pgbouncer $name on 127.0.0.1:$port (server port $server_port)"
  # PgBouncer refuses to run as root, like the server.
  pg_as_owner pgbouncer -d "$dir/pgbouncer.ini" >/dev/null
  local deadline=$((SECONDS + 20))
  until PGPASSWORD=$password psql -XAtq -h 127.0.0.1 -p "$port" -U "$user" -d postgres -c 'SELECT 1' >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { tail -n 20 "$dir/pgbouncer.log" >&2 || true; pg_die "pgbouncer $name did not answer on $port"; }
    sleep 0.2
  done
}

pgbouncer_stop() {
  local dir pid
  dir=$(pgbouncer_dir "$1")
  [[ -s $dir/pgbouncer.pid ]] || return 0
  pid=$(cat "$dir/pgbouncer.pid")
  if kill -0 "$pid" 2>/dev/null; then
    # TERM is PgBouncer's immediate shutdown; INT would wait for its clients to leave.
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$dir/pgbouncer.pid"
}
