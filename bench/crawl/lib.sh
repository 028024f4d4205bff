# Helpers shared by the crawl benchmark scripts; sourced, not run.
#
# build              builds server, colly and sluice into $tmp
# serve ARGS...      starts the site server on CPU 0, sets $url and $spid
# unserve            stops it
# measure CMD...     runs CMD on CPU 1 under GNU time; sets $wall (s),
#                    $cpu (user + system s) and $rss (peak KiB), and fails
#                    if CMD fails
# stats              prints "unique duplicates peak_in_flight" from /__stats

set -euo pipefail
cd "$(dirname "$0")/../.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
for tool in taskset jq curl; do
	command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }

tmp=$(mktemp -d)
spid=
trap 'unserve; rm -rf "$tmp"' EXIT

build() {
	go build -o "$tmp/sluice" ./cmd/sluice
	(cd bench && go build -o "$tmp/server" ./crawl/server && go build -o "$tmp/colly" ./crawl/colly)
}

serve() {
	: >"$tmp/url"
	taskset -c 0 "$tmp/server" "$@" >"$tmp/url" &
	spid=$!
	for _ in $(seq 100); do
		[ -s "$tmp/url" ] && break
		sleep 0.05
	done
	url=$(head -1 "$tmp/url")
	[ -n "$url" ] || { echo "server did not start" >&2; exit 1; }
}

unserve() {
	if [ -n "$spid" ]; then
		kill -TERM "$spid" 2>/dev/null || true
		wait "$spid" 2>/dev/null || true
		spid=
	fi
}

measure() {
	taskset -c 1 /usr/bin/time -o "$tmp/time" -f '%e %M %U %S' "$@" >"$tmp/stdout"
	local user sys
	read -r wall rss user sys <"$tmp/time"
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')
}

stats() {
	curl -fsS "$url/__stats" | jq -r '"\(.unique) \(.duplicates) \(.peak_in_flight)"'
}

# median reads numbers, one a line, and prints their median.
median() {
	sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
