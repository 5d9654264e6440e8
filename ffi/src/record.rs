//! Records as flat C structs: build, validate, encode and decode every record kind.
//!
//! ## Layout
//! [`tcm_record`] is a kind number, the common [`tcm_record_header`] and a union
//! [`tcm_record_body`] with one flat struct per kind (`body.vitals`, `body.treatment`...).
//! The union keeps one type for every kind, so a terminal can keep records in one array
//! and switch on `kind`. Only the member named by `kind` is read or written.
//!
//! Every field is an integer or an array of integers: enum values are `uint8_t` holding
//! one of the `TCM_*` constants of the matching `tcm_*` enum, sets are bit masks, lists
//! are fixed arrays with a count, and text is a fixed `char` array holding NUL-terminated
//! UTF-8. Start every record with `tcm_record_init()` (which zeroes it), fill the kind's
//! fields, then `tcm_record_encode()` or `tcm_record_encode_frame()`; both validate first.
//!
//! Fields marked *output* are computed by the library when it decodes (alerts, scores,
//! verdicts) and ignored when it encodes: core never trusts them from input.
//!
//! ## Unknown kinds
//! An envelope of a kind this version does not know decodes to
//! `TCM_STATUS_UNKNOWN_KIND` with `kind` and `header` filled in (the body is untouched):
//! store the envelope bytes as they are and forward them unchanged.

use std::ffi::c_char;
use std::fmt::{self, Write as _};
use std::ptr::addr_of_mut;

use tcmcare_core::codes::acupoint::Acupoint;
use tcmcare_core::codes::technique::Technique;
use tcmcare_core::constitution::{Constitution, GuidanceSet};
use tcmcare_core::ids::{
    CareHomeId, DeviceId, Epoch, RecordId, ResidentNumber, ResidentRef, Seq, Sex, StaffId,
};
use tcmcare_core::record::{
    bounded_str, AdverseEvent, Body, ChronicCondition, ChronicConditions, ConditionControl,
    ConsentFlags, ConstitutionRecord, Correction, CorrectionAction, CorrectionReason, FollowUp,
    GlucoseContext, GuidanceGiven, Header, HerbDose, HerbalEvent, HerbalStage, Kind,
    MeasurementSource, Record, RecordError, ResidencyStatus, ResidentRegistration, TemperatureSite,
    Treatment, TreatmentOutcome, ValidationError, VitalAlerts, VitalSigns, MAX_ACUPOINTS,
    MAX_HERBS, MAX_HERB_NAME_LEN, MAX_INTERVENTIONS, MAX_NOTE_LEN, MAX_OTHER_GUIDANCE_LEN,
};
use tcmcare_core::time::{Date, Timestamp, UtcSeconds};
use tcmcare_core::wire::{
    decode_frame, encode_record_frame, Envelope, MAX_ENVELOPE_LEN, MAX_RECORD_FRAME_LEN,
};

use crate::buffer::{self, set_text, text_field};
use crate::status::{
    acupoint_error, decode_error, fail, frame_error, record_error, tcm_status, time_error,
    validation_error,
};
use crate::{boundary, pod};

// ---------------------------------------------------------------------------------------
// Capacities
// ---------------------------------------------------------------------------------------

/// Bytes of a free-text note array: 64 bytes of UTF-8 and the NUL.
pub const TCM_NOTE_CAPACITY: usize = 65;
/// Bytes of the "other" guidance text array: 48 bytes of UTF-8 and the NUL.
pub const TCM_OTHER_GUIDANCE_CAPACITY: usize = 49;
/// Bytes of a herb name array: 24 bytes of UTF-8 (8 Chinese characters) and the NUL.
pub const TCM_HERB_NAME_CAPACITY: usize = 25;
/// Bytes of an acupoint code array (`"ST36"`, `"EX-HN1"`) including the NUL.
pub const TCM_ACUPOINT_CODE_CAPACITY: usize = 8;
/// Most acupoints in one treatment.
pub const TCM_MAX_ACUPOINTS: usize = 16;
/// Most herbs in one prescription.
pub const TCM_MAX_HERBS: usize = 32;
/// Most interventions in one follow-up.
pub const TCM_MAX_INTERVENTIONS: usize = 8;
/// Number of constitution types.
pub const TCM_CONSTITUTION_COUNT: usize = 9;
/// Number of items of the constitution form.
pub const TCM_ITEM_COUNT: usize = 33;
/// Largest envelope this version writes: a buffer of this size always suffices for
/// `tcm_record_encode()`.
pub const TCM_MAX_ENVELOPE_LEN: usize = 976;
/// Largest frame of one record this version writes (delimiter included): a buffer of
/// this size always suffices for `tcm_record_encode_frame()`.
pub const TCM_MAX_RECORD_FRAME_LEN: usize = 985;

const _: () = {
    assert!(TCM_NOTE_CAPACITY == MAX_NOTE_LEN + 1);
    assert!(TCM_OTHER_GUIDANCE_CAPACITY == MAX_OTHER_GUIDANCE_LEN + 1);
    assert!(TCM_HERB_NAME_CAPACITY == MAX_HERB_NAME_LEN + 1);
    assert!(TCM_MAX_ACUPOINTS == MAX_ACUPOINTS);
    assert!(TCM_MAX_HERBS == MAX_HERBS);
    assert!(TCM_MAX_INTERVENTIONS == MAX_INTERVENTIONS);
    assert!(TCM_CONSTITUTION_COUNT == tcmcare_core::constitution::CONSTITUTION_COUNT);
    assert!(TCM_ITEM_COUNT == tcmcare_core::constitution::ITEM_COUNT);
    assert!(TCM_MAX_ENVELOPE_LEN == MAX_ENVELOPE_LEN);
    assert!(TCM_MAX_RECORD_FRAME_LEN == MAX_RECORD_FRAME_LEN);
};

// ---------------------------------------------------------------------------------------
// Enums (values of the uint8_t fields) and bit masks
// ---------------------------------------------------------------------------------------

/// Record kinds (`tcm_record.kind`). Append-only wire numbers.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_record_kind {
    /// Resident registration / update (`body.resident`).
    Resident = 1,
    /// Vital signs (`body.vitals`).
    Vitals = 2,
    /// Constitution assessment (`body.constitution`).
    Constitution = 3,
    /// TCM technique treatment (`body.treatment`).
    Treatment = 4,
    /// Herbal prescription / decoction delivery event (`body.herbal`).
    Herbal = 5,
    /// Chronic-disease TCM follow-up (`body.follow_up`).
    FollowUp = 6,
    /// Amend / void of an earlier record (`body.correction`).
    Correction = 7,
}

/// Sex (GB/T 2261.1 codes).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_sex {
    /// Not known / not stated.
    Unknown = 0,
    /// Male.
    Male = 1,
    /// Female.
    Female = 2,
}

/// Residency status of a resident.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_residency_status {
    /// Living in the care home.
    Active = 0,
    /// Discharged / moved out.
    Discharged = 1,
    /// Deceased.
    Deceased = 2,
}

