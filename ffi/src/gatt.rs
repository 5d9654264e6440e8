//! Bluetooth GATT health measurements: blood pressure, thermometer, pulse oximeter (spot
//! check), weight scale and glucometer, decoded into one flat struct of vital values in
//! the project's fixed-point units.

use tcmcare_core::gatt::{parse, GattDateTime, Measurement};

use crate::boundary;
use crate::buffer;
use crate::pod;
use crate::status::{gatt_error, tcm_status};

/// 16-bit UUID of Blood Pressure Measurement (0x2A35).
pub const TCM_GATT_BLOOD_PRESSURE_MEASUREMENT: u16 = 0x2A35;
/// 16-bit UUID of Temperature Measurement (0x2A1C).
pub const TCM_GATT_TEMPERATURE_MEASUREMENT: u16 = 0x2A1C;
/// 16-bit UUID of PLX Spot-Check Measurement (0x2A5E).
pub const TCM_GATT_PLX_SPOT_CHECK_MEASUREMENT: u16 = 0x2A5E;
/// 16-bit UUID of Weight Measurement (0x2A9D).
pub const TCM_GATT_WEIGHT_MEASUREMENT: u16 = 0x2A9D;
/// 16-bit UUID of Glucose Measurement (0x2A18).
pub const TCM_GATT_GLUCOSE_MEASUREMENT: u16 = 0x2A18;

const _: () = {
    use tcmcare_core::gatt::Characteristic as C;
    assert!(TCM_GATT_BLOOD_PRESSURE_MEASUREMENT == C::BloodPressureMeasurement.uuid());
    assert!(TCM_GATT_TEMPERATURE_MEASUREMENT == C::TemperatureMeasurement.uuid());
    assert!(TCM_GATT_PLX_SPOT_CHECK_MEASUREMENT == C::PlxSpotCheckMeasurement.uuid());
    assert!(TCM_GATT_WEIGHT_MEASUREMENT == C::WeightMeasurement.uuid());
    assert!(TCM_GATT_GLUCOSE_MEASUREMENT == C::GlucoseMeasurement.uuid());
};

/// Presence bit (`tcm_gatt_measurement.present`): systolic and diastolic pressure.
pub const TCM_GATT_HAS_BLOOD_PRESSURE: u32 = 1 << 0;
/// Presence bit: mean arterial pressure.
pub const TCM_GATT_HAS_MEAN_ARTERIAL: u32 = 1 << 1;
/// Presence bit: pulse rate.
pub const TCM_GATT_HAS_PULSE: u32 = 1 << 2;
/// Presence bit: body temperature.
pub const TCM_GATT_HAS_TEMPERATURE: u32 = 1 << 3;
/// Presence bit: temperature type (measurement site).
pub const TCM_GATT_HAS_TEMPERATURE_TYPE: u32 = 1 << 4;
/// Presence bit: SpO2.
pub const TCM_GATT_HAS_SPO2: u32 = 1 << 5;
/// Presence bit: weight.
pub const TCM_GATT_HAS_WEIGHT: u32 = 1 << 6;
/// Presence bit: height.
pub const TCM_GATT_HAS_HEIGHT: u32 = 1 << 7;
/// Presence bit: the scale's BMI.
pub const TCM_GATT_HAS_BMI: u32 = 1 << 8;
/// Presence bit: glucose concentration.
pub const TCM_GATT_HAS_GLUCOSE: u32 = 1 << 9;
/// Presence bit: glucose sequence number (always with a glucose measurement).
pub const TCM_GATT_HAS_GLUCOSE_SEQUENCE: u32 = 1 << 10;
/// Presence bit: glucose time offset.
pub const TCM_GATT_HAS_TIME_OFFSET: u32 = 1 << 11;
/// Presence bit: glucose sample type.
pub const TCM_GATT_HAS_SAMPLE_TYPE: u32 = 1 << 12;
/// Presence bit: glucose sample location.
pub const TCM_GATT_HAS_SAMPLE_LOCATION: u32 = 1 << 13;
/// Presence bit: user id.
pub const TCM_GATT_HAS_USER_ID: u32 = 1 << 14;
/// Presence bit: measurement status bits.
pub const TCM_GATT_HAS_MEASUREMENT_STATUS: u32 = 1 << 15;
/// Presence bit: device / sensor status bits.
pub const TCM_GATT_HAS_SENSOR_STATUS: u32 = 1 << 16;
/// Presence bit: pulse amplitude index.
pub const TCM_GATT_HAS_PULSE_AMPLITUDE_INDEX: u32 = 1 << 17;
/// Presence bit: time stamp (the glucose base time for glucose).
pub const TCM_GATT_HAS_TIMESTAMP: u32 = 1 << 18;

