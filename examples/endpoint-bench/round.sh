#!/usr/bin/env bash
# round.sh sqlite|postgres ROUNDS: interleaved before / after / yardstick, /log then the mix, 32 connections, 10 s each
set -u
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
LOADGEN=${LOADGEN:-$root/target/release/examples/loadgen}
[ $# -ge 2 ] || { echo "usage: round.sh sqlite|postgres ROUNDS (BEFORE=dealgate binary to compare against)" >&2; exit 2; }
: "${BEFORE:?set BEFORE to the dealgate binary to compare against}"
[ -x "$BEFORE" ] || { echo "BEFORE=$BEFORE is not an executable" >&2; exit 2; }
backend=$1; rounds=$2
LG=$LOADGEN
cd "$root"
case $backend in sqlite) yport=8091 ;; postgres) yport=8092 ;; *) echo "usage: round.sh sqlite|postgres ROUNDS" >&2; exit 2 ;; esac
../shared/bench-anchors/yardstick.sh $backend $yport >/dev/null 2>&1
B=$("$here/bench.sh" "${BEFORE:?set BEFORE to the dealgate binary to compare against}" $backend 8082)
A=$("$here/bench.sh" "${AFTER:-$root/target/release/dealgate}" $backend 8080)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq $rounds); do
  for only in log both; do
    order="8082/discord/interactions 8080/discord/interactions $yport/interactions"
    [ $((r % 2)) = 0 ] && order="8080/discord/interactions 8082/discord/interactions $yport/interactions"
    for u in $order; do
      printf "round %s %-5s %-28s " $r $only $u
      $LG commands --only $only --connections 32 --seconds 10 --deals 20 --url http://127.0.0.1:$u 2>/dev/null | sed 's/over 32 connections for //'
    done
  done
done
echo "-- steady 1,000/s, /log + /advance"
for u in 8080/discord/interactions $yport/interactions; do
  printf "%-28s " $u; $LG commands --rate 1000 --connections 32 --seconds 10 --deals 20 --url http://127.0.0.1:$u 2>/dev/null | sed 's/over 32 connections for //'
done
echo "peak RSS: after $(grep VmHWM /proc/$A/status | tr -s ' '), before $(grep VmHWM /proc/$B/status | tr -s ' ')"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
kill $A $B; pkill -f release/server
