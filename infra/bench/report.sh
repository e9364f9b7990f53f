#!/usr/bin/env bash
# Load report: builds the release binary once, runs the catalogue (wrk), checkout (cargo bench),
# live feed (WebSocket client) and mixed shopper (k6) benchmarks against it, and writes
# infra/bench/REPORT.md: one table of throughput, p50, p99, errors and server RSS per scenario,
# the machine it ran on, the commands, and each benchmark's own output. Run it on a quiet
# machine: the figures are the machine's, not a test gate.
#
# Environment: REPORT (output file, default infra/bench/REPORT.md), CARGO_TARGET_DIR, and each
# benchmark's own variables (see the header of each script), passed through.
set -euo pipefail

cd "$(dirname "$0")/../.."
. scripts/target-dir.sh
OUT="${REPORT:-infra/bench/REPORT.md}"
cargo build --release --locked --bin techverse
export BIN="$CARGO_TARGET_DIR/release/techverse"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export REPORT_ROWS="$WORK/rows.tsv"
: >"$REPORT_ROWS"

benchmarks=(catalog checkout realtime mixed)
for name in "${benchmarks[@]}"; do
    echo "== bash infra/bench/$name.sh"
    bash "infra/bench/$name.sh" 2>&1 | tee "$WORK/$name.log"
done

{
    echo "# Load report"
    echo
    echo "Written by \`bash infra/bench/report.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit"
    echo "\`$(git describe --always --dirty)\`. Release build, embedded store, real HTTP on loopback: the"
    echo "load generators run on the same machine as the server and share its cores."
    echo
    echo "Machine: $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)),"
    echo "$(free -g | awk '/^Mem:/ {print $2}') GiB memory, $(uname -sr); $(rustc --version)."
    echo
    echo "| Scenario | Throughput | p50 | p99 | Errors | Server RSS |"
    echo "|---|---:|---:|---:|---:|---:|"
    awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6}' "$REPORT_ROWS"
    echo
    echo "Errors: non-2xx answers and socket errors (catalogue), checkout answers other than 201"
    echo "and 409 \`out_of_stock\` (checkout), live events never received (live feed), failed"
    echo "requests (mixed). The checkout benchmark runs server and client in one process, so its"
    echo "RSS is both. Abuse limits are lifted as in \`infra/bench/lib.sh\` (one client address"
    echo "plays every shopper)."
    echo
    echo "## Commands"
    echo
    echo "- \`bash infra/bench/catalog.sh\` — list page warm and cold, product page, search, and the"
    echo "  warm list page while checkouts run beside it (wrk)"
    echo "- \`bash infra/bench/checkout.sh\` — \`cargo bench --bench checkout\`: checkouts over many"
    echo "  SKUs, then many buyers racing for one SKU (exactly its stock sold)"
    echo "- \`bash infra/bench/realtime.sh\` — staff sockets held on the live order feed, order"
    echo "  commit → socket receive latency, one instance and then two sharing Redis"
    echo "- \`bash infra/bench/mixed.sh\` — k6 shoppers: browse 90 %, cart 8 %, checkout 2 %"
    echo
    echo "Defaults: catalogue 10,000 products, wrk 2 threads × 64 connections × 10 s per case;"
    echo "checkout 3,000 orders over 1,000 SKUs with 64 in flight, then 1,000 buyers for 100"
    echo "units of one SKU; live feed 10,000 sockets over 100 stores, 20 orders/s for 20 s;"
    echo "mixed 64 k6 shoppers for 20 s on 2,000 products (browse 90 %, cart 8 %, checkout 2 %)."
    for name in "${benchmarks[@]}"; do
        echo
        echo "## Output of $name.sh"
        echo
        echo '```'
        # Cargo's progress lines say nothing about the figures.
        grep -v -E '^ *(Compiling|Finished|Running|Blocking|Downloaded|Downloading|Executable) ' \
            "$WORK/$name.log"
        echo '```'
    done
} >"$OUT"
echo "wrote $OUT"
