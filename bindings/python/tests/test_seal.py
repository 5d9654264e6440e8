"""Sealed links: device keys, provisioning, the sealed receiver (terminal) and the sealed
outbox (kiosk), per core/src/seal.rs:

    header = 0xA1 | key_id varint | device varint | epoch varint | counter varint
           | 0xA4 | key_id | device | epoch | counter | reply_to varint   (terminal replies)
    sealed = header | ChaCha20-Poly1305(message) | tag (16 bytes)
    provision = 0xA2 | device varint | epoch varint | key_id varint | key (32 bytes)

so sealing a message of n bytes at counter 1..127 with ids below 128 gives n + 5 + 16 =
n + 21 bytes (n + 22 at counters 128..16,383).
"""

from __future__ import annotations

import copy
import datetime
import logging
import pathlib
import pickle
import random
import sqlite3
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest

import tcmcare
from tcmcare import (
    CommitRecord,
    DeviceKey,
    FrameCounter,
    Outbox,
    Receiver,
    ReceiverReply,
    SealHeader,
    SQLiteOutboxStorage,
    SQLiteStore,
)
from tcmcare import errors

T0 = datetime.datetime(2026, 3, 15, 8, 30, tzinfo=datetime.timezone.utc)
NOW = int(T0.timestamp())

KEY_BYTES = bytes(range(0xA0, 0xC0))  # 32 recognisable bytes: a0 a1 ... bf
KEY = DeviceKey(KEY_BYTES)
OTHER_KEY = DeviceKey(bytes(range(0x40, 0x60)))


# ------------------------------------------------------------------------- helpers


def payload_of(frame: bytes) -> bytes:
    """The payload of one frame (CRC checked)."""
    return tcmcare._native.frame_payload(frame)


def seal_state(device: int, epoch: int, key_id: int, key: DeviceKey) -> bytes:
    """SealState bytes: version 1, device, epoch, key id, uplink reserved, downlink seen
    (u32 LE each), then the key."""
    ids = b"".join(v.to_bytes(4, "little") for v in (device, epoch, key_id, 0, 0))
    return bytes([1]) + ids + key.expose()


def provisioned(
    device: int = 7, epoch: int = 1, key_id: int = 1, key: DeviceKey = KEY, storage: Optional[SQLiteOutboxStorage] = None
) -> SQLiteOutboxStorage:
    """A kiosk's storage holding ``key`` as its link key, as after a confirmed
    provisioning (the tests of provisioning itself are below)."""
    storage = storage if storage is not None else SQLiteOutboxStorage()
    storage.store_seal_state(seal_state(device, epoch, key_id, key))
    return storage


def kiosk(device: int = 7, epoch: int = 1, key_id: int = 1, key: DeviceKey = KEY, **kw: Any) -> Outbox:
    storage = provisioned(device, epoch, key_id, key)
    return Outbox(storage, device=device, epoch=epoch, seal_store=storage, **kw)


def terminal(
    keys: Sequence[Tuple[int, int, DeviceKey]] = ((7, 1, KEY),), path: str = ":memory:", **kw: Any
) -> Tuple[SQLiteStore, Receiver]:
    store = SQLiteStore(path)
    for device, key_id, key in keys:
        store.add_key(device, key_id, key)
    return store, Receiver(store, keys=store, **kw)


def vitals(outbox: Outbox, i: int) -> tcmcare.VitalSigns:
    seq = outbox.next_seq
    assert seq is not None
    return tcmcare.VitalSigns(
        id=(outbox.device, outbox.epoch, seq),
        resident=(3101, 1000 + i % 7),
        time=T0 + datetime.timedelta(minutes=i),
        pulse_per_min=60 + i % 40,
    )


def exchange(outbox: Outbox, receiver: Receiver, now_ms: int = 0, steps: int = 10) -> List[str]:
    """Runs the link without loss; returns the receiver's events."""
    events: List[str] = []
    for _ in range(steps):
        f = outbox.poll(now_ms)
        if f is None:
            break
        for reply in receiver.receive(f, now_utc=NOW):
            events.append(reply.event)
            outbox.receive(reply.frame(), now_ms)
    return events


def hello_and_batch(n: int = 3) -> Tuple[Outbox, bytes, bytes]:
    """A kiosk with ``n`` records, its sealed hello and (after a welcome from a throwaway
    terminal) its sealed batch payloads."""
    outbox = kiosk()
    for i in range(n):
        outbox.push(vitals(outbox, i))
    hello = outbox.poll(0)
    assert hello is not None
    _, scratch = terminal()
    (welcome,) = scratch.receive(hello, now_utc=NOW)
    assert outbox.receive(welcome.frame(), 0)[0][0] == "welcomed"
    batch = outbox.poll(0)
    assert batch is not None
    return outbox, payload_of(hello), payload_of(batch)


def snapshot(store: SQLiteStore) -> Tuple[int, int, FrameCounter]:
    return len(store), store.watermark(7, 1), store.last_counter(7, 1)


# ------------------------------------------------------------------------- DeviceKey


def test_device_key_from_32_bytes_only() -> None:
    assert DeviceKey(KEY_BYTES).expose() == KEY_BYTES
    assert DeviceKey(bytearray(KEY_BYTES)) == KEY
    for n in (0, 16, 31, 33, 64):
        with pytest.raises(ValueError):
            DeviceKey(bytes(n))
    with pytest.raises(TypeError):
        DeviceKey("a" * 32)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        DeviceKey(list(KEY_BYTES))  # type: ignore[arg-type]


