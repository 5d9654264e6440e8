//! Resident registration / update.
//!
//! Wire layout after the header: birth date (varint days since 1900-01-01 + 1), sex (u8),
//! chronic conditions (u8 bits), consent (u8 bits), residency status (u8).

use super::{read_opt_date, write_opt_date, Header, ValidationError, MAX_AGE_YEARS};
use crate::ids::Sex;
use crate::time::Date;
use crate::wire::codec::{DecodeError, Reader, Writer};

pub(crate) const MAX_FIELDS_LEN: usize = 3 + 4;

/// The chronic conditions that drive TCM chronic-disease management targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChronicConditions(u8);

impl ChronicConditions {
    /// 高血压 hypertension (district target 95 %).
    pub const HYPERTENSION: u8 = 1 << 0;
    /// 糖尿病 type 2 diabetes (district target 95 %).
    pub const DIABETES: u8 = 1 << 1;
    /// 脑卒中高危 stroke high-risk (district target 90 %).
    pub const STROKE_HIGH_RISK: u8 = 1 << 2;
    const ALL_BITS: u8 = 0b111;

    /// Builds the set from bits; `None` if an unknown bit is set.
    pub fn from_bits(bits: u8) -> Option<Self> {
        (bits & !Self::ALL_BITS == 0).then_some(Self(bits))
    }
    /// The raw bits.
    pub fn bits(self) -> u8 {
        self.0
    }
    /// Whether `flag` is set.
    pub fn contains(self, flag: u8) -> bool {
        self.0 & flag != 0
    }
}

/// Consents given by the resident or guardian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConsentFlags(u8);

impl ConsentFlags {
    /// Consent to TCM health management services.
    pub const TCM_SERVICES: u8 = 1 << 0;
    /// Consent to share records with the community health centre / district platform.
    pub const DATA_SHARING: u8 = 1 << 1;
    /// Consent to kiosk self-measurement (card identification).
    pub const KIOSK_USE: u8 = 1 << 2;
    const ALL_BITS: u8 = 0b111;

    /// Builds the set from bits; `None` if an unknown bit is set.
    pub fn from_bits(bits: u8) -> Option<Self> {
        (bits & !Self::ALL_BITS == 0).then_some(Self(bits))
    }
    /// The raw bits.
    pub fn bits(self) -> u8 {
        self.0
    }
    /// Whether `flag` is set.
    pub fn contains(self, flag: u8) -> bool {
        self.0 & flag != 0
    }
}

/// Whether the resident lives in the home.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum ResidencyStatus {
    /// Living in the care home.
    #[default]
    Active = 0,
    /// Discharged / moved out.
    Discharged = 1,
    /// Deceased.
    Deceased = 2,
}

impl ResidencyStatus {
    /// Parses the wire value.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Active),
            1 => Some(Self::Discharged),
            2 => Some(Self::Deceased),
            _ => None,
        }
    }
    /// Stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Discharged => "discharged",
            Self::Deceased => "deceased",
        }
    }
}

/// Registration or update of a resident. The latest one in force describes the resident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ResidentRegistration {
    /// Date of birth (from the ID number, which itself stays on the terminal).
    pub birth_date: Date,
    /// Sex.
    pub sex: Sex,
    /// Chronic conditions under management.
    pub conditions: ChronicConditions,
    /// Consents given.
    pub consent: ConsentFlags,
    /// Residency status.
    pub status: ResidencyStatus,
}

impl ResidentRegistration {
    /// Checks the birth date against the record time.
    pub fn validate(&self, header: &Header) -> Result<(), ValidationError> {
        if let Some(t) = header.time.utc() {
            let today = t.china_date();
            if self.birth_date > today || self.birth_date.age_on(today) > MAX_AGE_YEARS {
                return Err(ValidationError::BirthDateImplausible);
            }
        }
        Ok(())
    }

    /// Age in whole years on `date`.
    pub fn age_on(&self, date: Date) -> u16 {
        self.birth_date.age_on(date)
    }

    pub(crate) fn encode_fields(&self, w: &mut Writer<'_>) {
        write_opt_date(w, Some(self.birth_date));
        w.u8(self.sex as u8);
        w.u8(self.conditions.bits());
        w.u8(self.consent.bits());
        w.u8(self.status as u8);
    }

    pub(crate) fn decode_fields(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let birth_date =
            read_opt_date(r, "resident.birth_date")?.ok_or(DecodeError::InvalidValue {
                field: "resident.birth_date",
            })?;
        let sex = Sex::from_code(r.u8("resident.sex")?).ok_or(DecodeError::InvalidValue {
            field: "resident.sex",
        })?;
        let conditions = ChronicConditions::from_bits(r.u8("resident.conditions")?).ok_or(
            DecodeError::InvalidValue {
                field: "resident.conditions",
            },
        )?;
        let consent = ConsentFlags::from_bits(r.u8("resident.consent")?).ok_or(
            DecodeError::InvalidValue {
                field: "resident.consent",
            },
        )?;
        let status = ResidencyStatus::from_u8(r.u8("resident.status")?).ok_or(
            DecodeError::InvalidValue {
                field: "resident.status",
            },
        )?;
        Ok(ResidentRegistration {
            birth_date,
            sex,
            conditions,
            consent,
            status,
        })
    }
}
