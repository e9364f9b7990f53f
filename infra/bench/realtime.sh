#!/usr/bin/env bash
# Live feed benchmark: one release instance (embedded store) holding SOCKETS staff sockets
# across STORES stores while guest orders are placed at RATE per second for DURATION_SECS; prints the
# sockets held, order-commit → socket-receive latency p50/p99 and the server's RSS. Then the
# same with two instances sharing the data and a private Redis (sockets split between them,
# orders placed through the first). Targets: 10,000 sockets held, p99 < 50 ms, RSS < 300 MB.
# Figures, not a test gate.
#
# Environment: STORES (default 100), SOCKETS (default 10000), RATE (default 20), DURATION_SECS
# (default 20), BIN (a techverse binary instead of this tree's release build), CARGO_TARGET_DIR.
set -euo pipefail

cd "$(dirname "$0")/../.."
STORES="${STORES:-100}"
SOCKETS="${SOCKETS:-10000}"
RATE="${RATE:-20}"
DURATION_SECS="${DURATION_SECS:-20}"
# Each socket is a file descriptor on both ends.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

. infra/bench/lib.sh
cargo build --release --locked --example realtime_load --quiet
CLIENT="$CARGO_TARGET_DIR/release/examples/realtime_load"

# One client address opens every socket and ticket, and every order is one buyer's.
export TECHVERSE_RATE_LIMIT_USER_PER_MINUTE=1000000000
export TECHVERSE_RATE_LIMIT_LOGIN_PER_MINUTE=1000000000
export TECHVERSE_RATE_LIMIT_STORE_STAFF_PER_MINUTE=1000000000
export TECHVERSE_MAX_OPEN_ORDERS_PER_BUYER=1000000000
export TECHVERSE_REQUIRE_VERIFIED_EMAIL=false
export TECHVERSE_WS_MAX_SOCKETS=100000
export TECHVERSE_WS_MAX_PER_ACCOUNT=100000
export TECHVERSE_WS_MAX_PER_IP=100000

echo "== one instance (embedded store): $SOCKETS sockets over $STORES stores, $RATE orders/s for ${DURATION_SECS}s"
bench_serve
"$CLIENT" "http://127.0.0.1:$PORT" "$SERVER_PID" "$STORES" "$SOCKETS" "$RATE" "$DURATION_SECS"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""

echo "== two instances sharing the data and one Redis"
rm -rf "${DATA:?}"/*
REDIS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$DATA/redis.log" 2>&1 &
REDIS_PID=$!
trap 'kill $REDIS_PID 2>/dev/null; bench_cleanup' EXIT
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
export TECHVERSE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
bench_serve
FIRST_PORT=$PORT FIRST_PID=$SERVER_PID
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TECHVERSE_LISTEN_ADDR="127.0.0.1:$PORT" "$BIN" serve >"$DATA/server2.log" 2>&1 &
SECOND_PID=$!
trap 'kill $SECOND_PID $FIRST_PID $REDIS_PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
"$CLIENT" "http://127.0.0.1:$FIRST_PORT,http://127.0.0.1:$PORT" "$FIRST_PID,$SECOND_PID" \
    "$STORES" "$SOCKETS" "$RATE" "$DURATION_SECS"