def test_device_key_generate() -> None:
    keys = [DeviceKey.generate() for _ in range(8)]
    assert all(len(k.expose()) == 32 for k in keys)
    assert len({k.expose() for k in keys}) == 8  # 256 random bits: never equal


def test_device_key_equality_but_no_hash() -> None:
    assert KEY == DeviceKey(KEY_BYTES)
    assert KEY != OTHER_KEY and not (KEY == OTHER_KEY)
    assert KEY != KEY_BYTES  # a key is not its bytes
    with pytest.raises(TypeError):
        hash(KEY)


def test_device_key_cannot_be_pickled_copied_or_converted() -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError):
            pickle.dumps(KEY, protocol=protocol)
    with pytest.raises(TypeError):
        copy.copy(KEY)
    with pytest.raises(TypeError):
        copy.deepcopy(KEY)
    with pytest.raises(TypeError):
        bytes(KEY)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        memoryview(KEY)  # type: ignore[arg-type]


def _secret_forms(key_bytes: bytes) -> List[str]:
    return [key_bytes.hex(), key_bytes.hex().upper(), repr(key_bytes)[2:-1], key_bytes[:8].hex()]


def test_device_key_never_shows_its_bytes(caplog: pytest.LogCaptureFixture) -> None:
    assert repr(KEY) == str(KEY) == f"{KEY}" == f"{KEY!r}" == "DeviceKey(<redacted>)"
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("tcmcare.test").info("key %s %r", KEY, KEY)
        logging.getLogger("tcmcare.test").info("in a dict: %s", {"k": KEY, "t": (KEY,)})
    texts = [repr(KEY), str(KEY), repr([KEY]), caplog.text]
    # exceptions that involve a key
    for bad in (KEY_BYTES[:31], KEY_BYTES + b"\x00"):
        with pytest.raises(ValueError) as e:
            DeviceKey(bad)
        texts.append(str(e.value))
    with pytest.raises(TypeError) as te:
        pickle.dumps(KEY)
    texts.append(str(te.value))
    store, receiver = terminal()
    texts.append(repr(store.lookup(7, 1)))
    for text in texts:
        for secret in _secret_forms(KEY_BYTES):
            assert secret not in text, text


# ------------------------------------------------------------------------- provisioning


def test_provisioning_frame_round_trips() -> None:
    # The payload travels as one frame on the kiosk's cable: COBS(payload | CRC-32C) 00.
    payload = tcmcare.provision_payload(7, 1, 1, KEY)
    framed = tcmcare.frame(payload)
    assert framed[-1] == 0 and 0 not in framed[:-1]
    assert tcmcare.frame_payload(framed) == payload


def test_provision_payload_layout() -> None:
    # 0xA2 | device 7 | epoch 1 | key id 1 | key
    assert tcmcare.provision_payload(7, 1, 1, KEY) == bytes([0xA2, 7, 1, 1]) + KEY_BYTES
    # device 300 = varint ac 02; epoch 2; key id 128 = varint 80 01
    assert tcmcare.provision_payload(300, 2, 128, KEY) == bytes([0xA2, 0xAC, 0x02, 2, 0x80, 0x01]) + KEY_BYTES
    with pytest.raises(tcmcare.ReservedIdError):
        tcmcare.provision_payload(0, 1, 1, KEY)
    with pytest.raises(tcmcare.ReservedIdError):
        tcmcare.provision_payload(7, 0, 1, KEY)


class MemorySealStore:
    """A seal store of the integrator's own."""

    def __init__(self) -> None:
        self.state: Optional[bytes] = None
        self.writes = 0

    def load_seal_state(self) -> Optional[bytes]:
        return self.state

    def store_seal_state(self, state: bytes) -> None:
        self.state = bytes(state)
        self.writes += 1


def test_accept_provision_only_in_provisioning_mode() -> None:
    seal = MemorySealStore()
    assert isinstance(seal, tcmcare.SealStore)
    payload = tcmcare.provision_payload(7, 1, 1, KEY)
    with pytest.raises(errors.ProvisionError) as e:
        tcmcare.accept_provision_confirmed(seal, payload, provisioning_mode=False)
    assert e.value.code == "not_in_provisioning_mode" and seal.state is None
    for bad in (payload[:-1], payload + b"\x00", bytes([0xA1]) + payload[1:], bytes([0xA2, 0, 1, 1]) + KEY_BYTES, b""):
        with pytest.raises(errors.ProvisionError) as e:
            tcmcare.accept_provision_confirmed(seal, bad, provisioning_mode=True)
        assert e.value.code == "malformed"
    assert seal.state is None
    device, epoch, key_id, confirmation, fingerprint = tcmcare.accept_provision_confirmed(
        seal, payload, provisioning_mode=True
    )
    assert (device, epoch, key_id) == (7, 1, 1)
    # The terminal checks the kiosk's proof and learns the link key the kiosk stored.
    link, fp = tcmcare.confirm_provision(7, 1, 1, KEY, confirmation)
    assert fp == fingerprint == link.fingerprint
    assert len(fp) == 9 and fp[4] == "-"
    assert seal.state == seal_state(7, 1, 1, link)
    # The link key is not the payload's key: the kiosk mixed in 16 random bytes.
    assert seal.state is not None
    assert link != KEY and KEY_BYTES not in seal.state
    # The withdrawn call refuses and stores nothing.
    with pytest.raises(errors.ProvisionError) as e:
        tcmcare.accept_provision(MemorySealStore(), payload, provisioning_mode=True)
    assert e.value.code == "unconfirmed"


