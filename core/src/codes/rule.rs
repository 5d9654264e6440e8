//! The validation rules of records, written once: each rule's stable code, the field of
//! the JSON view it is about, its family, its number in the C ABI and its message.
//!
//! [`RULES`] is the one table. [`crate::record::ValidationError::rule`] gives the entry of
//! an error; the C ABI numbers its validation statuses and writes their messages from it
//! (`tcm_status_code()`, `tcm_status_family()`), and the Python package picks its
//! exception classes by [`RuleFamily`]. A new rule is a new entry at the end (the next
//! status number) and a new `ValidationError` variant; codes and numbers are never reused.
//!
//! The table is data only (it names no record type), so every module of the crate and
//! every binding can read it.

use core::fmt;

/// The families rules are sorted into: what kind of mistake the input makes. The Python
/// package raises one exception class per family (`RangeError`, `MissingValueError`...).
///
/// **Contract, append-only**: the discriminant is the number of the C ABI's
/// `tcm_rule_family`; numbers are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum RuleFamily {
    /// The input's shape is wrong: a missing or unknown field, a wrong type, a value where
    /// the record has no place for it (errors of the JSON view; no record rule is one).
    Schema = 1,
    /// A reserved zero id: device, epoch, sequence, care home or resident number.
    ReservedId = 2,
    /// Required content is missing: a staff signature, a text, any measurement, herbs...
    Missing = 3,
    /// A text or a list longer than its capacity.
    TooLong = 4,
    /// A value outside its plausible range (a measurement, an answer, a dose, a date).
    Range = 5,
    /// Fields contradict each other or the rules: duplicates, diastolic not below
    /// systolic, guidance for a constitution not identified...
    Inconsistent = 6,
    /// A name or code this version does not know (an acupoint, an enum value).
    UnknownCode = 7,
}

impl RuleFamily {
    /// Every family, in number order.
    pub const ALL: [RuleFamily; 7] = [
        RuleFamily::Schema,
        RuleFamily::ReservedId,
        RuleFamily::Missing,
        RuleFamily::TooLong,
        RuleFamily::Range,
        RuleFamily::Inconsistent,
        RuleFamily::UnknownCode,
    ];

    /// The stable snake_case name of the family (`"range"`, `"too_long"`...).
    pub const fn name(self) -> &'static str {
        match self {
            RuleFamily::Schema => "schema",
            RuleFamily::ReservedId => "reserved_id",
            RuleFamily::Missing => "missing",
            RuleFamily::TooLong => "too_long",
            RuleFamily::Range => "range",
            RuleFamily::Inconsistent => "inconsistent",
            RuleFamily::UnknownCode => "unknown_code",
        }
    }

    /// The family of this number (see the discriminants), `None` for others.
    pub fn from_u8(n: u8) -> Option<RuleFamily> {
        RuleFamily::ALL.into_iter().find(|f| *f as u8 == n)
    }
}

impl fmt::Display for RuleFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One validation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The stable snake_case code (`"systolic_out_of_range"`): `ValidationError.code` in
    /// Python, the `invalid:<code>` status of a stored record.
    pub code: &'static str,
    /// The field of the JSON view the rule is about (`"systolic_mmhg"`, `"id.device"`;
    /// `""` for the record as a whole). `None` for the rules on texts, lists and staff
    /// signatures, whose error names the field it is about (see
    /// [`crate::record::ValidationError::field`]).
    pub field: Option<&'static str>,
    /// The family of the rule.
    pub family: RuleFamily,
    /// The number of the rule's `tcm_status` in the C ABI (300 + its index in [`RULES`]).
    pub status: u16,
    /// One sentence without the values and without a trailing period (the message of
    /// the C status; an error's `Display` adds its values).
    pub message: &'static str,
}

/// The status number of the first rule; rule `i` of [`RULES`] has number
/// `FIRST_RULE_STATUS + i`.
pub const FIRST_RULE_STATUS: u16 = 300;

