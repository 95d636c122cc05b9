#!/usr/bin/env bash
# Entrypoint of docker/postgres.Dockerfile (the local PostgreSQL image): on the first start (empty PGDATA) creates the
# cluster with POSTGRES_USER (default postgres) as superuser and POSTGRES_PASSWORD, SCRAM authentication from any
# address, then runs /docker-entrypoint-initdb.d/*.sh and *.sql; then execs the command (`postgres -c ...`).
set -euo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
user=${POSTGRES_USER:-postgres}

if [[ ! -s $PGDATA/PG_VERSION ]]; then
  if [[ -z ${POSTGRES_PASSWORD:-} ]]; then
    echo "POSTGRES_PASSWORD is required to initialise the cluster" >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 \
    --locale=C.UTF-8 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  # Init scripts run against a server on the Unix socket only.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  export PGUSER=$user PGHOST=/var/run/postgresql
  if [[ ${POSTGRES_DB:-$user} != postgres ]]; then
    psql -v ON_ERROR_STOP=1 -d postgres -q -c "CREATE DATABASE \"${POSTGRES_DB:-$user}\""
  fi
  for script in /docker-entrypoint-initdb.d/*; do
    case $script in
      *.sh) echo "running $script"; bash "$script" ;;
      *.sql) echo "running $script"; psql -v ON_ERROR_STOP=1 -d postgres -f "$script" ;;
      *) ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi

exec "$@"
