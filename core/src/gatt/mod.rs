//! Parsers for the Bluetooth GATT health-measurement characteristics a kiosk reads
//! (DOMAIN.md 4.3), converting each value into the project's fixed-point units:
//!
//! | Quantity      | Unit here           | Device units accepted                       |
//! |---------------|---------------------|---------------------------------------------|
//! | blood pressure| mmHg, `u16`         | mmHg, kPa (× 7.50062)                       |
//! | pulse         | /min, `u16`         | beats per minute                            |
//! | temperature   | 0.01 °C, `i32`      | °C, °F ((F − 32) × 5/9)                     |
//! | SpO2          | whole %, `u8`       | %                                           |
//! | weight        | g, `u32`            | 0.005 kg, 0.01 lb (× 453.59237 g)           |
//! | height        | mm, `u16`           | 0.001 m, 0.1 in (× 25.4 mm)                 |
//! | glucose       | µmol/L, `u32`       | kg/L, mol/L (see below)                     |
//!
//! Glucose in kg/L: mg/dL = kg/L × 10⁵ and mmol/L = mg/dL ÷ 18.016, so
//! µmol/L = kg/L × 10¹¹ ÷ 18016. In mol/L: µmol/L = mol/L × 10⁶.
//!
//! Every conversion is exact integer arithmetic rounded half away from zero at the end
//! (no intermediate rounding, no `f64`).
//!
//! What this module does: decoding and unit conversion. It rejects what cannot be a
//! reading at all: short or overlong payloads, reserved flag bits, IEEE 11073 special
//! values (a NaN is never turned into a number: peer apps have stored NaN as 2047 mmHg),
//! negative values for unsigned quantities, values that do not fit the target integer,
//! impossible timestamps. What it does not do: physiological plausibility (a systolic of
//! 20 mmHg decodes fine; the record model rejects it).
//!
//! Choices where the Bluetooth specifications leave room:
//! - **Reserved flag bits** set → [`GattError::ReservedFlags`]: a future field they
//!   announce would shift the layout, so nothing after the flags can be trusted.
//! - **Timestamps with unknown parts** (year, month or day 0, which the Date Time
//!   characteristic defines as "not known") are read as *no timestamp* (`None`) in the
//!   optional time-stamp fields: the reading is still good, the kiosk stamps it. The
//!   glucose Base Time is mandatory, so there it is an error,
//!   [`GattError::TimestampNotKnown`]. Impossible values (month 13, 24:00, 30 February)
//!   are [`GattError::InvalidTimestamp`].
//! - **PLX "device clock is not set"** (flag bit 4): the time stamp, even if present, is
//!   dropped (`None`): a device without a valid clock must not date a record.
//! - **Blood pressure MAP NaN**: the Blood Pressure Service uses NaN for "mean arterial
//!   pressure not available", so MAP = NaN gives `mean_arterial_mmhg: None`. Any other
//!   special MAP, and any special in every other field, is [`GattError::Special`].
//! - **User ID 255** means "unknown user" in both BP and weight: read as `None`.
//! - **Weight 0xFFFF** is the Weight Scale Service's "measurement unsuccessful":
//!   [`GattError::MeasurementUnsuccessful`].
//! - Intermediate Cuff Pressure (0x2A36) and Intermediate Temperature (0x2A1E) are
//!   in-progress values, never records: [`parse`] does not accept them.

mod blood_pressure;
mod date_time;
mod glucose;
mod plx_spot_check;
mod temperature;
mod weight;

use core::fmt;

pub use blood_pressure::BloodPressureMeasurement;
pub use date_time::{GattDateTime, DATE_TIME_LEN};
pub use glucose::GlucoseMeasurement;
pub use plx_spot_check::PlxSpotCheck;
pub use temperature::{TemperatureMeasurement, TemperatureType};
pub use weight::{WeightMeasurement, WEIGHT_UNSUCCESSFUL};

use crate::ieee11073::{scale_decimal, Float, NumericError, Sfloat, Special};

