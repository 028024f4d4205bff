#!/usr/bin/env bash
# compare.sh: sluice load vs wrk, hey and a plain net/http client loop
# against nginx serving 1 KiB. nginx runs on CPU 0 (one worker), every
# client on CPU 1 (hey also once unpinned, as it is usually run), -c 50,
# closed model; ROUNDS rounds of DURATION each, interleaved so machine
# noise hits every tool alike.
# Prints a Markdown table of the median requests/s and the median of the
# per-round ratios (each round's tools ran back to back).
#   usage: bench/load/compare.sh [ROUNDS] [DURATION]     (from the repo root)
set -euo pipefail
rounds=${1:-5} dur=${2:-5s} port=${PORT:-18080}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap '"$here/nginx.sh" stop "$tmp"; rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/sluice" ./cmd/sluice)
(cd "$root/bench" && go build -o "$tmp/nethttp" ./load/nethttp)
"$here/nginx.sh" start "$tmp" "$port"
url=http://127.0.0.1:$port/1k
for r in $(seq "$rounds"); do
	w=$(taskset -c 1 wrk -t1 -c50 -d"$dur" "$url" | awk '/^Requests\/sec/ {print $2}')
	taskset -c 1 "$tmp/sluice" load -q -c 50 -d "$dur" --json "$tmp/s.json" "$url" >/dev/null
	s=$(grep -m1 '"rps"' "$tmp/s.json" | tr -dc '0-9.')
	h=$(taskset -c 1 hey -c 50 -z "$dur" "$url" | awk '/Requests\/sec/ {print $2}')
	# hey as usually run: not pinned, so its threads share nginx's core.
	u=$(hey -c 50 -z "$dur" "$url" | awk '/Requests\/sec/ {print $2}')
	n=$(taskset -c 1 "$tmp/nethttp" -c 50 -d "$dur" "$url" | awk '{print $2}')
	echo "round $r: wrk $w  sluice $s  hey $h  hey-unpinned $u  net/http $n" >&2
	echo "$w $s $h $u $n" >>"$tmp/rounds"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
w=$(cut -d' ' -f1 "$tmp/rounds" | median)
s=$(cut -d' ' -f2 "$tmp/rounds" | median)
h=$(cut -d' ' -f3 "$tmp/rounds" | median)
u=$(cut -d' ' -f4 "$tmp/rounds" | median)
n=$(cut -d' ' -f5 "$tmp/rounds" | median)
ratio() { awk -v a="$1" -v b="$2" '{print $a / $b}' "$tmp/rounds" | median; }
echo "| client (-c 50, client on CPU 1, nginx on CPU 0) | requests/s (median of $rounds × $dur) | sluice ÷ tool (median of per-round ratios) |"
echo "|---|---:|---:|"
printf '| wrk -t1 -c50 | %.0f | %.3f |\n' "$w" "$(ratio 2 1)"
printf '| sluice load -c 50 | %.0f | 1 |\n' "$s"
printf '| hey -c 50 | %.0f | %.2f |\n' "$h" "$(ratio 2 3)"
printf '| hey -c 50, not pinned (shares CPU 0 with nginx) | %.0f | %.2f |\n' "$u" "$(ratio 2 4)"
printf '| plain net/http client loop, 50 goroutines (bench/load/nethttp) | %.0f | %.2f |\n' "$n" "$(ratio 2 5)"
