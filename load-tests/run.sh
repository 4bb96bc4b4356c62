#!/usr/bin/env bash
# The load generator: real teletherapy sessions (REST API, waiting room, hub) with VP8/Opus media through
# our relay, or the same 1:1 media load through Janus's videoroom.
#
#   ./load-tests/run.sh [--target teletherapy|janus] [--server URL [--server URL ...] --api-key KEY --outbox DIR ...]
#                       --sessions N [--participants N] --duration 30s [--simulcast] [--out DIR] [--janus-url URL]
#
# --participants N (2-16, default 2: therapist and patient) makes each session a group: the therapist and N-1 contacts
# of the patient, each joining with the link from its own email, everyone publishing and receiving everyone else
# (our server only; --target janus refuses it above 2).
# Without --server it builds and starts our server itself (loopback, temporary data folder) and stops it at the end;
# --server repeated names the nodes of a cluster (one API key for all; --outbox once if they share the folder, else
# once per node): session i's therapist is on node i mod n and its patient on node i+1 mod n, the cluster places the
# rooms, and the report shows each node's rooms, CPU and forwarded packets from its own /metrics;
# with --target janus and no --janus-url it starts Janus inside a network namespace of its own (loopback plus a veth
# with 127.0.0.2, because libnice gathers no loopback-only candidates). Traffic stays on loopback.
# The tool's connections are read by one shared receive thread (--receive-threads N, default 1, as the floor forwarder's
# receivers are; 0 gives each connection its own thread) and its media is sent by one pacer thread (--pacer-threads N).
# --listeners N: only the first N participants of each session take in their media through the window; the others drop
# it unread (the relay's work unchanged, the tool's smaller), so one machine can drive the relay past one core.
# --churn N [--churn-every 60s] ends the N oldest sessions every period while media flows (each contact leaves, the
# therapist ends the session through the hub) and sets up as many new ones; the report then charts the relay's RSS,
# GC heap, threads, open descriptors and CPU per packet and judges their growth (./load-tests/soak.sh runs the soak).
# Test media is made once with ffmpeg into load-tests/.cache/. Reports go to --out (default load-tests/out/<target>-<N>,
# with x<participants> after it for group sessions).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="teletherapy"
server=""
janus_url=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --target) target="${args[$((i + 1))]:-}" ;;
    --server) server="${args[$((i + 1))]:-}" ;; # any of them: the tool starts no server
    --janus-url) janus_url="${args[$((i + 1))]:-}" ;;
    -h|--help) ;;
  esac
done

command -v dotnet >/dev/null 2>&1 || { echo "The .NET 10 SDK is needed (dotnet not found)." >&2; exit 1; }
command -v ffmpeg >/dev/null 2>&1 || { echo "ffmpeg is needed to make the test media: apt-get install -y ffmpeg" >&2; exit 1; }

# LOADTEST_NO_BUILD=1 skips the builds (repeated runs of an unchanged tree).
build() { [ "${LOADTEST_NO_BUILD:-0}" = "1" ] || dotnet build "$1" -c Release -nologo -v:quiet -clp:NoSummary "${@:2}" >&2; }
build "$root/load-tests/LoadGenerator/Teletherapy.LoadTests.csproj"
server_dll="$root/src/Signaling/bin/Release/net10.0/Teletherapy.Signaling.dll"
if [ "$target" = "teletherapy" ] && [ -z "$server" ]; then
  # The relay under test; the web client is not needed for the load.
  build "$root/src/Signaling/Teletherapy.Signaling.csproj" -p:SkipWebClient=true
fi

export TELETHERAPY_LOAD_ROOT="$root"
cmd=(dotnet "$root/load-tests/LoadGenerator/bin/Release/net10.0/Teletherapy.LoadTests.dll"
  --media-cache "$root/load-tests/.cache" --server-dll "$server_dll" "$@")

if [ "$target" = "janus" ] && [ -z "$janus_url" ]; then
  if ! command -v janus >/dev/null 2>&1; then
    echo "Janus is not installed. Install it with:" >&2
    echo "  apt-get install -y janus" >&2
    exit 3
  fi
  if [ "$(id -u)" != "0" ] || ! unshare -n true 2>/dev/null; then
    echo "Starting Janus needs a network namespace of its own (run as root), or give --janus-url of a running Janus." >&2
    exit 1
  fi
  # Loopback only: a fresh namespace with lo and a veth pair that carries 127.0.0.2 for libnice (ice_enforce_list v0).
  exec unshare -n bash -c '
    set -e
    ip link set lo up
    ip link add v0 type veth peer name v1
    ip addr add 127.0.0.2/32 dev v0
    ip link set v0 up
    ip link set v1 up
    exec "$@"' bash "${cmd[@]}"
fi
exec "${cmd[@]}"
