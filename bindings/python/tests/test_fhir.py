"""FHIR R4 export, validated with the R4 (4.0.1) models of fhir.resources."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any, Dict, List

import pytest

import tcmcare
from tcmcare import fhir
from conftest import T0

resources = pytest.importorskip("fhir.resources")
from fhir.resources import get_fhir_model_class  # noqa: E402


def test_models_are_r4() -> None:
    assert resources.__fhir_version__ == "4.0.1"


def validate(resource: Dict[str, Any]) -> Any:
    """Parses a resource with its R4 model (raises on any schema violation)."""
    model = get_fhir_model_class(resource["resourceType"])
    return model.parse_obj(resource)


def entries(bundle: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"]]


def by_id(bundle: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {r["id"]: r for r in entries(bundle)}


@pytest.mark.parametrize(
    "name",
    [
        "resident-female-hypertension",
        "resident-male-diabetes-stroke",
        "vitals-bp-pulse-spo2-temp",
        "vitals-body-glucose-alerts",
        "vitals-clock-unknown-spo2",
        "constitution-qixu",
        "constitution-pinghe-other",
        "treatment-moxibustion",
        "treatment-baduanjin-refused",
        "herbal-prescribed",
        "herbal-delivered",
        "followup-hypertension",
        "followup-diabetes-no-next",
    ],
)
def test_every_record_validates(name: str, golden_records: Dict[str, tcmcare.Record]) -> None:
    bundle = tcmcare.to_fhir(golden_records[name])
    validate(bundle)
    for r in entries(bundle):
        validate(r)
    # the exact-decimal JSON text parses back to the same numbers
    text = fhir.dumps(bundle)
    assert json.loads(text, parse_float=Decimal) == json.loads(fhir.dumps(bundle, indent=2), parse_float=Decimal)


def test_vital_signs_observations(golden_records: Dict[str, tcmcare.Record]) -> None:
    # 152/94 mmHg, 68.45 kg, 1.642 m, waist 93.0 cm, fasting glucose 7.8 mmol/L, 37.5 °C
    # axilla; DOMAIN.md 4.1 codes and units.
    obs = by_id(tcmcare.to_fhir(golden_records["vitals-body-glucose-alerts"]))
    bp = obs["tcm-7-1-43-bp"]
    assert bp["code"]["coding"][0]["code"] == "85354-9"
    assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]["value"], c["valueQuantity"]["code"]) for c in bp["component"]] == [
        ("8480-6", Decimal(152), "mm[Hg]"),
        ("8462-4", Decimal(94), "mm[Hg]"),
    ]
    assert bp["interpretation"][0]["coding"][0]["code"] == "H"  # hypertension alert
    expected = {
        "8310-5": ("37.50", "Cel", "H"),
        "29463-7": ("68.450", "kg", None),
        "8302-2": ("164.2", "cm", None),
        "39156-5": ("25.39", "kg/m2", None),
        "8280-0": ("93.0", "cm", None),
        "14770-2": ("7.800", "mmol/L", "H"),
    }
    for loinc, (value, unit, flag) in expected.items():
        o = obs[f"tcm-7-1-43-{loinc}"]
        q = o["valueQuantity"]
        assert str(q["value"]) == value  # fixed-point precision kept, as a Decimal
        assert (q["unit"], q["code"], q["system"]) == (unit, unit, "http://unitsofmeasure.org")
        assert o["code"]["coding"][0] == {**o["code"]["coding"][0], "system": "http://loinc.org", "code": loinc}
        got = o.get("interpretation", [{"coding": [{"code": None}]}])[0]["coding"][0]["code"]
        assert got == flag
        assert o["effectiveDateTime"] == "2026-03-15T08:35:00+00:00"
    assert obs["tcm-7-1-43-8310-5"]["bodySite"] == {"text": "axilla"}
    assert obs["tcm-7-1-43-14770-2"]["category"][0]["coding"][0]["code"] == "laboratory"
    # the text keeps the digits
    text = fhir.dumps(obs["tcm-7-1-43-8310-5"])
    assert '"value": 37.50' in text


def test_spo2_codes_and_unknown_time(golden_records: Dict[str, tcmcare.Record]) -> None:
    obs = by_id(tcmcare.to_fhir(golden_records["vitals-clock-unknown-spo2"]))
    spo2 = obs["tcm-8-1-1-59408-5"]
    assert [c["code"] for c in spo2["code"]["coding"]] == ["59408-5", "2708-6"]
    assert spo2["valueQuantity"]["value"] == Decimal(91)
    assert spo2["interpretation"][0]["coding"][0]["code"] == "L"  # 91 % < 94 %
    # pulse 58 /min is above the bradycardia threshold (< 50): no interpretation
    assert "interpretation" not in obs["tcm-8-1-1-8867-4"]
    assert "effectiveDateTime" not in spo2
    assert "boot 3" in spo2["note"][0]["text"]


def test_constitution_resources(golden_records: Dict[str, tcmcare.Record]) -> None:
    res = by_id(tcmcare.to_fhir(golden_records["constitution-qixu"]))
    qr = res["tcm-2-1-10-qr"]
    assert qr["status"] == "completed"
    assert [i["linkId"] for i in qr["item"]] == [str(i) for i in range(1, 34)]
    # items 2, 3, 4, 14 answered 3, item 1 = 3, others 1
    answers = [i["answer"][0]["valueInteger"] for i in qr["item"]]
    assert answers[:4] == [3, 3, 3, 3] and answers[13] == 3 and answers[4] == 1
    obs = res["tcm-2-1-10-constitution"]
    components = {c["code"]["coding"][0]["code"]: c for c in obs["component"]}
    assert list(components) == ["pinghe", "qixu", "yangxu", "yinxu", "tanshi", "shire", "xueyu", "qiyu", "tebing"]
    assert components["qixu"]["valueInteger"] == 12
    assert components["qixu"]["interpretation"][0]["coding"][0]["code"] == "yes"
    assert obs["valueCodeableConcept"]["coding"][0]["code"] == "qixu"
    bundle = tcmcare.to_fhir(golden_records["constitution-qixu"])
    qr_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse")
    assert obs["derivedFrom"] == [{"reference": qr_url}]


def test_treatment_and_herbal(golden_records: Dict[str, tcmcare.Record]) -> None:
    moxa = by_id(tcmcare.to_fhir(golden_records["treatment-moxibustion"]))["tcm-2-1-12"]
    assert moxa["status"] == "completed"
    assert moxa["code"]["coding"][0]["code"] == "moxibustion"
    assert [s["coding"][0]["code"] for s in moxa["bodySite"]] == ["ST36", "CV4", "CV6"]
    assert moxa["bodySite"][0]["coding"][0]["display"] == "足三里 Zusanli"
    refused = by_id(tcmcare.to_fhir(golden_records["treatment-baduanjin-refused"]))["tcm-2-1-13"]
    assert refused["status"] == "not-done"
    assert refused["note"] == [{"text": "膝痛"}]

    # 7 doses of 黄芪 30 g, 党参 15 g, 白术 12 g, 茯苓 15 g, 炙甘草 6 g
    req = by_id(tcmcare.to_fhir(golden_records["herbal-prescribed"]))["tcm-2-1-14"]
    assert req["resourceType"] == "MedicationRequest" and req["intent"] == "order"
    med = req["contained"][0]
    assert req["medicationReference"] == {"reference": "#" + med["id"]}
    herbs = [(i["itemCodeableConcept"]["text"], str(i["strength"]["numerator"]["value"])) for i in med["ingredient"]]
    assert herbs == [("黄芪", "30.0"), ("党参", "15.0"), ("白术", "12.0"), ("茯苓", "15.0"), ("炙甘草", "6.0")]
    assert req["dispenseRequest"]["quantity"]["value"] == Decimal(7)

    disp = by_id(tcmcare.to_fhir(golden_records["herbal-delivered"]))["tcm-900-1-3"]
    assert disp["resourceType"] == "MedicationDispense"
    assert disp["status"] == "in-progress"


def test_bundle_applies_corrections(golden_records: Dict[str, tcmcare.Record]) -> None:
    records = list(golden_records.values())
    bundle = tcmcare.to_fhir_bundle(records)
    validate(bundle)
    ids = set(by_id(bundle))
    # 2/1/17 voids vitals 7/1/43; 2/1/19 amends treatment 2/1/12 (replacement 2/1/18 is not
    # among the vectors): both targets are left out.
    assert not any(i.startswith("tcm-7-1-43-") for i in ids)
    assert "tcm-2-1-12" not in ids
    assert "tcm-7-1-42-bp" in ids and "tcm-2-1-13" in ids
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(full_urls) == len(set(full_urls))
    # a transaction bundle PUTs by id and references by type/id
    tx = tcmcare.to_fhir_bundle(records, bundle_type="transaction")
    validate(tx)
    requests = {e["request"]["url"] for e in tx["entry"]}
    assert "MedicationRequest/tcm-2-1-14" in requests
    disp = by_id(tx)["tcm-900-1-3"]
    assert disp["authorizingPrescription"] == [{"reference": "MedicationRequest/tcm-2-1-14"}]
    assert all(e["request"]["method"] == "PUT" for e in tx["entry"])
    # same input, same output: ids are deterministic
    assert tcmcare.to_fhir_bundle(records) == bundle
    with pytest.raises(ValueError):
        tcmcare.to_fhir_bundle(records, bundle_type="batch")


def test_latest_registration_wins() -> None:
    header: Dict[str, Any] = {"resident": (3101, 9), "birth_date": datetime.date(1940, 1, 1), "sex": "male"}
    first = tcmcare.ResidentRegistration(id=(1, 1, 1), time=T0, **header)
    later = tcmcare.ResidentRegistration(
        id=(1, 1, 2), time=T0 + datetime.timedelta(days=1), status="deceased", **header
    )
    bundle = tcmcare.to_fhir_bundle([later, first])
    validate(bundle)
    (patient,) = entries(bundle)
    assert patient["active"] is False and patient["deceasedBoolean"] is True
    assert patient["gender"] == "male" and patient["birthDate"] == "1940-01-01"


def test_correction_alone_has_no_resource(golden_records: Dict[str, tcmcare.Record]) -> None:
    with pytest.raises(ValueError):
        tcmcare.to_fhir(golden_records["correction-void"])
    with pytest.raises(TypeError):
        tcmcare.to_fhir("record")  # type: ignore[arg-type]


def test_dumps_keeps_decimals() -> None:
    assert fhir.dumps({"a": [Decimal("36.60"), Decimal("1E+1"), 1, "x", None, True]}) == (
        '{"a": [36.60, 10, 1, "x", null, true]}'
    )
    with pytest.raises(ValueError):
        fhir.dumps(Decimal("NaN"))
