#!/usr/bin/env bash
# Crawl throughput and memory, sluice against Colly (scenario A): a
# synthetic site of 20,000 pages with 10 links each (bench/crawl/server,
# CPU 0) crawled from /p/0 by `sluice crawl -c 50` and by an idiomatic
# Colly v2 crawler with parallelism 50 (bench/crawl/colly), each on CPU 1
# under GNU time. Every round starts a fresh server per crawler and
# alternates which crawler goes first. Prints Markdown tables: every round,
# the medians, and the ratios sluice ÷ Colly.
#
#   ROUNDS=5 bench/crawl/run.sh
source "$(dirname "$0")/lib.sh"
rounds=${ROUNDS:-5}
pages=${PAGES:-20000}
build

# crawl NAME: serve a fresh site, crawl it, print
# "NAME wall rss cpu unique duplicates peak_in_flight".
crawl() {
	serve -pages "$pages" -links 10
	case $1 in
	sluice) measure "$tmp/sluice" crawl -c 50 -q -o /dev/null "$url/p/0" ;;
	colly) measure "$tmp/colly" -c 50 "$url/p/0" ;;
	esac
	echo "$1 $wall $rss $cpu $(stats)"
	unserve
}

for r in $(seq "$rounds"); do
	if ((r % 2)); then order="colly sluice"; else order="sluice colly"; fi
	for name in $order; do
		echo "$r $(crawl "$name")"
	done
done >"$tmp/results"

# Fields of $tmp/results: 1 round, 2 crawler, 3 wall s, 4 peak RSS KiB,
# 5 CPU s, 6 unique pages, 7 duplicate fetches, 8 server peak in flight.
echo
echo "| round | crawler | wall s | CPU s | unique pages | duplicate fetches | unique pages/s | peak RSS KiB | server peak in flight |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
awk '{printf "| %d | %s | %.2f | %.2f | %d | %d | %.0f | %d | %d |\n", $1, $2, $3, $5, $6, $7, $6 / $3, $4, $8}' "$tmp/results"

col() { awk -v n="$1" -v k="$2" '$2 == n {print $k}' "$tmp/results"; }
pps() { awk -v n="$1" '$2 == n {print $6 / $3}' "$tmp/results"; }
echo
echo "| crawler (median of $rounds) | wall s | CPU s | unique pages | duplicate fetches | unique pages/s | peak RSS KiB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for name in sluice colly; do
	printf '| %s | %.2f | %.2f | %d | %d | %.0f | %d |\n' "$name" \
		"$(col "$name" 3 | median)" "$(col "$name" 5 | median)" "$(col "$name" 6 | median)" \
		"$(col "$name" 7 | median)" "$(pps "$name" | median)" "$(col "$name" 4 | median)"
done

# Same-round ratios: each round runs the crawlers back to back, so a ratio
# taken within a round cancels some of the machine's drift.
ratios=$(awk -v n="$rounds" '{pps[$1, $2] = $6 / $3; rss[$1, $2] = $4}
	END {for (r = 1; r <= n; r++) print r, pps[r, "sluice"] / pps[r, "colly"], rss[r, "sluice"] / rss[r, "colly"]}' "$tmp/results")
echo
echo "| round | unique pages/s, sluice ÷ colly | peak RSS, sluice ÷ colly |"
echo "|---:|---:|---:|"
awk '{printf "| %d | %.2f | %.3f |\n", $1, $2, $3}' <<<"$ratios"
printf '| median | %.2f | %.3f |\n' "$(awk '{print $2}' <<<"$ratios" | median)" "$(awk '{print $3}' <<<"$ratios" | median)"
