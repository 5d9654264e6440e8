//! The care-home day of `make demo`: the residents' cards and what two kiosks (in two
//! buildings of care home [`CARE_HOME`]) measure, visit by visit.
//!
//! The board picks a [`Cohort`] by name from its semihosting command line
//! (`--cohort a|b|morning`); the demo's final check compares the database with the
//! records each cohort expects ([`Visit::expect`], values worked out by hand in the
//! comments from the sensor models' formulas, not from the firmware's output):
//!
//! - thermometer: Tobj1 raw word in 0.02 K, so `0.01 °C = raw × 2 − 27315`;
//! - oximeter: `SpO2 = 110 − 25 R` (whole %), pulse = the finger's rate;
//! - scale: the load in g; blood pressure: the monitor's reading as is.
//!
//! Alerts follow from core's thresholds (hypertension ≥ 140 or ≥ 90 mmHg, fever
//! ≥ 37.3 °C, low SpO2 < 94 %).

use crate::scenario::{Expect, Faults, Provisioned, Visit, MORNING};
use crate::{BpReading, Finger};

/// Device id of the kiosk in building A (the morning's kiosk, `0x4B01`).
pub const KIOSK_A_DEVICE: u32 = 0x0000_4B01;
/// Device id of the kiosk in building B.
pub const KIOSK_B_DEVICE: u32 = 0x0000_4B02;

/// The cards the terminal provisions on both kiosks: residents 1001..=1012.
pub const CARDS: [Provisioned; 12] = [
    card(&[0x3A, 0x91, 0x5C, 0x07], 1001),
    card(&[0x04, 0x62, 0x19, 0xB2, 0x7E, 0x58, 0x80], 1002),
    card(&[0xC1, 0x0D, 0x44, 0xE9], 1003),
    card(&[0x5B, 0xA2, 0x33, 0x1F], 1004),
    card(&[0x71, 0x2E, 0x90, 0x4C], 1005),
    card(&[0x08, 0xB3, 0x6D, 0x15], 1006),
    card(&[0x04, 0x1F, 0x77, 0xC2, 0x3A, 0x61, 0x80], 1007),
    card(&[0x9E, 0x54, 0x0B, 0xD8], 1008),
    card(&[0x26, 0xC7, 0x81, 0x5A], 1009),
    card(&[0xE3, 0x48, 0x12, 0x6F], 1010),
    card(&[0x4D, 0x05, 0xAB, 0x93], 1011),
    card(&[0x04, 0x8C, 0x3E, 0x11, 0xD0, 0x29, 0x80], 1012),
];

const fn card(uid: &'static [u8], resident: u32) -> Provisioned {
    Provisioned { uid, resident }
}

/// A card the terminal never provisioned.
const UNKNOWN_CARD: &[u8] = &[0xDE, 0xAD, 0xBE, 0xEF];

/// One kiosk's day.
#[derive(Debug, Clone, Copy)]
pub struct Cohort {
    /// Name on the command line (`a`, `b`, `morning`).
    pub name: &'static str,
    /// The kiosk's default device id (the command line may override it).
    pub device: u32,
    /// The cards to provision.
    pub cards: &'static [Provisioned],
    /// The visits, in order.
    pub visits: &'static [Visit],
    /// Before this visit the kiosk waits until its outbox is empty (every record
    /// acknowledged): the demo cuts the link and restarts the kiosk in that pause.
    pub wait_for_uplink_before: Option<usize>,
}

impl Cohort {
    /// The resident number of a card of this cohort.
    pub fn resident_of(&self, uid: &[u8]) -> Option<u32> {
        self.cards.iter().find(|c| c.uid == uid).map(|c| c.resident)
    }
}

/// The QEMU test's morning (`tcmcare_device_models::scenario`) as a cohort.
pub const MORNING_COHORT: Cohort = Cohort {
    name: "morning",
    device: crate::scenario::DEVICE_ID,
    cards: &crate::scenario::CARDS,
    visits: &MORNING,
    wait_for_uplink_before: None,
};

/// Kiosk A, building A.
pub const KIOSK_A: Cohort = Cohort {
    name: "a",
    device: KIOSK_A_DEVICE,
    cards: &CARDS,
    visits: &DAY_A,
    wait_for_uplink_before: None,
};

