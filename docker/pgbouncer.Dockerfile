# PgBouncer in front of a tenant database server (docker/docker-compose.yml; docs/DEPLOYMENT.md, "Sizing"). Debian's
# pgbouncer on Debian slim (BASE_IMAGE; the local base on machines without a registry). Configured entirely from the
# environment by docker/pgbouncer/entrypoint.sh; no secrets in the image.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends pgbouncer \
    && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
COPY docker/pgbouncer/entrypoint.sh /usr/local/bin/pgbouncer-entrypoint.sh
USER postgres
EXPOSE 6432
ENTRYPOINT ["pgbouncer-entrypoint.sh"]
