//! Weight Measurement (0x2A9D) of a weight scale.

use super::{
    check_frame, convert_raw, if_flag, Characteristic, Cursor, GattDateTime, GattError,
    DATE_TIME_LEN, FLAGS_LEN, UNKNOWN_USER,
};

/// Raw weight meaning "measurement unsuccessful" (Weight Scale Service).
pub const WEIGHT_UNSUCCESSFUL: u16 = 0xFFFF;
/// Grams in 0.01 lb: 4.5359237 g = 45359237 / 10⁷.
const GRAMS_PER_CENTI_POUND: (u32, u32) = (45_359_237, 10_000_000);
/// Millimetres in 0.1 in: 2.54 mm = 254 / 100.
const MM_PER_TENTH_INCH: (u32, u32) = (254, 100);
/// Grams per 0.005 kg (SI weight resolution).
const GRAMS_PER_SI_WEIGHT_UNIT: u32 = 5;

const WEIGHT_FLAG_IMPERIAL: u8 = 1 << 0;
const WEIGHT_FLAG_TIMESTAMP: u8 = 1 << 1;
const WEIGHT_FLAG_USER_ID: u8 = 1 << 2;
const WEIGHT_FLAG_BMI_HEIGHT: u8 = 1 << 3;
const WEIGHT_RESERVED: u8 = 0b1111_0000;

/// Weight Measurement (0x2A9D) of a weight scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WeightMeasurement {
    /// Weight in grams (converted from pounds if the scale sent imperial units).
    pub weight_g: u32,
    /// Height in millimetres, if sent (converted from inches for imperial).
    pub height_mm: Option<u16>,
    /// Body mass index in 0.1 kg/m², if sent (the scale's own calculation).
    pub bmi_tenths: Option<u16>,
    /// The device's local time stamp, if sent and known.
    pub timestamp: Option<GattDateTime>,
    /// The scale's user number, if sent and not 255 (unknown user).
    pub user_id: Option<u8>,
    /// Whether the scale sent imperial units (lb, in).
    pub unit_was_imperial: bool,
}

impl WeightMeasurement {
    /// Decodes the characteristic value.
    pub fn parse(bytes: &[u8]) -> Result<WeightMeasurement, GattError> {
        let ch = Characteristic::WeightMeasurement;
        let flags = check_frame(ch, bytes, WEIGHT_RESERVED, |f| {
            FLAGS_LEN
                + 2
                + if_flag(f, WEIGHT_FLAG_TIMESTAMP, DATE_TIME_LEN)
                + if_flag(f, WEIGHT_FLAG_USER_ID, 1)
                + if_flag(f, WEIGHT_FLAG_BMI_HEIGHT, 2 + 2)
        })?;
        let unit_was_imperial = flags & WEIGHT_FLAG_IMPERIAL != 0;
        let mut c = Cursor::after_flags(ch, bytes);
        let weight_raw = c.u16()?;
        let timestamp = if flags & WEIGHT_FLAG_TIMESTAMP != 0 {
            c.date_time()?
        } else {
            None
        };
        let user_id = if flags & WEIGHT_FLAG_USER_ID != 0 {
            Some(c.u8()?).filter(|&u| u != UNKNOWN_USER)
        } else {
            None
        };
        let (bmi_tenths, height_raw) = if flags & WEIGHT_FLAG_BMI_HEIGHT != 0 {
            (Some(c.u16()?), Some(c.u16()?))
        } else {
            (None, None)
        };
        if weight_raw == WEIGHT_UNSUCCESSFUL {
            return Err(GattError::MeasurementUnsuccessful { field: "weight" });
        }
        let weight_g = if unit_was_imperial {
            // raw × 0.01 lb × 453.59237 g/lb
            convert_raw(weight_raw, 0, GRAMS_PER_CENTI_POUND, "weight")?
        } else {
            // raw × 0.005 kg = raw × 5 g, exact.
            u32::from(weight_raw) * GRAMS_PER_SI_WEIGHT_UNIT
        };
        let height_mm = match height_raw {
            // raw × 0.1 in × 25.4 mm/in
            Some(raw) if unit_was_imperial => {
                Some(convert_raw(raw, 0, MM_PER_TENTH_INCH, "height")?)
            }
            // raw × 0.001 m = raw mm, exact.
            Some(raw) => Some(raw),
            None => None,
        };
        Ok(WeightMeasurement {
            weight_g,
            height_mm,
            bmi_tenths,
            timestamp,
            user_id,
            unit_was_imperial,
        })
    }
}
