"""Record classes: keyword constructors, attributes, immutability, equality, dict view,
and validation errors that name the field."""

from __future__ import annotations

import datetime
import pickle
from typing import Any, Callable, Dict, Type

import pytest

import tcmcare
from tcmcare import (
    ConstitutionRecord,
    Correction,
    FollowUp,
    GuidanceGiven,
    HerbalEvent,
    HerbDose,
    RecordId,
    ResidentRef,
    ResidentRegistration,
    Treatment,
    UnknownTime,
    VitalSigns,
)
from conftest import T0

# The class without its signature, to call it wrongly on purpose.
ANY_VITALS: Any = VitalSigns

HEADER: Dict[str, Any] = {"id": (7, 1, 42), "resident": (3101, 1234), "time": T0}


def vitals(**fields: Any) -> VitalSigns:
    return VitalSigns(**{**HEADER, **fields})


# One valid record per kind, built with keyword arguments.
SAMPLES: Dict[str, Callable[[], tcmcare.Record]] = {
    "resident": lambda: ResidentRegistration(
        **HEADER,
        birth_date=datetime.date(1948, 5, 20),
        sex="female",
        conditions={"hypertension"},
        consent=["tcm_services", "data_sharing"],
    ),
    "vitals": lambda: vitals(
        systolic_mmhg=128,
        diastolic_mmhg=82,
        pulse_per_min=76,
        spo2_percent=97,
        temperature_centi_c=3660,
        temperature_site="forehead",
    ),
    "constitution": lambda: ConstitutionRecord(
        **HEADER,
        answers=[3] + [3, 3, 3] + [1] * 9 + [3] + [1] * 19,
        assessor=5,
        guidance=[GuidanceGiven("qixu", frozenset({"diet", "exercise"}))],
    ),
    "treatment": lambda: Treatment(
        **HEADER,
        technique="moxibustion",
        acupoints=["ST36", "CV4", "CV6"],
        duration_min=20,
        practitioner=9,
    ),
    "herbal": lambda: HerbalEvent(
        **HEADER,
        stage="prescribed",
        doses=7,
        herbs=[HerbDose("黄芪", 300), ("党参", 150)],
        actor=5,
        note="水煎服 日一剂",
    ),
    "follow_up": lambda: FollowUp(
        **HEADER,
        condition="hypertension",
        control="unsatisfactory",
        guidance={"emotion", "diet"},
        interventions=["acupoint_massage", "baduanjin"],
        next_visit=datetime.date(2026, 4, 15),
        clinician=5,
    ),
    "correction": lambda: Correction(
        **HEADER, target=(2, 1, 12), action="amend", replacement=RecordId(2, 1, 18)
    ),
}


@pytest.mark.parametrize("kind", SAMPLES)
def test_every_kind_round_trips(kind: str) -> None:
    record = SAMPLES[kind]()
    assert record.kind == kind
    assert isinstance(record, tcmcare.Record)
    assert record.id == RecordId(7, 1, 42) == (7, 1, 42)
    assert record.resident == ResidentRef(3101, 1234)
    assert record.time == T0
    # bytes, frames, dict, repr and pickle all give the same record back
    assert tcmcare.decode(tcmcare.encode(record)) == record
    assert tcmcare.decode_frame(tcmcare.encode_frame(record)) == record
    assert type(record).from_dict(record.to_dict()) == record
    rebuilt = eval(repr(record), {**vars(tcmcare), "datetime": datetime})  # noqa: S307
    assert rebuilt == record
    assert pickle.loads(pickle.dumps(record)) == record
    # keyword constructor from the attributes
    fields = {name: getattr(record, name) for name in tcmcare._native.record_fields(kind)}
    assert type(record)(**fields) == record
    assert hash(record) == hash(tcmcare.decode(tcmcare.encode(record)))


