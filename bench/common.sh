# Shared by bench/run.sh and bench/soak.sh (sourced after their arguments are read, with
# `postgres` set to "", "start" or a server URL and CONNS to the number of load connections):
# builds the README's release binary and the load generator, makes a scratch folder and
# database, writes the config (`write_config GC_SECONDS`), creates one account per
# connection, and defines start_server / stop_server / rss (MiB) around "$bin" serve.

# The binary the README's first command runs (`cargo run --release -p ostiary`), built on its
# own so that its features are not unified with the load generator's; then the load generator.
cargo build --release -q -p ostiary
cargo build --release -q -p ostiary-bench
bin=target/release/ostiary
load=target/release/ostiary-bench

work=$(mktemp -d /tmp/ostiary-bench.XXXXXX)
chmod 755 "$work"
pid=""
pg_stop=""
cleanup() {
  [ -n "$pid" ] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
  [ -n "$pg_stop" ] && eval "$pg_stop"
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The database. PostgreSQL gets the pool of the README's PostgreSQL example: with 16 (the
# default) and 64 load connections a core sat partly idle while commits waited.
db_pool=16
case "$postgres" in
  "") db_url="sqlite://$work/ostiary.db?mode=rwc"; db_label="SQLite (embedded, WAL, synchronous=NORMAL)" ;;
  start)
    pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$pgbin" ] || { echo "PostgreSQL is needed for --postgres: apt-get install postgresql" >&2; exit 1; }
    pgport=$(free_port)
    as_pg=(); [ "$(id -u)" = 0 ] && { chown postgres:postgres "$work"; as_pg=(runuser -u postgres --); }
    "${as_pg[@]}" "$pgbin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
    # Default durability (fsync, synchronous_commit on): a commit is acknowledged once on disk.
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
      -o "-p $pgport -k $work -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=512MB" start >/dev/null
    pg_stop="${as_pg[*]} $pgbin/pg_ctl -D $work/pg -m fast stop >/dev/null 2>&1 || true"
    db_url="postgres://postgres@127.0.0.1:$pgport/postgres"; db_pool=32
    db_label="PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') (throwaway cluster, fsync on)" ;;
  *)
    scratch="ostiary_bench_$$"
    psql -q "$postgres" -c "CREATE DATABASE $scratch" >/dev/null
    db_url="${postgres%/*}/$scratch"; db_pool=32
    pg_stop="psql -q '$postgres' -c 'DROP DATABASE IF EXISTS $scratch WITH (FORCE)' >/dev/null 2>&1 || true"
    db_label="PostgreSQL at ${postgres%%@*}@… (database $scratch)" ;;
esac

port=$(free_port)
base="http://127.0.0.1:$port"
export OSTIARY_KEY_ENCRYPTION_KEY=$(openssl rand -base64 32)
write_config() { # $1: gc interval in seconds
  cat > "$work/bench.toml" <<TOML
issuer = "$base"
[server]
bind = "127.0.0.1:$port"
data_dir = "$work"
[database]
url = "$db_url"
max_connections = $db_pool
gc_interval_seconds = $1
# The load comes from one address: the per-address limits would be all it measures.
[limits]
sign_in_per_minute = 0
token_per_minute = 0
introspection_per_minute = 0
revocation_per_minute = 0
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
}
write_config 86400
ostiary() { RUST_LOG=warn "$bin" --config "$work/bench.toml" "$@"; }
ostiary migrate >/dev/null
# One account per load-generator connection (parallel sign-ins of a single account would
# trip its lockout, as they should).
for i in $(seq 0 $((CONNS - 1))); do
  echo "bench password 0123" | ostiary users add --email "bench$i@example.com" --password-stdin --allow-weak-password >/dev/null
done

start_server() {
  # ostiary::jobs at info: run.sh --prefill waits for the collector's "expired rows removed".
  RUST_LOG=warn,ostiary::startup=info,ostiary::jobs=info "$bin" --config "$work/bench.toml" serve >>"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && return; sleep 0.1; done
  echo "the server did not start:" >&2; cat "$work/server.log" >&2; exit 1
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
rss() { echo $(($(awk '/VmRSS/ {print $2}' "/proc/$pid/status") / 1024)); }