/// Chronic conditions bit: hypertension (`tcm_resident.conditions`).
pub const TCM_CONDITION_HYPERTENSION: u8 = 1;
/// Chronic conditions bit: type 2 diabetes.
pub const TCM_CONDITION_DIABETES: u8 = 2;
/// Chronic conditions bit: stroke high-risk.
pub const TCM_CONDITION_STROKE_HIGH_RISK: u8 = 4;
/// Consent bit: TCM health management services (`tcm_resident.consent`).
pub const TCM_CONSENT_TCM_SERVICES: u8 = 1;
/// Consent bit: sharing records with the community health centre / district platform.
pub const TCM_CONSENT_DATA_SHARING: u8 = 2;
/// Consent bit: kiosk self-measurement.
pub const TCM_CONSENT_KIOSK_USE: u8 = 4;

const _: () = {
    assert!(TCM_CONDITION_HYPERTENSION == ChronicConditions::HYPERTENSION);
    assert!(TCM_CONDITION_DIABETES == ChronicConditions::DIABETES);
    assert!(TCM_CONDITION_STROKE_HIGH_RISK == ChronicConditions::STROKE_HIGH_RISK);
    assert!(TCM_CONSENT_TCM_SERVICES == ConsentFlags::TCM_SERVICES);
    assert!(TCM_CONSENT_DATA_SHARING == ConsentFlags::DATA_SHARING);
    assert!(TCM_CONSENT_KIOSK_USE == ConsentFlags::KIOSK_USE);
};

/// Vital-signs presence bit (`tcm_vitals.present`): systolic pressure.
pub const TCM_VITAL_SYSTOLIC: u16 = 1 << 0;
/// Presence bit: diastolic pressure.
pub const TCM_VITAL_DIASTOLIC: u16 = 1 << 1;
/// Presence bit: pulse.
pub const TCM_VITAL_PULSE: u16 = 1 << 2;
/// Presence bit: SpO2.
pub const TCM_VITAL_SPO2: u16 = 1 << 3;
/// Presence bit: body temperature (with its site).
pub const TCM_VITAL_TEMPERATURE: u16 = 1 << 4;
/// Presence bit: weight.
pub const TCM_VITAL_WEIGHT: u16 = 1 << 5;
/// Presence bit: height.
pub const TCM_VITAL_HEIGHT: u16 = 1 << 6;
/// Presence bit: waist.
pub const TCM_VITAL_WAIST: u16 = 1 << 7;
/// Presence bit: blood glucose (with its meal context).
pub const TCM_VITAL_GLUCOSE: u16 = 1 << 8;
/// All presence bits.
const TCM_VITAL_ALL: u16 = (1 << 9) - 1;

/// Alert bit (`tcm_vitals.alerts`): systolic >= 140 or diastolic >= 90 mmHg.
pub const TCM_ALERT_HYPERTENSION: u16 = 1 << 0;
/// Alert bit: systolic < 90 mmHg.
pub const TCM_ALERT_HYPOTENSION: u16 = 1 << 1;
/// Alert bit: temperature >= 37.3 degrees C.
pub const TCM_ALERT_FEVER: u16 = 1 << 2;
/// Alert bit: SpO2 < 94 %.
pub const TCM_ALERT_LOW_SPO2: u16 = 1 << 3;
/// Alert bit: pulse > 100 /min.
pub const TCM_ALERT_TACHYCARDIA: u16 = 1 << 4;
/// Alert bit: pulse < 50 /min.
pub const TCM_ALERT_BRADYCARDIA: u16 = 1 << 5;
/// Alert bit: glucose at or above the diabetes criterion of its context.
pub const TCM_ALERT_HIGH_GLUCOSE: u16 = 1 << 6;
/// Alert bit: glucose < 3.9 mmol/L.
pub const TCM_ALERT_LOW_GLUCOSE: u16 = 1 << 7;

const _: () = {
    assert!(TCM_ALERT_HYPERTENSION == VitalAlerts::HYPERTENSION);
    assert!(TCM_ALERT_HYPOTENSION == VitalAlerts::HYPOTENSION);
    assert!(TCM_ALERT_FEVER == VitalAlerts::FEVER);
    assert!(TCM_ALERT_LOW_SPO2 == VitalAlerts::LOW_SPO2);
    assert!(TCM_ALERT_TACHYCARDIA == VitalAlerts::TACHYCARDIA);
    assert!(TCM_ALERT_BRADYCARDIA == VitalAlerts::BRADYCARDIA);
    assert!(TCM_ALERT_HIGH_GLUCOSE == VitalAlerts::HIGH_GLUCOSE);
    assert!(TCM_ALERT_LOW_GLUCOSE == VitalAlerts::LOW_GLUCOSE);
};

/// Where a temperature was taken.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_temperature_site {
    /// Forehead, infrared (kiosk thermometer).
    Forehead = 0,
    /// Armpit.
    Axilla = 1,
    /// Ear.
    Ear = 2,
    /// Mouth.
    Oral = 3,
    /// Other or not stated.
    Other = 4,
}

/// Meal context of a glucose sample.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_glucose_context {
    /// Fasting.
    Fasting = 0,
    /// Random / not stated (the default of `tcm_record_init()`).
    Random = 1,
    /// Two hours after a meal.
    Postprandial2h = 2,
}

/// How vital signs were obtained.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_measurement_source {
    /// The kiosk's own sensors.
    KioskSensor = 0,
    /// A paired Bluetooth health device.
    Bluetooth = 1,
    /// Keyed in by staff.
    Manual = 2,
}

/// TCM techniques (wire numbers, append-only).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_technique {
    /// Acupuncture.
    Acupuncture = 0,
    /// Moxibustion.
    Moxibustion = 1,
    /// Cupping.
    Cupping = 2,
    /// Tuina.
    Tuina = 3,
    /// Gua Sha.
    GuaSha = 4,
    /// Auricular point pressing.
    AuricularPressing = 5,
    /// Acupoint application.
    AcupointApplication = 6,
    /// Herbal foot bath.
    HerbalFootBath = 7,
    /// Acupoint massage.
    AcupointMassage = 8,
    /// Baduanjin.
    Baduanjin = 9,
    /// Tai Chi.
    TaiChi = 10,
    /// Wuqinxi.
    Wuqinxi = 11,
    /// Liuzijue.
    Liuzijue = 12,
    /// Electroacupuncture.
    Electroacupuncture = 13,
    /// Acupoint injection.
    AcupointInjection = 14,
    /// Intradermal needle.
    IntradermalNeedle = 15,
}

/// How a treatment went.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_treatment_outcome {
    /// Completed as planned.
    Completed = 0,
    /// Stopped early.
    StoppedEarly = 1,
    /// Refused by the resident (duration 0).
    Refused = 2,
}

/// Adverse event of a treatment.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_adverse_event {
    /// None.
    None = 0,
    /// Fainting.
    Fainting = 1,
    /// Burn or blister.
    Burn = 2,
    /// Bruising.
    Bruising = 3,
    /// Bleeding.
    Bleeding = 4,
    /// Needle incident.
    NeedleIncident = 5,
    /// Skin reaction.
    SkinReaction = 6,
    /// Other (note required).
    Other = 7,
}

/// Stage of a herbal prescription in the dispensing chain.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_herbal_stage {
    /// Prescribed (carries the herbs).
    Prescribed = 0,
    /// Decocted.
    Decocted = 1,
    /// Dispatched.
    Dispatched = 2,
    /// Delivered to the care home.
    Delivered = 3,
    /// Received by the resident.
    Received = 4,
}

/// Chronic condition followed up.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_chronic_condition {
    /// Hypertension.
    Hypertension = 0,
    /// Type 2 diabetes.
    Diabetes = 1,
    /// Stroke high-risk.
    StrokeHighRisk = 2,
}