const fn rule(
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
    family: RuleFamily,
    message: &'static str,
) -> Rule {
    Rule {
        code,
        field,
        family,
        status,
        message,
    }
}

use RuleFamily::{Inconsistent, Missing, Range, ReservedId, TooLong, UnknownCode};

/// Every validation rule, in status-number order: the 42 rules of
/// [`crate::record::ValidationError`] (300..=341) and the BMI range of a measured answer
/// (342, [`crate::constitution::MeasurementError::BmiOutOfRange`]).
#[rustfmt::skip]
pub const RULES: [Rule; 43] = [
    rule(300, "device_id_zero", Some("id.device"), ReservedId, "device id 0 is reserved (device not provisioned)"),
    rule(301, "epoch_zero", Some("id.epoch"), ReservedId, "epoch 0 is reserved; epochs start at 1"),
    rule(302, "seq_zero", Some("id.seq"), ReservedId, "sequence number 0 is reserved; sequences start at 1"),
    rule(303, "care_home_zero", Some("resident.care_home"), ReservedId, "care home id 0 is reserved"),
    rule(304, "resident_number_zero", Some("resident.number"), ReservedId, "resident number 0 is reserved"),
    rule(305, "staff_missing", None, Missing, "staff signature required"),
    rule(306, "text_too_long", None, TooLong, "text longer than its capacity"),
    rule(307, "text_empty", None, Missing, "text must not be empty"),
    rule(308, "too_many", None, TooLong, "list has more entries than its capacity"),
    rule(309, "birth_date_implausible", Some("birth_date"), Range, "birth date after the record or age over 130"),
    rule(310, "no_measurement", Some(""), Missing, "vital signs record without any measurement"),
    rule(311, "blood_pressure_incomplete", Some("diastolic_mmhg"), Missing, "blood pressure needs systolic and diastolic"),
    rule(312, "systolic_out_of_range", Some("systolic_mmhg"), Range, "systolic pressure out of range"),
    rule(313, "diastolic_out_of_range", Some("diastolic_mmhg"), Range, "diastolic pressure out of range"),
    rule(314, "diastolic_not_below_systolic", Some("diastolic_mmhg"), Inconsistent, "diastolic pressure not below systolic"),
    rule(315, "pulse_out_of_range", Some("pulse_per_min"), Range, "pulse rate out of range"),
    rule(316, "spo2_out_of_range", Some("spo2_percent"), Range, "SpO2 out of range"),
    rule(317, "temperature_out_of_range", Some("temperature_centi_c"), Range, "body temperature out of range"),
    rule(318, "weight_out_of_range", Some("weight_g"), Range, "body weight out of range"),
    rule(319, "height_out_of_range", Some("height_mm"), Range, "body height out of range"),
    rule(320, "waist_out_of_range", Some("waist_mm"), Range, "waist circumference out of range"),
    rule(321, "glucose_out_of_range", Some("glucose_umol_l"), Range, "blood glucose out of range"),
    rule(322, "answer_out_of_range", Some("answers"), Range, "constitution answer outside 1..=5"),
    rule(323, "guidance_for_unidentified", Some("guidance"), Inconsistent, "guidance for a constitution the assessment did not identify"),
    rule(324, "duplicate_guidance", Some("guidance"), Inconsistent, "guidance for a constitution listed twice"),
    rule(325, "guidance_empty", Some("guidance"), Inconsistent, "guidance entry ticks no category"),
    rule(326, "other_guidance_text", Some("guidance"), Inconsistent, "'other' guidance and its text must come together"),
    rule(327, "invalid_acupoint", Some("acupoints"), UnknownCode, "not a valid WHO acupoint code"),
    rule(328, "duplicate_acupoint", Some("acupoints"), Inconsistent, "acupoint listed twice"),
    rule(329, "acupoints_required", Some("acupoints"), Missing, "technique requires at least one acupoint"),
    rule(330, "acupoints_not_applicable", Some("acupoints"), Inconsistent, "technique does not use WHO body acupoints"),
    rule(331, "duration_out_of_range", Some("duration_min"), Range, "treatment duration out of range"),
    rule(332, "no_herbs", Some("herbs"), Missing, "prescription without herbs"),
    rule(333, "duplicate_herb", Some("herbs"), Inconsistent, "herb listed twice"),
    rule(334, "herb_dose_out_of_range", Some("herbs.decigrams"), Range, "herb dose out of range"),
    rule(335, "dose_count_out_of_range", Some("doses"), Range, "number of doses out of range"),
    rule(336, "herbal_stage_mismatch", Some("stage"), Inconsistent, "prescription needs herbs and no reference; later stages need the reference only"),
    rule(337, "follow_up_empty", Some("interventions"), Missing, "follow-up without guidance or intervention"),
    rule(338, "duplicate_intervention", Some("interventions"), Inconsistent, "intervention listed twice"),
    rule(339, "next_visit_not_after_visit", Some("next_visit"), Inconsistent, "next visit not after this visit"),
    rule(340, "correction_targets_itself", Some("target"), Inconsistent, "correction names its own record"),
    rule(341, "amendment_replacement_invalid", Some("replacement"), Inconsistent, "amendment replacement is the target"),
    rule(342, "bmi_out_of_range", Some("bmi_centi"), Range, "BMI out of range"),
];

