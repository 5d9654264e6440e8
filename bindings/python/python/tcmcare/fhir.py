"""Export of records as FHIR R4 (4.0.1) JSON.

- vital signs: one ``Observation`` per value, LOINC-coded with its UCUM unit from the
  core code tables (DOMAIN.md 4.1); blood pressure as the 85354-9 panel with systolic and
  diastolic components; values are :class:`decimal.Decimal` with the record's fixed-point
  precision (36.60 Cel, 68.450 kg); alert flags computed by core become
  ``interpretation`` H / L;
- constitution assessment: a ``QuestionnaireResponse`` (the 33 answers) and an
  ``Observation`` (nine scores and verdicts as components, primary constitution as value,
  ``derivedFrom`` the response);
- treatment: a ``Procedure``; herbal prescription: a ``MedicationRequest`` with a contained
  ``Medication`` listing the herbs; later decoction stages: a ``MedicationDispense``;
  chronic-disease follow-up: a ``Procedure``; resident registration: a ``Patient`` (and a
  ``Condition`` per chronic condition);
- a correction has no resource of its own: :func:`to_fhir_bundle` leaves superseded
  records out (the core rule).

Resources are identified deterministically from record ids, so exporting the same record
twice gives the same ids, and a ``transaction`` bundle (``PUT`` by id) is idempotent.
Use :func:`dumps` to write JSON that keeps the decimals exact.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from . import _native
from .types import RecordId, ResidentRef, UnknownTime

__all__ = ["to_fhir", "to_fhir_bundle", "dumps", "RECORD_ID_SYSTEM"]

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"

RECORD_ID_SYSTEM = "urn:tcmcare:record-id"
"""Identifier system of record ids (value ``device/epoch/seq``)."""
CARE_HOME_SYSTEM = "urn:tcmcare:care-home"
TECHNIQUE_SYSTEM = "urn:tcmcare:technique"
CONSTITUTION_SYSTEM = "urn:tcmcare:constitution"
VERDICT_SYSTEM = "urn:tcmcare:constitution-verdict"
ACUPOINT_SYSTEM = "urn:tcmcare:who-acupoint"
CONSTITUTION_QUESTIONNAIRE = "urn:tcmcare:questionnaire:elderly-tcm-constitution-33"
"""Canonical of the 33-item form (老年人中医药健康管理服务记录表)."""

_UUID_NAMESPACE = uuid.UUID("5e0b3b1c-6f5e-4d0a-9f57-2b0c3c8f7a01")

_Ref = Callable[[str, str], str]
Resource = Dict[str, Any]

# Alert flags (computed by core) → (observation field, interpretation code).
_ALERT_INTERPRETATION: Dict[str, Tuple[str, str]] = {
    "hypertension": ("bp", "H"),
    "hypotension": ("bp", "L"),
    "fever": ("temperature_centi_c", "H"),
    "low_spo2": ("spo2_percent", "L"),
    "tachycardia": ("pulse_per_min", "H"),
    "bradycardia": ("pulse_per_min", "L"),
    "high_glucose": ("glucose_umol_l", "H"),
    "low_glucose": ("glucose_umol_l", "L"),
}
_INTERPRETATION_DISPLAY = {"H": "High", "L": "Low"}


def _uuid_ref(rtype: str, rid: str) -> str:
    return "urn:uuid:" + str(uuid.uuid5(_UUID_NAMESPACE, f"{rtype}/{rid}"))


def _rest_ref(rtype: str, rid: str) -> str:
    return f"{rtype}/{rid}"


def _record_key(rid: RecordId) -> str:
    return f"tcm-{rid.device}-{rid.epoch}-{rid.seq}"


def _patient_id(resident: ResidentRef) -> str:
    return f"tcm-res-{resident.care_home}-{resident.number}"


def _identifier(rid: RecordId) -> Dict[str, str]:
    return {"system": RECORD_ID_SYSTEM, "value": str(rid)}


def _resident_identifier(resident: ResidentRef) -> Dict[str, str]:
    return {"system": f"{CARE_HOME_SYSTEM}:{resident.care_home}:resident", "value": str(resident.number)}


def _staff(resident: ResidentRef, staff: int) -> Dict[str, Any]:
    return {
        "identifier": {"system": f"{CARE_HOME_SYSTEM}:{resident.care_home}:staff", "value": str(staff)},
        "display": f"staff {staff}",
    }


def _subject(record: Any, ref: _Ref) -> Dict[str, Any]:
    return {
        "reference": ref("Patient", _patient_id(record.resident)),
        "identifier": _resident_identifier(record.resident),
    }


def _when(record: Any) -> Optional[str]:
    t = record.time
    return None if isinstance(t, UnknownTime) else str(t.isoformat())


def _unknown_time_note(record: Any) -> List[Dict[str, str]]:
    t = record.time
    if isinstance(t, UnknownTime):
        return [{"text": f"time unknown: device boot {t.boot}, {t.uptime_s} s after boot"}]
    return []


def _quantity(mantissa: int, exponent: int, ucum: str) -> Dict[str, Any]:
    return {"value": Decimal(mantissa).scaleb(exponent), "unit": ucum, "system": UCUM, "code": ucum}


def _interpretation(code: str) -> List[Dict[str, Any]]:
    return [{"coding": [{"system": INTERPRETATION, "code": code, "display": _INTERPRETATION_DISPLAY[code]}]}]


def _category(code: str, display: str) -> List[Dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code, "display": display}]}]


def _vitals(record: Any, ref: _Ref) -> List[Resource]:
    key = _record_key(record.id)
    quantities = {q[0]: q for q in _native.vital_quantities(record)}
    flags: Dict[str, str] = {}
    for alert in sorted(record.alerts):
        field, code = _ALERT_INTERPRETATION[alert]
        flags[field] = code
    effective = _when(record)

    def observation(suffix: str, coding: List[Dict[str, str]], text: str, field: str) -> Resource:
        obs: Resource = {
            "resourceType": "Observation",
            "id": f"{key}-{suffix}",
            "identifier": [_identifier(record.id)],
            "status": "final",
            "category": _category("laboratory", "Laboratory")
            if field == "glucose_umol_l"
            else _category("vital-signs", "Vital Signs"),
            "code": {"coding": coding, "text": text},
            "subject": _subject(record, ref),
            "device": {"display": f"measurement source: {record.source}"},
        }
        if effective is not None:
            obs["effectiveDateTime"] = effective
        if field in flags:
            obs["interpretation"] = _interpretation(flags[field])
        notes = _unknown_time_note(record)
        if notes:
            obs["note"] = notes
        return obs

    out: List[Resource] = []
    if "systolic_mmhg" in quantities and "diastolic_mmhg" in quantities:
        bp = observation(
            "bp",
            [{"system": LOINC, "code": _native.BP_PANEL_LOINC, "display": "Blood pressure panel with all children optional"}],
            "Blood pressure",
            "bp",
        )
        bp["component"] = [
            {
                "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
                "valueQuantity": _quantity(m, e, ucum),
            }
            for field, loinc, display, ucum, m, e in (quantities["systolic_mmhg"], quantities["diastolic_mmhg"])
        ]
        out.append(bp)
    for field, loinc, display, ucum, m, e in quantities.values():
        if field in ("systolic_mmhg", "diastolic_mmhg"):
            continue
        coding = [{"system": LOINC, "code": loinc, "display": display}]
        if field == "spo2_percent":
            # The FHIR vital-signs profile asks for 2708-6 next to the pulse-oximetry code.
            coding.append(
                {"system": LOINC, "code": _native.SPO2_FHIR_BASE_LOINC, "display": _native.SPO2_FHIR_BASE_DISPLAY}
            )
        obs = observation(loinc, coding, display, field)
        obs["valueQuantity"] = _quantity(m, e, ucum)
        if field == "temperature_centi_c" and record.temperature_site is not None:
            obs["bodySite"] = {"text": record.temperature_site}
        if field == "glucose_umol_l" and record.glucose_context is not None:
            obs["method"] = {"text": f"capillary finger stick, {record.glucose_context}"}
        out.append(obs)
    return out


def _constitution(record: Any, ref: _Ref) -> List[Resource]:
    key = _record_key(record.id)
    when = _when(record)
    a = record.assessment
    qr: Resource = {
        "resourceType": "QuestionnaireResponse",
        "id": f"{key}-qr",
        "identifier": _identifier(record.id),
        "questionnaire": CONSTITUTION_QUESTIONNAIRE,
        "status": "completed",
        "subject": _subject(record, ref),
        "author": _staff(record.resident, record.assessor),
        "item": [
            {"linkId": str(i), "answer": [{"valueInteger": answer}]}
            for i, answer in enumerate(record.answers, start=1)
        ],
    }
    if when is not None:
        qr["authored"] = when

    def concept(pinyin: str) -> Dict[str, str]:
        zh, en = _native.constitution_names(pinyin)
        return {"system": CONSTITUTION_SYSTEM, "code": pinyin, "display": f"{zh} {en}"}

    obs: Resource = {
        "resourceType": "Observation",
        "id": f"{key}-constitution",
        "identifier": [_identifier(record.id)],
        "status": "final",
        "category": _category("survey", "Survey"),
        "code": {
            "coding": [
                {
                    "system": CONSTITUTION_SYSTEM,
                    "code": "constitution-identification",
                    "display": "中医体质辨识 TCM constitution identification",
                }
            ],
            "text": "TCM constitution identification (33-item form)",
        },
        "subject": _subject(record, ref),
        "performer": [_staff(record.resident, record.assessor)],
        "derivedFrom": [{"reference": ref("QuestionnaireResponse", f"{key}-qr")}],
        "component": [
            {
                "code": {"coding": [concept(c)]},
                "valueInteger": a.scores[c],
                "interpretation": [{"coding": [{"system": VERDICT_SYSTEM, "code": a.verdicts[c]}]}],
            }
            for c in _native.CONSTITUTIONS
        ],
    }
    if when is not None:
        obs["effectiveDateTime"] = when
    if a.primary:
        obs["valueCodeableConcept"] = {"coding": [concept(c) for c in a.primary]}
    else:
        obs["dataAbsentReason"] = {"text": "no constitution determinable: re-collect the answers"}
    notes = _unknown_time_note(record)
    for g in record.guidance:
        areas = ", ".join(_native.guidance_category_names(c)[1] for c in sorted(g.categories))
        other = f" ({g.other})" if g.other else ""
        notes.append({"text": f"guidance for {g.constitution}: {areas}{other}"})
    if notes:
        obs["note"] = notes
    return [qr, obs]


def _technique_concept(name: str) -> Dict[str, Any]:
    zh, en = _native.technique_names(name)
    return {"coding": [{"system": TECHNIQUE_SYSTEM, "code": name, "display": en}], "text": f"{zh} {en}"}


_PROCEDURE_STATUS = {"completed": "completed", "stopped_early": "stopped", "refused": "not-done"}


def _treatment(record: Any, ref: _Ref) -> List[Resource]:
    proc: Resource = {
        "resourceType": "Procedure",
        "id": _record_key(record.id),
        "identifier": [_identifier(record.id)],
        "status": _PROCEDURE_STATUS[record.outcome],
        "code": _technique_concept(record.technique),
        "subject": _subject(record, ref),
        "performer": [{"actor": _staff(record.resident, record.practitioner)}],
        "outcome": {"text": record.outcome},
    }
    when = _when(record)
    if when is not None:
        proc["performedDateTime"] = when
    if record.outcome == "refused":
        proc["statusReason"] = {"text": "refused by the resident"}
    sites = []
    for code in record.acupoints:
        names = _native.acupoint_names(code)
        coding = {"system": ACUPOINT_SYSTEM, "code": code}
        if names is not None:
            coding["display"] = f"{names[0]} {names[1]}"
        sites.append({"coding": [coding], "text": code})
    if sites:
        proc["bodySite"] = sites
    if record.adverse_event != "none":
        proc["complication"] = [{"text": record.adverse_event}]
    notes = _unknown_time_note(record)
    if record.outcome != "refused":
        notes.append({"text": f"duration {record.duration_min} min"})
    if record.note:
        notes.append({"text": record.note})
    if notes:
        proc["note"] = notes
    return [proc]


_DISPENSE_STATUS = {
    "decocted": "preparation",
    "dispatched": "in-progress",
    "delivered": "in-progress",
    "received": "completed",
}


def _herbal(record: Any, ref: _Ref) -> List[Resource]:
    key = _record_key(record.id)
    when = _when(record)
    notes = _unknown_time_note(record)
    if record.note:
        notes.append({"text": record.note})
    if record.stage == "prescribed":
        req: Resource = {
            "resourceType": "MedicationRequest",
            "id": key,
            "identifier": [_identifier(record.id)],
            "status": "active",
            "intent": "order",
            "contained": [
                {
                    "resourceType": "Medication",
                    "id": "formula",
                    "code": {"text": "中药饮片处方 herbal prescription"},
                    "form": {"text": "汤剂 decoction"},
                    "ingredient": [
                        {
                            "itemCodeableConcept": {"text": h.name},
                            "strength": {
                                "numerator": {
                                    "value": Decimal(h.decigrams).scaleb(-1),
                                    "unit": "g",
                                    "system": UCUM,
                                    "code": "g",
                                },
                                "denominator": {"value": Decimal(1), "unit": "剂 dose"},
                            },
                        }
                        for h in record.herbs
                    ],
                }
            ],
            "medicationReference": {"reference": "#formula"},
            "subject": _subject(record, ref),
            "requester": _staff(record.resident, record.actor),
            "dispenseRequest": {"quantity": {"value": Decimal(record.doses), "unit": "剂 dose"}},
        }
        if when is not None:
            req["authoredOn"] = when
        if notes:
            req["note"] = notes
        return [req]
    if record.prescription is None:  # core: later stages always name their prescription
        raise ValueError(f"herbal event {record.id} names no prescription")
    disp: Resource = {
        "resourceType": "MedicationDispense",
        "id": key,
        "identifier": [_identifier(record.id)],
        "status": _DISPENSE_STATUS[record.stage],
        "medicationCodeableConcept": {"text": "中药汤剂 herbal decoction"},
        "subject": _subject(record, ref),
        "performer": [{"actor": _staff(record.resident, record.actor)}],
        "authorizingPrescription": [{"reference": ref("MedicationRequest", _record_key(record.prescription))}],
        "type": {"text": record.stage},
    }
    if when is not None:
        if record.stage == "decocted":
            disp["whenPrepared"] = when
        elif record.stage == "received":
            disp["whenHandedOver"] = when
    if notes:
        disp["note"] = notes
    return [disp]


def _follow_up(record: Any, ref: _Ref) -> List[Resource]:
    proc: Resource = {
        "resourceType": "Procedure",
        "id": _record_key(record.id),
        "identifier": [_identifier(record.id)],
        "status": "completed",
        "code": {"text": "慢病中医药健康管理随访 TCM chronic-disease follow-up"},
        "subject": _subject(record, ref),
        "performer": [{"actor": _staff(record.resident, record.clinician)}],
        "reasonCode": [{"text": record.condition}],
        "outcome": {"text": f"control: {record.control}"},
    }
    when = _when(record)
    if when is not None:
        proc["performedDateTime"] = when
    notes = _unknown_time_note(record)
    if record.guidance:
        areas = ", ".join(_native.guidance_category_names(c)[1] for c in sorted(record.guidance))
        notes.append({"text": f"guidance: {areas}"})
    if record.interventions:
        names = ", ".join(_native.technique_names(t)[1] for t in record.interventions)
        notes.append({"text": f"interventions: {names}"})
    if notes:
        proc["note"] = notes
    if record.next_visit is not None:
        proc["followUp"] = [{"text": f"next visit {record.next_visit.isoformat()}"}]
    return [proc]


def _resident(record: Any, ref: _Ref) -> List[Resource]:
    pid = _patient_id(record.resident)
    patient: Resource = {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [_resident_identifier(record.resident)],
        "active": record.status == "active",
        "gender": record.sex,
        "birthDate": record.birth_date.isoformat(),
        "managingOrganization": {
            "identifier": {"system": CARE_HOME_SYSTEM, "value": str(record.resident.care_home)}
        },
    }
    if record.status == "deceased":
        patient["deceasedBoolean"] = True
    out = [patient]
    for condition in sorted(record.conditions):
        out.append(
            {
                "resourceType": "Condition",
                "id": f"{pid}-{condition.replace('_', '-')}",
                "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
                "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "problem-list-item"}]}],
                "code": {"text": condition},
                "subject": {"reference": ref("Patient", pid), "identifier": _resident_identifier(record.resident)},
            }
        )
    return out


_BUILDERS: Dict[str, Callable[[Any, _Ref], List[Resource]]] = {
    "vitals": _vitals,
    "constitution": _constitution,
    "treatment": _treatment,
    "herbal": _herbal,
    "follow_up": _follow_up,
    "resident": _resident,
}


def _resources(record: "_native.Record", ref: _Ref) -> List[Resource]:
    if not isinstance(record, _native.Record):
        raise TypeError(f"expected a tcmcare record, got {type(record).__name__}")
    if record.kind == "correction":
        raise ValueError(
            "a correction has no FHIR resource of its own; to_fhir_bundle() applies it"
        )
    return _BUILDERS[record.kind](record, ref)


def _bundle(entries: List[Tuple[Resource, str]], bundle_type: str) -> Dict[str, Any]:
    out: List[Dict[str, Any]] = []
    for resource, full_url in entries:
        entry: Dict[str, Any] = {"fullUrl": full_url, "resource": resource}
        if bundle_type == "transaction":
            entry["request"] = {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
        out.append(entry)
    return {"resourceType": "Bundle", "type": bundle_type, "entry": out}


def to_fhir(record: "_native.Record") -> Dict[str, Any]:
    """The FHIR R4 resources of one record, as a ``collection`` Bundle (a dict; decimal
    values are :class:`decimal.Decimal`). Raises ``ValueError`` for a correction."""
    return _bundle(
        [(r, _uuid_ref(r["resourceType"], r["id"])) for r in _resources(record, _uuid_ref)],
        "collection",
    )


def to_fhir_bundle(
    records: Iterable["_native.Record"], *, bundle_type: str = "collection"
) -> Dict[str, Any]:
    """One Bundle of the resources of ``records`` (``bundle_type`` ``"collection"`` or
    ``"transaction"``). Corrections are applied: records superseded by a void or an
    amendment are left out (the core rule); where several records describe the same
    resource (a resident's registrations), the latest one is kept."""
    if bundle_type not in ("collection", "transaction"):
        raise ValueError(f"bundle_type must be 'collection' or 'transaction', not {bundle_type!r}")
    ref = _uuid_ref if bundle_type == "collection" else _rest_ref
    items = list(records)
    superseded = set(_native.superseded(items))
    latest: Dict[str, Tuple[Tuple[int, ...], Resource]] = {}
    order: List[str] = []
    for record in items:
        if record.kind == "correction" or record.id in superseded:
            continue
        t = record.time
        when = -1 if isinstance(t, UnknownTime) else int(t.timestamp())
        sort_key = (when, *record.id)
        for resource in _resources(record, ref):
            url = _uuid_ref(resource["resourceType"], resource["id"])
            if url not in latest:
                order.append(url)
            if url not in latest or latest[url][0] <= sort_key:
                latest[url] = (sort_key, resource)
    return _bundle([(latest[u][1], u) for u in order], bundle_type)


def _encode(obj: Any, indent: Optional[int], level: int) -> str:
    if isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError(f"cannot write {obj} in JSON")
        text = str(obj)
        return text if "E" not in text else format(obj, "f")
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{json.dumps(str(k), ensure_ascii=False)}: {_encode(v, indent, level + 1)}" for k, v in obj.items()]
        return _join("{", items, "}", indent, level)
    if isinstance(obj, (list, tuple)):
        if not obj:
            return "[]"
        return _join("[", [_encode(v, indent, level + 1) for v in obj], "]", indent, level)
    return json.dumps(obj, ensure_ascii=False)


def _join(open_: str, items: List[str], close: str, indent: Optional[int], level: int) -> str:
    if indent is None:
        return open_ + ", ".join(items) + close
    pad = " " * (indent * (level + 1))
    end = " " * (indent * level)
    return open_ + "\n" + ",\n".join(pad + i for i in items) + "\n" + end + close


def dumps(resource: Any, *, indent: Optional[int] = None) -> str:
    """JSON text of a FHIR dict, writing :class:`decimal.Decimal` values as exact JSON
    numbers (``36.60``, not ``36.6``)."""
    return _encode(resource, indent, 0)
