# syntax=docker/dockerfile:1
# Multi-stage build: web client (Node) → server (dotnet publish) → runtime (ASP.NET, non-root).

FROM node:20-bookworm-slim AS web
WORKDIR /repo/src/WebClient
COPY src/WebClient/package.json src/WebClient/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY src/WebClient/ ./
# Vite writes into ../Signaling/wwwroot
RUN npm run build

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /repo
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig Teletherapy.sln ./
COPY src/MediaRelay/Teletherapy.MediaRelay.csproj src/MediaRelay/
COPY src/Scheduling/Teletherapy.Scheduling.csproj src/Scheduling/
COPY src/Signaling/Teletherapy.Signaling.csproj src/Signaling/
RUN dotnet restore src/Signaling/Teletherapy.Signaling.csproj
COPY src/MediaRelay/ src/MediaRelay/
COPY src/Scheduling/ src/Scheduling/
COPY src/Signaling/ src/Signaling/
COPY --from=web /repo/src/Signaling/wwwroot/ src/Signaling/wwwroot/
RUN dotnet publish src/Signaling/Teletherapy.Signaling.csproj -c Release -o /app --no-restore -p:SkipWebClient=true

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
RUN mkdir -p /data && chown "$APP_UID" /data
USER $APP_UID
# MALLOC_ARENA_MAX: glibc's malloc with two arenas instead of eight per core (README "Soak").
# DOTNET_GCgen0size: a 4 MiB young generation instead of one sized by the CPU's cache (README "Configuration").
ENV ASPNETCORE_URLS=http://+:8080 \
    MALLOC_ARENA_MAX=2 \
    DOTNET_GCgen0size=0x400000 \
    TELETHERAPY_DATA=/data \
    TELETHERAPY_DEMO=0 \
    Media__UdpPort=40000 \
    Media__TcpPort=40000
VOLUME ["/data"]
# HTTP; media over UDP and ICE-TCP on one port each.
EXPOSE 8080/tcp 40000/udp 40000/tcp
ENTRYPOINT ["dotnet", "Teletherapy.Signaling.dll"]
