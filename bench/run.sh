#!/usr/bin/env bash
# Ostiary benchmark: the README's release binary on loopback, loaded at 64 connections. Prints
# each figure beside the machine's limit for it (the RSA-2048 signing rate, the argon2id
# ceiling) and the share reached: discovery, JWKS, client_credentials, a full code exchange,
# complete password sign-ins, and the server's RSS idle and after the load. With a cluster it
# starts itself, also PostgreSQL's own CPU per flow, and what the cores allow once it is paid.
#
#   bench/run.sh                      embedded SQLite (the default configuration)
#   bench/run.sh --postgres           a throwaway PostgreSQL cluster started here (initdb)
#   bench/run.sh --postgres URL       an existing PostgreSQL server (a scratch database is
#                                     created on it and dropped at the end)
#   bench/run.sh --prefill            after the empty run: a million accounts, ten million
#                                     refresh tokens, a million audit records and a day of
#                                     expired rows; the same figures again beside the empty
#                                     ones; then code exchanges while the collector deletes
#                                     the expired rows
#
# Environment: BENCH_SECONDS (per scenario, default 10), BENCH_CONNECTIONS (default 64),
# BENCH_PREFILL_ROWS (accounts; the other tables scale from it; default 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${BENCH_SECONDS:-10}"
CONNS="${BENCH_CONNECTIONS:-64}"
PREFILL_ROWS="${BENCH_PREFILL_ROWS:-1000000}"
postgres=""
prefill=false
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres)
      postgres=start
      if [ $# -gt 1 ] && [[ "$2" == postgres* ]]; then postgres=$2; shift; fi ;;
    --prefill) prefill=true ;;
    *) echo "usage: bench/run.sh [--postgres [URL]] [--prefill]" >&2; exit 2 ;;
  esac
  shift
done
for tool in wrk curl openssl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed: apt-get install $tool" >&2; exit 1; }
done
if $prefill && [ -z "$postgres" ]; then
  command -v sqlite3 >/dev/null || { echo "sqlite3 is needed for --prefill: apt-get install sqlite3" >&2; exit 1; }
fi

source bench/common.sh

# The machine's limits, measured before the server starts, on every core.
sign=$(openssl speed -multi "$(nproc)" -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $(NF-1)}' | tail -n 1)
read -r argon argon_single < <("$load" argon2)

