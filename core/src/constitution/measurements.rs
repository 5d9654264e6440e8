//! Deriving answers from measurements and counts for the four items whose answer bands are
//! concrete (DOMAIN.md 1.2): 9 (BMI), 14 (colds per year), 17 (allergies per year) and
//! 28 (waist circumference). All integer arithmetic; no floats.
//!
//! Measurements are checked before they answer anything ([`apply_measurements`],
//! [`measured_bmi_centi`]): weight, height and waist with the plausibility ranges of a
//! vital-signs record (so the form accepts exactly what a kiosk may record), a BMI given
//! directly with [`BMI_RANGE_CENTI`]. An implausible value is an error, never a silent
//! "not measured": "not measured" is `None` and only `None`.

use core::fmt;

use super::ITEM_COUNT;
use crate::record::{ValidationError, VitalSigns};

/// Item number of 您感到身体超重不轻松吗, answered from BMI (DOMAIN.md 1.2).
pub const ITEM_BMI: u8 = 9;
/// Item number of 您容易患感冒吗, answered from colds per year (DOMAIN.md 1.2).
pub const ITEM_COLDS: u8 = 14;
/// Item number of 您容易过敏吗, answered from allergic episodes per year (DOMAIN.md 1.2).
pub const ITEM_ALLERGIES: u8 = 17;
/// Item number of 您腹部肥大吗, answered from waist circumference (DOMAIN.md 1.2).
pub const ITEM_WAIST: u8 = 28;

/// Item 9 is 2 from BMI 24.00 (×100 = 2400): "24≤BMI<25" (DOMAIN.md 1.2).
pub const ITEM9_SCORE2_MIN_CENTI: u32 = 2400;
/// Item 9 is 3 from BMI 25.00: "25≤BMI<26" (DOMAIN.md 1.2).
pub const ITEM9_SCORE3_MIN_CENTI: u32 = 2500;
/// Item 9 is 4 from BMI 26.00: "26≤BMI<28" (DOMAIN.md 1.2).
pub const ITEM9_SCORE4_MIN_CENTI: u32 = 2600;
/// Item 9 is 5 from BMI 28.00: "BMI≥28" (DOMAIN.md 1.2).
pub const ITEM9_SCORE5_MIN_CENTI: u32 = 2800;

/// Item 28 is 1 below 800 mm: "腹围<80cm" (DOMAIN.md 1.2).
pub const ITEM28_SCORE1_BELOW_MM: u16 = 800;
/// Item 28 is 2 up to and including 850 mm.
///
/// The form writes integer bands with gaps ("80-85cm", "86-90cm", "91-105cm"). For a
/// measured, real-valued waist we close each band at its printed upper bound and give the
/// gap to the next band: `<80 → 1, ≤85 → 2, ≤90 → 3, ≤105 → 4, >105 → 5` (DOMAIN.md 1.2,
/// "our choice; the form is silent"). So 85.1 cm scores 3 and 90.1 cm scores 4.
pub const ITEM28_SCORE2_MAX_MM: u16 = 850;
/// Item 28 is 3 up to and including 900 mm ("86-90cm"; gap rule at
/// [`ITEM28_SCORE2_MAX_MM`]).
pub const ITEM28_SCORE3_MAX_MM: u16 = 900;
/// Item 28 is 4 up to and including 1050 mm ("91-105cm"); above it, 5 ("腹围>105cm").
pub const ITEM28_SCORE4_MAX_MM: u16 = 1050;

/// Item 14 is 2 from two colds a year ("一年<2次" is 1; "一年感冒2-4次" is 2).
pub const ITEM14_SCORE2_MIN: u8 = 2;
/// Item 14 is 3 from five colds a year ("一年感冒5-6次").
pub const ITEM14_SCORE3_MIN: u8 = 5;
/// Item 14 is 4 from eight colds a year ("一年8次以上").
pub const ITEM14_SCORE4_MIN: u8 = 8;
/// The count the published bands skip: 5-6 is 3, "8次以上" is 4, 7 is in neither
/// (DOMAIN.md 1.2).
pub const ITEM14_GAP_COLDS: u8 = 7;
/// The score given for [`ITEM14_GAP_COLDS`] colds a year: 4.
///
/// The form's gap is a drafting artefact; 7 is more than the "5-6" band, so it scores
/// with the next band up rather than being rejected (a resident cannot be told their
/// honest count is not an answer).
pub const ITEM14_SEVEN_COLDS_SCORE: u8 = 4;
/// Colds per year from which item 14 is 5, "几乎每月都感冒" (almost every month).
///
/// The form gives no count. We read "almost every month" as a cold in at least 11 of the
/// 12 months, i.e. 11 or more a year; 8..=10 stay at 4 ("一年8次以上"). Staff who know
/// the pattern better can enter the answer directly instead.
pub const ITEM14_ALMOST_MONTHLY_MIN: u8 = 11;