/// Follow-up classification.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_condition_control {
    /// Controlled.
    Satisfactory = 0,
    /// Not controlled.
    Unsatisfactory = 1,
    /// Adverse drug reaction.
    AdverseReaction = 2,
    /// Complication.
    Complication = 3,
}

/// What a correction does.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_correction_action {
    /// The target is void.
    Void = 0,
    /// The target is replaced by `replacement`.
    Amend = 1,
}

/// Why a correction was made.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_correction_reason {
    /// Typing or selection error.
    EntryError = 0,
    /// Recorded for the wrong resident.
    WrongResident = 1,
    /// Recorded twice.
    Duplicate = 2,
    /// Faulty measurement.
    MeasurementError = 3,
    /// Other (note required).
    Other = 4,
}

// ---------------------------------------------------------------------------------------
// Structs
// ---------------------------------------------------------------------------------------

/// A record id: origin device, its storage epoch, sequence number.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_record_id {
    /// Originating device (1..).
    pub device: u32,
    /// Storage incarnation of the device (1..).
    pub epoch: u32,
    /// Sequence number within (device, epoch) (1..).
    pub seq: u32,
}

/// A calendar date. All zero means "none" where a date is optional.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_date {
    /// Year, 1900..=2099.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day, 1..=31.
    pub day: u8,
}

/// What every record carries: id, resident, time.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_record_header {
    /// The record's id.
    pub id: tcm_record_id,
    /// Care home of the resident (1..).
    pub care_home: u32,
    /// Pseudonymous resident number within the care home (1..).
    pub resident: u32,
    /// 1: `utc_seconds` holds the time; 0: the device had no clock, `boot` and
    /// `uptime_s` place the record instead.
    pub time_known: u8,
    /// Seconds since 1970-01-01T00:00:00Z (2024-01-01 or later) when `time_known` is 1.
    pub utc_seconds: u64,
    /// Persistent boot counter of the originating device when `time_known` is 0.
    pub boot: u32,
    /// Seconds since that boot when `time_known` is 0.
    pub uptime_s: u32,
}

/// Resident registration / update (`TCM_RECORD_KIND_RESIDENT`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_resident {
    /// Date of birth.
    pub birth_date: tcm_date,
    /// A `tcm_sex` value.
    pub sex: u8,
    /// `TCM_CONDITION_*` bits.
    pub conditions: u8,
    /// `TCM_CONSENT_*` bits.
    pub consent: u8,
    /// A `tcm_residency_status` value.
    pub status: u8,
}

/// Vital signs (`TCM_RECORD_KIND_VITALS`). A value counts only when its
/// `TCM_VITAL_*` bit is set in `present`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_vitals {
    /// `TCM_VITAL_*` bits of the values present.
    pub present: u16,
    /// Systolic pressure, mmHg.
    pub systolic_mmhg: u16,
    /// Diastolic pressure, mmHg.
    pub diastolic_mmhg: u16,
    /// Pulse, /min.
    pub pulse_per_min: u16,
    /// SpO2, whole %.
    pub spo2_percent: u8,
    /// A `tcm_temperature_site` value (with `TCM_VITAL_TEMPERATURE`).
    pub temperature_site: u8,
    /// Body temperature, 0.01 degrees C.
    pub temperature_centi_c: i16,
    /// Weight, g.
    pub weight_g: u32,
    /// Height, mm.
    pub height_mm: u16,
    /// Waist circumference, mm.
    pub waist_mm: u16,
    /// Blood glucose, umol/L (0.001 mmol/L).
    pub glucose_umol_l: u32,
    /// A `tcm_glucose_context` value (with `TCM_VITAL_GLUCOSE`).
    pub glucose_context: u8,
    /// A `tcm_measurement_source` value.
    pub source: u8,
    /// Output: `TCM_ALERT_*` bits derived from the values.
    pub alerts: u16,
}

/// Guidance given for one constitution.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_guidance_given {
    /// A `tcm_constitution` value.
    pub constitution: u8,
    /// Categories ticked: bit `1 << c` for each `tcm_guidance_category` c.
    pub categories: u8,
    /// Text of the "other" category (required exactly when its bit is set).
    pub other: [c_char; TCM_OTHER_GUIDANCE_CAPACITY],
}

/// Constitution assessment (`TCM_RECORD_KIND_CONSTITUTION`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_constitution_record {
    /// Answers to items 1..=33 (`answers[0]` is item 1), each 1..=5.
    pub answers: [u8; TCM_ITEM_COUNT],
    /// Staff number of the assessing doctor.
    pub assessor: u32,
    /// Entries used in `guidance`.
    pub guidance_count: u8,
    /// Guidance given, at most one entry per constitution.
    pub guidance: [tcm_guidance_given; TCM_CONSTITUTION_COUNT],
    /// Output: the nine scores, indexed by `tcm_constitution`.
    pub scores: [u8; TCM_CONSTITUTION_COUNT],
    /// Output: the nine verdicts (`tcm_verdict` values), indexed by `tcm_constitution`.
    pub verdicts: [u8; TCM_CONSTITUTION_COUNT],
    /// Output: primary constitution(s), bit `1 << c` per `tcm_constitution` c.
    pub primary: u16,
}

/// TCM technique treatment (`TCM_RECORD_KIND_TREATMENT`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_treatment {
    /// A `tcm_technique` value.
    pub technique: u8,
    /// Entries used in `acupoints`.
    pub acupoint_count: u8,
    /// WHO acupoint codes (`"ST36"`, `"EX-HN3"`), NUL-terminated. Decoding writes the
    /// canonical form.
    pub acupoints: [[c_char; TCM_ACUPOINT_CODE_CAPACITY]; TCM_MAX_ACUPOINTS],
    /// Duration, minutes (0 only when refused).
    pub duration_min: u16,
    /// Staff number of the practitioner.
    pub practitioner: u32,
    /// A `tcm_treatment_outcome` value.
    pub outcome: u8,
    /// A `tcm_adverse_event` value.
    pub adverse_event: u8,
    /// Free-text note (required with `TCM_ADVERSE_EVENT_OTHER`).
    pub note: [c_char; TCM_NOTE_CAPACITY],
}

/// One herb of a prescription.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_herb_dose {
    /// Herb name (UTF-8, e.g. 黄芪).
    pub name: [c_char; TCM_HERB_NAME_CAPACITY],
    /// Dose per 剂, 0.1 g.
    pub decigrams: u16,
}

/// Herbal prescription or delivery event (`TCM_RECORD_KIND_HERBAL`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_herbal {
    /// A `tcm_herbal_stage` value.
    pub stage: u8,
    /// For `TCM_HERBAL_STAGE_PRESCRIBED`: number of doses (剂数).
    pub doses: u8,
    /// For `TCM_HERBAL_STAGE_PRESCRIBED`: entries used in `herbs`.
    pub herb_count: u8,
    /// 1 when `prescription` is set (every stage after prescribed).
    pub has_prescription: u8,
    /// For `TCM_HERBAL_STAGE_PRESCRIBED`: the herbs.
    pub herbs: [tcm_herb_dose; TCM_MAX_HERBS],
    /// For later stages: the prescription record.
    pub prescription: tcm_record_id,
    /// Staff number of who did this step.
    pub actor: u32,
    /// Free-text note.
    pub note: [c_char; TCM_NOTE_CAPACITY],
}

