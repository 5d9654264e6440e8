//! Blood pressure from a Bluetooth blood pressure monitor.
//!
//! The monitor indicates the Blood Pressure Measurement characteristic (0x2A35) when a
//! measurement completes. Whatever BLE stack the kiosk carries (a companion radio, an
//! on-chip stack) plugs in through [`BloodPressureLink`]: it hands over the raw
//! characteristic bytes, and core's GATT parser ([`BloodPressureMeasurement::parse`])
//! decodes them, so the kiosk and the terminal read the same bytes the same way.

pub use tcmcare_core::gatt::{BloodPressureMeasurement, GattError};

/// UUID of the Blood Pressure Measurement characteristic (core's GATT table).
pub const BP_MEASUREMENT_UUID: u16 =
    tcmcare_core::gatt::Characteristic::BloodPressureMeasurement.uuid();

/// Longest Blood Pressure Measurement value: flags, three SFLOATs, time stamp (7),
/// pulse SFLOAT, user id, measurement status (u16).
pub const MAX_BP_MEASUREMENT_LEN: usize = 1 + 3 * 2 + 7 + 2 + 1 + 2;

/// A BLE connection to a paired blood pressure monitor.
pub trait BloodPressureLink {
    /// The stack's error.
    type Error;

    /// Asks the monitor to measure (a button press on monitors without remote start:
    /// then this only arms the indication).
    fn start(&mut self) -> Result<(), Self::Error>;

    /// The value of the next 0x2A35 indication if one has arrived: its length in `buf`.
    fn poll_indication(
        &mut self,
        buf: &mut [u8; MAX_BP_MEASUREMENT_LEN],
    ) -> Result<Option<usize>, Self::Error>;
}

/// Why a blood pressure reading failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BpError<E> {
    /// The BLE stack failed.
    Link(E),
    /// The indication is not a valid Blood Pressure Measurement.
    Gatt(GattError),
}

/// Parses an indication's bytes with core's GATT parser.
pub fn parse_indication<E>(bytes: &[u8]) -> Result<BloodPressureMeasurement, BpError<E>> {
    BloodPressureMeasurement::parse(bytes).map_err(BpError::Gatt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indication_with_pulse_in_mmhg() {
        // Flags 0x04 (mmHg, pulse present); SYS 120 = SFLOAT 0x0078, DIA 80 = 0x0050,
        // MAP NaN 0x07FF (not available), pulse 72 = 0x0048 (DOMAIN.md 4.3/4.4).
        let bytes = [0x04, 0x78, 0x00, 0x50, 0x00, 0xFF, 0x07, 0x48, 0x00];
        let m = parse_indication::<()>(&bytes).unwrap();
        assert_eq!((m.systolic_mmhg, m.diastolic_mmhg), (120, 80));
        assert_eq!(m.mean_arterial_mmhg, None);
        assert_eq!(m.pulse_per_min, Some(72));
    }

    #[test]
    fn truncated_indication_is_refused() {
        let bytes = [0x04, 0x78, 0x00, 0x50, 0x00, 0xFF, 0x07, 0x48];
        assert!(matches!(
            parse_indication::<()>(&bytes),
            Err(BpError::Gatt(_))
        ));
    }
}
