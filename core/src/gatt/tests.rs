use super::blood_pressure::BP_FLAG_KPA;
use super::*;

use crate::ieee11073::tests::{FLOAT_SPECIALS, SFLOAT_SPECIALS};
use crate::time::TimeError;

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
