//! Constitution assessment record (老年人中医药健康管理服务记录表).
//!
//! Only the 33 answers, the guidance given and the assessor travel; the nine scores and
//! verdicts are computed by [`crate::constitution::assess`] on decode and never trusted
//! from input.
//!
//! Wire layout after the header: the answers packed base 5 (`Σ (aᵢ − 1)·5ⁱ`, item 1 least
//! significant) as a 10-byte little-endian integer (33 answers carry 76.6 bits); assessor
//! (varint); guidance count (varint) and per entry one varint
//! `constitution index << 6 | category bits`, followed by the "other" text when its bit is
//! set.

use super::{read_bounded_str, ValidationError};
use crate::constitution::{
    assess, Assessment, Constitution, ConstitutionError, GuidanceCategory, GuidanceSet,
};
use crate::ids::StaffId;
use crate::wire::codec::{DecodeError, Reader, Writer};

/// Capacity in UTF-8 bytes of the free text of the "其他 other" guidance category.
pub const MAX_OTHER_GUIDANCE_LEN: usize = 48;

/// Bytes of the packed answers.
const PACKED_ANSWERS_LEN: usize = 10;
/// 5³³: packed answers are below this.
const FIVE_POW_33: u128 = 116_415_321_826_934_814_453_125;

pub(crate) const MAX_FIELDS_LEN: usize =
    PACKED_ANSWERS_LEN + 5 + 1 + 9 * (2 + 1 + MAX_OTHER_GUIDANCE_LEN);

/// Guidance given for one constitution (one row of the form's 中医药保健指导 section).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GuidanceGiven {
    /// The constitution the guidance addresses.
    pub constitution: Constitution,
    /// The categories ticked.
    pub categories: GuidanceSet,
    /// Text of the "other" category (required exactly when it is ticked).
    pub other: heapless::String<MAX_OTHER_GUIDANCE_LEN>,
}

/// A completed constitution identification form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConstitutionRecord {
    /// Answers to items 1..=33 (index 0 = item 1), each 1..=5.
    pub answers: [u8; 33],
    /// The doctor who signed the form (医生签名).
    pub assessor: StaffId,
    /// Guidance given, at most one entry per constitution, only for identified ones.
    pub guidance: heapless::Vec<GuidanceGiven, 9>,
}

impl ConstitutionRecord {
    /// Scores and verdicts computed from the answers.
    pub fn assessment(&self) -> Result<Assessment, ConstitutionError> {
        assess(&self.answers)
    }

    /// Whether any guidance was given (part of the KPI definition of "served").
    pub fn guidance_given(&self) -> bool {
        !self.guidance.is_empty()
    }

    /// Checks answers, guidance and signature.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let a = self.assessment().map_err(|e| match e {
            ConstitutionError::AnswerOutOfRange { item, value } => {
                ValidationError::AnswerOutOfRange { item, value }
            }
        })?;
        if self.assessor.0 == 0 {
            return Err(ValidationError::StaffMissing {
                field: "constitution.assessor",
            });
        }
        let identified = a.identified();
        let mut seen = 0u16;
        for g in &self.guidance {
            let c = g.constitution;
            if seen & (1 << c.index()) != 0 {
                return Err(ValidationError::DuplicateGuidance(c));
            }
            seen |= 1 << c.index();
            if !identified.contains(c) {
                return Err(ValidationError::GuidanceForUnidentified(c));
            }
            if g.categories.is_empty() {
                return Err(ValidationError::GuidanceEmpty(c));
            }
            if g.categories.contains(GuidanceCategory::Other) == g.other.is_empty() {
                return Err(ValidationError::OtherGuidanceText(c));
            }
        }
        Ok(())
    }

    pub(crate) fn encode_fields(&self, w: &mut Writer<'_>) {
        let mut packed: u128 = 0;
        for &a in self.answers.iter().rev() {
            packed = packed * 5 + (a.clamp(1, 5) - 1) as u128;
        }
        w.raw(&packed.to_le_bytes()[..PACKED_ANSWERS_LEN]);
        w.varint(self.assessor.0 as u64);
        w.varint(self.guidance.len() as u64);
        for g in &self.guidance {
            w.varint((g.constitution.index() as u64) << 6 | g.categories.bits() as u64);
            if g.categories.contains(GuidanceCategory::Other) {
                w.str(&g.other);
            }
        }
    }

    pub(crate) fn decode_fields(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let raw = r.raw(PACKED_ANSWERS_LEN, "constitution.answers")?;
        let mut bytes = [0u8; 16];
        bytes[..PACKED_ANSWERS_LEN].copy_from_slice(raw);
        let mut packed = u128::from_le_bytes(bytes);
        if packed >= FIVE_POW_33 {
            return Err(DecodeError::InvalidValue {
                field: "constitution.answers",
            });
        }
        let mut answers = [0u8; 33];
        for a in answers.iter_mut() {
            *a = (packed % 5) as u8 + 1;
            packed /= 5;
        }
        let assessor = StaffId(r.varint_u32("constitution.assessor")?);
        let n = r.varint_u32("constitution.guidance")? as usize;
        if n > 9 {
            return Err(DecodeError::InvalidValue {
                field: "constitution.guidance",
            });
        }
        let mut guidance = heapless::Vec::new();
        for _ in 0..n {
            let v = r.varint_u16("constitution.guidance")?;
            // `v >> 6` can exceed a byte: checked, never truncated (a truncated index
            // would accept a body that does not re-encode to its own bytes).
            let constitution = u8::try_from(v >> 6)
                .ok()
                .and_then(Constitution::from_index)
                .ok_or(DecodeError::InvalidValue {
                    field: "constitution.guidance",
                })?;
            let categories =
                GuidanceSet::from_bits((v & 0x3f) as u8).ok_or(DecodeError::InvalidValue {
                    field: "constitution.guidance",
                })?;
            let other = if categories.contains(GuidanceCategory::Other) {
                read_bounded_str(r, "constitution.guidance.other")?
            } else {
                heapless::String::new()
            };
            // Capacity 9 and n <= 9: cannot fail.
            let _ = guidance.push(GuidanceGiven {
                constitution,
                categories,
                other,
            });
        }
        Ok(ConstitutionRecord {
            answers,
            assessor,
            guidance,
        })
    }
}
