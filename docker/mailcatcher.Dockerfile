# Mail catcher for the LOCAL compose stack only (docker/docker-compose.local.yml): docker/mailcatcher/mailcatcher.py
# on Python from Debian, for machines that cannot pull the rnwood/smtp4dev image that docker/docker-compose.yml uses.
# SMTP on 25, web UI on 80 (unprivileged ports start at 0 in Docker containers, so it runs as nobody).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-aiosmtpd \
    && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
COPY docker/mailcatcher/mailcatcher.py /opt/mailcatcher/mailcatcher.py
USER 65534:65534
EXPOSE 25 80
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1/health >/dev/null || exit 1
CMD ["python3", "/opt/mailcatcher/mailcatcher.py"]
