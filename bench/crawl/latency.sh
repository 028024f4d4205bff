#!/usr/bin/env bash
# Crawl throughput against a slow site (scenario B): 20,000 pages with 10
# links each, every response held 20 ms by the server (CPU 0), crawled by
# `sluice crawl -c 50 --per-host 50` (CPU 1). With 50 requests in flight
# and 20 ms each, no client can go faster than 50 / 0.020 s = 2,500
# pages/s; the script prints each round's rate as a share of that bound,
# and the most requests the server saw at once.
#
# As a control, each round then sends the same number of requests with
# hey -c 50 (a load generator that does no parsing and knows every URL up
# front) to a fresh server, to show what this machine and server allow.
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
	line="$r $wall $rss $cpu $(stats)"
	unserve
	control=0
	if command -v hey >/dev/null; then
		serve -pages "$pages" -links 10 -latency "${latency_ms}ms"
		measure hey -n "$pages" -c $c "$url/p/1"
		control=$(awk '/Requests\/sec/ {print $2}' "$tmp/stdout")
		unserve
	fi
	echo "$line $control"
done >"$tmp/results"

bound=$((c * 1000 / latency_ms))
# Fields of $tmp/results: 1 round, 2 wall s, 3 peak RSS KiB, 4 CPU s,
# 5 unique pages, 6 duplicate fetches, 7 server peak in flight,
# 8 hey requests/s (0 without hey).
echo
echo "| round | wall s | CPU s | unique pages | duplicate fetches | unique pages/s | ÷ bound ($bound/s) | peak RSS KiB | server peak in flight | hey -c $c requests/s | sluice ÷ hey |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
awk -v b="$bound" '{printf "| %d | %.2f | %.2f | %d | %d | %.0f | %.1f%% | %d | %d | %.0f | %.3f |\n",
	$1, $2, $4, $5, $6, $5 / $2, 100 * $5 / $2 / b, $3, $7, $8, $8 ? $5 / $2 / $8 : 0}' "$tmp/results"
med=$(awk '{print $5 / $2}' "$tmp/results" | median)
printf '| median | %.2f | %.2f | | | %.0f | %.1f%% | | max %d | %.0f | %.3f |\n' \
	"$(awk '{print $2}' "$tmp/results" | median)" "$(awk '{print $4}' "$tmp/results" | median)" "$med" \
	"$(awk -v m="$med" -v b="$bound" 'BEGIN {print 100 * m / b}')" "$(awk '{print $7}' "$tmp/results" | sort -n | tail -1)" \
	"$(awk '{print $8}' "$tmp/results" | median)" "$(awk '{print $8 ? $5 / $2 / $8 : 0}' "$tmp/results" | median)"
