//! Validation errors of records: one specific variant per rule, each with its entry of
//! the rule table ([`crate::codes::rule::RULES`]: code, field, family, C status number,
//! message).

use core::fmt;

use crate::codes::acupoint::AcupointError;
use crate::codes::rule::{Rule, RuleFamily, RULES};
use crate::constitution::Constitution;

use super::Kind;

/// Why a record was rejected. Each variant names one rule; the value that broke it is
/// carried where it helps the user correct the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ValidationError {
    /// Device id 0 is reserved for "not provisioned".
    DeviceIdZero,
    /// Epochs start at 1.
    EpochZero,
    /// Sequence numbers start at 1.
    SeqZero,
    /// Care home id 0 is reserved.
    CareHomeZero,
    /// Resident number 0 is reserved.
    ResidentNumberZero,
    /// A staff signature (assessor, practitioner, clinician) is required by the form.
    StaffMissing {
        /// The field that needs it.
        field: &'static str,
    },
    /// A text field is longer than its capacity in bytes.
    TextTooLong {
        /// The field.
        field: &'static str,
        /// Its capacity in UTF-8 bytes.
        max: usize,
    },
    /// A text field that must not be empty is empty.
    TextEmpty {
        /// The field.
        field: &'static str,
    },
    /// A list has more entries than its capacity.
    TooMany {
        /// The field.
        field: &'static str,
        /// Its capacity.
        max: usize,
    },

    /// Birth date after the record date, or implying an age above
    /// [`crate::record::MAX_AGE_YEARS`].
    BirthDateImplausible,

    /// A vital-signs record with no measurement at all.
    NoMeasurement,
    /// Only one of systolic / diastolic was given; a blood pressure needs both.
    BloodPressureIncomplete,
    /// Systolic pressure outside the plausible range (mmHg).
    SystolicOutOfRange(u16),
    /// Diastolic pressure outside the plausible range (mmHg).
    DiastolicOutOfRange(u16),
    /// Diastolic pressure not below systolic.
    DiastolicNotBelowSystolic {
        /// Systolic, mmHg.
        systolic: u16,
        /// Diastolic, mmHg.
        diastolic: u16,
    },
    /// Pulse rate outside the plausible range (/min).
    PulseOutOfRange(u16),
    /// SpO2 outside the plausible range (%).
    Spo2OutOfRange(u8),
    /// Body temperature outside the plausible range (0.01 °C).
    TemperatureOutOfRange(i16),
    /// Body weight outside the plausible range (g).
    WeightOutOfRange(u32),
    /// Body height outside the plausible range (mm).
    HeightOutOfRange(u16),
    /// Waist circumference outside the plausible range (mm).
    WaistOutOfRange(u16),
    /// Blood glucose outside the meter range (µmol/L).
    GlucoseOutOfRange(u32),

    /// A constitution answer outside 1..=5 at `item` (1-based).
    AnswerOutOfRange {
        /// Item number 1..=33.
        item: u8,
        /// The value given.
        value: u8,
    },
    /// Guidance recorded for a constitution the assessment did not identify.
    GuidanceForUnidentified(Constitution),
    /// The same constitution appears twice in the guidance list.
    DuplicateGuidance(Constitution),
    /// A guidance entry with no category ticked.
    GuidanceEmpty(Constitution),
    /// "Other" guidance ticked without its text, or text without "other".
    OtherGuidanceText(Constitution),

    /// An acupoint code that is not a valid WHO code.
    InvalidAcupoint(AcupointError),
    /// The same acupoint listed twice.
    DuplicateAcupoint,
    /// The technique is applied at acupoints but none was recorded.
    AcupointsRequired,
    /// Acupoints recorded for a technique that does not use WHO body acupoints.
    AcupointsNotApplicable,
    /// Treatment duration outside the plausible range (minutes), or non-zero for a refused
    /// treatment.
    DurationOutOfRange(u16),

    /// A prescription without herbs.
    NoHerbs,
    /// A herb listed twice in one prescription.
    DuplicateHerb {
        /// Index in the list.
        index: usize,
    },
    /// A herb dose outside the plausible range (0.1 g).
    HerbDoseOutOfRange {
        /// Index in the list.
        index: usize,
        /// Dose in 0.1 g.
        dose: u16,
    },
    /// Number of doses (剂数) outside the plausible range.
    DoseCountOutOfRange(u8),
    /// A prescription stage carrying a herb list or a prescription reference it must not
    /// have, or a delivery stage without the prescription it refers to.
    HerbalStageMismatch,

    /// A follow-up with neither guidance nor intervention recorded.
    FollowUpEmpty,
    /// The same technique listed twice among the interventions.
    DuplicateIntervention,
    /// Next visit not after the follow-up's date.
    NextVisitNotAfterVisit,

    /// A correction that names its own record.
    CorrectionTargetsItself,
    /// An amendment whose replacement is the target itself.
    AmendmentReplacementInvalid,
}

