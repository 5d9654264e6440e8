"""Store and key-store callbacks called from the Rust core: only a store's own refusal
(a ``tcmcare.errors.StoreError``) becomes a "store failed" event; every other exception
propagates to the caller and nothing is acknowledged. Stores are checked when the object
taking them is created; an SQLite store used from another thread says so."""

from __future__ import annotations

import datetime
import pathlib
import sqlite3
import threading
from typing import Any, Callable, List, Optional, Sequence

import pytest

import tcmcare
from tcmcare import CommitRecord, FrameCounter, Outbox, Receiver, SQLiteOutboxStorage, SQLiteStore, errors
from test_seal import KEY, hello_and_batch, provisioned

T0 = datetime.datetime(2026, 3, 15, 8, 30, tzinfo=datetime.timezone.utc)
NOW = int(T0.timestamp())


def fatal_exceptions() -> List[BaseException]:
    return [
        KeyboardInterrupt(),
        SystemExit(3),
        MemoryError(),
        RecursionError("maximum recursion depth exceeded"),
        TypeError("a bug in the store"),
        ValueError("a bug in the store"),
        ZeroDivisionError("a bug in the store"),
        sqlite3.ProgrammingError("Cannot operate on a closed database."),
        sqlite3.OperationalError("no such table: records"),
    ]


FATAL_IDS = [type(e).__name__ + ("-" + str(e)[:8] if str(e) else "") for e in fatal_exceptions()]


class Trap:
    """Delegates to an SQLiteStore (records, replay counters and keys); ``arm(method,
    exc)`` makes the next call of ``method`` raise ``exc``."""

    def __init__(self) -> None:
        self.inner = SQLiteStore()
        self.method: Optional[str] = None
        self.exc: Optional[BaseException] = None

    def arm(self, method: str, exc: BaseException) -> None:
        self.method, self.exc = method, exc

    def _enter(self, method: str) -> None:
        if self.method == method and self.exc is not None:
            exc, self.exc = self.exc, None
            raise exc

    def watermark(self, device: int, epoch: int) -> int:
        self._enter("watermark")
        return self.inner.watermark(device, epoch)

    def commit(self, device: int, epoch: int, first: int, records: Sequence[CommitRecord], new: int) -> None:
        self._enter("commit")
        self.inner.commit(device, epoch, first, records, new)

    def last_counter(self, device: int, epoch: int) -> FrameCounter:
        self._enter("last_counter")
        return self.inner.last_counter(device, epoch)

    def note_counter(self, device: int, epoch: int, counter: FrameCounter) -> None:
        self._enter("note_counter")
        self.inner.note_counter(device, epoch, counter)

    def commit_sealed(
        self, device: int, epoch: int, first: int, records: Sequence[CommitRecord], new: int, counter: FrameCounter
    ) -> None:
        self._enter("commit_sealed")
        self.inner.commit_sealed(device, epoch, first, records, new, counter)

    def lookup(self, device: int, key_id: int) -> tcmcare.store.KeyLookup:
        self._enter("lookup")
        return self.inner.lookup(device, key_id)

    def reserve_downlink(self, device: int, key_id: int, count: int) -> Optional[int]:
        self._enter("reserve_downlink")
        return self.inner.reserve_downlink(device, key_id, count)

    def key_used(self, device: int, key_id: int) -> None:
        self._enter("key_used")
        self.inner.key_used(device, key_id)


def plain_kiosk(n: int = 3) -> Outbox:
    kiosk = Outbox(device=9, epoch=1)
    for i in range(n):
        seq = kiosk.next_seq
        assert seq is not None
        kiosk.push(tcmcare.VitalSigns(id=(9, 1, seq), resident=(3101, 1), time=T0, pulse_per_min=60 + i))
    return kiosk


def deliver(kiosk: Outbox, receiver: Receiver, now_ms: int) -> List[str]:
    """Everything the kiosk has to send at ``now_ms``, and the replies back."""
    events: List[str] = []
    while True:
        f = kiosk.poll(now_ms)
        if f is None:
            return events
        for r in receiver.receive(f, now_utc=NOW):
            events.append(r.event)
            kiosk.receive(r.frame(), now_ms)


# ------------------------------------------------------------------------- plain receiver


@pytest.mark.parametrize("exc", fatal_exceptions(), ids=FATAL_IDS)
@pytest.mark.parametrize("method", ["watermark", "commit"])
def test_plain_receiver_store_exceptions_propagate(method: str, exc: BaseException) -> None:
    store = Trap()
    receiver = Receiver(store)
    kiosk = plain_kiosk()
    hello = kiosk.poll(0)
    assert hello is not None
    if method == "watermark":
        store.arm("watermark", exc)
        with pytest.raises(type(exc)) as e:
            receiver.receive(hello, now_utc=NOW)
        assert e.value is exc
        assert receiver.last_store_error is None  # not a refusal: raised, not recorded
        now = 120_000  # the hello is resent
    else:
        (welcome,) = receiver.receive(hello, now_utc=NOW)
        assert welcome.event == "introduced"
        kiosk.receive(welcome.frame(), 0)
        batch = kiosk.poll(0)
        assert batch is not None
        store.arm("commit", exc)
        with pytest.raises(type(exc)) as e:
            receiver.receive(batch, now_utc=NOW)  # no reply: nothing acknowledged
        assert e.value is exc
        now = 0
    assert len(store.inner) == 0 and store.inner.watermark(9, 1) == 0
    assert kiosk.acked_through == 0 and len(kiosk) == 3
    # the store works again: the kiosk's resends get everything in, exactly once
    for _ in range(20):
        deliver(kiosk, receiver, now)
        if kiosk.acked_through == 3:
            break
        now += 61_000
    assert kiosk.acked_through == 3 and store.inner.watermark(9, 1) == 3 and len(store.inner) == 3


