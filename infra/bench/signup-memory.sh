#!/usr/bin/env bash
# Memory under a burst of registrations: starts the release server with the production argon2
# parameters (19 MiB per hash), fires CONCURRENCY customer registrations at once and prints how
# they were answered, how long the burst took and the server's peak resident memory (VmHWM).
# Figures, not a test gate.
#
# Environment: CONCURRENCY (default 300), BIN (a techverse binary to measure instead of
# building this tree's release build), CARGO_TARGET_DIR (default ~/.cache/techverse-target).
set -euo pipefail

cd "$(dirname "$0")/../.."
. scripts/target-dir.sh
CONCURRENCY="${CONCURRENCY:-300}"
if [ -z "${BIN:-}" ]; then
    cargo build --release --locked --bin techverse
    BIN="$CARGO_TARGET_DIR/release/techverse"
fi
DATA=$(mktemp -d)
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$DATA"; }
trap cleanup EXIT

export TECHVERSE_DATA_DIR="$DATA"
export TECHVERSE_LOG_LEVEL=error
export TECHVERSE_LOG_FORMAT=json
export TECHVERSE_RATE_LIMIT_IP_PER_MINUTE=1000000000
export TECHVERSE_RATE_LIMIT_STORE_PER_MINUTE=1000000000
export TECHVERSE_RATE_LIMIT_STORE_IP_PER_MINUTE=1000000000
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export TECHVERSE_LISTEN_ADDR="127.0.0.1:$PORT"

"$BIN" stores create --slug bench --name Bench --currency NGN >/dev/null
"$BIN" serve >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done

python3 - "$PORT" "$CONCURRENCY" "$SERVER_PID" <<'PY'
import collections, json, sys, threading, time, urllib.error, urllib.request

port, count, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
url = f"http://127.0.0.1:{port}/api/v1/stores/bench/customers"
start = threading.Barrier(count)
answers = collections.Counter()
lock = threading.Lock()

def register(i):
    body = json.dumps({"email": f"buyer{i}@example.com", "password": "correct horse battery staple", "name": "Buyer"}).encode()
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    start.wait()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except Exception as error:  # connection refused, reset, timeout
        status = type(error).__name__
    with lock:
        answers[status] += 1

def peak_rss_mib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")

threads = [threading.Thread(target=register, args=(i,)) for i in range(count)]
began = time.monotonic()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
elapsed = time.monotonic() - began
print(f"{count} concurrent registrations (argon2id 19 MiB, 2 iterations) in {elapsed:.1f} s")
print("answers: " + ", ".join(f"{status}: {n}" for status, n in sorted(answers.items(), key=str)))
print(f"server peak RSS (VmHWM): {peak_rss_mib():.0f} MiB")
PY
