#!/usr/bin/env bash
# memory.sh: RSS of sluice load over a long open-model run at RATE req/s
# against nginx (CPU 0, client CPU 1), sampled every 10 s. Prints the
# samples and checks that after the first minute RSS stays within 10% of
# its value at 60 s.
#   usage: bench/load/memory.sh [DURATION_S] [RATE]     (default 600 20000)
set -euo pipefail
secs=${1:-600} rate=${2:-20000} port=${PORT:-18083}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap '"$here/nginx.sh" stop "$tmp"; rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/sluice" ./cmd/sluice)
"$here/nginx.sh" start "$tmp" "$port"
taskset -c 1 "$tmp/sluice" load -q --rate "$rate" -d "${secs}s" --json "$tmp/r.json" "http://127.0.0.1:$port/1k" >"$tmp/out.txt" &
pid=$!
echo "| t (s) | RSS (MiB) |"
echo "|---:|---:|"
base=0 worst=0
for t in $(seq 10 10 "$secs"); do
	sleep 10
	kb=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
	[ "$kb" -eq 0 ] && break
	printf '| %d | %.1f |\n' "$t" "$(echo "$kb / 1024" | bc -l)"
	[ "$t" -eq 60 ] && base=$kb
	if [ "$base" -gt 0 ] && [ "$t" -gt 60 ]; then
		dev=$(echo "d = ($kb - $base) / $base * 100; if (d < 0) -d else d" | bc -l)
		worst=$(echo "if ($dev > $worst) $dev else $worst" | bc -l)
	fi
done
wait "$pid"
echo
grep -E 'requests|rate |plan ' "$tmp/out.txt" | sed 's/^ */    /'
if [ "$base" -gt 0 ]; then
	printf 'largest RSS change after 60 s: %.1f%% of the 60 s value (bar: 10%%)\n' "$worst"
	[ "$(echo "$worst <= 10" | bc)" -eq 1 ]
fi