/// Kiosk B, building B: waits for its uplink before visit 4 (after lunch).
pub const KIOSK_B: Cohort = Cohort {
    name: "b",
    device: KIOSK_B_DEVICE,
    cards: &CARDS,
    visits: &DAY_B,
    wait_for_uplink_before: Some(KIOSK_B_PAUSE_BEFORE),
};

/// The visit kiosk B waits before (see [`Cohort::wait_for_uplink_before`]).
pub const KIOSK_B_PAUSE_BEFORE: usize = 4;

/// The cohorts by name.
pub const COHORTS: [Cohort; 3] = [KIOSK_A, KIOSK_B, MORNING_COHORT];

/// The cohort called `name`.
pub fn by_name(name: &str) -> Option<&'static Cohort> {
    COHORTS.iter().find(|c| c.name == name)
}

const NO_FAULTS: Faults = Faults {
    thermometer_pec_errors: 0,
    scale_unplugged: false,
    power_cut_after_push: false,
};

const fn resting(bpm: f32, r: f32) -> Finger {
    Finger::Resting {
        bpm,
        r,
        perfusion: 0.01,
    }
}

const fn bp(systolic: u16, diastolic: u16, pulse: u16) -> Option<BpReading> {
    Some(BpReading {
        systolic,
        diastolic,
        pulse,
    })
}

/// A visit where every sensor works: temperature, SpO2 and pulse, weight, and the
/// Bluetooth blood pressure (two records).
const fn full_visit(
    card: &'static [u8],
    tobj_raw: u16,
    finger: Finger,
    load_g: u32,
    reading: Option<BpReading>,
    faults: Faults,
    expect: Expect,
) -> Visit {
    Visit {
        card,
        tobj_raw,
        finger,
        load_g,
        bp: reading,
        faults,
        expect: Some(expect),
    }
}

/// Kiosk A's day: six residents and one unknown card (12 records).
pub const DAY_A: [Visit; 7] = [
    // 1001: raw 15488 -> 30976 − 27315 = 3661 (36.61 °C); R 0.60 -> 110 − 15 = 95 %,
    // 72 /min; 58.3 kg; 146/92 mmHg (hypertension alert), 74 /min.
    full_visit(
        CARDS[0].uid,
        15_488,
        resting(72.0, 0.60),
        58_300,
        bp(146, 92, 74),
        NO_FAULTS,
        Expect {
            temperature_centi_c: Some(3661),
            spo2_percent: Some(95),
            pulse_per_min: Some(72),
            weight_g: Some(58_300),
            bp: Some((146, 92, 74)),
        },
    ),
    // 1002: raw 15480 -> 30960 − 27315 = 3645; R 0.56 -> 110 − 14 = 96 %, 60 /min;
    // 67.8 kg; 128/78, 62 /min.
    full_visit(
        CARDS[1].uid,
        15_480,
        resting(60.0, 0.56),
        67_800,
        bp(128, 78, 62),
        NO_FAULTS,
        Expect {
            temperature_centi_c: Some(3645),
            spo2_percent: Some(96),
            pulse_per_min: Some(60),
            weight_g: Some(67_800),
            bp: Some((128, 78, 62)),
        },
    ),
    // A card nobody provisioned: no record.
    Visit {
        card: UNKNOWN_CARD,
        tobj_raw: 15_488,
        finger: Finger::Absent,
        load_g: 0,
        bp: None,
        faults: NO_FAULTS,
        expect: None,
    },
    // 1004: one corrupted thermometer word (the retry succeeds); raw 15492 -> 30984 −
    // 27315 = 3669; R 0.60 -> 95 %, 80 /min; 74.5 kg; 134/84, 80 /min.
    full_visit(
        CARDS[3].uid,
        15_492,
        resting(80.0, 0.60),
        74_500,
        bp(134, 84, 80),
        Faults {
            thermometer_pec_errors: 1,
            scale_unplugged: false,
            power_cut_after_push: false,
        },
        Expect {
            temperature_centi_c: Some(3669),
            spo2_percent: Some(95),
            pulse_per_min: Some(80),
            weight_g: Some(74_500),
            bp: Some((134, 84, 80)),
        },
    ),
    // 1006: a moving finger (no SpO2, no pulse); raw 15495 -> 30990 − 27315 = 3675;
    // 62.1 kg; 118/72, 66 /min.
    full_visit(
        CARDS[5].uid,
        15_495,
        Finger::Moving,
        62_100,
        bp(118, 72, 66),
        NO_FAULTS,
        Expect {
            temperature_centi_c: Some(3675),
            spo2_percent: None,
            pulse_per_min: None,
            weight_g: Some(62_100),
            bp: Some((118, 72, 66)),
        },
    ),
    // 1008: the scale's cable is unplugged (no weight); raw 15486 -> 30972 − 27315 =
    // 3657; R 0.52 -> 110 − 13 = 97 %, 75 /min; 138/86, 76 /min.
    full_visit(
        CARDS[7].uid,
        15_486,
        resting(75.0, 0.52),
        80_000,
        bp(138, 86, 76),
        Faults {
            thermometer_pec_errors: 0,
            scale_unplugged: true,
            power_cut_after_push: false,
        },
        Expect {
            temperature_centi_c: Some(3657),
            spo2_percent: Some(97),
            pulse_per_min: Some(75),
            weight_g: None,
            bp: Some((138, 86, 76)),
        },
    ),
    // 1010: raw 15478 -> 30956 − 27315 = 3641; R 0.76 -> 110 − 19 = 91 % (low SpO2
    // alert), 60 /min; 70.2 kg; 136/82, 60 /min.
    full_visit(
        CARDS[9].uid,
        15_478,
        resting(60.0, 0.76),
        70_200,
        bp(136, 82, 60),
        NO_FAULTS,
        Expect {
            temperature_centi_c: Some(3641),
            spo2_percent: Some(91),
            pulse_per_min: Some(60),
            weight_g: Some(70_200),
            bp: Some((136, 82, 60)),
        },
    ),
];

