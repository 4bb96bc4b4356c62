#!/usr/bin/env bash
# Runs the relay's BenchmarkDotNet suites (SRTP, packet parsing, forwarding) in Release and prints their summaries.
#   ./load-tests/benchmarks.sh                 all suites, short job
#   ./load-tests/benchmarks.sh --filter '*Srtp*' --job medium
#   ./load-tests/benchmarks.sh --after-pause   the relay's per-packet work after a 500 µs sleep, as its receive
#                                               thread does it, against back to back [--pause-us N --per-wake N --seconds N]
# Results (Markdown, CSV, HTML) land in load-tests/out/benchmarks/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/load-tests/out/benchmarks"
mkdir -p "$out"
args=("$@")
if [ "${1:-}" = "--after-pause" ]; then
  exec dotnet run -c Release --project "$root/load-tests/benchmarks/Teletherapy.MediaRelay.Benchmarks.csproj" -- "$@"
fi
[ ${#args[@]} -eq 0 ] && args=(--filter '*' --job short)
dotnet run -c Release --project "$root/load-tests/benchmarks/Teletherapy.MediaRelay.Benchmarks.csproj" -- \
  --artifacts "$out" --exporters markdown "${args[@]}"
echo
echo "Summaries:"
for f in "$out"/results/*-report-github.md; do
  [ -f "$f" ] && { echo; cat "$f"; }
done