/// Item 17 is 2 from one allergic episode a year ("一年1、2次"; none is 1, "从来没有").
pub const ITEM17_SCORE2_MIN: u8 = 1;
/// Item 17 is 3 from three a year ("一年3、4次").
pub const ITEM17_SCORE3_MIN: u8 = 3;
/// Item 17 is 4 from five a year ("一年5、6次").
pub const ITEM17_SCORE4_MIN: u8 = 5;
/// The last count the form names ("一年5、6次").
pub const ITEM17_TOP_COUNT_BAND_MAX: u8 = 6;
/// The score for more than [`ITEM17_TOP_COUNT_BAND_MAX`] episodes a year without an
/// allergy at every exposure: 4.
///
/// The form's top band (5) is qualitative, "每次遇到上述原因都过敏" (allergic at every
/// exposure), not a count; a higher count is at least band 4 but does not by itself show
/// that pattern, so it stays 4. Pass `every_exposure = true` for 5.
pub const ITEM17_SEVEN_PLUS_SCORE: u8 = 4;

/// Plausible BMI × 100 for item 9: 4.13..=300.00 kg/m².
///
/// Not a second set of limits: these are the BMIs at the ends of the vital-signs
/// plausibility ranges (`record::vitals`: weight 20..=300 kg, height 100..=220 cm), 20 kg
/// at 2.20 m ([`bmi_centi`] = 413) and 300 kg at 1.00 m (30 000). So every plausible weight
/// and height give a plausible BMI, and a BMI entered directly is held to the same bounds.
/// The test `bmi_range_is_the_vital_signs_extremes` pins both ends to those ranges (the
/// ranges are private to `record`, so the bounds are written out here).
pub const BMI_RANGE_CENTI: (u32, u32) = (413, 30_000);

/// Why a measurement cannot answer an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MeasurementError {
    /// A weight, height or waist outside the plausibility ranges of a vital-signs record:
    /// the same [`ValidationError`] (`WeightOutOfRange`, `HeightOutOfRange`,
    /// `WaistOutOfRange`) such a record would give.
    Implausible(ValidationError),
    /// A BMI × 100 outside [`BMI_RANGE_CENTI`].
    BmiOutOfRange(u32),
}

