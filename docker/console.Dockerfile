# CleanCrm console image (the platform admin console). Build context: the repository root.
#
#   docker build -f docker/console.Dockerfile -t ghcr.io/<owner>/cleancrm-console:<version> .
#
# With no build args this is an ordinary multi-stage build from the official .NET images: the SDK stage publishes
# provisioning/CleanCrm.Console/CleanCrm.Console.csproj
# (framework-dependent), the runtime stage holds only the published app. That is what CI pushes.
#
# Machines that cannot pull images (docs/DEPLOYMENT.md, "Images") build the SAME file from a local base and an app
# published on the host, which docker/build-images.sh does:
#   dotnet publish provisioning/CleanCrm.Console/CleanCrm.Console.csproj \
#     -c Release -r linux-x64 --self-contained -o artifacts/docker/console
#   DOCKER_BUILDKIT=1 /usr/bin/docker build -f docker/console.Dockerfile \
#     --build-arg APP_SOURCE=prebuilt --build-arg RUNTIME_IMAGE=local/cleancrm-base:<hash> -t cleancrm/console:local .
# APP_SOURCE picks the stage the app comes from: `publish` (default, SDK_IMAGE) or `prebuilt` (artifacts/docker/console).
# This needs BuildKit, which builds only the stages the target uses: the legacy builder builds every stage and would
# try to pull SDK_IMAGE. Compose never builds: docker/docker-compose*.yml refer to image tags only.
#
# Run time: listens on 8080 (ASPNETCORE_HTTP_PORTS), runs as uid 1654 (the official images' `app` user), needs
# nothing writable but /tmp (mount a tmpfs there with a read-only root filesystem), carries no secrets: every setting
# comes from the environment (docker/docker-compose.yml, deploy/k8s).
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0
ARG APP_SOURCE=publish

FROM ${SDK_IMAGE} AS publish
WORKDIR /src
# Project files first, so the restore layer is reused while only sources change.
COPY global.json Directory.Build.props Directory.Packages.props CleanCrm.sln .editorconfig ./
COPY src/CleanCrm.Domain/*.csproj src/CleanCrm.Domain/
COPY src/CleanCrm.Application/*.csproj src/CleanCrm.Application/
COPY src/CleanCrm.Infrastructure/*.csproj src/CleanCrm.Infrastructure/
COPY src/CleanCrm.Api/*.csproj src/CleanCrm.Api/
COPY provisioning/CleanCrm.Provisioning.Worker/*.csproj provisioning/CleanCrm.Provisioning.Worker/
COPY provisioning/CleanCrm.Console/*.csproj provisioning/CleanCrm.Console/
RUN dotnet restore provisioning/CleanCrm.Console/CleanCrm.Console.csproj
COPY src/ src/
COPY provisioning/ provisioning/
RUN dotnet publish provisioning/CleanCrm.Console/CleanCrm.Console.csproj \
    -c Release --no-restore -o /app -p:DebugType=None -p:DebugSymbols=false

FROM scratch AS prebuilt
COPY artifacts/docker/console/ /app/

FROM ${APP_SOURCE} AS app

FROM ${RUNTIME_IMAGE} AS runtime
# curl answers the HEALTHCHECK; the official runtime images lack it (the local base has it already).
RUN if ! command -v curl >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /app
COPY --from=app --chown=0:0 /app /app
# DOTNET_ROOT lets the framework-dependent apphost find the official image's runtime; a self-contained app ignores it.
ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_ROOT=/usr/share/dotnet \
    DOTNET_NOLOGO=1 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    TMPDIR=/tmp \
    HOME=/tmp
EXPOSE 8080
USER 1654:1654
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/health/live >/dev/null || exit 1
ENTRYPOINT ["/app/CleanCrm.Console"]
