//! The scripted morning the QEMU end-to-end test plays: which cards the terminal
//! provisions, who comes to the kiosk, what each sensor sees, which faults strike, and
//! what the kiosk must record. The board binary plays it; the host side of the test
//! checks the records against [`Visit::expect`] (values written by hand from the
//! scenario, not from the firmware's output).

use crate::{BpReading, Finger};

/// The care home of the kiosk.
pub const CARE_HOME: u32 = 31;
/// The kiosk's device id.
pub const DEVICE_ID: u32 = 0x0000_4B01;
/// The reference mass used to calibrate the scale at boot, g.
pub const CALIBRATION_MASS_G: u32 = 20_000;
/// The terminal's UTC clock at the start of the morning (2025-03-03 00:30:00 UTC,
/// 08:30 in Shanghai), handed to the kiosk in the sync welcome.
pub const TERMINAL_UTC_START: u64 = 1_740_961_800;

/// A card the terminal provisions: UID and resident number.
#[derive(Debug, Clone, Copy)]
pub struct Provisioned {
    /// The card UID.
    pub uid: &'static [u8],
    /// The resident number it maps to.
    pub resident: u32,
}

/// The card table the terminal provisions.
pub const CARDS: [Provisioned; 4] = [
    Provisioned {
        uid: &[0x3A, 0x91, 0x5C, 0x07],
        resident: 1001,
    },
    Provisioned {
        uid: &[0x04, 0x62, 0x19, 0xB2, 0x7E, 0x58, 0x80],
        resident: 1002,
    },
    Provisioned {
        uid: &[0xC1, 0x0D, 0x44, 0xE9],
        resident: 1003,
    },
    Provisioned {
        uid: &[0x5B, 0xA2, 0x33, 0x1F],
        resident: 1004,
    },
];

/// Faults injected during a visit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// PEC errors on the first thermometer reads.
    pub thermometer_pec_errors: u32,
    /// The scale's cable is unplugged.
    pub scale_unplugged: bool,
    /// The board cuts the power after the visit's records are in the outbox and before
    /// they are acknowledged.
    pub power_cut_after_push: bool,
}

/// What the kiosk must record for a visit (kiosk-sensor record and Bluetooth record).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expect {
    /// Temperature, 0.01 °C.
    pub temperature_centi_c: Option<i16>,
    /// SpO2, %.
    pub spo2_percent: Option<u8>,
    /// Pulse from the oximeter, /min.
    pub pulse_per_min: Option<u16>,
    /// Weight, g.
    pub weight_g: Option<u32>,
    /// Blood pressure from the Bluetooth monitor: systolic, diastolic, pulse.
    pub bp: Option<(u16, u16, u16)>,
}

/// One resident's visit.
#[derive(Debug, Clone, Copy)]
pub struct Visit {
    /// The card held to the reader.
    pub card: &'static [u8],
    /// Tobj1 register value the thermometer reads (0.02 K units).
    pub tobj_raw: u16,
    /// What is on the oximeter.
    pub finger: Finger,
    /// Load on the scale, g (0 = the resident skips it).
    pub load_g: u32,
    /// The Bluetooth monitor's reading (`None`: no cuff, the kiosk times out).
    pub bp: Option<BpReading>,
    /// Injected faults.
    pub faults: Faults,
    /// The records expected (`None`: the card is unknown, nothing is recorded).
    pub expect: Option<Expect>,
}

const NO_FAULTS: Faults = Faults {
    thermometer_pec_errors: 0,
    scale_unplugged: false,
    power_cut_after_push: false,
};

