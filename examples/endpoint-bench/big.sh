#!/usr/bin/env bash
# big.sh BIN SEEDED_DB: a fresh process of BIN on a copy of a SQLite file seeded with
# `loadgen seed --deals 100000 --connections 16 --guild 777`: the /log + /advance mix at 32
# connections beside 4 autocomplete users at 40 a second, peak RSS after it; then the mix in a
# fresh workspace of the same server, autocomplete flat out, and peak RSS after all of it.
set -u
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
L=${LOADGEN:-$root/target/release/examples/loadgen}
[ $# -ge 2 ] || { echo "usage: big.sh BIN SEEDED_DB" >&2; exit 2; }
bin=$1; seeded=$2; port=8130
cp "$seeded" /tmp/big.db; rm -f /tmp/big.db-wal /tmp/big.db-shm
K=d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737
DISCORD_APPLICATION_ID=1 DISCORD_PUBLIC_KEY=$K DEALGATE_PLAYBOOK=$root/tests/fixtures/three-stages.toml \
  DATABASE_URL=sqlite:///tmp/big.db RUST_LOG=warn "$bin" serve --http 127.0.0.1:$port >/tmp/big.log 2>&1 &
pid=$!
for _ in $(seq 200); do curl -sf -o /dev/null http://127.0.0.1:$port/healthz && break; sleep 0.05; done
U=http://127.0.0.1:$port/discord/interactions
$L commands --connections 32 --seconds 3 --deals 20 --guild 777 --url $U >/dev/null 2>&1
$L autocomplete --rate 40 --connections 4 --seconds 12 --guild 777 --url $U 2>/dev/null >/tmp/ac.out &
a=$!
$L commands --connections 32 --seconds 10 --deals 20 --guild 777 --url $U 2>&1 | grep requests
echo "peak RSS after the mix with 4 typists: $(grep VmHWM /proc/$pid/status | tr -s ' ')"
wait $a
echo "autocomplete beside it: $(grep -o 'p99 [0-9.]* ms' /tmp/ac.out | head -1)"
$L commands --connections 32 --seconds 10 --deals 20 --guild 9$RANDOM --url $U 2>&1 | grep requests | sed 's/^/fresh workspace, same server: /'
$L autocomplete --connections 4 --seconds 8 --guild 777 --url $U 2>/dev/null | sed 's/^/flat out: /'
echo "peak RSS after all: $(grep VmHWM /proc/$pid/status | tr -s ' ')"
kill $pid
