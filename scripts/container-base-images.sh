#!/usr/bin/env bash
# Builds, on a machine that cannot reach a container registry, local stand-ins for the public base images the
# Dockerfile and docker-compose.yml name, tagged with their standard names, in podman's storage:
#
#   mcr.microsoft.com/dotnet/aspnet:10.0           Debian (debootstrap --variant=minbase) + libssl3 ca-certificates
#                                                  libicu72 tzdata + the installed .NET SDK's runtime folders
#   mcr.microsoft.com/dotnet/sdk:10.0              the same + the whole installed SDK
#   mcr.microsoft.com/azure-storage/azurite        Debian + nodejs + the azurite npm package (package.json's version)
#
#   bash scripts/container-base-images.sh          builds what is missing (images already in storage are kept)
#   bash scripts/container-base-images.sh --force  builds everything anew
#
# Uses the machine's configured Debian sources and npm configuration; downloads nothing else. Like the real images,
# aspnet and sdk have a non-root user "app" (uid 1654) and APP_UID=1654. On a machine that can reach the registry,
# skip this script: podman/docker pull the real images.
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
[ "${1:-}" = "--force" ] && force=1
cache=${GRANTSILO_CONTAINER_CACHE:-/var/cache/grantsilo-containers}
mkdir -p "$cache"
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
sdk_version=$(dotnet --version)
runtime_version=$(ls "$dotnet_root/shared/Microsoft.AspNetCore.App" | sort -V | tail -n 1)

have() { [ "$force" = 0 ] && podman image exists "$1"; }
log() { echo "[base-images $(date -u +%H:%M:%S)] $*"; }

# The first Debian mirror the machine's apt is configured with (deb822 .sources or one-line sources.list).
mirror() {
  local uri
  uri=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1 || true)
  if [ -z "$uri" ]; then
    uri=$(grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1 || true)
  fi
  [ -n "$uri" ] || { echo "No Debian mirror configured in /etc/apt (needed by debootstrap)." >&2; exit 1; }
  echo "$uri"
}

# 1. Debian root filesystem with the native libraries .NET needs: localhost/grantsilo-debian-dotnet-deps.
if ! have localhost/grantsilo-debian-dotnet-deps:bookworm; then
  root="$cache/rootfs"
  if [ "$force" = 1 ] || [ ! -f "$cache/rootfs.done" ]; then
    rm -rf "$root" "$cache/rootfs.done"
    log "debootstrap --variant=minbase bookworm (about 100 s)"
    debootstrap --variant=minbase bookworm "$root" "$(mirror)" >"$cache/debootstrap.log" 2>&1 \
      || { tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
    # The image's apt uses the same sources as this machine (security updates included).
    cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" 2>/dev/null || true
    [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$root/etc/apt/sources.list"
    chroot "$root" /bin/sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends libssl3 ca-certificates libicu72 tzdata >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/* /usr/share/locale/*'
    touch "$cache/rootfs.done"
  fi
  log "import the Debian root filesystem"
  tar -C "$root" -c . | podman import --quiet - localhost/grantsilo-debian-dotnet-deps:bookworm >/dev/null
fi

# 2. aspnet:10.0: the runtime folders of the installed SDK, and the "app" user of the real image.
build_dir=$(mktemp -d)
trap 'rm -rf "$build_dir"' EXIT
if ! have mcr.microsoft.com/dotnet/aspnet:10.0; then
  log "aspnet:10.0 (ASP.NET Core $runtime_version)"
  mkdir -p "$build_dir/aspnet/dotnet/shared"
  cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$build_dir/aspnet/dotnet/"
  cp -a "$dotnet_root/shared/Microsoft.NETCore.App" "$dotnet_root/shared/Microsoft.AspNetCore.App" "$build_dir/aspnet/dotnet/shared/"
  cat >"$build_dir/aspnet/Containerfile" <<EOF
FROM localhost/grantsilo-debian-dotnet-deps:bookworm
COPY dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \\
 && groupadd --gid 1654 app && useradd --uid 1654 --gid 1654 --no-create-home --shell /bin/false app
ENV APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true DOTNET_VERSION=$runtime_version ASPNET_VERSION=$runtime_version
EOF
  podman build --quiet --pull=never --network host -t mcr.microsoft.com/dotnet/aspnet:10.0 "$build_dir/aspnet" >/dev/null
fi

# 3. sdk:10.0: the whole installed SDK.
if ! have mcr.microsoft.com/dotnet/sdk:10.0; then
  log "sdk:10.0 (SDK $sdk_version)"
  mkdir -p "$build_dir/sdk"
  cp -a "$dotnet_root" "$build_dir/sdk/dotnet"
  # Like the machine, the stand-in SDK restores from the package feed this machine is configured with.
  mkdir -p "$build_dir/sdk/nuget"
  [ -f "$HOME/.nuget/NuGet/NuGet.Config" ] && cp "$HOME/.nuget/NuGet/NuGet.Config" "$build_dir/sdk/nuget/"
  # ...and trusts the certificate authorities this machine trusts (a machine may reach its feed through a proxy).
  cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$build_dir/sdk/ca-certificates.crt"
  cat >"$build_dir/sdk/Containerfile" <<EOF
FROM localhost/grantsilo-debian-dotnet-deps:bookworm
COPY dotnet /usr/share/dotnet
COPY nuget /root/.nuget/NuGet
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \\
 && groupadd --gid 1654 app && useradd --uid 1654 --gid 1654 --no-create-home --shell /bin/false app
ENV APP_UID=1654 DOTNET_RUNNING_IN_CONTAINER=true DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SDK_VERSION=$sdk_version NUGET_CERT_REVOCATION_MODE=${NUGET_CERT_REVOCATION_MODE:-online}
EOF
  podman build --quiet --pull=never --network host -t mcr.microsoft.com/dotnet/sdk:10.0 "$build_dir/sdk" >/dev/null
fi

# 4. Azurite: Debian's nodejs and the npm package, the version package.json pins.
azurite_version=$(node -p "require('./package.json').devDependencies?.azurite ?? require('./package.json').dependencies?.azurite")
if ! have "mcr.microsoft.com/azure-storage/azurite:$azurite_version"; then
  log "azurite:$azurite_version"
  mkdir -p "$build_dir/azurite/opt/azurite"
  (cd "$build_dir/azurite/opt/azurite" && npm install --no-audit --no-fund --loglevel=error --omit=dev --prefix . "azurite@$azurite_version" >/dev/null)
  cat >"$build_dir/azurite/Containerfile" <<'EOF'
FROM localhost/grantsilo-debian-dotnet-deps:bookworm
RUN export DEBIAN_FRONTEND=noninteractive && apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs >/dev/null \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
COPY opt/azurite /opt/azurite
ENV PATH=/opt/azurite/node_modules/.bin:$PATH
WORKDIR /opt/azurite
EXPOSE 10000 10001 10002
CMD ["azurite", "-l", "/data", "--blobHost", "0.0.0.0", "--queueHost", "0.0.0.0", "--tableHost", "0.0.0.0"]
EOF
  podman build --quiet --pull=never --network host -t "mcr.microsoft.com/azure-storage/azurite:$azurite_version" "$build_dir/azurite" >/dev/null
  podman tag "mcr.microsoft.com/azure-storage/azurite:$azurite_version" mcr.microsoft.com/azure-storage/azurite:latest
fi
log "done: $(podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'dotnet|azurite' | tr '\n' ';')"
