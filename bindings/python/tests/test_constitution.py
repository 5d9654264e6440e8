"""assess_constitution against the determination rules of DOMAIN.md 1.4 and 1.5."""

from __future__ import annotations

import collections
from decimal import Decimal
from typing import Any, Dict, Type

import pytest

import tcmcare
from tcmcare import assess_constitution

NAMES = ["pinghe", "qixu", "yangxu", "yinxu", "tanshi", "shire", "xueyu", "qiyu", "tebing"]


def answers(**items: int) -> list[int]:
    """All "没有" (1) except the given items (``i9=5``)."""
    a = [1] * 33
    for key, value in items.items():
        a[int(key[1:]) - 1] = value
    return a


def test_all_ones() -> None:
    # 平和 = item 1 + (6 − 1) × 4 = 21 ≥ 17 with every other type 4 ≤ 8 → 是; biased 4 → 否.
    a = assess_constitution([1] * 33)
    assert list(a.scores) == NAMES and list(a.verdicts) == NAMES
    assert a.scores == {"pinghe": 21, **{n: 4 for n in NAMES[1:]}}
    assert a.verdicts == {"pinghe": "yes", **{n: "no" for n in NAMES[1:]}}
    assert a.primary == ("pinghe",)
    assert a.identified == ("pinghe",)
    assert not a.needs_recollection
    assert set(a.guidance) == {"pinghe"}


def test_biased_bands() -> None:
    # 气虚 = items 2, 3, 4, 14: 3+3+3+2 = 11 → 是; 3+3+2+1 = 9 → 倾向是; 3+2+2+1 = 8 → 否.
    assert assess_constitution(answers(i2=3, i3=3, i4=3, i14=2)).verdicts["qixu"] == "yes"
    assert assess_constitution(answers(i2=3, i3=3, i4=2)).verdicts["qixu"] == "tendency"
    assert assess_constitution(answers(i2=3, i3=2, i4=2)).verdicts["qixu"] == "no"


def test_pinghe_basically_yes_and_primary() -> None:
    # 特禀 = items 15, 17, 18, 20: 3+3+2+1 = 9 (倾向是); 平和 = 1 + 5×4 = 21 with max other
    # 9 ≤ 10 but > 8 → 基本是. The biased tendency is primary (DOMAIN.md 1.5: guide by the
    # biased type; the two scores are on different scales).
    a = assess_constitution(answers(i15=3, i17=3, i18=2))
    assert a.verdicts["pinghe"] == "basically_yes"
    assert a.verdicts["tebing"] == "tendency"
    assert a.identified == ("pinghe", "tebing")
    assert a.primary == ("tebing",)
    g = a.guidance["tebing"]
    assert g.constitution == "tebing" and g.name_zh == "特禀质"
    assert [x.category for x in g.advice] == ["emotion", "diet", "daily_life", "exercise", "acupoint"]
    assert all(x.zh and x.en for x in g.advice)


def test_ties_contradictions_and_recollection() -> None:
    # 气虚 items 2,3,4,14 = 3 → 12; 痰湿 items 9,16,28,32 = 3 → 12: tied primary.
    tie = assess_constitution(answers(i2=3, i3=3, i4=3, i14=3, i9=3, i16=3, i28=3, i32=3))
    assert tie.primary == ("qixu", "tanshi")
    # 阳虚 11,12,13,29 = 3 → 12 是; 阴虚 10,21,26,31 = 3 → 12 是: the pair to re-check.
    both = assess_constitution(answers(i11=3, i12=3, i13=3, i29=3, i10=3, i21=3, i26=3, i31=3))
    assert both.contradictions == (("yinxu", "yangxu"),)
    # 平和 = 1 + (6−3)×4 = 13 < 17 → 否; 气虚 3+1+3+1 = 8, 气郁 3+1+1+1, 阳虚 1+1+3+1: all 否.
    none = assess_constitution(answers(i2=3, i4=3, i5=3, i13=3))
    assert none.scores["pinghe"] == 13
    assert none.needs_recollection
    assert none.primary == () and none.identified == () and none.guidance == {}


@pytest.mark.parametrize(
    ("bmi", "item9"),
    [(23.99, 1), (Decimal("23.995"), 2), (24, 2), (24.99, 2), (25, 3), (27.99, 4), (28, 5), (35.5, 5)],
)
def test_item9_from_bmi(bmi: Any, item9: int) -> None:
    # DOMAIN.md 1.2: BMI<24 → 1, 24≤BMI<25 → 2, 25≤BMI<26 → 3, 26≤BMI<28 → 4, ≥28 → 5;
    # the BMI is taken to two decimals, rounded half up (23.995 → 24.00).
    a = assess_constitution([1] * 33, bmi=bmi)
    assert a.answers[8] == item9
    assert a.scores["tanshi"] == 3 + item9


