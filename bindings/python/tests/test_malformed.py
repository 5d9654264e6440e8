"""Malformed input raises specific exceptions and never crashes the interpreter; the
streaming decoder resynchronises; columnar decoding agrees with object decoding."""

from __future__ import annotations

import random
from typing import Any, Dict, List

import pytest

import tcmcare
from conftest import OK_VECTORS, VECTORS

# Everything bad bytes may raise: all ValueError subclasses of tcmcare.
EXPECTED = (tcmcare.DecodeError, tcmcare.ValidationError)


def _expect_specific(data: bytes, fn: Any) -> None:
    try:
        fn(data)
    except EXPECTED as e:
        assert type(e) not in (tcmcare.DecodeError, tcmcare.ValidationError), (
            f"{type(e).__name__} is not specific: {e}"
        )
        assert isinstance(e, ValueError)


@pytest.mark.parametrize("v", OK_VECTORS, ids=lambda v: str(v["name"]))
def test_every_truncation_of_every_vector(v: Dict[str, Any]) -> None:
    envelope = bytes.fromhex(v["envelope_hex"])
    frame = bytes.fromhex(v["frame_hex"])
    for n in range(len(envelope)):
        with pytest.raises(EXPECTED):
            tcmcare.decode(envelope[:n])
    for n in range(len(frame) - 1):
        with pytest.raises(EXPECTED):
            tcmcare.decode_frame(frame[:n])
    # and every extension by one byte is trailing garbage
    with pytest.raises(tcmcare.TrailingBytesError):
        tcmcare.decode(envelope + b"\x00")


@pytest.mark.parametrize("v", OK_VECTORS, ids=lambda v: str(v["name"]))
def test_every_bit_flip_of_every_frame_is_caught(v: Dict[str, Any]) -> None:
    frame = bytearray.fromhex(v["frame_hex"])
    original = tcmcare.decode_frame(bytes(frame))
    for i in range(len(frame) - 1):
        for bit in range(8):
            frame[i] ^= 1 << bit
            try:
                # CRC-32C detects every single-bit error; a flip that creates a 0x00
                # splits the frame, which COBS or the CRC then rejects.
                with pytest.raises(tcmcare.FrameError):
                    tcmcare.decode_frame(bytes(frame).split(b"\x00")[0])
            finally:
                frame[i] ^= 1 << bit
    assert tcmcare.decode_frame(bytes(frame)) == original


def test_random_bytes_never_crash() -> None:
    rng = random.Random(20260315)
    envelopes = [bytes.fromhex(v["envelope_hex"]) for v in OK_VECTORS]
    for _ in range(20_000):
        n = rng.randrange(0, 80)
        data = bytes(rng.randrange(256) for _ in range(n))
        _expect_specific(data, tcmcare.decode)
        _expect_specific(data, tcmcare.decode_frame)
        # mutate a valid envelope: keeps the kind and length plausible, reaches deep fields
        env = bytearray(rng.choice(envelopes))
        for _ in range(rng.randrange(1, 4)):
            env[rng.randrange(len(env))] = rng.randrange(256)
        _expect_specific(bytes(env), tcmcare.decode)
    # a big random buffer through every streaming entry point
    blob = bytes(rng.randrange(256) for _ in range(200_000))
    records = tcmcare.decode_frames(blob, skip_invalid=True)
    assert all(isinstance(r, tcmcare.Record) for r in records)
    cols = tcmcare.decode_frames_columnar(blob, skip_invalid=True)
    assert len(cols["kind"]) == len(records)
    dec = tcmcare.FrameDecoder(skip_invalid=True)
    assert len(list(dec.feed(blob))) == len(records)
    assert dec.rejected > 0
    assert isinstance(dec.last_error, ValueError)


def test_wrong_input_types() -> None:
    with pytest.raises(TypeError):
        tcmcare.decode("0102")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tcmcare.decode_frames(None)  # type: ignore[arg-type]
    assert tcmcare.decode(bytearray.fromhex(OK_VECTORS[0]["envelope_hex"])).kind == "resident"


def _stream() -> bytes:
    return b"".join(bytes.fromhex(v["frame_hex"]) for v in OK_VECTORS)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 10_000])
