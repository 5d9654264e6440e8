"""Shared fixtures: the golden vectors of tests/vectors/manifest.json and sample records."""

from __future__ import annotations

import datetime
import json
import pathlib
from typing import Any, Dict, List

import pytest

import tcmcare

MANIFEST = pathlib.Path(__file__).resolve().parents[3] / "tests" / "vectors" / "manifest.json"

# 2026-03-15T08:30:00Z, the time of the golden vectors.
T0 = datetime.datetime(2026, 3, 15, 8, 30, tzinfo=datetime.timezone.utc)


def load_vectors() -> List[Dict[str, Any]]:
    vectors: List[Dict[str, Any]] = json.loads(MANIFEST.read_text(encoding="utf-8"))["vectors"]
    return vectors


VECTORS = load_vectors()
OK_VECTORS = [v for v in VECTORS if v["expect"] == "ok"]


@pytest.fixture(scope="session")
def golden_records() -> Dict[str, tcmcare.Record]:
    """Name -> record of every vector that decodes."""
    return {v["name"]: tcmcare.decode(bytes.fromhex(v["envelope_hex"])) for v in OK_VECTORS}
