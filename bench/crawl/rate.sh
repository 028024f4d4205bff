#!/usr/bin/env bash
# Rate accuracy of sluice crawl (server on CPU 0, crawler on CPU 1): for
# each target rate R, crawls 4·R pages of a 100,000-page site with
# --rate R (all hosts) and then --host-rate R (per host, paced start to
# start), and prints the pages/s achieved as a share of the target. The
# crawl's own summary line gives the rate; robots.txt is one extra request.
#
#   bench/crawl/rate.sh [RATE...]     (default: 200 1000 3000)
source "$(dirname "$0")/lib.sh"
rates=("$@")
((${#rates[@]})) || rates=(200 1000 3000)
build

echo "| flag | target pages/s | pages | seconds | achieved pages/s | ÷ target |"
echo "|---|---:|---:|---:|---:|---:|"
for r in "${rates[@]}"; do
	for flag in --rate --host-rate; do
		serve -pages 100000 -links 10
		taskset -c 1 "$tmp/sluice" crawl -c 50 "$flag" "$r" --max-pages $((4 * r)) -o /dev/null "$url/p/0" 2>"$tmp/summary"
		unserve
		# "crawled N pages in S s (P pages/s): ..."
		awk -v f="$flag" -v r="$r" '/^crawled/ {gsub(/[()s]/, "", $5); gsub(/\(/, "", $6);
			printf "| %s | %d | %d | %.2f | %.1f | %.4f |\n", f, r, $2, $5, $2 / $5, $2 / $5 / r}' "$tmp/summary"
	done
done
