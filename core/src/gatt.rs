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

use core::fmt;

use crate::ieee11073::{
    div_round_half_away, pow10_i128, scale_decimal, Float, NumericError, Sfloat, Special,
};
use crate::time::{days_in_month, Date, TimeError, UtcSeconds, SECONDS_PER_DAY};

/// Length of the flags field that starts every characteristic here.
const FLAGS_LEN: usize = 1;
/// Length of an `SFLOAT`.
const SFLOAT_LEN: usize = 2;
/// Length of a `FLOAT`.
const FLOAT_LEN: usize = 4;
/// Length of a Date Time (year u16, month, day, hours, minutes, seconds).
pub const DATE_TIME_LEN: usize = 7;

/// User ID value meaning "unknown user" (BP and weight).
pub const UNKNOWN_USER: u8 = 0xFF;
/// Raw weight meaning "measurement unsuccessful" (Weight Scale Service).
pub const WEIGHT_UNSUCCESSFUL: u16 = 0xFFFF;

/// kPa → mmHg factor 7.50062 as the fraction 750062 / 100000.
const MMHG_PER_KPA: (u32, u32) = (750_062, 100_000);
/// Grams in 0.01 lb: 4.5359237 g = 45359237 / 10⁷.
const GRAMS_PER_CENTI_POUND: (u32, u32) = (45_359_237, 10_000_000);
/// Millimetres in 0.1 in: 2.54 mm = 254 / 100.
const MM_PER_TENTH_INCH: (u32, u32) = (254, 100);
/// Grams per 0.005 kg (SI weight resolution).
const GRAMS_PER_SI_WEIGHT_UNIT: u32 = 5;
/// Glucose molar mass in mg/mmol × 1000 (18.016 mg/dL per mmol/L): µmol/L = kg/L × 10¹¹ /
/// 18016.
const GLUCOSE_MG_PER_DL_PER_MMOL_L_MILLI: u32 = 18_016;
/// Fahrenheit exponents below this contribute less than 10⁻¹⁴ °F, which cannot change
/// the rounded centi-°C result ((0 − 32) × 500 / 9 = −1777.8, far from a half).
const FAHRENHEIT_NEGLIGIBLE_EXPONENT: i32 = -20;

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
// Date Time
// ---------------------------------------------------------------------------------------

/// A Bluetooth Date Time (org.bluetooth.characteristic.date_time) in the device's local
/// time, with every part known and valid: year 1582..=9999, a real calendar day,
/// 00:00:00..=23:59:59.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GattDateTime {
    year: u16,
    month: u8,
    day: u8,
    hours: u8,
    minutes: u8,
    seconds: u8,
}

impl GattDateTime {
    /// Earliest year the Date Time characteristic allows.
    pub const YEAR_MIN: u16 = 1582;
    /// Latest year the Date Time characteristic allows.
    pub const YEAR_MAX: u16 = 9999;

    /// Builds a validated date and time; any invalid or unknown (0) part is
    /// [`GattError::InvalidTimestamp`].
    pub fn new(
        year: u16,
        month: u8,
        day: u8,
        hours: u8,
        minutes: u8,
        seconds: u8,
    ) -> Result<GattDateTime, GattError> {
        let date_ok = (Self::YEAR_MIN..=Self::YEAR_MAX).contains(&year)
            && day >= 1
            && day <= days_in_month(year, month);
        if !date_ok || hours > 23 || minutes > 59 || seconds > 59 {
            return Err(GattError::InvalidTimestamp);
        }
        Ok(GattDateTime {
            year,
            month,
            day,
            hours,
            minutes,
            seconds,
        })
    }

    /// Decodes the 7 wire bytes (year little-endian). `Ok(None)` when the year, month or
    /// day is 0 ("not known"); [`GattError::InvalidTimestamp`] for impossible values,
    /// including an impossible time of day next to an unknown date.
    pub fn from_bytes(bytes: [u8; DATE_TIME_LEN]) -> Result<Option<GattDateTime>, GattError> {
        let [y0, y1, month, day, hours, minutes, seconds] = bytes;
        let year = u16::from_le_bytes([y0, y1]);
        if hours > 23 || minutes > 59 || seconds > 59 {
            return Err(GattError::InvalidTimestamp);
        }
        if year == 0 || month == 0 || day == 0 {
            return Ok(None);
        }
        GattDateTime::new(year, month, day, hours, minutes, seconds).map(Some)
    }

    /// Year (1582..=9999).
    pub fn year(&self) -> u16 {
        self.year
    }
    /// Month (1..=12).
    pub fn month(&self) -> u8 {
        self.month
    }
    /// Day of month (1..=31).
    pub fn day(&self) -> u8 {
        self.day
    }
    /// Hours (0..=23).
    pub fn hours(&self) -> u8 {
        self.hours
    }
    /// Minutes (0..=59).
    pub fn minutes(&self) -> u8 {
        self.minutes
    }
    /// Seconds (0..=59).
    pub fn seconds(&self) -> u8 {
        self.seconds
    }

    /// The UTC instant of this local time, given the device's offset from UTC in minutes
    /// (+480 for China Standard Time): UTC = local − offset.
    ///
    /// Errors: [`TimeError::InvalidDate`] for a year outside 1900..=2099,
    /// [`TimeError::UtcOutOfRange`] for an instant outside the valid record range (an
    /// unset device clock showing 2000-01-01, say).
    pub fn to_utc_seconds(&self, utc_offset_minutes: i32) -> Result<UtcSeconds, TimeError> {
        let date = Date::new(self.year, self.month, self.day)?;
        let local = date.days_since_unix_epoch() * SECONDS_PER_DAY as i64
            + i64::from(self.hours) * 3600
            + i64::from(self.minutes) * 60
            + i64::from(self.seconds);
        let utc = local - i64::from(utc_offset_minutes) * 60;
        let utc = u64::try_from(utc).map_err(|_| TimeError::UtcOutOfRange)?;
        UtcSeconds::new(utc)
    }
}

impl fmt::Display for GattDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hours, self.minutes, self.seconds
        )
    }
}

// ---------------------------------------------------------------------------------------
// Temperature type
// ---------------------------------------------------------------------------------------

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
// Blood pressure
// ---------------------------------------------------------------------------------------

