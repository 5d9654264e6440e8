"""SQLiteStore and SQLiteOutboxStorage hardening: schema versions, file permissions,
key material on disk, argument checks, threads."""

from __future__ import annotations

import os
import pathlib
import sqlite3
import stat
from typing import Any, List

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


# ------------------------------------------------------------------------- key material on disk

KEY1 = tcmcare.DeviceKey(bytes(range(0x10, 0x30)))
KEY2 = tcmcare.DeviceKey(bytes(range(0x50, 0x70)))
KEY3 = tcmcare.DeviceKey(bytes(range(0x90, 0xB0)))


def on_disk(db: pathlib.Path) -> bytes:
    """Everything SQLite keeps of ``db`` on disk: the file and its -wal / -journal."""
    out = b""
    for suffix in ("", "-wal", "-journal"):
        p = db.with_name(db.name + suffix)
        if p.exists():
            out += p.read_bytes()
    return out


@pytest.mark.parametrize("kind", ["store", "outbox"])
def test_key_files_are_created_0600(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The database and its -wal and -shm are 0600 from creation on: the file exists
    with that mode before SQLite opens it (no window with a wider mode, no chmod)."""
    db = tmp_path / f"{kind}.db"
    modes_at_connect: List[int] = []
    connect = sqlite3.connect

    def watching_connect(path: str, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        modes_at_connect.append(stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else -1)
        db: sqlite3.Connection = connect(path, *args, **kwargs)
        return db

    monkeypatch.setattr(sqlite3, "connect", watching_connect)
    old_umask = os.umask(0o022)
    try:
        if kind == "store":
            s: Any = SQLiteStore(db)
            s.add_key(7, 1, KEY1)
        else:
            s = tcmcare.SQLiteOutboxStorage(db)
            s.store_seal_state(b"state" + KEY1.expose())
    finally:
        os.umask(old_umask)
    assert modes_at_connect == [0o600]
    for suffix in ("", "-wal", "-shm"):
        p = db.with_name(db.name + suffix)
        assert p.exists(), f"{p.name} (the store runs in WAL mode)"
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    s.close()
    # an existing database keeps the mode its owner gave it
    os.chmod(db, 0o640)
    (SQLiteStore(db) if kind == "store" else tcmcare.SQLiteOutboxStorage(db)).close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o640


@pytest.fixture
def sqlite_without_secure_delete(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections as on an SQLite built without SQLITE_SECURE_DELETE (python.org builds,
    for one; Debian's turns it on): freed content stays in the file unless the store
    turns secure_delete on itself."""
    connect = sqlite3.connect

    def plain_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db: sqlite3.Connection = connect(*args, **kwargs)
        db.execute("PRAGMA secure_delete = OFF")
        return db

    monkeypatch.setattr(sqlite3, "connect", plain_connect)


@pytest.mark.usefixtures("sqlite_without_secure_delete")
def test_a_retired_or_replaced_key_is_not_left_on_disk(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "terminal.db"
    store = SQLiteStore(db)
    store.add_key(7, 1, KEY1)
    store.add_key(7, 2, KEY2)
    assert KEY1.expose() in on_disk(db) and KEY2.expose() in on_disk(db)
    store.key_used(7, 2)  # a frame under key 2: key 1 retired
    assert store.key_ids(7) == [2]
    assert KEY1.expose() not in on_disk(db)  # neither in the file nor in the WAL
    store.add_key(7, 2, KEY3)  # key 2 replaced
    assert KEY2.expose() not in on_disk(db) and KEY3.expose() in on_disk(db)
    store.close()
    assert KEY1.expose() not in on_disk(db) and KEY2.expose() not in on_disk(db)


@pytest.mark.usefixtures("sqlite_without_secure_delete")
def test_a_kiosk_key_replaced_in_the_seal_store_is_not_left_on_disk(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "kiosk.db"
    storage = tcmcare.SQLiteOutboxStorage(db)
    storage.store_seal_state(b"old state" + KEY1.expose())
    storage.store_seal_state(b"rekeyed" + KEY2.expose())  # a rotation replaces the key
    assert KEY1.expose() not in on_disk(db)
    assert storage.load_seal_state() == b"rekeyed" + KEY2.expose()
    storage.close()
