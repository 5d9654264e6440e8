"""Sync: Outbox -> Receiver over a lossy link, with restarts, into the SQLite store."""

from __future__ import annotations

import datetime
import pathlib
import random
import sqlite3
from typing import List, Optional, Sequence

import pytest

import tcmcare
from tcmcare import CommitRecord, Outbox, Receiver, SQLiteOutboxStorage, SQLiteStore
from conftest import VECTORS

T0 = datetime.datetime(2026, 3, 15, 8, 30, tzinfo=datetime.timezone.utc)
NOW = int(T0.timestamp())


def kiosk_record(outbox: Outbox, i: int) -> tcmcare.VitalSigns:
    seq = outbox.next_seq
    assert seq is not None
    return tcmcare.VitalSigns(
        id=(outbox.device, outbox.epoch, seq),
        resident=(3101, 1000 + i % 7),
        time=T0 + datetime.timedelta(minutes=i),
        pulse_per_min=60 + i % 40,
    )


def lossy(frames: bytes, rng: random.Random, loss: float) -> bytes:
    """Drops, duplicates, corrupts and reorders whole frames."""
    out: List[bytes] = []
    for f in frames.split(b"\x00"):
        if not f:
            continue
        f += b"\x00"
        r = rng.random()
        if r < loss:
            continue
        if r < 1.5 * loss:
            f = bytes([f[0] ^ 0x40]) + f[1:]  # corrupt: CRC or COBS fails
        out.append(f)
        if rng.random() < loss:
            out.append(f)  # duplicate
    if len(out) > 1 and rng.random() < loss:
        out[0], out[-1] = out[-1], out[0]  # reorder
    return b"".join(out)


def run(outbox: Outbox, receiver: Receiver, rng: random.Random, loss: float, start_ms: int, steps: int) -> int:
    now = start_ms
    for _ in range(steps):
        sent = b""
        while True:
            f = outbox.poll(now)
            if f is None:
                break
            sent += f
        replies = receiver.receive(lossy(sent, rng, loss), now_utc=NOW)
        back = b"".join(r.frame() for r in replies)
        outbox.receive(lossy(back, rng, loss), now)
        if len(outbox) == 0 and outbox.is_streaming:
            break
        now += 500
    return now


def stored_ids(store: SQLiteStore) -> List[tcmcare.RecordId]:
    return [r.id for r in store.records()]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_exactly_once_in_order_over_a_lossy_link(tmp_path: pathlib.Path, seed: int) -> None:
    rng = random.Random(seed)
    storage_path = tmp_path / "outbox.db"
    store_path = tmp_path / "store.db"
    outbox = Outbox(SQLiteOutboxStorage(storage_path), device=7, epoch=1, window=8)
    store = SQLiteStore(store_path)
    receiver = Receiver(store)
    pushed = []
    for i in range(60):
        r = kiosk_record(outbox, i)
        assert outbox.push(r) == i + 1
        pushed.append(r.id)
    now = run(outbox, receiver, rng, 0.2, 0, 40)
    # power loss on both sides: reopen everything from disk and carry on
    del outbox, receiver
    store.close()
    outbox = Outbox(SQLiteOutboxStorage(storage_path), device=7, epoch=99, window=8)
    assert outbox.epoch == 1 and not outbox.started_new_epoch  # resumed, not restarted
    store = SQLiteStore(store_path)
    receiver = Receiver(store)
    for i in range(60, 90):
        r = kiosk_record(outbox, i)
        outbox.push(r)
        pushed.append(r.id)
    run(outbox, receiver, rng, 0.2, now + 10_000, 400)
    assert len(outbox) == 0
    assert outbox.acked_through == 90
    assert store.watermark(7, 1) == 90
    # every record exactly once, in per-origin order
    assert stored_ids(store) == pushed
    rows = sqlite3.connect(store_path).execute("SELECT position FROM records ORDER BY record_no").fetchall()
    assert [p for (p,) in rows] == list(range(1, 91))
    store.close()


def test_outbox_full_refuses_without_overwriting() -> None:
    storage = SQLiteOutboxStorage(capacity_bytes=100)
    outbox = Outbox(storage, device=7, epoch=1)
    accepted = 0
    with pytest.raises(tcmcare.OutboxFullError) as e:
        for i in range(100):
            outbox.push(kiosk_record(outbox, i))
            accepted += 1
    assert e.value.code == "full"
    assert 0 < accepted < 100 and len(outbox) == accepted
    # the refused record keeps its sequence number for the next try
    assert outbox.next_seq == accepted + 1


