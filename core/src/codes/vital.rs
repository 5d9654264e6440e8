//! Vital-sign codes: LOINC + UCUM for FHIR export and IEEE 11073-10101 (MDC) nomenclature
//! for personal health devices (DOMAIN.md sections 4.1 and 4.2).
//!
//! MDC codes come in two forms: a 16-bit *term code* within a *partition* (SCADA = 2 for
//! measurements, DIM = 4 for units) and the 32-bit *context-free* code
//! `partition * 65536 + term` ([`context_free`]). The `MDC_*` constants below hold term
//! codes, as the 11073-20601 protocol carries them next to their partition.

use core::fmt;

use crate::record::{GlucoseContext, VitalSigns};

/// LOINC of the vital signs panel ("Vital signs, weight, height, head circumference,
/// oxygen saturation and BMI panel").
pub const VITAL_SIGNS_PANEL_LOINC: &str = "85353-1";
/// LOINC of the blood pressure panel ("Blood pressure panel with all children optional").
pub const BP_PANEL_LOINC: &str = "85354-9";
/// LOINC that the FHIR vital-signs profile requires alongside [`VitalSign::Spo2`]'s
/// 59408-5: "Oxygen saturation in Arterial blood".
pub const SPO2_FHIR_BASE_LOINC: &str = "2708-6";
/// Display of [`SPO2_FHIR_BASE_LOINC`].
pub const SPO2_FHIR_BASE_DISPLAY: &str = "Oxygen saturation in Arterial blood";

/// MDC partition of measurements (SCADA).
pub const MDC_PART_SCADA: u16 = 2;
/// MDC partition of units of measure (DIM).
pub const MDC_PART_DIM: u16 = 4;

/// Non-invasive blood pressure, the compound (SYS, DIA, MEAN) measurement.
pub const MDC_PRESS_BLD_NONINV: u16 = 18948;
/// Non-invasive blood pressure, systolic.
pub const MDC_PRESS_BLD_NONINV_SYS: u16 = 18949;
/// Non-invasive blood pressure, diastolic.
pub const MDC_PRESS_BLD_NONINV_DIA: u16 = 18950;
/// Non-invasive blood pressure, mean arterial.
pub const MDC_PRESS_BLD_NONINV_MEAN: u16 = 18951;
/// Pulse rate measured by a non-invasive blood pressure monitor.
pub const MDC_PULS_RATE_NON_INV: u16 = 18474;
/// Oxygen saturation by pulse oximetry (SpO2).
pub const MDC_PULS_OXIM_SAT_O2: u16 = 19384;
/// Pulse rate measured by a pulse oximeter.
pub const MDC_PULS_OXIM_PULS_RATE: u16 = 18458;
/// Heart rate from an ECG (DOMAIN.md marks it as not verified).
pub const MDC_ECG_HEART_RATE: u16 = 16770;
/// Body temperature.
pub const MDC_TEMP_BODY: u16 = 19292;
/// Body weight (mass).
pub const MDC_MASS_BODY_ACTUAL: u16 = 57664;
/// Body height (length).
pub const MDC_LEN_BODY_ACTUAL: u16 = 57668;
/// Body mass index (mass / length squared).
pub const MDC_RATIO_MASS_BODY_LEN_SQ: u16 = 57680;
/// Glucose concentration in capillary whole blood.
pub const MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD: u16 = 29112;
/// Glucose concentration in capillary plasma.
pub const MDC_CONC_GLU_CAPILLARY_PLASMA: u16 = 29116;

