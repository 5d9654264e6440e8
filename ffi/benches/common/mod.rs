//! The kiosk readings both C API benches feed through the library.

use tcmcare_core::ids::{CareHomeId, DeviceId, Epoch, RecordId, ResidentNumber, ResidentRef, Seq};
use tcmcare_core::record::{Body, Header, MeasurementSource, Record, TemperatureSite, VitalSigns};
use tcmcare_core::time::{Timestamp, UtcSeconds};

/// Reading `k` (0-based) of device 7, epoch 1, as sequence number `k + 1`: plausible and
/// varied blood pressure, pulse, SpO2 and temperature, one minute apart from
/// 2026-03-15T08:30:00Z.
pub fn vitals_record(k: u32) -> Record {
    Record {
        header: Header {
            id: RecordId {
                device: DeviceId(7),
                epoch: Epoch(1),
                seq: Seq(k + 1),
            },
            resident: ResidentRef {
                care_home: CareHomeId(3101),
                number: ResidentNumber(1000 + k % 200),
            },
            time: Timestamp::Utc(UtcSeconds::new(1_773_563_400 + u64::from(k) * 60).unwrap()),
        },
        body: Body::Vitals(VitalSigns {
            systolic_mmhg: Some(100 + (k % 70) as u16),
            diastolic_mmhg: Some(60 + (k % 35) as u16),
            pulse_per_min: Some(55 + (k % 50) as u16),
            spo2_percent: Some(90 + (k % 10) as u8),
            temperature_centi_c: Some(3580 + (k % 180) as i16),
            temperature_site: TemperatureSite::Forehead,
            source: MeasurementSource::KioskSensor,
            ..VitalSigns::default()
        }),
    }
}