/// Chronic-disease TCM follow-up (`TCM_RECORD_KIND_FOLLOW_UP`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_follow_up {
    /// A `tcm_chronic_condition` value.
    pub condition: u8,
    /// A `tcm_condition_control` value.
    pub control: u8,
    /// Guidance categories given: bit `1 << c` per `tcm_guidance_category` c.
    pub guidance: u8,
    /// Entries used in `interventions`.
    pub intervention_count: u8,
    /// `tcm_technique` values applied or prescribed.
    pub interventions: [u8; TCM_MAX_INTERVENTIONS],
    /// Next visit; all zero for none.
    pub next_visit: tcm_date,
    /// Staff number of the clinician.
    pub clinician: u32,
}

/// Amend / void of an earlier record (`TCM_RECORD_KIND_CORRECTION`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_correction {
    /// The record corrected.
    pub target: tcm_record_id,
    /// A `tcm_correction_action` value.
    pub action: u8,
    /// A `tcm_correction_reason` value.
    pub reason: u8,
    /// With `TCM_CORRECTION_ACTION_AMEND`: the replacement record.
    pub replacement: tcm_record_id,
    /// Free-text note (required with `TCM_CORRECTION_REASON_OTHER`).
    pub note: [c_char; TCM_NOTE_CAPACITY],
}

/// The kind-specific part of a record: the member named by `tcm_record.kind`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union tcm_record_body {
    /// `TCM_RECORD_KIND_RESIDENT`.
    pub resident: tcm_resident,
    /// `TCM_RECORD_KIND_VITALS`.
    pub vitals: tcm_vitals,
    /// `TCM_RECORD_KIND_CONSTITUTION`.
    pub constitution: tcm_constitution_record,
    /// `TCM_RECORD_KIND_TREATMENT`.
    pub treatment: tcm_treatment,
    /// `TCM_RECORD_KIND_HERBAL`.
    pub herbal: tcm_herbal,
    /// `TCM_RECORD_KIND_FOLLOW_UP`.
    pub follow_up: tcm_follow_up,
    /// `TCM_RECORD_KIND_CORRECTION`.
    pub correction: tcm_correction,
}

/// A record: kind, header and the body member named by the kind.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct tcm_record {
    /// A `tcm_record_kind` value (or, after `TCM_STATUS_UNKNOWN_KIND`, the unknown kind
    /// number).
    pub kind: u8,
    /// Id, resident, time.
    pub header: tcm_record_header,
    /// The member named by `kind`.
    pub body: tcm_record_body,
}

// SAFETY: every field of these types is an integer, an array of integers, or a struct or
// union made only of those, so the all-zero bit pattern is a valid value.
unsafe impl pod::Pod for tcm_record {}
unsafe impl pod::Pod for tcm_record_header {}
unsafe impl pod::Pod for tcm_treatment {}
unsafe impl pod::Pod for tcm_herbal {}
unsafe impl pod::Pod for tcm_correction {}
unsafe impl pod::Pod for tcm_constitution_record {}

// ---------------------------------------------------------------------------------------
// C -> Rust
// ---------------------------------------------------------------------------------------

/// `TCM_STATUS_INVALID_ARGUMENT` for a field value outside its allowed codes.
fn invalid(field: &str, value: impl fmt::Display) -> tcm_status {
    fail(
        tcm_status::InvalidArgument,
        format_args!("{field}: {value} is not an allowed value"),
    )
}

/// Parses an enum code of a struct field.
fn code<T>(value: u8, parse: fn(u8) -> Option<T>, field: &str) -> Result<T, tcm_status> {
    parse(value).ok_or_else(|| invalid(field, value))
}

/// A count field checked against its array capacity.
fn count(n: u8, max: usize, field: &'static str) -> Result<usize, tcm_status> {
    let n = usize::from(n);
    if n > max {
        return Err(validation_error(ValidationError::TooMany { field, max }));
    }
    Ok(n)
}

/// A bounded core string from a NUL-terminated C text field.
fn text<const N: usize>(
    field: &[c_char],
    name: &'static str,
) -> Result<heapless::String<N>, tcm_status> {
    let s = text_field(field, name)?;
    bounded_str::<N>(s, name).map_err(validation_error)
}

fn record_id(id: &tcm_record_id) -> RecordId {
    RecordId {
        device: DeviceId(id.device),
        epoch: Epoch(id.epoch),
        seq: Seq(id.seq),
    }
}

/// A required date.
fn date(d: &tcm_date, field: &str) -> Result<Date, tcm_status> {
    Date::new(d.year, d.month, d.day).map_err(|e| time_error(e, field))
}

/// An optional date: all zero is none.
fn opt_date(d: &tcm_date, field: &str) -> Result<Option<Date>, tcm_status> {
    if d.year == 0 && d.month == 0 && d.day == 0 {
        return Ok(None);
    }
    date(d, field).map(Some)
}

fn header(h: &tcm_record_header) -> Result<Header, tcm_status> {
    let time = match h.time_known {
        1 => Timestamp::Utc(
            UtcSeconds::new(h.utc_seconds).map_err(|e| time_error(e, "header.utc_seconds"))?,
        ),
        0 => Timestamp::Unknown {
            boot: h.boot,
            uptime_s: h.uptime_s,
        },
        v => return Err(invalid("header.time_known", v)),
    };
    Ok(Header {
        id: record_id(&h.id),
        resident: ResidentRef {
            care_home: CareHomeId(h.care_home),
            number: ResidentNumber(h.resident),
        },
        time,
    })
}

fn resident(r: &tcm_resident) -> Result<ResidentRegistration, tcm_status> {
    Ok(ResidentRegistration {
        birth_date: date(&r.birth_date, "resident.birth_date")?,
        sex: code(r.sex, Sex::from_code, "resident.sex")?,
        conditions: code(
            r.conditions,
            ChronicConditions::from_bits,
            "resident.conditions",
        )?,
        consent: code(r.consent, ConsentFlags::from_bits, "resident.consent")?,
        status: code(r.status, ResidencyStatus::from_u8, "resident.status")?,
    })
}

fn vitals(v: &tcm_vitals) -> Result<VitalSigns, tcm_status> {
    if v.present & !TCM_VITAL_ALL != 0 {
        return Err(invalid("vitals.present", v.present));
    }
    let has = |bit: u16| v.present & bit != 0;
    let mut out = VitalSigns {
        source: code(v.source, MeasurementSource::from_u8, "vitals.source")?,
        ..VitalSigns::default()
    };
    if has(TCM_VITAL_SYSTOLIC) {
        out.systolic_mmhg = Some(v.systolic_mmhg);
    }
    if has(TCM_VITAL_DIASTOLIC) {
        out.diastolic_mmhg = Some(v.diastolic_mmhg);
    }
    if has(TCM_VITAL_PULSE) {
        out.pulse_per_min = Some(v.pulse_per_min);
    }
    if has(TCM_VITAL_SPO2) {
        out.spo2_percent = Some(v.spo2_percent);
    }
    if has(TCM_VITAL_TEMPERATURE) {
        out.temperature_centi_c = Some(v.temperature_centi_c);
        out.temperature_site = code(
            v.temperature_site,
            TemperatureSite::from_u8,
            "vitals.temperature_site",
        )?;
    }
    if has(TCM_VITAL_WEIGHT) {
        out.weight_g = Some(v.weight_g);
    }
    if has(TCM_VITAL_HEIGHT) {
        out.height_mm = Some(v.height_mm);
    }
    if has(TCM_VITAL_WAIST) {
        out.waist_mm = Some(v.waist_mm);
    }
    if has(TCM_VITAL_GLUCOSE) {
        out.glucose_umol_l = Some(v.glucose_umol_l);
        out.glucose_context = code(
            v.glucose_context,
            GlucoseContext::from_u8,
            "vitals.glucose_context",
        )?;
    }
    Ok(out)
}

