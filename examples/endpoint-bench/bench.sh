#!/usr/bin/env bash
# bench.sh BIN BACKEND(sqlite|postgres) PORT -- serve BIN on a fresh database; prints pid
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
LOADGEN=${LOADGEN:-$root/target/release/examples/loadgen}
[ $# -ge 3 ] || { echo "usage: bench.sh BIN sqlite|postgres PORT" >&2; exit 2; }
bin=$1; backend=$2; port=$3
K=d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737
case $backend in
  sqlite) rm -f /tmp/bench-$port.db*; url=sqlite:///tmp/bench-$port.db ;;
  postgres) psql -q postgres://postgres@127.0.0.1:5432/postgres -c "DROP DATABASE IF EXISTS bench$port" -c "CREATE DATABASE bench$port" >/dev/null; url=postgres://postgres@127.0.0.1:5432/bench$port${PGQUERY:-} ;;
  *) echo "usage: bench.sh BIN sqlite|postgres PORT" >&2; exit 2 ;;
esac
DISCORD_APPLICATION_ID=1 DISCORD_PUBLIC_KEY=$K DEALGATE_PLAYBOOK=$root/tests/fixtures/three-stages.toml \
  DATABASE_URL=$url RUST_LOG=${RUST_LOG:-warn} "$bin" serve --http 127.0.0.1:$port >/tmp/bench-$port.log 2>&1 &
pid=$!
for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
echo $pid