/// Unit: millimetre of mercury.
pub const MDC_DIM_MMHG: u16 = 3872;
/// Unit: kilopascal.
pub const MDC_DIM_KILO_PASCAL: u16 = 3843;
/// Unit: beats per minute.
pub const MDC_DIM_BEAT_PER_MIN: u16 = 2720;
/// Unit: percent.
pub const MDC_DIM_PERCENT: u16 = 544;
/// Unit: degree Celsius.
pub const MDC_DIM_DEGC: u16 = 6048;
/// Unit: degree Fahrenheit.
pub const MDC_DIM_FAHR: u16 = 4416;
/// Unit: kilogram.
pub const MDC_DIM_KILO_G: u16 = 1731;
/// Unit: pound.
pub const MDC_DIM_LB: u16 = 1760;
/// Unit: centimetre.
pub const MDC_DIM_CENTI_M: u16 = 1297;
/// Unit: inch.
pub const MDC_DIM_INCH: u16 = 1376;
/// Unit: kilogram per square metre.
pub const MDC_DIM_KG_PER_M_SQ: u16 = 1952;
/// Unit: milligram per decilitre.
pub const MDC_DIM_MILLI_G_PER_DL: u16 = 2130;
/// Unit: millimole per litre.
pub const MDC_DIM_MILLI_MOLE_PER_L: u16 = 4722;

/// The 32-bit context-free MDC code of term `term` in partition `partition`:
/// `partition * 65536 + term`.
pub const fn context_free(partition: u16, term: u16) -> u32 {
    ((partition as u32) << 16) | term as u32
}

/// A vital sign the kiosk measures or staff enter.
///
/// The discriminants are stable (append-only), for use as a compact tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum VitalSign {
    /// Systolic blood pressure, `mm[Hg]`.
    Systolic = 0,
    /// Diastolic blood pressure, `mm[Hg]`.
    Diastolic = 1,
    /// Pulse / heart rate, /min.
    Pulse = 2,
    /// Oxygen saturation by pulse oximetry, %.
    Spo2 = 3,
    /// Body temperature, Cel.
    BodyTemperature = 4,
    /// Body weight, kg.
    BodyWeight = 5,
    /// Body height, cm.
    BodyHeight = 6,
    /// Body mass index, kg/m2.
    Bmi = 7,
    /// Waist circumference at the umbilicus, cm.
    Waist = 8,
    /// Fasting glucose in capillary blood by glucometer (finger stick), mmol/L.
    GlucoseFastingCapillary = 9,
    /// Random (non-fasting) glucose in blood, mmol/L.
    GlucoseRandomBlood = 10,
}

impl VitalSign {
    /// All vital signs in discriminant order.
    pub const ALL: [VitalSign; 11] = [
        VitalSign::Systolic,
        VitalSign::Diastolic,
        VitalSign::Pulse,
        VitalSign::Spo2,
        VitalSign::BodyTemperature,
        VitalSign::BodyWeight,
        VitalSign::BodyHeight,
        VitalSign::Bmi,
        VitalSign::Waist,
        VitalSign::GlucoseFastingCapillary,
        VitalSign::GlucoseRandomBlood,
    ];

    /// The stable tag.
    pub const fn to_u8(self) -> u8 {
        self as u8
    }

    /// The vital sign with tag `value`.
    pub const fn from_u8(value: u8) -> Option<VitalSign> {
        match value {
            0 => Some(VitalSign::Systolic),
            1 => Some(VitalSign::Diastolic),
            2 => Some(VitalSign::Pulse),
            3 => Some(VitalSign::Spo2),
            4 => Some(VitalSign::BodyTemperature),
            5 => Some(VitalSign::BodyWeight),
            6 => Some(VitalSign::BodyHeight),
            7 => Some(VitalSign::Bmi),
            8 => Some(VitalSign::Waist),
            9 => Some(VitalSign::GlucoseFastingCapillary),
            10 => Some(VitalSign::GlucoseRandomBlood),
            _ => None,
        }
    }

