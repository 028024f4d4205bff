#!/usr/bin/env bash
# Peak RSS of `sluice fetch` and `sluice crawl` against the hostile server
# (bench/hostile/server, CPU 0) with the client on CPU 1, one case of
# issue 12 per row. Prints a Markdown table.
#
#   bench/hostile/memory.sh              build sluice from this tree
#   SLUICE=/path/to/sluice bench/hostile/memory.sh   measure another build
#   CASES="bombs headers" bench/hostile/memory.sh    only these cases
set -euo pipefail
cd "$(dirname "$0")/../.."
ulimit -n 65536 2>/dev/null || true
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
if [[ -z ${SLUICE:-} ]]; then
	go build -o "$tmp/sluice" ./cmd/sluice
	SLUICE=$tmp/sluice
fi
(cd bench && go build -o "$tmp/server" ./hostile/server)
cases=${CASES:-"sitemaps line headers tree treecap bombs"}
port=18300

# serve ROBOTS: start the hostile server on the next port.
serve() {
	port=$((port + 1))
	taskset -c 0 "$tmp/server" -addr 127.0.0.1:$port -robots "$1" &
	server=$!
	for _ in $(seq 50); do curl -fso /dev/null "http://127.0.0.1:$port/ok" && return; sleep 0.1; done
	echo "server did not start" >&2
	exit 1
}
# measure NAME CMD...: run CMD on CPU 1 under /usr/bin/time, print a row.
measure() {
	local name=$1; shift
	local start end
	start=$(date +%s.%N)
	taskset -c 1 /usr/bin/time -v -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || true
	end=$(date +%s.%N)
	local rss
	rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$tmp/time")
	printf '| %s | %s | %s | %d | %.1f |\n' "$name" "$(wc -l <"$tmp/out")" "$(grep -c '"error"' "$tmp/out" || true)" \
		"$rss" "$(echo "$end - $start" | bc)"
	kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true
}

echo "| case | records | with error | peak RSS KiB | wall s |"
echo "|---|---:|---:|---:|---:|"
for c in $cases; do
	case $c in
	sitemaps) # 2: an index of 100 gzip sitemaps, each inflating to 1 GiB of whitespace
		serve sitemaps
		measure "2 sitemap bomb index, crawl --sitemaps -c 50" \
			"$SLUICE" crawl -q --sitemaps -c 50 --depth 0 --timeout 60s "http://127.0.0.1:$port/ok" ;;
	line) # 3: one 300 MB input line without a URL, then a good one
		serve ""
		{ head -c 300000000 /dev/zero | tr '\0' 'x'; echo; echo "http://127.0.0.1:$port/ok"; } >"$tmp/line.txt"
		measure "3 300 MB input line, fetch" "$SLUICE" fetch -q -i "$tmp/line.txt"
		rm -f "$tmp/line.txt" ;;
	headers) # 5: 9 MB of response headers, 400 URLs at -c 200
		serve ""
		seq 400 | sed "s|.*|http://127.0.0.1:$port/headers?size=9000000\&n=&|" >"$tmp/urls"
		measure "5 9 MB headers ×400, fetch -c 200" "$SLUICE" fetch -q -c 200 --retries 0 -i "$tmp/urls" ;;
	tree) # 6: an endless tree of ten links a page, crawled for 20 s
		serve ""
		measure "6 endless link tree, crawl 20 s" timeout -s INT 20s "$SLUICE" crawl -q -c 50 --grace 1s "http://127.0.0.1:$port/tree" ;;
	treecap) # 6, with the pending URLs capped at 100,000
		serve ""
		measure "6 endless link tree, crawl 20 s --max-queue 100000" timeout -s INT 20s "$SLUICE" crawl -q -c 50 --grace 1s --max-queue 100000 "http://127.0.0.1:$port/tree" ;;
	bombs) # 12: 200 gzip bombs of 1 GiB at -c 50, bodies not kept
		serve ""
		seq 200 | sed "s|.*|http://127.0.0.1:$port/gzip?size=1073741824\&n=&|" >"$tmp/urls"
		measure "12 gzip bombs ×200, fetch -c 50" "$SLUICE" fetch -q -c 50 -i "$tmp/urls" ;;
	esac
done
