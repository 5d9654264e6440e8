"""The golden wire vectors decode and re-encode byte-identically with Rust."""

from __future__ import annotations

from typing import Any, Dict

import pytest

import tcmcare
from conftest import OK_VECTORS, VECTORS


def _vector(name: str) -> Dict[str, Any]:
    return next(v for v in VECTORS if v["name"] == name)


@pytest.mark.parametrize("v", OK_VECTORS, ids=lambda v: str(v["name"]))
def test_vector_round_trips_byte_identically(v: Dict[str, Any]) -> None:
    envelope = bytes.fromhex(v["envelope_hex"])
    frame = bytes.fromhex(v["frame_hex"])
    record = tcmcare.decode(envelope)
    assert record.kind == v["kind_name"]
    assert tcmcare.encode(record) == envelope
    assert tcmcare.encode_frame(record) == frame
    assert tcmcare.decode_frame(frame) == record
    assert tcmcare.decode_frame(frame[:-1]) == record  # the delimiter is optional
    # Through the dict view and the keyword constructor as well.
    again = type(record).from_dict(record.to_dict())
    assert again == record
    assert tcmcare.encode(again) == envelope
    assert tcmcare.Record.from_dict(record.to_dict()) == record


def test_every_kind_has_a_vector() -> None:
    kinds = {v["kind_name"] for v in OK_VECTORS}
    assert kinds == {"resident", "vitals", "constitution", "treatment", "herbal", "follow_up", "correction"}


def test_stream_of_all_vectors() -> None:
    stream = b"".join(bytes.fromhex(v["frame_hex"]) for v in OK_VECTORS)
    records = tcmcare.decode_frames(stream)
    assert [tcmcare.encode(r).hex() for r in records] == [v["envelope_hex"] for v in OK_VECTORS]


def test_unknown_kind_is_kept_for_forwarding() -> None:
    v = _vector("unknown-kind-200")
    envelope = bytes.fromhex(v["envelope_hex"])
    with pytest.raises(tcmcare.UnknownKindError) as e:
        tcmcare.decode(envelope)
    assert e.value.kind == 200
    assert e.value.envelope == envelope
    with pytest.raises(tcmcare.UnknownKindError) as f:
        tcmcare.decode_frame(bytes.fromhex(v["frame_hex"]))
    assert f.value.envelope == envelope
    # The header is readable whatever the kind: device 7 epoch 1 seq 44, resident 3101:1234.
    kind, rid, resident, when = tcmcare._native.read_envelope_header(envelope)
    assert (kind, rid, resident) == (200, (7, 1, 44), (3101, 1234))
    assert isinstance(when, __import__("datetime").datetime)
    assert when.isoformat() == "2026-03-15T08:30:00+00:00"


def test_longer_body_is_a_trailing_bytes_error_in_strict_decode() -> None:
    v = _vector("vitals-longer-body")
    with pytest.raises(tcmcare.TrailingBytesError) as e:
        tcmcare.decode(bytes.fromhex(v["envelope_hex"]))
    assert e.value.field == "body"
    assert isinstance(e.value, tcmcare.DecodeError)
    assert isinstance(e.value, ValueError)


def test_corrupted_frames() -> None:
    crc = _vector("vitals-corrupted-crc")
    with pytest.raises(tcmcare.CrcError) as e:
        tcmcare.decode_frame(bytes.fromhex(crc["frame_hex"]))
    assert e.value.code == "crc"
    assert e.value.expected != e.value.computed
    cut = _vector("vitals-truncated-frame")
    with pytest.raises(tcmcare.FrameError):
        tcmcare.decode_frame(bytes.fromhex(cut["frame_hex"]))
