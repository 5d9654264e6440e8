//! The JSON view of records: one field mapping shared by the Python bindings
//! (`to_dict` / `from_dict` / keyword constructors), the C API and JSON exports.
//!
//! Every record becomes one JSON object with stable snake_case keys that carry their
//! units (`systolic_mmhg`, `temperature_centi_c`, `weight_g`...):
//!
//! ```json
//! {"kind": "vitals",
//!  "id": {"device": 7, "epoch": 1, "seq": 42},
//!  "resident": {"care_home": 3101, "number": 1234},
//!  "time": {"utc": 1773563400, "iso": "2026-03-15T08:30:00Z"},
//!  "systolic_mmhg": 128, "diastolic_mmhg": 82, ...,
//!  "alerts": [], "bmi_centi": null}
//! ```
//!
//! - `time` is `{"utc": unix seconds}` or, for a device without a valid clock,
//!   `{"boot": n, "uptime_s": s}`;
//! - dates are `"YYYY-MM-DD"`, enum values and flags their snake_case names, record ids
//!   `{"device", "epoch", "seq"}` objects, acupoints WHO codes (`"ST36"`);
//! - optional values are `null` (and may be left out on input); texts are strings, `""`
//!   when empty;
//! - **derived** fields ([`derived_fields`]: `alerts`, `bmi_centi`, `scores`,
//!   `verdicts`, `identified`, `primary`, `time.iso`) are computed by the library on
//!   output and ignored on input, so the rules live in one place;
//! - any other key is rejected ([`JsonError::UnknownField`]), so a typo never passes
//!   silently.
//!
//! [`record_from_json`] validates the record it builds ([`Record::validate`]); its errors
//! name the field, and have a stable code and a family ([`JsonError::code`],
//! [`JsonError::family`]): the view's own ([`VIEW_ERRORS`]) or the broken rule's
//! ([`ValidationError::code`], [`ValidationError::field`], from the rule table
//! [`crate::codes::rule::RULES`]).
//!
//! [`vital_quantities`] lists the numeric export view of vital signs
//! ([`crate::codes::vital::quantities`]).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde_json::{Map, Number, Value};

use crate::codes::acupoint::Acupoint;
use crate::codes::rule::RuleFamily;
use crate::codes::technique::Technique;
use crate::codes::vital;
pub use crate::codes::vital::VitalQuantity;
use crate::constitution::{Constitution, GuidanceCategory, GuidanceSet};
use crate::ids::{
    CareHomeId, DeviceId, Epoch, RecordId, ResidentNumber, ResidentRef, Seq, Sex, StaffId,
};
use crate::record::{
    bounded_str, AdverseEvent, Body, ChronicCondition, ChronicConditions, ConditionControl,
    ConsentFlags, ConstitutionRecord, Correction, CorrectionAction, CorrectionReason, FollowUp,
    GlucoseContext, GuidanceGiven, Header, HerbDose, HerbalEvent, HerbalStage, Kind,
    MeasurementSource, Record, ResidencyStatus, ResidentRegistration, TemperatureSite, Treatment,
    TreatmentOutcome, ValidationError, VitalSigns, MAX_ACUPOINTS, MAX_HERBS, MAX_INTERVENTIONS,
};
use crate::time::{Date, Timestamp, UtcSeconds, SECONDS_PER_DAY};

/// Why a JSON value is not a record. Every variant names the field (a dotted path such as
/// `"id.device"` or `"herbs.name"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// A required field is absent or `null`.
    Missing {
        /// The field.
        field: &'static str,
    },
    /// A field has the wrong JSON type (or an array the wrong length).
    WrongType {
        /// The field.
        field: &'static str,
        /// What the field holds.
        expected: &'static str,
    },
    /// An integer that does not fit the field (negative, or too large for its type).
    OutOfRange {
        /// The field.
        field: &'static str,
    },
    /// A name (kind, enum value, flag, constitution) this version does not know, or a flag
    /// listed twice.
    UnknownName {
        /// The field.
        field: &'static str,
    },
    /// A date that is not `"YYYY-MM-DD"` or not a calendar date in 1900..=2099.
    InvalidDate {
        /// The field.
        field: &'static str,
    },
    /// A UTC time outside 2024-01-01..2100-01-01 (an unset clock).
    InvalidTime {
        /// The field.
        field: &'static str,
    },
    /// A value where the record has no place for it: a temperature site without a
    /// temperature, a glucose context without a glucose value, an amendment replacement
    /// on a void. Kept as an error because the value would not survive encoding.
    NotApplicable {
        /// The field.
        field: &'static str,
    },
    /// A key the view does not have: a typo, or a field of another kind.
    UnknownField {
        /// The key as given, with its parent path (`"id.devcie"`).
        field: String,
    },
    /// The record is well-formed but breaks a domain rule.
    Invalid(ValidationError),
}

impl JsonError {
    /// The field the error is about (for [`JsonError::Invalid`], see
    /// [`ValidationError::field`]).
    pub fn field(&self) -> &str {
        match self {
            JsonError::Missing { field }
            | JsonError::WrongType { field, .. }
            | JsonError::OutOfRange { field }
            | JsonError::UnknownName { field }
            | JsonError::InvalidDate { field }
            | JsonError::InvalidTime { field }
            | JsonError::NotApplicable { field } => field,
            JsonError::UnknownField { field } => field,
            JsonError::Invalid(e) => e.field(),
        }
    }

    /// A stable snake_case code of the error (`"missing"`, `"wrong_type"`..., see
    /// [`VIEW_ERRORS`], or the [`ValidationError::code`] of an [`JsonError::Invalid`]).
    pub fn code(&self) -> &'static str {
        match self.view_error() {
            Ok(i) => VIEW_ERRORS[i].0,
            Err(e) => e.code(),
        }
    }

    /// The family of the error ([`VIEW_ERRORS`], or the [`ValidationError::family`] of an
    /// [`JsonError::Invalid`]).
    pub fn family(&self) -> RuleFamily {
        match self.view_error() {
            Ok(i) => VIEW_ERRORS[i].1,
            Err(e) => e.family(),
        }
    }

    /// The index in [`VIEW_ERRORS`] of an error of the view itself, or the rule broken.
    fn view_error(&self) -> Result<usize, &ValidationError> {
        Ok(match self {
            JsonError::Missing { .. } => 0,
            JsonError::WrongType { .. } => 1,
            JsonError::OutOfRange { .. } => 2,
            JsonError::UnknownName { .. } => 3,
            JsonError::InvalidDate { .. } => 4,
            JsonError::InvalidTime { .. } => 5,
            JsonError::NotApplicable { .. } => 6,
            JsonError::UnknownField { .. } => 7,
            JsonError::Invalid(e) => return Err(e),
        })
    }
}

/// The codes and families of the view's own errors (those that are not a record rule of
/// [`crate::codes::rule::RULES`]), in [`JsonError`] variant order.
pub const VIEW_ERRORS: [(&str, RuleFamily); 8] = [
    ("missing", RuleFamily::Schema),
    ("wrong_type", RuleFamily::Schema),
    ("out_of_range", RuleFamily::Range),
    ("unknown_name", RuleFamily::UnknownCode),
    ("invalid_date", RuleFamily::Range),
    ("invalid_time", RuleFamily::Range),
    ("not_applicable", RuleFamily::Schema),
    ("unknown_field", RuleFamily::Schema),
];