const BP_FLAG_KPA: u8 = 1 << 0;
const BP_FLAG_TIMESTAMP: u8 = 1 << 1;
const BP_FLAG_PULSE: u8 = 1 << 2;
const BP_FLAG_USER_ID: u8 = 1 << 3;
const BP_FLAG_STATUS: u8 = 1 << 4;
const BP_RESERVED: u8 = 0b1110_0000;

/// Blood Pressure Measurement (0x2A35).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BloodPressureMeasurement {
    /// Systolic pressure, mmHg (converted from kPa if the device sent kPa).
    pub systolic_mmhg: u16,
    /// Diastolic pressure, mmHg.
    pub diastolic_mmhg: u16,
    /// Mean arterial pressure, mmHg; `None` when the device sent NaN (not available).
    pub mean_arterial_mmhg: Option<u16>,
    /// Pulse rate, beats per minute, if sent.
    pub pulse_per_min: Option<u16>,
    /// The device's local time stamp, if sent and known.
    pub timestamp: Option<GattDateTime>,
    /// The device's user number, if sent and not 255 (unknown user).
    pub user_id: Option<u8>,
    /// Measurement Status bits (body movement, cuff fit, irregular pulse, pulse range,
    /// position), if sent.
    pub status: Option<u16>,
    /// Whether the device sent kPa (values above are converted to mmHg).
    pub unit_was_kpa: bool,
}

