#!/usr/bin/env bash
# The comparative benchmark: writes BENCHMARKS.md (overwriting it) from one run and prints
# its path. `make bench` calls this.
#
#   1. builds bench/ (its own cargo workspace) in release;
#   2. builds the Python extension (maturin develop --release into bindings/python/.venv,
#      which bindings/python/scripts/test.sh creates when it is missing), exports the
#      canonical records as FHIR R4 JSON with it and runs its decode benchmark;
#   3. runs the C API decode benchmark (ffi/benches/decode.rs), the sealed-frame C
#      receiver benchmark (ffi/benches/sealed.rs) and the library sizes;
#   4. builds the kiosk firmware in release if the thumbv7em target is installed, and
#      reads its flash/RAM from the firmware size report;
#   5. runs tcmcare-bench, which measures sizes, encode/decode times against Protocol
#      Buffers, MessagePack, CBOR, JSON and FHIR JSON, sync overhead and constitution
#      scoring in one process, and writes the report with everything above.
#
# A part that is missing or fails is reported as such in BENCHMARKS.md ("pending",
# "not built"); only a failure of bench/ itself fails the script. Idempotent and
# non-interactive; logs go to target/bench-logs/. Takes a few minutes on 2 cores once
# things are built.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
out="$root/BENCHMARKS.md"
logs="$CARGO_TARGET_DIR/bench-logs"
mkdir -p "$logs"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

step() { printf '== %s\n' "$*" >&2; }
warn() { printf '   (%s)\n' "$*" >&2; }

date_utc="$(date -u '+%Y-%m-%d %H:%M UTC')"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit (with uncommitted changes)"
fi
host="$(rustc -vV | sed -n 's/^host: //p')"
args=(--rustc "$(rustc --version)" --date "$date_utc" --commit "$commit")

# ------------------------------------------------------------------ 1. bench/
step "building bench/ (release)"
cargo build --release --manifest-path bench/Cargo.toml 2>&1 | tee "$logs/bench-build.log" >&2
bench="$CARGO_TARGET_DIR/release/tcmcare-bench"
"$bench" canonical "$tmp/canonical.json"
# Versions of the comparison libraries, from bench/Cargo.lock.
libs="$(awk -F'"' '/^name = /{n=$2} /^version = /{ if (n ~ /^(prost|rmp-serde|ciborium|serde_json)$/) printf "%s%s %s", sep, n, $2; if (n ~ /^(prost|rmp-serde|ciborium|serde_json)$/) sep=", " }' bench/Cargo.lock)"
args+=(--libraries "$libs")

# ------------------------------------------------------------------ 2. Python
pydir="$root/bindings/python"
venv="$pydir/.venv"
py="$venv/bin/python"
if [ ! -x "$py" ] && [ -f "$pydir/scripts/test.sh" ]; then
    step "creating the Python package's virtualenv (bindings/python/scripts/test.sh, once)"
    bash "$pydir/scripts/test.sh" > "$logs/python-setup.log" 2>&1 \
        || warn "bindings/python/scripts/test.sh failed; see $logs/python-setup.log"
