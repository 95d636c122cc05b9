# nginx for the LOCAL compose stack only (docker/docker-compose.local.yml), for machines that cannot pull the official
# nginx image that docker/docker-compose.yml uses: Debian's nginx on the local base (docker/build-local-base.sh).
# The configuration is not baked in; compose mounts docker/nginx/nginx.conf, as it does for the official image.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /etc/nginx/sites-enabled/* \
    && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 8088 8443
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