@pytest.mark.parametrize(
    "refusal, name",
    [
        (tcmcare.StoreUnavailableError("database locked"), "unavailable"),
        (tcmcare.StoreFullError("disk full"), "full"),
        (tcmcare.StoreConflictError("another writer"), "conflict"),
        (tcmcare.StoreError("refused"), "unavailable"),
    ],
)
def test_store_refusals_are_events(refusal: tcmcare.StoreError, name: str) -> None:
    store = Trap()
    receiver = Receiver(store)
    kiosk = plain_kiosk()
    deliver(kiosk, receiver, 0)
    assert kiosk.acked_through == 3
    seq = kiosk.next_seq
    assert seq is not None
    kiosk.push(tcmcare.VitalSigns(id=(9, 1, seq), resident=(3101, 1), time=T0, pulse_per_min=70))
    batch = kiosk.poll(0)
    assert batch is not None
    store.arm("commit", refusal)
    (r,) = receiver.receive(batch, now_utc=NOW)
    assert r.event == "store_failed" and r.details["error"] == name
    assert receiver.last_store_error is refusal
    assert kiosk.receive(r.frame(), 0)[0][0] != "acked" and store.inner.watermark(9, 1) == 3


def test_a_locked_sqlite_store_is_a_refusal(tmp_path: pathlib.Path) -> None:
    """SQLiteStore turns SQLite's busy / locked / full / I/O errors into StoreError
    subclasses: the receiver answers "store unavailable" and the sender retries."""
    db = tmp_path / "terminal.db"
    store = SQLiteStore(db, timeout=0.05)
    receiver = Receiver(store)
    kiosk = plain_kiosk()
    hello = kiosk.poll(0)
    assert hello is not None
    (welcome,) = receiver.receive(hello, now_utc=NOW)
    kiosk.receive(welcome.frame(), 0)
    batch = kiosk.poll(0)
    assert batch is not None
    blocker = sqlite3.connect(db)
    blocker.execute("BEGIN EXCLUSIVE")
    (r,) = receiver.receive(batch, now_utc=NOW)
    assert r.event == "store_failed" and r.details["error"] == "unavailable"
    assert isinstance(receiver.last_store_error, tcmcare.StoreUnavailableError)
    assert isinstance(receiver.last_store_error.__cause__, sqlite3.OperationalError)
    blocker.rollback()
    blocker.close()
    now = 0
    for _ in range(10):
        now += 61_000
        deliver(kiosk, receiver, now)
    assert kiosk.acked_through == 3 and store.watermark(9, 1) == 3
    store.close()


# ------------------------------------------------------------------------- sealed receiver


def sealed_terminal() -> tuple[Trap, Receiver]:
    store = Trap()
    store.inner.add_key(7, 1, KEY)
    return store, Receiver(store, keys=store)


@pytest.mark.parametrize("exc", fatal_exceptions(), ids=FATAL_IDS)
@pytest.mark.parametrize(
    "method, step",
    [
        ("lookup", "hello"),
        ("last_counter", "hello"),
        ("reserve_downlink", "hello"),
        ("note_counter", "hello"),
        ("watermark", "hello"),
        ("key_used", "hello"),
        ("lookup", "batch"),
        ("last_counter", "batch"),
        ("key_used", "batch"),
        ("commit_sealed", "batch"),
    ],
)
def test_sealed_receiver_store_and_key_store_exceptions_propagate(
    method: str, step: str, exc: BaseException
) -> None:
    _, hello, batch = hello_and_batch()
    store, receiver = sealed_terminal()
    if step == "batch":
        assert receiver.handle(hello, now_utc=NOW).event == "introduced"
    store.arm(method, exc)
    with pytest.raises(type(exc)) as e:
        receiver.handle(hello if step == "hello" else batch, now_utc=NOW)
    assert e.value is exc
    assert receiver.last_store_error is None
    # nothing committed (and no call into the store after the exception)
    assert len(store.inner) == 0 and store.inner.watermark(7, 1) == 0


