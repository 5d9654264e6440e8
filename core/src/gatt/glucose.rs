//! Glucose Measurement (0x2A18) of a glucometer.

use super::{
    check_frame, convert_sfloat, if_flag, Characteristic, Cursor, GattDateTime, GattError,
    DATE_TIME_LEN, FLAGS_LEN, ONE, SFLOAT_LEN,
};

/// Glucose molar mass in mg/mmol × 1000 (18.016 mg/dL per mmol/L): µmol/L = kg/L × 10¹¹ /
/// 18016.
const GLUCOSE_MG_PER_DL_PER_MMOL_L_MILLI: u32 = 18_016;

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
