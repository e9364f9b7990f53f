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
CONCURRENCY="${CONCURRENCY:-300}"
TECHVERSE_LOG_LEVEL=error
. infra/bench/lib.sh

"$BIN" stores create --slug bench --name Bench --currency NGN >/dev/null
bench_serve

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