/// Length of the flags field that starts every characteristic here.
const FLAGS_LEN: usize = 1;
/// Length of an `SFLOAT`.
const SFLOAT_LEN: usize = 2;
/// Length of a `FLOAT`.
const FLOAT_LEN: usize = 4;

/// User ID value meaning "unknown user" (BP and weight).
pub const UNKNOWN_USER: u8 = 0xFF;

/// The 16-bit UUIDs (under the Bluetooth base UUID) of the characteristics parsed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u16)]
pub enum Characteristic {
    /// Blood Pressure Measurement (Blood Pressure service 0x1810).
    BloodPressureMeasurement = 0x2A35,
    /// Temperature Measurement (Health Thermometer service 0x1809).
    TemperatureMeasurement = 0x2A1C,
    /// PLX Spot-Check Measurement (Pulse Oximeter service 0x1822).
    PlxSpotCheckMeasurement = 0x2A5E,
    /// Weight Measurement (Weight Scale service 0x181D).
    WeightMeasurement = 0x2A9D,
    /// Glucose Measurement (Glucose service 0x1808).
    GlucoseMeasurement = 0x2A18,
}

impl Characteristic {
    /// All characteristics parsed here.
    pub const ALL: [Characteristic; 5] = [
        Characteristic::BloodPressureMeasurement,
        Characteristic::TemperatureMeasurement,
        Characteristic::PlxSpotCheckMeasurement,
        Characteristic::WeightMeasurement,
        Characteristic::GlucoseMeasurement,
    ];

    /// The 16-bit UUID.
    pub const fn uuid(self) -> u16 {
        self as u16
    }

    /// The characteristic with this 16-bit UUID, if parsed here.
    pub fn from_uuid(uuid: u16) -> Option<Characteristic> {
        Characteristic::ALL.into_iter().find(|c| c.uuid() == uuid)
    }

    /// The Bluetooth SIG name.
    pub const fn name(self) -> &'static str {
        match self {
            Characteristic::BloodPressureMeasurement => "Blood Pressure Measurement",
            Characteristic::TemperatureMeasurement => "Temperature Measurement",
            Characteristic::PlxSpotCheckMeasurement => "PLX Spot-Check Measurement",
            Characteristic::WeightMeasurement => "Weight Measurement",
            Characteristic::GlucoseMeasurement => "Glucose Measurement",
        }
    }
}

impl fmt::Display for Characteristic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:04X})", self.name(), self.uuid())
    }
}

/// Errors of decoding a GATT health measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GattError {
    /// The payload is shorter than its flags require.
    Truncated {
        /// Which characteristic.
        characteristic: Characteristic,
        /// Bytes the flags require (1 when even the flags are missing).
        needed: usize,
        /// Bytes received.
        got: usize,
    },
    /// The payload is longer than its flags announce.
    TrailingBytes {
        /// Which characteristic.
        characteristic: Characteristic,
        /// Bytes the flags announce.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// Flag bits the specification reserves are set.
    ReservedFlags {
        /// Which characteristic.
        characteristic: Characteristic,
        /// The whole flags byte.
        flags: u8,
    },
    /// A field holds an IEEE 11073 special value (NaN, NRes, ±INF, reserved).
    Special {
        /// Which field.
        field: &'static str,
        /// Which special value.
        kind: Special,
    },
    /// A value is negative where the unit is unsigned, or does not fit the target
    /// integer after conversion.
    ValueOutOfRange {
        /// Which field.
        field: &'static str,
    },
    /// The device reported the measurement as unsuccessful (weight 0xFFFF).
    MeasurementUnsuccessful {
        /// Which field.
        field: &'static str,
    },
    /// A Date Time with impossible parts (month 13, hour 24, 30 February, year < 1582).
    InvalidTimestamp,
    /// A mandatory Date Time (glucose Base Time) with year, month or day "not known" (0).
    TimestampNotKnown,
    /// A temperature type code outside 1..=9.
    UnknownTemperatureType(u8),
    /// A UUID this module does not parse.
    UnknownCharacteristic(u16),
}

