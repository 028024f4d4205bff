#!/usr/bin/env bash
# A large frontier with sluice crawl --state: a synthetic site of
# 10,000,000 pages with 50 links each (bench/crawl/server, CPU 0), crawled
# with -c 50 (CPU 1) for DURATION seconds, then stopped with SIGINT. Prints
# the crawler's RSS every 10 s, the URLs taken in (recorded plus queued),
# and the state dir's bytes per URL.
#
#   DURATION=300 bench/durable/large.sh
source "$(dirname "$0")/../crawl/lib.sh"
duration=${DURATION:-300}
build
serve -pages 10000000 -links 50
taskset -c 1 "$tmp/sluice" crawl -c 50 --state "$tmp/state" "$url/p/0" 2>"$tmp/summary" &
pid=$!
echo "| s | RSS MiB | records | state dir MiB |"
echo "|---:|---:|---:|---:|"
peak=0
for ((s = 10; s <= duration; s += 10)); do
	sleep 10
	rss=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status")
	((rss > peak)) && peak=$rss
	echo "| $s | $rss | $(wc -l <"$tmp/state/pages.jsonl") | $(du -sm "$tmp/state/db" | cut -f1) |"
done
kill -INT "$pid"
wait "$pid" || true
records=$(wc -l <"$tmp/state/pages.jsonl")
queued=$(grep -oE 'stopped with [0-9,]+' "$tmp/summary" | tr -dc 0-9)
bytes=$(du -sb "$tmp/state/db" | cut -f1)
echo
echo "peak RSS sampled ${peak} MiB; $records pages recorded, ${queued:-0} URLs queued"
echo "state dir (db) $bytes bytes: $(awk -v b="$bytes" -v n=$((records + ${queued:-0})) 'BEGIN {printf "%.1f", b / n}') bytes per URL taken in"
