#!/usr/bin/env bash
# Crash bar of sluice crawl --state: a 20,000-page site (bench/crawl/server,
# 10 ms a page, CPU 0) crawled with -c 20 (CPU 1), killed with SIGKILL at
# three random moments, the same command run again after each and once to
# the end. Prints each run, then checks the records file (every page
# exactly once) and the server's counts (repeated fetches per kill, each
# checked against -c, total fetches against pages). The repeats a kill
# causes show in the run after it.
#
#   bench/durable/kill.sh
source "$(dirname "$0")/../crawl/lib.sh"
pages=${PAGES:-20000}
build
serve -pages "$pages" -links 10 -latency 10ms
dir=$tmp/state
# exec, so that $! is sluice itself, the process SIGKILL is for.
conc=20
crawl() { exec taskset -c 1 "$tmp/sluice" crawl -c "$conc" -q --state "$dir" "$url/p/0"; }

echo "| run | ended by | records after | server fetches after | repeated fetches during the run |"
echo "|---:|---|---:|---:|---:|"
read -r _ dups0 _ < <(stats)
perkill=()
for k in 1 2 3 4; do
	(crawl) &
	pid=$!
	if ((k < 4)); then
		# 0.5 to 3.5 s into the run: the whole crawl takes about 12 s.
		sleep "$(awk -v r="$RANDOM" 'BEGIN {printf "%.2f", 0.5 + (r % 300) / 100}')"
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null || true
		how="SIGKILL"
	else
		wait "$pid"
		how="end"
	fi
	read -r unique dups _ < <(stats)
	echo "| $k | $how | $(wc -l <"$dir/pages.jsonl") | $((unique + dups)) | $((dups - dups0)) |"
	((k > 1)) && perkill+=("$((dups - dups0))")
	dups0=$dups
done

records=$(wc -l <"$dir/pages.jsonl")
urls=$(jq -r .url "$dir/pages.jsonl" | sort -u | wc -l)
read -r unique dups _ < <(stats)
echo
echo "records $records, distinct URLs $urls, pages $pages"
echo "repeated fetches per kill: ${perkill[*]} (bound: -c $conc)"
echo "server: $unique pages fetched, $dups fetched again; total fetches $((unique + dups)) = $(awk -v f=$((unique + dups)) -v p="$pages" 'BEGIN {printf "%.3f", f / p}') x pages"
[ "$records" -eq "$pages" ] && [ "$urls" -eq "$pages" ] || { echo "FAIL: not every page exactly once" >&2; exit 1; }
for n in "${perkill[@]}"; do
	((n <= conc)) || { echo "FAIL: $n repeated fetches after a kill, more than -c $conc" >&2; exit 1; }
done
((unique + dups < pages * 11 / 10)) || { echo "FAIL: total fetches not under 1.1 x pages" >&2; exit 1; }
echo "PASS: every page once, repeats per kill <= -c $conc, fetches under 1.1 x pages"
