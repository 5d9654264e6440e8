//! Fixtures shared by the sync and seal benchmarks.
use tcmcare_core::ids::*;
use tcmcare_core::record::*;
use tcmcare_core::time::{Timestamp, UtcSeconds};
use tcmcare_core::wire::MAX_ENVELOPE_LEN;

/// 2026-03-15T08:30:00Z.
pub const T0: u64 = 1_773_563_400;

/// A valid vitals envelope of kiosk 7, epoch 1, with sequence number `seq`.
pub fn vitals(seq: u32) -> Vec<u8> {
    let r = Record {
        header: Header {
            id: RecordId {
                device: DeviceId(7),
                epoch: Epoch(1),
                seq: Seq(seq),
            },
            resident: ResidentRef {
                care_home: CareHomeId(3101),
                number: ResidentNumber(1000 + seq % 200),
            },
            time: Timestamp::Utc(UtcSeconds::new(T0 + seq as u64).unwrap()),
        },
        body: Body::Vitals(VitalSigns {
            systolic_mmhg: Some(128),
            diastolic_mmhg: Some(82),
            pulse_per_min: Some(60 + (seq % 60) as u16),
            spo2_percent: Some(97),
            temperature_centi_c: Some(3660),
            ..Default::default()
        }),
    };
    let mut buf = [0u8; MAX_ENVELOPE_LEN];
    let n = r.encode(&mut buf).unwrap();
    buf[..n].to_vec()
}
