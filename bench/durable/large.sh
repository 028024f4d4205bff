#!/usr/bin/env bash
# A large frontier with sluice crawl --state: a synthetic site of
# 10,000,000 pages with LINKS links each (bench/crawl/server, CPU 0),
# crawled with -c 50 (CPU 1) for DURATION seconds, then stopped with
# SIGINT. Samples the crawler's RSS every 5 s; prints peak RSS, RSS at one
# minute and at the end, the pages recorded, the URLs taken in (recorded
# plus queued) and the state dir's bytes per URL. It is a memory figure:
# run it at low priority, without the bench lock.
#
#   DURATION=2280 LINKS=100 nice -n 19 bench/durable/large.sh
source "$(dirname "$0")/../crawl/lib.sh"
duration=${DURATION:-300}
links=${LINKS:-100}
build
serve -pages 10000000 -links "$links"
taskset -c 1 "$tmp/sluice" crawl -c 50 --state "$tmp/state" "$url/p/0" 2>"$tmp/summary" &
pid=$!
echo "| s | RSS MiB | records | state dir MiB |"
echo "|---:|---:|---:|---:|"
peak=0 at60=
start=$(date +%s)
while (($(date +%s) - start < duration)); do
	sleep 5
	s=$(($(date +%s) - start))
	rss=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status")
	((rss > peak)) && peak=$rss
	[ -z "$at60" ] && ((s >= 60)) && at60=$rss
	# Every minute in the table; every sample in the peak.
	if ((s % 60 < 5)); then
		echo "| $s | $rss | $(wc -l <"$tmp/state/pages.jsonl") | $(du -sm "$tmp/state/db" | cut -f1) |"
	fi
done
end=$rss
kill -INT "$pid"
wait "$pid" || true
records=$(wc -l <"$tmp/state/pages.jsonl")
queued=$(grep -oE 'stopped with [0-9,]+' "$tmp/summary" | tr -dc 0-9)
bytes=$(du -sb "$tmp/state/db" | cut -f1)
echo
grep -E "crawled|stopped" "$tmp/summary" || true
echo "RSS MiB: peak $peak (sampled every 5 s), at 1 min ${at60:-?}, at the end $end"
echo "$records pages recorded, ${queued:-0} URLs queued: $((records + ${queued:-0})) URLs taken in"
echo "state dir (db) $bytes bytes: $(awk -v b="$bytes" -v n=$((records + ${queued:-0})) 'BEGIN {printf "%.1f", b / n}') bytes per URL taken in"