def test_the_same_payload_twice_gives_two_keys_and_stale_payloads_are_refused() -> None:
    # Review finding 5: a wiped kiosk given the same payload again restarted its counters
    # under the same key (nonce reuse). Each provisioning now makes a new link key.
    payload = tcmcare.provision_payload(7, 1, 1, KEY)
    first, second = MemorySealStore(), MemorySealStore()
    c1 = tcmcare.accept_provision_confirmed(first, payload, provisioning_mode=True)[3]
    c2 = tcmcare.accept_provision_confirmed(second, payload, provisioning_mode=True)[3]
    k1, _ = tcmcare.confirm_provision(7, 1, 1, KEY, c1)
    k2, _ = tcmcare.confirm_provision(7, 1, 1, KEY, c2)
    assert k1 != k2 and first.state != second.state
    # A payload that does not move the kiosk forward is refused, nothing stored.
    before = first.state
    for stale in (payload, tcmcare.provision_payload(7, 1, 0, OTHER_KEY)):
        with pytest.raises(errors.ProvisionError) as e:
            tcmcare.accept_provision_confirmed(first, stale, provisioning_mode=True)
        assert e.value.code == "stale"
    assert first.state == before
    # A confirmation for another provisioning, or altered, is refused.
    with pytest.raises(errors.BadTagError):
        tcmcare.confirm_provision(7, 1, 1, OTHER_KEY, c1)
    with pytest.raises(errors.UnknownDeviceError):
        tcmcare.confirm_provision(8, 1, 1, KEY, c1)
    altered = bytes([c1[0]]) + bytes([c1[1] ^ 1]) + c1[2:]
    with pytest.raises(errors.BadTagError):
        tcmcare.confirm_provision(7, 1, 1, KEY, altered)
    with pytest.raises(errors.MalformedSealError):
        tcmcare.confirm_provision(7, 1, 1, KEY, c1[:-1])


def test_outbox_needs_a_provisioned_matching_seal_store() -> None:
    with pytest.raises(errors.NotProvisionedError):
        Outbox(device=7, epoch=1, seal_store=MemorySealStore())
    seal = MemorySealStore()
    seal.store_seal_state(seal_state(7, 1, 1, KEY))
    with pytest.raises(errors.SealError) as e:
        Outbox(device=8, epoch=1, seal_store=seal)
    assert e.value.code == "identity_mismatch"
    with pytest.raises(ValueError):
        Outbox(device=7, epoch=1, seal_store=seal, lease_block=0)
    with pytest.raises(TypeError):
        Outbox(device=7, epoch=1, seal_store=object())
    seal.state = b"\x02" + seal.state[1:] if seal.state else None  # another layout version
    with pytest.raises(errors.SealError) as e:
        Outbox(device=7, epoch=1, seal_store=seal)
    assert e.value.code == "corrupt_state"


# ------------------------------------------------------------------------- the sealed format


def test_sealed_hello_layout_and_overhead() -> None:
    plain = Outbox(device=7, epoch=1)
    sealed = kiosk()
    assert sealed.key_id == 1 and plain.key_id is None and plain.seal_store is None
    plain_hello = plain.poll(0)
    sealed_hello = sealed.poll(0)
    assert plain_hello is not None and sealed_hello is not None
    p, s = payload_of(plain_hello), payload_of(sealed_hello)
    # header a1 | key 1 | device 7 | epoch 1 | counter 1, then the ciphertext, then the tag
    assert s[:5] == bytes([0xA1, 1, 7, 1, 1])
    assert len(s) == len(p) + 5 + 16
    header, plaintext = tcmcare.open_sealed(s, KEY)
    assert header == SealHeader(key_id=1, device=7, epoch=1, counter=1, reply_to=0)
    assert plaintext == p  # the very hello a plain sender makes (variant 0)
    assert p[0] == 0 and s[5 : 5 + len(p)] != p  # encrypted
    # not under another key, not as the other direction
    with pytest.raises(errors.BadTagError):
        tcmcare.open_sealed(s, OTHER_KEY)
    with pytest.raises(errors.BadTagError):
        tcmcare.open_sealed(s, KEY, direction="downlink")
    with pytest.raises(errors.UnsealedRefusedError):
        tcmcare.open_sealed(p, KEY)
    with pytest.raises(ValueError):
        tcmcare.open_sealed(s, KEY, direction="sideways")  # type: ignore[arg-type]


def test_counter_varint_grows_at_128() -> None:
    outbox = kiosk()
    now = 0
    frames: List[bytes] = []
    while len(frames) < 129:  # unanswered hellos, each resent after its timeout
        f = outbox.poll(now)
        if f is not None:
            frames.append(payload_of(f))
        now += 120_000
    assert frames[126][:5] == bytes([0xA1, 1, 7, 1, 127])  # counter 127: one byte
    assert frames[127][:6] == bytes([0xA1, 1, 7, 1, 0x80, 0x01])  # counter 128: two bytes
    opened = [tcmcare.open_sealed(f, KEY) for f in frames]
    assert [h.counter for h, _ in opened] == list(range(1, 130))
    overhead = [len(f) - len(plain) for f, (_, plain) in zip(frames, opened)]
    assert overhead == [21] * 127 + [22] * 2


