#!/usr/bin/env bash
# sluice crawl --state --recrawl of an unchanged site: the crawl benchmark
# site (20,000 pages, 10 links, no latency, -c 50) serving an ETag and a
# Last-Modified on every page and 304 to a request that presents them.
# Crawls it once, then recrawls it, and prints both walls, the server's
# 304s and the body bytes it sent during the recrawl. FILLER sets the bytes
# of text on each page before its links (the site's default, 1,710, makes
# pages of about 2.3 KB).
#
#   bench/durable/recrawl.sh
#   FILLER=30000 bench/durable/recrawl.sh
source "$(dirname "$0")/../crawl/lib.sh"
pages=${PAGES:-20000}
build
serve -pages "$pages" -links 10 -validators -filler "${FILLER:-0}"
body() { curl -fsS "$url/__stats" | jq -r '"\(.not_modified) \(.body_bytes)"'; }

measure "$tmp/sluice" crawl -c 50 -q --state "$tmp/state" "$url/p/0"
first=$wall
read -r nm0 bytes0 < <(body)
measure "$tmp/sluice" crawl -c 50 --state "$tmp/state" --recrawl "$url/p/0" 2>"$tmp/summary"
read -r nm1 bytes1 < <(body)
echo "first crawl ${first}s; recrawl ${wall}s ($(awk -v a="$wall" -v b="$first" 'BEGIN {printf "%.2f", a / b}') x)"
echo "recrawl: $((nm1 - nm0)) answered 304, $((bytes1 - bytes0)) body bytes sent"
grep -E "crawled|recrawl:" "$tmp/summary"
echo "records with \"unchanged\":true: $(grep -c '"unchanged":true' "$tmp/state/pages.jsonl")"
