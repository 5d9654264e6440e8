"""Storage: the store protocols and the built-in SQLite stores.

A record store keeps every record's **envelope bytes unchanged** (so records of kinds this
version does not know are kept and can be forwarded) and deduplicates by record id
(origin device, epoch, sequence): adding a record twice is harmless. The protocols:

- :class:`RecordStore` -- what reports and exports read (``envelopes()``) and what direct
  imports write (``add()``);
- :class:`ReceiverStore` -- what :class:`tcmcare.Receiver` commits into: per-stream
  watermarks and atomic commits (one transaction for the records and the watermark);
- :class:`SealedReceiverStore` -- a receiver store that also keeps the last accepted frame
  counter per stream (replay protection across restarts), for a receiver with keys;
- :class:`KeyStore` -- the terminal's device keys, revocations and reply counter leases;
- :class:`OutboxStorage` -- where :class:`tcmcare.Outbox` persists the records it sends;
- :class:`SealStore` -- where a sealed :class:`tcmcare.Outbox` persists its key and
  counter lease.

:class:`SQLiteStore` implements the record, receiver and key store protocols on Python's
:mod:`sqlite3` (one object makes a sealed terminal), :class:`SQLiteOutboxStorage` the
outbox and seal store protocols. Integrators plug their own database by implementing the
same methods. The SQLite schema (version 2) is :data:`SCHEMA`, core's schema of the
terminal's database, which the C reference terminal creates too.

Key bytes are stored in clear (the link is protected, the database file is not): keep the
database where only the terminal's service can read it. Both SQLite stores create a new
database file with mode 0600 before SQLite opens it (SQLite gives the -wal and -shm files
the same mode), run in WAL mode with ``secure_delete`` on, and truncate the log after a key
is retired or replaced, so that no old key is left readable on disk. Python cannot wipe the bytes
objects that pass through it; only :class:`tcmcare.DeviceKey` zeroizes its copy.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import threading
import time as _time
from typing import (
    Any,
    Callable,
    Iterator,
    List,
    Literal,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
    runtime_checkable,
)

from . import _native
from .errors import (
    IdConflictError,
    SchemaVersionError,
    StoreConflictError,
    StoreError,
    StoreFullError,
    StoreThreadError,
    StoreUnavailableError,
    UnknownKindError,
)
from .types import CommitRecord, FrameCounter, RecordId, UnknownTime

__all__ = [
    "RecordStore",
    "ReceiverStore",
    "SealedReceiverStore",
    "KeyStore",
    "KeyLookup",
    "OutboxStorage",
    "SealStore",
    "SQLiteStore",
    "SQLiteOutboxStorage",
    "SCHEMA",
    "STORE_SCHEMA_VERSION",
]

STORE_SCHEMA_VERSION: int = _native.STORE_SCHEMA_VERSION
"""Version of :data:`SCHEMA`; stored in ``meta`` under ``"schema"``. Version 1 (no key
and counter tables) is upgraded in place when opened."""

SCHEMA: str = _native.STORE_SCHEMA
"""The SQL of :class:`SQLiteStore`: core's schema of the terminal's database
(``core/sql/store.sql``, the one the C terminal runs through ``tcm_store_schema()``), whose
last statement writes the version row. Run only after the stored version was checked."""

OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_meta (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    device        INTEGER NOT NULL,
    epoch         INTEGER NOT NULL,
    acked_through INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_entries (
    position INTEGER PRIMARY KEY,
    entry    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS seal_state (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    state BLOB NOT NULL                 -- SealState bytes of core; holds the key in clear
);
"""
"""The SQL of :class:`SQLiteOutboxStorage`."""

_Bytes = Union[bytes, bytearray, memoryview]
_IdLike = Union[RecordId, Tuple[int, int, int]]


@runtime_checkable
class RecordStore(Protocol):
    """What reports and exports read, and direct imports write."""

    def add(self, envelope: bytes) -> bool:
        """Stores one envelope; ``True`` if it was new, ``False`` if already stored."""
        ...

    def envelopes(self) -> Iterator[bytes]:
        """Every stored envelope to report on: valid records and records of kinds this
        version does not know, without id conflicts, in record-id order."""
        ...


