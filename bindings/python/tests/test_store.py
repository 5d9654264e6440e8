"""SQLiteStore and SQLiteOutboxStorage hardening: schema versions, file permissions,
key material on disk, argument checks, threads."""

from __future__ import annotations

import pathlib
import sqlite3

import pytest

import tcmcare
from tcmcare import SQLiteStore, errors


# ------------------------------------------------------------------------- schema version


def newer_store(path: pathlib.Path, version: str) -> None:
    """A store written by a (hypothetical) newer tcmcare: its own tables, its version."""
    raw = sqlite3.connect(path)
    with raw:
        raw.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
            f" INSERT INTO meta (key, value) VALUES ('schema', '{version}');"
            " CREATE TABLE records_v3 (record_no INTEGER PRIMARY KEY, envelope BLOB NOT NULL);"
        )
    raw.close()


@pytest.mark.parametrize("version", ["3", "17", "not-a-number"])
def test_a_newer_schema_is_refused_before_any_write(tmp_path: pathlib.Path, version: str) -> None:
    db = tmp_path / "newer.db"
    newer_store(db, version)
    before = db.read_bytes()
    with pytest.raises(errors.SchemaVersionError) as e:
        SQLiteStore(db)
    assert isinstance(e.value, ValueError)
    assert e.value.found == version and e.value.supported == tcmcare.store.STORE_SCHEMA_VERSION
    assert version in str(e.value)
    # not a byte changed (no CREATE of this version's tables, no journal mode switch)
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["newer.db"]
    raw = sqlite3.connect(db)
    assert [n for (n,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")] == [
        "meta",
        "records_v3",
    ]
    raw.close()


def test_current_and_version_1_stores_still_open(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "s.db"
    SQLiteStore(db).close()
    with SQLiteStore(db) as store:
        assert len(store) == 0
