#!/usr/bin/env bash
# cpucmp.sh BACKEND ONLY RATE ROUNDS BIN... : CPU per command of each build at a fixed rate, interleaved
set -u
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
[ $# -ge 5 ] || { echo "usage: cpucmp.sh sqlite|postgres log|advance|both RATE ROUNDS BIN... (SECS=10)" >&2; exit 2; }
backend=$1; only=$2; rate=$3; rounds=$4; shift 4
export LOADGEN=${LOADGEN:-$root/target/release/examples/loadgen}
port=8100; pids=(); ports=()
for b in "$@"; do
  p=$("$here/bench.sh" "$b" $backend $port); pids+=($p); ports+=($port)
  $LOADGEN commands --only $only --connections 32 --seconds 3 --deals 20 --url http://127.0.0.1:$port/discord/interactions >/dev/null 2>&1
  port=$((port+1))
done
for r in $(seq $rounds); do
  for i in "${!pids[@]}"; do
    out=$("$here/cpu.sh" ${pids[$i]} -- commands --only $only --rate $rate --connections 32 --seconds ${SECS:-10} --deals 20 --url http://127.0.0.1:${ports[$i]}/discord/interactions 2>&1)
    n=$(echo "$out" | grep -o '[0-9]* requests' | grep -o '[0-9]*')
    s=$(echo "$out" | sed -n 's/.*server cpu \([0-9]*\)\/100 s.*/\1/p'); pg=$(echo "$out" | sed -n 's/.*postgres cpu \([0-9]*\)\/100 s.*/\1/p')
    p99=$(echo "$out" | grep -o "p50 [0-9.]* ms, p99 [0-9.]* ms")
    echo "round $r $(basename $(readlink -f /proc/${pids[$i]}/exe)) n=$n server=$(echo "scale=1; $s*10000/$n" | bc) us/cmd pg=$(echo "scale=1; $pg*10000/$n" | bc) us/cmd $p99"
  done
done
kill "${pids[@]}"