def test_terminal_replies_are_sealed_downlink_and_name_the_request() -> None:
    outbox = kiosk()
    outbox.push(vitals(outbox, 0))
    store, receiver = terminal()
    hello = outbox.poll(0)
    assert hello is not None
    (welcome,) = receiver.receive(hello, now_utc=NOW)
    assert welcome.event == "introduced" and welcome.details["sealed"] is True
    # a4 | key 1 | device 7 | epoch 1 | terminal counter 1 | reply to kiosk counter 1
    assert welcome.reply[:6] == bytes([0xA4, 1, 7, 1, 1, 1])
    header, plaintext = tcmcare.open_sealed(welcome.reply, KEY, direction="downlink")
    assert header == SealHeader(1, 7, 1, 1, 1)
    with pytest.raises(errors.BadTagError):
        tcmcare.open_sealed(welcome.reply, KEY)  # uplink: another nonce
    assert outbox.receive(welcome.frame(), 0) == [("welcomed", {"watermark": 0, "utc_now": NOW})]
    assert receiver.session == (7, 1) and receiver.session_key_id == 1


# ------------------------------------------------------------------------- the sealed receiver


def test_sealed_stream_commits_exactly_once() -> None:
    outbox = kiosk()
    pushed = []
    for i in range(20):
        r = vitals(outbox, i)
        outbox.push(r)
        pushed.append(r.id)
    store, receiver = terminal()
    assert receiver.security == "sealed" and receiver.keys is store
    events = exchange(outbox, receiver)
    assert events[0] == "introduced" and "committed" in events
    assert len(outbox) == 0 and outbox.acked_through == 20
    assert [r.id for r in store.records()] == pushed
    assert store.watermark(7, 1) == 20
    # the hello had counter 1, the single batch counter 2: persisted with the records
    assert store.last_counter(7, 1) == FrameCounter(key_id=1, counter=2)


@pytest.mark.parametrize(
    "where, reason",
    [
        ("marker->a4", "malformed"),  # a reply marker on a kiosk frame
        ("marker->a2", "unsealed_refused"),  # no longer a sealed payload at all
        ("epoch", "bad_tag"),
        ("counter", "bad_tag"),
        ("body", "bad_tag"),
        ("body-last", "bad_tag"),
        ("tag-first", "bad_tag"),
        ("tag-last", "bad_tag"),
        ("truncated-tag", "bad_tag"),  # one byte short: the tag is read from the wrong place
        ("no-tag", "malformed"),  # fewer than 16 bytes after the header
        ("header-only", "malformed"),
        ("appended", "bad_tag"),
    ],
)
def test_tampered_frames_are_rejected_and_commit_nothing(where: str, reason: str) -> None:
    _, hello, batch = hello_and_batch()
    store, receiver = terminal()
    assert receiver.handle(hello, now_utc=NOW).event == "introduced"
    before = snapshot(store)
    b = bytearray(batch)
    # batch header: a1 01 07 01 02 (key 1, device 7, epoch 1, counter 2)
    assert bytes(b[:5]) == bytes([0xA1, 1, 7, 1, 2])
    if where == "marker->a4":
        b[0] = 0xA4
    elif where == "marker->a2":
        b[0] = 0xA2
    elif where == "epoch":
        b[3] ^= 0x02
    elif where == "counter":
        b[4] = 3
    elif where == "body":
        b[5] ^= 0x01
    elif where == "body-last":
        b[-17] ^= 0x80
    elif where == "tag-first":
        b[-16] ^= 0x01
    elif where == "tag-last":
        b[-1] ^= 0x01
    elif where == "truncated-tag":
        del b[-1]
    elif where == "no-tag":
        b = b[:5] + b[5:20]  # header and 15 bytes
    elif where == "header-only":
        b = b[:5]
    elif where == "appended":
        b += b"\x00"
    r = receiver.handle(bytes(b), now_utc=NOW)
    assert r.event == "rejected" and r.details["reason"] == reason
    assert r.reply == b""  # a rejected payload is not answered
    assert snapshot(store) == before
    # the genuine frame still goes through afterwards
    ok = receiver.handle(batch, now_utc=NOW)
    assert ok.event == "committed" and store.watermark(7, 1) == 3


def test_replayed_frames_are_rejected_also_after_a_restart(tmp_path: pathlib.Path) -> None:
    _, hello, batch = hello_and_batch()
    db = tmp_path / "terminal.db"
    store, receiver = terminal(path=str(db))
    assert receiver.handle(hello, now_utc=NOW).event == "introduced"
    assert receiver.handle(batch, now_utc=NOW).event == "committed"
    before = snapshot(store)
    for payload, counter in ((batch, 2), (hello, 1)):
        r = receiver.handle(payload, now_utc=NOW)
        assert r.event == "rejected" and r.details["reason"] == "replayed"
        assert (r.details["last"], r.details["got"]) == (2, counter)
        with pytest.raises(errors.ReplayedError) as e:
            r.raise_for_rejection()
        assert (e.value.last, e.value.got, e.value.device, e.value.key_id) == (2, counter, 7, 1)
    assert snapshot(store) == before
    # power loss at the terminal: the counter was persisted with the records
    store.close()
    store, receiver = terminal(keys=(), path=str(db))
    for payload in (hello, batch):
        r = receiver.handle(payload, now_utc=NOW)
        assert r.event == "rejected" and r.details["reason"] == "replayed"
    assert snapshot(store) == before


