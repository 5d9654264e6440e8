//! Amend / void of an earlier record. Records are append-only: a correction never edits
//! its target; readers apply it when they build the current view.
//!
//! Wire layout after the header: target id (three varints), action (u8; for `Amend`
//! followed by the replacement's id), reason (u8), note (string).

use super::{
    read_bounded_str, read_record_id, validate_ref, write_record_id, Header, ValidationError,
    MAX_NOTE_LEN,
};
use crate::ids::RecordId;
use crate::wire::codec::{DecodeError, Reader, Writer};

pub(crate) const MAX_FIELDS_LEN: usize = 15 + 1 + 15 + 1 + 1 + MAX_NOTE_LEN;

/// What the correction does to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CorrectionAction {
    /// The target is void: it never happened or was entered in error.
    Void,
    /// The target is replaced by another record (of the same kind) that holds the
    /// corrected content.
    Amend {
        /// The replacement record.
        replacement: RecordId,
    },
}

/// Why the correction was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum CorrectionReason {
    /// Typing or selection error.
    #[default]
    EntryError = 0,
    /// Recorded for the wrong resident.
    WrongResident = 1,
    /// Recorded twice.
    Duplicate = 2,
    /// Faulty measurement (cuff misplaced, sensor fault...).
    MeasurementError = 3,
    /// Other (see the note).
    Other = 4,
}

impl CorrectionReason {
    /// Parses the wire value.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::EntryError),
            1 => Some(Self::WrongResident),
            2 => Some(Self::Duplicate),
            3 => Some(Self::MeasurementError),
            4 => Some(Self::Other),
            _ => None,
        }
    }
    /// Stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::EntryError => "entry_error",
            Self::WrongResident => "wrong_resident",
            Self::Duplicate => "duplicate",
            Self::MeasurementError => "measurement_error",
            Self::Other => "other",
        }
    }
}

/// A correction of an earlier record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Correction {
    /// The record corrected.
    pub target: RecordId,
    /// Void or amend.
    pub action: CorrectionAction,
    /// Why.
    pub reason: CorrectionReason,
    /// Free-text explanation (required for `Other`).
    pub note: heapless::String<MAX_NOTE_LEN>,
}

impl Correction {
    /// Checks the references.
    pub fn validate(&self, header: &Header) -> Result<(), ValidationError> {
        validate_ref(&self.target)?;
        if self.target == header.id {
            return Err(ValidationError::CorrectionTargetsItself);
        }
        if let CorrectionAction::Amend { replacement } = self.action {
            validate_ref(&replacement)?;
            if replacement == self.target {
                return Err(ValidationError::AmendmentReplacementInvalid);
            }
            if replacement == header.id {
                return Err(ValidationError::CorrectionTargetsItself);
            }
        }
        if self.reason == CorrectionReason::Other && self.note.is_empty() {
            return Err(ValidationError::TextEmpty {
                field: "correction.note",
            });
        }
        Ok(())
    }

    pub(crate) fn encode_fields(&self, w: &mut Writer<'_>) {
        write_record_id(w, &self.target);
        match self.action {
            CorrectionAction::Void => w.u8(0),
            CorrectionAction::Amend { replacement } => {
                w.u8(1);
                write_record_id(w, &replacement);
            }
        }
        w.u8(self.reason as u8);
        w.str(&self.note);
    }

    pub(crate) fn decode_fields(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let target = read_record_id(r, "correction.target")?;
        let action = match r.u8("correction.action")? {
            0 => CorrectionAction::Void,
            1 => CorrectionAction::Amend {
                replacement: read_record_id(r, "correction.replacement")?,
            },
            _ => {
                return Err(DecodeError::InvalidValue {
                    field: "correction.action",
                })
            }
        };
        let reason = CorrectionReason::from_u8(r.u8("correction.reason")?).ok_or(
            DecodeError::InvalidValue {
                field: "correction.reason",
            },
        )?;
        let note = read_bounded_str(r, "correction.note")?;
        Ok(Correction {
            target,
            action,
            reason,
            note,
        })
    }
}
