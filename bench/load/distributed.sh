#!/usr/bin/env bash
# distributed.sh: two sluice workers meet in Redis and share --rate RATE
# for DURATION against nginx (CPU 0); both workers on CPU 1. Prints each
# merged second's planned and achieved (sent) requests, and checks the
# bars: every second after the first within 1% of RATE, and the merged
# report's requests equal to the sum of the workers'. Needs jq and
# redis-server.
#   usage: bench/load/distributed.sh [RATE] [DURATION]     (from the repo root)
set -euo pipefail
rate=${1:-10000} dur=${2:-10s} port=${PORT:-18084} rport=${REDIS_PORT:-18085}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap '"$here/nginx.sh" stop "$tmp"; kill "$redis" 2>/dev/null || true; rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/sluice" ./cmd/sluice)
"$here/nginx.sh" start "$tmp" "$port"
redis-server --port "$rport" --bind 127.0.0.1 --dir "$tmp" --save '' --appendonly no >"$tmp/redis.log" &
redis=$!
for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
run=bench-$$
url=http://127.0.0.1:$port/1k
for w in 1 2; do
	taskset -c 1 "$tmp/sluice" load -q --redis "redis://127.0.0.1:$rport/0" --run "$run" --workers 2 \
		--rate "$rate" -d "$dur" --json "$tmp/w$w.json" "$url" >"$tmp/w$w.txt" &
done
wait %2 %3
echo "| second | planned | sent | sent ÷ planned | p99 (ms) |"
echo "|---:|---:|---:|---:|---:|"
jq -r '.seconds[] | select(.target > 0) | "| \(.t) | \(.target) | \(.sent) | \((.sent / .target * 10000 | round) / 10000) | \(.p99_ms) |"' "$tmp/w1.json"
bad=$(jq --argjson r "$rate" '[.seconds[] | select(.t >= 1 and .target > 0) | select((.sent - $r) / $r | fabs > 0.01)] | length' "$tmp/w1.json")
jq -r '"workers: " + ([.workers[] | "\(.name) \(.state) \(.requests)"] | join(", ")) + "; merged requests \(.requests), sum of workers \([.workers[].requests] | add)"' "$tmp/w1.json"
sum_ok=$(jq '.requests == ([.workers[].requests] | add)' "$tmp/w1.json")
same=$(jq -s '.[0].requests == .[1].requests' "$tmp/w1.json" "$tmp/w2.json")
echo "seconds after the first more than 1% off $rate: $bad; requests add up: $sum_ok; both workers report the same merge: $same"
[ "$bad" -eq 0 ] && [ "$sum_ok" = true ] && [ "$same" = true ]
