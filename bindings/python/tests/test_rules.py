"""The rule table comes from the core: every rule's code, field, family (exception class)
and C status number, the alert labels from the core's thresholds, UTC+8 from the core."""

from __future__ import annotations

import datetime
from typing import List, Optional, Tuple, Type

import pytest

import tcmcare
from tcmcare import _native, carehome, cli, errors
from tcmcare.errors import (
    InconsistentError,
    MissingValueError,
    RangeError,
    ReservedIdError,
    SchemaError,
    TooLongError,
    UnknownCodeError,
    ValidationError,
)

# Every rule, pinned entry by entry: (code, JSON field or None when the error names it,
# the class it raises, its tcm_status number).
RULES: List[Tuple[str, Optional[str], Type[ValidationError], int]] = [
    ('device_id_zero', 'id.device', ReservedIdError, 300),
    ('epoch_zero', 'id.epoch', ReservedIdError, 301),
    ('seq_zero', 'id.seq', ReservedIdError, 302),
    ('care_home_zero', 'resident.care_home', ReservedIdError, 303),
    ('resident_number_zero', 'resident.number', ReservedIdError, 304),
    ('staff_missing', None, MissingValueError, 305),
    ('text_too_long', None, TooLongError, 306),
    ('text_empty', None, MissingValueError, 307),
    ('too_many', None, TooLongError, 308),
    ('birth_date_implausible', 'birth_date', RangeError, 309),
    ('no_measurement', '', MissingValueError, 310),
    ('blood_pressure_incomplete', 'diastolic_mmhg', MissingValueError, 311),
    ('systolic_out_of_range', 'systolic_mmhg', RangeError, 312),
    ('diastolic_out_of_range', 'diastolic_mmhg', RangeError, 313),
    ('diastolic_not_below_systolic', 'diastolic_mmhg', InconsistentError, 314),
    ('pulse_out_of_range', 'pulse_per_min', RangeError, 315),
    ('spo2_out_of_range', 'spo2_percent', RangeError, 316),
    ('temperature_out_of_range', 'temperature_centi_c', RangeError, 317),
    ('weight_out_of_range', 'weight_g', RangeError, 318),
    ('height_out_of_range', 'height_mm', RangeError, 319),
    ('waist_out_of_range', 'waist_mm', RangeError, 320),
    ('glucose_out_of_range', 'glucose_umol_l', RangeError, 321),
    ('answer_out_of_range', 'answers', RangeError, 322),
    ('guidance_for_unidentified', 'guidance', InconsistentError, 323),
    ('duplicate_guidance', 'guidance', InconsistentError, 324),
    ('guidance_empty', 'guidance', InconsistentError, 325),
    ('other_guidance_text', 'guidance', InconsistentError, 326),
    ('invalid_acupoint', 'acupoints', UnknownCodeError, 327),
    ('duplicate_acupoint', 'acupoints', InconsistentError, 328),
    ('acupoints_required', 'acupoints', MissingValueError, 329),
    ('acupoints_not_applicable', 'acupoints', InconsistentError, 330),
    ('duration_out_of_range', 'duration_min', RangeError, 331),
    ('no_herbs', 'herbs', MissingValueError, 332),
    ('duplicate_herb', 'herbs', InconsistentError, 333),
    ('herb_dose_out_of_range', 'herbs.decigrams', RangeError, 334),
    ('dose_count_out_of_range', 'doses', RangeError, 335),
    ('herbal_stage_mismatch', 'stage', InconsistentError, 336),
    ('follow_up_empty', 'interventions', MissingValueError, 337),
    ('duplicate_intervention', 'interventions', InconsistentError, 338),
    ('next_visit_not_after_visit', 'next_visit', InconsistentError, 339),
    ('correction_targets_itself', 'target', InconsistentError, 340),
    ('amendment_replacement_invalid', 'replacement', InconsistentError, 341),
    ('bmi_out_of_range', 'bmi_centi', RangeError, 342),
]

FAMILIES = {
    "schema": SchemaError,
    "reserved_id": ReservedIdError,
    "missing": MissingValueError,
    "too_long": TooLongError,
    "range": RangeError,
    "inconsistent": InconsistentError,
    "unknown_code": UnknownCodeError,
}


def test_every_rule_comes_from_the_core_with_its_class() -> None:
    table = tcmcare.validation_rules()
    assert len(table) == len(RULES)
    for (code, field, family, status, message), (want_code, want_field, want_class, want_status) in zip(
        table, RULES
    ):
        assert (code, field, status) == (want_code, want_field, want_status)
        assert FAMILIES[family] is want_class, code
        assert message and not message.endswith(".")
        assert _native.error_code_family(code) == family
        e = errors._validation_error(code, field or "note", f"{field}: {message}", family)
        assert type(e) is want_class
        assert (e.code, e.field) == (code, field or "note")