    /// The LOINC code.
    ///
    /// Pulse uses 8867-4 "Heart rate" whatever the device (the FHIR vital-signs code);
    /// glucose uses the mmol/L (Moles/volume) codes because China reports mmol/L:
    /// 14770-2 for a fasting finger stick, 15074-8 for a random blood glucose.
    pub const fn loinc(self) -> &'static str {
        match self {
            VitalSign::Systolic => "8480-6",
            VitalSign::Diastolic => "8462-4",
            VitalSign::Pulse => "8867-4",
            VitalSign::Spo2 => "59408-5",
            VitalSign::BodyTemperature => "8310-5",
            VitalSign::BodyWeight => "29463-7",
            VitalSign::BodyHeight => "8302-2",
            VitalSign::Bmi => "39156-5",
            VitalSign::Waist => "8280-0",
            VitalSign::GlucoseFastingCapillary => "14770-2",
            VitalSign::GlucoseRandomBlood => "15074-8",
        }
    }

    /// The LOINC display name.
    pub const fn loinc_display(self) -> &'static str {
        match self {
            VitalSign::Systolic => "Systolic blood pressure",
            VitalSign::Diastolic => "Diastolic blood pressure",
            VitalSign::Pulse => "Heart rate",
            VitalSign::Spo2 => "Oxygen saturation in Arterial blood by Pulse oximetry",
            VitalSign::BodyTemperature => "Body temperature",
            VitalSign::BodyWeight => "Body weight",
            VitalSign::BodyHeight => "Body height",
            VitalSign::Bmi => "Body mass index (BMI) [Ratio]",
            VitalSign::Waist => "Waist Circumference at umbilicus by Tape measure",
            VitalSign::GlucoseFastingCapillary => {
                "Fasting glucose [Moles/volume] in Capillary blood by Glucometer"
            }
            VitalSign::GlucoseRandomBlood => "Glucose [Moles/volume] in Blood",
        }
    }

    /// The UCUM unit the stored fixed-point value converts to for FHIR export.
    pub const fn ucum(self) -> &'static str {
        match self {
            VitalSign::Systolic | VitalSign::Diastolic => "mm[Hg]",
            VitalSign::Pulse => "/min",
            VitalSign::Spo2 => "%",
            VitalSign::BodyTemperature => "Cel",
            VitalSign::BodyWeight => "kg",
            VitalSign::BodyHeight | VitalSign::Waist => "cm",
            VitalSign::Bmi => "kg/m2",
            VitalSign::GlucoseFastingCapillary | VitalSign::GlucoseRandomBlood => "mmol/L",
        }
    }

    /// The MDC partition of [`VitalSign::mdc_term`]; `None` where there is no MDC code.
    pub const fn mdc_partition(self) -> Option<u16> {
        match self.mdc_term() {
            Some(_) => Some(MDC_PART_SCADA),
            None => None,
        }
    }

    /// The MDC term code (IEEE 11073-10101).
    ///
    /// - Pulse maps to [`MDC_PULS_RATE_NON_INV`], the pulse of a blood pressure monitor,
    ///   the kiosk's usual pulse source; an oximeter reports [`MDC_PULS_OXIM_PULS_RATE`].
    /// - Both glucose readings map to [`MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD`]: MDC names the
    ///   sample, not the fasting state, and a kiosk glucometer measures capillary whole
    ///   blood.
    /// - Waist circumference has no verified PHD code (DOMAIN.md section 4.2): `None`.
    pub const fn mdc_term(self) -> Option<u16> {
        match self {
            VitalSign::Systolic => Some(MDC_PRESS_BLD_NONINV_SYS),
            VitalSign::Diastolic => Some(MDC_PRESS_BLD_NONINV_DIA),
            VitalSign::Pulse => Some(MDC_PULS_RATE_NON_INV),
            VitalSign::Spo2 => Some(MDC_PULS_OXIM_SAT_O2),
            VitalSign::BodyTemperature => Some(MDC_TEMP_BODY),
            VitalSign::BodyWeight => Some(MDC_MASS_BODY_ACTUAL),
            VitalSign::BodyHeight => Some(MDC_LEN_BODY_ACTUAL),
            VitalSign::Bmi => Some(MDC_RATIO_MASS_BODY_LEN_SQ),
            VitalSign::Waist => None,
            VitalSign::GlucoseFastingCapillary | VitalSign::GlucoseRandomBlood => {
                Some(MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD)
            }
        }
    }

    /// The context-free MDC code, `partition * 65536 + term`.
    pub const fn mdc_code(self) -> Option<u32> {
        match (self.mdc_partition(), self.mdc_term()) {
            (Some(partition), Some(term)) => Some(context_free(partition, term)),
            _ => None,
        }
    }

    /// The MDC unit term code (partition [`MDC_PART_DIM`]) of [`VitalSign::ucum`].
    ///
    /// Defined for every vital sign, waist included: centimetre has an MDC unit code even
    /// though waist circumference has no measurement code.
    pub const fn mdc_unit_code(self) -> u16 {
        match self {
            VitalSign::Systolic | VitalSign::Diastolic => MDC_DIM_MMHG,
            VitalSign::Pulse => MDC_DIM_BEAT_PER_MIN,
            VitalSign::Spo2 => MDC_DIM_PERCENT,
            VitalSign::BodyTemperature => MDC_DIM_DEGC,
            VitalSign::BodyWeight => MDC_DIM_KILO_G,
            VitalSign::BodyHeight | VitalSign::Waist => MDC_DIM_CENTI_M,
            VitalSign::Bmi => MDC_DIM_KG_PER_M_SQ,
            VitalSign::GlucoseFastingCapillary | VitalSign::GlucoseRandomBlood => {
                MDC_DIM_MILLI_MOLE_PER_L
            }
        }
    }
}

