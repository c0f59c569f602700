# GrantSilo silo host on the standard .NET images. Build and run (docs/operations.md):
#   docker build -t grantsilo/silo-host:local .
#   docker compose up --build --scale silo=3        (docker-compose.yml: Azurite plus identical silos)
# The container serves the HTTP API (HTTPS with the silo certificate, port 8080) for its health endpoints, and its
# health check asks /health/ready with the silo host's own probe (the runtime image has no curl or wget).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /repo
# Build settings first, then the projects the silo host is built from.
COPY global.json nuget.config Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/ src/
COPY silo-host/ silo-host/
COPY client-sdk/ client-sdk/
# Framework-dependent (the runtime image has .NET and ASP.NET Core), no native launcher, no symbol files.
RUN --mount=type=cache,id=grantsilo-nuget,target=/root/.nuget/packages \
    dotnet publish silo-host/GrantSilo.SiloHost.csproj -c Release -o /app -p:UseAppHost=false -p:DebugType=none -p:GenerateDocumentationFile=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# Identical replicas: each advertises its own container address and listens on every interface. TLS is on (mount the
# certificates and set GrantSilo__Tls__CertificateFile, KeyFile and CaFile), and with it the HTTP API over HTTPS.
ENV GrantSilo__Storage__Provider=AzureTable \
    GrantSilo__Silo__AdvertiseHostNameAddress=true \
    GrantSilo__Silo__ListenOnAnyHostAddress=true \
    GrantSilo__Silo__SiloPort=11111 \
    GrantSilo__Silo__GatewayPort=30000 \
    GrantSilo__Tls__Enabled=true \
    GrantSilo__Http__Enabled=true \
    GrantSilo__Http__ListenOnAnyHostAddress=true \
    GrantSilo__Http__Port=8080 \
    ASPNETCORE_HTTP_PORTS=
EXPOSE 11111 30000 8080
# The base image's non-root user (uid 1654).
USER $APP_UID
# SIGTERM: the host stops, the silo leaves the cluster cleanly (docs/operations.md); give it 30 s before SIGKILL.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 CMD ["dotnet", "GrantSilo.SiloHost.dll", "--probe", "ready"]
ENTRYPOINT ["dotnet", "GrantSilo.SiloHost.dll"]
