#!/usr/bin/env bash
# Installs the pinned cbindgen that generates include/tcmcare.h. Idempotent: does nothing
# when `cbindgen --version` already reports the pinned version.
set -euo pipefail

CBINDGEN_VERSION=0.29.4

if [ "$(cbindgen --version 2>/dev/null || true)" != "cbindgen ${CBINDGEN_VERSION}" ]; then
  echo "[ffi setup] cargo install cbindgen --version ${CBINDGEN_VERSION} --locked"
  cargo install cbindgen --version "${CBINDGEN_VERSION}" --locked
fi
