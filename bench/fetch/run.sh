#!/usr/bin/env bash
# Fetch accuracy benchmarks: rate and in-flight caps of `sluice fetch`,
# measured at a loopback server pinned to CPU 0 while the client runs on
# CPU 1. Prints a Markdown table.
#
#   bench/fetch/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ulimit -n 65536 2>/dev/null || true
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/sluice" ./cmd/sluice
(cd bench && go build -o "$tmp/server" ./fetch/server)

port=18181
# run NAME N LATENCY FETCH-ARGS...: serve, fetch N URLs, print server stats.
run() {
	local name=$1 n=$2 latency=$3; shift 3
	taskset -c 0 "$tmp/server" -addr 127.0.0.1:$port -latency "$latency" >"$tmp/$name.json" &
	local spid=$!
	sleep 0.5
	seq 1 "$n" | sed "s|^|http://127.0.0.1:$port/p/|" >"$tmp/urls"
	local t0 t1
	t0=$(date +%s.%N)
	taskset -c 1 "$tmp/sluice" fetch -q -i "$tmp/urls" -o "$tmp/$name.jsonl" "$@"
	t1=$(date +%s.%N)
	kill -TERM $spid; wait $spid || true
	local errs
	errs=$(grep -c '"error"' "$tmp/$name.jsonl" || true)
	echo "$name $(echo "$t1 - $t0" | bc) $(wc -l <"$tmp/$name.jsonl") $errs $(cat "$tmp/$name.json")"
	port=$((port + 1))
}

{
	run rate200 2000 0 --rate 200
	run rate20000 100000 0 --rate 20000 -c 200
	run cap500 5000 20ms -c 500 --per-host 500
} >"$tmp/results"

echo
echo "| scenario | URLs | records | errors | wall s | server span s | achieved rps | max starts in a second | peak in flight |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
while read -r name wall recs errs json; do
	jq -r --arg n "$name" --arg w "$wall" --arg r "$recs" --arg e "$errs" \
		'"| \($n) | \(.requests) | \($r) | \($e) | \($w|tonumber*100|round/100) | \(.span_s*100|round/100) | \(.achieved_rps|round) | \(.max_per_second) | \(.peak_in_flight) |"' <<<"$json"
done <"$tmp/results"
