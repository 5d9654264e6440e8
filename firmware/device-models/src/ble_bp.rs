//! A Bluetooth blood pressure monitor: after its cuff time it indicates a Blood
//! Pressure Measurement (0x2A35) value.

use core::cell::RefCell;

use crate::Clock;

/// A reading the monitor will report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpReading {
    /// Systolic, mmHg.
    pub systolic: u16,
    /// Diastolic, mmHg.
    pub diastolic: u16,
    /// Pulse, /min.
    pub pulse: u16,
}

#[derive(Debug)]
struct State {
    next: Option<BpReading>,
    cuff_ms: u64,
    due_at: Option<u64>,
}

/// A paired monitor.
pub struct BleBpMonitor<'c> {
    s: RefCell<State>,
    clock: &'c dyn Clock,
}

impl<'c> BleBpMonitor<'c> {
    /// A monitor with no cuff on an arm.
    pub fn new(clock: &'c dyn Clock) -> Self {
        BleBpMonitor {
            s: RefCell::new(State {
                next: None,
                cuff_ms: 0,
                due_at: None,
            }),
            clock,
        }
    }

    /// What the next measurement will read (`None`: the resident does not use the cuff,
    /// nothing is ever indicated) and how long the cuff takes.
    pub fn prepare(&self, reading: Option<BpReading>, cuff_ms: u64) {
        let mut s = self.s.borrow_mut();
        s.next = reading;
        s.cuff_ms = cuff_ms;
        s.due_at = None;
    }

    /// Starts the cuff.
    pub fn start(&self) {
        let now = self.clock.now_us();
        let mut s = self.s.borrow_mut();
        s.due_at = Some(now + s.cuff_ms * 1000);
    }

    /// The indication value once the measurement is done: flags 0x04 (mmHg, pulse),
    /// SYS, DIA, MAP = NaN (0x07FF), pulse, as SFLOATs with exponent 0.
    pub fn poll(&self, out: &mut [u8]) -> Option<usize> {
        let now = self.clock.now_us();
        let mut s = self.s.borrow_mut();
        let due = s.due_at?;
        if now < due {
            return None;
        }
        let r = s.next.take()?;
        s.due_at = None;
        let sf = |v: u16| (v & 0x0FFF).to_le_bytes();
        let mut b = [0u8; 9];
        b[0] = 0x04;
        b[1..3].copy_from_slice(&sf(r.systolic));
        b[3..5].copy_from_slice(&sf(r.diastolic));
        b[5..7].copy_from_slice(&[0xFF, 0x07]);
        b[7..9].copy_from_slice(&sf(r.pulse));
        let out = out.get_mut(..9)?;
        out.copy_from_slice(&b);
        Some(9)
    }
}