@runtime_checkable
class ReceiverStore(Protocol):
    """What :class:`tcmcare.Receiver` commits into. Raise a
    :class:`tcmcare.errors.StoreError` subclass to refuse a call (the sender retries)."""

    def watermark(self, device: int, epoch: int) -> int:
        """The highest contiguous position committed of stream ``(device, epoch)`` (0 for a
        stream never seen)."""
        ...

    def commit(
        self,
        device: int,
        epoch: int,
        first_position: int,
        records: Sequence[CommitRecord],
        new_watermark: int,
    ) -> None:
        """Stores ``records`` (consecutive positions from ``first_position``, the stored
        watermark + 1) and sets the watermark to ``new_watermark``, all or nothing. A record
        whose id is already stored with the same bytes is not stored again."""
        ...


@runtime_checkable
class SealedReceiverStore(ReceiverStore, Protocol):
    """What a :class:`tcmcare.Receiver` with keys commits into: a :class:`ReceiverStore`
    that also persists the last accepted frame counter of each stream, so that a restart
    cannot let a replayed frame in."""

    def last_counter(self, device: int, epoch: int) -> Tuple[int, int]:
        """The :class:`tcmcare.FrameCounter` (``(key_id, counter)``) persisted for stream
        ``(device, epoch)``; ``(0, 0)`` for none."""
        ...

    def note_counter(self, device: int, epoch: int, counter: FrameCounter) -> None:
        """Raises the stream's last counter to ``counter`` (never lowers it), durably."""
        ...

    def commit_sealed(
        self,
        device: int,
        epoch: int,
        first_position: int,
        records: Sequence[CommitRecord],
        new_watermark: int,
        counter: FrameCounter,
    ) -> None:
        """Like :meth:`ReceiverStore.commit`, and in the same transaction raises the
        stream's last counter to ``counter`` (never lowers it): all or nothing."""
        ...


KeyLookup = Union[_native.DeviceKey, Literal["revoked", "unknown_key", "unknown_device"]]
"""What :meth:`KeyStore.lookup` returns: the key, or why there is none."""


@runtime_checkable
class KeyStore(Protocol):
    """The terminal's keys: device -> keys by key id, revocation, and the terminal's own
    counter lease per key for sealing replies. Raise a :class:`tcmcare.errors.StoreError`
    subclass to refuse a call. An optional ``key_used(device, key_id)`` is told when a
    frame under ``key_id`` was accepted, so the store may retire older keys (completing a
    rotation)."""

    def lookup(self, device: int, key_id: int) -> KeyLookup:
        """Key ``key_id`` of ``device`` as a :class:`tcmcare.DeviceKey`, or
        ``"revoked"`` (the device is revoked), ``"unknown_key"`` (the device has no such
        key) or ``"unknown_device"``."""
        ...

    def reserve_downlink(self, device: int, key_id: int, count: int) -> Optional[int]:
        """Reserves ``count`` further terminal -> kiosk counters of ``(device, key_id)``
        durably (persisted before returning) and returns the first (counters start at 1);
        ``None`` when the key's 32-bit counter space cannot hold ``count`` more (or there
        is no such key). Never returns a counter twice."""
        ...


@runtime_checkable
class SealStore(Protocol):
    """Where a sealed :class:`tcmcare.Outbox` (a kiosk, or a simulation of one) persists
    its credentials and counter lease: opaque bytes holding the key in clear.
    ``store_seal_state`` must be durable and atomic before it returns (after a power cut
    the old or the new state loads); the newest write wins."""

    def load_seal_state(self) -> Optional[bytes]:
        """The persisted state, ``None`` when never provisioned (or wiped)."""
        ...

    def store_seal_state(self, state: bytes) -> None: ...


@runtime_checkable
class OutboxStorage(Protocol):
    """Where :class:`tcmcare.Outbox` persists entries. ``append`` must be durable before it
    returns, must never overwrite, and returns ``False`` when full."""

    def load_meta(self) -> Optional[Tuple[int, int, int]]:
        """``(device, epoch, acked_through)``, ``None`` on new or wiped storage."""
        ...

    def store_meta(self, device: int, epoch: int, acked_through: int) -> None: ...

    def append(self, position: int, entry: bytes) -> bool: ...

    def bounds(self) -> Optional[Tuple[int, int, int]]:
        """``(oldest position, newest position, count)``, ``None`` when empty."""
        ...

    def remove_through(self, position: int) -> None: ...

    def read_from(self, position: int) -> Iterator[Tuple[int, bytes]]:
        """Entries at ``position`` or later, oldest first."""
        ...

    def free_bytes(self) -> int: ...


