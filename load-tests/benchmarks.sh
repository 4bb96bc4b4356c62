#!/usr/bin/env bash
# Runs the relay's BenchmarkDotNet suites (SRTP, packet parsing, forwarding) in Release and prints their summaries.
#   ./load-tests/benchmarks.sh                 all suites, short job
#   ./load-tests/benchmarks.sh --filter '*Srtp*' --job medium
# Results (Markdown, CSV, HTML) land in load-tests/out/benchmarks/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/load-tests/out/benchmarks"
mkdir -p "$out"
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--filter '*' --job short)
dotnet run -c Release --project "$root/load-tests/benchmarks/Teletherapy.MediaRelay.Benchmarks.csproj" -- \
  --artifacts "$out" --exporters markdown "${args[@]}"
echo
echo "Summaries:"
for f in "$out"/results/*-report-github.md; do
  [ -f "$f" ] && { echo; cat "$f"; }
done
