"""One frame decoder: every split of a byte stream into frames is core's ``FrameDecoder``.

Python splits and frames through :class:`tcmcare.PayloadDecoder` / :class:`tcmcare.FrameDecoder`
and :func:`tcmcare.frame`; no Python source of the package or of ``scripts/`` (the demo's
relay) carries its own COBS, CRC or split on the 0x00 delimiter. (Tests may: test_edges
checks ``frame()`` against an independent CRC-32C and COBS on purpose.)
"""

from __future__ import annotations

import pathlib
import random
import re
from typing import List, Union

import pytest

import tcmcare
from tcmcare.cli import main
from tcmcare.store import SQLiteStore
from conftest import OK_VECTORS, VECTORS

ROOT = pathlib.Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "bindings" / "python" / "python" / "tcmcare"
LIMIT = tcmcare.MAX_SYNC_FRAME_LEN


def _vector(name: str) -> bytes:
    return bytes.fromhex(next(v for v in VECTORS if v["name"] == name)["frame_hex"])


def _payloads() -> List[bytes]:
    rng = random.Random(13)
    sizes = [0, 1, 5, 253, 254, 255, 508, 1000, 4096]
    out = [bytes(rng.choice((0, 0, 1, 0xFF, rng.randrange(256))) for _ in range(n)) for n in sizes]
    out.append(b"\x00" * 300)
    out.append(b"\x07" * 300)
    return out


def _drain(dec: Union[tcmcare.PayloadDecoder, tcmcare.FrameDecoder]) -> List[object]:
    """Every result of the decoder: a payload or record, or the class and code of an error."""
    out: List[object] = []
    while True:
        try:
            out.append(next(dec))
        except StopIteration:
            return out
        except tcmcare.FrameError as e:
            out.append((type(e), e.code))


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 20])
def test_payload_decoder_any_chunking(chunk: int) -> None:
    payloads = _payloads()
    stream = b"".join(tcmcare.frame(p) for p in payloads)
    dec = tcmcare.PayloadDecoder()
    got: List[bytes] = []
    for i in range(0, len(stream), chunk):
        got.extend(dec.feed(stream[i : i + chunk]))
    assert got == payloads
    assert dec.buffered == 0 and dec.rejected == 0 and dec.last_error is None


def test_payload_decoder_reports_bad_frames_and_resynchronises() -> None:
    good = [tcmcare.frame(p) for p in (b"first", b"second", b"third")]
    stream = (
        good[0]
        + _vector("vitals-corrupted-crc")
        + b"\x00\x00"  # idle delimiters are skipped
        + b"\x05\x01\x02"  # a code byte past the end
        + b"\x00"
        + good[1]
        + b"\x01" * (LIMIT + 1)  # one byte over the limit
        + b"\x00"
        + good[2]
    )
    assert _drain(tcmcare.PayloadDecoder().feed(stream)) == [
        b"first",
        (tcmcare.CrcError, "crc"),
        (tcmcare.FrameError, "cobs"),
        b"second",
        (tcmcare.FrameError, "too_long"),
        b"third",
    ]
    skipping = tcmcare.PayloadDecoder(skip_invalid=True)
    assert list(skipping.feed(stream)) == [b"first", b"second", b"third"]
    assert skipping.rejected == 3
    assert isinstance(skipping.last_error, tcmcare.FrameError) and skipping.last_error.code == "too_long"


@pytest.mark.parametrize("chunk", [1, 1000, 1 << 20])
def test_payload_decoder_limit_is_the_sync_frame_limit(chunk: int) -> None:
    # MAX_SYNC_FRAME_LEN bytes before the delimiter are taken (here the COBS of zeros,
    # refused by the CRC, not for its length); one more is too long, however chunked.
    for length, error in ((LIMIT, (tcmcare.CrcError, "crc")), (LIMIT + 1, (tcmcare.FrameError, "too_long"))):
        data = b"\x01" * length + b"\x00"
        dec = tcmcare.PayloadDecoder()
        got: List[object] = []
        for i in range(0, len(data), chunk):
            got.extend(_drain(dec.feed(data[i : i + chunk])))
        assert got == [error], (length, chunk)
    # the longest payload frame() frames is taken back (COBS adds a byte per 254)
    n = LIMIT - LIMIT // 254 - 16
    tcmcare.frame(b"\x01" * n)
    while True:
        try:
            framed = tcmcare.frame(b"\x01" * (n + 1))
        except tcmcare.FrameTooLongError:
            break
        n += 1
    framed = tcmcare.frame(b"\x01" * n)
    assert len(framed) - 1 <= LIMIT
    assert list(tcmcare.PayloadDecoder().feed(framed)) == [b"\x01" * n]


