"""One schema for the terminal's database: SQLiteStore runs core's script
(``core/sql/store.sql``, embedded in the native module), the one the C terminal runs through
``tcm_store_schema()``; its version check and its upgrade of version-1 stores are kept."""

from __future__ import annotations

import inspect
import pathlib
import sqlite3
from typing import List, Tuple

import pytest

import tcmcare
import tcmcare.store
from tcmcare import SQLiteStore, _native

CORE_SQL = pathlib.Path(__file__).resolve().parents[3] / "core" / "sql" / "store.sql"
SHARED_TABLES = ["device_keys", "devices", "meta", "records", "seal_counters", "watermarks"]


def master(db: sqlite3.Connection) -> List[Tuple[str, str, str, str]]:
    """What a database holds: every table and index, with the SQL that created it."""
    rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
    return [(str(t), str(n), str(tbl), str(sql)) for (t, n, tbl, sql) in rows]


def core_sql() -> str:
    if not CORE_SQL.exists():  # an installed package tested outside the repository
        pytest.skip(f"{CORE_SQL} is not here")
    return CORE_SQL.read_text(encoding="utf-8")


def test_the_native_schema_is_cores_file() -> None:
    assert _native.STORE_SCHEMA == core_sql()
    assert _native.STORE_SCHEMA_VERSION == 2
    assert "INSERT INTO meta (key, value) VALUES ('schema', '2')" in _native.STORE_SCHEMA


def test_store_py_runs_the_native_schema_and_has_no_copy() -> None:
    assert tcmcare.store.SCHEMA is _native.STORE_SCHEMA
    assert tcmcare.store.STORE_SCHEMA_VERSION == _native.STORE_SCHEMA_VERSION
    source = inspect.getsource(tcmcare.store)
    for table in SHARED_TABLES:
        assert f"CREATE TABLE IF NOT EXISTS {table} " not in source, table
    assert "CREATE INDEX" not in source and "CREATE UNIQUE INDEX" not in source
    assert "'schema', " not in source  # the version row is written by the script


def test_a_store_database_is_the_one_cores_script_makes(tmp_path: pathlib.Path) -> None:
    with SQLiteStore(tmp_path / "store.db") as store:
        got_master, got_meta = master(store._db), store._db.execute("SELECT * FROM meta").fetchall()
    raw = sqlite3.connect(tmp_path / "core.db")
    raw.executescript(core_sql())
    assert got_master == master(raw)
    assert sorted(n for (t, n, _, _) in got_master if t == "table") == SHARED_TABLES
    assert got_meta == raw.execute("SELECT * FROM meta").fetchall() == [("schema", "2")]
    raw.close()


def test_opening_a_current_store_writes_nothing(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "s.db"
    SQLiteStore(db).close()
    with SQLiteStore(db) as store:
        assert store._db.total_changes == 0


def test_a_version_1_store_is_upgraded_in_place(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "old.db"
    SQLiteStore(db).close()
    with sqlite3.connect(db) as raw:
        want = master(raw)
        raw.executescript(
            "DROP TABLE devices; DROP TABLE device_keys; DROP TABLE seal_counters;"
            " UPDATE meta SET value = '1' WHERE key = 'schema';"
        )
    raw.close()
    with SQLiteStore(db) as store:
        assert store._db.total_changes == 1  # the version row, nothing else
        assert master(store._db) == want
        assert store._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",)


@pytest.mark.parametrize("version", ["3", "17"])
def test_the_script_never_lowers_a_newer_version(version: str) -> None:
    # The stores refuse such a database before running the script; were the script run on
    # one anyway, its version row would stay.
    raw = sqlite3.connect(":memory:")
    raw.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
        f" INSERT INTO meta (key, value) VALUES ('schema', '{version}');"
    )
    raw.executescript(tcmcare.store.SCHEMA)
    assert raw.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (version,)
    raw.close()