impl ValidationError {
    /// The index of this error's rule in [`RULES`].
    const fn rule_index(&self) -> usize {
        use ValidationError::*;
        match self {
            DeviceIdZero => 0,
            EpochZero => 1,
            SeqZero => 2,
            CareHomeZero => 3,
            ResidentNumberZero => 4,
            StaffMissing { .. } => 5,
            TextTooLong { .. } => 6,
            TextEmpty { .. } => 7,
            TooMany { .. } => 8,
            BirthDateImplausible => 9,
            NoMeasurement => 10,
            BloodPressureIncomplete => 11,
            SystolicOutOfRange(_) => 12,
            DiastolicOutOfRange(_) => 13,
            DiastolicNotBelowSystolic { .. } => 14,
            PulseOutOfRange(_) => 15,
            Spo2OutOfRange(_) => 16,
            TemperatureOutOfRange(_) => 17,
            WeightOutOfRange(_) => 18,
            HeightOutOfRange(_) => 19,
            WaistOutOfRange(_) => 20,
            GlucoseOutOfRange(_) => 21,
            AnswerOutOfRange { .. } => 22,
            GuidanceForUnidentified(_) => 23,
            DuplicateGuidance(_) => 24,
            GuidanceEmpty(_) => 25,
            OtherGuidanceText(_) => 26,
            InvalidAcupoint(_) => 27,
            DuplicateAcupoint => 28,
            AcupointsRequired => 29,
            AcupointsNotApplicable => 30,
            DurationOutOfRange(_) => 31,
            NoHerbs => 32,
            DuplicateHerb { .. } => 33,
            HerbDoseOutOfRange { .. } => 34,
            DoseCountOutOfRange(_) => 35,
            HerbalStageMismatch => 36,
            FollowUpEmpty => 37,
            DuplicateIntervention => 38,
            NextVisitNotAfterVisit => 39,
            CorrectionTargetsItself => 40,
            AmendmentReplacementInvalid => 41,
        }
    }

    /// The rule this error reports: its entry of [`RULES`].
    pub const fn rule(&self) -> &'static Rule {
        &RULES[self.rule_index()]
    }

    /// The stable snake_case code of the rule (`"systolic_out_of_range"`,
    /// `"staff_missing"`...).
    pub const fn code(&self) -> &'static str {
        self.rule().code
    }

    /// The family of the rule.
    pub const fn family(&self) -> RuleFamily {
        self.rule().family
    }

    /// The number of the rule's `tcm_status` in the C ABI.
    pub const fn status(&self) -> u16 {
        self.rule().status
    }

    /// The field of the JSON view the error is about (`"systolic_mmhg"`, `"id.device"`,
    /// `"guidance"`, `"herbs.name"`...); `""` when it is about the record as a whole.
    /// For texts, lists and staff signatures it is the field the error names, without
    /// its kind (`"treatment.practitioner"` → `"practitioner"`).
    pub fn field(&self) -> &'static str {
        use ValidationError::*;
        match self {
            StaffMissing { field }
            | TextTooLong { field, .. }
            | TextEmpty { field }
            | TooMany { field, .. } => strip_kind(field),
            _ => self.rule().field.unwrap_or(""),
        }
    }
}