def test_sealed_refusal_is_an_event() -> None:
    _, hello, _ = hello_and_batch()
    store, receiver = sealed_terminal()
    refusal = tcmcare.StoreUnavailableError("key database locked")
    store.arm("lookup", refusal)
    r = receiver.handle(hello, now_utc=NOW)
    assert r.event == "rejected" and r.details["reason"] == "store" and r.details["error"] == "unavailable"
    assert receiver.last_store_error is refusal


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), TypeError("a bug in the store")], ids=["KeyboardInterrupt", "TypeError"])
def test_rekey_and_time_sync_key_store_exceptions_propagate(exc: BaseException) -> None:
    _, hello, _ = hello_and_batch()
    store, receiver = sealed_terminal()
    assert receiver.handle(hello, now_utc=NOW).event == "introduced"
    calls: List[Callable[[], bytes]] = [
        lambda: receiver.time_sync(now_utc=NOW),
        lambda: receiver.rekey(7, 1, 1, 2, KEY),
    ]
    for call in calls:
        store.arm("lookup", exc)
        with pytest.raises(type(exc)) as e:
            call()
        assert e.value is exc


# ------------------------------------------------------------------------- outbox and seal store


class FailingOutboxStorage(SQLiteOutboxStorage):
    def __init__(self) -> None:
        super().__init__()
        self.fail: Optional[BaseException] = None
        self.fail_seal: Optional[BaseException] = None

    def append(self, position: int, entry: bytes) -> bool:
        if self.fail is not None:
            raise self.fail
        return super().append(position, entry)

    def store_seal_state(self, state: bytes) -> None:
        if self.fail_seal is not None:
            raise self.fail_seal
        super().store_seal_state(state)


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), MemoryError(), TypeError("bug")], ids=["KeyboardInterrupt", "MemoryError", "TypeError"])
def test_outbox_storage_and_seal_store_exceptions_propagate(exc: BaseException) -> None:
    storage = provisioned(storage=FailingOutboxStorage())
    assert isinstance(storage, FailingOutboxStorage)
    outbox = Outbox(storage, device=7, epoch=1, seal_store=storage, lease_block=1)
    record = tcmcare.VitalSigns(id=(7, 1, 1), resident=(3101, 1), time=T0, pulse_per_min=70)
    storage.fail = exc
    with pytest.raises(type(exc)):
        outbox.push(record)
    storage.fail = None
    assert outbox.push(record) == 1
    storage.fail_seal = exc  # the next counter lease cannot be written
    with pytest.raises(type(exc)):
        outbox.poll(0)


# ------------------------------------------------------------------------- checked at creation


class OnlyWatermark:
    def watermark(self, device: int, epoch: int) -> int:
        return 0


class NotCallable(OnlyWatermark):
    commit = 5


class PlainStore(OnlyWatermark):
    def commit(self, device: int, epoch: int, first: int, records: Sequence[CommitRecord], new: int) -> None:
        pass


def test_stores_are_checked_when_objects_are_created() -> None:
    with pytest.raises(TypeError, match=r"tcmcare\.store\.ReceiverStore: no watermark\(\), commit\(\)"):
        Receiver(42)
    with pytest.raises(TypeError, match=r"no commit\(\)$"):
        Receiver(OnlyWatermark())
    with pytest.raises(TypeError, match=r"no commit\(\)$"):
        Receiver(NotCallable())
    with pytest.raises(TypeError, match=r"SealedReceiverStore: no last_counter\(\), note_counter\(\), commit_sealed\(\)"):
        Receiver(PlainStore(), keys=SQLiteStore())
    with pytest.raises(TypeError, match=r"KeyStore: no lookup\(\), reserve_downlink\(\)"):
        Receiver(SQLiteStore(), keys=42)
    with pytest.raises(
        TypeError,
        match=r"OutboxStorage: no load_meta\(\), store_meta\(\), append\(\), bounds\(\), "
        r"remove_through\(\), read_from\(\), free_bytes\(\)",
    ):
        Outbox(42, device=1, epoch=1)
    with pytest.raises(TypeError, match=r"SealStore: no load_seal_state\(\), store_seal_state\(\)"):
        Outbox(SQLiteOutboxStorage(), device=1, epoch=1, seal_store=42)
    with pytest.raises(TypeError, match=r"SealStore: no load_seal_state\(\), store_seal_state\(\)"):
        tcmcare.accept_provision(42, b"", provisioning_mode=True)


# ------------------------------------------------------------------------- threads


def in_thread(call: Any) -> BaseException:
    caught: List[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as e:  # noqa: B902 - the test inspects it
            caught.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert len(caught) == 1, "expected an exception"
    return caught[0]


def test_an_sqlite_store_used_from_another_thread_says_so() -> None:
    store = SQLiteStore()
    receiver = Receiver(store)
    hello = plain_kiosk().poll(0)
    assert hello is not None
    e = in_thread(lambda: receiver.receive(hello, now_utc=NOW))
    assert isinstance(e, errors.StoreThreadError) and isinstance(e, RuntimeError)
    assert "SQLiteStore" in str(e) and "thread" in str(e)
    e = in_thread(lambda: store.add_key(7, 1, KEY))
    assert isinstance(e, errors.StoreThreadError)
    # in its own thread it works
    assert receiver.receive(hello, now_utc=NOW)[0].event == "introduced"
    outbox = plain_kiosk()
    e = in_thread(lambda: Outbox(outbox.storage, device=9, epoch=1))
    assert isinstance(e, errors.StoreThreadError) and "SQLiteOutboxStorage" in str(e)
