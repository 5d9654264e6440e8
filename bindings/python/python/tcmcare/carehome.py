"""A care home's day at a glance: what a store holds, which vital signs raised alerts, the
residents' constitutions and the KPI coverage.

:func:`care_home_summary` reads any store with ``records()`` (the built-in
:class:`tcmcare.store.SQLiteStore`, which the reference C terminal writes too) and returns
a :class:`CareHomeSummary`; :meth:`CareHomeSummary.to_text` prints it. Records superseded
by a correction are left out of the alerts and the constitutions (the KPI rules of the
core apply corrections themselves). Nothing here decides a rule: alerts, scores and KPIs
come from the Rust core through the record classes.

``python -m tcmcare summary DB [--year Y]`` prints the summary of a database.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from . import _native
from .report import CoverageReport, coverage_report
from .types import RecordId, UnknownTime

__all__ = ["AlertRow", "CareHomeSummary", "care_home_summary", "ALERT_NAMES"]

# China Standard Time: the care homes' clock and the KPI reporting year (the core's offset).
_CST = datetime.timezone(datetime.timedelta(seconds=_native.CHINA_STANDARD_TIME_OFFSET_S))


def _decimal(value: int, places: int) -> str:
    """A fixed-point value as a short decimal: 1250 hundredths -> ``"12.5"``."""
    return f"{value / 10**places:g}"


def _alert_names() -> Dict[str, str]:
    """The labels of the core's alert flags (in its bit order), with its thresholds."""
    n = _native
    labels = {
        "hypertension": f"hypertension (≥ {n.HYPERTENSION_SYSTOLIC_MMHG}/{n.HYPERTENSION_DIASTOLIC_MMHG} mmHg)",
        "hypotension": f"hypotension (systolic < {n.HYPOTENSION_SYSTOLIC_BELOW_MMHG} mmHg)",
        "fever": f"fever (≥ {_decimal(n.FEVER_CENTI_C, 2)} °C)",
        "low_spo2": f"low SpO2 (< {n.LOW_SPO2_BELOW_PERCENT} %)",
        "tachycardia": f"tachycardia (> {n.TACHYCARDIA_ABOVE_PER_MIN} /min)",
        "bradycardia": f"bradycardia (< {n.BRADYCARDIA_BELOW_PER_MIN} /min)",
        "high_glucose": "high glucose",
        "low_glucose": f"low glucose (< {_decimal(n.HYPOGLYCEMIA_BELOW_UMOL_L, 3)} mmol/L)",
    }
    return {flag: labels.get(flag, flag.replace("_", " ")) for flag in n.ALERT_FLAGS}


ALERT_NAMES: Dict[str, str] = _alert_names()
"""Readable names of the vital-sign alert flags, generated from the core's flags and
thresholds (``tcmcare._native.ALERT_FLAGS``, ``HYPERTENSION_SYSTOLIC_MMHG``...)."""

_KIND_ORDER = ["resident", "vitals", "constitution", "treatment", "herbal", "follow_up", "correction"]


@dataclass(frozen=True)
class AlertRow:
    """A vital-signs record with at least one alert."""

    id: RecordId
    resident: int
    time: Optional[datetime.datetime]
    """UTC, ``None`` when the device had no clock."""
    values: str
    """The measured values, e.g. ``"152/95 mmHg, 78 /min"``."""
    alerts: Tuple[str, ...]