fn constitution(c: &tcm_constitution_record) -> Result<ConstitutionRecord, tcm_status> {
    let n = count(
        c.guidance_count,
        TCM_CONSTITUTION_COUNT,
        "constitution.guidance",
    )?;
    let mut guidance = heapless::Vec::new();
    for g in &c.guidance[..n] {
        let entry = GuidanceGiven {
            constitution: code(
                g.constitution,
                Constitution::from_index,
                "constitution.guidance.constitution",
            )?,
            categories: code(
                g.categories,
                GuidanceSet::from_bits,
                "constitution.guidance.categories",
            )?,
            other: text(&g.other, "constitution.guidance.other")?,
        };
        // n <= the capacity, checked above.
        let _ = guidance.push(entry);
    }
    Ok(ConstitutionRecord {
        answers: c.answers,
        assessor: StaffId(c.assessor),
        guidance,
    })
}

fn treatment(t: &tcm_treatment) -> Result<Treatment, tcm_status> {
    let n = count(t.acupoint_count, TCM_MAX_ACUPOINTS, "treatment.acupoints")?;
    let mut acupoints = heapless::Vec::new();
    for (i, a) in t.acupoints[..n].iter().enumerate() {
        let s = text_field(a, "treatment.acupoints")?;
        let point = Acupoint::parse(s)
            .map_err(|e| acupoint_error(e, &format!("treatment.acupoints[{i}] \"{s}\"")))?;
        // n <= the capacity, checked above.
        let _ = acupoints.push(point);
    }
    Ok(Treatment {
        technique: code(t.technique, Technique::from_u8, "treatment.technique")?,
        acupoints,
        duration_min: t.duration_min,
        practitioner: StaffId(t.practitioner),
        outcome: code(t.outcome, TreatmentOutcome::from_u8, "treatment.outcome")?,
        adverse_event: code(
            t.adverse_event,
            AdverseEvent::from_u8,
            "treatment.adverse_event",
        )?,
        note: text(&t.note, "treatment.note")?,
    })
}

fn herbal(h: &tcm_herbal) -> Result<HerbalEvent, tcm_status> {
    let n = count(h.herb_count, TCM_MAX_HERBS, "herbal.herbs")?;
    let mut herbs = heapless::Vec::new();
    for herb in &h.herbs[..n] {
        let dose = HerbDose {
            name: text(&herb.name, "herbal.herbs.name")?,
            decigrams: herb.decigrams,
        };
        // n <= the capacity, checked above.
        let _ = herbs.push(dose);
    }
    let prescription = match h.has_prescription {
        0 => None,
        1 => Some(record_id(&h.prescription)),
        v => return Err(invalid("herbal.has_prescription", v)),
    };
    Ok(HerbalEvent {
        stage: code(h.stage, HerbalStage::from_u8, "herbal.stage")?,
        prescription,
        doses: h.doses,
        herbs,
        actor: StaffId(h.actor),
        note: text(&h.note, "herbal.note")?,
    })
}

fn follow_up(f: &tcm_follow_up) -> Result<FollowUp, tcm_status> {
    let n = count(
        f.intervention_count,
        TCM_MAX_INTERVENTIONS,
        "follow_up.interventions",
    )?;
    let mut interventions = heapless::Vec::new();
    for &t in &f.interventions[..n] {
        let technique = code(t, Technique::from_u8, "follow_up.interventions")?;
        // n <= the capacity, checked above.
        let _ = interventions.push(technique);
    }
    Ok(FollowUp {
        condition: code(
            f.condition,
            ChronicCondition::from_u8,
            "follow_up.condition",
        )?,
        control: code(f.control, ConditionControl::from_u8, "follow_up.control")?,
        guidance: code(f.guidance, GuidanceSet::from_bits, "follow_up.guidance")?,
        interventions,
        next_visit: opt_date(&f.next_visit, "follow_up.next_visit")?,
        clinician: StaffId(f.clinician),
    })
}

fn correction(c: &tcm_correction) -> Result<Correction, tcm_status> {
    let action = match c.action {
        0 => CorrectionAction::Void,
        1 => CorrectionAction::Amend {
            replacement: record_id(&c.replacement),
        },
        v => return Err(invalid("correction.action", v)),
    };
    Ok(Correction {
        target: record_id(&c.target),
        action,
        reason: code(c.reason, CorrectionReason::from_u8, "correction.reason")?,
        note: text(&c.note, "correction.note")?,
    })
}

/// Converts a C record into the core record (checks codes and text; the domain rules are
/// checked by core when validating or encoding).
pub(crate) fn from_c(r: &tcm_record) -> Result<Record, tcm_status> {
    let kind = code(r.kind, Kind::from_u8, "kind")?;
    let header = header(&r.header)?;
    // SAFETY (each union read below): every member of `tcm_record_body` consists of
    // integers and integer arrays only, so any initialised bytes are a valid value of the
    // member `kind` names.
    let body = match kind {
        Kind::Resident => Body::Resident(resident(unsafe { &r.body.resident })?),
        Kind::Vitals => Body::Vitals(vitals(unsafe { &r.body.vitals })?),
        Kind::Constitution => Body::Constitution(constitution(unsafe { &r.body.constitution })?),
        Kind::Treatment => Body::Treatment(treatment(unsafe { &r.body.treatment })?),
        Kind::Herbal => Body::Herbal(herbal(unsafe { &r.body.herbal })?),
        Kind::FollowUp => Body::FollowUp(follow_up(unsafe { &r.body.follow_up })?),
        Kind::Correction => Body::Correction(correction(unsafe { &r.body.correction })?),
    };
    Ok(Record { header, body })
}

// ---------------------------------------------------------------------------------------
// Rust -> C
// ---------------------------------------------------------------------------------------

fn c_record_id(id: &RecordId) -> tcm_record_id {
    tcm_record_id {
        device: id.device.0,
        epoch: id.epoch.0,
        seq: id.seq.0,
    }
}

fn c_date(d: Option<Date>) -> tcm_date {
    match d {
        Some(d) => tcm_date {
            year: d.year(),
            month: d.month(),
            day: d.day(),
        },
        None => tcm_date {
            year: 0,
            month: 0,
            day: 0,
        },
    }
}

pub(crate) fn c_header(h: &Header) -> tcm_record_header {
    let (time_known, utc_seconds, boot, uptime_s) = match h.time {
        Timestamp::Utc(t) => (1, t.unix(), 0, 0),
        Timestamp::Unknown { boot, uptime_s } => (0, 0, boot, uptime_s),
    };
    tcm_record_header {
        id: c_record_id(&h.id),
        care_home: h.resident.care_home.0,
        resident: h.resident.number.0,
        time_known,
        utc_seconds,
        boot,
        uptime_s,
    }
}

fn c_resident(r: &ResidentRegistration) -> tcm_resident {
    tcm_resident {
        birth_date: c_date(Some(r.birth_date)),
        sex: r.sex.code(),
        conditions: r.conditions.bits(),
        consent: r.consent.bits(),
        status: r.status as u8,
    }
}

