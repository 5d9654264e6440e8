//! Temperature Measurement (0x2A1C) and Temperature Type.

use super::{
    check_frame, if_flag, Characteristic, Cursor, GattDateTime, GattError, DATE_TIME_LEN,
    FLAGS_LEN, FLOAT_LEN,
};
use crate::ieee11073::{div_round_half_away, pow10_i128, Float};

/// Fahrenheit exponents below this contribute less than 10⁻¹⁴ °F, which cannot change
/// the rounded centi-°C result ((0 − 32) × 500 / 9 = −1777.8, far from a half).
const FAHRENHEIT_NEGLIGIBLE_EXPONENT: i32 = -20;

/// Where a temperature was taken (org.bluetooth.characteristic.temperature_type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum TemperatureType {
    /// Armpit (axilla).
    Armpit = 1,
    /// Body (general).
    Body = 2,
    /// Ear (usually the ear lobe).
    Ear = 3,
    /// Finger.
    Finger = 4,
    /// Gastro-intestinal tract.
    GastrointestinalTract = 5,
    /// Mouth.
    Mouth = 6,
    /// Rectum.
    Rectum = 7,
    /// Toe.
    Toe = 8,
    /// Tympanum (ear drum).
    Tympanum = 9,
}

impl TemperatureType {
    /// The wire code, 1..=9.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The type for a wire code; [`GattError::UnknownTemperatureType`] for 0 and 10..=255
    /// (reserved).
    pub fn from_code(code: u8) -> Result<TemperatureType, GattError> {
        Ok(match code {
            1 => TemperatureType::Armpit,
            2 => TemperatureType::Body,
            3 => TemperatureType::Ear,
            4 => TemperatureType::Finger,
            5 => TemperatureType::GastrointestinalTract,
            6 => TemperatureType::Mouth,
            7 => TemperatureType::Rectum,
            8 => TemperatureType::Toe,
            9 => TemperatureType::Tympanum,
            other => return Err(GattError::UnknownTemperatureType(other)),
        })
    }
}

const TEMP_FLAG_FAHRENHEIT: u8 = 1 << 0;
const TEMP_FLAG_TIMESTAMP: u8 = 1 << 1;
const TEMP_FLAG_TYPE: u8 = 1 << 2;
const TEMP_RESERVED: u8 = 0b1111_1000;

/// Temperature Measurement (0x2A1C).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TemperatureMeasurement {
    /// Temperature in 0.01 °C (converted from °F if the device sent °F).
    pub centi_celsius: i32,
    /// The device's local time stamp, if sent and known.
    pub timestamp: Option<GattDateTime>,
    /// Where it was measured, if sent.
    pub site: Option<TemperatureType>,
    /// Whether the device sent °F.
    pub unit_was_fahrenheit: bool,
}

/// °F (`FLOAT`) → 0.01 °C: round((F − 32) × 500 / 9), exactly.
fn fahrenheit_to_centi_celsius(value: Float) -> Result<i32, GattError> {
    const FIELD: &str = "temperature";
    let out_of_range = GattError::ValueOutOfRange { field: FIELD };
    let (m, e) = if i32::from(value.exponent()) < FAHRENHEIT_NEGLIGIBLE_EXPONENT {
        (0i128, 0i32)
    } else {
        (i128::from(value.mantissa()), i32::from(value.exponent()))
    };
    // F − 32 as numerator / denominator, with denominator 10^(−e) for negative e.
    let (numerator, denominator) = if e >= 0 {
        let f = pow10_i128(e.unsigned_abs())
            .and_then(|p| m.checked_mul(p))
            .ok_or(out_of_range)?;
        (f.checked_sub(32).ok_or(out_of_range)?, 1i128)
    } else {
        let p = pow10_i128(e.unsigned_abs()).ok_or(out_of_range)?;
        (m - 32 * p, p)
    };
    let n = numerator.checked_mul(500).ok_or(out_of_range)?;
    let d = denominator.checked_mul(9).ok_or(out_of_range)?;
    div_round_half_away(n, d)
        .and_then(|v| i32::try_from(v).ok())
        .ok_or(out_of_range)
}

impl TemperatureMeasurement {
    /// Decodes the characteristic value.
    pub fn parse(bytes: &[u8]) -> Result<TemperatureMeasurement, GattError> {
        let ch = Characteristic::TemperatureMeasurement;
        let flags = check_frame(ch, bytes, TEMP_RESERVED, |f| {
            FLAGS_LEN
                + FLOAT_LEN
                + if_flag(f, TEMP_FLAG_TIMESTAMP, DATE_TIME_LEN)
                + if_flag(f, TEMP_FLAG_TYPE, 1)
        })?;
        let unit_was_fahrenheit = flags & TEMP_FLAG_FAHRENHEIT != 0;
        let mut c = Cursor::after_flags(ch, bytes);
        let value = c.float()?;
        let timestamp = if flags & TEMP_FLAG_TIMESTAMP != 0 {
            c.date_time()?
        } else {
            None
        };
        let site = if flags & TEMP_FLAG_TYPE != 0 {
            Some(TemperatureType::from_code(c.u8()?)?)
        } else {
            None
        };
        if let Some(kind) = value.special() {
            return Err(GattError::Special {
                field: "temperature",
                kind,
            });
        }
        let centi_celsius = if unit_was_fahrenheit {
            fahrenheit_to_centi_celsius(value)?
        } else {
            value
                .to_fixed(-2)
                .ok()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or(GattError::ValueOutOfRange {
                    field: "temperature",
                })?
        };
        Ok(TemperatureMeasurement {
            centi_celsius,
            timestamp,
            site,
            unit_was_fahrenheit,
        })
    }
}