/// The family of an error code of the view or of a record rule (`"wrong_type"`,
/// `"systolic_out_of_range"`); `None` for a code neither knows.
pub fn error_family(code: &str) -> Option<RuleFamily> {
    VIEW_ERRORS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, f)| *f)
        .or_else(|| crate::codes::rule::Rule::by_code(code).map(|r| r.family))
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Missing { field } => write!(f, "`{field}` is required"),
            JsonError::WrongType { field, expected } => {
                write!(f, "`{field}` must be {expected}")
            }
            JsonError::OutOfRange { field } => {
                write!(f, "`{field}` is outside the range of its type")
            }
            JsonError::UnknownName { field } => {
                write!(f, "`{field}`: unknown or repeated name")
            }
            JsonError::InvalidDate { field } => {
                write!(f, "`{field}` must be a date YYYY-MM-DD in 1900..=2099")
            }
            JsonError::InvalidTime { field } => write!(
                f,
                "`{field}`: UTC time outside 2024-01-01..2100-01-01 (clock not set?)"
            ),
            JsonError::NotApplicable { field } => {
                write!(f, "`{field}` given where the record has no place for it")
            }
            JsonError::UnknownField { field } => write!(f, "unknown field `{field}`"),
            JsonError::Invalid(e) => write!(f, "`{}`: {e}", e.field()),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for JsonError {}

#[cfg(feature = "defmt")]
impl defmt::Format for JsonError {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}", defmt::Display2Format(self));
    }
}

impl From<ValidationError> for JsonError {
    fn from(e: ValidationError) -> Self {
        JsonError::Invalid(e)
    }
}

// ---------------------------------------------------------------------------------------
// Names of values that have no snake_case name in their own module (techniques have
// theirs in `codes::technique`).

/// The stable snake_case name of a technique: [`Technique::name`].
pub fn technique_name(t: Technique) -> &'static str {
    t.name()
}

/// The technique named `name`: [`Technique::from_name`].
pub fn technique_from_name(name: &str) -> Option<Technique> {
    Technique::from_name(name)
}

/// Snake_case names of [`GuidanceCategory`] in index order.
const GUIDANCE_NAMES: [&str; 6] = [
    "emotion",
    "diet",
    "daily_life",
    "exercise",
    "acupoint",
    "other",
];

/// The stable snake_case name of a guidance area (`"emotion"`, `"daily_life"`).
pub fn guidance_category_name(c: GuidanceCategory) -> &'static str {
    GUIDANCE_NAMES.get(c.index()).copied().unwrap_or("unknown")
}

/// The guidance area named `name` (see [`guidance_category_name`]).
pub fn guidance_category_from_name(name: &str) -> Option<GuidanceCategory> {
    let i = GUIDANCE_NAMES.iter().position(|n| *n == name)?;
    GuidanceCategory::from_index(u8::try_from(i).ok()?)
}

/// The stable name of a sex: `"unknown"`, `"male"`, `"female"`.
pub fn sex_name(s: Sex) -> &'static str {
    match s {
        Sex::Unknown => "unknown",
        Sex::Male => "male",
        Sex::Female => "female",
    }
}

/// The names of [`ConsentFlags`] bits 0, 1, 2.
pub const CONSENT_NAMES: [&str; 3] = ["tcm_services", "data_sharing", "kiosk_use"];

/// The names of [`ChronicConditions`] bits 0, 1, 2 (equal to [`ChronicCondition::name`]).
pub const CONDITION_NAMES: [&str; 3] = ["hypertension", "diabetes", "stroke_high_risk"];

// ---------------------------------------------------------------------------------------
// Fields.

const RESIDENT_FIELDS: &[&str] = &[
    "kind",
    "id",
    "resident",
    "time",
    "birth_date",
    "sex",
    "conditions",
    "consent",
    "status",
];
const VITALS_FIELDS: &[&str] = &[
    "kind",
    "id",
    "resident",
    "time",
    "systolic_mmhg",
    "diastolic_mmhg",
    "pulse_per_min",
    "spo2_percent",
    "temperature_centi_c",
    "temperature_site",
    "weight_g",
    "height_mm",
    "waist_mm",
    "glucose_umol_l",
    "glucose_context",
    "source",
];
const CONSTITUTION_FIELDS: &[&str] = &[
    "kind", "id", "resident", "time", "answers", "assessor", "guidance",
];
const TREATMENT_FIELDS: &[&str] = &[
    "kind",
    "id",
    "resident",
    "time",
    "technique",
    "acupoints",
    "duration_min",
    "practitioner",
    "outcome",
    "adverse_event",
    "note",
];
const HERBAL_FIELDS: &[&str] = &[
    "kind",
    "id",
    "resident",
    "time",
    "stage",
    "prescription",
    "doses",
    "herbs",
    "actor",
    "note",
];
const FOLLOW_UP_FIELDS: &[&str] = &[
    "kind",
    "id",
    "resident",
    "time",
    "condition",
    "control",
    "guidance",
    "interventions",
    "next_visit",
    "clinician",
];
const CORRECTION_FIELDS: &[&str] = &[
    "kind",
    "id",
    "resident",
    "time",
    "target",
    "action",
    "replacement",
    "reason",
    "note",
];

/// The input fields of a kind in their natural order (`kind`, `id`, `resident`, `time`,
/// then the body's fields): the keys [`record_from_json`] reads and the keyword
/// arguments of the bindings' constructors.
pub fn field_names(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Resident => RESIDENT_FIELDS,
        Kind::Vitals => VITALS_FIELDS,
        Kind::Constitution => CONSTITUTION_FIELDS,
        Kind::Treatment => TREATMENT_FIELDS,
        Kind::Herbal => HERBAL_FIELDS,
        Kind::FollowUp => FOLLOW_UP_FIELDS,
        Kind::Correction => CORRECTION_FIELDS,
    }
}

/// The derived (read-only) top-level fields [`record_to_json`] adds for a kind; ignored
/// by [`record_from_json`].
pub fn derived_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Vitals => &["alerts", "bmi_centi"],
        Kind::Constitution => &["scores", "verdicts", "identified", "primary"],
        _ => &[],
    }
}

// ---------------------------------------------------------------------------------------
// Output.

fn num<T: Into<Number>>(v: T) -> Value {
    Value::Number(v.into())
}

fn opt_num<T: Into<Number>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, num)
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn names(list: impl Iterator<Item = &'static str>) -> Value {
    Value::Array(list.map(s).collect())
}

fn id_json(id: &RecordId) -> Value {
    let mut m = Map::new();
    m.insert("device".into(), num(id.device.0));
    m.insert("epoch".into(), num(id.epoch.0));
    m.insert("seq".into(), num(id.seq.0));
    Value::Object(m)
}