@pytest.mark.parametrize("kind", SAMPLES)
def test_records_are_immutable(kind: str) -> None:
    record = SAMPLES[kind]()
    with pytest.raises(AttributeError):
        record.id = RecordId(1, 1, 1)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        record.anything = 1  # type: ignore[attr-defined]


def test_equality_and_hash() -> None:
    a = vitals(pulse_per_min=70)
    b = vitals(pulse_per_min=70)
    c = vitals(pulse_per_min=71)
    assert a == b and not (a != b)
    assert a != c and not (a == c)
    assert len({a, b, c}) == 2
    assert a != "vitals"
    assert (a == 1) is False
    with pytest.raises(TypeError):
        _ = a < b  # type: ignore[operator]


def test_vitals_attributes_and_derived_fields() -> None:
    # 152/94 mmHg, 68.45 kg, 1.642 m, waist 93.0 cm, fasting glucose 7.8 mmol/L,
    # 37.5 °C axilla: hypertension (≥140 or ≥90), fever (≥37.3 °C), high fasting glucose
    # (≥7.0 mmol/L); BMI 68.45 / 1.642² = 25.388 → 2539 hundredths.
    v = vitals(
        systolic_mmhg=152,
        diastolic_mmhg=94,
        weight_g=68450,
        height_mm=1642,
        waist_mm=930,
        glucose_umol_l=7800,
        glucose_context="fasting",
        temperature_centi_c=3750,
        temperature_site="axilla",
        source="bluetooth",
    )
    assert v.alerts == {"hypertension", "fever", "high_glucose"}
    assert v.bmi_centi == 2539
    assert v.pulse_per_min is None
    assert v.source == "bluetooth"
    d = v.to_dict()
    assert d["alerts"] == ["hypertension", "fever", "high_glucose"]
    assert d["time"] == {"utc": 1773563400, "iso": "2026-03-15T08:30:00Z"}
    assert list(d)[:4] == ["kind", "id", "resident", "time"]
    # derived fields are ignored on input
    d["alerts"] = []
    d["bmi_centi"] = 1
    assert VitalSigns.from_dict(d) == v
    # without a temperature there is no site; the default source is the kiosk
    w = vitals(pulse_per_min=70)
    assert w.temperature_site is None and w.glucose_context is None
    assert w.source == "kiosk_sensor"
    assert w.alerts == frozenset()


def test_time_forms() -> None:
    unix = vitals(pulse_per_min=70, time=1773563400)
    assert unix.time == T0
    cst = datetime.timezone(datetime.timedelta(hours=8))
    assert vitals(pulse_per_min=70, time=T0.astimezone(cst)) == unix
    unknown = vitals(pulse_per_min=70, time=UnknownTime(boot=3, uptime_s=125))
    assert unknown.time == UnknownTime(3, 125)
    assert unknown.to_dict()["time"] == {"boot": 3, "uptime_s": 125}
    with pytest.raises(tcmcare.SchemaError) as e:
        vitals(pulse_per_min=70, time=datetime.datetime(2026, 3, 15, 8, 30))
    assert e.value.field == "time"
    # A clock that was never set (1970) is refused rather than recorded.
    with pytest.raises(tcmcare.RangeError) as r:
        vitals(pulse_per_min=70, time=0)
    assert r.value.field == "time.utc"


def test_constitution_record_computes_its_assessment() -> None:
    c = SAMPLES["constitution"]()
    assert isinstance(c, ConstitutionRecord)
    # items 2, 3, 4, 14 = 3 → 气虚 12 → yes; 平和 = 3 + 3 + 3 + 5 + 5 = 19 but 气虚 > 10 → no
    assert c.assessment.scores["qixu"] == 12
    assert c.assessment.verdicts["qixu"] == "yes"
    assert c.assessment.verdicts["pinghe"] == "no"
    assert c.guidance == (GuidanceGiven("qixu", frozenset({"diet", "exercise"}), ""),)
    assert c.to_dict()["primary"] == ["qixu"]