/// The morning: five visits and one unknown card.
pub const MORNING: [Visit; 6] = [
    // Resident 1001: everything works. Tobj raw 15488 = 15488 × 2 − 27315 = 3661
    // (36.61 °C); R 0.60 -> 110 − 15 = 95 %; 72 /min; 61.5 kg; 128/82, 70 /min.
    Visit {
        card: CARDS[0].uid,
        tobj_raw: 15_488,
        finger: Finger::Resting {
            bpm: 72.0,
            r: 0.60,
            perfusion: 0.01,
        },
        load_g: 61_500,
        bp: Some(BpReading {
            systolic: 128,
            diastolic: 82,
            pulse: 70,
        }),
        faults: NO_FAULTS,
        expect: Some(Expect {
            temperature_centi_c: Some(3661),
            spo2_percent: Some(95),
            pulse_per_min: Some(72),
            weight_g: Some(61_500),
            bp: Some((128, 82, 70)),
        }),
    },
    // A card the terminal never provisioned: no record.
    Visit {
        card: &[0xDE, 0xAD, 0xBE, 0xEF],
        tobj_raw: 15_488,
        finger: Finger::Absent,
        load_g: 0,
        bp: None,
        faults: NO_FAULTS,
        expect: None,
    },
    // Resident 1002 (7-byte UID): no finger on the oximeter (rejected, no SpO2 and no
    // pulse), no cuff (Bluetooth times out, no second record). Raw 15530 -> 3745
    // (37.45 °C, fever); 55.2 kg.
    Visit {
        card: CARDS[1].uid,
        tobj_raw: 15_530,
        finger: Finger::Absent,
        load_g: 55_200,
        bp: None,
        faults: NO_FAULTS,
        expect: Some(Expect {
            temperature_centi_c: Some(3745),
            spo2_percent: None,
            pulse_per_min: None,
            weight_g: Some(55_200),
            bp: None,
        }),
    },
    // Resident 1003: two corrupted thermometer words (retries succeed), scale
    // unplugged, power cut after the push. Raw 15468 -> 3621; R 0.72 -> 92 %;
    // 88 /min; 142/91, 88 /min.
    Visit {
        card: CARDS[2].uid,
        tobj_raw: 15_468,
        finger: Finger::Resting {
            bpm: 88.0,
            r: 0.72,
            perfusion: 0.008,
        },
        load_g: 70_000,
        bp: Some(BpReading {
            systolic: 142,
            diastolic: 91,
            pulse: 88,
        }),
        faults: Faults {
            thermometer_pec_errors: 2,
            scale_unplugged: true,
            power_cut_after_push: true,
        },
        expect: Some(Expect {
            temperature_centi_c: Some(3621),
            spo2_percent: Some(92),
            pulse_per_min: Some(88),
            weight_g: None,
            bp: Some((142, 91, 88)),
        }),
    },
    // Resident 1001 again: moving finger (rejected). Raw 15482 -> 3649; 61.4 kg;
    // 118/76, 64 /min.
    Visit {
        card: CARDS[0].uid,
        tobj_raw: 15_482,
        finger: Finger::Moving,
        load_g: 61_400,
        bp: Some(BpReading {
            systolic: 118,
            diastolic: 76,
            pulse: 64,
        }),
        faults: NO_FAULTS,
        expect: Some(Expect {
            temperature_centi_c: Some(3649),
            spo2_percent: None,
            pulse_per_min: None,
            weight_g: Some(61_400),
            bp: Some((118, 76, 64)),
        }),
    },
    // Resident 1004: skips the scale. Raw 15563 -> 3811; R 0.52 -> 97 %; 58 /min;
    // 135/85, 58 /min.
    Visit {
        card: CARDS[3].uid,
        tobj_raw: 15_563,
        finger: Finger::Resting {
            bpm: 58.0,
            r: 0.52,
            perfusion: 0.012,
        },
        load_g: 0,
        bp: Some(BpReading {
            systolic: 135,
            diastolic: 85,
            pulse: 58,
        }),
        faults: NO_FAULTS,
        expect: Some(Expect {
            temperature_centi_c: Some(3811),
            spo2_percent: Some(97),
            pulse_per_min: Some(58),
            weight_g: None,
            bp: Some((135, 85, 58)),
        }),
    },
];
