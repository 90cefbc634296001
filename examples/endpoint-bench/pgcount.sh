#!/usr/bin/env bash
# pgcount.sh BIN MODE: what PostgreSQL ran per command, one connection.
# MODE: log | advance | autocomplete (autocomplete over 2,000 deals)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
LOADGEN=${LOADGEN:-$root/target/release/examples/loadgen}
[ $# -ge 2 ] || { echo "usage: pgcount.sh BIN log|both|autocomplete" >&2; exit 2; }
bin=$1; mode=$2; port=8085
K=d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737
LG=$LOADGEN
psql -q postgres://postgres@127.0.0.1:5432/postgres -c "DROP DATABASE IF EXISTS bench$port" -c "CREATE DATABASE bench$port" 2>/dev/null
url=postgres://postgres@127.0.0.1:5432/bench$port
serve() {
  DISCORD_APPLICATION_ID=1 DISCORD_PUBLIC_KEY=$K DEALGATE_PLAYBOOK=$root/tests/fixtures/three-stages.toml \
    DATABASE_URL=$url RUST_LOG=warn "$bin" serve --http 127.0.0.1:$port >/tmp/pgcount.log 2>&1 &
  pid=$!
  for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
}
run() {
  case $mode in
    autocomplete) $LG autocomplete --connections 1 --seconds $1 --guild 4242 --url http://127.0.0.1:$port/discord/interactions 2>/dev/null ;;
    *) $LG commands --only $mode --connections ${CONNS:-1} --seconds $1 --deals 5 --guild $2 --url http://127.0.0.1:$port/discord/interactions 2>/dev/null ;;
  esac
}
serve
if [ $mode = autocomplete ]; then $LG seed --deals 2000 --connections 4 --guild 4242 --url http://127.0.0.1:$port/discord/interactions >/dev/null 2>&1; fi
run 1 4242 >/dev/null
kill $pid; wait $pid 2>/dev/null || true
psql -q $url -c "ALTER DATABASE bench$port SET log_statement = 'all'"
serve
log=/var/log/postgresql/postgresql-15-main.log
start=$(wc -l <$log)
run 2 4343 | tee /tmp/pgcount.out
kill $pid; wait $pid 2>/dev/null || true
psql -q $url -c "ALTER DATABASE bench$port RESET log_statement"
tail -n +$((start+1)) $log | grep -E "LOG:  (statement|execute)" | sed -E 's/.*LOG:  (statement|execute [^:]*): //' | cut -c1-80 | sort | uniq -c | sort -rn | head -30