@dataclass(frozen=True)
class CareHomeSummary:
    """What :func:`care_home_summary` found."""

    year: int
    counts: Mapping[Tuple[int, str], int]
    """Records per (origin device, kind)."""
    alerts: List[AlertRow]
    constitutions: Mapping[str, List[int]]
    """Primary constitution (pinyin id) -> residents, from each resident's latest
    assessment; a tie of primary types counts for each."""
    assessed: int
    """Residents with a constitution assessment."""
    coverage: CoverageReport

    def devices(self) -> List[int]:
        """The devices that made records, in id order."""
        return sorted({d for d, _ in self.counts})

    def to_text(self, device_names: Optional[Mapping[int, str]] = None) -> str:
        """The summary as plain text tables (``device_names`` labels the devices)."""
        names = dict(device_names or {})
        devices = self.devices()
        kinds = [k for k in _KIND_ORDER if any(kk == k for _, kk in self.counts)]
        kinds += sorted({k for _, k in self.counts} - set(kinds))
        label = {d: names.get(d, f"device {d}") for d in devices}
        width = max([len("kind")] + [len(k) for k in kinds])
        colw = [max(len(label[d]), 5) for d in devices]
        lines = ["Records stored, by kind and device:"]
        lines.append(
            "  " + "kind".ljust(width) + "".join(f"  {label[d]:>{w}}" for d, w in zip(devices, colw)) + "  total"
        )
        for k in kinds:
            row = [self.counts.get((d, k), 0) for d in devices]
            lines.append(
                "  " + k.ljust(width) + "".join(f"  {n:>{w}}" for n, w in zip(row, colw)) + f"  {sum(row):>5}"
            )
        totals = [sum(n for (d, _), n in self.counts.items() if d == dev) for dev in devices]
        lines.append(
            "  "
            + "total".ljust(width)
            + "".join(f"  {n:>{w}}" for n, w in zip(totals, colw))
            + f"  {sum(totals):>5}"
        )

        lines += ["", f"Alerts ({len(self.alerts)} vital-sign records):"]
        for a in self.alerts:
            when = "--:--" if a.time is None else a.time.astimezone(_CST).strftime("%H:%M")
            src = label.get(a.id.device, f"device {a.id.device}")
            lines.append(
                f"  {when}  resident {a.resident}  {a.values:<34} {', '.join(ALERT_NAMES.get(x, x) for x in a.alerts)}"
                f"  [{src}]"
            )
        if not self.alerts:
            lines.append("  none")

        lines += ["", f"Constitutions ({self.assessed} residents assessed, primary type of the latest assessment):"]
        for pinyin in _native.CONSTITUTIONS:
            residents = self.constitutions.get(pinyin, [])
            if residents:
                zh, en = _native.constitution_names(pinyin)
                bar = "#" * len(residents)
                lines.append(
                    f"  {zh} {en:<22} {len(residents):>2}  {bar:<6} {', '.join(str(r) for r in residents)}"
                )

        lines += ["", f"KPI coverage {self.coverage.year} against the district targets:"]
        for home, i in self.coverage.rows():
            if home is None and len(self.coverage.care_homes) == 1:
                continue  # the total repeats the only care home
            rate = "—" if i.rate_basis_points is None else f"{i.rate_basis_points / 100:.2f} %"
            met = {None: "—", True: "met", False: "NOT met"}[i.meets_target]
            where = "all" if home is None else f"home {home}"
            lines.append(
                f"  {where:<8} {i.name_zh} ({i.indicator}): {i.served}/{i.eligible} = {rate}"
                f" (target {i.target_percent} %) {met}"
            )
        if self.coverage.unplaced:
            lines.append(f"  {self.coverage.unplaced} record(s) with an unknown time were not counted")
        return "\n".join(lines) + "\n"


def _vital_values(r: Any) -> str:
    parts = []
    if r.systolic_mmhg is not None and r.diastolic_mmhg is not None:
        parts.append(f"{r.systolic_mmhg}/{r.diastolic_mmhg} mmHg")
    if r.pulse_per_min is not None:
        parts.append(f"{r.pulse_per_min} /min")
    if r.spo2_percent is not None:
        parts.append(f"SpO2 {r.spo2_percent} %")
    if r.temperature_centi_c is not None:
        parts.append(f"{r.temperature_centi_c / 100:.2f} °C")
    return ", ".join(parts)


def _utc(when: object) -> Optional[datetime.datetime]:
    return None if isinstance(when, UnknownTime) or not isinstance(when, datetime.datetime) else when


def care_home_summary(store: Any, year: Optional[int] = None) -> CareHomeSummary:
    """Summarises the records of ``store`` (anything with ``records()``, or an iterable
    of records). ``year`` is the KPI reporting year (default: the year, in UTC+8, of the
    newest record with a known time, else this year)."""
    records: List[Any] = list(store.records() if hasattr(store, "records") else store)
    superseded = set(_native.superseded(records))
    counts: Dict[Tuple[int, str], int] = {}
    alerts: List[AlertRow] = []
    latest: Dict[Tuple[int, int], Tuple[Tuple[Any, ...], Tuple[str, ...]]] = {}
    newest: Optional[datetime.datetime] = None
    for r in records:
        counts[(r.id.device, r.kind)] = counts.get((r.id.device, r.kind), 0) + 1
        t = _utc(r.time)
        if t is not None and (newest is None or t > newest):
            newest = t
        if r.id in superseded:
            continue
        if r.kind == "vitals" and r.alerts:
            alerts.append(
                AlertRow(r.id, r.resident.number, t, _vital_values(r), tuple(sorted(r.alerts)))
            )
        elif r.kind == "constitution":
            key = (r.resident.care_home, r.resident.number)
            order = (t or datetime.datetime.min.replace(tzinfo=datetime.timezone.utc), tuple(r.id))
            if key not in latest or order > latest[key][0]:
                latest[key] = (order, tuple(r.assessment.primary))
    alerts.sort(key=lambda a: (a.time is None, a.time or datetime.datetime.min, tuple(a.id)))
    constitutions: Dict[str, List[int]] = {}
    for (_, number), (_, primary) in sorted(latest.items()):
        for c in primary:
            constitutions.setdefault(c, []).append(number)
    if year is None:
        year = (newest or datetime.datetime.now(datetime.timezone.utc)).astimezone(_CST).year
    return CareHomeSummary(
        year=year,
        counts=counts,
        alerts=alerts,
        constitutions=constitutions,
        assessed=len(latest),
        coverage=coverage_report(records, year),
    )