# wrk's figures as "rate p50_ms p99_ms non2xx".
to_ms() { awk '{ v=$1; if (v ~ /us$/) printf "%.2f", v/1000; else if (v ~ /ms$/) printf "%.2f", v+0; else if (v ~ /s$/) printf "%.2f", v*1000; else printf "%s", v }' <<<"$1"; }
wrk_run() {
  local out; out=$(wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" --latency "$@")
  local rps p50 p99 bad
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
  bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  echo "$rps $p50 $p99 ${bad:-0}"
}
basic=$(printf 'reports-service:reports-secret-0123456789abcdef0123' | base64 -w0)
cat > "$work/cc.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA

# A cluster started here shares the cores with the server: its own CPU per flow is measured
# (its processes' CPU time, reaped children included, over the codes redeemed meanwhile, from
# 2 s into a scenario, after the warm-up sign-ins, to 1 s before its end).
pg_cpu_ms() {
  local pm ticks=0 t
  pm=$(head -n 1 "$work/pg/postmaster.pid")
  for p in "$pm" $(awk -v pm="$pm" '$4 == pm {print $1}' /proc/[0-9]*/stat 2>/dev/null); do
    t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && ticks=$((ticks + t))
  done
  t=$(awk '{print $16 + $17}' "/proc/$pm/stat")
  echo $(((ticks + t) * 1000 / $(getconf CLK_TCK)))
}
redeemed() { psql -At "$db_url" -c "SELECT count(*) FROM auth_codes WHERE consumed_at IS NOT NULL"; }
# CPU ticks so far, a line each: the server's threads by kind, the load generator ($1), the
# cluster started here, and every core's busy and idle time.
cpu_ticks() {
  local t
  for t in /proc/"$pid"/task/*; do
    printf '%s %s\n' "$(tr ' ' _ <"$t/comm")" "$(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)"
  done | awk '{
    k = "other"
    if ($1 ~ /^argon2-/) k = "argon2"; else if ($1 ~ /^sign-/) k = "signing"
    else if ($1 ~ /^actix/) k = "http"; else if ($1 ~ /^(ostiary-writer|ostiary-pg|sqlx)/) k = "database"
    a[k] += $2
  } END {for (k in a) print k, a[k]}'
  echo "loadgen $(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0)"
  [ "$postgres" = start ] && echo "postgres $(($(pg_cpu_ms) * $(getconf CLK_TCK) / 1000))"
  awk '/^cpu / {print "busy", $2 + $3 + $4 + $7 + $8; print "idle", $5 + $6; print "steal", $9}' /proc/stat
}
# The load command, measured from 2 s into it (after the warm-up sign-ins) to 1 s before its
# end: with a cluster started here its CPU per code redeemed ($work/dbcpu.$1), and where the
# cores' time went ($work/split.$1).
measured() { # $1: where to keep the figures; the rest: the load command
  local key=$1; shift
  if [ "$SECONDS_EACH" -lt 5 ]; then "$@"; return; fi
  "$@" >"$work/load.out" &
  local lp=$! r0 c0 r1 c1
  sleep 2
  [ "$postgres" = start ] && { r0=$(redeemed); c0=$(pg_cpu_ms); }
  cpu_ticks "$lp" >"$work/ticks0"
  sleep $((SECONDS_EACH - 3))
  cpu_ticks "$lp" >"$work/ticks1"
  [ "$postgres" = start ] && { c1=$(pg_cpu_ms); r1=$(redeemed); }
  wait "$lp"
  cat "$work/load.out"
  [ "$postgres" = start ] &&
    awk -v c="$((c1 - c0))" -v n="$((r1 - r0))" 'BEGIN {if (n > 0) printf "%.3f", c / n}' >"$work/dbcpu.$key"
  # Shares of all the cores' time; "kernel and the rest" is what no thread above accounts for.
  awk 'NR == FNR {a[$1] = $2; next} {d[$1] = $2 - a[$1]} END {
    total = d["busy"] + d["idle"] + d["steal"]; if (total <= 0) exit
    named = 0; line = ""
    n = split("argon2 signing http database other loadgen postgres", keys, " ")
    split("argon2id threads,signing threads,HTTP workers,database client,other server threads,load generator,PostgreSQL", names, ",")
    for (i = 1; i <= n; i++) if (keys[i] in d) {
      named += d[keys[i]]; line = line sprintf("%s %.1f%%, ", names[i], 100 * d[keys[i]] / total)
    }
    printf "%skernel and the rest %.1f%%, idle %.1f%%, stolen by the host %.1f%%", line, 100 * (d["busy"] - named) / total, 100 * d["idle"] / total, 100 * d["steal"] / total
  }' "$work/ticks0" "$work/ticks1" >"$work/split.$key"
}

declare -A R # R[pass,scenario] = "rate p50 p99 errors [max]"
run_pass() { # $1: pass name
  local p=$1
  start_server
  sleep 2
  R[$p,idle]=$(rss)
  R[$p,discovery]=$(wrk_run "$base/.well-known/openid-configuration")
  R[$p,jwks]=$(wrk_run "$base/jwks.json")
  R[$p,cc]=$(wrk_run -s "$work/cc.lua" "$base/token")
  R[$p,exchange]=$(measured "$p.exchange" "$load" exchange --base "$base" --seconds "$SECONDS_EACH" --connections "$CONNS")
  # The argon2id ceiling moves with the neighbours on a shared host (87-108/s within minutes
  # on one): the sign-ins are measured against it as it is just before and just after them,
  # with the server idle.
  local before after
  read -r before _ < <("$load" argon2)
  R[$p,signin]=$(measured "$p.signin" "$load" signin --base "$base" --seconds "$SECONDS_EACH" --connections "$CONNS")
  read -r after _ < <("$load" argon2)
  R[$p,argon]="$(awk -v a="$before" -v b="$after" 'BEGIN {printf "%.1f", (a + b) / 2}') $before $after"
  R[$p,after]=$(rss)
  stop_server
}

row() { # name figures limit target
  local name=$1 figures=$2 limit=$3 target=$4
  read -r rate p50 p99 errors _ <<<"$figures"
  local share="-"
  [ "$limit" != "-" ] && share=$(awk -v r="$rate" -v l="$limit" 'BEGIN {printf "%.0f%%", 100 * r / l}')
  printf '%-28s %10.1f %9.2f %9.2f %10s %7s   %s%s\n' "$name" "$rate" "$p50" "$p99" "$limit" "$share" "$target" \
    "$([ "${errors:-0}" != 0 ] && echo "   ($errors errors)")"
}
report() { # $1: pass name
  local p=$1
  printf '%-28s %10s %9s %9s %10s %7s   %s\n' "scenario" "per s" "p50 ms" "p99 ms" "limit/s" "share" "target"
  row "discovery" "${R[$p,discovery]}" 60000 ">= 60,000/s"
  row "jwks" "${R[$p,jwks]}" 60000 ">= 60,000/s"
  row "token (client_credentials)" "${R[$p,cc]}" "$sign" ">= 80% of the signing rate"
  row "code exchange (full)" "${R[$p,exchange]}" "$(awk -v s="$sign" 'BEGIN {printf "%.0f", s / 2}')" ">= 60% of half the signing rate, p99 <= 100 ms"
  [ -s "$work/split.$p.exchange" ] && printf '%-28s %s\n' "exchanges: the cores' time" "$(cat "$work/split.$p.exchange")"
  local argon before after
  read -r argon before after <<<"${R[$p,argon]}"
  row "password sign-ins" "${R[$p,signin]}" "$argon" ">= 90% of the argon2id ceiling (${before}/s before, ${after}/s after)"
  [ -s "$work/split.$p.signin" ] && printf '%-28s %s\n' "sign-ins: the cores' time" "$(cat "$work/split.$p.signin")"
  if [ -s "$work/dbcpu.$p.exchange" ]; then
    local pg_x pg_s
    pg_x=$(cat "$work/dbcpu.$p.exchange"); pg_s=$(cat "$work/dbcpu.$p.signin" 2>/dev/null || echo "?")
    printf '%-28s %6s ms per code exchange, %s ms per sign-in (of the same %s cores)\n' "PostgreSQL's own CPU" "$pg_x" "$pg_s" "$(nproc)"
    # What the cores allow once the database server has had its share, before Ostiary does
    # any work of its own: the exchange's two signatures, a sign-in's hash and two signatures.
    awk -v s="$sign" -v a="$argon" -v c="$(nproc)" -v x="$pg_x" -v y="$pg_s" 'BEGIN {
      sig = 1000 * c / s; hash = 1000 * c / a
      bound = 1000 * c / (2 * sig + x)
      printf "%-28s %10.0f /s   (%.0f%% of the limit: two signatures, %.2f ms of a core, and the database server alone)\n", "code exchange bound", bound, 100 * bound / (s / 2), 2 * sig
      if (y != "?") {
        bound = 1000 * c / (hash + 2 * sig + y)
        printf "%-28s %10.1f /s   (%.0f%% of the ceiling: the hash, %.1f ms of a core, two signatures and the database server alone)\n", "password sign-in bound", bound, 100 * bound / a, hash
      }
    }'
  else
    # What the cores allow a sign-in with nothing but its hash and its two signatures: the
    # signing rate and the argon2id ceiling move independently from host to host.
    awk -v s="$sign" -v a="$argon" -v c="$(nproc)" 'BEGIN {
      sig = 1000 * c / s; hash = 1000 * c / a
      bound = 1000 * c / (hash + 2 * sig)
      printf "%-28s %10.1f /s   (%.0f%% of the ceiling: the hash, %.1f ms of a core, and two signatures, %.2f ms, alone)\n", "password sign-in bound", bound, 100 * bound / a, hash, 2 * sig
    }'
  fi
  printf '%-28s %6s MiB   (target <= 30 MiB)\n' "idle RSS" "${R[$p,idle]}"
  printf '%-28s %6s MiB   (target <= 100 MiB)\n' "RSS after load" "${R[$p,after]}"
}

echo "Ostiary benchmark: $(nproc) cores, $CONNS connections, ${SECONDS_EACH}s per scenario"
echo "database: $db_label, pool of $db_pool connections"
printf '%-28s %10.1f /s   (openssl speed -multi %s rsa2048)\n' "RSA-2048 signing rate" "$sign" "$(nproc)"
printf '%-28s %10.1f /s   (argon2id m=19456 t=2 p=1, %s cores hashing at once, median of 5 rounds; one alone: %s ms per hash)\n' \
  "argon2id ceiling" "$argon" "$(nproc)" "$argon_single"
echo
run_pass empty
report empty

if $prefill; then
  echo
  now=$(date +%s)
  started=$SECONDS
  if [ -z "$postgres" ]; then
    sed -e "s/@NOW@/$now/g" -e "s/@N@/$PREFILL_ROWS/g" bench/prefill/sqlite.sql | sqlite3 "$work/ostiary.db" >/dev/null
  else
    sed -e "s/@NOW@/$now/g" -e "s/@N@/$PREFILL_ROWS/g" bench/prefill/postgres.sql | psql -q -v ON_ERROR_STOP=1 "$db_url" >/dev/null
  fi
  # The kernel's writeback of the new file must not share the cores with the measurements.
  sync
  printf 'prefilled in %s s: %s accounts and grants, %s refresh tokens, %s audit records;\n' \
    "$((SECONDS - started))" "$PREFILL_ROWS" "$((PREFILL_ROWS * 10))" "$PREFILL_ROWS"
  printf 'expired, awaiting the collector: %s each of authorization requests, sessions, codes, access tokens\n' "$PREFILL_ROWS"
  # Every statement of the flows and the collector must find its rows through an index, and
  # every lookup by key through its key's (not the expiry index the collector's DELETEs use).
  statements=$(sed "s/@NOW@/$(date +%s)/g" bench/prefill/explain.sql)
  lookups=$(grep -vE '^EXPLAIN DELETE FROM [a-z_]+ WHERE [a-z_]+ IN \(SELECT' <<<"$statements")
  if [ -z "$postgres" ]; then
    explain() { sed 's/^EXPLAIN /EXPLAIN QUERY PLAN /' | sqlite3 "$work/ostiary.db" | grep -E 'SCAN|SEARCH'; }
    plans=$(explain <<<"$statements")
    # A scan of a constant row (the one row the password sign-in's two lookups are joined
    # to: `one_row`) reads no table.
    scans=$(grep -E -- '--SCAN ' <<<"$plans" | grep -vE -- '--SCAN (CONSTANT ROW|one_row)$' || true)
  else
    # With sequential scans priced out, the planner still picks one only where no index serves.
    explain() { (echo "SET enable_seqscan = off;"; cat) | psql -At "$db_url" | grep -E 'Scan'; }
    plans=$(explain <<<"$statements")
    scans=$(grep -E 'Seq Scan' <<<"$plans" || true)
  fi
  by_expiry=$(explain <<<"$lookups" | grep -E '[a-z_]+_expires_at' || true)
  printf 'query plans: %s statements of the flows and the collector, %s full-table scans%s\n' \
    "$(grep -c '^EXPLAIN' bench/prefill/explain.sql)" "$(grep -c . <<<"$scans" || true)" "${scans:+:
$scans}"
  printf '             %s lookups by key searching an expiry index instead%s\n\n' \
    "$(grep -c . <<<"$by_expiry" || true)" "${by_expiry:+:
$by_expiry}"
  run_pass full
  report full
  echo
  printf '%-28s %10s   %s\n' "prefilled vs empty" "rate" "p99"
  for s in discovery jwks cc exchange signin; do
    read -r r0 _ q0 _ <<<"${R[empty,$s]}"
    read -r r1 _ q1 _ <<<"${R[full,$s]}"
    awk -v n="$s" -v r0="$r0" -v r1="$r1" -v q0="$q0" -v q1="$q1" \
      'BEGIN {printf "%-28s %9.0f%%   %+.0f%% (%.2f ms)\n", n, 100 * r1 / r0, 100 * (q1 - q0) / q0, q1}'
  done

  # The collector deletes the day of expired rows while code exchanges run.
  echo
  write_config 3
  : >"$work/server.log"
  start_server
  gc_seconds=$((SECONDS_EACH * 3))
  read -r rate p50 p99 errors max <<<"$("$load" exchange --base "$base" --seconds "$gc_seconds" --connections "$CONNS")"
  for _ in $(seq 600); do grep -q "expired rows removed" "$work/server.log" && break; sleep 1; done
  gc_line=$(sed 's/\x1b\[[0-9;]*m//g' "$work/server.log" | grep "expired rows removed" | head -n 1 || true)
  [ -n "$gc_line" ] || { echo "the collector did not report:" >&2; tail -n 5 "$work/server.log" >&2; exit 1; }
  rows=$(grep -o 'rows=[0-9]*' <<<"$gc_line" | cut -d= -f2)
  took=$(grep -o ' seconds=[0-9.]*' <<<"$gc_line" | cut -d= -f2)
  longest=$(grep -o 'longest_batch_ms=[0-9.]*' <<<"$gc_line" | cut -d= -f2)
  printf 'collector: %s expired rows deleted in %.1f s, in batches of 100 (the longest held the writer %.1f ms), starting 3 s into %s s of code exchanges\n' "$rows" "$took" "$longest" "$gc_seconds"
  printf '%-28s %10.1f /s   p50 %.2f ms   p99 %.2f ms   slowest %.2f ms   (%s errors)\n' "code exchange during GC" "$rate" "$p50" "$p99" "$max" "$errors"
  stop_server
fi
