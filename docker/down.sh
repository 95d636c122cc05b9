#!/usr/bin/env bash
# Stops the CleanCrm compose stack (docker/up.sh) and removes its containers and network. The volumes (databases,
# backups, monitoring data) stay unless --volumes is given; images and dockerd stay.
#
#   docker/down.sh [--volumes]
#
# Env: CLEANCRM_PROJECT (default cleancrm), CLEANCRM_ENV_FILE (default docker/.env), CLEANCRM_COMPOSE_LOCAL.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=docker/lib.sh
source "$here/lib.sh"

args=(down --remove-orphans)
case ${1:-} in
  --volumes) args+=(--volumes) ;;
  "") ;;
  *)
    echo "usage: docker/down.sh [--volumes]" >&2
    exit 2
    ;;
esac
export CLEANCRM_ENV_FILE=${CLEANCRM_ENV_FILE:-$here/.env}
# Every profile, so the observability services go too.
COMPOSE_PROFILES=observability cleancrm_compose "${args[@]}"
