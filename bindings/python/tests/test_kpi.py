"""coverage_report on a hand-built cohort whose rates are counted by hand."""

from __future__ import annotations

import datetime
import itertools
from typing import Iterator, List, Optional

import pytest

import tcmcare
from tcmcare import ConstitutionRecord, Correction, FollowUp, ResidentRegistration, SQLiteStore

UTC = datetime.timezone.utc
MID_2026 = datetime.datetime(2026, 6, 1, 12, tzinfo=UTC)
MID_2025 = datetime.datetime(2025, 6, 1, 12, tzinfo=UTC)

# 气虚 是 (items 2, 3, 4, 14 = 3), so guidance for qixu is allowed.
QIXU = [1, 3, 3, 3] + [1] * 9 + [3] + [1] * 19


class Cohort:
    def __init__(self) -> None:
        self.records: List[tcmcare.Record] = []
        self._seq: Iterator[int] = itertools.count(1)

    def _header(self, home: int, resident: int, when: object) -> dict:  # type: ignore[type-arg]
        return {"id": (1, 1, next(self._seq)), "resident": (home, resident), "time": when}

    def register(self, home: int, resident: int, born: datetime.date, conditions: List[str], status: str = "active") -> None:
        self.records.append(
            ResidentRegistration(
                **self._header(home, resident, MID_2025),
                birth_date=born,
                sex="male",
                conditions=conditions,
                status=status,
            )
        )

    def assess(self, home: int, resident: int, when: object, guided: bool = True) -> tcmcare.RecordId:
        r = ConstitutionRecord(
            **self._header(home, resident, when),
            answers=QIXU,
            assessor=5,
            guidance=[("qixu", {"diet"})] if guided else None,
        )
        self.records.append(r)
        return r.id

    def follow_up(self, home: int, resident: int, condition: str, when: object) -> None:
        self.records.append(
            FollowUp(**self._header(home, resident, when), condition=condition, guidance={"diet"}, clinician=6)
        )

    def void(self, target: tcmcare.RecordId) -> None:
        self.records.append(Correction(**self._header(1, 1, MID_2026), target=target, action="void"))


def cohort() -> Cohort:
    """Reporting year 2026, ages on 2026-12-31.

    Care home 1:
    - r1 born 1950-06-01 (76), hypertension + diabetes: guided assessment 2026 → elderly
      served; hypertension follow-up 2026 → HT served; no diabetes follow-up.
    - r2 born 1961-12-31 (65 on 2026-12-31): guided assessment at 2026-12-31T12:00Z
      (20:00 China time) → served.
    - r3 born 1962-01-01 (64): guided assessment, but not in the elderly denominator.
    - r4 born 1940-01-01 (86), stroke high-risk: stroke follow-up in 2025 only; guided
      assessment at 2026-12-31T17:00Z = 2027-01-01T01:00 China time → not 2026.
    Care home 2:
    - r1 born 1945-01-01 (81), hypertension: guided assessment voided; HT follow-up 2026.
    - r2 born 1950-01-01, discharged → in no denominator, although assessed.
    - r3 born 1955-01-01 (71), diabetes: diabetes follow-up 2026; assessment without
      guidance → not served.

    Elderly: home 1 r1, r2, r4 eligible, r1, r2 served → 2/3; home 2 r1, r3 eligible,
    none served → 0/2; total 2/5 = 40 % < 70 %.
    Hypertension: home 1 r1 1/1, home 2 r1 1/1 → 2/2 = 100 % ≥ 95 %.
    Diabetes: home 1 r1 0/1, home 2 r3 1/1 → 1/2 = 50 %.
    Stroke: home 1 r4 0/1; home 2 nobody eligible.
    """
    c = Cohort()
    c.register(1, 1, datetime.date(1950, 6, 1), ["hypertension", "diabetes"])
    c.assess(1, 1, MID_2026)
    c.follow_up(1, 1, "hypertension", MID_2026)
    c.register(1, 2, datetime.date(1961, 12, 31), [])
    c.assess(1, 2, datetime.datetime(2026, 12, 31, 12, tzinfo=UTC))
    c.register(1, 3, datetime.date(1962, 1, 1), [])
    c.assess(1, 3, MID_2026)
    c.register(1, 4, datetime.date(1940, 1, 1), ["stroke_high_risk"])
    c.follow_up(1, 4, "stroke_high_risk", MID_2025)
    c.assess(1, 4, datetime.datetime(2026, 12, 31, 17, tzinfo=UTC))
    c.register(2, 1, datetime.date(1945, 1, 1), ["hypertension"])
    c.void(c.assess(2, 1, MID_2026))
    c.follow_up(2, 1, "hypertension", MID_2026)
    c.register(2, 2, datetime.date(1950, 1, 1), [], status="discharged")
    c.assess(2, 2, MID_2026)
    c.register(2, 3, datetime.date(1955, 1, 1), ["diabetes"])
    c.follow_up(2, 3, "diabetes", MID_2026)
    c.assess(2, 3, MID_2026, guided=False)
    return c


