# GrantSilo silo host. Build and run with docker-compose.yml (docs/multi-silo.md):
#   IMAGE_REGISTRY=<registry serving the .NET images> docker compose up --build --scale silo=3
# This repository names no registry: pass the one you use as the IMAGE_REGISTRY build argument.
ARG IMAGE_REGISTRY

FROM ${IMAGE_REGISTRY}/dotnet/sdk:10.0 AS build
WORKDIR /repo
# Build settings first, then the projects the silo host is built from.
COPY global.json nuget.config Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/ src/
COPY silo-host/ silo-host/
COPY client-sdk/ client-sdk/
RUN dotnet publish silo-host/GrantSilo.SiloHost.csproj -c Release -o /app

FROM ${IMAGE_REGISTRY}/dotnet/runtime:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# Identical replicas: each advertises its own container address and listens on every interface.
ENV GrantSilo__Storage__Provider=AzureTable \
    GrantSilo__Silo__AdvertiseHostNameAddress=true \
    GrantSilo__Silo__ListenOnAnyHostAddress=true \
    GrantSilo__Silo__SiloPort=11111 \
    GrantSilo__Silo__GatewayPort=30000
EXPOSE 11111 30000
USER $APP_UID
ENTRYPOINT ["dotnet", "GrantSilo.SiloHost.dll"]
