#!/usr/bin/env bash
# Builds the local base image local/cleancrm-base:<hash> from Debian bookworm packages only (debootstrap), for
# machines that cannot pull from an image registry. The tag is a hash of this script's package list and user set-up,
# so the image is built once and reused until that changes (an existing tag is skipped). Installs docker.io,
# docker-compose and debootstrap with apt-get when missing and starts dockerd when no daemon answers (it keeps
# running; tests/deploy/compose-smoke.sh stops the daemon it started itself).
#
# Prints the tag on stdout (the last line). Env: CLEANCRM_DEBIAN_MIRROR (default http://deb.debian.org/debian).
# The Dockerfiles take it as RUNTIME_IMAGE (docker/build-images.sh passes it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=docker/lib.sh
source "$here/lib.sh"

mirror=${CLEANCRM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What a self-contained .NET app needs (TLS, ICU, Kerberos for Npgsql, zlib, CA roots, time zones) plus curl for
# health checks. Changing this list (or the set-up below) changes the tag.
packages=(libssl3 libicu72 libgssapi-krb5-2 zlib1g ca-certificates tzdata curl)
app_uid=1654 # the uid of the official .NET images' non-root `app` user, so volumes work with either base

hash=$(printf '%s\n' "${packages[@]}" "uid=$app_uid" "setup=2" | sha256sum | cut -c1-12)
tag=local/cleancrm-base:$hash

docker_install_tools
docker_start_daemon
cli=$(docker_cli)

if "$cli" image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag exists; nothing to build." >&2
  echo "$tag"
  exit 0
fi

rootfs=$(mktemp -d /tmp/cleancrm-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
started=$SECONDS
echo "Building $tag with debootstrap (about a minute)..." >&2
debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" bookworm "$rootfs" "$mirror" >&2
cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
SOURCES
chroot "$rootfs" groupadd --gid "$app_uid" app
chroot "$rootfs" useradd --uid "$app_uid" --gid "$app_uid" --home-dir /home/app --create-home --shell /usr/sbin/nologin app
# Keep the image small: package lists, caches and docs are not needed at run time.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
tar -C "$rootfs" -c . | "$cli" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$tag" >&2
echo "Built $tag in $((SECONDS - started)) s." >&2
echo "$tag"