fn date_json(d: Date) -> Value {
    Value::String(d.to_string())
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a valid UTC time.
pub fn utc_iso(t: UtcSeconds) -> String {
    let secs = t.unix() % SECONDS_PER_DAY;
    alloc::format!(
        "{}T{:02}:{:02}:{:02}Z",
        t.utc_date(),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn time_json(t: &Timestamp) -> Value {
    let mut m = Map::new();
    match t {
        Timestamp::Utc(u) => {
            m.insert("utc".into(), num(u.unix()));
            m.insert("iso".into(), Value::String(utc_iso(*u)));
        }
        Timestamp::Unknown { boot, uptime_s } => {
            m.insert("boot".into(), num(*boot));
            m.insert("uptime_s".into(), num(*uptime_s));
        }
    }
    Value::Object(m)
}

fn flags(bits: u8, table: &'static [&'static str]) -> Value {
    names(
        table
            .iter()
            .enumerate()
            .filter(move |(i, _)| bits & (1 << i) != 0)
            .map(|(_, n)| *n),
    )
}

fn guidance_set_json(g: GuidanceSet) -> Value {
    names(g.iter().map(guidance_category_name))
}

/// The JSON view of a record (see the module documentation), derived fields included.
pub fn record_to_json(record: &Record) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), s(record.kind().name()));
    m.insert("id".into(), id_json(&record.header.id));
    let mut r = Map::new();
    r.insert("care_home".into(), num(record.header.resident.care_home.0));
    r.insert("number".into(), num(record.header.resident.number.0));
    m.insert("resident".into(), Value::Object(r));
    m.insert("time".into(), time_json(&record.header.time));
    match &record.body {
        Body::Resident(b) => {
            m.insert("birth_date".into(), date_json(b.birth_date));
            m.insert("sex".into(), s(sex_name(b.sex)));
            m.insert(
                "conditions".into(),
                flags(b.conditions.bits(), &CONDITION_NAMES),
            );
            m.insert("consent".into(), flags(b.consent.bits(), &CONSENT_NAMES));
            m.insert("status".into(), s(b.status.name()));
        }
        Body::Vitals(v) => {
            m.insert("systolic_mmhg".into(), opt_num(v.systolic_mmhg));
            m.insert("diastolic_mmhg".into(), opt_num(v.diastolic_mmhg));
            m.insert("pulse_per_min".into(), opt_num(v.pulse_per_min));
            m.insert("spo2_percent".into(), opt_num(v.spo2_percent));
            m.insert("temperature_centi_c".into(), opt_num(v.temperature_centi_c));
            m.insert(
                "temperature_site".into(),
                match v.temperature_centi_c {
                    Some(_) => s(v.temperature_site.name()),
                    None => Value::Null,
                },
            );
            m.insert("weight_g".into(), opt_num(v.weight_g));
            m.insert("height_mm".into(), opt_num(v.height_mm));
            m.insert("waist_mm".into(), opt_num(v.waist_mm));
            m.insert("glucose_umol_l".into(), opt_num(v.glucose_umol_l));
            m.insert(
                "glucose_context".into(),
                match v.glucose_umol_l {
                    Some(_) => s(v.glucose_context.name()),
                    None => Value::Null,
                },
            );
            m.insert("source".into(), s(v.source.name()));
            m.insert("alerts".into(), names(v.alerts().names()));
            m.insert("bmi_centi".into(), opt_num(v.bmi_centi()));
        }
        Body::Constitution(c) => {
            m.insert(
                "answers".into(),
                Value::Array(c.answers.iter().map(|a| num(*a)).collect()),
            );
            m.insert("assessor".into(), num(c.assessor.0));
            let guidance = c
                .guidance
                .iter()
                .map(|g| {
                    let mut e = Map::new();
                    e.insert("constitution".into(), s(g.constitution.pinyin()));
                    e.insert("categories".into(), guidance_set_json(g.categories));
                    e.insert("other".into(), s(&g.other));
                    Value::Object(e)
                })
                .collect();
            m.insert("guidance".into(), Value::Array(guidance));
            // A decoded or validated record always assesses; a hand-built invalid one
            // gets no derived fields rather than a panic.
            if let Ok(a) = c.assessment() {
                let mut scores = Map::new();
                let mut verdicts = Map::new();
                for k in Constitution::ALL {
                    scores.insert(k.pinyin().into(), num(a.score(k)));
                    verdicts.insert(k.pinyin().into(), s(a.verdict(k).as_str()));
                }
                m.insert("scores".into(), Value::Object(scores));
                m.insert("verdicts".into(), Value::Object(verdicts));
                m.insert(
                    "identified".into(),
                    names(a.identified().iter().map(Constitution::pinyin)),
                );
                m.insert(
                    "primary".into(),
                    names(a.primary().iter().map(Constitution::pinyin)),
                );
            }
        }
        Body::Treatment(t) => {
            m.insert("technique".into(), s(technique_name(t.technique)));
            m.insert(
                "acupoints".into(),
                Value::Array(
                    t.acupoints
                        .iter()
                        .map(|a| Value::String(a.to_string()))
                        .collect(),
                ),
            );
            m.insert("duration_min".into(), num(t.duration_min));
            m.insert("practitioner".into(), num(t.practitioner.0));
            m.insert("outcome".into(), s(t.outcome.name()));
            m.insert("adverse_event".into(), s(t.adverse_event.name()));
            m.insert("note".into(), s(&t.note));
        }
        Body::Herbal(h) => {
            m.insert("stage".into(), s(h.stage.name()));
            m.insert(
                "prescription".into(),
                h.prescription.as_ref().map_or(Value::Null, id_json),
            );
            m.insert("doses".into(), num(h.doses));
            let herbs = h
                .herbs
                .iter()
                .map(|d| {
                    let mut e = Map::new();
                    e.insert("name".into(), s(&d.name));
                    e.insert("decigrams".into(), num(d.decigrams));
                    Value::Object(e)
                })
                .collect();
            m.insert("herbs".into(), Value::Array(herbs));
            m.insert("actor".into(), num(h.actor.0));
            m.insert("note".into(), s(&h.note));
        }
        Body::FollowUp(f) => {
            m.insert("condition".into(), s(f.condition.name()));
            m.insert("control".into(), s(f.control.name()));
            m.insert("guidance".into(), guidance_set_json(f.guidance));
            m.insert(
                "interventions".into(),
                names(f.interventions.iter().map(|t| technique_name(*t))),
            );
            m.insert(
                "next_visit".into(),
                f.next_visit.map_or(Value::Null, date_json),
            );
            m.insert("clinician".into(), num(f.clinician.0));
        }
        Body::Correction(c) => {
            m.insert("target".into(), id_json(&c.target));
            let (action, replacement) = match &c.action {
                CorrectionAction::Void => ("void", Value::Null),
                CorrectionAction::Amend { replacement } => ("amend", id_json(replacement)),
            };
            m.insert("action".into(), s(action));
            m.insert("replacement".into(), replacement);
            m.insert("reason".into(), s(c.reason.name()));
            m.insert("note".into(), s(&c.note));
        }
    }
    Value::Object(m)
}

// ---------------------------------------------------------------------------------------
// Input.

/// An object being read: checks for unknown keys against the allowed and ignored ones.
struct Obj<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    fn new(
        v: &'a Value,
        field: &'static str,
        prefix: &str,
        allowed: &[&str],
        ignored: &[&str],
    ) -> Result<Self, JsonError> {
        let map = v.as_object().ok_or(JsonError::WrongType {
            field,
            expected: "an object",
        })?;
        if let Some(k) = map
            .keys()
            .find(|k| !allowed.contains(&k.as_str()) && !ignored.contains(&k.as_str()))
        {
            let field = if prefix.is_empty() {
                k.clone()
            } else {
                alloc::format!("{prefix}.{k}")
            };
            return Err(JsonError::UnknownField { field });
        }
        Ok(Obj { map })
    }

    /// The value of `key`, `None` when absent or null.
    fn opt(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn req(&self, key: &str, field: &'static str) -> Result<&'a Value, JsonError> {
        self.opt(key).ok_or(JsonError::Missing { field })
    }
}

fn as_uint<T: TryFrom<u64>>(v: &Value, field: &'static str) -> Result<T, JsonError> {
    match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                T::try_from(u).map_err(|_| JsonError::OutOfRange { field })
            } else if n.as_i64().is_some() {
                Err(JsonError::OutOfRange { field })
            } else {
                Err(JsonError::WrongType {
                    field,
                    expected: "an integer",
                })
            }
        }
        _ => Err(JsonError::WrongType {
            field,
            expected: "an integer",
        }),
    }
}