fn c_vitals(v: &VitalSigns) -> tcm_vitals {
    let mut present = 0;
    let mut bit = |on: bool, b: u16| {
        if on {
            present |= b;
        }
    };
    bit(v.systolic_mmhg.is_some(), TCM_VITAL_SYSTOLIC);
    bit(v.diastolic_mmhg.is_some(), TCM_VITAL_DIASTOLIC);
    bit(v.pulse_per_min.is_some(), TCM_VITAL_PULSE);
    bit(v.spo2_percent.is_some(), TCM_VITAL_SPO2);
    bit(v.temperature_centi_c.is_some(), TCM_VITAL_TEMPERATURE);
    bit(v.weight_g.is_some(), TCM_VITAL_WEIGHT);
    bit(v.height_mm.is_some(), TCM_VITAL_HEIGHT);
    bit(v.waist_mm.is_some(), TCM_VITAL_WAIST);
    bit(v.glucose_umol_l.is_some(), TCM_VITAL_GLUCOSE);
    tcm_vitals {
        present,
        systolic_mmhg: v.systolic_mmhg.unwrap_or(0),
        diastolic_mmhg: v.diastolic_mmhg.unwrap_or(0),
        pulse_per_min: v.pulse_per_min.unwrap_or(0),
        spo2_percent: v.spo2_percent.unwrap_or(0),
        temperature_site: v.temperature_site as u8,
        temperature_centi_c: v.temperature_centi_c.unwrap_or(0),
        weight_g: v.weight_g.unwrap_or(0),
        height_mm: v.height_mm.unwrap_or(0),
        waist_mm: v.waist_mm.unwrap_or(0),
        glucose_umol_l: v.glucose_umol_l.unwrap_or(0),
        glucose_context: v.glucose_context as u8,
        source: v.source as u8,
        alerts: v.alerts().bits(),
    }
}

fn c_constitution(c: &ConstitutionRecord) -> Result<tcm_constitution_record, tcm_status> {
    let mut out: tcm_constitution_record = pod::zeroed();
    out.answers = c.answers;
    out.assessor = c.assessor.0;
    out.guidance_count = c.guidance.len() as u8;
    for (dst, g) in out.guidance.iter_mut().zip(&c.guidance) {
        dst.constitution = g.constitution.index() as u8;
        dst.categories = g.categories.bits();
        set_text(&mut dst.other, &g.other, "constitution.guidance.other")?;
    }
    // A decoded record is valid, so its answers always assess.
    if let Ok(a) = c.assessment() {
        out.scores = a.scores();
        out.verdicts = a.verdicts().map(|v| v as u8);
        out.primary = a.primary().bits();
    }
    Ok(out)
}

/// Formats into a fixed array without allocating; fails instead of truncating.
struct FixedText<'a> {
    dst: &'a mut [c_char],
    len: usize,
}

impl fmt::Write for FixedText<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Keep one byte for the NUL.
        let end = self.len + s.len();
        if end >= self.dst.len() {
            return Err(fmt::Error);
        }
        for (d, &b) in self.dst[self.len..end].iter_mut().zip(s.as_bytes()) {
            *d = b as c_char;
        }
        self.len = end;
        Ok(())
    }
}

fn c_treatment(t: &Treatment) -> Result<tcm_treatment, tcm_status> {
    let mut out: tcm_treatment = pod::zeroed();
    out.technique = t.technique as u8;
    out.acupoint_count = t.acupoints.len() as u8;
    for (dst, a) in out.acupoints.iter_mut().zip(&t.acupoints) {
        let mut w = FixedText { dst, len: 0 };
        if write!(w, "{a}").is_err() {
            return Err(fail(
                tcm_status::TextTooLong,
                format_args!("treatment.acupoints: {a} does not fit"),
            ));
        }
        // The array is zeroed, so the NUL is already in place.
    }
    out.duration_min = t.duration_min;
    out.practitioner = t.practitioner.0;
    out.outcome = t.outcome as u8;
    out.adverse_event = t.adverse_event as u8;
    set_text(&mut out.note, &t.note, "treatment.note")?;
    Ok(out)
}

fn c_herbal(h: &HerbalEvent) -> Result<tcm_herbal, tcm_status> {
    let mut out: tcm_herbal = pod::zeroed();
    out.stage = h.stage as u8;
    out.doses = h.doses;
    out.herb_count = h.herbs.len() as u8;
    for (dst, herb) in out.herbs.iter_mut().zip(&h.herbs) {
        set_text(&mut dst.name, &herb.name, "herbal.herbs.name")?;
        dst.decigrams = herb.decigrams;
    }
    if let Some(p) = &h.prescription {
        out.has_prescription = 1;
        out.prescription = c_record_id(p);
    }
    out.actor = h.actor.0;
    set_text(&mut out.note, &h.note, "herbal.note")?;
    Ok(out)
}

fn c_follow_up(f: &FollowUp) -> tcm_follow_up {
    let mut interventions = [0u8; TCM_MAX_INTERVENTIONS];
    for (dst, t) in interventions.iter_mut().zip(&f.interventions) {
        *dst = t.to_u8();
    }
    tcm_follow_up {
        condition: f.condition as u8,
        control: f.control as u8,
        guidance: f.guidance.bits(),
        intervention_count: f.interventions.len() as u8,
        interventions,
        next_visit: c_date(f.next_visit),
        clinician: f.clinician.0,
    }
}

fn c_correction(c: &Correction) -> Result<tcm_correction, tcm_status> {
    let mut out: tcm_correction = pod::zeroed();
    out.target = c_record_id(&c.target);
    match c.action {
        CorrectionAction::Void => out.action = tcm_correction_action::Void as u8,
        CorrectionAction::Amend { replacement } => {
            out.action = tcm_correction_action::Amend as u8;
            out.replacement = c_record_id(&replacement);
        }
    }
    out.reason = c.reason as u8;
    set_text(&mut out.note, &c.note, "correction.note")?;
    Ok(out)
}

/// Writes `kind` and `header` of `out` (the body is left as it is).
///
/// # Safety
/// `out` is non-NULL and points to writable memory for a `tcm_record`.
pub(crate) unsafe fn write_kind_and_header(out: *mut tcm_record, kind: u8, h: &Header) {
    let h = c_header(h);
    // SAFETY: writable by the contract; `write` does not read the old content.
    unsafe {
        addr_of_mut!((*out).kind).write(kind);
        addr_of_mut!((*out).header).write(h);
    }
}

/// Writes a core record into `out`: kind, header and the body member of its kind only
/// (the other union bytes are left as they are).
///
/// # Safety
/// `out` is non-NULL and points to writable memory for a `tcm_record`.
pub(crate) unsafe fn write_record(out: *mut tcm_record, r: &Record) -> Result<(), tcm_status> {
    // Convert first, so a failure leaves `out` untouched.
    // SAFETY (the body writes below): `out` is writable by the contract; each write
    // targets one union member through a raw place, without reading the old content.
    match &r.body {
        Body::Resident(b) => {
            let b = c_resident(b);
            unsafe { addr_of_mut!((*out).body.resident).write(b) }
        }
        Body::Vitals(b) => {
            let b = c_vitals(b);
            unsafe { addr_of_mut!((*out).body.vitals).write(b) }
        }
        Body::Constitution(b) => {
            let b = c_constitution(b)?;
            unsafe { addr_of_mut!((*out).body.constitution).write(b) }
        }
        Body::Treatment(b) => {
            let b = c_treatment(b)?;
            unsafe { addr_of_mut!((*out).body.treatment).write(b) }
        }
        Body::Herbal(b) => {
            let b = c_herbal(b)?;
            unsafe { addr_of_mut!((*out).body.herbal).write(b) }
        }
        Body::FollowUp(b) => {
            let b = c_follow_up(b);
            unsafe { addr_of_mut!((*out).body.follow_up).write(b) }
        }
        Body::Correction(b) => {
            let b = c_correction(b)?;
            unsafe { addr_of_mut!((*out).body.correction).write(b) }
        }
    }
    // SAFETY: as above.
    unsafe { write_kind_and_header(out, r.kind() as u8, &r.header) };
    Ok(())
}

