#!/usr/bin/env bash
# Generates the C header from the crate sources with the pinned cbindgen.
#   scripts/gen-header.sh            rewrites include/tcmcare.h
#   scripts/gen-header.sh OUT.h      writes OUT.h instead (the drift check diffs it)
set -euo pipefail
cd "$(dirname "$0")/.."

CBINDGEN_VERSION=0.29.4
if [ "$(cbindgen --version 2>/dev/null || true)" != "cbindgen ${CBINDGEN_VERSION}" ]; then
  echo "gen-header: cbindgen ${CBINDGEN_VERSION} required; run ffi/scripts/setup.sh" >&2
  exit 1
fi

out=${1:-include/tcmcare.h}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cbindgen --quiet --config cbindgen.toml --crate tcmcare-ffi --output "$tmp" .
# cbindgen cannot spell an array parameter; the 33 answers are documented as
# `const uint8_t answers[33]` (the same type as `const uint8_t *answers` in C).
sed -e 's/tcm_constitution_assess(const uint8_t \*answers,/tcm_constitution_assess(const uint8_t answers[33],/' \
    -e 's/tcm_constitution_apply_measurements(uint8_t \*answers,/tcm_constitution_apply_measurements(uint8_t answers[33],/' \
    "$tmp" > "$out"
