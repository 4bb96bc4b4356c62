#!/usr/bin/env bash
# The soak: 30 sessions for 30 minutes with joins and leaves churning. Every minute the 5 oldest sessions end as
# people end them (each contact leaves, the therapist ends the session) and 5 new appointments are made, joined and
# admitted through the REST API and the session hub. The report (load-tests/out/soak-30/report.html and report.json)
# charts the relay's RSS, GC heap, threads, open file descriptors and CPU per forwarded packet over time, and judges
# growth from minute 5 to minute 30 (goal: under 5 % for each, and no loss); CPU is judged as the relay's against the
# load generator's on the same cores (README "Soak").
#
#   ./load-tests/soak.sh [any option of ./load-tests/run.sh; given here it replaces the default]
#
# e.g. a short rehearsal: ./load-tests/soak.sh --sessions 4 --churn 1 --churn-every 20s --duration 3m --out /tmp/soak
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$root/load-tests/run.sh" --sessions 30 --duration 30m --churn 5 --churn-every 60s --out "$root/load-tests/out/soak-30" "$@"
