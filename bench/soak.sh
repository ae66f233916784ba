#!/usr/bin/env bash
# Ostiary soak run: the README's release binary on loopback under a mixed load for 10 minutes
# (code exchanges on live sessions with userinfo, complete password sign-ins, client_credentials
# tokens, discovery and JWKS), with the collector and the other background jobs on. Prints,
# every minute, the requests done, rate, p50/p99 latency, errors and the server's RSS; then a
# verdict: memory should be flat after the first minute and no request should fail (exit 1
# if one did). Not a CI test: a check to run before a release, or after a change to the hot
# path or the stores.
#
#   bench/soak.sh                     embedded SQLite (the default configuration)
#   bench/soak.sh --postgres [URL]    PostgreSQL (a throwaway cluster, or an existing server)
#
# Environment: SOAK_MINUTES (default 10), SOAK_EVERY (seconds per line, default 60),
# BENCH_CONNECTIONS (default 32).
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES="${SOAK_MINUTES:-10}"
EVERY="${SOAK_EVERY:-60}"
CONNS="${BENCH_CONNECTIONS:-32}"
postgres=""
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres)
      postgres=start
      if [ $# -gt 1 ] && [[ "$2" == postgres* ]]; then postgres=$2; shift; fi ;;
    *) echo "usage: bench/soak.sh [--postgres [URL]]" >&2; exit 2 ;;
  esac
  shift
done
for tool in curl openssl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed: apt-get install $tool" >&2; exit 1; }
done

source bench/common.sh

# The collector runs every minute, as it would on a busy deployment.
write_config 60
start_server
echo "Ostiary soak: $(nproc) cores, $CONNS connections, $MINUTES minutes, a line every ${EVERY}s"
echo "database: $db_label; idle RSS $(rss) MiB"
status=0
"$load" soak --base "$base" --seconds "$((MINUTES * 60))" --connections "$CONNS" \
  --every "$EVERY" --pid "$pid" || status=$?
errors=$(sed 's/\x1b\[[0-9;]*m//g' "$work/server.log" | grep -cE ' (ERROR|WARN) ' || true)
echo "server log: $errors warnings or errors"
[ "$errors" = 0 ] || sed 's/\x1b\[[0-9;]*m//g' "$work/server.log" | grep -E ' (ERROR|WARN) ' | sort | uniq -c | sort -rn | head -n 10
stop_server
exit "$status"