fn as_int<T: TryFrom<i64>>(v: &Value, field: &'static str) -> Result<T, JsonError> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                T::try_from(i).map_err(|_| JsonError::OutOfRange { field })
            } else if n.as_u64().is_some() {
                Err(JsonError::OutOfRange { field })
            } else {
                Err(JsonError::WrongType {
                    field,
                    expected: "an integer",
                })
            }
        }
        _ => Err(JsonError::WrongType {
            field,
            expected: "an integer",
        }),
    }
}

fn as_str<'a>(v: &'a Value, field: &'static str) -> Result<&'a str, JsonError> {
    v.as_str().ok_or(JsonError::WrongType {
        field,
        expected: "a string",
    })
}

fn as_array<'a>(v: &'a Value, field: &'static str) -> Result<&'a [Value], JsonError> {
    v.as_array().map(Vec::as_slice).ok_or(JsonError::WrongType {
        field,
        expected: "an array",
    })
}

/// A name looked up with `lookup`.
fn named<T>(
    v: &Value,
    field: &'static str,
    lookup: impl Fn(&str) -> Option<T>,
) -> Result<T, JsonError> {
    lookup(as_str(v, field)?).ok_or(JsonError::UnknownName { field })
}

/// The value among wire values 0.. of `from_u8` whose `name` is `name`.
fn by_name<T: Copy>(
    name: &str,
    from_u8: fn(u8) -> Option<T>,
    name_of: fn(T) -> &'static str,
) -> Option<T> {
    (0..=u8::MAX)
        .map_while(from_u8)
        .find(|t| name_of(*t) == name)
}

/// An optional value with a default when absent or null.
fn opt_named<T>(
    o: &Obj<'_>,
    key: &str,
    field: &'static str,
    default: T,
    lookup: impl Fn(&str) -> Option<T>,
) -> Result<T, JsonError> {
    match o.opt(key) {
        None => Ok(default),
        Some(v) => named(v, field, lookup),
    }
}

/// A set of flags given as an array of distinct names from `table`.
fn flag_bits(v: &Value, field: &'static str, table: &[&str]) -> Result<u8, JsonError> {
    let mut bits = 0u8;
    for item in as_array(v, field)? {
        let name = as_str(item, field)?;
        let i = table
            .iter()
            .position(|n| *n == name)
            .ok_or(JsonError::UnknownName { field })?;
        let bit = 1u8.checked_shl(i as u32).unwrap_or(0);
        if bits & bit != 0 {
            return Err(JsonError::UnknownName { field });
        }
        bits |= bit;
    }
    Ok(bits)
}

fn guidance_set(v: &Value, field: &'static str) -> Result<GuidanceSet, JsonError> {
    let mut set = GuidanceSet::empty();
    for item in as_array(v, field)? {
        let c = named(item, field, guidance_category_from_name)?;
        if set.contains(c) {
            return Err(JsonError::UnknownName { field });
        }
        set.insert(c);
    }
    Ok(set)
}

/// Parses `"YYYY-MM-DD"` (exactly that form).
pub fn parse_date(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let digits = |r: core::ops::Range<usize>| -> Option<u16> {
        let part = b.get(r)?;
        part.iter().try_fold(0u16, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u16::from(c - b'0'))
        })
    };
    let year = digits(0..4)?;
    let month = u8::try_from(digits(5..7)?).ok()?;
    let day = u8::try_from(digits(8..10)?).ok()?;
    Date::new(year, month, day).ok()
}

fn date(v: &Value, field: &'static str) -> Result<Date, JsonError> {
    parse_date(as_str(v, field)?).ok_or(JsonError::InvalidDate { field })
}