def _check(report: tcmcare.CoverageReport) -> None:
    assert report.year == 2026
    assert sorted(report.care_homes) == [1, 2]
    h1, h2, total = report.care_homes[1], report.care_homes[2], report.total

    def counts(cov: tcmcare.CareHomeCoverage, name: str) -> tuple:  # type: ignore[type-arg]
        return (cov[name].served, cov[name].eligible)

    assert counts(h1, "elderly") == (2, 3)
    assert counts(h2, "elderly") == (0, 2)
    assert counts(total, "elderly") == (2, 5)
    assert counts(total, "hypertension") == (2, 2)
    assert counts(h1, "diabetes") == (0, 1)
    assert counts(total, "diabetes") == (1, 2)
    assert counts(h1, "stroke_high_risk") == (0, 1)
    assert counts(h2, "stroke_high_risk") == (0, 0)

    elderly = total["elderly"]
    assert elderly.rate_basis_points == 4000 and elderly.rate == pytest.approx(0.4)
    assert elderly.target_percent == 70 and elderly.meets_target is False
    assert h1["elderly"].rate_basis_points == 6667  # 2/3
    assert total["hypertension"].meets_target is True
    assert total["hypertension"].target_percent == 95
    assert total["stroke_high_risk"].target_percent == 90
    nobody = h2["stroke_high_risk"]
    assert nobody.rate is None and nobody.rate_basis_points is None and nobody.meets_target is None
    assert elderly.name_zh == "老年人中医药健康管理率"


def test_cohort_rates_from_records() -> None:
    _check(tcmcare.coverage_report(cohort().records, 2026))


def test_cohort_rates_from_envelopes_and_store(tmp_path: "object") -> None:
    records = cohort().records
    _check(tcmcare.coverage_report([tcmcare.encode(r) for r in records], 2026))
    with SQLiteStore(":memory:") as store:
        for r in reversed(records):  # order does not matter
            store.add(r)
        _check(tcmcare.coverage_report(store, 2026))


def test_unknown_time_is_reported_as_unplaced() -> None:
    c = cohort()
    c.assess(1, 4, tcmcare.UnknownTime(boot=2, uptime_s=60))
    report = tcmcare.coverage_report(c.records, 2026)
    assert report.unplaced == 1
    assert report.total["elderly"].served == 2
    assert "1 record(s) with an unknown time" in report.to_markdown()


def test_markdown() -> None:
    md = tcmcare.coverage_report(cohort().records, 2026).to_markdown()
    assert md.startswith("# TCM health management coverage 2026\n")
    assert "| **total** | 老年人中医药健康管理率 (elderly) | 2 / 5 | 40.00 % | 70 % | no |" in md
    assert "| 1 | 高血压患者中医健康管理率 (hypertension) | 1 / 1 | 100.00 % | 95 % | yes |" in md
    assert "| 2 | 脑卒中高危人群中医健康管理率 (stroke_high_risk) | 0 / 0 | — | 90 % | — |" in md


def test_pandas() -> None:
    pytest.importorskip("pandas")
    df = tcmcare.coverage_report(cohort().records, 2026).to_pandas()
    assert len(df) == 12  # (2 care homes + total) × 4 indicators
    total = df[df["care_home"].isna()].set_index("indicator")
    assert total.loc["elderly", "served"] == 2
    assert total.loc["elderly", "eligible"] == 5
    assert not total.loc["elderly", "meets_target"]


def test_invalid_year() -> None:
    with pytest.raises(tcmcare.RangeError):
        tcmcare.coverage_report([], 2100)
    empty = tcmcare.coverage_report([], 2026)
    assert empty.care_homes == {} and empty.total["elderly"].eligible == 0


def test_bad_items() -> None:
    with pytest.raises(TypeError):
        tcmcare.coverage_report([1, 2], 2026)  # type: ignore[list-item]
    with pytest.raises(tcmcare.TruncatedError):
        tcmcare.coverage_report([b"\x02\x05"], 2026)
    unknown: Optional[bytes] = None
    import json
    from conftest import MANIFEST

    for v in json.loads(MANIFEST.read_text())["vectors"]:
        if v["name"] == "unknown-kind-200":
            unknown = bytes.fromhex(v["envelope_hex"])
    assert unknown is not None
    # records of kinds this version does not know count for nothing
    assert tcmcare.coverage_report([unknown], 2026).care_homes == {}