def test_outbox_checks_its_own_sequence_numbers() -> None:
    outbox = Outbox(device=7, epoch=1)
    wrong = tcmcare.VitalSigns(id=(7, 1, 5), resident=(3101, 1), time=T0, pulse_per_min=70)
    with pytest.raises(tcmcare.OutboxError) as e:
        outbox.push(wrong)
    assert e.value.code == "seq_mismatch"
    with pytest.raises(tcmcare.TruncatedError):
        outbox.push(b"\x02\x05\x01")
    with pytest.raises(tcmcare.OutboxError):
        Outbox(device=0, epoch=1)


def test_terminal_forwards_other_devices_and_unknown_kinds() -> None:
    unknown = bytes.fromhex(next(v for v in VECTORS if v["name"] == "unknown-kind-200")["envelope_hex"])
    kiosk = bytes.fromhex(next(v for v in VECTORS if v["name"] == "vitals-bp-pulse-spo2-temp")["envelope_hex"])
    terminal = Outbox(device=2, epoch=1)
    assert terminal.push(kiosk) == 1  # another device's record: forwarded unchanged
    assert terminal.push(unknown) == 2
    assert terminal.push(kiosk) == 3  # forwarded twice: stored once
    store = SQLiteStore()
    receiver = Receiver(store)
    run(terminal, receiver, random.Random(0), 0.0, 0, 10)
    assert store.watermark(2, 1) == 3
    assert sorted(store.envelopes()) == sorted([kiosk, unknown])
    assert len(store) == 2


class RecordingStore:
    """A store of the integrator's own: records what it is given."""

    def __init__(self) -> None:
        self.marks: dict = {}  # type: ignore[type-arg]
        self.commits: List[CommitRecord] = []
        self.fail: Optional[Exception] = None

    def watermark(self, device: int, epoch: int) -> int:
        if self.fail:
            raise self.fail
        return int(self.marks.get((device, epoch), 0))

    def commit(self, device: int, epoch: int, first: int, records: Sequence[CommitRecord], new: int) -> None:
        if self.fail:
            raise self.fail
        self.commits.extend(records)
        self.marks[(device, epoch)] = new


def test_custom_store_and_clockless_records() -> None:
    store = RecordingStore()
    assert isinstance(store, tcmcare.ReceiverStore)
    receiver = Receiver(store)
    # A kiosk without a valid clock: its record is stamped (boot 3, 125 s after boot).
    kiosk = Outbox(device=8, epoch=1, boot=3, clock_valid=False)
    rec = tcmcare.VitalSigns(
        id=(8, 1, 1), resident=(3101, 1236), time=tcmcare.UnknownTime(3, 125), spo2_percent=91, pulse_per_min=58
    )
    kiosk.push(rec)
    events = []
    now_ms = 200_000  # the hello goes out 200 s after boot
    for _ in range(5):
        f = kiosk.poll(now_ms)
        if f is None:
            break
        for reply in receiver.receive(f, now_utc=NOW):
            events.append(reply.event)
            for e in kiosk.receive(reply.frame(), now_ms):
                events.append(e[0])
    assert events[:2] == ["introduced", "welcomed"]
    assert "committed" in events and "acked" in events
    (c,) = store.commits
    assert c.status == "valid" and c.id == (8, 1, 1) and c.kind == 2
    assert c.time == tcmcare.UnknownTime(3, 125)
    # placed from the hello: receiver UTC at hello - 200 s uptime + 125 s
    assert c.placed_time == T0 - datetime.timedelta(seconds=75)

    # A store outage: the receiver answers "store unavailable", nothing is lost.
    store.fail = tcmcare.StoreUnavailableError("database locked")
    kiosk2 = Outbox(device=9, epoch=1)
    kiosk2.push(tcmcare.VitalSigns(id=(9, 1, 1), resident=(3101, 1), time=T0, pulse_per_min=70))
    hello = kiosk2.poll(0)
    assert hello is not None
    (reply,) = receiver.receive(hello, now_utc=NOW)
    assert reply.event == "refused" or reply.event == "store_failed"
    assert isinstance(receiver.last_store_error, tcmcare.StoreUnavailableError)


def test_receiver_handles_garbage() -> None:
    receiver = Receiver()
    (r,) = receiver.receive(b"\x05\x01\x02\x00")
    assert r.event == "frame_error" and r.reply == b"" and r.frame() == b""
    m = receiver.handle(b"\xff\xff\xff")
    assert m.event == "malformed"
    assert m.reply  # a nack
    assert receiver.time_sync(now_utc=NOW).endswith(b"\x00")
    rng = random.Random(5)
    for _ in range(2000):
        receiver.handle(bytes(rng.randrange(256) for _ in range(rng.randrange(60))), now_utc=NOW)
