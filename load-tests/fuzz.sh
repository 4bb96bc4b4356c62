#!/usr/bin/env bash
# Fuzzes every parser of untrusted bytes in the relay (README "Reliability"): STUN, RTP and its extensions, RTCP with
# feedback, SDP, DTLS records up to and into BouncyCastle, RFC 4571 framing, the VP8 payload descriptor, SRTP unprotect.
#   ./load-tests/fuzz.sh                                  1,000,000 inputs per parser, seed 19
#   ./load-tests/fuzz.sh --inputs 100000 --seed 7 --target stun,rtcp
#   ./load-tests/fuzz.sh --coverage --inputs 200000       coverage-guided: a SharpFuzz-instrumented copy of the relay
#   ./load-tests/fuzz.sh --target dtls --hex 16FEFF...    replay one input that a run reported
#   ./load-tests/fuzz.sh --record-corpus load-tests/Fuzz/corpus   record the seeds anew from a loopback session
# Prints per parser: inputs, seconds, inputs/s, share accepted, exceptions, hangs, slowest input, corpus, edges.
# Exits non-zero on any exception escaping a parser, broken invariant or hang (3 when the watchdog ended the run).
# Runs in Release under nice, so other work on the machine keeps its cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/load-tests/out/fuzz"
project="$root/load-tests/Fuzz/Teletherapy.MediaRelay.Fuzz.csproj"
coverage=0
args=()
for arg in "$@"; do
  if [ "$arg" = "--coverage" ]; then coverage=1; else args+=("$arg"); fi
done

dotnet build "$project" -c Release -nologo -v:quiet -clp:NoSummary -o "$out/bin" >/dev/null
run_dir="$out/bin"
if [ "$coverage" = 1 ]; then
  # SharpFuzz's instrumenter (a dotnet tool from NuGet) adds branch coverage to a copy of the relay assembly; the
  # runner finds it and keeps the inputs that reach new branches (load-tests/Fuzz/CoverageMap.cs).
  tools="$out/tools"
  [ -x "$tools/sharpfuzz" ] || dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
  rm -rf "$out/instrumented"
  cp -r "$out/bin" "$out/instrumented"
  "$tools/sharpfuzz" "$out/instrumented/Teletherapy.MediaRelay.dll" >/dev/null
  run_dir="$out/instrumented"
fi
cd "$root"
exec nice -n 19 dotnet "$run_dir/Teletherapy.MediaRelay.Fuzz.dll" "${args[@]}"
