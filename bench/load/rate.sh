#!/usr/bin/env bash
# rate.sh: open-model rate accuracy. sluice load --rate RATE -d DURATION
# against nginx (CPU 0) with the client on CPU 1; prints each second's
# planned and sent requests and fails if any second after the first is off
# by more than 1%. Needs jq.
#   usage: bench/load/rate.sh [RATE] [DURATION]     (from the repo root)
set -euo pipefail
rate=${1:-10000} dur=${2:-10s} port=${PORT:-18082}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap '"$here/nginx.sh" stop "$tmp"; rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/sluice" ./cmd/sluice)
"$here/nginx.sh" start "$tmp" "$port"
taskset -c 1 "$tmp/sluice" load -q --rate "$rate" -d "$dur" --json "$tmp/r.json" "http://127.0.0.1:$port/1k" >&2
echo "| second | planned | sent | sent ÷ planned | p99 (ms) |"
echo "|---:|---:|---:|---:|---:|"
jq -r '.seconds[] | select(.target > 0) | "| \(.t) | \(.target) | \(.sent) | \((.sent / .target * 10000 | round) / 10000) | \(.p99_ms) |"' "$tmp/r.json"
bad=$(jq '[.seconds[] | select(.t >= 1 and .target > 0) | select((.sent - .target) / .target | fabs > 0.01)] | length' "$tmp/r.json")
echo
echo "seconds after the first off by more than 1%: $bad"
[ "$bad" -eq 0 ]