/// Flag bit (`tcm_gatt_measurement.flags`): the device sent kPa (converted to mmHg).
pub const TCM_GATT_FLAG_UNIT_WAS_KPA: u8 = 1 << 0;
/// Flag bit: the device sent degrees F (converted to degrees C).
pub const TCM_GATT_FLAG_UNIT_WAS_FAHRENHEIT: u8 = 1 << 1;
/// Flag bit: the scale sent lb / in (converted to g / mm).
pub const TCM_GATT_FLAG_UNIT_WAS_IMPERIAL: u8 = 1 << 2;
/// Flag bit: the pulse oximeter says its clock is not set (any time stamp was dropped).
pub const TCM_GATT_FLAG_DEVICE_CLOCK_NOT_SET: u8 = 1 << 3;
/// Flag bit: a Glucose Measurement Context notification follows.
pub const TCM_GATT_FLAG_GLUCOSE_CONTEXT_FOLLOWS: u8 = 1 << 4;

/// A device's local date and time.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_gatt_date_time {
    /// Year, 1582..=9999.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day, 1..=31.
    pub day: u8,
    /// Hours, 0..=23.
    pub hours: u8,
    /// Minutes, 0..=59.
    pub minutes: u8,
    /// Seconds, 0..=59.
    pub seconds: u8,
}

/// One decoded GATT measurement. A value counts only when its `TCM_GATT_HAS_*` bit is
/// set in `present`; the others are 0.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_gatt_measurement {
    /// The characteristic's 16-bit UUID (`TCM_GATT_*_MEASUREMENT`).
    pub characteristic: u16,
    /// `TCM_GATT_FLAG_*` bits.
    pub flags: u8,
    /// `TCM_GATT_HAS_*` bits.
    pub present: u32,
    /// Systolic pressure, mmHg.
    pub systolic_mmhg: u16,
    /// Diastolic pressure, mmHg.
    pub diastolic_mmhg: u16,
    /// Mean arterial pressure, mmHg.
    pub mean_arterial_mmhg: u16,
    /// Pulse rate, /min.
    pub pulse_per_min: u16,
    /// Body temperature, 0.01 degrees C.
    pub temperature_centi_c: i32,
    /// Temperature type code (1 armpit, 2 body, 3 ear, 4 finger, 5 GI tract, 6 mouth,
    /// 7 rectum, 8 toe, 9 tympanum).
    pub temperature_type: u8,
    /// SpO2, whole %.
    pub spo2_percent: u8,
    /// User id of the device.
    pub user_id: u8,
    /// Glucose sample type code (raw).
    pub glucose_sample_type: u8,
    /// Glucose sample location code (raw).
    pub glucose_sample_location: u8,
    /// Weight, g.
    pub weight_g: u32,
    /// Height, mm.
    pub height_mm: u16,
    /// BMI, 0.1 kg/m2 (the scale's own).
    pub bmi_tenths: u16,
    /// Glucose, umol/L.
    pub glucose_umol_l: u32,
    /// Glucometer record sequence number.
    pub glucose_sequence: u16,
    /// Minutes to add to `timestamp` (the base time) for the glucose measurement time.
    pub time_offset_min: i16,
    /// Measurement status bits (blood pressure, pulse oximeter).
    pub measurement_status: u16,
    /// Pulse amplitude index, 0.01 %.
    pub pulse_amplitude_index_centi_percent: u16,
    /// Device and sensor status bits (pulse oximeter, 24 bit) or sensor status
    /// annunciation (glucose).
    pub sensor_status: u32,
    /// The device's local time stamp.
    pub timestamp: tcm_gatt_date_time,
}

// SAFETY: integers and a struct of integers only; all zero is valid.
unsafe impl pod::Pod for tcm_gatt_measurement {}

fn c_date_time(t: &GattDateTime) -> tcm_gatt_date_time {
    tcm_gatt_date_time {
        year: t.year(),
        month: t.month(),
        day: t.day(),
        hours: t.hours(),
        minutes: t.minutes(),
        seconds: t.seconds(),
    }
}

/// Sets `field` and its presence bit when `value` is some.
fn opt<T: Copy>(present: &mut u32, bit: u32, field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
        *present |= bit;
    }
}

