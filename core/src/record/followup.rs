//! Chronic-disease TCM follow-up (慢病中医药健康管理随访).
//!
//! Wire layout after the header: condition (u8), control (u8), guidance categories (u8
//! bits), intervention count (varint) and each technique (u8), next visit (varint days
//! since 1900-01-01 + 1, 0 = none), clinician (varint).

use super::{read_opt_date, write_opt_date, Header, ValidationError};
use crate::codes::technique::Technique;
use crate::constitution::GuidanceSet;
use crate::ids::StaffId;
use crate::time::Date;
use crate::wire::codec::{DecodeError, Reader, Writer};

/// Most interventions listed in one follow-up.
pub const MAX_INTERVENTIONS: usize = 8;

pub(crate) const MAX_FIELDS_LEN: usize = 3 + 1 + MAX_INTERVENTIONS + 3 + 5;

/// The chronic condition followed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum ChronicCondition {
    /// 高血压 hypertension.
    Hypertension = 0,
    /// 2 型糖尿病 type 2 diabetes.
    Diabetes = 1,
    /// 脑卒中高危 stroke high-risk.
    StrokeHighRisk = 2,
}

impl ChronicCondition {
    /// Parses the wire value.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Hypertension),
            1 => Some(Self::Diabetes),
            2 => Some(Self::StrokeHighRisk),
            _ => None,
        }
    }
    /// Stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hypertension => "hypertension",
            Self::Diabetes => "diabetes",
            Self::StrokeHighRisk => "stroke_high_risk",
        }
    }
    /// The matching bit of [`super::ChronicConditions`].
    pub fn flag(self) -> u8 {
        1 << (self as u8)
    }
}

/// The follow-up classification of the national chronic-disease forms (此次随访分类).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum ConditionControl {
    /// 控制满意 controlled.
    #[default]
    Satisfactory = 0,
    /// 控制不满意 not controlled.
    Unsatisfactory = 1,
    /// 不良反应 adverse drug reaction.
    AdverseReaction = 2,
    /// 并发症 complication.
    Complication = 3,
}

impl ConditionControl {
    /// Parses the wire value.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Satisfactory),
            1 => Some(Self::Unsatisfactory),
            2 => Some(Self::AdverseReaction),
            3 => Some(Self::Complication),
            _ => None,
        }
    }
    /// Stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Satisfactory => "satisfactory",
            Self::Unsatisfactory => "unsatisfactory",
            Self::AdverseReaction => "adverse_reaction",
            Self::Complication => "complication",
        }
    }
}

/// One TCM follow-up of a chronic condition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FollowUp {
    /// The condition followed up.
    pub condition: ChronicCondition,
    /// How well it is controlled.
    pub control: ConditionControl,
    /// TCM health guidance given (same categories as the constitution form).
    pub guidance: GuidanceSet,
    /// TCM techniques applied or prescribed as intervention.
    pub interventions: heapless::Vec<Technique, MAX_INTERVENTIONS>,
    /// Next visit date, if scheduled.
    pub next_visit: Option<Date>,
    /// The clinician (随访医生签名).
    pub clinician: StaffId,
}

impl FollowUp {
    /// Checks content, next visit and signature.
    pub fn validate(&self, header: &Header) -> Result<(), ValidationError> {
        if self.clinician.0 == 0 {
            return Err(ValidationError::StaffMissing {
                field: "follow_up.clinician",
            });
        }
        if self.guidance.is_empty() && self.interventions.is_empty() {
            return Err(ValidationError::FollowUpEmpty);
        }
        for (i, t) in self.interventions.iter().enumerate() {
            if self.interventions[..i].contains(t) {
                return Err(ValidationError::DuplicateIntervention);
            }
        }
        if let (Some(next), Some(t)) = (self.next_visit, header.time.utc()) {
            if next <= t.china_date() {
                return Err(ValidationError::NextVisitNotAfterVisit);
            }
        }
        Ok(())
    }

    pub(crate) fn encode_fields(&self, w: &mut Writer<'_>) {
        w.u8(self.condition as u8);
        w.u8(self.control as u8);
        w.u8(self.guidance.bits());
        w.varint(self.interventions.len() as u64);
        for t in &self.interventions {
            w.u8(*t as u8);
        }
        write_opt_date(w, self.next_visit);
        w.varint(self.clinician.0 as u64);
    }

    pub(crate) fn decode_fields(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let condition = ChronicCondition::from_u8(r.u8("follow_up.condition")?).ok_or(
            DecodeError::InvalidValue {
                field: "follow_up.condition",
            },
        )?;
        let control = ConditionControl::from_u8(r.u8("follow_up.control")?).ok_or(
            DecodeError::InvalidValue {
                field: "follow_up.control",
            },
        )?;
        let guidance = GuidanceSet::from_bits(r.u8("follow_up.guidance")?).ok_or(
            DecodeError::InvalidValue {
                field: "follow_up.guidance",
            },
        )?;
        let n = r.varint_u32("follow_up.interventions")? as usize;
        if n > MAX_INTERVENTIONS {
            return Err(DecodeError::InvalidValue {
                field: "follow_up.interventions",
            });
        }
        let mut interventions = heapless::Vec::new();
        for _ in 0..n {
            let t = Technique::from_u8(r.u8("follow_up.interventions")?).ok_or(
                DecodeError::InvalidValue {
                    field: "follow_up.interventions",
                },
            )?;
            let _ = interventions.push(t);
        }
        let next_visit = read_opt_date(r, "follow_up.next_visit")?;
        let clinician = StaffId(r.varint_u32("follow_up.clinician")?);
        Ok(FollowUp {
            condition,
            control,
            guidance,
            interventions,
            next_visit,
            clinician,
        })
    }
}
