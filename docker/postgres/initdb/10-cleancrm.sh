#!/usr/bin/env bash
# First start of a tenant database server (docker/docker-compose.yml mounts this into /docker-entrypoint-initdb.d of
# the official and the local postgres image). Creates the tenant template database up front so it can carry one
# setting: idle sessions on it end after 2 s. Admin work reaches the server through PgBouncer (one host/port per
# server, docs/MULTI_TENANCY.md "Running behind PgBouncer"), which keeps closed client sessions as idle server
# connections; `CREATE DATABASE ... TEMPLATE` refuses while any session is connected to the template (the
# provisioner retries for about 4.5 s). PgBouncer checks pooled connections before reuse, so a session ended here
# never reaches a client. The migrator migrates an existing template as usual; clones do not inherit the setting.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<'SQL'
CREATE DATABASE cleancrm_tenant_template;
ALTER DATABASE cleancrm_tenant_template SET idle_session_timeout = '2s';
SQL
