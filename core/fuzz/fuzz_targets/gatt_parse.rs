//! The Bluetooth GATT health-measurement parsers: the first byte picks the
//! characteristic (or, above the known ones, a raw UUID from the next two bytes), the rest
//! is the characteristic value. Nothing may panic; a parsed measurement goes through the
//! vital-signs conversion and its timestamp through the UTC conversion.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tcmcare_core::gatt::{self, Characteristic, Measurement};
use tcmcare_core::record::VitalSigns;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (uuid, value) = match Characteristic::ALL.get(sel as usize) {
        Some(c) => (c.uuid(), rest),
        None => match rest {
            [a, b, value @ ..] => (u16::from_le_bytes([*a, *b]), value),
            _ => return,
        },
    };
    let Ok(m) = gatt::parse(uuid, value) else {
        return;
    };
    assert_eq!(m.characteristic().uuid(), uuid);
    let _ = VitalSigns::from_gatt(&m);
    let ts = match m {
        Measurement::BloodPressure(x) => x.timestamp,
        Measurement::Temperature(x) => x.timestamp,
        Measurement::Weight(x) => x.timestamp,
        Measurement::PlxSpotCheck(x) => x.timestamp,
        Measurement::Glucose(x) => Some(x.base_time),
    };
    if let Some(t) = ts {
        for offset in [-720, 0, 480, 840, i32::MIN, i32::MAX] {
            let _ = t.to_utc_seconds(offset);
        }
    }
});