def test_unknown_device_unknown_key_and_revoked() -> None:
    _, hello, batch = hello_and_batch()
    # a terminal that does not know device 7
    store, receiver = terminal(keys=((8, 1, KEY),))
    r = receiver.handle(hello, now_utc=NOW)
    assert (r.event, r.details["reason"], r.details["device"]) == ("rejected", "unknown_device", 7)
    with pytest.raises(errors.UnknownDeviceError):
        r.raise_for_rejection()
    # it knows device 7 but only under key id 2
    store, receiver = terminal(keys=((7, 2, KEY),))
    r = receiver.handle(hello, now_utc=NOW)
    assert r.details["reason"] == "unknown_key"
    with pytest.raises(errors.UnknownKeyError):
        r.raise_for_rejection()
    # the same key id with other bytes: the tag fails
    store, receiver = terminal(keys=((7, 1, OTHER_KEY),))
    assert receiver.handle(hello, now_utc=NOW).details["reason"] == "bad_tag"
    # revoked mid-stream: nothing more is taken
    store, receiver = terminal()
    assert receiver.handle(hello, now_utc=NOW).event == "introduced"
    store.revoke(7)
    assert store.is_revoked(7)
    r = receiver.handle(batch, now_utc=NOW)
    assert r.event == "rejected" and r.details["reason"] == "revoked" and r.reply == b""
    with pytest.raises(errors.RevokedError) as e:
        r.raise_for_rejection()
    assert isinstance(e.value, errors.RejectedError) and isinstance(e.value, errors.SealError)
    assert e.value.code == e.value.reason == "revoked"
    assert len(store) == 0 and store.watermark(7, 1) == 0
    store.add_key(7, 3, KEY)  # adding a key does not lift a revocation
    assert store.lookup(7, 3) == "revoked"
    with pytest.raises(errors.RevokedError):
        receiver.time_sync(now_utc=NOW)


def plain_kiosk(device: int = 7) -> Outbox:
    plain = Outbox(device=device, epoch=1)
    plain.push(vitals(plain, 0))
    return plain


def test_unsealed_refused_unless_trusted_unsealed() -> None:
    hello = plain_kiosk().poll(0)
    assert hello is not None
    store, receiver = terminal()
    r = receiver.handle(payload_of(hello), now_utc=NOW)
    assert r.event == "rejected" and r.details == {"reason": "unsealed_refused", "sealed": False}
    assert r.reply == b""
    with pytest.raises(errors.UnsealedRefusedError):
        r.raise_for_rejection()
    # an explicitly trusted link takes plain frames of devices without keys and answers
    # them plain...
    store, receiver = terminal(security="trusted_unsealed")
    assert receiver.security == "trusted_unsealed"
    events = exchange(plain_kiosk(device=8), receiver)
    assert events[:2] == ["introduced", "committed"] and store.watermark(8, 1) == 1
    # ...never those of a device that has keys (issue #12 item 4)...
    r = receiver.handle(payload_of(hello), now_utc=NOW)
    assert r.event == "rejected" and r.details["reason"] == "unsealed_refused"
    assert store.watermark(7, 1) == 0
    # ...and still verifies sealed ones
    _, s_hello, _ = hello_and_batch()
    assert receiver.handle(s_hello[:-1], now_utc=NOW).details["reason"] == "bad_tag"
    assert receiver.handle(s_hello, now_utc=NOW).details["sealed"] is True


def test_receiver_settings() -> None:
    store = SQLiteStore()
    plain = Receiver(store)
    assert plain.security is None and plain.keys is None and plain.session_key_id is None
    with pytest.raises(ValueError):
        Receiver(store, security="sealed")  # security without keys
    with pytest.raises(ValueError):
        Receiver(store, keys=store, security="plain")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Receiver(store, keys=object())
    with pytest.raises(TypeError):
        Receiver(RecordingStore(), keys=store)  # no replay counters
    with pytest.raises(errors.SealError) as e:
        plain.rekey(7, 1, 1, 2, KEY)
    assert e.value.code == "not_sealed"
    # a plain receiver has no key to open a sealed frame: malformed, as any stranger
    _, hello, _ = hello_and_batch()
    assert plain.handle(hello, now_utc=NOW).event == "malformed"


class RecordingStore:
    """A plain receiver store (no replay counters)."""

    def watermark(self, device: int, epoch: int) -> int:
        return 0

    def commit(self, device: int, epoch: int, first: int, records: Sequence[CommitRecord], new: int) -> None:
        pass


# ------------------------------------------------------------------------- key stores of one's own


class MemoryKeys:
    """A key store of the integrator's own."""

    def __init__(self) -> None:
        self.keys: Dict[Tuple[int, int], DeviceKey] = {}
        self.reserved: Dict[Tuple[int, int], int] = {}
        self.used: List[Tuple[int, int]] = []
        self.fail: Optional[Exception] = None
        self.exhausted = False
        self.wrong: object = None

    def lookup(self, device: int, key_id: int) -> tcmcare.store.KeyLookup:
        if self.fail:
            raise self.fail
        if self.wrong is not None:
            return self.wrong  # type: ignore[return-value]
        if (device, key_id) in self.keys:
            return self.keys[(device, key_id)]
        return "unknown_key" if any(d == device for d, _ in self.keys) else "unknown_device"

    def reserve_downlink(self, device: int, key_id: int, count: int) -> Optional[int]:
        if self.exhausted:
            return None
        first = self.reserved.get((device, key_id), 0) + 1
        self.reserved[(device, key_id)] = first + count - 1
        return first

    def key_used(self, device: int, key_id: int) -> None:
        self.used.append((device, key_id))


