#!/usr/bin/env bash
# Checkout benchmark on the embedded store (release build, real HTTP on loopback):
#   (a) many SKUs, low contention: orders/s and p50/p99 of checkout requests;
#   (b) 1,000 concurrent buyers for one SKU with 100 units: exactly 100 orders must succeed.
# Prints figures; exits non-zero only if (b) sells a different number than the stock.
#
# Environment: ORDERS (3000), PRODUCTS (1000), CONCURRENCY (64), BUYERS (1000), UNITS (100),
# CARGO_TARGET_DIR (default ~/.cache/techverse-target).
set -euo pipefail

cd "$(dirname "$0")/../.."
. scripts/target-dir.sh
# One process opens a socket per in-flight buyer.
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true
exec cargo bench --locked -p techverse-backend --bench checkout