def _connect(path: Union[str, "os.PathLike[str]"], timeout: float = 5.0) -> sqlite3.Connection:
    """Opens the SQLite database at ``path``, creating a missing file with mode 0600 first
    (SQLite gives its -wal and -shm the database file's mode), so that a file holding
    keys is never readable by others, not even for a moment. An existing file keeps its
    mode."""
    name = os.fspath(path)
    if name not in ("", ":memory:") and not name.startswith("file:"):
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(name, flags, 0o600)
        except FileExistsError:
            pass
        else:
            os.close(fd)
    return sqlite3.connect(name, timeout=timeout)


def _configure(db: sqlite3.Connection) -> None:
    """Settings of a store that holds keys: freed content is overwritten with zeros
    (``secure_delete``), write-ahead log, and every commit synced before it returns."""
    db.execute("PRAGMA secure_delete = ON")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")


def _checkpoint(db: sqlite3.Connection) -> None:
    """Copies the write-ahead log into the database and truncates it, so that the old
    versions of pages the log holds (a deleted key) are gone from disk. Best effort: with
    another connection reading, the log is truncated by a later checkpoint."""
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.OperationalError:
        pass


# SQLite result codes (primary, as in sqlite_errorname without an extended suffix) that mean
# "cannot now": the store refuses the call and the sender retries later.
_UNAVAILABLE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR")
_FULL = ("SQLITE_FULL",)
# Their messages, for Pythons before 3.11 (no sqlite_errorname).
_UNAVAILABLE_MESSAGES = ("database is locked", "database table is locked", "disk i/o error")
_FULL_MESSAGES = ("database or disk is full",)


def _refusal_of(e: sqlite3.OperationalError) -> Optional[StoreError]:
    """The :class:`StoreError` of an SQLite error that means the store cannot take the
    call now (busy, locked, full, I/O error), ``None`` for any other error."""
    name = getattr(e, "sqlite_errorname", None)
    if isinstance(name, str):
        primary = "_".join(name.split("_")[:2])
        unavailable, full = primary in _UNAVAILABLE, primary in _FULL
    else:
        text = str(e).lower()
        unavailable = any(m in text for m in _UNAVAILABLE_MESSAGES)
        full = any(m in text for m in _FULL_MESSAGES)
    if full:
        return StoreFullError(f"SQLite: {e}")
    if unavailable:
        return StoreUnavailableError(f"SQLite: {e}")
    return None


_F = TypeVar("_F", bound=Callable[..., Any])


