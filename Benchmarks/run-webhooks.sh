#!/usr/bin/env bash
# Webhook ingress benchmark (issue 7), loopback only, bounded in time. Needs Debian's nginx.
#   1. peak: the open-loop generator (WebhookBenchmark load) asks for far more than either server can
#      take, 64 connections; the achieved 2xx rate is the peak. nginx answers 202 with a canned body;
#      Sluice verifies a GitHub-style HMAC-SHA256 signature, normalises and writes the SQLite inbox
#      (synchronous=FULL, group commit) before its 202.
#   2. latency: both servers at the same constant rate, half of Sluice's peak; latency is measured
#      from each request's intended send time (no coordinated omission).
#   3. fsync_probe (Benchmarks/webhooks/fsync_probe.c): the disk's fdatasync latency idle, and while
#      Sluice's route alone (no inbox) serves the latency run's rate.
# Usage: bash Benchmarks/run-webhooks.sh [SECONDS]   (prints JSON lines; results/webhooks.md records a run)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-10}"
# WEBHOOK_BENCH_BIN: a WebhookBenchmark binary to run instead of building one (A/B runs of two versions).
if [ -n "${WEBHOOK_BENCH_BIN:-}" ]; then
    BIN="$WEBHOOK_BENCH_BIN"
else
    swift build -c release --product WebhookBenchmark >/dev/null
    BIN="$(swift build -c release --show-bin-path)/WebhookBenchmark"
fi
PROBE=.build/webhook-bench/fsync_probe
mkdir -p "$(dirname "$PROBE")"
gcc -O2 -o "$PROBE" Benchmarks/webhooks/fsync_probe.c
WORK="$(mktemp -d /tmp/webhook-bench.XXXXXX)"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

cat > "$WORK/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/body;
    proxy_temp_path $WORK/proxy;
    fastcgi_temp_path $WORK/fastcgi;
    uwsgi_temp_path $WORK/uwsgi;
    scgi_temp_path $WORK/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:18081;
        location / {
            default_type application/json;
            return 202 '{"event_id":"sha256:0","adapter":"bench"}';
        }
    }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK" &
PIDS+=($!)
"$BIN" serve --port 18080 --ledger "$WORK/inbox.sqlite" > "$WORK/sluice.log" 2>&1 &
PIDS+=($!)
"$BIN" serve --port 18082 --ledger "$WORK/unused.sqlite" --sink none > "$WORK/sluice-nosink.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do grep -q serving "$WORK/sluice.log" 2>/dev/null && break; sleep 0.05; done
sleep 0.5

run() { # name port rate
    local result
    result="$("$BIN" load --port "$2" --rate "$3" --duration "$SECONDS_PER_RUN" --connections 64 --warmup 2)"
    echo "{\"server\":\"$1\",${result#\{}"
}
NGINX_PEAK="$(run nginx 18081 200000)"; echo "$NGINX_PEAK"
SLUICE_PEAK="$(run sluice 18080 200000)"; echo "$SLUICE_PEAK"
run sluice-route-only 18082 200000
HALF="$(python3 -c "import json,sys; print(int(json.loads(sys.argv[1])['achieved_rate'])//2)" "$SLUICE_PEAK")"
run sluice 18080 "$HALF"
# The disk's own fdatasync latency, idle, and then while Sluice's route alone (no inbox, no fsync) serves the
# same rate: the CPU load of the latency run without its disk writes. Its tail is the floor under the tail
# of a server that syncs before it answers, on this machine, at this load.
echo "{\"fsync_probe\":\"idle\",$("$PROBE" "$WORK/probe" 5 | cut -c2-)"
(sleep 2; "$PROBE" "$WORK/probe" "$SECONDS_PER_RUN" > "$WORK/probe.json") &  # after the load's warm-up
PROBE_PID=$!
run sluice-route-only 18082 "$HALF"
wait "$PROBE_PID"
echo "{\"fsync_probe\":\"route alone at $HALF req/s\",$(cut -c2- "$WORK/probe.json")"
run nginx 18081 "$HALF"
echo "{\"inbox_rows\":$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from inbox').fetchone()[0])" "$WORK/inbox.sqlite" 2>/dev/null || echo null)}"
