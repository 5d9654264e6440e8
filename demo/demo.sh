#!/usr/bin/env bash
# `make demo`: the main job. Installs what a fresh machine lacks, builds the parts that
# take part (libtcmcare and the reference C terminal, the kiosk firmware and its QEMU
# harness, the Python package), then runs a care home's day end to end: demo/demo.py
# inside the Python package's virtualenv. Outputs land in out/ (gitignored).
#
# Non-interactive; quick when everything is built. DEMO_SEED changes the relay's faults;
# DEMO_OUT puts the outputs elsewhere than out/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out="${DEMO_OUT:-out}"
mkdir -p "$out"
buildlog="$out/build.log"
: > "$buildlog"

log() { printf '[demo] %s\n' "$*"; }
quiet() { # runs a build step, showing its output only when it fails
  if ! "$@" >> "$buildlog" 2>&1; then
    tail -n 40 "$buildlog"
    log "build step failed: $* (full log: $buildlog)"
    exit 1
  fi
}

log "setup (Rust targets, Debian packages, cbindgen: scripts/setup.sh)"
quiet bash scripts/setup.sh
# defmt-print decodes the kiosks' logs (installed as firmware/scripts/test.sh does).
if ! defmt-print --version 2>/dev/null | grep -q ' 1\.'; then
  log "cargo install defmt-print --locked"
  quiet cargo install defmt-print --locked
fi
host="$(rustc -vV | sed -n 's/^host: //p')"

log "build: libtcmcare and the reference terminal (make -C ffi examples)"
quiet make -C ffi examples
log "build: kiosk firmware (thumbv7em, release) and its QEMU harness"
quiet bash -c "cd firmware && cargo build --release -p tcmcare-board && cargo build --target $host -p tcmcare-qemu-test"

# The Python package: bindings/python/scripts/test.sh creates the virtualenv, installs the
# pinned tools, builds the extension and runs the package's tests (first run only); later
# runs rebuild the extension only when the Rust sources changed.
venv=bindings/python/.venv
so=bindings/python/python/tcmcare/_native.abi3.so
if ! "$venv/bin/python" -c 'import tcmcare' >/dev/null 2>&1; then
  log "build: the Python package and its virtualenv (bindings/python/scripts/test.sh)"
  quiet bindings/python/scripts/test.sh
elif [ -n "$(find core/src core/Cargo.toml bindings/python/src bindings/python/Cargo.toml -newer "$so" -print -quit)" ]; then
  log "build: the Python extension (maturin develop --release)"
  quiet env -C bindings/python VIRTUAL_ENV="$root/$venv" PATH="$root/$venv/bin:$PATH" \
    CARGO_TARGET_DIR="$root/target" maturin develop --release --quiet
fi

log "run: demo/demo.py"
export HOST_TRIPLE="$host"
exec timeout --signal=TERM --kill-after=15 300 "$venv/bin/python" demo/demo.py
