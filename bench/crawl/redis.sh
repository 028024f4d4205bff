#!/usr/bin/env bash
# Scale-out of sluice crawl on Redis (bench/crawl/RESULTS.md, "E"). The site
# server and redis-server run on CPU 0, every crawler process on CPU 1.
#
#   scale   20,000 pages answering in 20 ms: one process at -c 20 without
#           Redis, one with --redis, three with --redis (-c 20 each)
#   kill    three processes, one SIGKILLed 4 s in: the others finish, the
#           union of the outputs holds every page, repeats are counted
#   rate    three processes with --host-rate 150 on one 1,500-page host:
#           the most request starts the server saw in any one second
#   memory  Redis used_memory per URL admitted, 1,000,000 URLs
#
#   bench/crawl/redis.sh [scale] [kill] [rate] [memory]   (default: all)
source "$(dirname "$0")/lib.sh"
command -v redis-server >/dev/null || { echo "needs redis-server" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "needs redis-cli" >&2; exit 1; }
parts=("$@")
((${#parts[@]})) || parts=(scale kill rate memory)

go build -o "$tmp/sluice" ./cmd/sluice
(cd bench && go build -o "$tmp/server" ./crawl/server && go build -o "$tmp/redismem" ./crawl/redismem)

rpid=
rport=$((20000 + RANDOM % 20000))
redis="redis://127.0.0.1:$rport/0"
redis_up() {
	taskset -c 0 redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" >/dev/null &
	rpid=$!
	for _ in $(seq 100); do
		redis-cli -p "$rport" ping >/dev/null 2>&1 && return
		sleep 0.05
	done
	echo "redis-server did not start" >&2
	exit 1
}
redis_down() {
	if [ -n "$rpid" ]; then
		kill -TERM "$rpid" 2>/dev/null || true
		wait "$rpid" 2>/dev/null || true
		rpid=
	fi
}
trap 'redis_down; unserve; rm -rf "$tmp"' EXIT
redis_up

# crawl N NAME FLAGS...: starts N crawler processes on CPU 1 sharing crawl
# NAME, each writing $tmp/NAME.I.jsonl; sets $pids.
crawl() {
	local n=$1 name=$2
	shift 2
	pids=()
	for i in $(seq "$n"); do
		taskset -c 1 "$tmp/sluice" crawl --redis "$redis" --crawl "$name" --worker "w$i" -q \
			-o "$tmp/$name.$i.jsonl" "$@" "$url/p/0" 2>"$tmp/$name.$i.err" &
		pids+=($!)
	done
}

# union NAME: prints "records unique_urls" over the outputs of crawl NAME.
union() {
	cat "$tmp/$1".*.jsonl | jq -r .url | sort | uniq -c | awk '{r += $1; u++} END {print r, u}'
}

now() { date +%s.%N; }

# rinfo: prints "cpu_seconds commands reads" of the Redis server so far;
# reads (total_reads_processed) are the reads of client sockets, about
# one per round trip (a pipeline is one).
rinfo() {
	redis-cli -p "$rport" info | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ {c += $2}
		/^total_commands_processed:/ {n = $2} /^total_reads_processed:/ {r = $2} END {print c, n, r}'
}
# cmdstats N: the commands Redis ran in the last crawl (calls, calls per
# page, µs per call), the scripts first; "client calls" are those a client
# sent (EVALSHA, FCALL, HMGET, ...), not those a script ran.
cmdstats() {
	redis-cli -p "$rport" info commandstats | tr -d '\r' | awk -F'[:,=]' -v n="$1" -v u=20000 '
		/^cmdstat_/ {sub("cmdstat_", "", $1); printf "  %d processes: %-14s calls %8d  per page %6.2f  usec/call %7.2f\n", n, $1, $3, $3 / u, $7}'
}
rate_of() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN {printf "%.0f", n / (b - a)}'; }

scale() {
	echo "| processes | frontier | -c each | seconds | unique pages | duplicate fetches | pages/s | ÷ one process on Redis | Redis CPU µs per page | Redis commands per page | round trips per page |"
	echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	serve -pages 20000 -latency 20ms
	local t0 t1
	t0=$(now)
	taskset -c 1 "$tmp/sluice" crawl -c 20 -q -o /dev/null "$url/p/0"
	t1=$(now)
	read -r u d _ < <(stats)
	echo "| 1 | memory | 20 | $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') | $u | $d | $(rate_of "$u" "$t0" "$t1") | | | | |"
	unserve
	local one=
	for n in 1 3; do
		serve -pages 20000 -latency 20ms
		redis-cli -p "$rport" config resetstat >/dev/null
		read -r c0 k0 q0 < <(rinfo)
		t0=$(now)
		crawl "$n" "scale$n" -c 20
		wait "${pids[@]}"
		t1=$(now)
		read -r c1 k1 q1 < <(rinfo)
		cmdstats "$n" >"$tmp/cmdstats.$n"
		read -r u d _ < <(stats)
		unserve
		local r
		r=$(rate_of "$u" "$t0" "$t1")
		[ -n "$one" ] || one=$r
		echo "| $n | redis | 20 | $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') | $u | $d | $r |" \
			"$(awk -v r="$r" -v o="$one" 'BEGIN {printf "%.2f", r / o}') |" \
			"$(awk -v a="$c0" -v b="$c1" -v u="$u" 'BEGIN {printf "%.1f", (b - a) * 1e6 / u}') |" \
			"$(awk -v a="$k0" -v b="$k1" -v u="$u" 'BEGIN {printf "%.2f", (b - a) / u}') |" \
			"$(awk -v a="$q0" -v b="$q1" -v u="$u" 'BEGIN {printf "%.2f", (b - a) / u}') |"
	done
	cat "$tmp"/cmdstats.*
}

kill_one() {
	serve -pages 20000 -latency 20ms
	crawl 3 kill -c 20 --lease-ttl 3s
	sleep 4
	local killed
	killed=$(wc -l <"$tmp/kill.1.jsonl")
	kill -KILL "${pids[0]}"
	wait "${pids[0]}" 2>/dev/null || true
	local ok=0
	wait "${pids[1]}" && wait "${pids[2]}" && ok=1
	read -r u d _ < <(stats)
	read -r recs urls < <(union kill)
	unserve
	echo "| survivors exited 0 | killed process's records | records, all outputs | unique URLs in them | repeated records | server: unique pages | server: duplicate fetches |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	echo "| $([ $ok = 1 ] && echo yes || echo no) | $killed | $recs | $urls | $((recs - urls)) | $u | $d |"
	grep -h "took back" "$tmp"/kill.*.err | head -2 || true
}

host_rate() {
	serve -pages 1500 -latency 20ms
	local t0 t1
	t0=$(now)
	crawl 3 rate -c 20 --host-rate 150
	wait "${pids[@]}"
	t1=$(now)
	local peak
	peak=$(curl -fsS "$url/__stats" | jq -r .peak_starts_per_second)
	read -r u d _ < <(stats)
	unserve
	echo "| processes | --host-rate | pages | seconds | pages/s overall | most starts in any second (robots.txt included) |"
	echo "|---:|---:|---:|---:|---:|---:|"
	echo "| 3 | 150 | $u | $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') | $(rate_of "$u" "$t0" "$t1") | $peak |"
}

memory() {
	taskset -c 1 "$tmp/redismem" -redis "$redis" -n 1000000 -hosts 1000 -expected 1000000
	echo "default buckets (-expected 0: 65,536 buckets):"
	taskset -c 1 "$tmp/redismem" -redis "$redis" -n 1000000 -hosts 1000
}

for p in "${parts[@]}"; do
	case $p in
	scale) scale ;;
	kill) kill_one ;;
	rate) host_rate ;;
	memory) memory ;;
	*) echo "unknown part $p" >&2; exit 2 ;;
	esac
done
