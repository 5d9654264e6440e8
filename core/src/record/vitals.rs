//! Vital signs: fixed-point values in the units of the project (DOMAIN.md §4), plausibility
//! ranges, and derived alert flags.
//!
//! Units: blood pressure mmHg, pulse /min, SpO2 whole %, temperature 0.01 °C, weight g,
//! height mm, waist mm, glucose µmol/L (0.001 mmol/L).
//!
//! Wire layout of the fields after the header:
//! `meta` varint = presence bits 0..=8 (systolic, diastolic, pulse, SpO2, temperature,
//! weight, height, waist, glucose) | source << 9; then each present value in that order as
//! a zigzag varint of its offset from a typical adult value (so common readings take one
//! byte); temperature is followed by its site (u8), glucose by its context (u8).

use super::ValidationError;
use crate::wire::codec::{DecodeError, Reader, Writer};

/// Plausible systolic range, mmHg: wider than any living adult reading so only device
/// errors and typos are caught (oscillometric monitors measure roughly 60..=280).
pub const SYSTOLIC_RANGE_MMHG: (u16, u16) = (50, 300);
/// Plausible diastolic range, mmHg (monitors measure roughly 40..=200).
pub const DIASTOLIC_RANGE_MMHG: (u16, u16) = (30, 200);
/// Plausible pulse range, /min.
pub const PULSE_RANGE_PER_MIN: (u16, u16) = (20, 250);
/// Plausible SpO2 range, %: pulse oximeters are specified down to 70 % and report
/// nothing meaningful below 50 %.
pub const SPO2_RANGE_PERCENT: (u8, u8) = (50, 100);
/// Plausible body temperature, 0.01 °C (30.00..=45.00 °C).
pub const TEMPERATURE_RANGE_CENTI_C: (i16, i16) = (3000, 4500);
/// Plausible adult body weight, g (20..=300 kg).
pub const WEIGHT_RANGE_G: (u32, u32) = (20_000, 300_000);
/// Plausible adult height, mm (100..=220 cm).
pub const HEIGHT_RANGE_MM: (u16, u16) = (1000, 2200);
/// Plausible waist circumference, mm (40..=180 cm).
pub const WAIST_RANGE_MM: (u16, u16) = (400, 1800);
/// Glucometer measuring range, µmol/L: 1.1..=33.3 mmol/L, the range of ISO 15197
/// capillary meters; outside it meters show LO/HI instead of a number.
pub const GLUCOSE_RANGE_UMOL_L: (u32, u32) = (1_100, 33_300);

/// Hypertension alert: systolic ≥ 140 mmHg (Chinese Guidelines for the Management of
/// Hypertension 2018, 2018 修订版中国高血压防治指南: 收缩压 ≥140 和/或 舒张压 ≥90).
pub const HYPERTENSION_SYSTOLIC_MMHG: u16 = 140;
/// Hypertension alert: diastolic ≥ 90 mmHg (same source).
pub const HYPERTENSION_DIASTOLIC_MMHG: u16 = 90;
/// Hypotension alert: systolic below 90 mmHg (the common clinical definition).
pub const HYPOTENSION_SYSTOLIC_BELOW_MMHG: u16 = 90;
/// Fever alert: ≥ 37.3 °C (Chinese clinical convention for 发热, axillary measurement).
pub const FEVER_CENTI_C: i16 = 3730;
/// Low SpO2 alert: below 94 % (≤ 93 % at rest is the hypoxaemia criterion of the
/// national COVID-19 diagnosis and treatment guideline, widely used in care homes).
pub const LOW_SPO2_BELOW_PERCENT: u8 = 94;
/// Tachycardia alert: pulse above 100 /min at rest.
pub const TACHYCARDIA_ABOVE_PER_MIN: u16 = 100;
/// Bradycardia alert: pulse below 50 /min (below the usual 60 because many elderly
/// residents take beta blockers).
pub const BRADYCARDIA_BELOW_PER_MIN: u16 = 50;
/// High fasting glucose alert: ≥ 7.0 mmol/L (WHO 1999 diabetes criterion).
pub const FASTING_GLUCOSE_HIGH_UMOL_L: u32 = 7_000;
/// High random glucose alert: ≥ 11.1 mmol/L (WHO 1999 diabetes criterion).
pub const RANDOM_GLUCOSE_HIGH_UMOL_L: u32 = 11_100;
/// Hypoglycaemia alert: below 3.9 mmol/L (level 1 hypoglycaemia, ADA/CDS).
pub const HYPOGLYCEMIA_BELOW_UMOL_L: u32 = 3_900;