impl fmt::Display for GattError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GattError::Truncated {
                characteristic,
                needed,
                got,
            } => write!(f, "{characteristic}: truncated, {got} of {needed} bytes"),
            GattError::TrailingBytes {
                characteristic,
                expected,
                got,
            } => write!(
                f,
                "{characteristic}: {got} bytes where the flags announce {expected}"
            ),
            GattError::ReservedFlags {
                characteristic,
                flags,
            } => write!(
                f,
                "{characteristic}: reserved flag bits set in 0x{flags:02X}"
            ),
            GattError::Special { field, kind } => {
                write!(f, "{field}: device sent {kind}, not a measurement")
            }
            GattError::ValueOutOfRange { field } => {
                write!(
                    f,
                    "{field}: value negative or out of range after conversion"
                )
            }
            GattError::MeasurementUnsuccessful { field } => {
                write!(f, "{field}: device reports the measurement as unsuccessful")
            }
            GattError::InvalidTimestamp => f.write_str("time stamp is not a valid date and time"),
            GattError::TimestampNotKnown => {
                f.write_str("mandatory time stamp has unknown year, month or day")
            }
            GattError::UnknownTemperatureType(code) => {
                write!(f, "temperature type {code} is not defined (1..=9)")
            }
            GattError::UnknownCharacteristic(uuid) => {
                write!(
                    f,
                    "characteristic 0x{uuid:04X} is not a supported measurement"
                )
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for GattError {}

// ---------------------------------------------------------------------------------------
// Byte reading and conversions
// ---------------------------------------------------------------------------------------

/// Reads the flags byte, rejects reserved bits, and checks the total length the flags
/// announce (computed by `length_of`) against the payload.
fn check_frame(
    characteristic: Characteristic,
    bytes: &[u8],
    reserved_mask: u8,
    length_of: impl Fn(u8) -> usize,
) -> Result<u8, GattError> {
    let flags = *bytes.first().ok_or(GattError::Truncated {
        characteristic,
        needed: FLAGS_LEN,
        got: 0,
    })?;
    if flags & reserved_mask != 0 {
        return Err(GattError::ReservedFlags {
            characteristic,
            flags,
        });
    }
    let needed = length_of(flags);
    let got = bytes.len();
    if got < needed {
        return Err(GattError::Truncated {
            characteristic,
            needed,
            got,
        });
    }
    if got > needed {
        return Err(GattError::TrailingBytes {
            characteristic,
            expected: needed,
            got,
        });
    }
    Ok(flags)
}

/// `len` if `flags` has `bit`, else 0.
fn if_flag(flags: u8, bit: u8, len: usize) -> usize {
    if flags & bit != 0 {
        len
    } else {
        0
    }
}

/// Sequential little-endian reader over a payload whose length was already checked; a
/// short read still reports [`GattError::Truncated`] rather than panicking.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    characteristic: Characteristic,
}