@pytest.mark.parametrize(
    ("waist", "item28"), [(79.9, 1), (80, 2), (85, 2), (85.5, 3), (90, 3), (90.1, 4), (105, 4), (105.1, 5)]
)
def test_item28_from_waist(waist: float, item28: int) -> None:
    # DOMAIN.md 1.2 with the gap rule <80 → 1, ≤85 → 2, ≤90 → 3, ≤105 → 4, >105 → 5.
    assert assess_constitution([1] * 33, waist_cm=waist).answers[27] == item28


def test_measurements_can_make_tanshi() -> None:
    # 痰湿 = items 9, 16, 28, 32: BMI 28 → 5 and waist 106 cm → 5: 5+1+5+1 = 12 → 是.
    a = assess_constitution([1] * 33, bmi=28.0, waist_cm=106)
    assert a.verdicts["tanshi"] == "yes"


def test_any_sequence_of_ints() -> None:
    expected = assess_constitution([1] * 33)
    assert assess_constitution(tuple([1] * 33)) == expected
    assert assess_constitution(collections.deque([1] * 33)) == expected
    np = pytest.importorskip("numpy")
    assert assess_constitution(np.ones(33, dtype=np.int64)) == expected


@pytest.mark.parametrize(
    ("kwargs", "error", "code"),
    [
        ({"answers": [1] * 32}, tcmcare.SchemaError, "wrong_type"),
        ({"answers": [1] * 34}, tcmcare.SchemaError, "wrong_type"),
        ({"answers": [1] * 32 + [0]}, tcmcare.RangeError, "answer_out_of_range"),
        ({"answers": [6] + [1] * 32}, tcmcare.RangeError, "answer_out_of_range"),
        ({"answers": [300] + [1] * 32}, tcmcare.RangeError, "answer_out_of_range"),
        ({"answers": [-1] + [1] * 32}, tcmcare.RangeError, "answer_out_of_range"),
        ({"answers": ["1"] * 33}, tcmcare.SchemaError, "wrong_type"),
        ({"answers": [1] * 33, "bmi": "24"}, tcmcare.SchemaError, "wrong_type"),
        ({"answers": [1] * 33, "bmi": True}, tcmcare.SchemaError, "wrong_type"),
        ({"answers": [1] * 33, "bmi": float("nan")}, tcmcare.RangeError, "out_of_range"),
        ({"answers": [1] * 33, "waist_cm": -3}, tcmcare.RangeError, "out_of_range"),
    ],
)
def test_bad_input(kwargs: Dict[str, Any], error: Type[tcmcare.ValidationError], code: str) -> None:
    with pytest.raises(error) as e:
        assess_constitution(**kwargs)
    assert e.value.code == code


@pytest.mark.parametrize("flag", [True, False])
def test_bool_answers_are_refused(flag: bool) -> None:
    # ``True == 1`` in Python, but a bool is not an answer on the 1..5 scale.
    a = [1] * 33
    a[0] = flag
    with pytest.raises(tcmcare.SchemaError) as e:
        assess_constitution(a)
    assert e.value.code == "wrong_type" and e.value.field == "answers"
    assert "item 1" in str(e.value)


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        # None is "not measured"; 0 is a measurement, and an implausible one.
        ({"bmi": 0}, "bmi_out_of_range", "bmi_centi"),
        ({"waist_cm": 0}, "waist_out_of_range", "waist_mm"),
        # The largest value the binding can carry used to be taken as BMI 655.35.
        ({"bmi": 655.35}, "bmi_out_of_range", "bmi_centi"),
        # Plausible BMI is 4.13..=300.00 (20 kg at 2.20 m .. 300 kg at 1.00 m, the weight
        # and height ranges of a vital-signs record); waist 40..=180 cm.
        ({"bmi": 4.12}, "bmi_out_of_range", "bmi_centi"),
        ({"bmi": 300.01}, "bmi_out_of_range", "bmi_centi"),
        ({"waist_cm": 39.9}, "waist_out_of_range", "waist_mm"),
        ({"waist_cm": 180.1}, "waist_out_of_range", "waist_mm"),
        ({"bmi": 24, "waist_cm": 0}, "waist_out_of_range", "waist_mm"),
    ],
)
def test_implausible_measurements(kwargs: Dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(tcmcare.RangeError) as e:
        assess_constitution([1] * 33, **kwargs)
    assert e.value.code == code and e.value.field == field


def test_measurement_range_ends_are_plausible() -> None:
    assert assess_constitution([1] * 33, bmi=4.13, waist_cm=40).answers[8::19] == (1, 1)
    assert assess_constitution([1] * 33, bmi=300, waist_cm=180).answers[8::19] == (5, 5)


def test_answer_errors_name_the_item() -> None:
    with pytest.raises(tcmcare.RangeError) as e:
        assess_constitution([1] * 32 + [9])
    assert e.value.field == "answers"
    assert "item 33" in str(e.value)


def test_assessment_value_semantics() -> None:
    a = assess_constitution([1] * 33)
    assert a == assess_constitution([1] * 33)
    assert a != assess_constitution([2] * 33)
    assert hash(a) == hash(assess_constitution([1] * 33))
    assert "pinghe=21/yes" in repr(a)
    with pytest.raises(AttributeError):
        a.scores = {}  # type: ignore[misc]
