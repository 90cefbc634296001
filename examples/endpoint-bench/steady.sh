#!/usr/bin/env bash
# steady.sh BIN sqlite|postgres RUNS: p99 at a steady 1,000 commands/s (the /log + /advance mix,
# 32 connections, 10 s), dealgate against the yardstick, interleaved, each warmed 3 s flat out
# first. Each run's timeline (p99 by the second the requests were sent) goes to stderr.
set -u
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
LG=${LOADGEN:-$root/target/release/examples/loadgen}
[ $# -ge 3 ] || { echo "usage: steady.sh BIN sqlite|postgres RUNS" >&2; exit 2; }
bin=$1; backend=$2; runs=$3
[ -x "$bin" ] || { echo "BIN=$bin is not an executable" >&2; exit 2; }
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "RUNS=$runs is not a number of runs (1 or more)" >&2; exit 2; }
case $backend in sqlite) yport=8091 ;; postgres) yport=8092 ;; *) echo "usage: steady.sh BIN sqlite|postgres RUNS" >&2; exit 2 ;; esac
cd "$root"
../shared/bench-anchors/yardstick.sh "$backend" $yport >/dev/null 2>&1
A=$("$here/bench.sh" "$bin" "$backend" 8080)
urls="8080/discord/interactions $yport/interactions"
for u in $urls; do $LG commands --connections 32 --seconds 3 --deals 20 --url "http://127.0.0.1:$u" >/dev/null 2>&1; done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$runs"); do
  for u in $urls; do
    printf "run %s %-26s " "$r" "$u"
    $LG commands --rate 1000 --connections 32 --seconds 10 --deals 20 --url "http://127.0.0.1:$u" --timeline 2>/tmp/steady-timeline-$r-${u%%/*}.txt | sed 's/over 32 connections for //'
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
kill "$A"; pkill -f release/server