impl<'a> Cursor<'a> {
    /// Starts after the flags byte.
    fn after_flags(characteristic: Characteristic, bytes: &'a [u8]) -> Cursor<'a> {
        Cursor {
            bytes,
            pos: FLAGS_LEN,
            characteristic,
        }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], GattError> {
        let end = self.pos.checked_add(N);
        let chunk = end
            .and_then(|end| self.bytes.get(self.pos..end))
            .and_then(|s| <[u8; N]>::try_from(s).ok());
        match (chunk, end) {
            (Some(chunk), Some(end)) => {
                self.pos = end;
                Ok(chunk)
            }
            _ => Err(GattError::Truncated {
                characteristic: self.characteristic,
                needed: end.unwrap_or(usize::MAX),
                got: self.bytes.len(),
            }),
        }
    }

    fn u8(&mut self) -> Result<u8, GattError> {
        let [b] = self.take::<1>()?;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, GattError> {
        self.take::<2>().map(u16::from_le_bytes)
    }

    fn u24(&mut self) -> Result<u32, GattError> {
        let [a, b, c] = self.take::<3>()?;
        Ok(u32::from_le_bytes([a, b, c, 0]))
    }

    fn i16(&mut self) -> Result<i16, GattError> {
        self.take::<2>().map(i16::from_le_bytes)
    }

    fn sfloat(&mut self) -> Result<Sfloat, GattError> {
        self.u16().map(Sfloat::from_raw)
    }

    fn float(&mut self) -> Result<Float, GattError> {
        self.take::<4>()
            .map(|b| Float::from_raw(u32::from_le_bytes(b)))
    }

    fn date_time(&mut self) -> Result<Option<GattDateTime>, GattError> {
        self.take::<DATE_TIME_LEN>()
            .and_then(GattDateTime::from_bytes)
    }
}

/// An `SFLOAT` converted by `num / den` into units of 10^`scale_exp`, as `T`; specials
/// are [`GattError::Special`], negative or too large results
/// [`GattError::ValueOutOfRange`].
fn convert_sfloat<T: TryFrom<i64>>(
    value: Sfloat,
    field: &'static str,
    scale_exp: i32,
    (num, den): (u32, u32),
) -> Result<T, GattError> {
    match value.to_fixed_ratio(scale_exp, num, den) {
        Ok(v) => T::try_from(v).map_err(|_| GattError::ValueOutOfRange { field }),
        Err(NumericError::Special(kind)) => Err(GattError::Special { field, kind }),
        Err(_) => Err(GattError::ValueOutOfRange { field }),
    }
}

/// A raw unsigned integer in units of 10^`exp10`, converted by `num / den` into `T`.
fn convert_raw<T: TryFrom<i64>>(
    raw: u16,
    exp10: i32,
    (num, den): (u32, u32),
    field: &'static str,
) -> Result<T, GattError> {
    scale_decimal(i128::from(raw), exp10, num, den)
        .and_then(|v| T::try_from(v).ok())
        .ok_or(GattError::ValueOutOfRange { field })
}

/// Identity factor.
const ONE: (u32, u32) = (1, 1);

// ---------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------

/// One decoded measurement of any supported characteristic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Measurement {
    /// From Blood Pressure Measurement (0x2A35).
    BloodPressure(BloodPressureMeasurement),
    /// From Temperature Measurement (0x2A1C).
    Temperature(TemperatureMeasurement),
    /// From PLX Spot-Check Measurement (0x2A5E).
    PlxSpotCheck(PlxSpotCheck),
    /// From Weight Measurement (0x2A9D).
    Weight(WeightMeasurement),
    /// From Glucose Measurement (0x2A18).
    Glucose(GlucoseMeasurement),
}

impl Measurement {
    /// The characteristic this measurement came from.
    pub fn characteristic(&self) -> Characteristic {
        match self {
            Measurement::BloodPressure(_) => Characteristic::BloodPressureMeasurement,
            Measurement::Temperature(_) => Characteristic::TemperatureMeasurement,
            Measurement::PlxSpotCheck(_) => Characteristic::PlxSpotCheckMeasurement,
            Measurement::Weight(_) => Characteristic::WeightMeasurement,
            Measurement::Glucose(_) => Characteristic::GlucoseMeasurement,
        }
    }
}

/// Decodes a notification or indication value of the characteristic with 16-bit `uuid`;
/// [`GattError::UnknownCharacteristic`] for any other UUID.
pub fn parse(uuid: u16, bytes: &[u8]) -> Result<Measurement, GattError> {
    match Characteristic::from_uuid(uuid) {
        Some(Characteristic::BloodPressureMeasurement) => {
            BloodPressureMeasurement::parse(bytes).map(Measurement::BloodPressure)
        }
        Some(Characteristic::TemperatureMeasurement) => {
            TemperatureMeasurement::parse(bytes).map(Measurement::Temperature)
        }
        Some(Characteristic::PlxSpotCheckMeasurement) => {
            PlxSpotCheck::parse(bytes).map(Measurement::PlxSpotCheck)
        }
        Some(Characteristic::WeightMeasurement) => {
            WeightMeasurement::parse(bytes).map(Measurement::Weight)
        }
        Some(Characteristic::GlucoseMeasurement) => {
            GlucoseMeasurement::parse(bytes).map(Measurement::Glucose)
        }
        None => Err(GattError::UnknownCharacteristic(uuid)),
    }
}

#[cfg(test)]
mod tests;
