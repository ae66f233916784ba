#!/usr/bin/env bash
# Ostiary benchmark: a release build on loopback, loaded at 64 connections. Prints requests/s,
# p50 and p99 for discovery, JWKS, client_credentials and a full code exchange; complete
# password sign-ins beside the argon2id ceiling; the RSA-2048 signing rate; idle RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${BENCH_SECONDS:-10}"
CONNS="${BENCH_CONNECTIONS:-64}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

cargo build --release -q -p ostiary -p ostiary-bench
bin=target/release/ostiary
work=$(mktemp -d /tmp/ostiary-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export OSTIARY_KEY_ENCRYPTION_KEY=$(openssl rand -base64 32)
cat > "$work/bench.toml" <<TOML
issuer = "$base"
[server]
bind = "127.0.0.1:$port"
data_dir = "$work"
[database]
url = "sqlite://$work/ostiary.db?mode=rwc"
[[clients]]
client_id = "bench-web"
client_name = "Bench web app"
client_secret = "bench-secret-0123456789abcdef0123"
redirect_uris = ["http://127.0.0.1:4201/cb"]
grant_types = ["authorization_code", "refresh_token"]
scope = "openid email"
[[clients]]
client_id = "reports-service"
client_secret = "reports-secret-0123456789abcdef0123"
grant_types = ["client_credentials"]
scope = "api"
TOML
# One account per load-generator connection (parallel sign-ins of a single account would
# trip its lockout, as they should).
for i in $(seq 0 $((CONNS - 1))); do
  echo "bench password 0123" | RUST_LOG=warn "$bin" --config "$work/bench.toml" users add --email "bench$i@example.com" --password-stdin >/dev/null
done
RUST_LOG=warn "$bin" --config "$work/bench.toml" serve >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
sleep 2
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)

echo "Ostiary benchmark: $(nproc) cores, $CONNS connections, ${SECONDS_EACH}s per scenario"
echo
printf '%-28s %s\n' "idle RSS" "$((rss / 1024)) MiB"
wrk_row() {
  local name=$1; shift
  local out; out=$(wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" --latency "$@")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local non2xx; non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '%-28s %10s /s   p50 %10s   p99 %10s%s\n' "$name" "$rps" "$p50" "$p99" "${non2xx:+   ($non2xx non-2xx)}"
}
wrk_row "discovery" "$base/.well-known/openid-configuration"
wrk_row "jwks" "$base/jwks.json"
basic=$(printf 'reports-service:reports-secret-0123456789abcdef0123' | base64 -w0)
cat > "$work/cc.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA
wrk_row "token (client_credentials)" -s "$work/cc.lua" "$base/token"
target/release/ostiary-bench exchange --base "$base" --seconds "$SECONDS_EACH" --connections "$CONNS" | sed 's/^exchange   /code exchange (full)/'
target/release/ostiary-bench signin --base "$base" --seconds "$SECONDS_EACH" --connections "$CONNS" | sed 's/^signin     /password sign-ins   /'
target/release/ostiary-bench argon2
sign=$(openssl speed -multi "$(nproc)" -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $(NF-1)}' | tail -n 1)
printf '%-28s %10s /s   (openssl speed -multi %s rsa2048)\n' "RSA-2048 signing rate" "$sign" "$(nproc)"
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
printf '%-28s %s\n' "RSS after load" "$((rss / 1024)) MiB"