/// Typical values the wire encodes offsets from (one byte for common readings).
const TYPICAL_SYSTOLIC: i64 = 120;
const TYPICAL_DIASTOLIC: i64 = 80;
const TYPICAL_PULSE: i64 = 72;
const TYPICAL_SPO2: i64 = 97;
const TYPICAL_TEMPERATURE: i64 = 3650;
const TYPICAL_WEIGHT: i64 = 60_000;
const TYPICAL_HEIGHT: i64 = 1600;
const TYPICAL_WAIST: i64 = 850;
const TYPICAL_GLUCOSE: i64 = 5_600;

/// Upper bound of the encoded fields (excluding the header).
pub(crate) const MAX_FIELDS_LEN: usize = 2 + 9 * 5 + 2;

/// How the values were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum MeasurementSource {
    /// The kiosk's own sensors.
    #[default]
    KioskSensor = 0,
    /// A paired Bluetooth health device (GATT measurement).
    Bluetooth = 1,
    /// Keyed in by staff.
    Manual = 2,
}

impl MeasurementSource {
    /// Parses the wire value.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::KioskSensor),
            1 => Some(Self::Bluetooth),
            2 => Some(Self::Manual),
            _ => None,
        }
    }
    /// Stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::KioskSensor => "kiosk_sensor",
            Self::Bluetooth => "bluetooth",
            Self::Manual => "manual",
        }
    }
}

/// Where the temperature was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum TemperatureSite {
    /// Forehead, infrared non-contact (kiosk thermometer).
    #[default]
    Forehead = 0,
    /// Armpit (axillary), the Chinese clinical default.
    Axilla = 1,
    /// Ear (tympanic).
    Ear = 2,
    /// Mouth (oral).
    Oral = 3,
    /// Other or not stated.
    Other = 4,
}

impl TemperatureSite {
    /// Parses the wire value.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Forehead),
            1 => Some(Self::Axilla),
            2 => Some(Self::Ear),
            3 => Some(Self::Oral),
            4 => Some(Self::Other),
            _ => None,
        }
    }
    /// Stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Forehead => "forehead",
            Self::Axilla => "axilla",
            Self::Ear => "ear",
            Self::Oral => "oral",
            Self::Other => "other",
        }
    }
}

/// When a glucose sample was taken relative to meals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum GlucoseContext {
    /// Fasting (≥ 8 h without food): LOINC 14770-2 for capillary mmol/L.
    Fasting = 0,
    /// Random / not stated: LOINC 15074-8.
    #[default]
    Random = 1,
    /// Two hours after a meal.
    Postprandial2h = 2,
}

impl GlucoseContext {
    /// Parses the wire value.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Fasting),
            1 => Some(Self::Random),
            2 => Some(Self::Postprandial2h),
            _ => None,
        }
    }
    /// Stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fasting => "fasting",
            Self::Random => "random",
            Self::Postprandial2h => "postprandial_2h",
        }
    }
}

/// Alert flags derived from the values (never stored on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VitalAlerts(u16);

impl VitalAlerts {
    /// Systolic ≥ 140 or diastolic ≥ 90 mmHg.
    pub const HYPERTENSION: u16 = 1 << 0;
    /// Systolic < 90 mmHg.
    pub const HYPOTENSION: u16 = 1 << 1;
    /// Temperature ≥ 37.3 °C.
    pub const FEVER: u16 = 1 << 2;
    /// SpO2 < 94 %.
    pub const LOW_SPO2: u16 = 1 << 3;
    /// Pulse > 100 /min.
    pub const TACHYCARDIA: u16 = 1 << 4;
    /// Pulse < 50 /min.
    pub const BRADYCARDIA: u16 = 1 << 5;
    /// Glucose at or above the diabetes criterion for its context.
    pub const HIGH_GLUCOSE: u16 = 1 << 6;
    /// Glucose < 3.9 mmol/L.
    pub const LOW_GLUCOSE: u16 = 1 << 7;