fn c_measurement(m: &Measurement) -> tcm_gatt_measurement {
    let mut out: tcm_gatt_measurement = pod::zeroed();
    out.characteristic = m.characteristic().uuid();
    let p = &mut out.present;
    match m {
        Measurement::BloodPressure(b) => {
            out.systolic_mmhg = b.systolic_mmhg;
            out.diastolic_mmhg = b.diastolic_mmhg;
            *p |= TCM_GATT_HAS_BLOOD_PRESSURE;
            opt(
                p,
                TCM_GATT_HAS_MEAN_ARTERIAL,
                &mut out.mean_arterial_mmhg,
                b.mean_arterial_mmhg,
            );
            opt(
                p,
                TCM_GATT_HAS_PULSE,
                &mut out.pulse_per_min,
                b.pulse_per_min,
            );
            opt(p, TCM_GATT_HAS_USER_ID, &mut out.user_id, b.user_id);
            opt(
                p,
                TCM_GATT_HAS_MEASUREMENT_STATUS,
                &mut out.measurement_status,
                b.status,
            );
            opt(
                p,
                TCM_GATT_HAS_TIMESTAMP,
                &mut out.timestamp,
                b.timestamp.as_ref().map(c_date_time),
            );
            if b.unit_was_kpa {
                out.flags |= TCM_GATT_FLAG_UNIT_WAS_KPA;
            }
        }
        Measurement::Temperature(t) => {
            out.temperature_centi_c = t.centi_celsius;
            *p |= TCM_GATT_HAS_TEMPERATURE;
            opt(
                p,
                TCM_GATT_HAS_TEMPERATURE_TYPE,
                &mut out.temperature_type,
                t.site.map(|s| s.code()),
            );
            opt(
                p,
                TCM_GATT_HAS_TIMESTAMP,
                &mut out.timestamp,
                t.timestamp.as_ref().map(c_date_time),
            );
            if t.unit_was_fahrenheit {
                out.flags |= TCM_GATT_FLAG_UNIT_WAS_FAHRENHEIT;
            }
        }
        Measurement::PlxSpotCheck(s) => {
            out.spo2_percent = s.spo2_percent;
            out.pulse_per_min = s.pulse_per_min;
            *p |= TCM_GATT_HAS_SPO2 | TCM_GATT_HAS_PULSE;
            opt(
                p,
                TCM_GATT_HAS_MEASUREMENT_STATUS,
                &mut out.measurement_status,
                s.measurement_status,
            );
            opt(
                p,
                TCM_GATT_HAS_SENSOR_STATUS,
                &mut out.sensor_status,
                s.device_sensor_status,
            );
            opt(
                p,
                TCM_GATT_HAS_PULSE_AMPLITUDE_INDEX,
                &mut out.pulse_amplitude_index_centi_percent,
                s.pulse_amplitude_index_centi_percent,
            );
            opt(
                p,
                TCM_GATT_HAS_TIMESTAMP,
                &mut out.timestamp,
                s.timestamp.as_ref().map(c_date_time),
            );
            if s.device_clock_not_set {
                out.flags |= TCM_GATT_FLAG_DEVICE_CLOCK_NOT_SET;
            }
        }
        Measurement::Weight(w) => {
            out.weight_g = w.weight_g;
            *p |= TCM_GATT_HAS_WEIGHT;
            opt(p, TCM_GATT_HAS_HEIGHT, &mut out.height_mm, w.height_mm);
            opt(p, TCM_GATT_HAS_BMI, &mut out.bmi_tenths, w.bmi_tenths);
            opt(p, TCM_GATT_HAS_USER_ID, &mut out.user_id, w.user_id);
            opt(
                p,
                TCM_GATT_HAS_TIMESTAMP,
                &mut out.timestamp,
                w.timestamp.as_ref().map(c_date_time),
            );
            if w.unit_was_imperial {
                out.flags |= TCM_GATT_FLAG_UNIT_WAS_IMPERIAL;
            }
        }
        Measurement::Glucose(g) => {
            out.glucose_sequence = g.sequence;
            out.timestamp = c_date_time(&g.base_time);
            *p |= TCM_GATT_HAS_GLUCOSE_SEQUENCE | TCM_GATT_HAS_TIMESTAMP;
            opt(
                p,
                TCM_GATT_HAS_TIME_OFFSET,
                &mut out.time_offset_min,
                g.time_offset_min,
            );
            opt(
                p,
                TCM_GATT_HAS_GLUCOSE,
                &mut out.glucose_umol_l,
                g.glucose_umol_per_l,
            );
            opt(
                p,
                TCM_GATT_HAS_SAMPLE_TYPE,
                &mut out.glucose_sample_type,
                g.sample_type,
            );
            opt(
                p,
                TCM_GATT_HAS_SAMPLE_LOCATION,
                &mut out.glucose_sample_location,
                g.sample_location,
            );
            opt(
                p,
                TCM_GATT_HAS_SENSOR_STATUS,
                &mut out.sensor_status,
                g.sensor_status.map(u32::from),
            );
            if g.context_follows {
                out.flags |= TCM_GATT_FLAG_GLUCOSE_CONTEXT_FOLLOWS;
            }
        }
    }
    out
}

/// Decodes a notification or indication value of the characteristic with 16-bit `uuid`
/// (one of `TCM_GATT_*_MEASUREMENT`) into `*out`, converting units (kPa to mmHg,
/// degrees F to 0.01 degrees C, lb to g...) exactly. A special value in a field gives
/// the `TCM_STATUS_NUMBER_*` status of that value (the detail names the field); other
/// malformed input gives a `TCM_STATUS_GATT_*` status. Physiological plausibility is
/// checked later, by the record (`tcm_record_validate()`).
///
/// # Safety
/// `bytes` points to `len` readable bytes; `out` to writable memory for a
/// `tcm_gatt_measurement`.
#[no_mangle]
pub unsafe extern "C" fn tcm_gatt_parse(
    uuid: u16,
    bytes: *const u8,
    len: usize,
    out: *mut tcm_gatt_measurement,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let input = unsafe { buffer::input(bytes, len, "bytes")? };
        buffer::non_null(out, "out")?;
        let m = parse(uuid, input).map_err(gatt_error)?;
        // SAFETY: caller contract of this function.
        unsafe { buffer::put(out, c_measurement(&m), "out") }
    })
}
