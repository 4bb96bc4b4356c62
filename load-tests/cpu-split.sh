#!/usr/bin/env bash
# The user / kernel split of one process's CPU over a window, from /proc/PID/stat (utime, stime).
#
#   ./load-tests/cpu-split.sh PATTERN [SECONDS] [DELAY]
#
# Waits for the process whose command line matches PATTERN (pgrep -f, the newest), lets DELAY seconds pass (3 by
# default: the floor forwarder's warm-up), then prints its user and system CPU seconds over SECONDS (15 by default)
# and the share the kernel had. E.g. the floor forwarder's split beside its own figure:
#
#   ../shared/bench/floor/run.sh 50 1 20 & ./load-tests/cpu-split.sh 'floor-forwarder fwd' 15; wait
set -euo pipefail

pattern="${1:?usage: cpu-split.sh PATTERN [SECONDS] [DELAY]}"
seconds="${2:-15}"
delay="${3:-3}"
pid=""
for _ in $(seq 100); do
    # pgrep -f also matches shells whose command line holds the pattern (this script's own): skip them.
    for candidate in $(pgrep -f -- "$pattern" || true); do
        case "$(cat "/proc/$candidate/comm" 2>/dev/null)" in
            "" | bash | sh | cpu-split.sh) ;;
            *) pid="$candidate" ;;
        esac
    done
    [ -n "$pid" ] && break
    sleep 0.1
done
[ -n "$pid" ] || { echo "no process matches '$pattern'" >&2; exit 1; }
sleep "$delay"

# Fields after the command name's closing parenthesis: utime is the 12th, stime the 13th (stat(5): 14 and 15).
read_cpu() { sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12, $13}'; }
read -r u0 s0 < <(read_cpu)
sleep "$seconds"
read -r u1 s1 < <(read_cpu)
ticks="$(getconf CLK_TCK)"
awk -v u="$((u1 - u0))" -v s="$((s1 - s0))" -v t="$ticks" -v p="$pid" -v w="$seconds" 'BEGIN {
    total = u + s
    share = total > 0 ? s / total : 0
    printf "{\"pid\":%d,\"seconds\":%s,\"user_cpu_s\":%.2f,\"system_cpu_s\":%.2f,\"system_share\":%.3f}\n", p, w, u / t, s / t, share
}'