def test_families_are_the_cores() -> None:
    assert _native.rule_families() == [
        (1, "schema"),
        (2, "reserved_id"),
        (3, "missing"),
        (4, "too_long"),
        (5, "range"),
        (6, "inconsistent"),
        (7, "unknown_code"),
    ]
    for _, name in _native.rule_families():
        assert errors._FAMILY_CLASSES[name] is FAMILIES[name]
    assert set(errors._FAMILY_CLASSES) == set(FAMILIES)


@pytest.mark.parametrize(
    "code, cls",
    [
        # the JSON view's own errors (core) and the bindings' own codes
        ("missing", SchemaError),
        ("wrong_type", SchemaError),
        ("unknown_field", SchemaError),
        ("not_applicable", SchemaError),
        ("wrong_kind", SchemaError),
        ("out_of_range", RangeError),
        ("invalid_date", RangeError),
        ("invalid_time", RangeError),
        ("invalid_year", RangeError),
        ("unknown_name", UnknownCodeError),
    ],
)
def test_other_codes_have_their_family(code: str, cls: Type[ValidationError]) -> None:
    family = _native.error_code_family(code)
    assert family is not None
    assert FAMILIES[family] is cls


def test_a_code_of_no_family_raises_the_base_class() -> None:
    assert _native.error_code_family("no_such_rule") is None
    e = errors._validation_error("no_such_rule", "x", "x: no such rule")
    assert type(e) is ValidationError


def test_raised_errors_carry_the_core_family() -> None:
    t = datetime.datetime(2026, 3, 15, tzinfo=datetime.timezone.utc)
    with pytest.raises(RangeError) as r:
        tcmcare.VitalSigns(id=(7, 1, 1), resident=(3101, 1), time=t, systolic_mmhg=301, diastolic_mmhg=80)
    assert (r.value.code, r.value.field) == ("systolic_out_of_range", "systolic_mmhg")
    with pytest.raises(InconsistentError) as i:
        tcmcare.VitalSigns(id=(7, 1, 1), resident=(3101, 1), time=t, systolic_mmhg=90, diastolic_mmhg=95)
    assert i.value.code == "diastolic_not_below_systolic"
    with pytest.raises(MissingValueError) as m:
        tcmcare.VitalSigns(id=(7, 1, 1), resident=(3101, 1), time=t)
    assert (m.value.code, m.value.field) == ("no_measurement", "")



def test_alert_labels_are_generated_from_the_core_thresholds() -> None:
    assert list(carehome.ALERT_NAMES) == list(_native.ALERT_FLAGS)
    assert carehome.ALERT_NAMES == {
        "hypertension": "hypertension (≥ 140/90 mmHg)",
        "hypotension": "hypotension (systolic < 90 mmHg)",
        "fever": "fever (≥ 37.3 °C)",
        "low_spo2": "low SpO2 (< 94 %)",
        "tachycardia": "tachycardia (> 100 /min)",
        "bradycardia": "bradycardia (< 50 /min)",
        "high_glucose": "high glucose",
        "low_glucose": "low glucose (< 3.9 mmol/L)",
    }
    assert (_native.HYPERTENSION_SYSTOLIC_MMHG, _native.HYPERTENSION_DIASTOLIC_MMHG) == (140, 90)
    assert _native.HYPOTENSION_SYSTOLIC_BELOW_MMHG == 90
    assert _native.FEVER_CENTI_C == 3730
    assert _native.LOW_SPO2_BELOW_PERCENT == 94
    assert (_native.TACHYCARDIA_ABOVE_PER_MIN, _native.BRADYCARDIA_BELOW_PER_MIN) == (100, 50)
    assert (_native.FASTING_GLUCOSE_HIGH_UMOL_L, _native.RANDOM_GLUCOSE_HIGH_UMOL_L) == (7_000, 11_100)
    assert _native.HYPOGLYCEMIA_BELOW_UMOL_L == 3_900
    assert carehome._decimal(3730, 2) == "37.3"
    assert carehome._decimal(3900, 3) == "3.9"
    assert carehome._decimal(10_000, 2) == "100"


def test_china_standard_time_is_the_cores() -> None:
    assert _native.CHINA_STANDARD_TIME_OFFSET_S == 8 * 3600
    assert carehome._CST.utcoffset(None) == datetime.timedelta(hours=8)
    assert cli._CST.utcoffset(None) == datetime.timedelta(hours=8)
