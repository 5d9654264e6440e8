//! The records a cohort must produce (`expect`, and the checks of the morning).

use tcmcare_core::record::MeasurementSource;
use tcmcare_device_models::cohort::{self, Cohort};
use tcmcare_device_models::scenario::{self, Expect};

use crate::arg;

/// `expect`: the cohort's records as JSON lines (seq = position in the kiosk's stream).
pub(crate) fn expect(args: &[String]) -> Result<bool, String> {
    let name = arg(args, "--cohort").ok_or("--cohort missing")?;
    let c = cohort::by_name(&name).ok_or_else(|| format!("no cohort {name:?}"))?;
    let device = match arg(args, "--device") {
        Some(d) => match d.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16),
            None => d.parse(),
        }
        .map_err(|_| format!("bad --device {d:?}"))?,
        None => c.device,
    };
    fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
        v.map_or_else(|| "null".to_string(), |x| x.to_string())
    }
    for (i, (resident, source, e)) in expected_of(c).iter().enumerate() {
        let (bp, sensor) = match source {
            MeasurementSource::Bluetooth => (e.bp, false),
            _ => (None, true),
        };
        println!(
            "{{\"cohort\":\"{}\",\"device\":{},\"seq\":{},\"care_home\":{},\"resident\":{},\
             \"source\":\"{}\",\"temperature_centi_c\":{},\"spo2_percent\":{},\
             \"pulse_per_min\":{},\"weight_g\":{},\"systolic_mmhg\":{},\
             \"diastolic_mmhg\":{}}}",
            c.name,
            device,
            i + 1,
            scenario::CARE_HOME,
            resident,
            if sensor { "kiosk_sensor" } else { "bluetooth" },
            opt(e.temperature_centi_c.filter(|_| sensor)),
            opt(e.spo2_percent.filter(|_| sensor)),
            opt(if sensor {
                e.pulse_per_min
            } else {
                bp.map(|b| b.2)
            }),
            opt(e.weight_g.filter(|_| sensor)),
            opt(bp.map(|b| b.0)),
            opt(bp.map(|b| b.1)),
        );
    }
    Ok(true)
}

/// The records the morning must produce, in order: per visit, the kiosk-sensor record
/// (if anything was measured) then the Bluetooth record.
pub(crate) fn expected() -> Vec<(u32, MeasurementSource, Expect)> {
    expected_of(&cohort::MORNING_COHORT)
}

/// The records a cohort must produce, in stream order (see [`expected`]).
pub(crate) fn expected_of(c: &Cohort) -> Vec<(u32, MeasurementSource, Expect)> {
    let mut v = Vec::new();
    for visit in c.visits.iter() {
        let Some(e) = visit.expect else { continue };
        let resident = c.resident_of(visit.card).unwrap_or(0);
        if e.temperature_centi_c.is_some()
            || e.spo2_percent.is_some()
            || e.pulse_per_min.is_some()
            || e.weight_g.is_some()
        {
            v.push((resident, MeasurementSource::KioskSensor, e));
        }
        if e.bp.is_some() {
            v.push((resident, MeasurementSource::Bluetooth, e));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use tcmcare_core::record::MeasurementSource;
    use tcmcare_device_models::cohort;

    use super::*;

    #[test]
    fn expected_records_follow_the_script() {
        // Visits with records: 0 (2), 2 (1: no BP), 3 (2), 4 (2), 5 (2); visit 1 is
        // the unknown card.
        let e = expected();
        assert_eq!(e.len(), 9);
        assert_eq!(e[0].0, 1001);
        assert_eq!(e[2].1, MeasurementSource::KioskSensor);
        assert_eq!(e[2].0, 1002);
    }

    #[test]
    fn demo_cohorts_expect_their_records() {
        // Kiosk A: six residents, two records each; B: seven visits, two each.
        assert_eq!(expected_of(&cohort::KIOSK_A).len(), 12);
        let b = expected_of(&cohort::KIOSK_B);
        assert_eq!(b.len(), 14);
        assert_eq!((b[0].0, b[0].1), (1003, MeasurementSource::KioskSensor));
        assert_eq!((b[1].0, b[1].1), (1003, MeasurementSource::Bluetooth));
    }
}
