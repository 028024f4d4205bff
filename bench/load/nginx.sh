#!/usr/bin/env bash
# nginx.sh start|stop DIR PORT [h2c]: a one-worker nginx on 127.0.0.1:PORT
# serving DIR/www/1k (1 KiB), pinned to CPU 0; with h2c it speaks HTTP/2
# with prior knowledge (cleartext) instead of HTTP/1.1. Used by the other
# scripts.
set -euo pipefail
cmd=$1 dir=$2 port=${3:-18080} proto=${4:-}
listen_opts=
[ "$proto" = h2c ] && listen_opts=" http2"
case $cmd in
start)
	mkdir -p "$dir/www" "$dir/logs"
	chmod 755 "$dir" "$dir/www"
	head -c 1024 /dev/zero | tr '\0' 'x' >"$dir/www/1k"
	cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 100000000;
	client_body_temp_path $dir/tmp;
	proxy_temp_path $dir/tmp;
	fastcgi_temp_path $dir/tmp;
	uwsgi_temp_path $dir/tmp;
	scgi_temp_path $dir/tmp;
	server {
		listen 127.0.0.1:$port$listen_opts;
		root $dir/www;
	}
}
CONF
	mkdir -p "$dir/tmp"
	taskset -c 0 nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/logs/error.log"
	curl_opts=()
	[ "$proto" = h2c ] && curl_opts=(--http2-prior-knowledge)
	for _ in $(seq 50); do
		curl -fs "${curl_opts[@]}" -o /dev/null "http://127.0.0.1:$port/1k" && exit 0
		sleep 0.1
	done
	tail -3 "$dir/logs/error.log" >&2
	echo "nginx did not come up" >&2
	exit 1
	;;
stop)
	[ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" || true
	;;
esac
