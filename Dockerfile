# The wal binary with the native libraries it loads (librdkafka, librocksdb) from the
# distribution's packages. Since .NET 10 the aspnet image is Ubuntu 24.04 (no Debian image is
# published), so these are Ubuntu's librdkafka and RocksDB, newer than the Debian 12 ones
# (librdkafka 2.0.2, RocksDB 7.8) that ./wal test runs against on the development machines.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish cli/Wal.Cli/Wal.Cli.csproj -c Release -o /out

FROM mcr.microsoft.com/dotnet/aspnet:10.0
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka-dev librocksdb-dev curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out .
COPY config/ /etc/wal/
# Not root: the image's own unprivileged user (APP_UID, which the .NET images define). It cannot create a directory
# under /var/lib, so the topology's state directory (WAL_STATE_DIR in docker-compose.yml) is made for it here.
RUN mkdir -p /var/lib/wal && chown "$APP_UID:$APP_UID" /var/lib/wal
USER $APP_UID
# The .NET images set 8080 for any ASP.NET Core app; Wal's ports are its options', and each process warned at start that
# it was overriding http://*:8080.
ENV ASPNETCORE_HTTP_PORTS=
ENTRYPOINT ["dotnet", "/app/wal.dll"]
