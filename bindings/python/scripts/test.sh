#!/usr/bin/env bash
# Builds the tcmcare Python package into bindings/python/.venv and runs its checks:
# mypy.stubtest (the hand-written stubs against the built module), mypy --strict (package
# and tests) and pytest with warnings as errors. Idempotent: the virtualenv and the pinned
# tools are installed when missing or when tests/requirements.txt changed; the extension is
# rebuilt incrementally (cargo) into the shared target directory of the workspace.
#
# Non-interactive; needs python3 (>= 3.9, with venv) and cargo; reaches only PyPI and
# crates.io. PYTHON selects the interpreter (default python3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel)"
venv="$here/.venv"
requirements="$here/tests/requirements.txt"
stamp="$venv/.requirements.sha256"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1

if [ ! -x "$venv/bin/python" ]; then
    echo "== creating $venv"
    "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"

if [ ! -f "$stamp" ] || [ "$(sha256sum "$requirements" | cut -d' ' -f1)" != "$(cat "$stamp")" ]; then
    echo "== installing pinned test tools"
    "$py" -m pip install --quiet --upgrade pip
    "$py" -m pip install --quiet -r "$requirements"
    sha256sum "$requirements" | cut -d' ' -f1 > "$stamp"
fi

echo "== building tcmcare (maturin develop --release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
(cd "$here" && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" maturin develop --release --quiet)

cd "$here"
echo "== stubtest"
"$py" -m mypy.stubtest tcmcare --mypy-config-file pyproject.toml --allowlist stubtest-allowlist.txt
echo "== mypy --strict"
"$py" -m mypy --config-file pyproject.toml
echo "== pytest"
"$py" -m pytest -W error -q -r fEs tests
