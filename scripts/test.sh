#!/usr/bin/env bash
# Runs every test of the repository and closes with one line "tests: N passed, M failed".
# Each runner's own output is kept; counts are summed from cargo, the C runner and pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
status=0

step() {
  local name=$1; shift
  printf '\n==> %s\n' "$name"
  if ! "$@" 2>&1 | tee -a "$LOG"; then
    printf '!! step failed: %s\n' "$name" | tee -a "$LOG"
    status=1
  fi
}

step "rustfmt" cargo fmt --all -- --check
step "clippy (workspace)" cargo clippy --workspace --all-targets --all-features -- -D warnings
step "rustdoc (core)" env RUSTDOCFLAGS="-D warnings" cargo doc -p tcmcare-core --no-deps --all-features
step "no_std build (thumbv7em)" cargo build -p tcmcare-core --target thumbv7em-none-eabihf --no-default-features
step "no_std build with defmt" cargo build -p tcmcare-core --target thumbv7em-none-eabihf --no-default-features --features defmt
step "cargo test (workspace)" cargo test --workspace --exclude tcmcare-python
if [ -f tests/tests/sync_sim.rs ]; then
  step "sync simulation (release)" cargo test --release -p tcmcare-conformance --test sync_sim
fi
if [ -f ffi/Makefile ]; then
  step "C ABI tests" make -C ffi test
fi
if [ -x bindings/python/scripts/test.sh ]; then
  step "Python tests" bindings/python/scripts/test.sh
fi
step "fuzz smoke (nightly, skipped without it)" bash scripts/fuzz-smoke.sh
if [ -x firmware/scripts/test.sh ]; then
  step "firmware tests" firmware/scripts/test.sh
fi
if [ -f demo/demo.sh ]; then
  # The main job as a smoke test (about 20 s once the parts above are built).
  step "care-home demo (smoke)" env DEMO_OUT=target/demo-smoke bash demo/demo.sh
fi

# Sum the counts every runner printed.
passed=0; failed=0
while read -r p f; do passed=$((passed + p)); failed=$((failed + f)); done < <(
  grep -E '^test result: ' "$LOG" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/'
  grep -E '^(C tests|firmware|demo|fuzz-smoke): [0-9]+ passed, [0-9]+ failed' "$LOG" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/'
  # pytest's closing line, with or without the ==== frame: "3 failed, 183 passed in 9.1s".
  grep -E '^(=+ )?[0-9]+ (passed|failed)[^=]* in [0-9.]+s' "$LOG" | while read -r line; do
    p=$(printf '%s' "$line" | sed -nE 's/.*(^|[^0-9])([0-9]+) passed.*/\2/p')
    f=$(printf '%s' "$line" | sed -nE 's/.*(^|[^0-9])([0-9]+) failed.*/\2/p')
    echo "${p:-0} ${f:-0}"
  done
)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
printf '\ntests: %d passed, %d failed\n' "$passed" "$failed"
exit "$status"
