#!/usr/bin/env bash
# Fuzz smoke test: builds every cargo-fuzz target of core/fuzz (the Rust decoders) and
# ffi/fuzz (the C ABI's entry points) and runs each for a few seconds on its committed
# seed corpus (<dir>/seeds/<target>). New inputs go to a scratch directory, so the seeds
# stay as committed; crashes land in <dir>/artifacts/<target>/ and fail the script.
#
# Needs the nightly toolchain and cargo-fuzz; without them it prints why it skips and
# exits 0. FUZZ_SMOKE_SECONDS sets the time per target (default 5).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
secs="${FUZZ_SMOKE_SECONDS:-5}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz smoke: skipped (no nightly toolchain: rustup toolchain install nightly)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz smoke: skipped (cargo-fuzz not installed: cargo install cargo-fuzz)"
    exit 0
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
passed=0
for dir in core/fuzz ffi/fuzz; do
    cd "$root/$dir"
    targets=$(cargo +nightly fuzz list)
    cargo +nightly fuzz build
    for t in $targets; do
        mkdir -p "$scratch/$t"
        log="$scratch/$t.log"
        if cargo +nightly fuzz run "$t" "$scratch/$t" "seeds/$t" -- \
            -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 >"$log" 2>&1; then
            runs=$(grep -m1 "stat::number_of_executed_units" "$log" | awk '{print $2}')
            echo "fuzz smoke: $t ok (${runs:-?} executions in ${secs}s)"
            passed=$((passed + 1))
        else
            tail -n 60 "$log"
            echo "fuzz smoke: $t FAILED (reproducer in $dir/artifacts/$t/)"
            echo "fuzz-smoke: ${passed} passed, 1 failed"
            exit 1
        fi
    done
done
echo "fuzz-smoke: ${passed} passed, 0 failed"
