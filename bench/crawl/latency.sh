#!/usr/bin/env bash
# Crawl throughput against a slow site (scenario B): 20,000 pages with 10
# links each, every response held 20 ms by the server (CPU 0), crawled by
# `sluice crawl -c 50 --per-host 50` (CPU 1). With 50 requests in flight
# and 20 ms each, no crawler can go faster than 50 / 0.020 s = 2,500
# pages/s; the script prints each round's rate as a share of that bound,
# and the most requests the server saw at once.
#
#   ROUNDS=3 bench/crawl/latency.sh
source "$(dirname "$0")/lib.sh"
rounds=${ROUNDS:-3}
pages=${PAGES:-20000}
c=50
latency_ms=20
build

for r in $(seq "$rounds"); do
	serve -pages "$pages" -links 10 -latency "${latency_ms}ms"
	measure "$tmp/sluice" crawl -c $c --per-host $c -q -o /dev/null "$url/p/0"
	echo "$r $wall $rss $(stats)"
	unserve
done >"$tmp/results"

bound=$((c * 1000 / latency_ms))
echo
echo "| round | wall s | unique pages | duplicate fetches | unique pages/s | ÷ bound ($bound/s) | peak RSS KiB | server peak in flight |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
awk -v b="$bound" '{printf "| %d | %.2f | %d | %d | %.0f | %.1f%% | %d | %d |\n", $1, $2, $4, $5, $4 / $2, 100 * $4 / $2 / b, $3, $6}' "$tmp/results"
med=$(awk '{print $4 / $2}' "$tmp/results" | median)
printf '| median | %.2f | | | %.0f | %.1f%% | | %d |\n' "$(awk '{print $2}' "$tmp/results" | median)" "$med" \
	"$(awk -v m="$med" -v b="$bound" 'BEGIN {print 100 * m / b}')" "$(awk '{print $6}' "$tmp/results" | sort -n | tail -1)"
