#!/usr/bin/env bash
# Builds the cargo-fuzz targets in fuzz/ and runs each for a fixed time (default 600 s),
# printing the executions and corpus size libFuzzer reports. Not part of CI (scripts/test).
#
#   bash tools/fuzz/run.sh [seconds per target] [target ...]
#
# cargo-fuzz is installed into ~/.cache/techverse-tools/cargo-fuzz when missing. The stable
# toolchain is enough with `--sanitizer none` (AddressSanitizer needs nightly; the targets are
# safe Rust, so panics, overflows in debug assertions and aborts are what we look for).
# Corpora live in fuzz/corpus/<target> (gitignored); a crash leaves its input in
# fuzz/artifacts/<target> and fails the run.
set -euo pipefail

cd "$(dirname "$0")/../.."
seconds="${1:-600}"
shift || true
TOOLS="${TECHVERSE_TOOLS:-$HOME/.cache/techverse-tools}"
export PATH="$TOOLS/cargo-fuzz/bin:$PATH"
export CARGO_TARGET_DIR="${TECHVERSE_FUZZ_TARGET_DIR:-$HOME/.cache/techverse-fuzz-target}"
if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --version 0.13.2 --locked --root "$TOOLS/cargo-fuzz"
fi
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    mapfile -t targets < <(cd fuzz && cargo fuzz list)
fi
opts=(--sanitizer none --debug-assertions)
(cd fuzz && cargo fuzz build "${opts[@]}")

status=0
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target" "fuzz/seeds/$target"
    log="fuzz/logs/$target.log"
    mkdir -p fuzz/logs
    echo "==> $target for ${seconds}s"
    if (cd fuzz && cargo fuzz run "${opts[@]}" "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048) >"$log" 2>&1; then
        verdict="no crash"
    else
        verdict="FAILED (see $log and fuzz/artifacts/$target)"
        status=1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
    printf '%-18s %12s executions %8s/s  corpus %5s  %s\n' "$target" "${runs:-?}" "${speed:-?}" "$corpus" "$verdict"
done
exit "$status"
