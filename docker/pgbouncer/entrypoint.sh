#!/usr/bin/env bash
# Entrypoint of docker/pgbouncer.Dockerfile: writes pgbouncer.ini and the auth file under /tmp from the environment
# and runs PgBouncer in the foreground on port 6432.
#   PGBOUNCER_SERVER_HOST / _PORT   the PostgreSQL server behind it (every database, wildcard entry)
#   PGBOUNCER_ADMIN_USER / _PASSWORD  the server's admin role: auth_user for tenant roles (their SCRAM verifiers are
#                                   looked up in pg_shadow) and pooled in SESSION mode, because admin work (migrations,
#                                   pg_dump with an exported snapshot, CREATE DATABASE) needs session state
#   PGBOUNCER_DEFAULT_POOL_SIZE (5), PGBOUNCER_MAX_DB_CONNECTIONS (12), PGBOUNCER_MAX_CLIENT_CONN (2000)
# Tenant roles use TRANSACTION mode, which is what CleanCrm:Tenancy:PgBouncer=true expects.
set -euo pipefail

: "${PGBOUNCER_SERVER_HOST:?}" "${PGBOUNCER_ADMIN_USER:?}" "${PGBOUNCER_ADMIN_PASSWORD:?}"
dir=/tmp/pgbouncer
mkdir -p "$dir"
umask 077
printf '"%s" "%s"\n' "$PGBOUNCER_ADMIN_USER" "${PGBOUNCER_ADMIN_PASSWORD//\"/\"\"}" >"$dir/userlist.txt"
cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$PGBOUNCER_SERVER_HOST port=${PGBOUNCER_SERVER_PORT:-5432}

[users]
$PGBOUNCER_ADMIN_USER = pool_mode=session

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = 6432
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
auth_user = $PGBOUNCER_ADMIN_USER
auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename = \$1
pool_mode = transaction
default_pool_size = ${PGBOUNCER_DEFAULT_POOL_SIZE:-5}
reserve_pool_size = 2
max_db_connections = ${PGBOUNCER_MAX_DB_CONNECTIONS:-12}
max_client_conn = ${PGBOUNCER_MAX_CLIENT_CONN:-2000}
server_idle_timeout = 60
# Check a pooled server connection before handing it out again: the template database ends idle sessions after 2 s
# (docker/postgres/initdb/10-cleancrm.sh), and a connection PostgreSQL closed must not reach the next client.
server_check_delay = 0
server_check_query = select 1
server_lifetime = 3600
ignore_startup_parameters = extra_float_digits
logfile =
pidfile =
log_connections = 0
log_disconnections = 0
INI
exec pgbouncer "$dir/pgbouncer.ini"
