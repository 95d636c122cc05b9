#!/usr/bin/env bash
# Builds the images of the LOCAL compose stack (docker/docker-compose.local.yml) on a machine that cannot pull from
# an image registry: the local base (docker/build-local-base.sh, cached by content hash), the three .NET apps
# published self-contained on the host (skipped while nothing under src/, provisioning/ or the build props changed),
# then, with BuildKit (/usr/bin/docker 20.10), the same Dockerfiles CI uses with APP_SOURCE=prebuilt and the local base:
#   cleancrm/api:local cleancrm/worker:local cleancrm/console:local
#   cleancrm/postgres:local cleancrm/pgbouncer:local cleancrm/nginx:local cleancrm/mailcatcher:local
# Compose never builds (compose v1 would use the legacy builder, which builds every stage and pulls the SDK image).
#
# Env: CLEANCRM_IMAGE_TAG (default local), CLEANCRM_FORCE_PUBLISH=1 publishes even when up to date.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=docker/lib.sh
source "$here/lib.sh"
cd "$repo"

tag=${CLEANCRM_IMAGE_TAG:-local}
base=$("$here/build-local-base.sh" | tail -n 1)
cli=$(docker_cli)
export DOCKER_BUILDKIT=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

publish() {
  local name=$1 project=$2 out="$repo/artifacts/docker/$1"
  local stamp="$out/.published"
  if [[ ${CLEANCRM_FORCE_PUBLISH:-0} != 1 && -f $stamp ]] &&
    [[ -z $(find src provisioning Directory.Build.props Directory.Packages.props global.json -newer "$stamp" \
      -not -path '*/bin/*' -not -path '*/obj/*' -print -quit) ]]; then
    echo "$name: published app is up to date" >&2
    return 0
  fi
  echo "$name: dotnet publish (self-contained, linux-x64)..." >&2
  rm -rf "$out"
  # A separate artifacts path keeps this RID-specific restore out of the projects' obj/ folders.
  dotnet publish "$project" -c Release -r linux-x64 --self-contained --artifacts-path "$repo/artifacts/docker-obj" \
    -o "$out" -p:DebugType=None -p:DebugSymbols=false -warnaserror >/dev/null
  touch "$stamp"
}

build() {
  local name=$1 dockerfile=$2
  shift 2
  echo "$name: docker build ($dockerfile)..." >&2
  "$cli" build --quiet -f "$dockerfile" "$@" -t "cleancrm/$name:$tag" . >/dev/null
}

publish api src/CleanCrm.Api/CleanCrm.Api.csproj
publish worker provisioning/CleanCrm.Provisioning.Worker/CleanCrm.Provisioning.Worker.csproj
publish console provisioning/CleanCrm.Console/CleanCrm.Console.csproj

app_args=(--build-arg APP_SOURCE=prebuilt --build-arg "RUNTIME_IMAGE=$base")
build api docker/api.Dockerfile "${app_args[@]}"
build worker docker/worker.Dockerfile "${app_args[@]}" --build-arg PG_CLIENT_PACKAGE=postgresql-client-15
build console docker/console.Dockerfile "${app_args[@]}"
build postgres docker/postgres.Dockerfile --build-arg "BASE_IMAGE=$base" --build-arg PG_MAJOR=15
build pgbouncer docker/pgbouncer.Dockerfile --build-arg "BASE_IMAGE=$base"
build nginx docker/nginx.Dockerfile --build-arg "BASE_IMAGE=$base"
build mailcatcher docker/mailcatcher.Dockerfile --build-arg "BASE_IMAGE=$base"

"$cli" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^(cleancrm/|local/cleancrm-base)" >&2