def test_final_decodes_a_last_frame_without_its_delimiter() -> None:
    frame = bytes.fromhex(OK_VECTORS[0]["frame_hex"])
    envelope = bytes.fromhex(OK_VECTORS[0]["envelope_hex"])
    dec = tcmcare.PayloadDecoder()
    assert list(dec.feed(frame[:-1])) == [] and dec.buffered == len(frame) - 1
    assert list(dec.feed(b"", final=True)) == [envelope] and dec.buffered == 0
    # the same in one call; and after the end, the decoder takes a new input
    assert list(dec.feed(frame + frame[:-1], final=True)) == [envelope, envelope]
    assert list(dec.feed(frame)) == [envelope]
    # a frame cut short is refused at the end
    with pytest.raises(tcmcare.FrameError):
        list(dec.feed(frame[:-3], final=True))
    assert dec.buffered == 0
    # FrameDecoder (records) takes final= too
    records = tcmcare.FrameDecoder()
    assert list(records.feed(frame[:-1], final=True)) == [tcmcare.decode(envelope)]


def test_add_frames_splits_with_the_package_decoder() -> None:
    frames = [bytes.fromhex(v["frame_hex"]) for v in OK_VECTORS]
    with SQLiteStore() as store:
        # idle delimiters skipped, a last frame without its delimiter stored too
        data = b"\x00" + frames[0] + b"\x00\x00" + b"".join(frames[1:-1]) + frames[-1][:-1]
        assert store.add_frames(data) == (len(frames), 0)
    with SQLiteStore() as store:
        # raises at the first bad frame; the records before it are stored, not those after
        with pytest.raises(tcmcare.CrcError):
            store.add_frames(frames[0] + _vector("vitals-corrupted-crc") + frames[1])
        assert len(store) == 1 and store.envelope(tcmcare.decode_frame(frames[0]).id) is not None


def test_cli_store_reports_every_bad_frame(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = [bytes.fromhex(v["frame_hex"]) for v in OK_VECTORS[:3]]
    path = tmp_path / "frames.bin"
    path.write_bytes(frames[0] + _vector("vitals-corrupted-crc") + b"\x00" + frames[1] + frames[2][:-1])
    assert main(["store", str(tmp_path / "r.db"), str(path)]) == 1
    out = capsys.readouterr()
    assert "3 new, 0 already stored, 1 rejected" in out.out
    assert "frame 2: CrcError" in out.err


# Hand-made framing in Python: a split or search on the 0x00 delimiter, a delimiter glued
# on, the CRC-32C polynomial or check value, a COBS or CRC function, a framing library.
_HAND_MADE = [
    re.compile(r"""\.(?:r?split|r?find|r?index|r?partition|count)\(\s*(?:b["']\\(?:x00|0)["']|0\s*[,)])"""),
    re.compile(r"""\+=?\s*b["']\\(?:x00|0)["']|b["']\\(?:x00|0)["']\s*\+"""),
    re.compile(r"0x82f63b78|0x1edc6f41|0xe3069283", re.IGNORECASE),
    re.compile(r"\bdef\s+\w*(?:cobs|crc)\w*\s*\(", re.IGNORECASE),
    re.compile(r"^\s*(?:import|from)\s+(?:crc32c|crcmod|crcengine|cobs)\b", re.MULTILINE),
]


def _sources() -> List[pathlib.Path]:
    files = sorted(PACKAGE.glob("*.py")) + sorted(PACKAGE.glob("*.pyi")) + sorted((ROOT / "demo").glob("*.py"))
    files += sorted((ROOT / "scripts").glob("*.py"))
    assert PACKAGE / "store.py" in files and ROOT / "demo" / "relay.py" in files
    return files


def test_no_hand_made_framing_outside_core() -> None:
    found = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        for pattern in _HAND_MADE:
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0).strip()}")
    assert found == [], "frames are split and made by core (tcmcare.PayloadDecoder, tcmcare.frame):\n" + "\n".join(
        found
    )


def test_the_guard_sees_hand_made_framing() -> None:
    samples = [
        'for f in data.split(b"\\x00"):',
        "end = self.buf.find(0)",
        "return cobs(payload) + b'\\x00'",
        "crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)",
        "def _cobs_encode(data: bytes) -> bytes:",
        "import crcmod",
    ]
    for s in samples:
        assert any(p.search(s) for p in _HAND_MADE), s
    assert not any(p.search('name.split("_")') for p in _HAND_MADE)
