#!/usr/bin/env bash
# Kiosk firmware: setup, host tests, release build, QEMU end-to-end test, size report.
#
# Idempotent and non-interactive: installs only what is missing (the thumbv7em target,
# defmt-print, qemu-system-arm). Ends with `firmware: N passed, M failed` where N and M
# count host tests, QEMU checks, size checks and lint checks; exits non-zero on any
# failure.
#
# Environment: QEMU_TEST_TIMEOUT (seconds, default 300), FIRMWARE_SKIP_LINT=1 to skip
# rustfmt/clippy.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
host="$(rustc -vV | sed -n 's/^host: //p')"
target=thumbv7em-none-eabihf
logdir="$here/target/test-logs"
mkdir -p "$logdir"
passed=0
failed=0

note() { printf '\n== %s\n' "$*"; }
count() { # count NAME OK|FAIL
    if [ "$2" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $1"; fi
}
sum_line() { # sum_line FILE REGEX: adds the "N passed", "M failed" of matching lines
    local p f
    read -r p f < <(grep -E "$2" "$1" | awk '{
        for (i = 1; i < NF; i++) {
            w = $(i + 1); gsub(/[;,]/, "", w)
            if (w == "passed") p += $i
            if (w == "failed") f += $i
        }
    } END { print p + 0, f + 0 }')
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
}

# ------------------------------------------------------------------ setup
note "setup"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target"
fi
if ! command -v qemu-system-arm >/dev/null; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq qemu-system-arm
fi
if ! defmt-print --version 2>/dev/null | grep -q ' 1\.'; then
    cargo install defmt-print --locked
fi
qemu-system-arm --version | head -1
defmt-print --version

# ------------------------------------------------------------------ host tests
note "host tests ($host)"
cargo test --target "$host" -p tcmcare-kiosk -p tcmcare-device-models -p tcmcare-qemu-test \
    2>&1 | tee "$logdir/host-tests.log"
if ! grep -q '^test result:' "$logdir/host-tests.log"; then
    count "host tests did not run" FAIL
fi
sum_line "$logdir/host-tests.log" '^test result: '

# ------------------------------------------------------------------ builds
note "release build ($target) and the QEMU harness ($host)"
if cargo build --release -p tcmcare-board 2>&1 | tee "$logdir/build.log"; then
    count "release build" ok
else
    count "release build" FAIL
fi
if ! cargo build --target "$host" -p tcmcare-qemu-test 2>&1 | tee -a "$logdir/build.log"; then
    count "QEMU harness build" FAIL
fi
elf="$here/target/$target/release/tcmcare-board"
harness="$here/target/$host/debug/tcmcare-qemu-test"

# ------------------------------------------------------------------ QEMU end-to-end
note "QEMU end-to-end (mps2-an386)"
if [ -x "$harness" ] && [ -f "$elf" ]; then
    timeout $(( ${QEMU_TEST_TIMEOUT:-300} + 120 )) \
        "$harness" run --elf "$elf" --timeout "${QEMU_TEST_TIMEOUT:-300}" \
        --log "$logdir/qemu-defmt.log" 2>&1 | tee "$logdir/qemu.log"
    if grep -qE '^qemu: [0-9]+ passed' "$logdir/qemu.log"; then
        sum_line "$logdir/qemu.log" '^qemu: [0-9]+ passed'
    else
        count "QEMU test produced no result" FAIL
    fi
    echo "decoded defmt log: $logdir/qemu-defmt.log"
else
    count "QEMU test (harness or firmware missing)" FAIL
fi

# ------------------------------------------------------------------ size report
note "size report"
if [ -x "$harness" ] && [ -f "$elf" ]; then
    "$harness" size --elf "$elf" --flash-limit $((96 * 1024)) --ram-limit $((32 * 1024)) \
        2>&1 | tee "$logdir/size.log"
    sum_line "$logdir/size.log" '^size: [0-9]+ passed'
    grep -E 'stack peak' "$logdir/qemu.log" || echo "stack peak: not measured"
else
    count "size report" FAIL
fi

# ------------------------------------------------------------------ lint
if [ "${FIRMWARE_SKIP_LINT:-0}" != 1 ]; then
    note "lint"
    # -p, not --all: --all would also format the path dependency ../core.
    if cargo fmt -p tcmcare-kiosk -p tcmcare-device-models -p tcmcare-board -p tcmcare-qemu-test \
        -- --check >"$logdir/fmt.log" 2>&1; then count fmt ok; else
        cat "$logdir/fmt.log"; count "cargo fmt --check" FAIL; fi
    if cargo clippy -p tcmcare-board -p tcmcare-kiosk -p tcmcare-device-models -- -D warnings \
        >"$logdir/clippy-target.log" 2>&1 \
        && cargo clippy --target "$host" --all-targets \
            -p tcmcare-kiosk -p tcmcare-device-models -p tcmcare-qemu-test -- -D warnings \
            >"$logdir/clippy-host.log" 2>&1; then
        count clippy ok
    else
        cat "$logdir"/clippy-*.log | grep -E '^(error|warning)' -A6 | head -60
        count "cargo clippy -D warnings" FAIL
    fi
fi

echo
echo "firmware: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