fn record_id(
    v: &Value,
    field: &'static str,
    prefix: &str,
    names: [&'static str; 3],
) -> Result<RecordId, JsonError> {
    let o = Obj::new(v, field, prefix, &["device", "epoch", "seq"], &[])?;
    Ok(RecordId {
        device: DeviceId(as_uint(o.req("device", names[0])?, names[0])?),
        epoch: Epoch(as_uint(o.req("epoch", names[1])?, names[1])?),
        seq: Seq(as_uint(o.req("seq", names[2])?, names[2])?),
    })
}

fn header(o: &Obj<'_>) -> Result<Header, JsonError> {
    let id = record_id(
        o.req("id", "id")?,
        "id",
        "id",
        ["id.device", "id.epoch", "id.seq"],
    )?;
    let r = Obj::new(
        o.req("resident", "resident")?,
        "resident",
        "resident",
        &["care_home", "number"],
        &[],
    )?;
    let resident = ResidentRef {
        care_home: CareHomeId(as_uint(
            r.req("care_home", "resident.care_home")?,
            "resident.care_home",
        )?),
        number: ResidentNumber(as_uint(
            r.req("number", "resident.number")?,
            "resident.number",
        )?),
    };
    let t = Obj::new(
        o.req("time", "time")?,
        "time",
        "time",
        &["utc", "boot", "uptime_s"],
        &["iso"],
    )?;
    let time = match (t.opt("utc"), t.opt("boot"), t.opt("uptime_s")) {
        (Some(u), None, None) => Timestamp::Utc(
            UtcSeconds::new(as_uint(u, "time.utc")?)
                .map_err(|_| JsonError::InvalidTime { field: "time.utc" })?,
        ),
        (None, Some(b), Some(u)) => Timestamp::Unknown {
            boot: as_uint(b, "time.boot")?,
            uptime_s: as_uint(u, "time.uptime_s")?,
        },
        _ => {
            return Err(JsonError::WrongType {
                field: "time",
                expected: "{\"utc\": seconds} or {\"boot\": n, \"uptime_s\": s}",
            })
        }
    };
    Ok(Header { id, resident, time })
}

fn text<const N: usize>(
    o: &Obj<'_>,
    key: &str,
    field: &'static str,
) -> Result<heapless::String<N>, JsonError> {
    match o.opt(key) {
        None => Ok(heapless::String::new()),
        Some(v) => Ok(bounded_str(as_str(v, field)?, field)?),
    }
}

fn staff(o: &Obj<'_>, key: &str, field: &'static str) -> Result<StaffId, JsonError> {
    Ok(StaffId(as_uint(o.req(key, field)?, field)?))
}

fn opt_uint<T: TryFrom<u64>>(
    o: &Obj<'_>,
    key: &str,
    field: &'static str,
) -> Result<Option<T>, JsonError> {
    o.opt(key).map(|v| as_uint(v, field)).transpose()
}

/// Builds and validates a record from its JSON view. Derived fields are ignored; unknown
/// keys, missing required fields, wrong types and broken domain rules are errors.
pub fn record_from_json(value: &Value) -> Result<Record, JsonError> {
    let top = value.as_object().ok_or(JsonError::WrongType {
        field: "record",
        expected: "an object",
    })?;
    let kind = named(
        top.get("kind")
            .filter(|v| !v.is_null())
            .ok_or(JsonError::Missing { field: "kind" })?,
        "kind",
        |n| Kind::ALL.into_iter().find(|k| k.name() == n),
    )?;
    let o = Obj::new(value, "record", "", field_names(kind), derived_fields(kind))?;
    let header = header(&o)?;
    let body = match kind {
        Kind::Resident => Body::Resident(resident_from(&o)?),
        Kind::Vitals => Body::Vitals(vitals_from(&o)?),
        Kind::Constitution => Body::Constitution(constitution_from(&o)?),
        Kind::Treatment => Body::Treatment(treatment_from(&o)?),
        Kind::Herbal => Body::Herbal(herbal_from(&o)?),
        Kind::FollowUp => Body::FollowUp(follow_up_from(&o)?),
        Kind::Correction => Body::Correction(correction_from(&o)?),
    };
    let record = Record { header, body };
    record.validate()?;
    Ok(record)
}

fn resident_from(o: &Obj<'_>) -> Result<ResidentRegistration, JsonError> {
    let conditions = match o.opt("conditions") {
        None => ChronicConditions::default(),
        Some(v) => ChronicConditions::from_bits(flag_bits(v, "conditions", &CONDITION_NAMES)?)
            .ok_or(JsonError::UnknownName {
                field: "conditions",
            })?,
    };
    let consent = match o.opt("consent") {
        None => ConsentFlags::default(),
        Some(v) => ConsentFlags::from_bits(flag_bits(v, "consent", &CONSENT_NAMES)?)
            .ok_or(JsonError::UnknownName { field: "consent" })?,
    };
    Ok(ResidentRegistration {
        birth_date: date(o.req("birth_date", "birth_date")?, "birth_date")?,
        sex: named(o.req("sex", "sex")?, "sex", |n| {
            [Sex::Unknown, Sex::Male, Sex::Female]
                .into_iter()
                .find(|x| sex_name(*x) == n)
        })?,
        conditions,
        consent,
        status: opt_named(o, "status", "status", ResidencyStatus::Active, |n| {
            by_name(n, ResidencyStatus::from_u8, ResidencyStatus::name)
        })?,
    })
}

fn vitals_from(o: &Obj<'_>) -> Result<VitalSigns, JsonError> {
    let temperature_centi_c = o
        .opt("temperature_centi_c")
        .map(|v| as_int(v, "temperature_centi_c"))
        .transpose()?;
    let glucose_umol_l = opt_uint(o, "glucose_umol_l", "glucose_umol_l")?;
    if temperature_centi_c.is_none() && o.opt("temperature_site").is_some() {
        return Err(JsonError::NotApplicable {
            field: "temperature_site",
        });
    }
    if glucose_umol_l.is_none() && o.opt("glucose_context").is_some() {
        return Err(JsonError::NotApplicable {
            field: "glucose_context",
        });
    }
    Ok(VitalSigns {
        systolic_mmhg: opt_uint(o, "systolic_mmhg", "systolic_mmhg")?,
        diastolic_mmhg: opt_uint(o, "diastolic_mmhg", "diastolic_mmhg")?,
        pulse_per_min: opt_uint(o, "pulse_per_min", "pulse_per_min")?,
        spo2_percent: opt_uint(o, "spo2_percent", "spo2_percent")?,
        temperature_centi_c,
        temperature_site: opt_named(
            o,
            "temperature_site",
            "temperature_site",
            TemperatureSite::default(),
            |n| by_name(n, TemperatureSite::from_u8, TemperatureSite::name),
        )?,
        weight_g: opt_uint(o, "weight_g", "weight_g")?,
        height_mm: opt_uint(o, "height_mm", "height_mm")?,
        waist_mm: opt_uint(o, "waist_mm", "waist_mm")?,
        glucose_umol_l,
        glucose_context: opt_named(
            o,
            "glucose_context",
            "glucose_context",
            GlucoseContext::default(),
            |n| by_name(n, GlucoseContext::from_u8, GlucoseContext::name),
        )?,
        source: opt_named(o, "source", "source", MeasurementSource::default(), |n| {
            by_name(n, MeasurementSource::from_u8, MeasurementSource::name)
        })?,
    })
}

fn constitution_from(o: &Obj<'_>) -> Result<ConstitutionRecord, JsonError> {
    let list = as_array(o.req("answers", "answers")?, "answers")?;
    let mut answers = [0u8; 33];
    if list.len() != answers.len() {
        return Err(JsonError::WrongType {
            field: "answers",
            expected: "an array of 33 integers",
        });
    }
    for (slot, v) in answers.iter_mut().zip(list) {
        *slot = as_uint(v, "answers")?;
    }
    let mut guidance = heapless::Vec::new();
    if let Some(v) = o.opt("guidance") {
        for item in as_array(v, "guidance")? {
            let e = Obj::new(
                item,
                "guidance",
                "guidance",
                &["constitution", "categories", "other"],
                &[],
            )?;
            let g = GuidanceGiven {
                constitution: named(
                    e.req("constitution", "guidance.constitution")?,
                    "guidance.constitution",
                    Constitution::from_pinyin,
                )?,
                categories: guidance_set(
                    e.req("categories", "guidance.categories")?,
                    "guidance.categories",
                )?,
                other: text(&e, "other", "guidance.other")?,
            };
            guidance.push(g).map_err(|_| ValidationError::TooMany {
                field: "guidance",
                max: 9,
            })?;
        }
    }
    Ok(ConstitutionRecord {
        answers,
        assessor: staff(o, "assessor", "assessor")?,
        guidance,
    })
}

fn treatment_from(o: &Obj<'_>) -> Result<Treatment, JsonError> {
    let mut acupoints = heapless::Vec::new();
    if let Some(v) = o.opt("acupoints") {
        for item in as_array(v, "acupoints")? {
            let p = Acupoint::parse(as_str(item, "acupoints")?)
                .map_err(ValidationError::InvalidAcupoint)?;
            acupoints.push(p).map_err(|_| ValidationError::TooMany {
                field: "acupoints",
                max: MAX_ACUPOINTS,
            })?;
        }
    }
    Ok(Treatment {
        technique: named(
            o.req("technique", "technique")?,
            "technique",
            technique_from_name,
        )?,
        acupoints,
        duration_min: as_uint(o.req("duration_min", "duration_min")?, "duration_min")?,
        practitioner: staff(o, "practitioner", "practitioner")?,
        outcome: opt_named(o, "outcome", "outcome", TreatmentOutcome::default(), |n| {
            by_name(n, TreatmentOutcome::from_u8, TreatmentOutcome::name)
        })?,
        adverse_event: opt_named(
            o,
            "adverse_event",
            "adverse_event",
            AdverseEvent::default(),
            |n| by_name(n, AdverseEvent::from_u8, AdverseEvent::name),
        )?,
        note: text(o, "note", "note")?,
    })
}

fn herbal_from(o: &Obj<'_>) -> Result<HerbalEvent, JsonError> {
    let mut herbs = heapless::Vec::new();
    if let Some(v) = o.opt("herbs") {
        for item in as_array(v, "herbs")? {
            let e = Obj::new(item, "herbs", "herbs", &["name", "decigrams"], &[])?;
            let h = HerbDose {
                name: bounded_str(
                    as_str(e.req("name", "herbs.name")?, "herbs.name")?,
                    "herbs.name",
                )?,
                decigrams: as_uint(e.req("decigrams", "herbs.decigrams")?, "herbs.decigrams")?,
            };
            herbs.push(h).map_err(|_| ValidationError::TooMany {
                field: "herbs",
                max: MAX_HERBS,
            })?;
        }
    }
    let prescription = o
        .opt("prescription")
        .map(|v| {
            record_id(
                v,
                "prescription",
                "prescription",
                [
                    "prescription.device",
                    "prescription.epoch",
                    "prescription.seq",
                ],
            )
        })
        .transpose()?;
    Ok(HerbalEvent {
        stage: named(o.req("stage", "stage")?, "stage", |n| {
            by_name(n, HerbalStage::from_u8, HerbalStage::name)
        })?,
        prescription,
        doses: match o.opt("doses") {
            None => 0,
            Some(v) => as_uint(v, "doses")?,
        },
        herbs,
        actor: staff(o, "actor", "actor")?,
        note: text(o, "note", "note")?,
    })
}

fn follow_up_from(o: &Obj<'_>) -> Result<FollowUp, JsonError> {
    let mut interventions = heapless::Vec::new();
    if let Some(v) = o.opt("interventions") {
        for item in as_array(v, "interventions")? {
            let t = named(item, "interventions", technique_from_name)?;
            interventions
                .push(t)
                .map_err(|_| ValidationError::TooMany {
                    field: "interventions",
                    max: MAX_INTERVENTIONS,
                })?;
        }
    }
    Ok(FollowUp {
        condition: named(o.req("condition", "condition")?, "condition", |n| {
            by_name(n, ChronicCondition::from_u8, ChronicCondition::name)
        })?,
        control: opt_named(o, "control", "control", ConditionControl::default(), |n| {
            by_name(n, ConditionControl::from_u8, ConditionControl::name)
        })?,
        guidance: match o.opt("guidance") {
            None => GuidanceSet::empty(),
            Some(v) => guidance_set(v, "guidance")?,
        },
        interventions,
        next_visit: o
            .opt("next_visit")
            .map(|v| date(v, "next_visit"))
            .transpose()?,
        clinician: staff(o, "clinician", "clinician")?,
    })
}

fn correction_from(o: &Obj<'_>) -> Result<Correction, JsonError> {
    let target = record_id(
        o.req("target", "target")?,
        "target",
        "target",
        ["target.device", "target.epoch", "target.seq"],
    )?;
    let action = match as_str(o.req("action", "action")?, "action")? {
        "void" => {
            if o.opt("replacement").is_some() {
                return Err(JsonError::NotApplicable {
                    field: "replacement",
                });
            }
            CorrectionAction::Void
        }
        "amend" => CorrectionAction::Amend {
            replacement: record_id(
                o.req("replacement", "replacement")?,
                "replacement",
                "replacement",
                ["replacement.device", "replacement.epoch", "replacement.seq"],
            )?,
        },
        _ => return Err(JsonError::UnknownName { field: "action" }),
    };
    Ok(Correction {
        target,
        action,
        reason: opt_named(o, "reason", "reason", CorrectionReason::default(), |n| {
            by_name(n, CorrectionReason::from_u8, CorrectionReason::name)
        })?,
        note: text(o, "note", "note")?,
    })
}

// ---------------------------------------------------------------------------------------
// Validation errors (the rule table is `codes::rule`; these keep the callers of the view).

/// The JSON field a validation error is about: [`ValidationError::field`].
pub fn validation_field(e: &ValidationError) -> &'static str {
    e.field()
}