def test_other_kinds_attributes() -> None:
    h = SAMPLES["herbal"]()
    assert isinstance(h, HerbalEvent)
    assert h.herbs == (HerbDose("黄芪", 300), HerbDose("党参", 150))
    assert h.prescription is None and h.doses == 7
    f = SAMPLES["follow_up"]()
    assert isinstance(f, FollowUp)
    assert f.guidance == {"emotion", "diet"}
    assert f.interventions == ("acupoint_massage", "baduanjin")
    assert f.next_visit == datetime.date(2026, 4, 15)
    c = SAMPLES["correction"]()
    assert isinstance(c, Correction)
    assert (c.target, c.action, c.replacement, c.reason) == ((2, 1, 12), "amend", (2, 1, 18), "entry_error")
    t = SAMPLES["treatment"]()
    assert isinstance(t, Treatment)
    assert t.acupoints == ("ST36", "CV4", "CV6")
    assert (t.outcome, t.adverse_event, t.note) == ("completed", "none", "")
    r = SAMPLES["resident"]()
    assert isinstance(r, ResidentRegistration)
    assert (r.sex, r.status, r.birth_date) == ("female", "active", datetime.date(1948, 5, 20))
    assert r.conditions == {"hypertension"}


@pytest.mark.parametrize(
    ("build", "error", "field", "code"),
    [
        (lambda: vitals(systolic_mmhg=301, diastolic_mmhg=80), tcmcare.RangeError, "systolic_mmhg", "systolic_out_of_range"),
        (lambda: vitals(systolic_mmhg=120), tcmcare.MissingValueError, "diastolic_mmhg", "blood_pressure_incomplete"),
        (lambda: vitals(systolic_mmhg=120, diastolic_mmhg=120), tcmcare.InconsistentError, "diastolic_mmhg", "diastolic_not_below_systolic"),
        (lambda: vitals(), tcmcare.MissingValueError, "", "no_measurement"),
        (lambda: vitals(spo2_percent=101), tcmcare.RangeError, "spo2_percent", "spo2_out_of_range"),
        (lambda: vitals(pulse_per_min=70_000), tcmcare.RangeError, "pulse_per_min", "out_of_range"),
        (lambda: vitals(pulse_per_min=-5), tcmcare.RangeError, "pulse_per_min", "out_of_range"),
        (lambda: vitals(pulse_per_min=10**30), tcmcare.RangeError, "pulse_per_min", "out_of_range"),
        (lambda: vitals(pulse_per_min="70"), tcmcare.SchemaError, "pulse_per_min", "wrong_type"),
        (lambda: vitals(pulse_per_min=70.0), tcmcare.SchemaError, "pulse_per_min", "wrong_type"),
        (lambda: vitals(pulse_per_min=70, source="telepathy"), tcmcare.UnknownCodeError, "source", "unknown_name"),
        (lambda: vitals(pulse_per_min=70, temperature_site="axilla"), tcmcare.SchemaError, "temperature_site", "not_applicable"),
        (lambda: VitalSigns(id=(0, 1, 1), resident=(1, 1), time=T0, pulse_per_min=70), tcmcare.ReservedIdError, "id.device", "device_id_zero"),
        (lambda: ANY_VITALS(id=(1, 1), resident=(1, 1), time=T0, pulse_per_min=70), tcmcare.SchemaError, "id", "wrong_type"),
        (
            lambda: Treatment(**HEADER, technique="moxibustion", duration_min=20, practitioner=9, acupoints=["ST99"]),
            tcmcare.UnknownCodeError,
            "acupoints",
            "invalid_acupoint",
        ),
        (
            lambda: Treatment(**HEADER, technique="moxibustion", duration_min=20, practitioner=9),
            tcmcare.MissingValueError,
            "acupoints",
            "acupoints_required",
        ),
        (
            lambda: Treatment(**HEADER, technique="baduanjin", duration_min=20, practitioner=0),
            tcmcare.MissingValueError,
            "practitioner",
            "staff_missing",
        ),
        (
            lambda: Treatment(**HEADER, technique="tuina", duration_min=20, practitioner=9, note="x" * 65),
            tcmcare.TooLongError,
            "note",
            "text_too_long",
        ),
        (
            lambda: ConstitutionRecord(**HEADER, answers=[1] * 33, assessor=5, guidance=[("qixu", {"diet"})]),
            tcmcare.InconsistentError,
            "guidance",
            "guidance_for_unidentified",
        ),
        (
            lambda: ConstitutionRecord(**HEADER, answers=[1] * 32 + [6], assessor=5),
            tcmcare.RangeError,
            "answers",
            "answer_out_of_range",
        ),
        (
            lambda: HerbalEvent(**HEADER, stage="prescribed", doses=7, herbs=[("黄芪", 300), ("黄芪", 100)], actor=5),
            tcmcare.InconsistentError,
            "herbs",
            "duplicate_herb",
        ),
        (
            lambda: HerbalEvent(**HEADER, stage="delivered", actor=77),
            tcmcare.InconsistentError,
            "stage",
            "herbal_stage_mismatch",
        ),
        (
            lambda: FollowUp(**HEADER, condition="diabetes", clinician=6),
            tcmcare.MissingValueError,
            "interventions",
            "follow_up_empty",
        ),
        (
            lambda: FollowUp(**HEADER, condition="diabetes", clinician=6, guidance={"diet"}, next_visit="2026-03-15"),
            tcmcare.InconsistentError,
            "next_visit",
            "next_visit_not_after_visit",
        ),
        (
            lambda: ResidentRegistration(**HEADER, birth_date="1948-02-30", sex="female"),
            tcmcare.RangeError,
            "birth_date",
            "invalid_date",
        ),
        (
            lambda: ResidentRegistration(**HEADER, birth_date="2030-01-01", sex="female"),
            tcmcare.RangeError,
            "birth_date",
            "birth_date_implausible",
        ),
        (
            lambda: Correction(**HEADER, target=(7, 1, 42), action="void"),
            tcmcare.InconsistentError,
            "target",
            "correction_targets_itself",
        ),
        (
            lambda: Correction(**HEADER, target=(7, 1, 41), action="void", replacement=(7, 1, 40)),
            tcmcare.SchemaError,
            "replacement",
            "not_applicable",
        ),
    ],
)
def test_validation_errors_name_the_field(
    build: Callable[[], Any], error: Type[tcmcare.ValidationError], field: str, code: str
) -> None:
    with pytest.raises(error) as e:
        build()
    assert isinstance(e.value, tcmcare.ValidationError)
    assert isinstance(e.value, ValueError)
    assert e.value.field == field
    assert e.value.code == code


def test_from_dict_errors() -> None:
    d = vitals(pulse_per_min=70).to_dict()
    with pytest.raises(tcmcare.SchemaError) as e:
        VitalSigns.from_dict({**d, "pulse_per_minute": 70})
    assert (e.value.field, e.value.code) == ("pulse_per_minute", "unknown_field")
    with pytest.raises(tcmcare.SchemaError) as k:
        Treatment.from_dict(d)
    assert k.value.code == "wrong_kind"
    missing = dict(d)
    del missing["id"]
    with pytest.raises(tcmcare.SchemaError) as m:
        VitalSigns.from_dict(missing)
    assert (m.value.field, m.value.code) == ("id", "missing")
    with pytest.raises(tcmcare.SchemaError):
        ANY_VITALS.from_dict({1: 2})
    with pytest.raises(TypeError):
        tcmcare.Record()
    with pytest.raises(TypeError):
        ANY_VITALS(7, 1, 42)
    with pytest.raises(TypeError):
        tcmcare.encode("not a record")  # type: ignore[arg-type]
