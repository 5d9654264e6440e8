//! Herbal prescriptions and the decoction delivery chain of the district dispensing
//! platform: prescribed → decocted → dispatched → delivered → received.
//!
//! Wire layout after the header: stage (u8); for `Prescribed`: number of doses (u8), herb
//! count (varint) and per herb its name (string) and dose in 0.1 g (varint); for later
//! stages: the prescription's record id (three varints). Then the actor (varint) and a
//! note (string).

use super::{
    read_bounded_str, read_record_id, validate_ref, write_record_id, ValidationError, MAX_NOTE_LEN,
};
use crate::ids::{RecordId, StaffId};
use crate::wire::codec::{DecodeError, Reader, Writer};

/// Most herbs in one prescription (classical formulas rarely exceed 20).
pub const MAX_HERBS: usize = 32;
/// Capacity of a herb name in UTF-8 bytes (8 Chinese characters).
pub const MAX_HERB_NAME_LEN: usize = 24;
/// Plausible single-herb dose per 剂, in 0.1 g: 0.1 g (e.g. 冰片) to 250 g.
pub const HERB_DOSE_RANGE_DECIGRAM: (u16, u16) = (1, 2500);
/// Plausible number of doses (剂数) per prescription: one day to two months.
pub const DOSE_COUNT_RANGE: (u8, u8) = (1, 60);

pub(crate) const MAX_FIELDS_LEN: usize =
    1 + 1 + 1 + MAX_HERBS * (1 + MAX_HERB_NAME_LEN + 2) + 5 + 1 + MAX_NOTE_LEN;

/// Stage of a prescription in the dispensing chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum HerbalStage {
    /// Prescribed by a TCM doctor (carries the herb list).
    Prescribed = 0,
    /// Decocted at the dispensing platform.
    Decocted = 1,
    /// Dispatched to the care home.
    Dispatched = 2,
    /// Delivered to the care home.
    Delivered = 3,
    /// Received by / administered to the resident.
    Received = 4,
}

impl HerbalStage {
    /// Parses the wire value.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Prescribed),
            1 => Some(Self::Decocted),
            2 => Some(Self::Dispatched),
            3 => Some(Self::Delivered),
            4 => Some(Self::Received),
            _ => None,
        }
    }
    /// Stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Prescribed => "prescribed",
            Self::Decocted => "decocted",
            Self::Dispatched => "dispatched",
            Self::Delivered => "delivered",
            Self::Received => "received",
        }
    }
}

/// One herb of a prescription.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HerbDose {
    /// Herb name as written on the prescription (e.g. 黄芪).
    pub name: heapless::String<MAX_HERB_NAME_LEN>,
    /// Dose per 剂 in 0.1 g.
    pub decigrams: u16,
}

/// A prescription or a later event of its delivery chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HerbalEvent {
    /// The stage this record reports.
    pub stage: HerbalStage,
    /// For stages after `Prescribed`: the prescription record.
    pub prescription: Option<RecordId>,
    /// For `Prescribed`: number of doses (剂数).
    pub doses: u8,
    /// For `Prescribed`: the herbs.
    pub herbs: heapless::Vec<HerbDose, MAX_HERBS>,
    /// The doctor, pharmacist, courier or nurse who did this step.
    pub actor: StaffId,
    /// Free-text note (instructions, courier reference...).
    pub note: heapless::String<MAX_NOTE_LEN>,
}

impl HerbalEvent {
    /// Checks stage consistency, herbs and doses.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.actor.0 == 0 {
            return Err(ValidationError::StaffMissing {
                field: "herbal.actor",
            });
        }
        if self.stage == HerbalStage::Prescribed {
            if self.prescription.is_some() {
                return Err(ValidationError::HerbalStageMismatch);
            }
            if self.herbs.is_empty() {
                return Err(ValidationError::NoHerbs);
            }
            if !(DOSE_COUNT_RANGE.0..=DOSE_COUNT_RANGE.1).contains(&self.doses) {
                return Err(ValidationError::DoseCountOutOfRange(self.doses));
            }
            for (index, h) in self.herbs.iter().enumerate() {
                if h.name.trim().is_empty() {
                    return Err(ValidationError::TextEmpty {
                        field: "herbal.herbs.name",
                    });
                }
                if !(HERB_DOSE_RANGE_DECIGRAM.0..=HERB_DOSE_RANGE_DECIGRAM.1).contains(&h.decigrams)
                {
                    return Err(ValidationError::HerbDoseOutOfRange {
                        index,
                        dose: h.decigrams,
                    });
                }
                if self.herbs[..index].iter().any(|o| o.name == h.name) {
                    return Err(ValidationError::DuplicateHerb { index });
                }
            }
        } else {
            let Some(p) = &self.prescription else {
                return Err(ValidationError::HerbalStageMismatch);
            };
            if !self.herbs.is_empty() || self.doses != 0 {
                return Err(ValidationError::HerbalStageMismatch);
            }
            validate_ref(p)?;
        }
        Ok(())
    }

    pub(crate) fn encode_fields(&self, w: &mut Writer<'_>) {
        w.u8(self.stage as u8);
        if self.stage == HerbalStage::Prescribed {
            w.u8(self.doses);
            w.varint(self.herbs.len() as u64);
            for h in &self.herbs {
                w.str(&h.name);
                w.varint(h.decigrams as u64);
            }
        } else {
            write_record_id(w, &self.prescription.unwrap_or_default());
        }
        w.varint(self.actor.0 as u64);
        w.str(&self.note);
    }

    pub(crate) fn decode_fields(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let stage =
            HerbalStage::from_u8(r.u8("herbal.stage")?).ok_or(DecodeError::InvalidValue {
                field: "herbal.stage",
            })?;
        let mut ev = HerbalEvent {
            stage,
            prescription: None,
            doses: 0,
            herbs: heapless::Vec::new(),
            actor: StaffId(0),
            note: heapless::String::new(),
        };
        if stage == HerbalStage::Prescribed {
            ev.doses = r.u8("herbal.doses")?;
            let n = r.varint_u32("herbal.herbs")? as usize;
            if n > MAX_HERBS {
                return Err(DecodeError::InvalidValue {
                    field: "herbal.herbs",
                });
            }
            for _ in 0..n {
                let name = read_bounded_str(r, "herbal.herbs.name")?;
                let decigrams = r.varint_u16("herbal.herbs.dose")?;
                let _ = ev.herbs.push(HerbDose { name, decigrams });
            }
        } else {
            ev.prescription = Some(read_record_id(r, "herbal.prescription")?);
        }
        ev.actor = StaffId(r.varint_u32("herbal.actor")?);
        ev.note = read_bounded_str(r, "herbal.note")?;
        Ok(ev)
    }
}