impl fmt::Display for MeasurementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MeasurementError::Implausible(e) => fmt::Display::fmt(e, f),
            MeasurementError::BmiOutOfRange(v) => write!(
                f,
                "BMI {}.{:02} kg/m² out of range ({}.{:02}..={}.{:02})",
                v / 100,
                v % 100,
                BMI_RANGE_CENTI.0 / 100,
                BMI_RANGE_CENTI.0 % 100,
                BMI_RANGE_CENTI.1 / 100,
                BMI_RANGE_CENTI.1 % 100
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for MeasurementError {}

/// Checks weight, height and waist (each when `Some`) with the vital-signs plausibility
/// rule: a vital-signs record holding just these values must validate.
fn check_body(
    weight_g: Option<u32>,
    height_mm: Option<u16>,
    waist_mm: Option<u16>,
) -> Result<(), MeasurementError> {
    let body = VitalSigns {
        weight_g,
        height_mm,
        waist_mm,
        ..VitalSigns::default()
    };
    match body.validate() {
        // Nothing given: nothing to check.
        Ok(()) | Err(ValidationError::NoMeasurement) => Ok(()),
        Err(e) => Err(MeasurementError::Implausible(e)),
    }
}

/// The BMI × 100 that item 9 is answered from, given a measured weight (g) and height
/// (mm): `Ok(None)` unless both are measured, an error when either is implausible
/// (checked even when the other is missing). `None` means "not measured".
///
/// The result of plausible values always lies within [`BMI_RANGE_CENTI`].
pub fn measured_bmi_centi(
    weight_g: Option<u32>,
    height_mm: Option<u16>,
) -> Result<Option<u32>, MeasurementError> {
    check_body(weight_g, height_mm, None)?;
    Ok(match (weight_g, height_mm) {
        (Some(w), Some(h)) => bmi_centi(w, h),
        _ => None,
    })
}

/// Body-mass index × 100, rounded half up: `weight / height²` with weight in grams and
/// height in millimetres (BMI = kg / m², DOMAIN.md 1.3 item 9).
///
/// The arithmetic is in `u64` and cannot overflow; `None` when `height_mm` is 0 or the
/// result does not fit in `u32` (only for implausible input: use
/// [`measured_bmi_centi`] for measurements, which refuses such input with an error).
pub fn bmi_centi(weight_g: u32, height_mm: u16) -> Option<u32> {
    // BMI × 100 = (w_g / 1000) / (h_mm / 1000)² × 100 = w_g × 100 000 / h_mm².
    let height_sq = u64::from(height_mm).checked_mul(u64::from(height_mm))?;
    if height_sq == 0 {
        return None;
    }
    let numerator = u64::from(weight_g).checked_mul(100_000)?;
    // Round half up: (2n + d) / 2d.
    let rounded = numerator
        .checked_mul(2)?
        .checked_add(height_sq)?
        .checked_div(height_sq.checked_mul(2)?)?;
    u32::try_from(rounded).ok()
}

/// The item-9 answer for a BMI × 100 (DOMAIN.md 1.2): `<24 → 1`, `24≤BMI<25 → 2`,
/// `25≤BMI<26 → 3`, `26≤BMI<28 → 4`, `≥28 → 5`. The bands apply to the BMI as rounded by
/// [`bmi_centi`] (two decimals).
pub const fn item9_from_bmi_centi(bmi_centi: u32) -> u8 {
    if bmi_centi < ITEM9_SCORE2_MIN_CENTI {
        1
    } else if bmi_centi < ITEM9_SCORE3_MIN_CENTI {
        2
    } else if bmi_centi < ITEM9_SCORE4_MIN_CENTI {
        3
    } else if bmi_centi < ITEM9_SCORE5_MIN_CENTI {
        4
    } else {
        5
    }
}

/// The item-28 answer for a waist circumference in millimetres (DOMAIN.md 1.2):
/// `<80 cm → 1`, `≤85 → 2`, `≤90 → 3`, `≤105 → 4`, `>105 → 5` (gap rule at
/// [`ITEM28_SCORE2_MAX_MM`]).
pub const fn item28_from_waist_mm(waist_mm: u16) -> u8 {
    if waist_mm < ITEM28_SCORE1_BELOW_MM {
        1
    } else if waist_mm <= ITEM28_SCORE2_MAX_MM {
        2
    } else if waist_mm <= ITEM28_SCORE3_MAX_MM {
        3
    } else if waist_mm <= ITEM28_SCORE4_MAX_MM {
        4
    } else {
        5
    }
}

/// The item-14 answer for a number of colds per year (DOMAIN.md 1.2): `<2 → 1`,
/// `2-4 → 2`, `5-6 → 3`, `7 →` [`ITEM14_SEVEN_COLDS_SCORE`], `8 and more → 4`, from
/// [`ITEM14_ALMOST_MONTHLY_MIN`] ("almost every month") `→ 5`.
pub const fn item14_from_colds_per_year(colds: u8) -> u8 {
    if colds < ITEM14_SCORE2_MIN {
        1
    } else if colds < ITEM14_SCORE3_MIN {
        2
    } else if colds < ITEM14_GAP_COLDS {
        3
    } else if colds == ITEM14_GAP_COLDS {
        ITEM14_SEVEN_COLDS_SCORE
    } else if colds < ITEM14_ALMOST_MONTHLY_MIN {
        4
    } else {
        5
    }
}

/// The item-17 answer (DOMAIN.md 1.2): `every_exposure` ("每次遇到上述原因都过敏") `→ 5`;
/// otherwise by episodes per year, `0 → 1`, `1-2 → 2`, `3-4 → 3`, `5-6 → 4`, more →
/// [`ITEM17_SEVEN_PLUS_SCORE`].
pub const fn item17_from_allergies_per_year(count: u8, every_exposure: bool) -> u8 {
    if every_exposure {
        5
    } else if count < ITEM17_SCORE2_MIN {
        1
    } else if count < ITEM17_SCORE3_MIN {
        2
    } else if count < ITEM17_SCORE4_MIN {
        3
    } else if count <= ITEM17_TOP_COUNT_BAND_MAX {
        4
    } else {
        ITEM17_SEVEN_PLUS_SCORE
    }
}

/// Overwrites item 9 from a measured BMI × 100 and item 28 from a measured waist (mm),
/// for whichever is `Some` (`None` is "not measured"); other answers are untouched.
///
/// Both values are checked first: a BMI outside [`BMI_RANGE_CENTI`] or a waist outside
/// the vital-signs range is an error and leaves every answer as it was (0 is a value, and
/// an implausible one).
pub fn apply_measurements(
    answers: &mut [u8; ITEM_COUNT],
    bmi_centi: Option<u32>,
    waist_mm: Option<u16>,
) -> Result<(), MeasurementError> {
    if let Some(bmi) = bmi_centi {
        if bmi < BMI_RANGE_CENTI.0 || bmi > BMI_RANGE_CENTI.1 {
            return Err(MeasurementError::BmiOutOfRange(bmi));
        }
    }
    check_body(None, None, waist_mm)?;
    if let (Some(bmi), Some(slot)) = (bmi_centi, answers.get_mut(usize::from(ITEM_BMI) - 1)) {
        *slot = item9_from_bmi_centi(bmi);
    }
    if let (Some(waist), Some(slot)) = (waist_mm, answers.get_mut(usize::from(ITEM_WAIST) - 1)) {
        *slot = item28_from_waist_mm(waist);
    }
    Ok(())
}
