# shellcheck shell=bash
# Shared by the benchmarks (sourced): the techverse binary (BIN, or this tree's release build),
# a scratch data directory removed on exit, a free loopback port, abuse limits lifted (the
# benchmark client is one IP hammering one store) and `bench_serve` to start the server and
# wait until it is ready. Sets BIN, DATA, PORT and, once serving, SERVER_PID. `bench_row` adds
# a row to the load report's table when REPORT_ROWS names a file (infra/bench/report.sh sets
# it); `bench_rss PID` is a process's resident memory.

. scripts/target-dir.sh
if [ -z "${BIN:-}" ]; then
    cargo build --release --locked --bin techverse
    BIN="$CARGO_TARGET_DIR/release/techverse"
fi
DATA=$(mktemp -d)
SERVER_PID=""
bench_cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$DATA"; }
trap bench_cleanup EXIT

export TECHVERSE_DATA_DIR="$DATA"
export TECHVERSE_LOG_LEVEL="${TECHVERSE_LOG_LEVEL:-warn}"
export TECHVERSE_LOG_FORMAT=json
export TECHVERSE_RATE_LIMIT_IP_PER_MINUTE=1000000000
export TECHVERSE_RATE_LIMIT_STORE_PER_MINUTE=1000000000
export TECHVERSE_RATE_LIMIT_STORE_IP_PER_MINUTE=1000000000
export TECHVERSE_MAX_OPEN_ORDERS_PER_ADDRESS=1000000000
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export TECHVERSE_LISTEN_ADDR="127.0.0.1:$PORT"

bench_serve() {
    "$BIN" serve >"$DATA/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null && return 0
        sleep 0.1
    done
    echo "the server did not become ready; its log:" >&2
    cat "$DATA/server.log" >&2
    return 1
}

# bench_row SCENARIO THROUGHPUT P50 P99 ERRORS RSS: one tab-separated row for REPORT_ROWS.
bench_row() {
    if [ -n "${REPORT_ROWS:-}" ]; then
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$REPORT_ROWS"
    fi
}

bench_rss() { awk '/^VmRSS:/ {printf "%.0f MiB", $2 / 1024}' "/proc/$1/status"; }
