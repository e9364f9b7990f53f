#!/usr/bin/env bash
# Catalogue read benchmark: builds release, seeds a store with 10,000 products (embedded
# store), starts the server and measures with wrk (installed from Debian when missing):
#   list page (20 items) warm cache, list page cold cache (a new query each request), product
#   detail (warm), search query (warm), and the warm list page again while guest checkouts run
#   beside it (infra/bench/checkout-load.py) — sales must not make the catalogue cold.
# Prints requests/s, p50/p99 latency, non-2xx answers and the server's RSS for each. Figures,
# not a test gate.
#
# Environment: PRODUCTS (default 10000), DURATION (default 10s), CONNECTIONS (default 64),
# THREADS (default 2), BUYERS (checkout threads in the mixed case, default 4), CHECKOUT_RATE
# (their checkouts per second in all, default 20), BIN (a techverse binary to measure instead of
# this tree's release build), CARGO_TARGET_DIR, REPORT_ROWS (see lib.sh).
set -euo pipefail

cd "$(dirname "$0")/../.."
PRODUCTS="${PRODUCTS:-10000}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v wrk >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

BUYERS="${BUYERS:-4}"
CHECKOUT_RATE="${CHECKOUT_RATE:-20}"
. infra/bench/lib.sh

echo "seeding $PRODUCTS products…"
start=$(date +%s)
"$BIN" seed demo --products "$PRODUCTS" --no-history >"$DATA/seed.txt"
head -1 "$DATA/seed.txt"
echo "seeded in $(( $(date +%s) - start ))s"

bench_serve

BASE="http://127.0.0.1:$PORT/api/v1/stores/demo"
SLUG=$(curl -fs "$BASE/products?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["slug"])')

cat >"$DATA/cold.lua" <<'LUA'
-- Every request asks a different list (a new max_price), so none is in the cache.
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/api/v1/stores/demo/products?limit=20&max_price=" .. (100000000 + counter * 7 + math.random(1, 6)))
end
LUA

run() {
    local name=$1 url=$2 script=${3:-}
    # Warm up (and fill the cache for the warm cases).
    curl -fs "$url" >/dev/null
    local out
    if [ -n "$script" ]; then
        out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$script" "$url")
    else
        out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url")
    fi
    local rps p50 p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    # Non-2xx answers and socket errors (connect, read, write, timeout) together.
    errors=$(awk '/Non-2xx/ {n += $5} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10}
        END {print n + 0}' <<<"$out")
    local rss
    rss=$(bench_rss "$SERVER_PID")
    printf '%-28s %12s req/s   p50 %9s   p99 %9s   errors %s   RSS %s\n' "$name" "$rps" "$p50" "$p99" "$errors" "$rss"
    bench_row "catalogue: $name" "$rps req/s" "$p50" "$p99" "$errors" "$rss"
}

echo
echo "catalogue benchmark: $PRODUCTS products, embedded store, wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
run "list page, warm cache" "$BASE/products?limit=20"
run "list page, cold cache" "$BASE/products" "$DATA/cold.lua"
run "product detail, warm" "$BASE/products/$SLUG"
run "search 'galaxy', warm" "$BASE/products?q=galaxy&limit=20"
seconds=${DURATION%s}
owner=$(sed -n 's/^owner: //p' "$DATA/seed.txt")
password=$(sed -n 's/^password: //p' "$DATA/seed.txt")
python3 infra/bench/checkout-load.py "http://127.0.0.1:$PORT" demo "$seconds" "$BUYERS" \
    "$CHECKOUT_RATE" "$owner" "$password" >"$DATA/load.txt" &
LOAD_PID=$!
sleep 2
run "list page, warm, + checkouts" "$BASE/products?limit=20"
wait "$LOAD_PID"
cat "$DATA/load.txt"
