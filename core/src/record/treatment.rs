//! TCM technique treatment (中医适宜技术).
//!
//! Wire layout after the header: technique (u8), acupoint count (varint) and each
//! acupoint's wire code (varint, see [`Acupoint::wire_code`]), duration minutes (varint),
//! practitioner (varint), outcome (u8), adverse event (u8), note (string).

use super::{read_bounded_str, ValidationError, MAX_NOTE_LEN};
use crate::codes::acupoint::Acupoint;
use crate::codes::technique::{AcupointUse, Technique};
use crate::ids::StaffId;
use crate::wire::codec::{DecodeError, Reader, Writer};

/// Most acupoints one treatment record lists.
pub const MAX_ACUPOINTS: usize = 16;

/// Plausible treatment duration, minutes (a session of moxibustion or a foot bath rarely
/// exceeds an hour; four hours is a typo guard).
pub const TREATMENT_DURATION_RANGE_MIN: (u16, u16) = (1, 240);

pub(crate) const MAX_FIELDS_LEN: usize =
    1 + 1 + MAX_ACUPOINTS * 3 + 3 + 5 + 1 + 1 + 1 + MAX_NOTE_LEN;

/// How the treatment went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum TreatmentOutcome {
    /// Completed as planned.
    #[default]
    Completed = 0,
    /// Stopped early.
    StoppedEarly = 1,
    /// Refused by the resident (duration 0).
    Refused = 2,
}

impl TreatmentOutcome {
    /// Parses the wire value.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Completed),
            1 => Some(Self::StoppedEarly),
            2 => Some(Self::Refused),
            _ => None,
        }
    }
    /// Stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::StoppedEarly => "stopped_early",
            Self::Refused => "refused",
        }
    }
}

/// Adverse event observed during or after the treatment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum AdverseEvent {
    /// None.
    #[default]
    None = 0,
    /// Fainting during needling (晕针) or cupping (晕罐).
    Fainting = 1,
    /// Burn or blister (moxibustion, cupping).
    Burn = 2,
    /// Bruising / haematoma.
    Bruising = 3,
    /// Bleeding.
    Bleeding = 4,
    /// Stuck or bent needle, broken needle.
    NeedleIncident = 5,
    /// Skin reaction (application, tape allergy).
    SkinReaction = 6,
    /// Other (see the note).
    Other = 7,
}

impl AdverseEvent {
    /// Parses the wire value.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::None),
            1 => Some(Self::Fainting),
            2 => Some(Self::Burn),
            3 => Some(Self::Bruising),
            4 => Some(Self::Bleeding),
            5 => Some(Self::NeedleIncident),
            6 => Some(Self::SkinReaction),
            7 => Some(Self::Other),
            _ => None,
        }
    }
    /// Stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Fainting => "fainting",
            Self::Burn => "burn",
            Self::Bruising => "bruising",
            Self::Bleeding => "bleeding",
            Self::NeedleIncident => "needle_incident",
            Self::SkinReaction => "skin_reaction",
            Self::Other => "other",
        }
    }
}

/// One TCM technique session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Treatment {
    /// The technique applied.
    pub technique: Technique,
    /// Acupoints (WHO codes), in the order treated.
    pub acupoints: heapless::Vec<Acupoint, MAX_ACUPOINTS>,
    /// Duration in minutes (0 only when refused).
    pub duration_min: u16,
    /// Who gave the treatment.
    pub practitioner: StaffId,
    /// How it went.
    pub outcome: TreatmentOutcome,
    /// Adverse event, if any.
    pub adverse_event: AdverseEvent,
    /// Free-text note (required for `AdverseEvent::Other`).
    pub note: heapless::String<MAX_NOTE_LEN>,
}

impl Treatment {
    /// Checks acupoints against the technique, duration, signature.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.practitioner.0 == 0 {
            return Err(ValidationError::StaffMissing {
                field: "treatment.practitioner",
            });
        }
        match self.technique.acupoints() {
            AcupointUse::Required if self.acupoints.is_empty() => {
                return Err(ValidationError::AcupointsRequired)
            }
            AcupointUse::NotApplicable if !self.acupoints.is_empty() => {
                return Err(ValidationError::AcupointsNotApplicable)
            }
            _ => {}
        }
        for (i, a) in self.acupoints.iter().enumerate() {
            a.validate().map_err(ValidationError::InvalidAcupoint)?;
            if self.acupoints[..i].contains(a) {
                return Err(ValidationError::DuplicateAcupoint);
            }
        }
        let d = self.duration_min;
        let ok = if self.outcome == TreatmentOutcome::Refused {
            d == 0
        } else {
            (TREATMENT_DURATION_RANGE_MIN.0..=TREATMENT_DURATION_RANGE_MIN.1).contains(&d)
        };
        if !ok {
            return Err(ValidationError::DurationOutOfRange(d));
        }
        if self.adverse_event == AdverseEvent::Other && self.note.is_empty() {
            return Err(ValidationError::TextEmpty {
                field: "treatment.note",
            });
        }
        Ok(())
    }

    pub(crate) fn encode_fields(&self, w: &mut Writer<'_>) {
        w.u8(self.technique as u8);
        w.varint(self.acupoints.len() as u64);
        for a in &self.acupoints {
            w.varint(a.wire_code() as u64);
        }
        w.varint(self.duration_min as u64);
        w.varint(self.practitioner.0 as u64);
        w.u8(self.outcome as u8);
        w.u8(self.adverse_event as u8);
        w.str(&self.note);
    }

    pub(crate) fn decode_fields(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let technique =
            Technique::from_u8(r.u8("treatment.technique")?).ok_or(DecodeError::InvalidValue {
                field: "treatment.technique",
            })?;
        let n = r.varint_u32("treatment.acupoints")? as usize;
        if n > MAX_ACUPOINTS {
            return Err(DecodeError::InvalidValue {
                field: "treatment.acupoints",
            });
        }
        let mut acupoints = heapless::Vec::new();
        for _ in 0..n {
            let code = r.varint_u16("treatment.acupoints")?;
            let a = Acupoint::from_wire_code(code).map_err(|_| DecodeError::InvalidValue {
                field: "treatment.acupoints",
            })?;
            let _ = acupoints.push(a);
        }
        let duration_min = r.varint_u16("treatment.duration")?;
        let practitioner = StaffId(r.varint_u32("treatment.practitioner")?);
        let outcome = TreatmentOutcome::from_u8(r.u8("treatment.outcome")?).ok_or(
            DecodeError::InvalidValue {
                field: "treatment.outcome",
            },
        )?;
        let adverse_event = AdverseEvent::from_u8(r.u8("treatment.adverse_event")?).ok_or(
            DecodeError::InvalidValue {
                field: "treatment.adverse_event",
            },
        )?;
        let note = read_bounded_str(r, "treatment.note")?;
        Ok(Treatment {
            technique,
            acupoints,
            duration_min,
            practitioner,
            outcome,
            adverse_event,
            note,
        })
    }
}
