#!/usr/bin/env bash
# findmax.sh: does --find-max find a server's capacity? capserver serves N
# requests at a time for SERVICE each (capacity N/SERVICE), pinned to CPU 0;
# hey measures its capacity (-c 50, closed model), then sluice load
# --find-max 'p99<100ms' searches, both on CPU 1, in the same run. The bar:
# the maximum found lies within [0.75, 1.05] × the measured capacity.
#   usage: bench/load/findmax.sh [N] [SERVICE] [STEP]    (from the repo root)
set -euo pipefail
n=${1:-4} service=${2:-10ms} step=${3:-5s} port=${PORT:-18090}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'kill "$srv" 2>/dev/null || true; rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/sluice" ./cmd/sluice)
(cd "$root/bench" && go build -o "$tmp/capserver" ./load/capserver)
taskset -c 0 "$tmp/capserver" -addr "127.0.0.1:$port" -n "$n" -service "$service" &
srv=$!
url=http://127.0.0.1:$port/
for _ in $(seq 50); do curl -fs -o /dev/null "$url" && break; sleep 0.1; done
capacity=$(taskset -c 1 hey -c 50 -z 5s "$url" | awk '/Requests\/sec/ {print $2}')
taskset -c 1 "$tmp/sluice" load -q --find-max 'p99<100ms' --step "$step" --min 20 -c 200 --json "$tmp/max.json" "$url" >"$tmp/max.txt" || true
cat "$tmp/max.txt"
max=$(jq .max_rps "$tmp/max.json")
ratio=$(awk -v m="$max" -v c="$capacity" 'BEGIN {printf "%.3f", m / c}')
echo
echo "| server (N=$n at a time, $service each) | capacity by hey -c 50 (req/s) | --find-max 'p99<100ms' (req/s) | found ÷ capacity |"
echo "|---|---:|---:|---:|"
printf '| capserver | %.0f | %.1f | %s |\n' "$capacity" "$max" "$ratio"
awk -v r="$ratio" 'BEGIN {exit !(r >= 0.75 && r <= 1.05)}'
