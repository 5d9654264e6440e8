#!/usr/bin/env bash
# Installs what a fresh machine lacks for building and testing tcmcare. Idempotent and
# quick when everything is present. Non-interactive (CI runs it without stdin).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

# Rust components and the Cortex-M4F target (no_std proof and kiosk firmware).
if ! rustup component list --installed 2>/dev/null | grep -q '^clippy'; then
  log "rustup component add clippy"; rustup component add clippy
fi
if ! rustup component list --installed 2>/dev/null | grep -q '^rustfmt'; then
  log "rustup component add rustfmt"; rustup component add rustfmt
fi
if ! rustup target list --installed | grep -q '^thumbv7em-none-eabihf$'; then
  log "rustup target add thumbv7em-none-eabihf"; rustup target add thumbv7em-none-eabihf
fi

# Debian packages: C toolchain bits for the C ABI tests and the reference terminal,
# valgrind, QEMU for the firmware, python venv support.
need_pkgs=()
command -v gcc >/dev/null || need_pkgs+=(gcc)
command -v make >/dev/null || need_pkgs+=(make)
command -v valgrind >/dev/null || need_pkgs+=(valgrind)
command -v pkg-config >/dev/null || need_pkgs+=(pkg-config)
command -v qemu-system-arm >/dev/null || need_pkgs+=(qemu-system-arm)
[ -f /usr/include/sqlite3.h ] || need_pkgs+=(libsqlite3-dev)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_pkgs+=(python3-venv)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "apt-get install ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
# The pinned cbindgen that checks ffi/include/tcmcare.h for drift.
bash ffi/scripts/setup.sh
log "ok"
