//! Validation errors of records: one specific variant per rule.

use core::fmt;

use crate::codes::acupoint::AcupointError;
use crate::constitution::Constitution;

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
