#!/usr/bin/env bash
# Throughput of sluice crawl --state against the in-memory crawl on the
# crawl benchmark site (scenario A of bench/crawl/run.sh: 20,000 pages, 10
# links each, no latency, -c 50), same run, rounds alternating which goes
# first, a fresh server and state dir for each crawl. Each round also
# runs the in-memory crawl with GOMAXPROCS=2 ("memory2"): --state raises
# GOMAXPROCS to 2 when it is 1 where its syncs would hold the one
# processor (without the kernel's asynchronous I/O; on Linux it keeps it
# at 1), and the comparison on equal terms is then against memory2.
#
# With BASE=REV (a git revision), each round also runs the --state crawl
# of sluice built from REV ("base"), to compare a change with what it
# changes in the same machine state.
#
#   ROUNDS=3 bench/durable/throughput.sh
#   BASE=main ROUNDS=5 bench/durable/throughput.sh
source "$(dirname "$0")/../crawl/lib.sh"
rounds=${ROUNDS:-3}
pages=${PAGES:-20000}
base=${BASE:-}
build
if [ -n "$base" ]; then
	mkdir "$tmp/base"
	git archive "$base" | tar -x -C "$tmp/base"
	(cd "$tmp/base" && go build -o "$tmp/sluice-base" ./cmd/sluice)
fi

crawl() {
	serve -pages "$pages" -links 10
	rm -rf "$tmp/state"
	case $1 in
	memory) measure "$tmp/sluice" crawl -c 50 -q -o /dev/null "$url/p/0" ;;
	memory2) measure env GOMAXPROCS=2 "$tmp/sluice" crawl -c 50 -q -o /dev/null "$url/p/0" ;;
	state) measure "$tmp/sluice" crawl -c 50 -q --state "$tmp/state" "$url/p/0" ;;
	base) measure "$tmp/sluice-base" crawl -c 50 -q --state "$tmp/state" "$url/p/0" ;;
	esac
	echo "$1 $wall $rss $cpu $(stats)"
	unserve
}

for r in $(seq "$rounds"); do
	if ((r % 2)); then order="memory memory2 state"; else order="state memory2 memory"; fi
	if [ -n "$base" ]; then
		if ((r % 2)); then order="$order base"; else order="base $order"; fi
	fi
	for mode in $order; do
		echo "$r $(crawl "$mode")"
	done
done >"$tmp/results"

echo "| round | crawl | wall s | CPU s | pages | pages/s | peak RSS KiB |"
echo "|---:|---|---:|---:|---:|---:|---:|"
awk '{printf "| %d | %s | %.2f | %.2f | %d | %.0f | %d |\n", $1, $2, $3, $5, $6, $6 / $3, $4}' "$tmp/results"
ratio() { awk -v n="$rounds" -v m="$1" '{pps[$1, $2] = $6 / $3} END {for (r = 1; r <= n; r++) printf "%.2f\n", pps[r, "state"] / pps[r, m]}' "$tmp/results"; }
ratios=$(ratio memory)
ratios2=$(ratio memory2)
echo
echo "pages/s, --state ÷ in-memory, by round: $(tr '\n' ' ' <<<"$ratios"); median $(median <<<"$ratios")"
echo "pages/s, --state ÷ in-memory with GOMAXPROCS=2, by round: $(tr '\n' ' ' <<<"$ratios2"); median $(median <<<"$ratios2")"
if [ -n "$base" ]; then
	ratios3=$(awk -v n="$rounds" '{pps[$1, $2] = $6 / $3} END {for (r = 1; r <= n; r++) printf "%.2f\n", pps[r, "base"] / pps[r, "memory"]}' "$tmp/results")
	echo "pages/s, --state of $base ÷ in-memory, by round: $(tr '\n' ' ' <<<"$ratios3"); median $(median <<<"$ratios3")"
	cpus=$(awk -v n="$rounds" '{cpu[$1, $2] = $5} END {for (r = 1; r <= n; r++) printf "%.2f\n", cpu[r, "state"] / cpu[r, "base"]}' "$tmp/results")
	echo "CPU s, --state ÷ --state of $base, by round: $(tr '\n' ' ' <<<"$cpus"); median $(median <<<"$cpus")"
fi
