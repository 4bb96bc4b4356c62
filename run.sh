#!/usr/bin/env bash
# Builds and starts the Teletherapy server.
#   ASPNETCORE_URLS   where the web server listens (default http://localhost:5080)
#   TELETHERAPY_DATA  data folder: SQLite database, outbox/ with emails and SMS (default ./data)
#   TELETHERAPY_DEMO  0 to skip the demo clinic (default here: on; the server's own default and the image: off)
# Any other setting can be given as an environment variable, e.g. ConnectionStrings__Postgres, Media__UdpPort.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! command -v dotnet >/dev/null 2>&1 || ! dotnet --list-sdks 2>/dev/null | grep -q '^10\.'; then
  cat >&2 <<'MSG'
The .NET 10 SDK is needed to build the server and was not found.
Install it: https://dotnet.microsoft.com/download/dotnet/10.0
  Debian/Ubuntu:  sudo apt-get install -y dotnet-sdk-10.0   (after adding Microsoft's package feed)
  or:             curl -sSL https://dot.net/v1/dotnet-install.sh | bash -s -- --channel 10.0
MSG
  exit 1
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  cat >&2 <<'MSG'
Node.js 20.19 or newer (with npm) is needed to build the web client and was not found.
Install it: https://nodejs.org/en/download  (Debian/Ubuntu: sudo apt-get install -y nodejs npm, if that gives 20.19+)
MSG
  exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "Node.js $(node --version) is too old for the web client build: install Node.js 20.19 or newer (https://nodejs.org)." >&2
  exit 1
fi

export ASPNETCORE_URLS="${ASPNETCORE_URLS:-http://localhost:5080}"
export TELETHERAPY_DEMO="${TELETHERAPY_DEMO:-1}"
# glibc's malloc with two arenas instead of eight per core: the resident size stays flat as sessions come and go.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
# The collector's young generation at 4 MiB instead of one sized by the CPU's cache (32 MiB here), which every
# server touches in full however little it allocates (README "Configuration").
export DOTNET_GCgen0size="${DOTNET_GCgen0size:-0x400000}"
data="${TELETHERAPY_DATA:-./data}"
mkdir -p "$data"
export TELETHERAPY_DATA="$(cd "$data" && pwd)"

echo "Building…" >&2
dotnet build "$root/src/Signaling/Teletherapy.Signaling.csproj" -c Release -nologo -v:quiet -clp:NoSummary

first_url="${ASPNETCORE_URLS%%;*}"
echo >&2
echo "Teletherapy starts at ${first_url}/  (data in $TELETHERAPY_DATA; Ctrl-C stops it)" >&2
echo "  sign in:          ${first_url}/" >&2
echo "  connection test:  ${first_url}/check" >&2
echo "  health:           ${first_url}/healthz   metrics: ${first_url}/metrics" >&2
echo >&2
cd "$root/src/Signaling"
exec dotnet "bin/Release/net10.0/Teletherapy.Signaling.dll" --contentRoot "$root/src/Signaling"