/// Decodes one envelope spanning all of `bytes` into `out`. Strict decoding rejects body
/// bytes after the known fields (`TCM_STATUS_DECODE_TRAILING_BYTES`); lenient decoding
/// accepts them and returns their count. An unknown kind fills `kind` and `header` and
/// fails with `TCM_STATUS_UNKNOWN_KIND`.
///
/// # Safety
/// `out` is non-NULL and points to writable memory for a `tcm_record`.
pub(crate) unsafe fn decode_into(
    bytes: &[u8],
    out: *mut tcm_record,
    lenient: bool,
) -> Result<usize, tcm_status> {
    if lenient {
        // SAFETY (both calls): caller contract.
        let d =
            Record::decode_lenient(bytes).map_err(|e| unsafe { decode_failure(bytes, e, out) })?;
        unsafe { write_record(out, &d.record)? };
        return Ok(d.extension.len());
    }
    // The fast path: decode in place instead of moving the (large) record around.
    let mut record = Record::placeholder();
    match Record::decode_into(bytes, &mut record) {
        // SAFETY: caller contract.
        Ok(()) => unsafe { write_record(out, &record)? },
        // SAFETY: caller contract.
        Err(e) => return Err(unsafe { decode_failure(bytes, e, out) }),
    }
    Ok(0)
}

/// The status of a failed decode. For an unknown kind, fills `kind` and `header` of `out`
/// first (the envelope parsed, so its header is readable for every kind).
///
/// # Safety
/// `out` is non-NULL and points to writable memory for a `tcm_record`.
unsafe fn decode_failure(bytes: &[u8], e: RecordError, out: *mut tcm_record) -> tcm_status {
    let RecordError::UnknownKind(kind) = e else {
        return record_error(e, &mut 0);
    };
    let header = Envelope::parse_exact(bytes).and_then(|env| env.header());
    match header {
        Ok(h) => {
            // SAFETY: caller contract.
            unsafe { write_kind_and_header(out, kind, &h) };
            fail(
                tcm_status::UnknownKind,
                format_args!("kind {kind}: keep and forward the {} bytes", bytes.len()),
            )
        }
        Err(d) => decode_error(d),
    }
}

// ---------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------

/// Zeroes `*record` and sets its kind: the starting point for building a record. Sets
/// the defaults that are not zero (`body.vitals.glucose_context` =
/// `TCM_GLUCOSE_CONTEXT_RANDOM`). Fails with `TCM_STATUS_INVALID_ARGUMENT` for a kind
/// that is not a `tcm_record_kind`.
///
/// # Safety
/// `record` points to writable memory for a `tcm_record`.
#[no_mangle]
pub unsafe extern "C" fn tcm_record_init(record: *mut tcm_record, kind: u8) -> tcm_status {
    boundary(|| {
        let k = code(kind, Kind::from_u8, "kind")?;
        let mut r: tcm_record = pod::zeroed();
        r.kind = kind;
        if k == Kind::Vitals {
            r.body.vitals.glucose_context = tcm_glucose_context::Random as u8;
        }
        // SAFETY: caller contract of this function.
        unsafe { buffer::put(record, r, "record") }
    })
}

/// Checks every rule of the record (the codes and text of its fields, then the domain
/// rules of core) without encoding it.
///
/// # Safety
/// `record` points to an initialised `tcm_record`.
#[no_mangle]
pub unsafe extern "C" fn tcm_record_validate(record: *const tcm_record) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let r = unsafe { buffer::read(record, "record")? };
        from_c(r)?.validate().map_err(validation_error)
    })
}

/// Validates `*record` and encodes it as an envelope (kind, body length, body) into
/// `buf`. `*written` receives the bytes written, or with `TCM_STATUS_BUFFER_TOO_SMALL`
/// the size needed. `TCM_MAX_ENVELOPE_LEN` bytes always suffice.
///
/// # Safety
/// `record` points to an initialised `tcm_record`; `buf` to `len` writable bytes (or is
/// NULL with `len == 0`); `written` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_record_encode(
    record: *const tcm_record,
    buf: *mut u8,
    len: usize,
    written: *mut usize,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let r = unsafe { buffer::read(record, "record")? };
        buffer::non_null(written, "written")?;
        let rec = from_c(r)?;
        // SAFETY: caller contract of this function.
        let out = unsafe { buffer::output(buf, len, "buf")? };
        let mut needed = 0;
        let result = rec.encode(out).map_err(|e| record_error(e, &mut needed));
        // SAFETY: `written` checked non-NULL above; caller contract.
        unsafe { buffer::report_len(result, needed, written) }
    })
}

/// Validates `*record` and encodes it as a complete frame (envelope, CRC-32C, COBS, 0x00
/// delimiter) into `buf`, ready to write to a serial line or socket. Buffer rules as for
/// `tcm_record_encode()`; `TCM_MAX_RECORD_FRAME_LEN` bytes always suffice.
///
/// # Safety
/// As for `tcm_record_encode()`.
#[no_mangle]
pub unsafe extern "C" fn tcm_record_encode_frame(
    record: *const tcm_record,
    buf: *mut u8,
    len: usize,
    written: *mut usize,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let r = unsafe { buffer::read(record, "record")? };
        buffer::non_null(written, "written")?;
        let rec = from_c(r)?;
        // SAFETY: caller contract of this function.
        let out = unsafe { buffer::output(buf, len, "buf")? };
        let mut needed = 0;
        let result = encode_record_frame(&rec, out).map_err(|e| record_error(e, &mut needed));
        // SAFETY: `written` checked non-NULL above; caller contract.
        unsafe { buffer::report_len(result, needed, written) }
    })
}

/// Decodes one envelope spanning all of `bytes` into `*out` and validates it. The
/// envelope must hold exactly the fields this version knows: a newer, longer body gives
/// `TCM_STATUS_DECODE_TRAILING_BYTES` (see `tcm_record_decode_lenient()`). A kind this
/// version does not know gives `TCM_STATUS_UNKNOWN_KIND` with `out->kind` and
/// `out->header` filled in: keep the bytes and forward them unchanged.
///
/// # Safety
/// `bytes` points to `len` readable bytes; `out` to writable memory for a `tcm_record`.
#[no_mangle]
pub unsafe extern "C" fn tcm_record_decode(
    bytes: *const u8,
    len: usize,
    out: *mut tcm_record,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let input = unsafe { buffer::input(bytes, len, "bytes")? };
        buffer::non_null(out, "out")?;
        // SAFETY: `out` checked non-NULL; caller contract.
        unsafe { decode_into(input, out, false) }.map(|_| ())
    })
}

