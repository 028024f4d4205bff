#!/usr/bin/env bash
# Runs the pool comparison and prints a Markdown table of medians over
# COUNT runs (default 5): ns per task, allocations per task, and the ratio
# to the hand-made channel future at the same worker count.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(go test ./pool -run '^$' -bench . -benchmem -count "${COUNT:-5}")
echo "$out" >&2
echo "$out" | awk '
/^Benchmark/ {
	split($1, a, "/"); name = a[1]; sub(/^Benchmark/, "", name)
	w = a[2]; sub(/-[0-9]+$/, "", w); sub(/workers=/, "", w)
	for (i = 2; i < NF; i++) {
		if ($(i+1) == "ns/task") ns[name, w] = ns[name, w] " " $i
		if ($(i+1) == "allocs/task") al[name, w] = $i
	}
	names[name] = 1; ws[w] = 1
}
function median(s,   n, v, i, j, t) {
	n = split(s, v, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
END {
	print "| executor | workers | ns/task (median) | allocs/task | vs channel future |"
	print "|---|---:|---:|---:|---:|"
	split("SluicePool ChannelFuture ConcResultPool Errgroup PondResultPool", order, " ")
	split("8 512", wl, " ")
	for (k = 1; k <= 2; k++) for (o = 1; o <= 5; o++) {
		n = order[o]; w = wl[k]
		if (!((n, w) in ns)) continue
		m = median(ns[n, w]); base = median(ns["ChannelFuture", w])
		printf "| %s | %s | %.0f | %.2f | %.2f× |\n", n, w, m, al[n, w], m / base
	}
}'
