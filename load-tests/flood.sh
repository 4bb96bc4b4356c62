#!/usr/bin/env bash
# The media-port flood of README "Reliability": 10 sessions with media through our server (started on loopback by the
# load generator) while its media port takes 100,000 random datagrams, 10,000 STUN checks with wrong credentials,
# 1,000 DTLS ClientHellos from addresses that did no ICE check and 100 ICE-TCP connections that never speak, from
# 127.0.0.2 and up. report.json's "flood" section has the drops by reason, the health checks and memory before,
# at the peak and after; the loss is the run's.
#
#   ./load-tests/flood.sh [--flood-rate N] [other run.sh options]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$root/load-tests/run.sh" --sessions 10 --duration 10s --flood full --out "$root/load-tests/out/flood" "$@"