    /// Names of the flags in bit order.
    pub const NAMES: [&'static str; 8] = [
        "hypertension",
        "hypotension",
        "fever",
        "low_spo2",
        "tachycardia",
        "bradycardia",
        "high_glucose",
        "low_glucose",
    ];

    /// The raw bits.
    pub fn bits(self) -> u16 {
        self.0
    }
    /// Whether a flag is set.
    pub fn contains(self, flag: u16) -> bool {
        self.0 & flag != 0
    }
    /// Whether no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Names of the set flags.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| n)
    }
}

/// A vital-signs measurement visit. Every value is optional; at least one is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VitalSigns {
    /// Systolic blood pressure, mmHg.
    pub systolic_mmhg: Option<u16>,
    /// Diastolic blood pressure, mmHg.
    pub diastolic_mmhg: Option<u16>,
    /// Pulse rate, /min.
    pub pulse_per_min: Option<u16>,
    /// Oxygen saturation, whole %.
    pub spo2_percent: Option<u8>,
    /// Body temperature, 0.01 °C.
    pub temperature_centi_c: Option<i16>,
    /// Where the temperature was taken (meaningful only with a temperature).
    pub temperature_site: TemperatureSite,
    /// Body weight, g.
    pub weight_g: Option<u32>,
    /// Body height, mm.
    pub height_mm: Option<u16>,
    /// Waist circumference, mm.
    pub waist_mm: Option<u16>,
    /// Blood glucose, µmol/L.
    pub glucose_umol_l: Option<u32>,
    /// Meal context of the glucose sample (meaningful only with a glucose value).
    pub glucose_context: GlucoseContext,
    /// How the values were obtained.
    pub source: MeasurementSource,
}

fn check<T: PartialOrd + Copy>(
    v: Option<T>,
    range: (T, T),
    err: fn(T) -> ValidationError,
) -> Result<(), ValidationError> {
    match v {
        Some(x) if x < range.0 || x > range.1 => Err(err(x)),
        _ => Ok(()),
    }
}