def test_frame_decoder_any_chunking(chunk: int) -> None:
    stream = _stream()
    dec = tcmcare.FrameDecoder()
    out: List[tcmcare.Record] = []
    for i in range(0, len(stream), chunk):
        out.extend(dec.feed(stream[i : i + chunk]))
    assert [tcmcare.encode(r).hex() for r in out] == [v["envelope_hex"] for v in OK_VECTORS]
    assert dec.buffered == 0
    assert dec.rejected == 0


def test_frame_decoder_resynchronises_after_corruption() -> None:
    crc = next(v for v in VECTORS if v["name"] == "vitals-corrupted-crc")
    unknown = next(v for v in VECTORS if v["name"] == "unknown-kind-200")
    good = [bytes.fromhex(v["frame_hex"]) for v in OK_VECTORS[:3]]
    stream = (
        good[0]
        + bytes.fromhex(crc["frame_hex"])
        + good[1]
        + b"\x01\x02\x03"  # garbage before a delimiter
        + b"\x00\x00"  # idle delimiters are skipped
        + bytes.fromhex(unknown["frame_hex"])
        + good[2]
    )
    dec = tcmcare.FrameDecoder()
    dec.feed(stream)
    results: List[Any] = []
    while True:
        try:
            results.append(next(dec))
        except StopIteration:
            break
        except ValueError as e:
            results.append(type(e))
    assert results == [
        tcmcare.decode_frame(good[0]),
        tcmcare.CrcError,
        tcmcare.decode_frame(good[1]),
        tcmcare.FrameError,
        tcmcare.UnknownKindError,
        tcmcare.decode_frame(good[2]),
    ]
    assert dec.rejected == 3
    # skip mode counts and goes on
    skipping = tcmcare.FrameDecoder(skip_invalid=True)
    assert len(list(skipping.feed(stream))) == 3
    assert skipping.rejected == 3
    assert isinstance(skipping.last_error, tcmcare.UnknownKindError)
    # the same through decode_frames
    with pytest.raises(tcmcare.CrcError):
        tcmcare.decode_frames(stream)
    assert len(tcmcare.decode_frames(stream, skip_invalid=True)) == 3


def test_frame_decoder_partial_frame_and_reset() -> None:
    frame = bytes.fromhex(OK_VECTORS[0]["frame_hex"])
    dec = tcmcare.FrameDecoder()
    assert list(dec.feed(frame[:5])) == []
    assert dec.buffered == 5
    dec.reset()
    assert dec.buffered == 0
    # after the reset the tail alone is a corrupt frame, reported when its delimiter comes
    with pytest.raises(tcmcare.FrameError):
        list(dec.feed(frame[5:]))
    assert list(dec.feed(frame)) == [tcmcare.decode_frame(frame)]
    # an overlong frame is rejected without unbounded buffering
    dec3 = tcmcare.FrameDecoder()
    with pytest.raises(tcmcare.FrameError) as e:
        list(dec3.feed(b"\x01" * (tcmcare._native.MAX_RECORD_FRAME_LEN + 10) + b"\x00"))
    assert e.value.code == "too_long"


def test_columnar_matches_objects() -> None:
    stream = _stream()
    records = tcmcare.decode_frames(stream)
    cols = tcmcare.decode_frames_columnar(stream)
    assert list(cols) == tcmcare._native.COLUMNS
    assert all(len(c) == len(records) for c in cols.values())
    for i, r in enumerate(records):
        assert cols["kind"][i] == r.kind
        assert (cols["device"][i], cols["epoch"][i], cols["seq"][i]) == r.id
        assert (cols["care_home"][i], cols["resident"][i]) == r.resident
        if isinstance(r, tcmcare.VitalSigns):
            for name in ("systolic_mmhg", "pulse_per_min", "temperature_site", "glucose_context", "source", "bmi_centi"):
                assert cols[name][i] == getattr(r, name)
        else:
            assert cols["systolic_mmhg"][i] is None and cols["source"][i] is None
    unknown_time = [i for i, r in enumerate(records) if isinstance(r.time, tcmcare.UnknownTime)]
    assert unknown_time and all(cols["time_utc"][i] is None for i in unknown_time)
