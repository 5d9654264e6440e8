//! Blood Pressure Measurement (0x2A35).

use super::{
    check_frame, convert_sfloat, if_flag, Characteristic, Cursor, GattDateTime, GattError,
    DATE_TIME_LEN, FLAGS_LEN, ONE, SFLOAT_LEN, UNKNOWN_USER,
};
use crate::ieee11073::Special;

/// kPa → mmHg factor 7.50062 as the fraction 750062 / 100000.
const MMHG_PER_KPA: (u32, u32) = (750_062, 100_000);

pub(super) const BP_FLAG_KPA: u8 = 1 << 0;
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
