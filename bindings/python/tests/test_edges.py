"""Edges of the Python API: the frame length limit (one number for framing and for every
stream decoder, whatever the chunking), argument checks of SQLiteStore.revoke(), text that
is not valid Unicode, and the wording of rekey / time-sync errors."""

from __future__ import annotations

import datetime
import random
from typing import Any, Callable, Dict, List, Tuple

import pytest

import tcmcare
from tcmcare import DeviceKey, Receiver, SQLiteStore, errors
from test_seal import hello_and_batch, kiosk, terminal

T0 = datetime.datetime(2026, 3, 15, 8, 30, tzinfo=datetime.timezone.utc)
NOW = int(T0.timestamp())
LIMIT = tcmcare.MAX_SYNC_FRAME_LEN

# ------------------------------------------------------------------------- frames, by hand


def _crc32c_table() -> List[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def cobs(data: bytes) -> bytes:
    out = bytearray()
    block = bytearray()
    full = False  # the last block was 254 bytes long (code 0xFF: no zero after it)
    for b in data:
        if b == 0:
            out += bytes([len(block) + 1]) + block
            block, full = bytearray(), False
        else:
            block.append(b)
            if len(block) == 254:
                out += b"\xff" + block
                block, full = bytearray(), True
    if block or not full:
        out += bytes([len(block) + 1]) + block
    return bytes(out)


def frame_of(payload: bytes) -> bytes:
    """The frame of ``payload`` as DESIGN.md defines it: COBS(payload | CRC-32C LE) 00."""
    return cobs(payload + crc32c(payload).to_bytes(4, "little")) + b"\x00"


def payload_framing_to(n: int) -> bytes:
    """A payload (0x01 bytes, after up to two 0x00) whose frame has exactly ``n`` bytes
    before its delimiter (COBS grows by 2 at some lengths: a leading zero shifts that)."""
    base = n - n // 254 - 4
    for zeros in range(3):
        for length in range(base - 8, base + 8):
            p = b"\x00" * zeros + b"\x01" * length
            if len(frame_of(p)) - 1 == n:
                return p
    raise AssertionError(f"no payload frames to exactly {n} bytes")


def test_the_hand_made_frames_are_tcmcare_frames() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    for p in (b"", b"\x00", b"hello", bytes(range(256)) * 3, b"\x01" * 250, b"\x01" * 508, b"\x01" * 1000):
        assert tcmcare.frame(p) == frame_of(p)


# ------------------------------------------------------------------------- frame() limit


def test_frame_refuses_what_no_decoder_takes() -> None:
    ok = payload_framing_to(LIMIT)
    assert tcmcare.frame(ok) == frame_of(ok)
    assert tcmcare.frame_payload(tcmcare.frame(ok)) == ok
    too_long = payload_framing_to(LIMIT + 1)
    with pytest.raises(errors.FrameTooLongError) as e:
        tcmcare.frame(too_long)
    assert isinstance(e.value, ValueError)
    assert (e.value.length, e.value.limit) == (LIMIT + 1, LIMIT)
    with pytest.raises(errors.FrameTooLongError) as big:
        tcmcare.frame(b"\x01" * 10_000_000)
    assert big.value.limit == LIMIT and big.value.length > 10_000_000


def chunkings(data: bytes) -> Dict[str, List[bytes]]:
    rng = random.Random(12)
    cuts = sorted(rng.sample(range(1, len(data)), 40))
    by_cuts = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
    delimiters = [i for i, b in enumerate(data) if b == 0]
    before = [data[a:b] for a, b in zip([0] + delimiters, delimiters + [len(data)])]
    return {
        "whole": [data],
        "random": by_cuts,
        "before each delimiter": before,
        "1000 bytes": [data[i : i + 1000] for i in range(0, len(data), 1000)],
        "65535 bytes": [data[i : i + 65535] for i in range(0, len(data), 65535)],
        "one byte": [data[i : i + 1] for i in range(len(data))],
    }


def test_receiver_frame_limit_does_not_depend_on_chunking() -> None:
    at_limit = frame_of(payload_framing_to(LIMIT))
    over = frame_of(payload_framing_to(LIMIT + 1))
    hello = tcmcare.Outbox(device=9, epoch=1).poll(0)
    assert hello is not None
    stream = hello + over + at_limit + over + b"\x00\x00" + at_limit
    expected = ["introduced", "frame_error:too_long", "malformed", "frame_error:too_long", "malformed"]
    for name, chunks in chunkings(stream).items():
        receiver = Receiver()
        events: List[str] = []
        for chunk in chunks:
            for r in receiver.receive(chunk, now_utc=NOW):
                events.append(r.event + (":" + r.details["code"] if r.event == "frame_error" else ""))
        assert events == expected, name


def test_outbox_frame_limit_does_not_depend_on_chunking() -> None:
    """A kiosk's reply stream: the welcome between two over-long frames is taken whatever
    the chunking (over-long frames are dropped)."""

    def welcome_to_a_new_kiosk() -> Tuple[tcmcare.Outbox, bytes]:
        outbox = kiosk()
        hello = outbox.poll(0)
        assert hello is not None
        _, receiver = terminal()
        (welcome,) = receiver.receive(hello, now_utc=NOW)
        return outbox, welcome.frame()

    over = frame_of(payload_framing_to(LIMIT + 1))
    _, welcome = welcome_to_a_new_kiosk()
    stream = over + welcome + over
    for name, chunks in chunkings(stream).items():
        outbox, again = welcome_to_a_new_kiosk()
        assert again == welcome  # the same keys and counters: the same bytes
        events: List[Any] = []
        for chunk in chunks:
            events += outbox.receive(chunk, 0)
        assert [e[0] for e in events] == ["welcomed"], name


# ------------------------------------------------------------------------- revoke()


@pytest.mark.parametrize(
    "bad, error",
    [
        (None, TypeError),
        (True, TypeError),
        (False, TypeError),
        (1.0, TypeError),
        ("7", TypeError),
        (0, ValueError),
        (-1, ValueError),
        (2**32, ValueError),
    ],
)
def test_revoke_checks_its_argument(bad: Any, error: type) -> None:
    store = SQLiteStore()
    store.add_key(1, 1, DeviceKey.generate())
    with pytest.raises(error):
        store.revoke(bad)
    assert not store.is_revoked(1)  # revoke(True) is not revoke(1)
    assert store._db.execute("SELECT device, revoked FROM devices").fetchall() == [(1, 0)]
    with pytest.raises(error):
        store.add_key(bad, 1, DeviceKey.generate())
    store.revoke(1)
    assert store.is_revoked(1) and store.lookup(1, 1) == "revoked"


# ------------------------------------------------------------------------- text that is not Unicode

HEADER: Dict[str, Any] = {"id": (7, 1, 42), "resident": (3101, 1234), "time": T0}
LONE = "\ud800"


@pytest.mark.parametrize(
    "build, field",
    [
        (lambda: tcmcare.Treatment(**HEADER, technique="tuina", duration_min=20, practitioner=9, note=LONE), "note"),
        (lambda: tcmcare.Treatment(**HEADER, technique="tuina" + LONE, duration_min=20, practitioner=9), "technique"),
        (
            lambda: tcmcare.Treatment(**HEADER, technique="moxibustion", acupoints=["ST36", LONE], duration_min=20, practitioner=9),
            "acupoints",
        ),
        (lambda: tcmcare.HerbalEvent(**HEADER, stage="prescribed", doses=7, herbs=[(LONE, 300)], actor=5), "herbs"),
        (lambda: tcmcare.HerbalEvent(**HEADER, stage="prescribed", doses=7, herbs=[("黄芪", 300)], actor=5, note=LONE), "note"),
        (lambda: tcmcare.Correction(**HEADER, target=(7, 1, 41), action="void", note="x" + LONE), "note"),
        (lambda: tcmcare.ResidentRegistration(**HEADER, birth_date="1948-05-20", sex=LONE), "sex"),
        (lambda: tcmcare.ResidentRegistration(**HEADER, birth_date="1948-05-20" + LONE, sex="female"), "birth_date"),
        (
            lambda: tcmcare.Treatment.from_dict(
                {**tcmcare.Treatment(**HEADER, technique="tuina", duration_min=20, practitioner=9).to_dict(), "note": LONE}
            ),
            "note",
        ),
        (lambda: tcmcare.VitalSigns.from_dict({"kind": "vitals", "id": {"device": LONE}}), "id.device"),
    ],
)
def test_a_lone_surrogate_is_a_validation_error_naming_the_field(build: Callable[[], Any], field: str) -> None:
    with pytest.raises(tcmcare.ValidationError) as e:
        build()
    assert e.value.field == field
    assert e.value.code == "wrong_type" and isinstance(e.value, tcmcare.SchemaError)
    assert "surrogate" in str(e.value)


# ------------------------------------------------------------------------- rekey / time sync wording


def test_rekey_and_time_sync_errors_say_what_was_refused() -> None:
    _, hello, _ = hello_and_batch()
    store, receiver = terminal()
    assert receiver.handle(hello, now_utc=NOW).event == "introduced"
    new_key = DeviceKey.generate()
    with pytest.raises(errors.UnknownDeviceError) as d:
        receiver.rekey(9, 1, 1, 2, new_key)
    with pytest.raises(errors.UnknownKeyError) as k:
        receiver.rekey(7, 1, 5, 6, new_key)
    for e in (d.value, k.value):
        assert str(e).startswith("rekey refused: ") and "frame" not in str(e)
    assert (d.value.device, d.value.epoch, d.value.key_id) == (9, 1, 1)
    assert "device 9" in str(d.value) and "key 5" in str(k.value)
    store.revoke(7)
    with pytest.raises(errors.RevokedError) as r:
        receiver.rekey(7, 1, 1, 2, new_key)
    assert str(r.value).startswith("rekey refused: ") and "revoked" in str(r.value)
    with pytest.raises(errors.RevokedError) as t:
        receiver.time_sync(now_utc=NOW)
    assert str(t.value).startswith("time sync refused: ") and "frame" not in str(t.value)
    assert (t.value.device, t.value.key_id) == (7, 1)


def test_an_outbox_mtu_is_at_most_the_frame_limit() -> None:
    assert tcmcare.Outbox(device=1, epoch=1, mtu=LIMIT).device == 1
    with pytest.raises(ValueError, match="MAX_SYNC_FRAME_LEN"):
        tcmcare.Outbox(device=1, epoch=1, mtu=LIMIT + 1)