fi
python_state=""
if [ -x "$venv/bin/maturin" ]; then
    step "building the Python extension (maturin develop --release)"
    if ! (cd "$pydir" && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" \
            maturin develop --release --quiet) > "$logs/python-build.log" 2>&1; then
        python_state="the release build failed (see target/bench-logs/python-build.log); "
        warn "maturin develop failed; using the extension already installed, if any"
    fi
fi
if [ -x "$py" ] && "$py" -c 'import tcmcare' 2>/dev/null; then
    step "FHIR R4 export of the canonical records (tcmcare.to_fhir)"
    if "$py" bench/fhir_dump.py "$tmp/canonical.json" "$tmp/fhir.json" 2> "$logs/fhir-dump.log"; then
        args+=(--fhir "$tmp/fhir.json")
    else
        args+=(--fhir-note "${python_state}the FHIR export failed, see target/bench-logs/fhir-dump.log")
        warn "FHIR export failed; see $logs/fhir-dump.log"
    fi
    if [ -f "$pydir/benches/bench_decode.py" ]; then
        step "Python decode benchmark (bindings/python/benches/bench_decode.py)"
        if "$py" "$pydir/benches/bench_decode.py" --records 100000 --repeat 5 \
                > "$tmp/python-bench.txt" 2> "$logs/python-bench.err"; then
            cp "$tmp/python-bench.txt" "$logs/python-bench.txt"
            args+=(--python-bench "$tmp/python-bench.txt")
        else
            args+=(--python-note "${python_state}bench_decode.py failed (target/bench-logs/python-bench.err)")
        fi
    else
        args+=(--python-note "${python_state}bindings/python/benches/bench_decode.py does not exist yet")
    fi
else
    args+=(--fhir-note "the tcmcare Python package is not built (run bindings/python/scripts/test.sh)"
           --python-note "the tcmcare Python package is not built (run bindings/python/scripts/test.sh)")
    warn "Python package not available"
fi

# ------------------------------------------------------------------ 3. C API
if [ -f ffi/benches/decode.rs ]; then
    step "C API decode benchmark (cargo bench -p tcmcare-ffi --bench decode)"
    if cargo bench -p tcmcare-ffi --bench decode -- --warm-up-time 1 --measurement-time 2 \
            > "$tmp/c-bench.txt" 2> "$logs/c-bench.err"; then
        # Sealed frames through the C receiver (ffi/benches/sealed.rs): its summary line
        # joins the C section.
        if cargo bench -p tcmcare-ffi --bench sealed -- --warm-up-time 1 --measurement-time 2 \
                > "$tmp/c-sealed.txt" 2> "$logs/c-sealed.err"; then
            grep '^sealed frames through' "$tmp/c-sealed.txt" >> "$tmp/c-bench.txt" || true
        else
            warn "sealed C benchmark failed; see $logs/c-sealed.err"
        fi
        cp "$tmp/c-bench.txt" "$logs/c-bench.txt"
        args+=(--c-bench "$tmp/c-bench.txt")
    else
        args+=(--c-note "the benchmark failed to build or run (target/bench-logs/c-bench.err)")
        warn "C benchmark failed; see $logs/c-bench.err"
    fi
    if [ -f ffi/Makefile ] && grep -q '^sizes:' ffi/Makefile \
            && make -s --no-print-directory -C ffi sizes > "$tmp/ffi-sizes.txt" 2> "$logs/ffi-sizes.err"; then
        args+=(--ffi-sizes "$tmp/ffi-sizes.txt")
    fi
else
    args+=(--c-note "ffi/benches/decode.rs does not exist yet")
fi

# ------------------------------------------------------------------ 4. firmware
fw_target=thumbv7em-none-eabihf
elf="$root/firmware/target/$fw_target/release/tcmcare-board"
fw_note=""
if rustup target list --installed 2>/dev/null | grep -qx "$fw_target"; then
    step "building the kiosk firmware (release, $fw_target)"
    if (cd firmware && env -u CARGO_TARGET_DIR cargo build --release -p tcmcare-board) \
            > "$logs/firmware-build.log" 2>&1; then
        fw_note="Image built by this run (\`cargo build --release -p tcmcare-board\` in firmware/, opt-level s, fat LTO)."
    elif [ -f "$elf" ]; then
        fw_note="The release build failed in this run (target/bench-logs/firmware-build.log); sizes are of the image built $(date -u -r "$elf" '+%Y-%m-%d %H:%M UTC')."
    fi
else
    warn "the $fw_target target is not installed; not building the firmware"
    [ -f "$elf" ] && fw_note="Image built $(date -u -r "$elf" '+%Y-%m-%d %H:%M UTC') (not rebuilt: the $fw_target target is not installed)."
fi
if [ -f "$elf" ]; then
    step "firmware size report (tcmcare-qemu-test size)"
    (cd firmware && env -u CARGO_TARGET_DIR cargo run -q --target "$host" -p tcmcare-qemu-test -- \
        size --elf "$elf") > "$tmp/firmware-size.txt" 2> "$logs/firmware-size.err" || true
    cp "$tmp/firmware-size.txt" "$logs/firmware-size.txt"
    args+=(--firmware-size "$tmp/firmware-size.txt" --firmware-note "$fw_note")
    if [ -f firmware/target/test-logs/qemu.log ] && grep -q 'stack peak ' firmware/target/test-logs/qemu.log; then
        args+=(--stack-peak firmware/target/test-logs/qemu.log)
    fi
else
    args+=(--firmware-note "No firmware image at firmware/target/$fw_target/release/tcmcare-board (build it with firmware/scripts/test.sh).")
fi

# ------------------------------------------------------------------ 5. measure, write
step "measuring (tcmcare-bench report)"
"$bench" report --out "$out" "${args[@]}"
echo "$out"