impl BloodPressureMeasurement {
    /// Decodes the characteristic value.
    pub fn parse(bytes: &[u8]) -> Result<BloodPressureMeasurement, GattError> {
        let ch = Characteristic::BloodPressureMeasurement;
        let flags = check_frame(ch, bytes, BP_RESERVED, |f| {
            FLAGS_LEN
                + 3 * SFLOAT_LEN
                + if_flag(f, BP_FLAG_TIMESTAMP, DATE_TIME_LEN)
                + if_flag(f, BP_FLAG_PULSE, SFLOAT_LEN)
                + if_flag(f, BP_FLAG_USER_ID, 1)
                + if_flag(f, BP_FLAG_STATUS, 2)
        })?;
        let unit_was_kpa = flags & BP_FLAG_KPA != 0;
        let factor = if unit_was_kpa { MMHG_PER_KPA } else { ONE };
        let mut c = Cursor::after_flags(ch, bytes);
        let systolic = c.sfloat()?;
        let diastolic = c.sfloat()?;
        let mean = c.sfloat()?;
        let timestamp = if flags & BP_FLAG_TIMESTAMP != 0 {
            c.date_time()?
        } else {
            None
        };
        let pulse = if flags & BP_FLAG_PULSE != 0 {
            Some(c.sfloat()?)
        } else {
            None
        };
        let user_id = if flags & BP_FLAG_USER_ID != 0 {
            Some(c.u8()?).filter(|&u| u != UNKNOWN_USER)
        } else {
            None
        };
        let status = if flags & BP_FLAG_STATUS != 0 {
            Some(c.u16()?)
        } else {
            None
        };
        Ok(BloodPressureMeasurement {
            systolic_mmhg: convert_sfloat(systolic, "systolic", 0, factor)?,
            diastolic_mmhg: convert_sfloat(diastolic, "diastolic", 0, factor)?,
            mean_arterial_mmhg: if mean.special() == Some(Special::NaN) {
                None
            } else {
                Some(convert_sfloat(mean, "mean arterial pressure", 0, factor)?)
            },
            pulse_per_min: pulse
                .map(|p| convert_sfloat(p, "pulse rate", 0, ONE))
                .transpose()?,
            timestamp,
            user_id,
            status,
            unit_was_kpa,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Temperature
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// PLX spot-check
// ---------------------------------------------------------------------------------------

const PLX_FLAG_TIMESTAMP: u8 = 1 << 0;
const PLX_FLAG_MEASUREMENT_STATUS: u8 = 1 << 1;
const PLX_FLAG_DEVICE_SENSOR_STATUS: u8 = 1 << 2;
const PLX_FLAG_PULSE_AMPLITUDE_INDEX: u8 = 1 << 3;
const PLX_FLAG_CLOCK_NOT_SET: u8 = 1 << 4;
const PLX_RESERVED: u8 = 0b1110_0000;
/// Length of the Device and Sensor Status field (24 bits).
const PLX_DEVICE_SENSOR_STATUS_LEN: usize = 3;

/// PLX Spot-Check Measurement (0x2A5E) of a pulse oximeter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PlxSpotCheck {
    /// Oxygen saturation, whole percent (rounded half away from zero).
    pub spo2_percent: u8,
    /// Pulse rate, beats per minute.
    pub pulse_per_min: u16,
    /// The device's local time stamp, if sent, known, and the device clock is set.
    pub timestamp: Option<GattDateTime>,
    /// Measurement Status bits (ongoing, early estimate, validated, questionable...),
    /// if sent.
    pub measurement_status: Option<u16>,
    /// Device and Sensor Status bits (24-bit field), if sent.
    pub device_sensor_status: Option<u32>,
    /// Pulse amplitude index in 0.01 %, if sent.
    pub pulse_amplitude_index_centi_percent: Option<u16>,
    /// The device said its clock is not set (any time stamp was dropped).
    pub device_clock_not_set: bool,
}

impl PlxSpotCheck {
    /// Decodes the characteristic value.
    pub fn parse(bytes: &[u8]) -> Result<PlxSpotCheck, GattError> {
        let ch = Characteristic::PlxSpotCheckMeasurement;
        let flags = check_frame(ch, bytes, PLX_RESERVED, |f| {
            FLAGS_LEN
                + 2 * SFLOAT_LEN
                + if_flag(f, PLX_FLAG_TIMESTAMP, DATE_TIME_LEN)
                + if_flag(f, PLX_FLAG_MEASUREMENT_STATUS, 2)
                + if_flag(
                    f,
                    PLX_FLAG_DEVICE_SENSOR_STATUS,
                    PLX_DEVICE_SENSOR_STATUS_LEN,
                )
                + if_flag(f, PLX_FLAG_PULSE_AMPLITUDE_INDEX, SFLOAT_LEN)
        })?;
        let device_clock_not_set = flags & PLX_FLAG_CLOCK_NOT_SET != 0;
        let mut c = Cursor::after_flags(ch, bytes);
        let spo2 = c.sfloat()?;
        let pulse = c.sfloat()?;
        let timestamp = if flags & PLX_FLAG_TIMESTAMP != 0 {
            c.date_time()?.filter(|_| !device_clock_not_set)
        } else {
            None
        };
        let measurement_status = if flags & PLX_FLAG_MEASUREMENT_STATUS != 0 {
            Some(c.u16()?)
        } else {
            None
        };
        let device_sensor_status = if flags & PLX_FLAG_DEVICE_SENSOR_STATUS != 0 {
            Some(c.u24()?)
        } else {
            None
        };
        let pai = if flags & PLX_FLAG_PULSE_AMPLITUDE_INDEX != 0 {
            Some(c.sfloat()?)
        } else {
            None
        };
        Ok(PlxSpotCheck {
            spo2_percent: convert_sfloat(spo2, "SpO2", 0, ONE)?,
            pulse_per_min: convert_sfloat(pulse, "pulse rate", 0, ONE)?,
            timestamp,
            measurement_status,
            device_sensor_status,
            pulse_amplitude_index_centi_percent: pai
                .map(|p| convert_sfloat(p, "pulse amplitude index", -2, ONE))
                .transpose()?,
            device_clock_not_set,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Weight
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Glucose
// ---------------------------------------------------------------------------------------

const GLU_FLAG_TIME_OFFSET: u8 = 1 << 0;
const GLU_FLAG_CONCENTRATION: u8 = 1 << 1;
const GLU_FLAG_MOL_PER_L: u8 = 1 << 2;
const GLU_FLAG_SENSOR_STATUS: u8 = 1 << 3;
const GLU_FLAG_CONTEXT_FOLLOWS: u8 = 1 << 4;
const GLU_RESERVED: u8 = 0b1110_0000;

/// Glucose Measurement (0x2A18) of a glucometer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GlucoseMeasurement {
    /// The meter's record sequence number.
    pub sequence: u16,
    /// The meter's base time (local); mandatory, so an unknown one is an error.
    pub base_time: GattDateTime,
    /// Minutes to add to `base_time` for the measurement time, if sent.
    pub time_offset_min: Option<i16>,
    /// Glucose in µmol/L (0.001 mmol/L), if sent.
    pub glucose_umol_per_l: Option<u32>,
    /// Sample type (low nibble: 1 capillary whole blood, 2 capillary plasma, ...), if
    /// sent with the concentration. Raw code, not validated.
    pub sample_type: Option<u8>,
    /// Sample location (high nibble: 1 finger, 2 alternate site, 3 earlobe, 4 control
    /// solution, 15 not available), if sent. Raw code, not validated.
    pub sample_location: Option<u8>,
    /// Sensor Status Annunciation bits, if sent.
    pub sensor_status: Option<u16>,
    /// A Glucose Measurement Context (0x2A34) with the same sequence number follows.
    pub context_follows: bool,
}

impl GlucoseMeasurement {
    /// Decodes the characteristic value.
    pub fn parse(bytes: &[u8]) -> Result<GlucoseMeasurement, GattError> {
        let ch = Characteristic::GlucoseMeasurement;
        let flags = check_frame(ch, bytes, GLU_RESERVED, |f| {
            FLAGS_LEN
                + 2
                + DATE_TIME_LEN
                + if_flag(f, GLU_FLAG_TIME_OFFSET, 2)
                + if_flag(f, GLU_FLAG_CONCENTRATION, SFLOAT_LEN + 1)
                + if_flag(f, GLU_FLAG_SENSOR_STATUS, 2)
        })?;
        let mut c = Cursor::after_flags(ch, bytes);
        let sequence = c.u16()?;
        let base_time = c.date_time()?.ok_or(GattError::TimestampNotKnown)?;
        let time_offset_min = if flags & GLU_FLAG_TIME_OFFSET != 0 {
            Some(c.i16()?)
        } else {
            None
        };
        let (concentration, type_location) = if flags & GLU_FLAG_CONCENTRATION != 0 {
            (Some(c.sfloat()?), Some(c.u8()?))
        } else {
            (None, None)
        };
        let sensor_status = if flags & GLU_FLAG_SENSOR_STATUS != 0 {
            Some(c.u16()?)
        } else {
            None
        };
        const FIELD: &str = "glucose concentration";
        let glucose_umol_per_l = match concentration {
            // mol/L × 10^6 = µmol/L
            Some(v) if flags & GLU_FLAG_MOL_PER_L != 0 => Some(convert_sfloat(v, FIELD, -6, ONE)?),
            // kg/L × 10^11 / 18016 = µmol/L
            Some(v) => Some(convert_sfloat(
                v,
                FIELD,
                -11,
                (1, GLUCOSE_MG_PER_DL_PER_MMOL_L_MILLI),
            )?),
            None => None,
        };
        Ok(GlucoseMeasurement {
            sequence,
            base_time,
            time_offset_min,
            glucose_umol_per_l,
            sample_type: type_location.map(|b| b & 0x0F),
            sample_location: type_location.map(|b| b >> 4),
            sensor_status,
            context_follows: flags & GLU_FLAG_CONTEXT_FOLLOWS != 0,
        })
    }
}

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
mod tests {
    use super::*;

    use crate::ieee11073::tests::{FLOAT_SPECIALS, SFLOAT_SPECIALS};

    /// Date Time 2025-03-14 09:26:53: year 2025 = 0x07E9 little-endian, 3, 14 = 0x0E,
    /// 9, 26 = 0x1A, 53 = 0x35.
    const TS: [u8; 7] = [0xE9, 0x07, 0x03, 0x0E, 0x09, 0x1A, 0x35];

    fn ts() -> GattDateTime {
        GattDateTime::new(2025, 3, 14, 9, 26, 53).unwrap()
    }

    fn concat(parts: &[&[u8]]) -> Vec<u8> {
        parts.iter().flat_map(|p| p.iter().copied()).collect()
    }

    fn with_u16_at(bytes: &[u8], at: usize, raw: u16) -> Vec<u8> {
        let mut v = bytes.to_vec();
        v[at..at + 2].copy_from_slice(&raw.to_le_bytes());
        v
    }

    // ---- blood pressure ----

    /// flags 0x00 (mmHg, nothing optional); SYS 120 = 0x0078, DIA 80 = 0x0050,
    /// MAP 93 = 0x005D, each SFLOAT little-endian.
    const BP_BASIC: [u8; 7] = [0x00, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00];

    /// flags 0x01 (kPa). SYS 16.0 kPa = 160 × 10⁻¹ = 0xF0A0; DIA 10.7 = 107 × 10⁻¹ =
    /// 0xF06B; MAP 12.4 = 124 × 10⁻¹ = 0xF07C.
    /// 16.0 × 7.50062 = 120.00992 → 120; 10.7 × 7.50062 = 80.256634 → 80;
    /// 12.4 × 7.50062 = 93.007688 → 93.
    const BP_KPA: [u8; 7] = [0x01, 0xA0, 0xF0, 0x6B, 0xF0, 0x7C, 0xF0];

    /// flags 0x1E: time stamp (b1), pulse (b2), user id (b3), status (b4). 120/80/93,
    /// TS, pulse 72 = 0x0048, user 1, status 0x0005 (body movement + irregular pulse).
    /// Length 1 + 6 + 7 + 2 + 1 + 2 = 19.
    fn bp_full() -> Vec<u8> {
        concat(&[
            &[0x1E, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00],
            &TS,
            &[0x48, 0x00, 0x01, 0x05, 0x00],
        ])
    }

    #[test]
    fn bp_basic_120_80() {
        let m = BloodPressureMeasurement::parse(&BP_BASIC).unwrap();
        assert_eq!(
            m,
            BloodPressureMeasurement {
                systolic_mmhg: 120,
                diastolic_mmhg: 80,
                mean_arterial_mmhg: Some(93),
                pulse_per_min: None,
                timestamp: None,
                user_id: None,
                status: None,
                unit_was_kpa: false,
            }
        );
    }

    #[test]
    fn bp_kpa_converted() {
        let m = BloodPressureMeasurement::parse(&BP_KPA).unwrap();
        assert_eq!(m.systolic_mmhg, 120);
        assert_eq!(m.diastolic_mmhg, 80);
        assert_eq!(m.mean_arterial_mmhg, Some(93));
        assert!(m.unit_was_kpa);
        // 18.7 kPa (187 × 10⁻¹ = 0xF0BB) × 7.50062 = 140.261594 → 140; and 18.6 kPa
        // (0xF0BA) → 139.511532 → 140 (rounding to nearest, not truncation).
        let v = with_u16_at(&BP_KPA, 1, 0xF0BB);
        assert_eq!(
            BloodPressureMeasurement::parse(&v).unwrap().systolic_mmhg,
            140
        );
        let v = with_u16_at(&BP_KPA, 1, 0xF0BA);
        assert_eq!(
            BloodPressureMeasurement::parse(&v).unwrap().systolic_mmhg,
            140
        );
        // The factor's last digits matter: 1000 kPa (100 × 10¹ = 0x1064) × 7.50062 =
        // 7500.62 → 7501 (a rounded factor of 7.5 would give 7500).
        let v = with_u16_at(&BP_KPA, 1, 0x1064);
        assert_eq!(
            BloodPressureMeasurement::parse(&v).unwrap().systolic_mmhg,
            7501
        );
    }

    #[test]
    fn bp_with_pulse_timestamp_user_status() {
        let m = BloodPressureMeasurement::parse(&bp_full()).unwrap();
        assert_eq!((m.systolic_mmhg, m.diastolic_mmhg), (120, 80));
        assert_eq!(m.pulse_per_min, Some(72));
        assert_eq!(m.timestamp, Some(ts()));
        assert_eq!(m.user_id, Some(1));
        assert_eq!(m.status, Some(0x0005));
        // User 255 is "unknown user".
        let mut v = bp_full();
        v[16] = 0xFF;
        assert_eq!(BloodPressureMeasurement::parse(&v).unwrap().user_id, None);
        // An unknown (year 0) time stamp is no time stamp; an impossible one an error.
        let mut v = bp_full();
        v[7] = 0;
        v[8] = 0;
        let m = BloodPressureMeasurement::parse(&v).unwrap();
        assert_eq!((m.timestamp, m.pulse_per_min), (None, Some(72)));
        let mut v = bp_full();
        v[9] = 13; // month 13
        assert_eq!(
            BloodPressureMeasurement::parse(&v),
            Err(GattError::InvalidTimestamp)
        );
    }

    #[test]
    fn bp_specials_never_become_numbers() {
        let full = bp_full();
        // Field offsets in bp_full: SYS 1, DIA 3, MAP 5, pulse 14.
        let fields = [
            (1, "systolic"),
            (3, "diastolic"),
            (5, "mean arterial pressure"),
            (14, "pulse rate"),
        ];
        for (at, field) in fields {
            for (raw, kind) in SFLOAT_SPECIALS {
                let v = with_u16_at(&full, at, raw);
                let got = BloodPressureMeasurement::parse(&v);
                if field == "mean arterial pressure" && kind == Special::NaN {
                    // BLS: MAP NaN = not available.
                    assert_eq!(got.map(|m| m.mean_arterial_mmhg), Ok(None));
                } else {
                    assert_eq!(got, Err(GattError::Special { field, kind }), "{field}");
                }
                // The same in kPa.
                let mut v = v;
                v[0] |= BP_FLAG_KPA;
                let got = BloodPressureMeasurement::parse(&v);
                if !(field == "mean arterial pressure" && kind == Special::NaN) {
                    assert_eq!(got, Err(GattError::Special { field, kind }), "{field}");
                }
            }
        }
    }

    #[test]
    fn bp_negative_and_huge_values() {
        // 0x0FFF: exponent 0, mantissa 0xFFF = -1 → -1 mmHg cannot be a u16.
        let v = with_u16_at(&BP_BASIC, 1, 0x0FFF);
        assert_eq!(
            BloodPressureMeasurement::parse(&v),
            Err(GattError::ValueOutOfRange { field: "systolic" })
        );
        // 0x77FD = 2045 × 10⁷ mmHg: beyond u16.
        let v = with_u16_at(&BP_BASIC, 3, 0x77FD);
        assert_eq!(
            BloodPressureMeasurement::parse(&v),
            Err(GattError::ValueOutOfRange { field: "diastolic" })
        );
        // 0xFFFF = -0.1 mmHg rounds to 0: not negative after rounding, accepted as 0
        // (plausibility is the record model's job).
        let v = with_u16_at(&BP_BASIC, 1, 0xFFFF);
        assert_eq!(
            BloodPressureMeasurement::parse(&v).unwrap().systolic_mmhg,
            0
        );
    }

    #[test]
    fn bp_reserved_flags() {
        for bit in 5..8 {
            let mut v = BP_BASIC;
            v[0] = 1 << bit;
            assert_eq!(
                BloodPressureMeasurement::parse(&v),
                Err(GattError::ReservedFlags {
                    characteristic: Characteristic::BloodPressureMeasurement,
                    flags: 1 << bit,
                })
            );
        }
    }

    // ---- temperature ----

    /// flags 0x00 (°C); FLOAT 0xFF00016E (36.6) little-endian.
    const TEMP_C: [u8; 5] = [0x00, 0x6E, 0x01, 0x00, 0xFF];
    /// flags 0x01 (°F); 98.6 = 986 × 10⁻¹, 986 = 0x3DA → FLOAT 0xFF0003DA.
    /// (98.6 − 32) × 5 / 9 = 37.00 °C → 3700.
    const TEMP_F: [u8; 5] = [0x01, 0xDA, 0x03, 0x00, 0xFF];

    #[test]
    fn temperature_celsius_and_fahrenheit() {
        let m = TemperatureMeasurement::parse(&TEMP_C).unwrap();
        assert_eq!(
            m,
            TemperatureMeasurement {
                centi_celsius: 3660,
                timestamp: None,
                site: None,
                unit_was_fahrenheit: false,
            }
        );
        let m = TemperatureMeasurement::parse(&TEMP_F).unwrap();
        assert_eq!(m.centi_celsius, 3700);
        assert!(m.unit_was_fahrenheit);
        // -40 °F = -40 °C: mantissa 0xFFFFD8 = -40, exponent 0 → bytes D8 FF FF 00.
        let m = TemperatureMeasurement::parse(&[0x01, 0xD8, 0xFF, 0xFF, 0x00]).unwrap();
        assert_eq!(m.centi_celsius, -4000);
        // Ties round away from zero: 32.009 °F (32009 = 0x7D09, exponent -3 = 0xFD):
        // 0.009 × 500 / 9 = 0.5 centi-°C → 1; 31.991 °F (0x7CF7) → -0.5 → -1.
        let m = TemperatureMeasurement::parse(&[0x01, 0x09, 0x7D, 0x00, 0xFD]).unwrap();
        assert_eq!(m.centi_celsius, 1);
        let m = TemperatureMeasurement::parse(&[0x01, 0xF7, 0x7C, 0x00, 0xFD]).unwrap();
        assert_eq!(m.centi_celsius, -1);
        // 1 × 10⁻¹²⁸ °F ≈ 0 °F: -32 × 500 / 9 = -1777.8 → -1778.
        let m = TemperatureMeasurement::parse(&[0x01, 0x01, 0x00, 0x00, 0x80]).unwrap();
        assert_eq!(m.centi_celsius, -1778);
        // 36.65 °C (3665 × 10⁻², 0xFE000E51) → 3665; 36.655 (36655 = 0x8F2F, 10⁻³)
        // → 3665.5 → 3666.
        let m = TemperatureMeasurement::parse(&[0x00, 0x51, 0x0E, 0x00, 0xFE]).unwrap();
        assert_eq!(m.centi_celsius, 3665);
        let m = TemperatureMeasurement::parse(&[0x00, 0x2F, 0x8F, 0x00, 0xFD]).unwrap();
        assert_eq!(m.centi_celsius, 3666);
    }

    #[test]
    fn temperature_with_timestamp_and_type() {
        // flags 0x06: time stamp + type; type 2 = body.
        let v = concat(&[&TEMP_C, &TS, &[0x02]]);
        let mut v = v;
        v[0] = 0x06;
        let m = TemperatureMeasurement::parse(&v).unwrap();
        assert_eq!(m.centi_celsius, 3660);
        assert_eq!(m.timestamp, Some(ts()));
        assert_eq!(m.site, Some(TemperatureType::Body));
        // Type only (flags 0x04), each defined code.
        for code in 1..=9u8 {
            let v = concat(&[&[0x04], &TEMP_C[1..], &[code]]);
            let site = TemperatureMeasurement::parse(&v).unwrap().site.unwrap();
            assert_eq!(site.code(), code);
        }
        for code in [0u8, 10, 255] {
            let v = concat(&[&[0x04], &TEMP_C[1..], &[code]]);
            assert_eq!(
                TemperatureMeasurement::parse(&v),
                Err(GattError::UnknownTemperatureType(code))
            );
        }
        assert_eq!(TemperatureType::from_code(9), Ok(TemperatureType::Tympanum));
        assert_eq!(TemperatureType::from_code(1), Ok(TemperatureType::Armpit));
    }

    #[test]
    fn temperature_specials_and_range() {
        for flags in [0x00u8, 0x01] {
            for (raw, kind) in FLOAT_SPECIALS {
                let v = concat(&[&[flags], &raw.to_le_bytes()]);
                assert_eq!(
                    TemperatureMeasurement::parse(&v),
                    Err(GattError::Special {
                        field: "temperature",
                        kind
                    })
                );
            }
        }
        // 1 × 10¹²⁷ °C / °F does not fit.
        for flags in [0x00u8, 0x01] {
            let v = [flags, 0x01, 0x00, 0x00, 0x7F];
            assert_eq!(
                TemperatureMeasurement::parse(&v),
                Err(GattError::ValueOutOfRange {
                    field: "temperature"
                })
            );
        }
        let mut v = TEMP_C;
        v[0] = 0x08;
        assert!(matches!(
            TemperatureMeasurement::parse(&v),
            Err(GattError::ReservedFlags { flags: 0x08, .. })
        ));
    }

    // ---- PLX spot-check ----

    /// flags 0x00; SpO2 97 = 0x0061, PR 72 = 0x0048.
    const PLX_BASIC: [u8; 5] = [0x00, 0x61, 0x00, 0x48, 0x00];

    /// flags 0x0F: time stamp, measurement status 0x0080 (validated data, bit 7),
    /// device and sensor status 0x000020 (low perfusion, bit 5, 3 bytes), pulse amplitude
    /// index 2.5 % = 25 × 10⁻¹ = 0xF019. Length 1 + 4 + 7 + 2 + 3 + 2 = 19.
    fn plx_full() -> Vec<u8> {
        concat(&[&PLX_BASIC, &TS, &[0x80, 0x00, 0x20, 0x00, 0x00, 0x19, 0xF0]])
            .into_iter()
            .enumerate()
            .map(|(i, b)| if i == 0 { 0x0F } else { b })
            .collect()
    }

    #[test]
    fn plx_basic_and_full() {
        let m = PlxSpotCheck::parse(&PLX_BASIC).unwrap();
        assert_eq!(
            m,
            PlxSpotCheck {
                spo2_percent: 97,
                pulse_per_min: 72,
                timestamp: None,
                measurement_status: None,
                device_sensor_status: None,
                pulse_amplitude_index_centi_percent: None,
                device_clock_not_set: false,
            }
        );
        let m = PlxSpotCheck::parse(&plx_full()).unwrap();
        assert_eq!(m.timestamp, Some(ts()));
        assert_eq!(m.measurement_status, Some(0x0080));
        assert_eq!(m.device_sensor_status, Some(0x0000_0020));
        assert_eq!(m.pulse_amplitude_index_centi_percent, Some(250));
        // SpO2 97.5 % (975 × 10⁻¹ = 0xF3CF) → 98; 96.4 % (0xF3C4) → 96.
        let v = with_u16_at(&PLX_BASIC, 1, 0xF3CF);
        assert_eq!(PlxSpotCheck::parse(&v).unwrap().spo2_percent, 98);
        let v = with_u16_at(&PLX_BASIC, 1, 0xF3C4);
        assert_eq!(PlxSpotCheck::parse(&v).unwrap().spo2_percent, 96);
        // SpO2 300 (0x012C) does not fit a u8 percent.
        let v = with_u16_at(&PLX_BASIC, 1, 0x012C);
        assert_eq!(
            PlxSpotCheck::parse(&v),
            Err(GattError::ValueOutOfRange { field: "SpO2" })
        );
    }

    #[test]
    fn plx_clock_not_set_drops_timestamp() {
        // flags 0x11: time stamp present + device clock not set.
        let v = concat(&[&[0x11], &PLX_BASIC[1..], &TS]);
        let m = PlxSpotCheck::parse(&v).unwrap();
        assert_eq!(m.timestamp, None);
        assert!(m.device_clock_not_set);
        assert_eq!(m.spo2_percent, 97);
    }

    #[test]
    fn plx_specials() {
        let full = plx_full();
        for (at, field) in [
            (1, "SpO2"),
            (3, "pulse rate"),
            (17, "pulse amplitude index"),
        ] {
            for (raw, kind) in SFLOAT_SPECIALS {
                let v = with_u16_at(&full, at, raw);
                assert_eq!(
                    PlxSpotCheck::parse(&v),
                    Err(GattError::Special { field, kind })
                );
            }
        }
    }

    // ---- weight ----

    /// flags 0x00 (SI); 70.0 kg = 14000 × 0.005 kg, 14000 = 0x36B0 → 70000 g.
    const W_SI: [u8; 3] = [0x00, 0xB0, 0x36];
    /// flags 0x01 (imperial); 154.30 lb = 15430 × 0.01 lb, 15430 = 0x3C46.
    /// 15430 × 4.5359237 g = 61720 + 7715 + 462.9 + 91.4027 = 69989.3027 → 69989 g.
    const W_IMP: [u8; 3] = [0x01, 0x46, 0x3C];

    /// flags 0x0E: time stamp, user 2, BMI 22.9 (229 = 0x00E5), height 1.750 m
    /// (1750 = 0x06D6). Length 1 + 2 + 7 + 1 + 4 = 15.
    fn weight_full() -> Vec<u8> {
        concat(&[&[0x0E, 0xB0, 0x36], &TS, &[0x02, 0xE5, 0x00, 0xD6, 0x06]])
    }

    #[test]
    fn weight_si_and_imperial() {
        let m = WeightMeasurement::parse(&W_SI).unwrap();
        assert_eq!(
            m,
            WeightMeasurement {
                weight_g: 70_000,
                height_mm: None,
                bmi_tenths: None,
                timestamp: None,
                user_id: None,
                unit_was_imperial: false,
            }
        );
        let m = WeightMeasurement::parse(&W_IMP).unwrap();
        assert_eq!(m.weight_g, 69_989);
        assert!(m.unit_was_imperial);
        // Largest imperial value 655.34 lb (0xFFFE): 65534 × 4.5359237 = 297257.22 g →
        // 297257 (a factor cut to 4.5359 would give 297255.7 → 297256).
        let m = WeightMeasurement::parse(&[0x01, 0xFE, 0xFF]).unwrap();
        assert_eq!(m.weight_g, 297_257);
        // Largest SI value 0xFFFE × 5 g = 327670 g.
        let m = WeightMeasurement::parse(&[0x00, 0xFE, 0xFF]).unwrap();
        assert_eq!(m.weight_g, 327_670);
    }

    #[test]
    fn weight_with_bmi_height_user_timestamp() {
        let m = WeightMeasurement::parse(&weight_full()).unwrap();
        assert_eq!(m.weight_g, 70_000);
        assert_eq!(m.timestamp, Some(ts()));
        assert_eq!(m.user_id, Some(2));
        assert_eq!(m.bmi_tenths, Some(229));
        assert_eq!(m.height_mm, Some(1750));
        let mut v = weight_full();
        v[10] = 0xFF; // unknown user
        assert_eq!(WeightMeasurement::parse(&v).unwrap().user_id, None);
        // Imperial with height, flags 0x09: 68.9 in = 689 × 0.1 in (0x02B1);
        // 689 × 2.54 = 1750.06 mm → 1750.
        let v = [0x09, 0x46, 0x3C, 0xE5, 0x00, 0xB1, 0x02];
        let m = WeightMeasurement::parse(&v).unwrap();
        assert_eq!(
            (m.weight_g, m.height_mm, m.bmi_tenths),
            (69_989, Some(1750), Some(229))
        );
        // 0xFFFF tenths of an inch = 6553.5 in = 166458.9 mm: beyond u16.
        let v = [0x09, 0x46, 0x3C, 0xE5, 0x00, 0xFF, 0xFF];
        assert_eq!(
            WeightMeasurement::parse(&v),
            Err(GattError::ValueOutOfRange { field: "height" })
        );
    }

    #[test]
    fn weight_unsuccessful() {
        for flags in [0x00u8, 0x01] {
            assert_eq!(
                WeightMeasurement::parse(&[flags, 0xFF, 0xFF]),
                Err(GattError::MeasurementUnsuccessful { field: "weight" })
            );
        }
    }

    // ---- glucose ----

    /// flags 0x06 (concentration present, mol/L); sequence 1; base time TS;
    /// 5.6 mmol/L = 0.0056 mol/L = 56 × 10⁻⁴: exponent -4 = 0xC, mantissa 0x038 → 0xC038;
    /// type 1 (capillary whole blood, low nibble), location 1 (finger, high nibble) → 0x11.
    /// 0.0056 mol/L × 10⁶ = 5600 µmol/L.
    fn glucose_mol() -> Vec<u8> {
        concat(&[&[0x06, 0x01, 0x00], &TS, &[0x38, 0xC0, 0x11]])
    }

    /// flags 0x02 (kg/L); sequence 2; 100 mg/dL = 0.001 kg/L = 100 × 10⁻⁵: exponent -5 =
    /// 0xB, mantissa 0x064 → 0xB064; type 1, location 2 (alternate site) → 0x21.
    /// 100 mg/dL / 18.016 = 5.5506 mmol/L → 5551 µmol/L.
    fn glucose_kg() -> Vec<u8> {
        concat(&[&[0x02, 0x02, 0x00], &TS, &[0x64, 0xB0, 0x21]])
    }

    /// flags 0x1B: time offset, concentration (kg/L), sensor status, context follows;
    /// sequence 0x1234 = 4660; offset -60 min = 0xFFC4; 100 mg/dL as above, 0x11;
    /// status 0x0001 (battery low). Length 1 + 2 + 7 + 2 + 3 + 2 = 17.
    fn glucose_full() -> Vec<u8> {
        concat(&[
            &[0x1B, 0x34, 0x12],
            &TS,
            &[0xC4, 0xFF, 0x64, 0xB0, 0x11, 0x01, 0x00],
        ])
    }

    #[test]
    fn glucose_mol_per_litre() {
        let m = GlucoseMeasurement::parse(&glucose_mol()).unwrap();
        assert_eq!(
            m,
            GlucoseMeasurement {
                sequence: 1,
                base_time: ts(),
                time_offset_min: None,
                glucose_umol_per_l: Some(5600),
                sample_type: Some(1),
                sample_location: Some(1),
                sensor_status: None,
                context_follows: false,
            }
        );
    }

    #[test]
    fn glucose_kg_per_litre() {
        let m = GlucoseMeasurement::parse(&glucose_kg()).unwrap();
        assert_eq!(m.sequence, 2);
        assert_eq!(m.glucose_umol_per_l, Some(5551));
        assert_eq!((m.sample_type, m.sample_location), (Some(1), Some(2)));
        // The same 0.001 kg/L as 1 × 10⁻³ (0xD001) gives the same result.
        let v = with_u16_at(&glucose_kg(), 10, 0xD001);
        assert_eq!(
            GlucoseMeasurement::parse(&v).unwrap().glucose_umol_per_l,
            Some(5551)
        );
        // 126 mg/dL (0.00126 kg/L = 126 × 10⁻⁵ = 0xB07E): 126 / 18.016 = 6.99378 mmol/L
        // → 6994 µmol/L.
        let v = with_u16_at(&glucose_kg(), 10, 0xB07E);
        assert_eq!(
            GlucoseMeasurement::parse(&v).unwrap().glucose_umol_per_l,
            Some(6994)
        );
    }

    #[test]
    fn glucose_all_optional_fields_and_none() {
        let m = GlucoseMeasurement::parse(&glucose_full()).unwrap();
        assert_eq!(m.sequence, 4660);
        assert_eq!(m.time_offset_min, Some(-60));
        assert_eq!(m.glucose_umol_per_l, Some(5551));
        assert_eq!(m.sensor_status, Some(0x0001));
        assert!(m.context_follows);
        // flags 0x00: sequence and base time only.
        let v = concat(&[&[0x00, 0x01, 0x00], &TS]);
        let m = GlucoseMeasurement::parse(&v).unwrap();
        assert_eq!(m.glucose_umol_per_l, None);
        assert_eq!((m.sample_type, m.sample_location), (None, None));
    }

    #[test]
    fn glucose_rejects() {
        // Unknown base time (year 0) is an error: the field is mandatory.
        let mut v = glucose_mol();
        v[3] = 0;
        v[4] = 0;
        assert_eq!(
            GlucoseMeasurement::parse(&v),
            Err(GattError::TimestampNotKnown)
        );
        // -5.6 mmol/L: mantissa -56 = 0xFC8 → 0xCFC8.
        let v = with_u16_at(&glucose_mol(), 10, 0xCFC8);
        assert_eq!(
            GlucoseMeasurement::parse(&v),
            Err(GattError::ValueOutOfRange {
                field: "glucose concentration"
            })
        );
        // 2045 × 10⁷ mol/L overflows.
        let v = with_u16_at(&glucose_mol(), 10, 0x77FD);
        assert_eq!(
            GlucoseMeasurement::parse(&v),
            Err(GattError::ValueOutOfRange {
                field: "glucose concentration"
            })
        );
        for base in [glucose_mol(), glucose_kg()] {
            for (raw, kind) in SFLOAT_SPECIALS {
                let v = with_u16_at(&base, 10, raw);
                assert_eq!(
                    GlucoseMeasurement::parse(&v),
                    Err(GattError::Special {
                        field: "glucose concentration",
                        kind
                    })
                );
            }
        }
    }

    // ---- all characteristics ----

    fn valid_vectors() -> Vec<(Characteristic, Vec<u8>)> {
        use Characteristic::*;
        vec![
            (BloodPressureMeasurement, BP_BASIC.to_vec()),
            (BloodPressureMeasurement, BP_KPA.to_vec()),
            (BloodPressureMeasurement, bp_full()),
            (TemperatureMeasurement, TEMP_C.to_vec()),
            (TemperatureMeasurement, TEMP_F.to_vec()),
            (
                TemperatureMeasurement,
                concat(&[&[0x06], &TEMP_C[1..], &TS, &[0x02]]),
            ),
            (PlxSpotCheckMeasurement, PLX_BASIC.to_vec()),
            (PlxSpotCheckMeasurement, plx_full()),
            (WeightMeasurement, W_SI.to_vec()),
            (WeightMeasurement, W_IMP.to_vec()),
            (WeightMeasurement, weight_full()),
            (GlucoseMeasurement, glucose_mol()),
            (GlucoseMeasurement, glucose_kg()),
            (GlucoseMeasurement, glucose_full()),
        ]
    }

    #[test]
    fn every_prefix_is_truncated_and_extra_byte_is_trailing() {
        for (ch, v) in valid_vectors() {
            let m = parse(ch.uuid(), &v).unwrap();
            assert_eq!(m.characteristic(), ch);
            for len in 0..v.len() {
                let needed = if len == 0 { 1 } else { v.len() };
                assert_eq!(
                    parse(ch.uuid(), &v[..len]),
                    Err(GattError::Truncated {
                        characteristic: ch,
                        needed,
                        got: len
                    }),
                    "{ch} prefix {len}"
                );
            }
            let mut longer = v.clone();
            longer.push(0);
            assert_eq!(
                parse(ch.uuid(), &longer),
                Err(GattError::TrailingBytes {
                    characteristic: ch,
                    expected: v.len(),
                    got: v.len() + 1
                })
            );
        }
    }

    #[test]
    fn never_panics_on_any_flags_and_length() {
        for ch in Characteristic::ALL {
            for flags in 0..=u8::MAX {
                for len in 0..=24usize {
                    for fill in [0x00u8, 0xFF, 0x7F, 0x80] {
                        let mut v = vec![fill; len];
                        if let Some(first) = v.first_mut() {
                            *first = flags;
                        }
                        let _ = parse(ch.uuid(), &v);
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_random_bytes(
            which in 0usize..5,
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
        ) {
            let ch = Characteristic::ALL[which];
            let _ = parse(ch.uuid(), &bytes);
        }
    }

    #[test]
    fn characteristic_uuids() {
        assert_eq!(Characteristic::BloodPressureMeasurement.uuid(), 0x2A35);
        assert_eq!(Characteristic::TemperatureMeasurement.uuid(), 0x2A1C);
        assert_eq!(Characteristic::PlxSpotCheckMeasurement.uuid(), 0x2A5E);
        assert_eq!(Characteristic::WeightMeasurement.uuid(), 0x2A9D);
        assert_eq!(Characteristic::GlucoseMeasurement.uuid(), 0x2A18);
        for ch in Characteristic::ALL {
            assert_eq!(Characteristic::from_uuid(ch.uuid()), Some(ch));
        }
        // Intermediate Cuff Pressure and the Glucose Measurement Context are not parsed.
        assert_eq!(Characteristic::from_uuid(0x2A36), None);
        assert_eq!(
            parse(0x2A34, &[0x00]),
            Err(GattError::UnknownCharacteristic(0x2A34))
        );
        assert_eq!(
            Characteristic::WeightMeasurement.to_string(),
            "Weight Measurement (0x2A9D)"
        );
    }

    // ---- date time ----

    #[test]
    fn date_time_decoding() {
        assert_eq!(GattDateTime::from_bytes(TS), Ok(Some(ts())));
        assert_eq!(ts().to_string(), "2025-03-14T09:26:53");
        // Year, month or day 0 = not known.
        for i in [0usize, 2, 3] {
            let mut b = TS;
            b[i] = 0;
            if i == 0 {
                b[1] = 0;
            }
            assert_eq!(GattDateTime::from_bytes(b), Ok(None), "part {i}");
        }
        let invalid = [
            [0xE9, 0x07, 13, 1, 0, 0, 0], // month 13
            [0xE9, 0x07, 2, 29, 0, 0, 0], // 2025-02-29
            [0xE9, 0x07, 4, 31, 0, 0, 0], // 31 April
            [0xE9, 0x07, 1, 1, 24, 0, 0], // hour 24
            [0xE9, 0x07, 1, 1, 0, 60, 0], // minute 60
            [0xE9, 0x07, 1, 1, 0, 0, 60], // second 60
            [0x2D, 0x06, 1, 1, 0, 0, 0],  // year 0x062D = 1581 < 1582
            [0x10, 0x27, 1, 1, 0, 0, 0],  // year 0x2710 = 10000 > 9999
            [0x00, 0x00, 0, 0, 24, 0, 0], // unknown date but impossible hour
        ];
        for b in invalid {
            assert_eq!(
                GattDateTime::from_bytes(b),
                Err(GattError::InvalidTimestamp),
                "{b:?}"
            );
        }
        // 2024-02-29 exists.
        assert!(GattDateTime::from_bytes([0xE8, 0x07, 2, 29, 23, 59, 59])
            .unwrap()
            .is_some());
    }

    #[test]
    fn date_time_to_utc() {
        // 2025-01-01T00:00:00Z = 1_735_689_600 (20089 days × 86400). 2025-03-14 is day
        // 20089 + 31 + 28 + 13 = 20161 → 1_741_910_400; 09:26:53 = 34013 s.
        // Local UTC+8: 09:26:53 − 8 h = 01:26:53Z = 1_741_910_400 + 5213.
        assert_eq!(
            ts().to_utc_seconds(480).map(|t| t.unix()),
            Ok(1_741_915_613)
        );
        assert_eq!(ts().to_utc_seconds(0).map(|t| t.unix()), Ok(1_741_944_413));
        // 2025-01-01 05:00 at UTC+8 is 2024-12-31T21:00Z = 1_735_689_600 − 10_800.
        let t = GattDateTime::new(2025, 1, 1, 5, 0, 0).unwrap();
        assert_eq!(t.to_utc_seconds(480).map(|t| t.unix()), Ok(1_735_678_800));
        // An unset clock at 2000-01-01 is before any valid record time.
        let t = GattDateTime::new(2000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(t.to_utc_seconds(480), Err(TimeError::UtcOutOfRange));
        // Years the calendar module does not cover.
        let t = GattDateTime::new(1800, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(t.to_utc_seconds(0), Err(TimeError::InvalidDate));
        let t = GattDateTime::new(1900, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(t.to_utc_seconds(i32::MAX), Err(TimeError::UtcOutOfRange));
    }

    #[test]
    fn errors_display() {
        let e = GattError::Special {
            field: "systolic",
            kind: Special::NaN,
        };
        assert!(e.to_string().contains("systolic"));
        assert!(e.to_string().contains("NaN"));
        let e = GattError::Truncated {
            characteristic: Characteristic::GlucoseMeasurement,
            needed: 13,
            got: 5,
        };
        assert!(e.to_string().contains("5 of 13"));
    }
}