/// The stable snake_case code of a validation error's rule: [`ValidationError::code`].
pub fn validation_code(e: &ValidationError) -> &'static str {
    e.code()
}

// ---------------------------------------------------------------------------------------
// Numeric export view of vital signs (the rule is `codes::vital::quantities`).

/// The values of a vital-signs record in their UCUM units: [`vital::quantities`] as a
/// list.
pub fn vital_quantities(v: &VitalSigns) -> Vec<VitalQuantity> {
    vital::quantities(v).collect()
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::wire::MAX_ENVELOPE_LEN;
    use serde_json::json;
    use std::vec;

    const MANIFEST: &str = include_str!("../../tests/vectors/manifest.json");

    fn unhex(h: &str) -> Vec<u8> {
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The canonical records of the golden vectors (one or two per kind).
    fn golden() -> Vec<(String, Record)> {
        let m: Value = serde_json::from_str(MANIFEST).unwrap();
        m["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["expect"] == "ok")
            .map(|v| {
                let bytes = unhex(v["envelope_hex"].as_str().unwrap());
                (
                    v["name"].as_str().unwrap().into(),
                    Record::decode(&bytes).unwrap(),
                )
            })
            .collect()
    }

    fn encode(r: &Record) -> Vec<u8> {
        let mut buf = [0u8; MAX_ENVELOPE_LEN];
        let n = r.encode(&mut buf).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn every_golden_record_round_trips_through_json() {
        let records = golden();
        let kinds: std::collections::BTreeSet<_> =
            records.iter().map(|(_, r)| r.kind() as u8).collect();
        assert_eq!(kinds.len(), 7, "every kind has a golden record");
        for (name, r) in records {
            let v = record_to_json(&r);
            assert_eq!(v["kind"], r.kind().name(), "{name}");
            let back = record_from_json(&v).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(back, r, "{name}");
            assert_eq!(encode(&back), encode(&r), "{name}");
            // Through text as well: the view survives serialisation.
            let text = serde_json::to_string(&v).unwrap();
            let parsed: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(record_from_json(&parsed).unwrap(), r, "{name}");
            // Every input field is present on output, and nothing else but derived ones.
            let obj = v.as_object().unwrap();
            for f in field_names(r.kind()) {
                assert!(obj.contains_key(*f), "{name}: {f}");
            }
            assert_eq!(
                obj.len(),
                field_names(r.kind()).len() + derived_fields(r.kind()).len(),
                "{name}"
            );
        }
    }

    fn golden_json(name: &str) -> Value {
        let (_, r) = golden().into_iter().find(|(n, _)| n == name).unwrap();
        record_to_json(&r)
    }

    #[test]
    fn vitals_view_matches_the_vector_description() {
        // "vital signs, kiosk 7 seq 43, resident 1235: 152/94 mmHg (hypertension), weight
        // 68.45 kg, height 1.642 m, waist 93.0 cm, fasting capillary glucose 7.8 mmol/L
        // (high), 37.5 °C axilla (fever), Bluetooth devices"
        let v = golden_json("vitals-body-glucose-alerts");
        assert_eq!(v["id"], json!({"device": 7, "epoch": 1, "seq": 43}));
        assert_eq!(v["resident"], json!({"care_home": 3101, "number": 1235}));
        assert_eq!(v["systolic_mmhg"], 152);
        assert_eq!(v["diastolic_mmhg"], 94);
        assert_eq!(v["weight_g"], 68_450);
        assert_eq!(v["height_mm"], 1642);
        assert_eq!(v["waist_mm"], 930);
        assert_eq!(v["glucose_umol_l"], 7_800);
        assert_eq!(v["glucose_context"], "fasting");
        assert_eq!(v["temperature_centi_c"], 3750);
        assert_eq!(v["temperature_site"], "axilla");
        assert_eq!(v["source"], "bluetooth");
        assert_eq!(v["pulse_per_min"], Value::Null);
        // 152 ≥ 140 → hypertension; 37.50 ≥ 37.30 → fever; 7.8 ≥ 7.0 fasting → high.
        assert_eq!(
            v["alerts"],
            json!(["hypertension", "fever", "high_glucose"])
        );
        // BMI = 68.45 / 1.642² = 68.45 / 2.696164 = 25.388... → 2539 hundredths.
        assert_eq!(v["bmi_centi"], 2539);
        // "kiosk 7 epoch 1 seq 42 ... 2026-03-15T08:30:00Z: 128/82 mmHg, pulse 76 /min,
        // SpO2 97 %, 36.6 °C forehead, kiosk sensors"
        let v = golden_json("vitals-bp-pulse-spo2-temp");
        assert_eq!(
            v["time"],
            json!({"utc": 1_773_563_400u64, "iso": "2026-03-15T08:30:00Z"})
        );
        assert_eq!(v["temperature_centi_c"], 3660);
        assert_eq!(v["temperature_site"], "forehead");
        assert_eq!(v["source"], "kiosk_sensor");
        assert_eq!(v["alerts"], json!([]));
    }

    #[test]
    fn unknown_time_and_absent_values() {
        // "kiosk 8 ... time unknown (boot 3, 125 s after boot): SpO2 91 % (low), pulse 58"
        let v = golden_json("vitals-clock-unknown-spo2");
        assert_eq!(v["time"], json!({"boot": 3, "uptime_s": 125}));
        assert_eq!(v["spo2_percent"], 91);
        assert_eq!(v["temperature_site"], Value::Null);
        assert_eq!(v["glucose_context"], Value::Null);
        assert_eq!(v["alerts"], json!(["low_spo2"]));
    }

    #[test]
    fn other_kinds_view_matches_descriptions() {
        let r = golden_json("resident-female-hypertension");
        assert_eq!(r["birth_date"], "1948-05-20");
        assert_eq!(r["sex"], "female");
        assert_eq!(r["conditions"], json!(["hypertension"]));
        assert_eq!(r["consent"], json!(["tcm_services", "data_sharing"]));
        assert_eq!(r["status"], "active");

        // Items 2, 3, 4, 14 = 3 → 气虚 = 12 → 是 (≥ 11); item 1 = 3 and items 2, 4, 5, 13
        // reversed (3, 3, 5, 5) → 平和 = 3 + 3 + 3 + 5 + 5 = 19 ≥ 17 but 气虚 12 > 10 → 否.
        let c = golden_json("constitution-qixu");
        assert_eq!(c["scores"]["qixu"], 12);
        assert_eq!(c["verdicts"]["qixu"], "yes");
        assert_eq!(c["scores"]["pinghe"], 19);
        assert_eq!(c["verdicts"]["pinghe"], "no");
        assert_eq!(c["primary"], json!(["qixu"]));
        assert_eq!(
            c["guidance"],
            json!([{"constitution": "qixu",
                    "categories": ["emotion", "diet", "daily_life", "exercise", "acupoint"],
                    "other": ""}])
        );

        let t = golden_json("treatment-moxibustion");
        assert_eq!(t["technique"], "moxibustion");
        assert_eq!(t["acupoints"], json!(["ST36", "CV4", "CV6"]));
        assert_eq!(t["duration_min"], 20);

        let h = golden_json("herbal-prescribed");
        assert_eq!(h["doses"], 7);
        assert_eq!(h["herbs"][0], json!({"name": "黄芪", "decigrams": 300}));
        assert_eq!(h["prescription"], Value::Null);

        let d = golden_json("herbal-delivered");
        assert_eq!(d["stage"], "delivered");
        assert_eq!(
            d["prescription"],
            json!({"device": 2, "epoch": 1, "seq": 14})
        );

        let f = golden_json("followup-hypertension");
        assert_eq!(f["condition"], "hypertension");
        assert_eq!(f["control"], "unsatisfactory");
        assert_eq!(f["guidance"], json!(["emotion", "diet", "exercise"]));
        assert_eq!(f["interventions"], json!(["acupoint_massage", "baduanjin"]));
        assert_eq!(f["next_visit"], "2026-04-15");

        let a = golden_json("correction-amend");
        assert_eq!(a["action"], "amend");
        assert_eq!(a["target"], json!({"device": 2, "epoch": 1, "seq": 12}));
        assert_eq!(
            a["replacement"],
            json!({"device": 2, "epoch": 1, "seq": 18})
        );
        let v = golden_json("correction-void");
        assert_eq!(v["replacement"], Value::Null);
        assert_eq!(v["reason"], "measurement_error");
        assert_eq!(v["note"], "袖带位置错误");
    }

    fn minimal_vitals() -> Value {
        json!({
            "kind": "vitals",
            "id": {"device": 7, "epoch": 1, "seq": 1},
            "resident": {"care_home": 3101, "number": 1},
            "time": {"utc": 1_773_563_400u64},
            "systolic_mmhg": 120,
            "diastolic_mmhg": 80,
        })
    }

    #[test]
    fn optional_fields_may_be_omitted_and_derived_ones_are_ignored() {
        let r = record_from_json(&minimal_vitals()).unwrap();
        let Body::Vitals(v) = &r.body else {
            panic!("not vitals")
        };
        assert_eq!(v.source, MeasurementSource::KioskSensor);
        let mut with_derived = minimal_vitals();
        with_derived["alerts"] = json!(["fever"]);
        with_derived["bmi_centi"] = json!(9999);
        with_derived["time"]["iso"] = json!("1999-01-01T00:00:00Z");
        assert_eq!(record_from_json(&with_derived).unwrap(), r);
    }

    #[test]
    fn errors_name_the_field() {
        let with = |f: &dyn Fn(&mut Value)| {
            let mut v = minimal_vitals();
            f(&mut v);
            record_from_json(&v).unwrap_err()
        };
        assert_eq!(
            with(&|v| v["systolic_mmhg"] = json!(301)),
            JsonError::Invalid(ValidationError::SystolicOutOfRange(301))
        );
        assert_eq!(
            with(&|v| v["systolic_mmhg"] = json!(301)).field(),
            "systolic_mmhg"
        );
        assert_eq!(
            with(&|v| v["systolic_mmhg"] = json!("120")),
            JsonError::WrongType {
                field: "systolic_mmhg",
                expected: "an integer"
            }
        );
        assert_eq!(
            with(&|v| v["systolic_mmhg"] = json!(120.5)),
            JsonError::WrongType {
                field: "systolic_mmhg",
                expected: "an integer"
            }
        );
        assert_eq!(
            with(&|v| v["systolic_mmhg"] = json!(70_000)),
            JsonError::OutOfRange {
                field: "systolic_mmhg"
            }
        );
        assert_eq!(
            with(&|v| v["pulse_per_min"] = json!(-1)),
            JsonError::OutOfRange {
                field: "pulse_per_min"
            }
        );
        assert_eq!(
            with(&|v| v["systolc_mmhg"] = json!(1)),
            JsonError::UnknownField {
                field: "systolc_mmhg".into()
            }
        );
        assert_eq!(
            with(&|v| v["id"]["devcie"] = json!(1)),
            JsonError::UnknownField {
                field: "id.devcie".into()
            }
        );
        assert_eq!(
            with(&|v| v.as_object_mut().unwrap().remove("time").map(drop).unwrap()),
            JsonError::Missing { field: "time" }
        );
        assert_eq!(
            with(&|v| v["id"]["seq"] = Value::Null),
            JsonError::Missing { field: "id.seq" }
        );
        assert_eq!(
            with(&|v| v["id"]["seq"] = json!(0)),
            JsonError::Invalid(ValidationError::SeqZero)
        );
        assert_eq!(
            with(&|v| v["time"] = json!({"utc": 0})),
            JsonError::InvalidTime { field: "time.utc" }
        );
        assert_eq!(
            with(&|v| v["time"] = json!({"utc": 1_773_563_400u64, "boot": 1})),
            JsonError::WrongType {
                field: "time",
                expected: "{\"utc\": seconds} or {\"boot\": n, \"uptime_s\": s}"
            }
        );
        assert_eq!(
            with(&|v| v["source"] = json!("telepathy")),
            JsonError::UnknownName { field: "source" }
        );
        assert_eq!(
            with(&|v| v["temperature_site"] = json!("axilla")),
            JsonError::NotApplicable {
                field: "temperature_site"
            }
        );
        assert_eq!(
            with(&|v| v["kind"] = json!("vital")),
            JsonError::UnknownName { field: "kind" }
        );
        // A field of another kind is unknown here.
        assert_eq!(
            with(&|v| v["birth_date"] = json!("1948-05-20")),
            JsonError::UnknownField {
                field: "birth_date".into()
            }
        );
        assert_eq!(
            record_from_json(&json!([1, 2])).unwrap_err(),
            JsonError::WrongType {
                field: "record",
                expected: "an object"
            }
        );
    }

    #[test]
    fn kind_specific_errors() {
        let mut r = golden_json("resident-female-hypertension");
        r["birth_date"] = json!("1948-02-30");
        assert_eq!(
            record_from_json(&r).unwrap_err(),
            JsonError::InvalidDate {
                field: "birth_date"
            }
        );
        r["birth_date"] = json!("1948-5-20");
        assert_eq!(
            record_from_json(&r).unwrap_err(),
            JsonError::InvalidDate {
                field: "birth_date"
            }
        );
        r["birth_date"] = json!("1948-05-20");
        r["conditions"] = json!(["hypertension", "hypertension"]);
        assert_eq!(
            record_from_json(&r).unwrap_err(),
            JsonError::UnknownName {
                field: "conditions"
            }
        );

        let mut c = golden_json("constitution-qixu");
        c["answers"] = json!([1, 2, 3]);
        assert_eq!(
            record_from_json(&c).unwrap_err(),
            JsonError::WrongType {
                field: "answers",
                expected: "an array of 33 integers"
            }
        );
        c["answers"] = json!(vec![6u8; 33]);
        let e = record_from_json(&c).unwrap_err();
        assert_eq!(
            e,
            JsonError::Invalid(ValidationError::AnswerOutOfRange { item: 1, value: 6 })
        );
        assert_eq!(e.field(), "answers");
        assert_eq!(e.code(), "answer_out_of_range");

        let mut t = golden_json("treatment-moxibustion");
        t["acupoints"] = json!(["ST99"]);
        assert!(matches!(
            record_from_json(&t).unwrap_err(),
            JsonError::Invalid(ValidationError::InvalidAcupoint(_))
        ));
        t["acupoints"] = json!(["ST36"]);
        t["technique"] = json!("moxa");
        assert_eq!(
            record_from_json(&t).unwrap_err(),
            JsonError::UnknownName { field: "technique" }
        );
        t["technique"] = json!("moxibustion");
        t["note"] = json!("x".repeat(65));
        let e = record_from_json(&t).unwrap_err();
        assert_eq!(
            e,
            JsonError::Invalid(ValidationError::TextTooLong {
                field: "note",
                max: 64
            })
        );
        assert_eq!(e.field(), "note");

        let mut a = golden_json("correction-void");
        a["replacement"] = json!({"device": 2, "epoch": 1, "seq": 3});
        assert_eq!(
            record_from_json(&a).unwrap_err(),
            JsonError::NotApplicable {
                field: "replacement"
            }
        );
        let mut m = golden_json("correction-amend");
        m["replacement"] = Value::Null;
        assert_eq!(
            record_from_json(&m).unwrap_err(),
            JsonError::Missing {
                field: "replacement"
            }
        );
    }

    #[test]
    fn view_errors_have_their_codes_and_families() {
        let cases = [
            (
                JsonError::Missing { field: "time" },
                "missing",
                RuleFamily::Schema,
            ),
            (
                JsonError::WrongType {
                    field: "time",
                    expected: "an object",
                },
                "wrong_type",
                RuleFamily::Schema,
            ),
            (
                JsonError::OutOfRange { field: "doses" },
                "out_of_range",
                RuleFamily::Range,
            ),
            (
                JsonError::UnknownName { field: "kind" },
                "unknown_name",
                RuleFamily::UnknownCode,
            ),
            (
                JsonError::InvalidDate {
                    field: "birth_date",
                },
                "invalid_date",
                RuleFamily::Range,
            ),
            (
                JsonError::InvalidTime { field: "time.utc" },
                "invalid_time",
                RuleFamily::Range,
            ),
            (
                JsonError::NotApplicable {
                    field: "replacement",
                },
                "not_applicable",
                RuleFamily::Schema,
            ),
            (
                JsonError::UnknownField {
                    field: "id.devcie".into(),
                },
                "unknown_field",
                RuleFamily::Schema,
            ),
            (
                JsonError::Invalid(ValidationError::NoHerbs),
                "no_herbs",
                RuleFamily::Missing,
            ),
        ];
        for (e, code, family) in &cases {
            assert_eq!(e.code(), *code);
            assert_eq!(e.family(), *family);
            assert_eq!(error_family(code), Some(*family));
        }
        assert_eq!(VIEW_ERRORS.len(), cases.len() - 1);
        for ((code, family), (e, _, _)) in VIEW_ERRORS.iter().zip(&cases) {
            assert_eq!((e.code(), e.family()), (*code, *family));
        }
        assert_eq!(error_family("bmi_out_of_range"), Some(RuleFamily::Range));
        assert_eq!(error_family("wrong_kind"), None);
        assert_eq!(
            validation_field(&ValidationError::StaffMissing {
                field: "treatment.practitioner"
            }),
            "practitioner"
        );
        assert_eq!(validation_code(&ValidationError::SeqZero), "seq_zero");
    }

    #[test]
    fn every_kind_starts_with_the_header_fields() {
        for k in Kind::ALL {
            assert!(field_names(k).starts_with(&["kind", "id", "resident", "time"]));
        }
    }

    #[test]
    fn names_are_stable() {
        for t in Technique::ALL {
            assert_eq!(technique_from_name(technique_name(t)), Some(t));
            assert_eq!(technique_name(t), t.name());
        }
        assert_eq!(technique_name(Technique::GuaSha), "gua_sha");
        assert_eq!(technique_name(Technique::Baduanjin), "baduanjin");
        for c in GuidanceCategory::ALL {
            assert_eq!(
                guidance_category_from_name(guidance_category_name(c)),
                Some(c)
            );
        }
        assert_eq!(
            guidance_category_name(GuidanceCategory::DailyLife),
            "daily_life"
        );
        // ChronicCondition names equal the flag names of registrations.
        for (i, n) in CONDITION_NAMES.iter().enumerate() {
            let c = ChronicCondition::from_u8(i as u8).unwrap();
            assert_eq!(c.name(), *n);
            assert_eq!(c.flag(), 1 << i);
        }
        assert_eq!(CONSENT_NAMES.len(), 3);
        assert!(ConsentFlags::from_bits(0b111).is_some());
        assert!(ConsentFlags::from_bits(0b1000).is_none());
    }

    #[test]
    fn vital_quantities_list_the_golden_record() {
        let (_, r) = golden()
            .into_iter()
            .find(|(n, _)| n == "vitals-body-glucose-alerts")
            .unwrap();
        let Body::Vitals(v) = r.body else {
            panic!("not vitals")
        };
        let q: Vec<_> = vital_quantities(&v)
            .into_iter()
            .map(|q| (q.sign.loinc(), q.mantissa, q.exponent))
            .collect();
        // 152/94 mmHg, 37.50 Cel, 68.450 kg, 164.2 cm, BMI 25.39, 93.0 cm,
        // fasting capillary glucose 7.800 mmol/L (DOMAIN.md 4.1 codes).
        assert_eq!(
            q,
            vec![
                ("8480-6", 152, 0),
                ("8462-4", 94, 0),
                ("8310-5", 3750, -2),
                ("29463-7", 68_450, -3),
                ("8302-2", 1642, -1),
                ("39156-5", 2539, -2),
                ("8280-0", 930, -1),
                ("14770-2", 7_800, -3),
            ]
        );
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(parse_date("2024-02-29"), Date::new(2024, 2, 29).ok());
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-2-29x"), None);
        assert_eq!(parse_date("２０２４-02-29"), None);
        assert_eq!(parse_date("+024-02-29"), None);
        assert_eq!(
            utc_iso(UtcSeconds::new(1_704_067_200 + 86_399).unwrap()),
            "2024-01-01T23:59:59Z"
        );
    }
}
