"""The SQLite store and the command line."""

from __future__ import annotations

import json
import pathlib
import sqlite3
from typing import Any, Dict

import pytest

import tcmcare
from tcmcare.cli import main
from tcmcare.store import RecordStore, SQLiteStore
from conftest import OK_VECTORS, VECTORS


def _frames(*names: str) -> bytes:
    chosen = [v for v in VECTORS if v["name"] in names] if names else OK_VECTORS
    return b"".join(bytes.fromhex(v["frame_hex"]) for v in chosen)


def test_store_dedupes_and_keeps_unknown_kinds(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "records.db"
    unknown = next(v for v in VECTORS if v["name"] == "unknown-kind-200")
    with SQLiteStore(db) as store:
        assert isinstance(store, RecordStore)
        new, old = store.add_frames(_frames())
        assert (new, old) == (len(OK_VECTORS), 0)
        assert store.add_frames(_frames()) == (0, len(OK_VECTORS))  # resends are harmless
        assert store.add(bytes.fromhex(unknown["envelope_hex"])) is True
        assert len(store) == len(OK_VECTORS) + 1
        assert (7, 1, 44) in store and (9, 9, 9) not in store and "x" not in store
        assert store.envelope((7, 1, 44)) == bytes.fromhex(unknown["envelope_hex"])
        # records() yields the known kinds; envelopes() everything, in id order
        assert len(list(store.records())) == len(OK_VECTORS)
        envelopes = list(store.envelopes())
        assert len(envelopes) == len(OK_VECTORS) + 1
    # persisted, and the schema is what the docs say
    with sqlite3.connect(db) as raw:
        row = raw.execute(
            "SELECT kind, care_home, resident, time_utc FROM records WHERE device=8 AND epoch=1 AND seq=1"
        ).fetchone()
        assert row == (2, 3101, 1236, None)  # the vitals record with an unknown time
        assert raw.execute("SELECT value FROM meta WHERE key='schema'").fetchone() == ("2",)
    with SQLiteStore(db) as again:
        assert len(again) == len(OK_VECTORS) + 1


def test_store_rejects_bad_and_conflicting_records() -> None:
    rec = tcmcare.decode(bytes.fromhex(OK_VECTORS[2]["envelope_hex"]))
    assert isinstance(rec, tcmcare.VitalSigns)
    with SQLiteStore() as store:
        assert store.add(rec) is True
        assert store.add(tcmcare.encode(rec)) is False
        other = tcmcare.VitalSigns(id=rec.id, resident=rec.resident, time=rec.time, pulse_per_min=99)
        with pytest.raises(tcmcare.IdConflictError) as e:
            store.add(other)
        assert e.value.id == rec.id
        with pytest.raises(tcmcare.TruncatedError):
            store.add(tcmcare.encode(rec)[:-1])
        with pytest.raises(tcmcare.CrcError):
            store.add_frames(_frames("vitals-corrupted-crc"))
        assert len(store) == 1


def test_cli_decode(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.bin"
    good.write_bytes(_frames())
    assert main(["decode", str(good)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["kind"] for line in lines] == [v["kind_name"] for v in OK_VECTORS]
    assert lines[2]["systolic_mmhg"] == 128

    bad = tmp_path / "bad.bin"
    bad.write_bytes(_frames("resident-female-hypertension", "vitals-corrupted-crc", "unknown-kind-200") + b"\x05\x06")
    assert main(["decode", str(bad)]) == 1
    out = capsys.readouterr()
    decoded = [json.loads(line) for line in out.out.splitlines()]
    assert decoded[0]["kind"] == "resident"
    assert decoded[1] == {"kind": 200, "unknown_kind": True, "envelope_hex": decoded[1]["envelope_hex"]}
    assert "frame 2: unknown record kind 200" in out.err  # manifest order: unknown, then crc
    assert "frame 3: CrcError" in out.err
    assert "2 trailing byte(s)" in out.err


def test_cli_store_report_fhir(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = tmp_path / "frames.bin"
    frames.write_bytes(_frames())
    db = tmp_path / "r.db"
    assert main(["store", str(db), str(frames)]) == 0
    assert f"{len(OK_VECTORS)} new, 0 already stored, 0 rejected" in capsys.readouterr().out

    assert main(["report", str(db), "--year", "2026"]) == 0
    md = capsys.readouterr().out
    # residents 3101:1234 (born 1948, hypertension) and 3101:1235 (born 1940, diabetes +
    # stroke): both 65+. 1234 has a guided assessment (constitution-qixu), 1235 too
    # (constitution-pinghe-other); follow-ups: 1234 hypertension, 1235 diabetes.
    assert "| **total** | 老年人中医药健康管理率 (elderly) | 2 / 2 | 100.00 % | 70 % | yes |" in md
    assert "(hypertension) | 1 / 1 |" in md
    assert "(diabetes) | 1 / 1 |" in md
    assert "(stroke_high_risk) | 0 / 1 |" in md

    out = tmp_path / "bundle.json"
    assert main(["fhir", str(db), "-o", str(out)]) == 0
    bundle: Dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle" and bundle["entry"]
    fhir_resources = pytest.importorskip("fhir.resources")
    del fhir_resources
    from fhir.resources import get_fhir_model_class

    get_fhir_model_class("Bundle").parse_obj(bundle)
    # decimals kept exactly in the file
    assert '"value": 36.60' in out.read_text(encoding="utf-8")


def test_cli_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([])
    assert e.value.code == 2
    capsys.readouterr()
