"""The demo's fault-injecting relay (demo/relay.py) frames through the tcmcare package:
frames pass unchanged, a tampered frame has one payload bit flipped and a valid CRC, a
corrupted one is refused by the CRC, and the same seed gives the same faults."""

from __future__ import annotations

import importlib.util
import pathlib
import random
import sys
from types import SimpleNamespace
from typing import Any, List, Sequence, Tuple

import pytest

import tcmcare
from conftest import OK_VECTORS

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _load_relay() -> Any:
    spec = importlib.util.spec_from_file_location("demo_relay", ROOT / "demo" / "relay.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


relay = _load_relay()


class Sink:
    """The socket a direction writes to."""

    def __init__(self) -> None:
        self.data = bytearray()

    def sendall(self, data: bytes) -> None:
        self.data += data


def _direction(
    *, seed: int = 1, drop: float = 0.0, duplicate: float = 0.0, corrupt: float = 0.0, tamper: float = 0.0,
    forced: Sequence[str] = (),
) -> Tuple[Any, Sink, List[str]]:
    logs: List[str] = []
    config = SimpleNamespace(p_drop=drop, p_duplicate=duplicate, p_corrupt=corrupt, p_tamper=tamper, log=logs.append)
    route = SimpleNamespace(
        relay=config, name="kiosk-a", cut=False, rngs={"up": random.Random(f"{seed}:kiosk-a:up")}, forced=list(forced)
    )
    sink = Sink()
    return relay.Direction(route, "up", sink, relay.DirectionStats()), sink, logs


def _payloads(n: int = 60) -> List[bytes]:
    rng = random.Random(5)
    out = [bytes.fromhex(v["envelope_hex"]) for v in OK_VECTORS]
    while len(out) < n:
        out.append(bytes(rng.choice((0, rng.randrange(1, 256))) for _ in range(rng.randrange(1, 300))))
    return out


def _feed(direction: Any, stream: bytes, seed: int = 9) -> None:
    rng = random.Random(seed)
    i = 0
    while i < len(stream):
        n = rng.randrange(1, 40)
        direction.feed(stream[i : i + n])
        i += n


def _decoded(data: bytes) -> Tuple[List[bytes], int]:
    dec = tcmcare.PayloadDecoder(skip_invalid=True)
    payloads = list(dec.feed(data))
    return payloads, dec.rejected


def test_relay_passes_frames_unchanged() -> None:
    payloads = _payloads()
    stream = b"".join(tcmcare.frame(p) for p in payloads)
    d, sink, logs = _direction()
    _feed(d, stream)
    assert bytes(sink.data) == stream
    s = d.stats
    assert (s.frames, s.passed, s.bytes, s.invalid) == (len(payloads), len(payloads), len(stream), 0)
    assert logs == []


def test_relay_tampers_with_one_payload_bit_and_a_valid_crc() -> None:
    payloads = _payloads()
    d, sink, _ = _direction(tamper=1.0)
    _feed(d, b"".join(tcmcare.frame(p) for p in payloads))
    got, rejected = _decoded(bytes(sink.data))
    assert rejected == 0 and len(got) == len(payloads) == d.stats.tampered
    for before, after in zip(payloads, got):
        assert len(after) == len(before)
        assert sum(bin(a ^ b).count("1") for a, b in zip(before, after)) == 1


def test_relay_corruption_is_refused_by_the_crc() -> None:
    payloads = _payloads()
    stream = b"".join(tcmcare.frame(p) for p in payloads)
    d, sink, _ = _direction(corrupt=1.0)
    _feed(d, stream)
    # each frame stays one frame with one bit flipped, which its CRC (or COBS) refuses
    assert len(sink.data) == len(stream)
    assert sum(bin(a ^ b).count("1") for a, b in zip(stream, sink.data)) == len(payloads) == d.stats.corrupted
    got, rejected = _decoded(bytes(sink.data))
    assert got == [] and rejected == len(payloads)


def test_relay_drops_and_duplicates_whole_frames() -> None:
    payloads = [bytes([i + 1]) * 20 for i in range(200)]  # distinct, to follow each one
    d, sink, _ = _direction(drop=0.25, duplicate=0.25)
    _feed(d, b"".join(tcmcare.frame(p) for p in payloads))
    got, rejected = _decoded(bytes(sink.data))
    s = d.stats
    assert rejected == 0 and s.dropped > 0 and s.duplicated > 0
    assert s.passed + s.dropped + s.duplicated == s.frames == len(payloads)
    counts = [got.count(p) for p in payloads]
    assert counts.count(0) == s.dropped and counts.count(2) == s.duplicated and counts.count(1) == s.passed
    assert got == [p for p, c in zip(payloads, counts) for _ in range(c)]  # order kept


def test_relay_same_seed_same_faults() -> None:
    stream = b"".join(tcmcare.frame(p) for p in _payloads(120))
    runs = []
    for seed in (3, 3, 4):
        d, sink, logs = _direction(seed=seed, drop=0.1, duplicate=0.1, corrupt=0.1, tamper=0.1)
        _feed(d, stream, seed=seed)  # the chunking does not matter either
        runs.append((bytes(sink.data), logs))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_relay_forced_fates_of_the_first_batches() -> None:
    small = tcmcare.frame(b"hello")
    batch = tcmcare.frame(bytes(range(1, relay.BATCH_MIN_LEN)))
    assert len(small) < relay.BATCH_MIN_LEN <= len(batch)
    d, sink, _ = _direction(forced=["corrupted", "duplicated", "dropped", "tampered"])
    _feed(d, small + batch + small + batch + batch + batch + batch)
    s = d.stats
    assert (s.corrupted, s.duplicated, s.dropped, s.tampered, s.passed) == (1, 1, 1, 1, 3)


def test_relay_does_not_pass_on_bytes_that_are_not_a_frame() -> None:
    good = tcmcare.frame(b"vitals")
    d, sink, logs = _direction()
    _feed(d, b"\x11\x22\x00" + good + b"\x01" * (tcmcare.MAX_SYNC_FRAME_LEN + 1) + b"\x00" + good)
    assert bytes(sink.data) == good + good
    assert (d.stats.frames, d.stats.invalid) == (2, 2)
    assert len(logs) == 2 and all("not a valid frame" in line for line in logs)


@pytest.mark.parametrize("fate", ["corrupted", "tampered"])
def test_relay_empty_payload(fate: str) -> None:
    # a frame of an empty payload: corrupted in its CRC bytes; tampering leaves it as is
    d, sink, _ = _direction(forced=[], corrupt=1.0 if fate == "corrupted" else 0.0, tamper=1.0)
    _feed(d, tcmcare.frame(b""))
    got, rejected = _decoded(bytes(sink.data))
    assert (got, rejected) == (([], 1) if fate == "corrupted" else ([b""], 0))
