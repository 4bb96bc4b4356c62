#!/usr/bin/env bash
# Runs every test of the solution.
#
#   ./test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Stun]
#
# 1. Installs what is missing (PostgreSQL, Chromium, Firefox ESR, ffmpeg, coturn, caddy, nginx, haproxy) with apt-get on Debian/Ubuntu as root;
#    otherwise prints the apt-get line and fails.
# 2. Restores and builds the solution (the web client, and puppeteer-core for the Firefox tests, with npm ci) while the
#    network is available.
# 3. Runs the tests inside a loopback-only network namespace (when it can make one), next to a throwaway
#    PostgreSQL cluster whose connection string is handed to the tests as TELETHERAPY_TEST_POSTGRES.
# 4. Prints "N passed, N failed[, N skipped]" from the TRX results as its last line; exits non-zero when
#    anything failed or no test ran. Everything it started is stopped, also on Ctrl-C.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
results="$root/.test-results"
hang_timeout="${TEST_HANG_TIMEOUT:-8m}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

find_pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

# --- inner phase: runs (normally inside the namespace) the database and the tests --------------
if [ "${1:-}" = "--run-tests" ]; then
  shift
  if [ "${TELETHERAPY_NETNS:-0}" = "1" ]; then
    ip link set lo up
  fi
  pg_bin="$(find_pg_bin)"
  pg_dir="$(mktemp -d /tmp/teletherapy-pg.XXXXXX)"
  pg_port="${TELETHERAPY_TEST_PG_PORT:-55432}"
  pg_user="postgres"
  run_pg() { "$@"; }
  if [ "$(id -u)" = "0" ]; then
    # PostgreSQL refuses to run as root: run the cluster as an unprivileged user.
    id -u teletherapy-test >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin teletherapy-test
    chown teletherapy-test "$pg_dir"
    run_pg() { runuser -u teletherapy-test -- "$@"; }
  fi
  stop_pg() {
    run_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  }
  trap stop_pg EXIT
  trap 'exit 130' INT TERM
  run_pg "$pg_bin/initdb" -D "$pg_dir/data" -U "$pg_user" --auth=trust -E UTF8 >/dev/null
  run_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
    -o "-k $pg_dir -p $pg_port -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
  export TELETHERAPY_TEST_POSTGRES="Host=127.0.0.1;Port=$pg_port;Username=$pg_user;Database=postgres;Pooling=true"
  export TELETHERAPY_REQUIRE_POSTGRES=1
  log "PostgreSQL test cluster on 127.0.0.1:$pg_port"
  # Module tests first, then the browser tests alone: those shape and measure real network traffic and
  # must not share the loopback interface (or the two cores) with other test assemblies.
  rc=0
  set +e
  for project in "$root"/tests/*/*.csproj "$root"/load-tests/*/*.Tests.csproj; do
    [ -f "$project" ] || continue
    case "$project" in */EndToEnd/*) continue ;; esac
    dotnet test "$project" --no-build --no-restore \
      --logger "trx" --results-directory "$results" \
      --blame-hang-timeout "$hang_timeout" "$@" \
      -- RunConfiguration.TestSessionTimeout=2400000 || rc=1
  done
  for project in "$root"/tests/EndToEnd/*.csproj; do
    [ -f "$project" ] || continue
    dotnet test "$project" --no-build --no-restore \
      --logger "trx" --results-directory "$results" \
      --blame-hang-timeout "$hang_timeout" "$@" \
      -- RunConfiguration.TestSessionTimeout=2400000 || rc=1
  done
  set -e
  exit $rc
fi

# --- prerequisites -------------------------------------------------------------------------------
missing=()
find_pg_bin >/dev/null || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# The browser tests' Firefox patient (tests/EndToEnd/FirefoxBrowser.cs), driven over WebDriver BiDi.
[ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
# Real servers the deployment tests start on loopback: TURN, and reverse proxies in front of the app.
[ -x /usr/bin/turnserver ] || missing+=(coturn)
[ -x /usr/bin/caddy ] || missing+=(caddy)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
[ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    log "Installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing: ${missing[*]}. Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is missing: https://dotnet.microsoft.com/download/dotnet/10.0 (or: apt-get install -y dotnet-sdk-10.0)" >&2
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "Node.js 20.19 or newer with npm is missing (Debian/Ubuntu: apt-get install -y nodejs npm, or https://nodejs.org)" >&2
  exit 1
fi

# --- build (needs the package registries) --------------------------------------------------------
log "Building"
rm -rf "$results"
mkdir -p "$results"
dotnet build "$root/Teletherapy.sln" -nologo -clp:NoSummary -v:minimal

# --- tests ---------------------------------------------------------------------------------------
inner_pid=""
cleanup() {
  if [ -n "$inner_pid" ] && kill -0 "$inner_pid" 2>/dev/null; then
    kill -TERM -- "-$inner_pid" 2>/dev/null || kill -TERM "$inner_pid" 2>/dev/null || true
    wait "$inner_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

log "Running tests"
set +e
if [ "$(id -u)" = "0" ] && unshare -n true 2>/dev/null; then
  # A loopback-only network namespace: nothing a test starts can reach another host.
  TELETHERAPY_NETNS=1 setsid unshare -n "$root/test.sh" --run-tests "$@" &
else
  echo "Note: not root or no network namespaces; tests run in the normal network (loopback only by design)." >&2
  setsid "$root/test.sh" --run-tests "$@" &
fi
inner_pid=$!
wait "$inner_pid"
rc=$?
inner_pid=""
set -e

# --- summary from the TRX files ------------------------------------------------------------------
passed=0; failed=0; skipped=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  p=$( { grep -o '<UnitTestResult [^>]*outcome="Passed"' "$trx" || true; } | wc -l)
  f=$( { grep -o '<UnitTestResult [^>]*outcome="Failed"' "$trx" || true; } | wc -l)
  s=$( { grep -o '<UnitTestResult [^>]*outcome="NotExecuted"' "$trx" || true; } | wc -l)
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "The test run ended with exit code $rc (a crash, hang or timeout) before all results were written." >&2
  failed=1
fi
summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo
echo "$summary"
if [ "$failed" -gt 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
exit 0
