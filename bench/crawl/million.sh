#!/usr/bin/env bash
# Crawl memory at scale (scenario C): a synthetic site of 1,000,000 pages
# with 10 links each (server on CPU 0), crawled to the end with no depth
# limit by `sluice crawl -c 50` (CPU 1). Prints wall time, peak RSS, pages,
# duplicate fetches and peak RSS per URL the crawler knew of (every page is
# reachable, so that is the number of pages).
#
#   bench/crawl/million.sh            # 1,000,000 pages
#   PAGES=100000 bench/crawl/million.sh
source "$(dirname "$0")/lib.sh"
pages=${PAGES:-1000000}
build

serve -pages "$pages" -links 10
measure "$tmp/sluice" crawl -c 50 -q -o /dev/null "$url/p/0"
read -r unique dups peak < <(stats)
unserve

echo
echo "| pages on site | wall s | CPU s | unique pages | duplicate fetches | unique pages/s | peak RSS KiB | peak RSS MB | peak RSS bytes per URL | server peak in flight |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
awk -v p="$pages" -v w="$wall" -v c="$cpu" -v u="$unique" -v d="$dups" -v r="$rss" -v f="$peak" \
	'BEGIN {printf "| %d | %.1f | %.1f | %d | %d | %.0f | %d | %.1f | %.0f | %d |\n", p, w, c, u, d, u / w, r, r * 1024 / 1e6, r * 1024 / u, f}'