/// Kiosk B's day: seven visits (14 records); it pauses for its uplink before visit
/// [`KIOSK_B_PAUSE_BEFORE`].
pub const DAY_B: [Visit; 7] = [
    // 1003: raw 15484 -> 30968 − 27315 = 3653; R 0.72 -> 110 − 18 = 92 % (low SpO2),
    // 75 /min; 52.6 kg; 144/90 (hypertension), 76 /min.
    full_visit(
        CARDS[2].uid,
        15_484,
        resting(75.0, 0.72),
        52_600,
        bp(144, 90, 76),
        NO_FAULTS,
        Expect {
            temperature_centi_c: Some(3653),
            spo2_percent: Some(92),
            pulse_per_min: Some(75),
            weight_g: Some(52_600),
            bp: Some((144, 90, 76)),
        },
    ),
    // 1005: raw 15490 -> 30980 − 27315 = 3665; R 0.64 -> 110 − 16 = 94 % (not low:
    // the alert is below 94), 80 /min; 63.9 kg; 152/95 (hypertension), 78 /min.
    full_visit(
        CARDS[4].uid,
        15_490,
        resting(80.0, 0.64),
        63_900,
        bp(152, 95, 78),
        NO_FAULTS,
        Expect {
            temperature_centi_c: Some(3665),
            spo2_percent: Some(94),
            pulse_per_min: Some(80),
            weight_g: Some(63_900),
            bp: Some((152, 95, 78)),
        },
    ),
    // 1007: raw 15545 -> 31090 − 27315 = 3775 (37.75 °C, fever); R 0.60 -> 95 %,
    // 100 /min; 49.8 kg; 126/80, 96 /min.
    full_visit(
        CARDS[6].uid,
        15_545,
        resting(100.0, 0.60),
        49_800,
        bp(126, 80, 96),
        NO_FAULTS,
        Expect {
            temperature_centi_c: Some(3775),
            spo2_percent: Some(95),
            pulse_per_min: Some(100),
            weight_g: Some(49_800),
            bp: Some((126, 80, 96)),
        },
    ),
    // 1009: skips the scale; raw 15482 -> 30964 − 27315 = 3649; R 0.48 -> 110 − 12 =
    // 98 %, 72 /min; 122/76, 70 /min.
    full_visit(
        CARDS[8].uid,
        15_482,
        resting(72.0, 0.48),
        0,
        bp(122, 76, 70),
        NO_FAULTS,
        Expect {
            temperature_centi_c: Some(3649),
            spo2_percent: Some(98),
            pulse_per_min: Some(72),
            weight_g: None,
            bp: Some((122, 76, 70)),
        },
    ),
    // (the kiosk waits for its uplink here)
    // 1011: raw 15487 -> 30974 − 27315 = 3659; R 0.60 -> 95 %, 60 /min; 57.4 kg;
    // 141/88 (hypertension: systolic ≥ 140), 64 /min.
    full_visit(
        CARDS[10].uid,
        15_487,
        resting(60.0, 0.60),
        57_400,
        bp(141, 88, 64),
        NO_FAULTS,
        Expect {
            temperature_centi_c: Some(3659),
            spo2_percent: Some(95),
            pulse_per_min: Some(60),
            weight_g: Some(57_400),
            bp: Some((141, 88, 64)),
        },
    ),
    // 1012: raw 15483 -> 30966 − 27315 = 3651; R 0.56 -> 96 %, 75 /min; 71.3 kg;
    // 124/80, 74 /min.
    full_visit(
        CARDS[11].uid,
        15_483,
        resting(75.0, 0.56),
        71_300,
        bp(124, 80, 74),
        NO_FAULTS,
        Expect {
            temperature_centi_c: Some(3651),
            spo2_percent: Some(96),
            pulse_per_min: Some(75),
            weight_g: Some(71_300),
            bp: Some((124, 80, 74)),
        },
    ),
    // 1001 again, in the afternoon at building B: raw 15491 -> 30982 − 27315 = 3667;
    // R 0.60 -> 95 %, 72 /min; 58.2 kg; 138/88, 72 /min.
    full_visit(
        CARDS[0].uid,
        15_491,
        resting(72.0, 0.60),
        58_200,
        bp(138, 88, 72),
        NO_FAULTS,
        Expect {
            temperature_centi_c: Some(3667),
            spo2_percent: Some(95),
            pulse_per_min: Some(72),
            weight_g: Some(58_200),
            bp: Some((138, 88, 72)),
        },
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::CARE_HOME;

    fn records(c: &Cohort) -> usize {
        c.visits
            .iter()
            .filter_map(|v| v.expect)
            .map(|e| {
                let sensor = e.temperature_centi_c.is_some()
                    || e.spo2_percent.is_some()
                    || e.pulse_per_min.is_some()
                    || e.weight_g.is_some();
                usize::from(sensor) + usize::from(e.bp.is_some())
            })
            .sum()
    }

    #[test]
    fn cohorts_by_name() {
        assert_eq!(by_name("a").map(|c| c.device), Some(0x4B01));
        assert_eq!(by_name("b").map(|c| c.device), Some(0x4B02));
        assert!(by_name("morning").is_some());
        assert!(by_name("c").is_none());
    }

    #[test]
    fn record_counts() {
        // A: six residents with two records each; B: seven visits with two each.
        assert_eq!(records(&KIOSK_A), 12);
        assert_eq!(records(&KIOSK_B), 14);
        assert_eq!(records(&MORNING_COHORT), 9);
    }

    #[test]
    fn cards_are_distinct_and_known() {
        for (i, a) in CARDS.iter().enumerate() {
            for b in &CARDS[i + 1..] {
                assert_ne!(a.uid, b.uid);
                assert_ne!(a.resident, b.resident);
            }
        }
        for c in [KIOSK_A, KIOSK_B] {
            for v in c.visits {
                assert_eq!(c.resident_of(v.card).is_some(), v.expect.is_some());
            }
        }
        assert_eq!(CARE_HOME, 31);
    }

    #[test]
    fn temperatures_follow_the_raw_words() {
        for c in [KIOSK_A, KIOSK_B] {
            for v in c.visits {
                if let Some(e) = v.expect {
                    let centi = i32::from(v.tobj_raw) * 2 - 27_315;
                    assert_eq!(e.temperature_centi_c.map(i32::from), Some(centi));
                }
            }
        }
    }
}