// Rule `i` has number 300 + i: the table has no gap and no reordering.
const _: () = {
    let mut i = 0;
    while i < RULES.len() {
        assert!(RULES[i].status as usize == FIRST_RULE_STATUS as usize + i);
        i += 1;
    }
};

/// The index in [`RULES`] of the BMI range rule (`bmi_out_of_range`, status 342).
pub const BMI_OUT_OF_RANGE: usize = 42;

impl Rule {
    /// The rule with this code.
    pub fn by_code(code: &str) -> Option<&'static Rule> {
        RULES.iter().find(|r| r.code == code)
    }

    /// The rule with this C status number.
    pub const fn by_status(status: u32) -> Option<&'static Rule> {
        let first = FIRST_RULE_STATUS as u32;
        if status < first || status - first >= RULES.len() as u32 {
            return None;
        }
        Some(&RULES[(status - first) as usize])
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_pinned() {
        let expected = [
            (1, "schema"),
            (2, "reserved_id"),
            (3, "missing"),
            (4, "too_long"),
            (5, "range"),
            (6, "inconsistent"),
            (7, "unknown_code"),
        ];
        assert_eq!(RuleFamily::ALL.len(), expected.len());
        for (f, (n, name)) in RuleFamily::ALL.into_iter().zip(expected) {
            assert_eq!(f as u8, n);
            assert_eq!(f.name(), name);
            assert_eq!(RuleFamily::from_u8(n), Some(f));
        }
        assert_eq!(RuleFamily::from_u8(0), None);
        assert_eq!(RuleFamily::from_u8(8), None);
    }

    #[test]
    fn lookups_find_every_rule() {
        for (i, r) in RULES.iter().enumerate() {
            assert_eq!(Rule::by_code(r.code), Some(r), "{}", r.code);
            assert_eq!(Rule::by_status(u32::from(r.status)), Some(r));
            assert_eq!(usize::from(r.status - FIRST_RULE_STATUS), i);
            assert!(!r.message.is_empty() && !r.message.ends_with('.'));
            assert!(r
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        }
        assert_eq!(
            Rule::by_code("bmi_out_of_range"),
            Some(&RULES[BMI_OUT_OF_RANGE])
        );
        assert_eq!(Rule::by_code("missing"), None);
        assert_eq!(Rule::by_status(299), None);
        assert_eq!(Rule::by_status(343), None);
        assert_eq!(Rule::by_status(u32::MAX), None);
    }
}
