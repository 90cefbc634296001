#!/usr/bin/env bash
# cpu.sh PID -- LOADGEN ARGS: CPU seconds of PID, of all postgres processes and of the load generator during the run
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
LOADGEN=${LOADGEN:-$root/target/release/examples/loadgen}
[ $# -ge 2 ] || { echo "usage: cpu.sh PID -- LOADGEN ARGS" >&2; exit 2; }
pid=$1; shift; shift
tick=$(getconf CLK_TCK)
pcpu() { awk '{print $14+$15}' /proc/$1/stat 2>/dev/null || echo 0; }
pgcpu() { local s=0; for p in $(pgrep -u postgres); do s=$((s + $(pcpu $p))); done; echo $s; }
d0=$(pcpu $pid); p0=$(pgcpu)
/usr/bin/time -f "loadgen cpu %U+%S s" $LOADGEN "$@" 2>&1 | grep -v signing
d1=$(pcpu $pid); p1=$(pgcpu)
echo "server cpu $(( (d1-d0) ))/$tick s, postgres cpu $(( (p1-p0) ))/$tick s (new backends missed)"
