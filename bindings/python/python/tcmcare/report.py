"""The policy KPI coverage report (DOMAIN.md 1.1; targets of the district work plan).

:func:`coverage_report` runs the Rust core's KPI rules over records or a store and returns
a :class:`CoverageReport`: per care home and in total, for each indicator, the residents
eligible, those served, the rate and whether the district target is met. The definitions
(who is eligible, what counts as served, corrections, the reporting year in UTC+8) are
documented in ``tcmcare_core::kpi`` and not repeated here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from . import _native

if TYPE_CHECKING:  # pragma: no cover
    import pandas as _pandas

    from .store import RecordStore as _RecordStore

__all__ = ["IndicatorCoverage", "CareHomeCoverage", "CoverageReport", "coverage_report"]

_INDICATORS: Dict[str, Tuple[str, str, int]] = {
    name: (zh, en, target) for name, zh, en, target in _native.indicators()
}


@dataclass(frozen=True)
class IndicatorCoverage:
    """One indicator of one care home (or of all together)."""

    indicator: str
    """``"elderly"``, ``"hypertension"``, ``"diabetes"`` or ``"stroke_high_risk"``."""
    name_zh: str
    name_en: str
    eligible: int
    """Residents in the denominator."""
    served: int
    """Residents of the denominator served in the year."""
    rate_basis_points: Optional[int]
    """``served / eligible`` in 1/100 of a percent, rounded half up; ``None`` if nobody is
    eligible."""
    target_percent: int
    """The district target."""
    meets_target: Optional[bool]
    """Whether the rate reaches the target exactly; ``None`` if nobody is eligible."""

    @property
    def rate(self) -> Optional[float]:
        """``served / eligible`` as a fraction (``None`` if nobody is eligible)."""
        return None if self.eligible == 0 else self.served / self.eligible


@dataclass(frozen=True)
class CareHomeCoverage:
    """The four indicators of a care home; ``care_home`` is ``None`` for the total."""

    care_home: Optional[int]
    indicators: Mapping[str, IndicatorCoverage]

    def __getitem__(self, indicator: str) -> IndicatorCoverage:
        return self.indicators[indicator]


@dataclass(frozen=True)
class CoverageReport:
    """The coverage report of a year."""

    year: int
    total: CareHomeCoverage
    care_homes: Mapping[int, CareHomeCoverage]
    unplaced: int
    """Records whose time is unknown, which no year could count."""

    def rows(self) -> List[Tuple[Optional[int], IndicatorCoverage]]:
        """``(care home or None for the total, indicator)`` in report order."""
        out: List[Tuple[Optional[int], IndicatorCoverage]] = []
        for home, cov in list(self.care_homes.items()) + [(None, self.total)]:
            out.extend((home, i) for i in cov.indicators.values())
        return out

    def to_markdown(self) -> str:
        """The report as a Markdown table."""
        lines = [
            f"# TCM health management coverage {self.year}",
            "",
            "| Care home | Indicator | Served / eligible | Rate | Target | Met |",
            "|---|---|---:|---:|---:|:---:|",
        ]
        for home, i in self.rows():
            rate = "—" if i.rate_basis_points is None else f"{i.rate_basis_points / 100:.2f} %"
            met = {None: "—", True: "yes", False: "no"}[i.meets_target]
            lines.append(
                f"| {'**total**' if home is None else home} | {i.name_zh} ({i.indicator}) "
                f"| {i.served} / {i.eligible} | {rate} | {i.target_percent} % | {met} |"
            )
        if self.unplaced:
            lines += ["", f"{self.unplaced} record(s) with an unknown time were not counted."]
        return "\n".join(lines) + "\n"

    def to_pandas(self) -> "_pandas.DataFrame":
        """The report as a DataFrame, one row per care home and indicator (``care_home``
        is ``None`` on the total rows). Needs pandas."""
        try:
            import pandas
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("CoverageReport.to_pandas() needs pandas: pip install pandas") from e
        return pandas.DataFrame(
            [
                {
                    "year": self.year,
                    "care_home": home,
                    "indicator": i.indicator,
                    "eligible": i.eligible,
                    "served": i.served,
                    "rate": i.rate,
                    "target_percent": i.target_percent,
                    "meets_target": i.meets_target,
                }
                for home, i in self.rows()
            ]
        )


def _coverage(home: Optional[int], rows: List[Tuple[str, int, int, Optional[int], Optional[bool]]]) -> CareHomeCoverage:
    indicators: Dict[str, IndicatorCoverage] = {}
    for name, eligible, served, bp, meets in rows:
        zh, en, target = _INDICATORS[name]
        indicators[name] = IndicatorCoverage(name, zh, en, eligible, served, bp, target, meets)
    return CareHomeCoverage(home, indicators)


def coverage_report(
    records: Union["_RecordStore", Iterable[Union["_native.Record", bytes]]], year: int
) -> CoverageReport:
    """The KPI coverage report of ``year`` over records, envelopes, or a store (anything
    with an ``envelopes()`` method)."""
    items: Any = records.envelopes() if hasattr(records, "envelopes") else records
    y, unplaced, total, homes = _native.coverage(items, year)
    return CoverageReport(
        year=y,
        total=_coverage(None, total),
        care_homes={home: _coverage(home, rows) for home, rows in homes},
        unplaced=unplaced,
    )
