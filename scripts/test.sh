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
if [ -x firmware/scripts/test.sh ]; then
  step "firmware tests" firmware/scripts/test.sh
fi
if [ -f scripts/demo.sh ]; then
  # The main job as a smoke test (about 20 s once the parts above are built).
  step "care-home demo (smoke)" env DEMO_OUT=target/demo-smoke bash scripts/demo.sh
fi

# Sum the counts every runner printed.
passed=0; failed=0
while read -r p f; do passed=$((passed + p)); failed=$((failed + f)); done < <(
  grep -E '^test result: ' "$LOG" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/'
  grep -E '^(C tests|firmware|demo): [0-9]+ passed, [0-9]+ failed' "$LOG" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/'
  grep -E '^=+ .*[0-9]+ passed' "$LOG" | sed -E 's/.* ([0-9]+) passed.*/\1/; s/$/ 0/'
  grep -E '^=+ .*[0-9]+ failed' "$LOG" | sed -E 's/.* ([0-9]+) failed.*/0 \1/'
)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
printf '\ntests: %d passed, %d failed\n' "$passed" "$failed"
exit "$status"