/// Like `tcm_record_decode()`, but accepts a body longer than this version's fields (a
/// newer writer's additions): `*extension_len` receives the number of such trailing body
/// bytes (0 for a same-version writer). Keep the envelope bytes to forward them whole.
///
/// # Safety
/// As for `tcm_record_decode()`; `extension_len` points to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_record_decode_lenient(
    bytes: *const u8,
    len: usize,
    out: *mut tcm_record,
    extension_len: *mut usize,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let input = unsafe { buffer::input(bytes, len, "bytes")? };
        buffer::non_null(out, "out")?;
        buffer::non_null(extension_len, "extension_len")?;
        // SAFETY: `out` checked non-NULL; caller contract.
        let ext = unsafe { decode_into(input, out, true)? };
        // SAFETY: checked non-NULL above; caller contract.
        unsafe { extension_len.write(ext) };
        Ok(())
    })
}

/// Writes the JSON view of `*record` (one object, the same keys as the Python bindings
/// and JSON exports: `{"kind": "vitals", "id": {...}, "resident": {...}, "time": {...},
/// "systolic_mmhg": 128, ..., "alerts": [...]}`) into `buf`, NUL-terminated, without a
/// newline. Derived fields (alerts, scores, verdicts...) are computed. The record's codes
/// and text are checked as for encoding, its domain rules are not (use
/// `tcm_record_validate()`). Buffer rules as for `tcm_status_message()`.
///
/// # Safety
/// `record` points to an initialised `tcm_record`; `buf` to `len` writable bytes (or is
/// NULL with `len == 0`); `written` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_record_to_json(
    record: *const tcm_record,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let r = unsafe { buffer::read(record, "record")? };
        buffer::non_null(written, "written")?;
        let json = tcmcare_core::json::record_to_json(&from_c(r)?).to_string();
        // SAFETY: caller contract of this function.
        unsafe { buffer::write_str(&json, buf, len, written) }
    })
}

/// Frames up to this length are decoded in a stack buffer; longer ones in a heap copy.
const STACK_FRAME_LEN: usize = 256;

/// Checks and decodes one complete frame (COBS, CRC-32C; the trailing 0x00 may be
/// included or not) holding one record envelope into `*out`. Frame errors give the
/// `TCM_STATUS_FRAME_*` statuses; the envelope inside is decoded as by
/// `tcm_record_decode()`, including `TCM_STATUS_UNKNOWN_KIND`. `frame` is not modified.
///
/// # Safety
/// `frame` points to `len` readable bytes; `out` to writable memory for a `tcm_record`.
#[no_mangle]
pub unsafe extern "C" fn tcm_frame_decode_record(
    frame: *const u8,
    len: usize,
    out: *mut tcm_record,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let input = unsafe { buffer::input(frame, len, "frame")? };
        buffer::non_null(out, "out")?;
        let mut stack = [0u8; STACK_FRAME_LEN];
        let mut heap;
        let work: &mut [u8] = if input.len() <= STACK_FRAME_LEN {
            let w = &mut stack[..input.len()];
            w.copy_from_slice(input);
            w
        } else {
            heap = input.to_vec();
            &mut heap
        };
        let payload = decode_frame(work).map_err(frame_error)?;
        // SAFETY: `out` checked non-NULL; caller contract.
        unsafe { decode_into(payload, out, false) }.map(|_| ())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_match_core() {
        // The const assertions above are the real check; this keeps the values visible.
        assert_eq!(TCM_MAX_ENVELOPE_LEN, MAX_ENVELOPE_LEN);
        assert_eq!(TCM_MAX_RECORD_FRAME_LEN, MAX_RECORD_FRAME_LEN);
    }

    /// Checks a C enum against its core enum, variant by variant: the match over the C
    /// enum is exhaustive (a C variant added without its core twin does not compile), each
    /// C value is the wire value of the core variant of the same name and parses back to
    /// it, and core knows no wire value the C enum lacks.
    macro_rules! same_values {
        ($c:ident => $core:ident, $parse:expr, $wire:expr; $($v:ident),+ $(,)?) => {{
            let twin = |c: $c| match c {
                $($c::$v => $core::$v,)+
            };
            let mut c_values = Vec::new();
            $(
                let core = twin($c::$v);
                assert_eq!($c::$v as u8, $wire(core), "{}::{}", stringify!($c), stringify!($v));
                assert_eq!($parse($c::$v as u8), Some(core), "{}::{}", stringify!($c), stringify!($v));
                c_values.push($c::$v as u8);
            )+
            for n in 0..=u8::MAX {
                assert_eq!(
                    $parse(n).is_some(),
                    c_values.contains(&n),
                    "{} value {}",
                    stringify!($core),
                    n
                );
            }
        }};
    }

    #[test]
    fn enum_values_match_core() {
        same_values!(tcm_record_kind => Kind, Kind::from_u8, |k: Kind| k as u8;
            Resident, Vitals, Constitution, Treatment, Herbal, FollowUp, Correction);
        same_values!(tcm_sex => Sex, Sex::from_code, Sex::code; Unknown, Male, Female);
        same_values!(tcm_residency_status => ResidencyStatus, ResidencyStatus::from_u8,
            |s: ResidencyStatus| s as u8; Active, Discharged, Deceased);
        same_values!(tcm_temperature_site => TemperatureSite, TemperatureSite::from_u8,
            |s: TemperatureSite| s as u8; Forehead, Axilla, Ear, Oral, Other);
        same_values!(tcm_glucose_context => GlucoseContext, GlucoseContext::from_u8,
            |g: GlucoseContext| g as u8; Fasting, Random, Postprandial2h);
        same_values!(tcm_measurement_source => MeasurementSource, MeasurementSource::from_u8,
            |s: MeasurementSource| s as u8; KioskSensor, Bluetooth, Manual);
        same_values!(tcm_technique => Technique, Technique::from_u8, Technique::to_u8;
            Acupuncture, Moxibustion, Cupping, Tuina, GuaSha, AuricularPressing,
            AcupointApplication, HerbalFootBath, AcupointMassage, Baduanjin, TaiChi, Wuqinxi,
            Liuzijue, Electroacupuncture, AcupointInjection, IntradermalNeedle);
        same_values!(tcm_treatment_outcome => TreatmentOutcome, TreatmentOutcome::from_u8,
            |o: TreatmentOutcome| o as u8; Completed, StoppedEarly, Refused);
        same_values!(tcm_adverse_event => AdverseEvent, AdverseEvent::from_u8,
            |e: AdverseEvent| e as u8;
            None, Fainting, Burn, Bruising, Bleeding, NeedleIncident, SkinReaction, Other);
        same_values!(tcm_herbal_stage => HerbalStage, HerbalStage::from_u8,
            |s: HerbalStage| s as u8; Prescribed, Decocted, Dispatched, Delivered, Received);
        same_values!(tcm_chronic_condition => ChronicCondition, ChronicCondition::from_u8,
            |c: ChronicCondition| c as u8; Hypertension, Diabetes, StrokeHighRisk);
        same_values!(tcm_condition_control => ConditionControl, ConditionControl::from_u8,
            |c: ConditionControl| c as u8;
            Satisfactory, Unsatisfactory, AdverseReaction, Complication);
        same_values!(tcm_correction_reason => CorrectionReason, CorrectionReason::from_u8,
            |r: CorrectionReason| r as u8;
            EntryError, WrongResident, Duplicate, MeasurementError, Other);
    }
}
