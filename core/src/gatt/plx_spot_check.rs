//! PLX Spot-Check Measurement (0x2A5E) of a pulse oximeter.

use super::{
    check_frame, convert_sfloat, if_flag, Characteristic, Cursor, GattDateTime, GattError,
    DATE_TIME_LEN, FLAGS_LEN, ONE, SFLOAT_LEN,
};

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