impl VitalSigns {
    /// Checks plausibility ranges and consistency.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.presence() == 0 {
            return Err(ValidationError::NoMeasurement);
        }
        match (self.systolic_mmhg, self.diastolic_mmhg) {
            (Some(_), None) | (None, Some(_)) => {
                return Err(ValidationError::BloodPressureIncomplete)
            }
            _ => {}
        }
        check(
            self.systolic_mmhg,
            SYSTOLIC_RANGE_MMHG,
            ValidationError::SystolicOutOfRange,
        )?;
        check(
            self.diastolic_mmhg,
            DIASTOLIC_RANGE_MMHG,
            ValidationError::DiastolicOutOfRange,
        )?;
        if let (Some(s), Some(d)) = (self.systolic_mmhg, self.diastolic_mmhg) {
            if d >= s {
                return Err(ValidationError::DiastolicNotBelowSystolic {
                    systolic: s,
                    diastolic: d,
                });
            }
        }
        check(
            self.pulse_per_min,
            PULSE_RANGE_PER_MIN,
            ValidationError::PulseOutOfRange,
        )?;
        check(
            self.spo2_percent,
            SPO2_RANGE_PERCENT,
            ValidationError::Spo2OutOfRange,
        )?;
        check(
            self.temperature_centi_c,
            TEMPERATURE_RANGE_CENTI_C,
            ValidationError::TemperatureOutOfRange,
        )?;
        check(
            self.weight_g,
            WEIGHT_RANGE_G,
            ValidationError::WeightOutOfRange,
        )?;
        check(
            self.height_mm,
            HEIGHT_RANGE_MM,
            ValidationError::HeightOutOfRange,
        )?;
        check(
            self.waist_mm,
            WAIST_RANGE_MM,
            ValidationError::WaistOutOfRange,
        )?;
        check(
            self.glucose_umol_l,
            GLUCOSE_RANGE_UMOL_L,
            ValidationError::GlucoseOutOfRange,
        )?;
        Ok(())
    }

    /// Alert flags derived from the values with the named thresholds of this module.
    pub fn alerts(&self) -> VitalAlerts {
        let mut a = 0u16;
        if self
            .systolic_mmhg
            .is_some_and(|s| s >= HYPERTENSION_SYSTOLIC_MMHG)
            || self
                .diastolic_mmhg
                .is_some_and(|d| d >= HYPERTENSION_DIASTOLIC_MMHG)
        {
            a |= VitalAlerts::HYPERTENSION;
        }
        if self
            .systolic_mmhg
            .is_some_and(|s| s < HYPOTENSION_SYSTOLIC_BELOW_MMHG)
        {
            a |= VitalAlerts::HYPOTENSION;
        }
        if self.temperature_centi_c.is_some_and(|t| t >= FEVER_CENTI_C) {
            a |= VitalAlerts::FEVER;
        }
        if self
            .spo2_percent
            .is_some_and(|s| s < LOW_SPO2_BELOW_PERCENT)
        {
            a |= VitalAlerts::LOW_SPO2;
        }
        if self
            .pulse_per_min
            .is_some_and(|p| p > TACHYCARDIA_ABOVE_PER_MIN)
        {
            a |= VitalAlerts::TACHYCARDIA;
        }
        if self
            .pulse_per_min
            .is_some_and(|p| p < BRADYCARDIA_BELOW_PER_MIN)
        {
            a |= VitalAlerts::BRADYCARDIA;
        }
        if let Some(g) = self.glucose_umol_l {
            let high = match self.glucose_context {
                GlucoseContext::Fasting => FASTING_GLUCOSE_HIGH_UMOL_L,
                GlucoseContext::Random | GlucoseContext::Postprandial2h => {
                    RANDOM_GLUCOSE_HIGH_UMOL_L
                }
            };
            if g >= high {
                a |= VitalAlerts::HIGH_GLUCOSE;
            }
            if g < HYPOGLYCEMIA_BELOW_UMOL_L {
                a |= VitalAlerts::LOW_GLUCOSE;
            }
        }
        VitalAlerts(a)
    }

    /// The vital signs of one Bluetooth measurement, validated. The values were already
    /// converted to the project's units by the GATT parser; special SFLOAT values never
    /// reach here (the parser rejects them). Glucose context is not part of the Glucose
    /// Measurement characteristic (it travels in the optional context characteristic), so
    /// it is `Random` unless the caller knows better and sets it.
    pub fn from_gatt(m: &crate::gatt::Measurement) -> Result<VitalSigns, ValidationError> {
        use crate::gatt::{Measurement, TemperatureType};
        let mut v = VitalSigns {
            source: MeasurementSource::Bluetooth,
            ..VitalSigns::default()
        };
        match m {
            Measurement::BloodPressure(bp) => {
                v.systolic_mmhg = Some(bp.systolic_mmhg);
                v.diastolic_mmhg = Some(bp.diastolic_mmhg);
                v.pulse_per_min = bp.pulse_per_min;
            }
            Measurement::Temperature(t) => {
                let c = i16::try_from(t.centi_celsius).map_err(|_| {
                    ValidationError::TemperatureOutOfRange(if t.centi_celsius < 0 {
                        i16::MIN
                    } else {
                        i16::MAX
                    })
                })?;
                v.temperature_centi_c = Some(c);
                v.temperature_site = match t.site {
                    Some(TemperatureType::Armpit) => TemperatureSite::Axilla,
                    Some(TemperatureType::Ear) | Some(TemperatureType::Tympanum) => {
                        TemperatureSite::Ear
                    }
                    Some(TemperatureType::Mouth) => TemperatureSite::Oral,
                    _ => TemperatureSite::Other,
                };
            }
            Measurement::PlxSpotCheck(p) => {
                v.spo2_percent = Some(p.spo2_percent);
                v.pulse_per_min = Some(p.pulse_per_min);
            }
            Measurement::Weight(w) => {
                v.weight_g = Some(w.weight_g);
                v.height_mm = w.height_mm;
            }
            Measurement::Glucose(g) => {
                v.glucose_umol_l = g.glucose_umol_per_l;
            }
        }
        v.validate()?;
        Ok(v)
    }

    /// Body mass index × 100 (kg/m² in hundredths) when weight and height are present.
    pub fn bmi_centi(&self) -> Option<u32> {
        crate::constitution::bmi_centi(self.weight_g?, self.height_mm?)
    }

    fn presence(&self) -> u64 {
        (self.systolic_mmhg.is_some() as u64)
            | (self.diastolic_mmhg.is_some() as u64) << 1
            | (self.pulse_per_min.is_some() as u64) << 2
            | (self.spo2_percent.is_some() as u64) << 3
            | (self.temperature_centi_c.is_some() as u64) << 4
            | (self.weight_g.is_some() as u64) << 5
            | (self.height_mm.is_some() as u64) << 6
            | (self.waist_mm.is_some() as u64) << 7
            | (self.glucose_umol_l.is_some() as u64) << 8
    }

    pub(crate) fn encode_fields(&self, w: &mut Writer<'_>) {
        w.varint(self.presence() | (self.source as u64) << 9);
        if let Some(v) = self.systolic_mmhg {
            w.zigzag(v as i64 - TYPICAL_SYSTOLIC);
        }
        if let Some(v) = self.diastolic_mmhg {
            w.zigzag(v as i64 - TYPICAL_DIASTOLIC);
        }
        if let Some(v) = self.pulse_per_min {
            w.zigzag(v as i64 - TYPICAL_PULSE);
        }
        if let Some(v) = self.spo2_percent {
            w.zigzag(v as i64 - TYPICAL_SPO2);
        }
        if let Some(v) = self.temperature_centi_c {
            w.zigzag(v as i64 - TYPICAL_TEMPERATURE);
            w.u8(self.temperature_site as u8);
        }
        if let Some(v) = self.weight_g {
            w.zigzag(v as i64 - TYPICAL_WEIGHT);
        }
        if let Some(v) = self.height_mm {
            w.zigzag(v as i64 - TYPICAL_HEIGHT);
        }
        if let Some(v) = self.waist_mm {
            w.zigzag(v as i64 - TYPICAL_WAIST);
        }
        if let Some(v) = self.glucose_umol_l {
            w.zigzag(v as i64 - TYPICAL_GLUCOSE);
            w.u8(self.glucose_context as u8);
        }
    }

    pub(crate) fn decode_fields(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let meta = r.varint_u32("vitals.meta")?;
        if meta >> 11 != 0 {
            return Err(DecodeError::InvalidValue {
                field: "vitals.meta",
            });
        }
        let source =
            MeasurementSource::from_u8((meta >> 9) as u8).ok_or(DecodeError::InvalidValue {
                field: "vitals.source",
            })?;
        let mut v = VitalSigns {
            source,
            ..VitalSigns::default()
        };
        fn read<T: TryFrom<i64>>(
            r: &mut Reader<'_>,
            typical: i64,
            field: &'static str,
        ) -> Result<T, DecodeError> {
            let off = r.zigzag_i32(field)? as i64;
            T::try_from(off + typical).map_err(|_| DecodeError::InvalidValue { field })
        }
        if meta & 1 != 0 {
            v.systolic_mmhg = Some(read(r, TYPICAL_SYSTOLIC, "vitals.systolic")?);
        }
        if meta & 2 != 0 {
            v.diastolic_mmhg = Some(read(r, TYPICAL_DIASTOLIC, "vitals.diastolic")?);
        }
        if meta & 4 != 0 {
            v.pulse_per_min = Some(read(r, TYPICAL_PULSE, "vitals.pulse")?);
        }
        if meta & 8 != 0 {
            v.spo2_percent = Some(read(r, TYPICAL_SPO2, "vitals.spo2")?);
        }
        if meta & 16 != 0 {
            v.temperature_centi_c = Some(read(r, TYPICAL_TEMPERATURE, "vitals.temperature")?);
            v.temperature_site = TemperatureSite::from_u8(r.u8("vitals.temperature_site")?).ok_or(
                DecodeError::InvalidValue {
                    field: "vitals.temperature_site",
                },
            )?;
        }
        if meta & 32 != 0 {
            v.weight_g = Some(read(r, TYPICAL_WEIGHT, "vitals.weight")?);
        }
        if meta & 64 != 0 {
            v.height_mm = Some(read(r, TYPICAL_HEIGHT, "vitals.height")?);
        }
        if meta & 128 != 0 {
            v.waist_mm = Some(read(r, TYPICAL_WAIST, "vitals.waist")?);
        }
        if meta & 256 != 0 {
            v.glucose_umol_l = Some(read(r, TYPICAL_GLUCOSE, "vitals.glucose")?);
            v.glucose_context = GlucoseContext::from_u8(r.u8("vitals.glucose_context")?).ok_or(
                DecodeError::InvalidValue {
                    field: "vitals.glucose_context",
                },
            )?;
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bp(s: u16, d: u16) -> VitalSigns {
        VitalSigns {
            systolic_mmhg: Some(s),
            diastolic_mmhg: Some(d),
            ..Default::default()
        }
    }

    #[test]
    fn hypertension_threshold_is_140_over_90() {
        assert!(!bp(139, 89).alerts().contains(VitalAlerts::HYPERTENSION));
        assert!(bp(140, 80).alerts().contains(VitalAlerts::HYPERTENSION));
        assert!(bp(130, 90).alerts().contains(VitalAlerts::HYPERTENSION));
    }

    #[test]
    fn fever_and_spo2_thresholds() {
        let t = |c| VitalSigns {
            temperature_centi_c: Some(c),
            ..Default::default()
        };
        assert!(!t(3729).alerts().contains(VitalAlerts::FEVER));
        assert!(t(3730).alerts().contains(VitalAlerts::FEVER));
        let s = |p| VitalSigns {
            spo2_percent: Some(p),
            ..Default::default()
        };
        assert!(s(93).alerts().contains(VitalAlerts::LOW_SPO2));
        assert!(!s(94).alerts().contains(VitalAlerts::LOW_SPO2));
    }

    #[test]
    fn glucose_thresholds_depend_on_context() {
        let g = |v, c| VitalSigns {
            glucose_umol_l: Some(v),
            glucose_context: c,
            ..Default::default()
        };
        assert!(g(7_000, GlucoseContext::Fasting)
            .alerts()
            .contains(VitalAlerts::HIGH_GLUCOSE));
        assert!(!g(6_999, GlucoseContext::Fasting)
            .alerts()
            .contains(VitalAlerts::HIGH_GLUCOSE));
        assert!(!g(7_000, GlucoseContext::Random)
            .alerts()
            .contains(VitalAlerts::HIGH_GLUCOSE));
        assert!(g(11_100, GlucoseContext::Random)
            .alerts()
            .contains(VitalAlerts::HIGH_GLUCOSE));
        assert!(g(3_899, GlucoseContext::Random)
            .alerts()
            .contains(VitalAlerts::LOW_GLUCOSE));
    }

    #[test]
    fn gatt_blood_pressure_becomes_vitals() {
        // 0x2A35, flags 0x04 (mmHg, pulse present): SYS 120, DIA 80, MAP 93, pulse 72,
        // all SFLOAT exponent 0 little-endian.
        let bytes = [0x04, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00, 0x48, 0x00];
        let m = crate::gatt::parse(0x2A35, &bytes).unwrap();
        let v = VitalSigns::from_gatt(&m).unwrap();
        assert_eq!(v.systolic_mmhg, Some(120));
        assert_eq!(v.diastolic_mmhg, Some(80));
        assert_eq!(v.pulse_per_min, Some(72));
        assert_eq!(v.source, MeasurementSource::Bluetooth);
        // Diastolic above systolic is parsed but rejected by the record rules.
        let bad = [0x00, 0x50, 0x00, 0x78, 0x00, 0x5D, 0x00];
        let m = crate::gatt::parse(0x2A35, &bad).unwrap();
        assert_eq!(
            VitalSigns::from_gatt(&m),
            Err(ValidationError::DiastolicNotBelowSystolic {
                systolic: 80,
                diastolic: 120
            })
        );
    }

    #[test]
    fn validation_rules() {
        assert_eq!(
            VitalSigns::default().validate(),
            Err(ValidationError::NoMeasurement)
        );
        assert_eq!(
            bp(120, 120).validate(),
            Err(ValidationError::DiastolicNotBelowSystolic {
                systolic: 120,
                diastolic: 120
            })
        );
        assert_eq!(
            bp(301, 80).validate(),
            Err(ValidationError::SystolicOutOfRange(301))
        );
        assert_eq!(
            VitalSigns {
                systolic_mmhg: Some(120),
                ..Default::default()
            }
            .validate(),
            Err(ValidationError::BloodPressureIncomplete)
        );
        assert_eq!(
            VitalSigns {
                spo2_percent: Some(101),
                ..Default::default()
            }
            .validate(),
            Err(ValidationError::Spo2OutOfRange(101))
        );
        assert!(bp(120, 80).validate().is_ok());
    }
}