def test_custom_key_store_outages_and_exhaustion() -> None:
    keys = MemoryKeys()
    keys.keys[(7, 1)] = KEY
    assert isinstance(keys, tcmcare.KeyStore)
    store = SQLiteStore()
    assert isinstance(store, tcmcare.SealedReceiverStore) and isinstance(store, tcmcare.KeyStore)
    receiver = Receiver(store, keys=keys)
    _, hello, batch = hello_and_batch()
    # the key store is down: refused, with the store's exception kept
    keys.fail = tcmcare.StoreUnavailableError("key database locked")
    r = receiver.handle(hello, now_utc=NOW)
    assert r.event == "rejected" and r.details["reason"] == "store" and r.details["error"] == "unavailable"
    assert isinstance(receiver.last_store_error, tcmcare.StoreUnavailableError)
    with pytest.raises(errors.StoreFailedError) as e:
        r.raise_for_rejection()
    assert e.value.error == "unavailable"
    # a lookup returning raw bytes is the store's bug: raised (not a refusal), never echoed
    keys.fail = None
    keys.wrong = KEY_BYTES
    with pytest.raises(TypeError) as te:
        receiver.handle(hello, now_utc=NOW)
    assert KEY_BYTES.hex() not in str(te.value) and repr(KEY_BYTES) not in str(te.value)
    assert store.last_counter(7, 1) == (0, 0)
    # no reply counters left: the frame is not taken
    keys.wrong = None
    keys.exhausted = True
    r = receiver.handle(hello, now_utc=NOW)
    assert r.event == "downlink_exhausted" and r.reply == b"" and r.details["device"] == 7
    with pytest.raises(errors.DownlinkExhaustedError):
        r.raise_for_rejection()
    assert store.last_counter(7, 1) == (0, 0)
    keys.exhausted = False
    assert receiver.handle(hello, now_utc=NOW).event == "introduced"
    assert receiver.handle(batch, now_utc=NOW).event == "committed"
    assert (7, 1) in keys.used and len(store) == 3
    assert keys.reserved[(7, 1)] == 64  # one lease of 64 reply counters


# ------------------------------------------------------------------------- rotation, time sync


def test_key_rotation() -> None:
    outbox = kiosk()
    for i in range(2):
        outbox.push(vitals(outbox, i))
    store, receiver = terminal()
    with pytest.raises(errors.NoSessionError):
        receiver.time_sync(now_utc=NOW)
    exchange(outbox, receiver)
    assert store.watermark(7, 1) == 2
    new_key = DeviceKey.generate()
    with pytest.raises(errors.KeyIdNotNewerError):
        receiver.rekey(7, 1, 1, 1, new_key)
    with pytest.raises(errors.UnknownKeyError):
        receiver.rekey(7, 1, 5, 6, new_key)
    with pytest.raises(errors.UnknownDeviceError):
        receiver.rekey(9, 1, 1, 2, new_key)
    store.add_key(7, 2, new_key)
    rekey = receiver.rekey(7, 1, 1, 2, new_key)
    assert new_key.expose() not in payload_of(rekey)  # the new key travels encrypted only
    header, plaintext = tcmcare.open_sealed(payload_of(rekey), KEY, direction="downlink")
    # the rekey plaintext: a3 | key id 2 | key
    assert header.key_id == 1 and plaintext == bytes([0xA3, 2]) + new_key.expose()
    assert outbox.receive(rekey, 1000) == [("rekeyed", {"key_id": 2})]
    assert outbox.key_id == 2
    assert outbox.receive(rekey, 1000)[0][0] == "rejected"  # under the old key, retired at the kiosk
    # the kiosk now seals under key 2 (counting from 1 again); the first frame retires key 1
    outbox.push(vitals(outbox, 2))
    events = exchange(outbox, receiver, now_ms=2000)
    assert "committed" in events and store.watermark(7, 1) == 3
    assert store.key_ids(7) == [2] and receiver.session_key_id == 2
    assert store.last_counter(7, 1).key_id == 2
    ts = receiver.time_sync(now_utc=NOW + 60)
    assert tcmcare.open_sealed(payload_of(ts), new_key, direction="downlink")[0].key_id == 2
    assert outbox.receive(ts, 3000) == [("time_synced", {"utc_now": NOW + 60})]