impl fmt::Display for VitalSign {
    /// The LOINC display name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.loinc_display())
    }
}

/// One vital-sign value in the UCUM unit of its [`VitalSign`]: `mantissa × 10^exponent`
/// (128 `mm[Hg]` = 128 × 10⁰; 36.60 Cel = 3660 × 10⁻²; 68.450 kg = 68450 × 10⁻³). The
/// exponent keeps the record's fixed-point precision; no float is involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VitalQuantity {
    /// The field of the JSON view the value comes from (`"bmi_centi"` for the derived BMI).
    pub field: &'static str,
    /// The vital sign (LOINC, display, UCUM unit).
    pub sign: VitalSign,
    /// The decimal digits.
    pub mantissa: i64,
    /// The power of ten.
    pub exponent: i8,
}

/// The values of a vital-signs record in their UCUM units, in field order, with the BMI
/// derived from weight and height when both are present (the numeric export view: FHIR
/// and friends). Glucose maps to the fasting
/// capillary code (LOINC 14770-2) when fasting and to the random blood glucose code
/// (15074-8) otherwise, a two-hour post-meal value included: LOINC's post-meal codes name
/// serum or plasma, which a finger stick is not.
pub fn quantities(v: &VitalSigns) -> impl Iterator<Item = VitalQuantity> {
    let glucose_sign = match v.glucose_context {
        GlucoseContext::Fasting => VitalSign::GlucoseFastingCapillary,
        GlucoseContext::Random | GlucoseContext::Postprandial2h => VitalSign::GlucoseRandomBlood,
    };
    let q = |field, sign, value: Option<i64>, exponent| {
        value.map(|mantissa| VitalQuantity {
            field,
            sign,
            mantissa,
            exponent,
        })
    };
    [
        q(
            "systolic_mmhg",
            VitalSign::Systolic,
            v.systolic_mmhg.map(i64::from),
            0,
        ),
        q(
            "diastolic_mmhg",
            VitalSign::Diastolic,
            v.diastolic_mmhg.map(i64::from),
            0,
        ),
        q(
            "pulse_per_min",
            VitalSign::Pulse,
            v.pulse_per_min.map(i64::from),
            0,
        ),
        q(
            "spo2_percent",
            VitalSign::Spo2,
            v.spo2_percent.map(i64::from),
            0,
        ),
        // 0.01 °C → Cel.
        q(
            "temperature_centi_c",
            VitalSign::BodyTemperature,
            v.temperature_centi_c.map(i64::from),
            -2,
        ),
        // g → kg.
        q(
            "weight_g",
            VitalSign::BodyWeight,
            v.weight_g.map(i64::from),
            -3,
        ),
        // mm → cm.
        q(
            "height_mm",
            VitalSign::BodyHeight,
            v.height_mm.map(i64::from),
            -1,
        ),
        // BMI × 100 → kg/m2.
        q(
            "bmi_centi",
            VitalSign::Bmi,
            v.bmi_centi().map(i64::from),
            -2,
        ),
        // mm → cm.
        q("waist_mm", VitalSign::Waist, v.waist_mm.map(i64::from), -1),
        // µmol/L → mmol/L.
        q(
            "glucose_umol_l",
            glucose_sign,
            v.glucose_umol_l.map(i64::from),
            -3,
        ),
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    #[test]
    fn loinc_and_ucum_from_domain() {
        // DOMAIN.md section 4.1.
        let expected: [(VitalSign, &str, &str); 11] = [
            (VitalSign::Systolic, "8480-6", "mm[Hg]"),
            (VitalSign::Diastolic, "8462-4", "mm[Hg]"),
            (VitalSign::Pulse, "8867-4", "/min"),
            (VitalSign::Spo2, "59408-5", "%"),
            (VitalSign::BodyTemperature, "8310-5", "Cel"),
            (VitalSign::BodyWeight, "29463-7", "kg"),
            (VitalSign::BodyHeight, "8302-2", "cm"),
            (VitalSign::Bmi, "39156-5", "kg/m2"),
            (VitalSign::Waist, "8280-0", "cm"),
            (VitalSign::GlucoseFastingCapillary, "14770-2", "mmol/L"),
            (VitalSign::GlucoseRandomBlood, "15074-8", "mmol/L"),
        ];
        for (i, (v, loinc, ucum)) in expected.iter().enumerate() {
            assert_eq!(VitalSign::ALL[i], *v);
            assert_eq!(VitalSign::from_u8(i as u8), Some(*v));
            assert_eq!(v.loinc(), *loinc);
            assert_eq!(v.ucum(), *ucum);
            assert!(!v.loinc_display().is_empty());
        }
        assert_eq!(VitalSign::from_u8(11), None);
        assert_eq!(VITAL_SIGNS_PANEL_LOINC, "85353-1");
        assert_eq!(BP_PANEL_LOINC, "85354-9");
        assert_eq!(SPO2_FHIR_BASE_LOINC, "2708-6");
        assert_eq!(
            VitalSign::Spo2.loinc_display(),
            "Oxygen saturation in Arterial blood by Pulse oximetry"
        );
    }

    #[test]
    fn mdc_context_free_codes_from_domain() {
        // DOMAIN.md section 4.2 context-free column.
        let expected: [(VitalSign, Option<u32>); 11] = [
            (VitalSign::Systolic, Some(150_021)),
            (VitalSign::Diastolic, Some(150_022)),
            (VitalSign::Pulse, Some(149_546)),
            (VitalSign::Spo2, Some(150_456)),
            (VitalSign::BodyTemperature, Some(150_364)),
            (VitalSign::BodyWeight, Some(188_736)),
            (VitalSign::BodyHeight, Some(188_740)),
            (VitalSign::Bmi, Some(188_752)),
            (VitalSign::Waist, None),
            (VitalSign::GlucoseFastingCapillary, Some(160_184)),
            (VitalSign::GlucoseRandomBlood, Some(160_184)),
        ];
        for (v, code) in expected {
            assert_eq!(v.mdc_code(), code, "{v:?}");
        }
        assert_eq!(VitalSign::Waist.mdc_term(), None);
        assert_eq!(VitalSign::Waist.mdc_partition(), None);
        // The named constants not used by a VitalSign, against the same column.
        let scada: [(u16, u32); 5] = [
            (MDC_PRESS_BLD_NONINV, 150_020),
            (MDC_PRESS_BLD_NONINV_MEAN, 150_023),
            (MDC_PULS_OXIM_PULS_RATE, 149_530),
            (MDC_ECG_HEART_RATE, 147_842),
            (MDC_CONC_GLU_CAPILLARY_PLASMA, 160_188),
        ];
        for (term, code) in scada {
            assert_eq!(context_free(MDC_PART_SCADA, term), code);
        }
    }

    #[test]
    fn mdc_units_from_domain() {
        // DOMAIN.md section 4.2 units line: term (context-free).
        let units: [(u16, u32); 13] = [
            (MDC_DIM_MMHG, 266_016),
            (MDC_DIM_KILO_PASCAL, 265_987),
            (MDC_DIM_BEAT_PER_MIN, 264_864),
            (MDC_DIM_PERCENT, 262_688),
            (MDC_DIM_DEGC, 268_192),
            (MDC_DIM_FAHR, 266_560),
            (MDC_DIM_KILO_G, 263_875),
            (MDC_DIM_LB, 263_904),
            (MDC_DIM_CENTI_M, 263_441),
            (MDC_DIM_INCH, 263_520),
            (MDC_DIM_KG_PER_M_SQ, 264_096),
            (MDC_DIM_MILLI_G_PER_DL, 264_274),
            (MDC_DIM_MILLI_MOLE_PER_L, 266_866),
        ];
        for (term, code) in units {
            assert_eq!(context_free(MDC_PART_DIM, term), code);
        }
        assert_eq!(VitalSign::Systolic.mdc_unit_code(), 3872);
        assert_eq!(VitalSign::Pulse.mdc_unit_code(), 2720);
        assert_eq!(VitalSign::Spo2.mdc_unit_code(), 544);
        assert_eq!(VitalSign::BodyTemperature.mdc_unit_code(), 6048);
        assert_eq!(VitalSign::BodyWeight.mdc_unit_code(), 1731);
        assert_eq!(VitalSign::Waist.mdc_unit_code(), 1297);
        assert_eq!(VitalSign::Bmi.mdc_unit_code(), 1952);
        assert_eq!(VitalSign::GlucoseFastingCapillary.mdc_unit_code(), 4722);
    }

    #[test]
    fn quantities_keep_fixed_point_precision() {
        // The vector "vitals-body-glucose-alerts": 152/94 mmHg, 37.50 Cel, 68.450 kg,
        // 164.2 cm, BMI 25.39, 93.0 cm, fasting capillary glucose 7.800 mmol/L (DOMAIN.md
        // 4.1 codes).
        let v = VitalSigns {
            systolic_mmhg: Some(152),
            diastolic_mmhg: Some(94),
            temperature_centi_c: Some(3750),
            weight_g: Some(68_450),
            height_mm: Some(1642),
            waist_mm: Some(930),
            glucose_umol_l: Some(7_800),
            glucose_context: GlucoseContext::Fasting,
            ..VitalSigns::default()
        };
        let q: std::vec::Vec<_> = quantities(&v)
            .map(|q| (q.field, q.sign.loinc(), q.mantissa, q.exponent))
            .collect();
        assert_eq!(
            q,
            [
                ("systolic_mmhg", "8480-6", 152, 0),
                ("diastolic_mmhg", "8462-4", 94, 0),
                ("temperature_centi_c", "8310-5", 3750, -2),
                ("weight_g", "29463-7", 68_450, -3),
                ("height_mm", "8302-2", 1642, -1),
                ("bmi_centi", "39156-5", 2539, -2),
                ("waist_mm", "8280-0", 930, -1),
                ("glucose_umol_l", "14770-2", 7_800, -3),
            ]
        );
        let pulse = VitalSigns {
            pulse_per_min: Some(76),
            spo2_percent: Some(97),
            ..VitalSigns::default()
        };
        let q: std::vec::Vec<_> = quantities(&pulse)
            .map(|q| (q.field, q.sign.loinc(), q.mantissa, q.exponent))
            .collect();
        assert_eq!(
            q,
            [
                ("pulse_per_min", "8867-4", 76, 0),
                ("spo2_percent", "59408-5", 97, 0)
            ]
        );
        for (context, loinc) in [
            (GlucoseContext::Random, "15074-8"),
            (GlucoseContext::Postprandial2h, "15074-8"),
            (GlucoseContext::Fasting, "14770-2"),
        ] {
            let g = VitalSigns {
                glucose_umol_l: Some(5_600),
                glucose_context: context,
                ..VitalSigns::default()
            };
            let q: std::vec::Vec<_> = quantities(&g).collect();
            assert_eq!(q.len(), 1);
            assert_eq!(q[0].sign.loinc(), loinc);
        }
    }
}
