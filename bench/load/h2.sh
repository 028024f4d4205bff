#!/usr/bin/env bash
# h2.sh: sluice load --http2 vs h2load (Debian nghttp2-client) against
# nginx speaking HTTP/2 over cleartext (h2c, prior knowledge), nginx on
# CPU 0 and the clients on CPU 1. Both keep 50 requests in flight: h2load
# on one connection with 50 concurrent streams (-c 1 -m 50), sluice with
# 50 workers, which its HTTP/2 engine puts on one connection the same way
# (each round prints the connections sluice opened, which must be 1).
# ROUNDS rounds of DURATION, interleaved; prints the medians and the median
# of the per-round ratios.
#   usage: bench/load/h2.sh [ROUNDS] [DURATION]     (from the repo root)
set -euo pipefail
rounds=${1:-5} dur=${2:-5} port=${PORT:-18083}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap '"$here/nginx.sh" stop "$tmp"; rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/sluice" ./cmd/sluice)
"$here/nginx.sh" start "$tmp" "$port" h2c
url=http://127.0.0.1:$port/1k
for r in $(seq "$rounds"); do
	h=$(taskset -c 1 h2load -t1 -c1 -m50 -D "$dur" "$url" | awk '/^finished in/ {gsub(",", "", $4); print $4}')
	taskset -c 1 "$tmp/sluice" load -q --http2 -c 50 -d "${dur}s" --json "$tmp/s.json" "$url" >/dev/null
	s=$(grep -m1 '"rps"' "$tmp/s.json" | tr -dc '0-9.')
	c=$(grep -m1 '"conns_opened"' "$tmp/s.json" | tr -dc '0-9')
	echo "round $r: h2load $h  sluice $s (connections $c)" >&2
	echo "$h $s" >>"$tmp/rounds"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
h=$(cut -d' ' -f1 "$tmp/rounds" | median)
s=$(cut -d' ' -f2 "$tmp/rounds" | median)
ratio=$(awk '{print $2 / $1}' "$tmp/rounds" | median)
echo "| client (HTTP/2 h2c, 50 streams in flight, client on CPU 1, nginx on CPU 0) | requests/s (median of $rounds × ${dur}s) | sluice ÷ h2load (median of per-round ratios) |"
echo "|---|---:|---:|"
printf '| h2load -c1 -m50 | %.0f | %.3f |\n' "$h" "$ratio"
printf '| sluice load --http2 -c 50 | %.0f | 1 |\n' "$s"