def test_kiosk_rejects_forged_and_foreign_terminal_frames() -> None:
    outbox = kiosk()
    outbox.push(vitals(outbox, 0))
    _, genuine = terminal()
    hello = outbox.poll(0)
    assert hello is not None
    (ok,) = genuine.receive(hello, now_utc=NOW)
    # a plain welcome (a rogue terminal answering unsealed) is refused
    plain_hello = plain_kiosk().poll(0)
    assert plain_hello is not None
    (p,) = Receiver().receive(plain_hello, now_utc=NOW)
    assert p.event == "introduced"
    assert outbox.receive(p.frame(), 0) == [("rejected", {"reason": "unsealed_refused"})]
    # a rogue terminal holding another key for device 7 (and a kiosk of its own)
    rogue_kiosk = kiosk(key=OTHER_KEY)
    rogue_kiosk.push(vitals(rogue_kiosk, 0))
    _, rogue = terminal(keys=((7, 1, OTHER_KEY),))
    rh = rogue_kiosk.poll(0)
    assert rh is not None
    (rw,) = rogue.receive(rh, now_utc=NOW)
    assert rw.event == "introduced"
    assert outbox.receive(rw.frame(), 0)[0][1]["reason"] == "bad_tag"
    # a frame sealed for epoch 2 of this device
    other_epoch = kiosk(epoch=2)
    other_epoch.push(vitals(other_epoch, 0))
    h2 = other_epoch.poll(0)
    assert h2 is not None
    (w2,) = genuine.receive(h2, now_utc=NOW)
    ev = outbox.receive(w2.frame(), 0)
    assert ev[0][0] == "rejected" and ev[0][1]["reason"] == "wrong_epoch"
    assert (ev[0][1]["expected"], ev[0][1]["got"]) == (1, 2)
    # a frame for another device
    other_device = kiosk(device=8)
    other_device.push(vitals(other_device, 0))
    _, t8 = terminal(keys=((8, 1, KEY),))
    h8 = other_device.poll(0)
    assert h8 is not None
    (w8,) = t8.receive(h8, now_utc=NOW)
    assert outbox.receive(w8.frame(), 0)[0][1]["reason"] == "unknown_device"
    # the genuine welcome works, once
    assert outbox.receive(ok.frame(), 0)[0][0] == "welcomed"
    ev = outbox.receive(ok.frame(), 0)
    assert ev[0] == (
        "rejected",
        {"reason": "replayed", "last": 1, "got": 1, "device": 7, "epoch": 1, "key_id": 1, "counter": 1},
    )


# ------------------------------------------------------------------------- restarts, lossy links