/// Drops a leading `"<kind>."` from a core field path (`"treatment.note"` → `"note"`).
fn strip_kind(field: &'static str) -> &'static str {
    match field.split_once('.') {
        Some((head, rest)) if Kind::ALL.iter().any(|k| k.name() == head) => rest,
        _ => field,
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ValidationError::*;
        match self {
            DeviceIdZero => f.write_str("device id 0 is reserved (device not provisioned)"),
            EpochZero => f.write_str("epoch 0 is reserved; epochs start at 1"),
            SeqZero => f.write_str("sequence number 0 is reserved; sequences start at 1"),
            CareHomeZero => f.write_str("care home id 0 is reserved"),
            ResidentNumberZero => f.write_str("resident number 0 is reserved"),
            StaffMissing { field } => write!(f, "`{field}`: staff signature required"),
            TextTooLong { field, max } => write!(f, "`{field}` longer than {max} bytes"),
            TextEmpty { field } => write!(f, "`{field}` must not be empty"),
            TooMany { field, max } => write!(f, "`{field}` has more than {max} entries"),
            BirthDateImplausible => f.write_str("birth date after the record or age over 130"),
            NoMeasurement => f.write_str("vital signs record without any measurement"),
            BloodPressureIncomplete => f.write_str("blood pressure needs systolic and diastolic"),
            SystolicOutOfRange(v) => write!(f, "systolic {v} mmHg out of range"),
            DiastolicOutOfRange(v) => write!(f, "diastolic {v} mmHg out of range"),
            DiastolicNotBelowSystolic {
                systolic,
                diastolic,
            } => write!(
                f,
                "diastolic {diastolic} mmHg not below systolic {systolic} mmHg"
            ),
            PulseOutOfRange(v) => write!(f, "pulse {v} /min out of range"),
            Spo2OutOfRange(v) => write!(f, "SpO2 {v} % out of range"),
            TemperatureOutOfRange(v) => write!(f, "temperature {v} (0.01 °C) out of range"),
            WeightOutOfRange(v) => write!(f, "weight {v} g out of range"),
            HeightOutOfRange(v) => write!(f, "height {v} mm out of range"),
            WaistOutOfRange(v) => write!(f, "waist {v} mm out of range"),
            GlucoseOutOfRange(v) => write!(f, "glucose {v} µmol/L out of range"),
            AnswerOutOfRange { item, value } => {
                write!(f, "answer {value} at item {item} outside 1..=5")
            }
            GuidanceForUnidentified(c) => write!(
                f,
                "guidance for {} which the assessment did not identify",
                c.pinyin()
            ),
            DuplicateGuidance(c) => write!(f, "guidance for {} listed twice", c.pinyin()),
            GuidanceEmpty(c) => write!(f, "guidance for {} ticks no category", c.pinyin()),
            OtherGuidanceText(c) => write!(
                f,
                "guidance for {}: 'other' and its text must come together",
                c.pinyin()
            ),
            InvalidAcupoint(e) => write!(f, "invalid acupoint: {e}"),
            DuplicateAcupoint => f.write_str("acupoint listed twice"),
            AcupointsRequired => f.write_str("technique requires at least one acupoint"),
            AcupointsNotApplicable => f.write_str("technique does not use WHO body acupoints"),
            DurationOutOfRange(v) => write!(f, "duration {v} min out of range"),
            NoHerbs => f.write_str("prescription without herbs"),
            DuplicateHerb { index } => write!(f, "herb at index {index} listed twice"),
            HerbDoseOutOfRange { index, dose } => {
                write!(f, "herb at index {index}: dose {dose} (0.1 g) out of range")
            }
            DoseCountOutOfRange(v) => write!(f, "number of doses {v} out of range"),
            HerbalStageMismatch => f.write_str(
                "prescription needs herbs and no reference; later stages need the reference only",
            ),
            FollowUpEmpty => f.write_str("follow-up without guidance or intervention"),
            DuplicateIntervention => f.write_str("intervention listed twice"),
            NextVisitNotAfterVisit => f.write_str("next visit not after this visit"),
            CorrectionTargetsItself => f.write_str("correction names its own record"),
            AmendmentReplacementInvalid => f.write_str("amendment replacement is the target"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ValidationError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::rule::{FIRST_RULE_STATUS, RULES};
    use ValidationError as V;

    /// Every rule, pinned entry by entry: an error of it, its code, its JSON field, its
    /// family and its C status number.
    #[test]
    #[rustfmt::skip]
    fn every_rule_is_pinned() {
        use RuleFamily::*;
        let c = Constitution::Qixu;
        let rules: [(ValidationError, &str, &str, RuleFamily, u16); 42] = [
            (V::DeviceIdZero, "device_id_zero", "id.device", ReservedId, 300),
            (V::EpochZero, "epoch_zero", "id.epoch", ReservedId, 301),
            (V::SeqZero, "seq_zero", "id.seq", ReservedId, 302),
            (V::CareHomeZero, "care_home_zero", "resident.care_home", ReservedId, 303),
            (V::ResidentNumberZero, "resident_number_zero", "resident.number", ReservedId, 304),
            (V::StaffMissing { field: "treatment.practitioner" }, "staff_missing", "practitioner", Missing, 305),
            (V::TextTooLong { field: "treatment.note", max: 64 }, "text_too_long", "note", TooLong, 306),
            (V::TextEmpty { field: "herbal.herbs.name" }, "text_empty", "herbs.name", Missing, 307),
            (V::TooMany { field: "interventions", max: 8 }, "too_many", "interventions", TooLong, 308),
            (V::BirthDateImplausible, "birth_date_implausible", "birth_date", Range, 309),
            (V::NoMeasurement, "no_measurement", "", Missing, 310),
            (V::BloodPressureIncomplete, "blood_pressure_incomplete", "diastolic_mmhg", Missing, 311),
            (V::SystolicOutOfRange(301), "systolic_out_of_range", "systolic_mmhg", Range, 312),
            (V::DiastolicOutOfRange(20), "diastolic_out_of_range", "diastolic_mmhg", Range, 313),
            (V::DiastolicNotBelowSystolic { systolic: 90, diastolic: 90 }, "diastolic_not_below_systolic", "diastolic_mmhg", Inconsistent, 314),
            (V::PulseOutOfRange(10), "pulse_out_of_range", "pulse_per_min", Range, 315),
            (V::Spo2OutOfRange(40), "spo2_out_of_range", "spo2_percent", Range, 316),
            (V::TemperatureOutOfRange(2000), "temperature_out_of_range", "temperature_centi_c", Range, 317),
            (V::WeightOutOfRange(1), "weight_out_of_range", "weight_g", Range, 318),
            (V::HeightOutOfRange(1), "height_out_of_range", "height_mm", Range, 319),
            (V::WaistOutOfRange(1), "waist_out_of_range", "waist_mm", Range, 320),
            (V::GlucoseOutOfRange(1), "glucose_out_of_range", "glucose_umol_l", Range, 321),
            (V::AnswerOutOfRange { item: 1, value: 6 }, "answer_out_of_range", "answers", Range, 322),
            (V::GuidanceForUnidentified(c), "guidance_for_unidentified", "guidance", Inconsistent, 323),
            (V::DuplicateGuidance(c), "duplicate_guidance", "guidance", Inconsistent, 324),
            (V::GuidanceEmpty(c), "guidance_empty", "guidance", Inconsistent, 325),
            (V::OtherGuidanceText(c), "other_guidance_text", "guidance", Inconsistent, 326),
            (V::InvalidAcupoint(AcupointError::Empty), "invalid_acupoint", "acupoints", UnknownCode, 327),
            (V::DuplicateAcupoint, "duplicate_acupoint", "acupoints", Inconsistent, 328),
            (V::AcupointsRequired, "acupoints_required", "acupoints", Missing, 329),
            (V::AcupointsNotApplicable, "acupoints_not_applicable", "acupoints", Inconsistent, 330),
            (V::DurationOutOfRange(0), "duration_out_of_range", "duration_min", Range, 331),
            (V::NoHerbs, "no_herbs", "herbs", Missing, 332),
            (V::DuplicateHerb { index: 1 }, "duplicate_herb", "herbs", Inconsistent, 333),
            (V::HerbDoseOutOfRange { index: 0, dose: 0 }, "herb_dose_out_of_range", "herbs.decigrams", Range, 334),
            (V::DoseCountOutOfRange(0), "dose_count_out_of_range", "doses", Range, 335),
            (V::HerbalStageMismatch, "herbal_stage_mismatch", "stage", Inconsistent, 336),
            (V::FollowUpEmpty, "follow_up_empty", "interventions", Missing, 337),
            (V::DuplicateIntervention, "duplicate_intervention", "interventions", Inconsistent, 338),
            (V::NextVisitNotAfterVisit, "next_visit_not_after_visit", "next_visit", Inconsistent, 339),
            (V::CorrectionTargetsItself, "correction_targets_itself", "target", Inconsistent, 340),
            (V::AmendmentReplacementInvalid, "amendment_replacement_invalid", "replacement", Inconsistent, 341),
        ];
        for (i, (e, code, field, family, status)) in rules.into_iter().enumerate() {
            assert_eq!(e.code(), code, "{e:?}");
            assert_eq!(e.field(), field, "{e:?}");
            assert_eq!(e.family(), family, "{e:?}");
            assert_eq!(e.status(), status, "{e:?}");
            // One rule per variant, in table order, and the table says the same.
            assert_eq!(e.rule(), &RULES[i]);
            assert_eq!(usize::from(status - FIRST_RULE_STATUS), i);
            assert_eq!(
                RULES[i].field.is_none(),
                matches!(
                    e,
                    V::StaffMissing { .. }
                        | V::TextTooLong { .. }
                        | V::TextEmpty { .. }
                        | V::TooMany { .. }
                )
            );
        }
        // A field outside any kind is kept as it is.
        assert_eq!(V::TextEmpty { field: "note" }.field(), "note");
        // The rule after the record rules: the BMI of a measured constitution answer.
        let bmi = &RULES[crate::codes::rule::BMI_OUT_OF_RANGE];
        assert_eq!(
            (bmi.code, bmi.field, bmi.family, bmi.status),
            ("bmi_out_of_range", Some("bmi_centi"), Range, 342)
        );
        assert_eq!(RULES.len(), rules.len() + 1);
    }

    /// The rule messages, pinned (they are the messages of the C statuses).
    #[test]
    fn every_rule_message_is_pinned() {
        let messages: [&str; 43] = [
            "device id 0 is reserved (device not provisioned)",
            "epoch 0 is reserved; epochs start at 1",
            "sequence number 0 is reserved; sequences start at 1",
            "care home id 0 is reserved",
            "resident number 0 is reserved",
            "staff signature required",
            "text longer than its capacity",
            "text must not be empty",
            "list has more entries than its capacity",
            "birth date after the record or age over 130",
            "vital signs record without any measurement",
            "blood pressure needs systolic and diastolic",
            "systolic pressure out of range",
            "diastolic pressure out of range",
            "diastolic pressure not below systolic",
            "pulse rate out of range",
            "SpO2 out of range",
            "body temperature out of range",
            "body weight out of range",
            "body height out of range",
            "waist circumference out of range",
            "blood glucose out of range",
            "constitution answer outside 1..=5",
            "guidance for a constitution the assessment did not identify",
            "guidance for a constitution listed twice",
            "guidance entry ticks no category",
            "'other' guidance and its text must come together",
            "not a valid WHO acupoint code",
            "acupoint listed twice",
            "technique requires at least one acupoint",
            "technique does not use WHO body acupoints",
            "treatment duration out of range",
            "prescription without herbs",
            "herb listed twice",
            "herb dose out of range",
            "number of doses out of range",
            "prescription needs herbs and no reference; later stages need the reference only",
            "follow-up without guidance or intervention",
            "intervention listed twice",
            "next visit not after this visit",
            "correction names its own record",
            "amendment replacement is the target",
            "BMI out of range",
        ];
        for (r, m) in RULES.iter().zip(messages) {
            assert_eq!(r.message, m, "{}", r.code);
        }
    }
}