def _refusing(method: _F) -> _F:
    """A store method called by :class:`tcmcare.Receiver`: SQLite's busy, locked, full and
    I/O errors are raised as the :class:`StoreError` refusals the receiver answers with
    "store unavailable" (the SQLite error is the ``__cause__``); every other exception
    goes to the caller of the receiver."""

    @functools.wraps(method)
    def refusing(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except sqlite3.OperationalError as e:
            refusal = _refusal_of(e)
            if refusal is None:
                raise
            raise refusal from e

    return cast(_F, refusing)


class _Database:
    """An SQLite connection that belongs to the thread that opened it."""

    _conn: sqlite3.Connection
    _thread: int

    def _open(self, path: Union[str, "os.PathLike[str]"], timeout: float = 5.0) -> None:
        self._conn = _connect(path, timeout)
        self._thread = threading.get_ident()

    @property
    def _db(self) -> sqlite3.Connection:
        here = threading.get_ident()
        if here != self._thread:
            name = type(self).__name__
            raise StoreThreadError(
                f"this {name} was created in thread {self._thread} and is used in thread"
                f" {here}: an SQLite connection works only in the thread that opened it;"
                f" open one {name} per thread (on the same database file) or call it from"
                " its own thread"
            )
        return self._conn


_READABLE_SCHEMAS = tuple(str(v) for v in range(1, STORE_SCHEMA_VERSION + 1))
"""Schema versions :class:`SQLiteStore` opens (older ones are upgraded in place by
:data:`SCHEMA`)."""


def _stored_schema(db: sqlite3.Connection) -> Optional[str]:
    """The schema version stored in ``db`` (``None``: a new database, or one without a
    version), read without writing anything."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() is None:
        return None
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    return None if row is None else str(row[0])


def _id_arg(value: object, name: str, low: int) -> int:
    """``value`` as a 32-bit id argument in ``low..2**32-1``: ``TypeError`` for anything but
    an ``int`` (``bool`` included: ``True`` is not device 1), ``ValueError`` out of range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not low <= value <= 0xFFFFFFFF:
        raise ValueError(f"{name} must be {low}..2**32-1, got {value}")
    return value


def _envelope_of(item: Union[_Bytes, "_native.Record"]) -> bytes:
    if isinstance(item, _native.Record):
        return _native.encode(item)
    return bytes(item)


def _unix(when: object) -> Optional[int]:
    if when is None or isinstance(when, UnknownTime):
        return None
    ts = getattr(when, "timestamp")()
    return int(ts)


class SQLiteStore(_Database):
    """The built-in record store on Python's :mod:`sqlite3`: a :class:`RecordStore`, a
    :class:`SealedReceiverStore` and a :class:`KeyStore` (``Receiver(store, keys=store)``
    makes a sealed terminal with this one object).

    ``path`` is a database file (created when missing) or ``":memory:"``; ``timeout`` is
    how long (seconds) a call waits for another connection's write lock before the store
    refuses it.

    The methods :class:`tcmcare.Receiver` calls raise SQLite's busy, locked, full and I/O
    errors as :class:`tcmcare.errors.StoreUnavailableError` /
    :class:`tcmcare.errors.StoreFullError` (the receiver's "store failed" events); any other
    error goes to the receiver's caller. A store works only in the thread that created it
    (:class:`tcmcare.errors.StoreThreadError` otherwise); open one per thread.
    """

    def __init__(self, path: Union[str, "os.PathLike[str]"] = ":memory:", *, timeout: float = 5.0) -> None:
        self._open(path, timeout)
        try:
            # The version first, read only: a database of another schema is refused
            # before anything (tables, journal mode) is written to it.
            found = _stored_schema(self._db)
            if found is not None and found not in _READABLE_SCHEMAS:
                raise SchemaVersionError(
                    f"store schema {found} is not supported: this tcmcare reads versions"
                    f" {', '.join(_READABLE_SCHEMAS)} and writes {STORE_SCHEMA_VERSION};"
                    " use the tcmcare version that wrote it",
                    found=found,
                    supported=STORE_SCHEMA_VERSION,
                )
            _configure(self._db)
            # Creates what is missing (version 1 lacked the key and counter tables) and
            # writes the version to a new or older database.
            with self._db:
                self._db.executescript(SCHEMA)
        except BaseException:
            self._db.close()
            raise

    # -- RecordStore ---------------------------------------------------------------------

    def add(self, envelope: Union[_Bytes, "_native.Record"]) -> bool:
        """Stores a record (object or envelope bytes) directly. Returns ``True`` if it was
        new and ``False`` if the same record was already stored. Raises the decode or
        validation error of a bad envelope (records of unknown kinds are kept), and
        :class:`tcmcare.IdConflictError` when a different record has the same id."""
        data = _envelope_of(envelope)
        status = "valid"
        try:
            _native.decode(data)
        except UnknownKindError:
            status = "unknown_kind"
        kind, rid, resident, when = _native.read_envelope_header(data)
        with self._db:
            existing = self.envelope(rid)
            if existing is not None:
                if existing != data:
                    raise IdConflictError(f"a different record is stored as {rid}", id=rid)
                return False
            self._insert(kind, rid, resident, _unix(when), None, status, 0, data, None)
        return True

    def _insert(
        self,
        kind: int,
        rid: Optional[RecordId],
        resident: object,
        time_utc: Optional[int],
        placed_utc: Optional[int],
        status: str,
        id_conflict: int,
        data: bytes,
        stream: Optional[Tuple[int, int, int]],
    ) -> None:
        care_home, number = resident if isinstance(resident, tuple) else (None, None)
        device, epoch, seq = rid if rid is not None else (None, None, None)
        s_device, s_epoch, position = stream if stream is not None else (None, None, None)
        self._db.execute(
            "INSERT INTO records (device, epoch, seq, kind, care_home, resident, time_utc,"
            " placed_utc, status, id_conflict, envelope, stream_device, stream_epoch, position,"
            " received_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                device,
                epoch,
                seq,
                kind,
                care_home,
                number,
                time_utc,
                placed_utc,
                status,
                id_conflict,
                data,
                s_device,
                s_epoch,
                position,
                int(_time.time()),
            ),
        )

    def add_frames(self, data: bytes) -> Tuple[int, int]:
        """Stores every record of a buffer of frames (records of unknown kinds included),
        split by :class:`tcmcare.PayloadDecoder` (a last frame without its delimiter
        counts too); returns ``(new, already stored)``. Raises at the first bad frame,
        the records before it stored."""
        new = old = 0
        for envelope in _native.PayloadDecoder().feed(data, final=True):
            if self.add(envelope):
                new += 1
            else:
                old += 1
        return new, old

    def envelope(self, id: _IdLike) -> Optional[bytes]:
        """The envelope stored under ``id`` (the first one, if an epoch was reused)."""
        row = self._db.execute(
            "SELECT envelope FROM records WHERE device = ? AND epoch = ? AND seq = ?"
            " ORDER BY id_conflict, record_no LIMIT 1",
            tuple(id),
        ).fetchone()
        return None if row is None else bytes(row[0])

    def envelopes(self) -> Iterator[bytes]:
        """Valid records and records of unknown kinds, without id conflicts, in record-id
        order: what reports and exports read."""
        for (env,) in self._db.execute(
            "SELECT envelope FROM records WHERE status IN ('valid', 'unknown_kind')"
            " AND id_conflict = 0 ORDER BY device, epoch, seq"
        ):
            yield bytes(env)

    def records(self) -> Iterator["_native.Record"]:
        """The records of :meth:`envelopes` of kinds this version knows."""
        for env in self.envelopes():
            try:
                yield _native.decode(env)
            except UnknownKindError:
                continue

    def quarantine(self) -> Iterator[Tuple[str, bytes]]:
        """``(status, envelope)`` of committed records that are invalid, malformed or in
        conflict with another record's id: kept for inspection, never reported."""
        for status, conflict, env in self._db.execute(
            "SELECT status, id_conflict, envelope FROM records"
            " WHERE status NOT IN ('valid', 'unknown_kind') OR id_conflict = 1 ORDER BY record_no"
        ):
            yield (status if not conflict else f"{status}+id_conflict"), bytes(env)

    # -- ReceiverStore -------------------------------------------------------------------

    @_refusing
    def watermark(self, device: int, epoch: int) -> int:
        """The watermark of stream ``(device, epoch)`` (0 if never seen)."""
        row = self._db.execute(
            "SELECT watermark FROM watermarks WHERE device = ? AND epoch = ?", (device, epoch)
        ).fetchone()
        return 0 if row is None else int(row[0])

    @_refusing
    def commit(
        self,
        device: int,
        epoch: int,
        first_position: int,
        records: Sequence[CommitRecord],
        new_watermark: int,
    ) -> None:
        """Commits a batch and the new watermark in one transaction (see
        :class:`ReceiverStore`). Raises :class:`tcmcare.errors.StoreConflictError` when the
        batch does not continue the stored watermark."""
        with self._db:
            self._commit(device, epoch, first_position, records, new_watermark)

    def _commit(
        self,
        device: int,
        epoch: int,
        first_position: int,
        records: Sequence[CommitRecord],
        new_watermark: int,
    ) -> None:
        current = self.watermark(device, epoch)
        consistent = (
            first_position == current + 1
            and new_watermark == current + len(records)
            and all(r.position == first_position + i for i, r in enumerate(records))
        )
        if not consistent:
            raise StoreConflictError(
                f"batch {first_position}..{new_watermark} does not continue watermark {current}"
            )
        for r in records:
            conflict = 0
            if r.id is not None:
                existing = self.envelope(r.id)
                if existing is not None:
                    if existing == r.envelope:
                        continue  # forwarded twice: stored once
                    conflict = 1
            self._insert(
                r.kind,
                r.id,
                r.resident,
                _unix(r.time),
                _unix(r.placed_time),
                r.status,
                conflict,
                r.envelope,
                (device, epoch, r.position),
            )
        self._db.execute(
            "INSERT INTO watermarks (device, epoch, watermark) VALUES (?, ?, ?)"
            " ON CONFLICT (device, epoch) DO UPDATE SET watermark = excluded.watermark",
            (device, epoch, new_watermark),
        )

    # -- SealedReceiverStore -------------------------------------------------------------

    @_refusing
    def last_counter(self, device: int, epoch: int) -> FrameCounter:
        """The last frame counter accepted of stream ``(device, epoch)``
        (``FrameCounter(0, 0)``: none)."""
        row = self._db.execute(
            "SELECT key_id, counter FROM seal_counters WHERE device = ? AND epoch = ?", (device, epoch)
        ).fetchone()
        return FrameCounter(0, 0) if row is None else FrameCounter(int(row[0]), int(row[1]))

    def _raise_counter(self, device: int, epoch: int, counter: Tuple[int, int]) -> None:
        key_id, value = counter
        self._db.execute(
            "INSERT INTO seal_counters (device, epoch, key_id, counter) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (device, epoch) DO UPDATE SET key_id = excluded.key_id,"
            " counter = excluded.counter"
            " WHERE (excluded.key_id, excluded.counter) > (seal_counters.key_id, seal_counters.counter)",
            (device, epoch, key_id, value),
        )

    @_refusing
    def note_counter(self, device: int, epoch: int, counter: FrameCounter) -> None:
        """Raises the stream's last counter to ``counter`` (never lowers it), durably."""
        with self._db:
            self._raise_counter(device, epoch, counter)

    @_refusing
    def commit_sealed(
        self,
        device: int,
        epoch: int,
        first_position: int,
        records: Sequence[CommitRecord],
        new_watermark: int,
        counter: FrameCounter,
    ) -> None:
        """:meth:`commit` and :meth:`note_counter` in one transaction."""
        with self._db:
            self._commit(device, epoch, first_position, records, new_watermark)
            self._raise_counter(device, epoch, counter)

    # -- KeyStore ------------------------------------------------------------------------

    def add_key(self, device: int, key_id: int, key: "_native.DeviceKey") -> None:
        """Adds key ``key_id`` of ``device`` (replacing the key of that id, whose reply
        counters continue). Give every new key of a device a greater id: the kiosk moves
        only to greater ids. Adding a key does not lift a revocation."""
        if not isinstance(key, _native.DeviceKey):
            raise TypeError("add_key takes a tcmcare.DeviceKey")
        device = _id_arg(device, "device", 1)
        key_id = _id_arg(key_id, "key_id", 0)
        with self._db:
            self._db.execute("INSERT INTO devices (device) VALUES (?) ON CONFLICT DO NOTHING", (device,))
            self._db.execute(
                "INSERT INTO device_keys (device, key_id, key) VALUES (?, ?, ?)"
                " ON CONFLICT (device, key_id) DO UPDATE SET key = excluded.key",
                (device, key_id, key.expose()),
            )
        _checkpoint(self._db)  # a replaced key leaves no copy in the log

    def revoke(self, device: int) -> None:
        """Revokes ``device``: every frame of it is refused from now on (its keys stay, for
        the record, but are never used again). ``device`` is an ``int`` in 1..2**32-1
        (``TypeError`` / ``ValueError`` otherwise, nothing written)."""
        device = _id_arg(device, "device", 1)
        with self._db:
            self._db.execute(
                "INSERT INTO devices (device, revoked) VALUES (?, 1)"
                " ON CONFLICT (device) DO UPDATE SET revoked = 1",
                (device,),
            )

    def is_revoked(self, device: int) -> bool:
        """Whether ``device`` is revoked."""
        row = self._db.execute("SELECT revoked FROM devices WHERE device = ?", (device,)).fetchone()
        return row is not None and bool(row[0])

    def key_ids(self, device: int) -> List[int]:
        """The key ids ``device`` has, oldest first."""
        return [
            int(k)
            for (k,) in self._db.execute(
                "SELECT key_id FROM device_keys WHERE device = ? ORDER BY key_id", (device,)
            )
        ]

    @_refusing
    def lookup(self, device: int, key_id: int) -> KeyLookup:
        """See :meth:`KeyStore.lookup`."""
        row = self._db.execute("SELECT revoked FROM devices WHERE device = ?", (device,)).fetchone()
        if row is None:
            return "unknown_device"
        if row[0]:
            return "revoked"
        key = self._db.execute(
            "SELECT key FROM device_keys WHERE device = ? AND key_id = ?", (device, key_id)
        ).fetchone()
        if key is None:
            return "unknown_key"
        return _native.DeviceKey(bytes(key[0]))

    @_refusing
    def reserve_downlink(self, device: int, key_id: int, count: int) -> Optional[int]:
        """See :meth:`KeyStore.reserve_downlink`; committed before it returns."""
        with self._db:
            row = self._db.execute(
                "SELECT downlink_reserved FROM device_keys WHERE device = ? AND key_id = ?",
                (device, key_id),
            ).fetchone()
            if row is None or count < 1:
                return None
            reserved = int(row[0])
            if reserved + count > 0xFFFFFFFF:
                return None
            self._db.execute(
                "UPDATE device_keys SET downlink_reserved = ? WHERE device = ? AND key_id = ?",
                (reserved + count, device, key_id),
            )
        return reserved + 1

    @_refusing
    def key_used(self, device: int, key_id: int) -> None:
        """A frame under ``key_id`` was accepted: retires the device's older keys."""
        with self._db:
            retired = self._db.execute(
                "DELETE FROM device_keys WHERE device = ? AND key_id < ?", (device, key_id)
            ).rowcount
        if retired:
            _checkpoint(self._db)  # no copy of a retired key left in the log

    # -- housekeeping --------------------------------------------------------------------

    def __len__(self) -> int:
        (n,) = self._db.execute("SELECT COUNT(*) FROM records").fetchone()
        return int(n)

    def __contains__(self, id: object) -> bool:
        if not isinstance(id, tuple) or len(id) != 3:
            return False
        return self.envelope(id) is not None

    def close(self) -> None:
        """Closes the database."""
        self._db.close()

    def __enter__(self) -> "SQLiteStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SQLiteOutboxStorage(_Database):
    """The built-in :class:`OutboxStorage` on :mod:`sqlite3`: every append is committed
    (durable) before it returns; appends beyond ``capacity_bytes`` of entries are refused,
    never overwriting. Also a :class:`SealStore`, for a sealed :class:`tcmcare.Outbox`."""

    def __init__(
        self, path: Union[str, "os.PathLike[str]"] = ":memory:", *, capacity_bytes: int = 64 * 1024 * 1024
    ) -> None:
        self.capacity_bytes = capacity_bytes
        self._open(path)
        try:
            _configure(self._db)
            with self._db:
                self._db.executescript(OUTBOX_SCHEMA)
        except BaseException:
            self._db.close()
            raise

    def load_meta(self) -> Optional[Tuple[int, int, int]]:
        row = self._db.execute("SELECT device, epoch, acked_through FROM outbox_meta").fetchone()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def store_meta(self, device: int, epoch: int, acked_through: int) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO outbox_meta (id, device, epoch, acked_through) VALUES (1, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET device = excluded.device, epoch = excluded.epoch,"
                " acked_through = excluded.acked_through",
                (device, epoch, acked_through),
            )

    def append(self, position: int, entry: bytes) -> bool:
        if self.free_bytes() < len(entry):
            return False
        with self._db:
            self._db.execute("INSERT INTO outbox_entries (position, entry) VALUES (?, ?)", (position, bytes(entry)))
        return True

    def bounds(self) -> Optional[Tuple[int, int, int]]:
        row = self._db.execute("SELECT MIN(position), MAX(position), COUNT(*) FROM outbox_entries").fetchone()
        return None if row[2] == 0 else (int(row[0]), int(row[1]), int(row[2]))

    def remove_through(self, position: int) -> None:
        with self._db:
            self._db.execute("DELETE FROM outbox_entries WHERE position <= ?", (position,))

    def read_from(self, position: int) -> Iterator[Tuple[int, bytes]]:
        for pos, entry in self._db.execute(
            "SELECT position, entry FROM outbox_entries WHERE position >= ? ORDER BY position", (position,)
        ):
            yield int(pos), bytes(entry)

    def free_bytes(self) -> int:
        (used,) = self._db.execute("SELECT COALESCE(SUM(LENGTH(entry)), 0) FROM outbox_entries").fetchone()
        return max(0, self.capacity_bytes - int(used))

    # -- SealStore -----------------------------------------------------------------------

    def load_seal_state(self) -> Optional[bytes]:
        """The persisted seal state (see :class:`SealStore`), ``None`` if never
        provisioned."""
        row = self._db.execute("SELECT state FROM seal_state WHERE id = 1").fetchone()
        return None if row is None else bytes(row[0])

    def store_seal_state(self, state: bytes) -> None:
        """Persists the seal state (committed before it returns)."""
        with self._db:
            self._db.execute(
                "INSERT INTO seal_state (id, state) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET state = excluded.state",
                (bytes(state),),
            )
        _checkpoint(self._db)  # the previous state (an old key) leaves no copy in the log

    def close(self) -> None:
        """Closes the database."""
        self._db.close()

    def __enter__(self) -> "SQLiteOutboxStorage":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