def test_kiosk_restart_skips_the_rest_of_its_lease(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "kiosk.db"
    storage = provisioned(storage=SQLiteOutboxStorage(path))
    outbox = Outbox(storage, device=7, epoch=1, seal_store=storage, lease_block=10)
    outbox.push(vitals(outbox, 0))
    store, receiver = terminal()
    hello = outbox.poll(0)
    assert hello is not None and payload_of(hello)[4] == 1
    receiver.receive(hello, now_utc=NOW)
    storage.close()
    del outbox
    # power loss: counters 2..10 of the lease may have been used; continue at 11
    storage = SQLiteOutboxStorage(path)
    outbox = Outbox(storage, device=7, epoch=1, seal_store=storage, lease_block=10)
    hello = outbox.poll(0)
    assert hello is not None and payload_of(hello)[:5] == bytes([0xA1, 1, 7, 1, 11])
    (welcome,) = receiver.receive(hello, now_utc=NOW)  # counter 11 > 1: fresh
    assert welcome.event == "introduced"
    assert outbox.receive(welcome.frame(), 0)[0][0] == "welcomed"
    assert exchange(outbox, receiver) == ["committed"] and store.watermark(7, 1) == 1


def test_seal_store_writes_once_per_lease() -> None:
    seal = MemorySealStore()
    seal.store_seal_state(seal_state(7, 1, 1, KEY))
    assert seal.writes == 1
    outbox = Outbox(device=7, epoch=1, seal_store=seal, lease_block=4)
    assert outbox.seal_store is seal
    now = 0
    sent = 0
    while sent < 9:
        if outbox.poll(now) is not None:
            sent += 1
        now += 120_000
    # counters 1..4, 5..8, 9..12: three lease writes before use
    assert seal.writes == 1 + 3


def lossy(frames: bytes, rng: random.Random, loss: float) -> bytes:
    out: List[bytes] = []
    for f in frames.split(b"\x00"):
        if not f:
            continue
        f += b"\x00"
        r = rng.random()
        if r < loss:
            continue
        if r < 1.5 * loss:
            f = bytes([f[0] ^ 0x40]) + f[1:]
        out.append(f)
        if rng.random() < loss:
            out.append(f)
    if len(out) > 1 and rng.random() < loss:
        out[0], out[-1] = out[-1], out[0]
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
        for r in replies:
            assert r.event != "rejected" or r.details["reason"] == "replayed", r
        back = b"".join(r.frame() for r in replies)
        outbox.receive(lossy(back, rng, loss), now)
        if len(outbox) == 0 and outbox.is_streaming:
            break
        now += 500
    return now


@pytest.mark.parametrize("seed", [1, 2])
def test_sealed_exactly_once_over_a_lossy_link_with_restarts(tmp_path: pathlib.Path, seed: int) -> None:
    rng = random.Random(seed)
    kiosk_path, terminal_path = tmp_path / "kiosk.db", tmp_path / "terminal.db"
    storage = provisioned(storage=SQLiteOutboxStorage(kiosk_path))
    outbox = Outbox(storage, device=7, epoch=1, seal_store=storage, window=8)
    store, receiver = terminal(path=str(terminal_path))
    pushed = []
    for i in range(40):
        r = vitals(outbox, i)
        outbox.push(r)
        pushed.append(r.id)
    now = run(outbox, receiver, rng, 0.2, 0, 30)
    storage.close()
    store.close()
    storage = SQLiteOutboxStorage(kiosk_path)
    outbox = Outbox(storage, device=7, epoch=1, seal_store=storage, window=8)
    store = SQLiteStore(terminal_path)
    receiver = Receiver(store, keys=store)
    for i in range(40, 60):
        r = vitals(outbox, i)
        outbox.push(r)
        pushed.append(r.id)
    run(outbox, receiver, rng, 0.2, now + 10_000, 400)
    assert len(outbox) == 0 and store.watermark(7, 1) == 60
    assert [r.id for r in store.records()] == pushed
    rows = sqlite3.connect(terminal_path).execute("SELECT position FROM records ORDER BY record_no").fetchall()
    assert [p for (p,) in rows] == list(range(1, 61))
    store.close()


# ------------------------------------------------------------------------- store schema


def test_store_upgrades_schema_1(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "old.db"
    SQLiteStore(db).close()
    with sqlite3.connect(db) as raw:  # make it look like a version-1 store
        raw.executescript(
            "DROP TABLE devices; DROP TABLE device_keys; DROP TABLE seal_counters;"
            " UPDATE meta SET value = '1' WHERE key = 'schema';"
        )
    with SQLiteStore(db) as store:
        store.add_key(7, 1, KEY)
        assert store.lookup(7, 1) == KEY and store.lookup(7, 2) == "unknown_key"
        assert store.lookup(8, 1) == "unknown_device"
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT value FROM meta WHERE key='schema'").fetchone() == ("2",)


def test_sqlite_key_store_leases_and_counters() -> None:
    store = SQLiteStore()
    store.add_key(7, 1, KEY)
    assert store.reserve_downlink(7, 1, 64) == 1
    assert store.reserve_downlink(7, 1, 64) == 65
    assert store.reserve_downlink(7, 9, 64) is None
    # the 32-bit counter space: 2**32 - 1 - 128 left
    assert store.reserve_downlink(7, 1, 2**32 - 1 - 128) == 129
    assert store.reserve_downlink(7, 1, 1) is None
    with pytest.raises(TypeError):
        store.add_key(7, 2, KEY_BYTES)  # type: ignore[arg-type]
    # counters only go up, in (key id, counter) order
    store.note_counter(7, 1, FrameCounter(1, 5))
    store.note_counter(7, 1, FrameCounter(1, 3))
    assert store.last_counter(7, 1) == (1, 5)
    store.note_counter(7, 1, FrameCounter(2, 1))
    assert store.last_counter(7, 1) == (2, 1)
    store.note_counter(7, 1, FrameCounter(1, 99))
    assert store.last_counter(7, 1) == (2, 1)
    # commit_sealed is all or nothing: a conflicting batch leaves the counter too
    with pytest.raises(tcmcare.StoreConflictError):
        store.commit_sealed(7, 1, 5, [], 5, FrameCounter(2, 9))
    assert store.last_counter(7, 1) == (2, 1)


# ------------------------------------------------------------------------- fuzz


def mutations(payload: bytes, rng: random.Random) -> bytes:
    b = bytearray(payload)
    op = rng.randrange(5)
    if op == 0 and b:
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    elif op == 1:
        del b[rng.randrange(len(b) + 1) :]
    elif op == 2:
        i = rng.randrange(len(b) + 1)
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
    elif op == 3 and b:
        i = rng.randrange(len(b))
        b[i] = rng.randrange(256)
    else:
        b = bytearray(rng.randrange(256) for _ in range(rng.randrange(80)))
        if b and rng.random() < 0.5:
            b[0] = rng.choice([0xA1, 0xA2, 0xA3, 0xA4])
    return bytes(b)


def test_fuzz_sealed_receiver_and_helpers() -> None:
    """Random and mutated payloads: the receiver answers with events only, never commits
    a forged byte; the raising helpers raise only their documented exceptions."""
    outbox, hello, batch = hello_and_batch()
    store, receiver = terminal(keys=((7, 1, KEY), (8, 1, OTHER_KEY)))
    assert receiver.handle(hello, now_utc=NOW).event == "introduced"
    before = snapshot(store)
    rng = random.Random(7)
    reasons: Dict[str, int] = {}
    for i in range(3000):
        p = mutations(rng.choice([hello, batch]), rng)
        if p in (hello, batch):
            continue
        r: ReceiverReply = receiver.handle(p, now_utc=NOW)
        assert r.event == "rejected", (p.hex(), r)
        assert r.details["reason"] in errors.REJECTION_REASONS
        assert r.reply == b""
        reasons[r.details["reason"]] = reasons.get(r.details["reason"], 0) + 1
        with pytest.raises(errors.RejectedError):
            r.raise_for_rejection()
        try:
            tcmcare.open_sealed(p, KEY)
        except errors.RejectedError:
            pass
        try:
            tcmcare.accept_provision_confirmed(MemorySealStore(), p, provisioning_mode=True)
        except errors.ProvisionError:
            pass
    assert snapshot(store) == before
    assert {"bad_tag", "malformed", "unsealed_refused"} <= set(reasons)
    # whole streams of garbage, chunked anyhow
    for _ in range(200):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
        for r in receiver.receive(data, now_utc=NOW):
            assert r.event in ("rejected", "frame_error")
    assert snapshot(store) == before
    # the kiosk side too
    for _ in range(1000):
        ev = outbox.handle(mutations(batch, rng), 0)
        assert ev[0] == "rejected" and ev[1]["reason"] in errors.REJECTION_REASONS
