#!/usr/bin/env bash
# A large frontier with sluice crawl --state: a synthetic site of PAGES
# pages with LINKS links each (bench/crawl/server, CPU 0), crawled with
# -c 50 (CPU 1) until it has taken in TARGET URLs (recorded, queued or in
# flight) or for DURATION seconds, whichever comes first, then stopped with
# SIGINT. Samples the crawler's RSS every 5 s; prints a row a minute, the
# peak RSS, the RSS at one minute and at the end, the pages recorded, the
# URLs taken in and the state dir's bytes per URL. It is a memory figure:
# run it at low priority, without the bench lock.
#
# The site has 50,000,000 pages by default, five times the 10,000,000 URLs
# the crawl is to take in: its links are spread evenly over its pages, so
# a site of exactly TARGET pages is found ever more slowly as the crawl
# nears the whole of it. The taken-in count during the run is read from
# the crawl's progress line, which sluice draws only on a terminal: the
# crawl runs under script(1), whose pseudo-terminal is its stderr.
#
#   nice -n 19 bench/durable/large.sh
#   PAGES=10000000 TARGET=0 DURATION=2280 nice -n 19 bench/durable/large.sh
#
# TARGET=0 runs for DURATION seconds.
source "$(dirname "$0")/../crawl/lib.sh"
command -v script >/dev/null || { echo "needs script (util-linux)" >&2; exit 1; }
duration=${DURATION:-3600}
links=${LINKS:-100}
pages=${PAGES:-50000000}
target=${TARGET:-10000000}
build
serve -pages "$pages" -links "$links"
# The pseudo-terminal of script(1) is the crawl's stderr: its progress
# line ("N URLs, F failed, Q queued, I in flight ...") and its summary go
# to $tmp/tty. exec makes the crawl script's child, so that $pid is its.
script -qfec "exec taskset -c 1 '$tmp/sluice' crawl -c 50 --state '$tmp/state' '$url/p/0'" /dev/null >"$tmp/tty" </dev/null &
spid_script=$!
pid=
for _ in $(seq 100); do
	pid=$(pgrep -P "$spid_script" || true)
	[ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe")" = "$tmp/sluice" ] && break
	pid=
	sleep 0.05
done
[ -n "$pid" ] || { echo "crawl did not start" >&2; exit 1; }

# taken prints the URLs taken in by the last progress line: records,
# queued and in flight.
taken() {
	tail -c 400 "$tmp/tty" | tr '\r' '\n' | grep -E 'queued' | tail -1 |
		sed -E 's/\x1b\[K//g; s/,//g' |
		awk '{for (i = 1; i < NF; i++) {if ($(i+1) ~ /^URLs?$/) r = $i; if ($(i+1) == "queued") q = $i; if ($(i+1) == "in") f = $i}} END {print r + q + f}'
}

echo "PAGES=$pages LINKS=$links TARGET=$target DURATION=$duration"
echo
echo "| s | RSS MiB | records | URLs taken in | state dir MiB |"
echo "|---:|---:|---:|---:|---:|"
peak=0 at60= n=0 reached= row=60
start=$(date +%s)
while (($(date +%s) - start < duration)); do
	sleep 5
	s=$(($(date +%s) - start))
	rss=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status")
	((rss > peak)) && peak=$rss
	[ -z "$at60" ] && ((s >= 60)) && at60=$rss
	n=$(taken)
	# The first sample of each minute in the table; every sample in the
	# peak.
	if ((s >= row)) || { ((target > 0)) && ((n >= target)); }; then
		row=$((s / 60 * 60 + 60))
		echo "| $s | $rss | $(wc -l <"$tmp/state/pages.jsonl") | $n | $(du -sm "$tmp/state/db" | cut -f1) |"
	fi
	if ((target > 0)) && ((n >= target)); then
		reached=$s
		break
	fi
done
end=$rss
kill -INT "$pid"
wait "$spid_script" || true
tr '\r' '\n' <"$tmp/tty" | sed -E 's/\x1b\[K//g' | grep -vE 'in flight' >"$tmp/summary"
records=$(wc -l <"$tmp/state/pages.jsonl")
queued=$(grep -oE 'stopped with [0-9,]+' "$tmp/summary" | tr -dc 0-9)
bytes=$(du -sb "$tmp/state/db" | cut -f1)
echo
grep -E "crawled|stopped" "$tmp/summary" || true
echo "RSS MiB: peak $peak (sampled every 5 s), at 1 min ${at60:-?}, at the end $end"
[ -n "$reached" ] && echo "$target URLs taken in after $reached s"
echo "$records pages recorded, ${queued:-0} URLs queued: $((records + ${queued:-0})) URLs taken in"
echo "state dir (db) $bytes bytes: $(awk -v b="$bytes" -v n=$((records + ${queued:-0})) 'BEGIN {printf "%.1f", b / n}') bytes per URL taken in"
