//! MAX30102 model: register file, FIFO and a PPG that advances with time.

use core::cell::RefCell;
use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, NoAcknowledgeSource, Operation};

use crate::{Clock, Noise};

const ADDRESS: u8 = 0x57;
const FIFO_WR_PTR: u8 = 0x04;
const OVF_COUNTER: u8 = 0x05;
const FIFO_RD_PTR: u8 = 0x06;
const FIFO_DATA: u8 = 0x07;
const FIFO_CONFIG: u8 = 0x08;
const MODE: u8 = 0x09;
const SPO2_CONFIG: u8 = 0x0A;
const REV_ID: u8 = 0xFE;
const PART_ID: u8 = 0xFF;
const PART_ID_VALUE: u8 = 0x15;
const MODE_RESET: u8 = 0x40;
const MODE_SHUTDOWN: u8 = 0x80;
const MODE_SPO2: u8 = 0x03;
const ROLLOVER: u8 = 0x10;
const FIFO_DEPTH: usize = 32;
const SAMPLE_RATES: [u32; 8] = [50, 100, 200, 400, 800, 1000, 1600, 3200];

/// What is on the sensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Finger {
    /// Nothing: only a little ambient light and crosstalk reach the photodiode.
    Absent,
    /// A resting finger with a regular pulse.
    Resting {
        /// Pulse rate, /min.
        bpm: f32,
        /// Ratio of ratios R = (AC/DC red) / (AC/DC IR); SpO2 = 110 − 25 R.
        r: f32,
        /// IR AC RMS / DC.
        perfusion: f32,
    },
    /// A finger moving: large, irregular swings.
    Moving,
}

#[derive(Debug)]
struct State {
    regs: [u8; 256],
    fifo: [(u32, u32); FIFO_DEPTH],
    fifo_len: usize,
    /// Samples generated since the time base.
    generated: u64,
    base_us: u64,
    finger: Finger,
    noise: Noise,
    sample_index: u64,
    present: bool,
}

/// A MAX30102 on its own I²C bus.
pub struct Max30102<'c> {
    s: RefCell<State>,
    clock: &'c dyn Clock,
}

/// sin(2π·turns) by Bhaskara I's approximation (error below 0.002): a PPG shape does
/// not need libm's exact `sinf`, and the firmware image keeps 5 KiB of f64 kernels out.
fn sin_turns(turns: f32) -> f32 {
    let t = turns - libm::floorf(turns); // [0, 1)
    let (half, sign) = if t < 0.5 { (t, 1.0) } else { (t - 0.5, -1.0) };
    let x = half * core::f32::consts::TAU; // [0, π)
    let p = x * (core::f32::consts::PI - x);
    sign * 16.0 * p / (5.0 * core::f32::consts::PI * core::f32::consts::PI - 4.0 * p)
}

/// IR and red DC levels of a finger, counts of the 18-bit ADC at 7.2 mA / 16384 nA.
const IR_DC: f32 = 120_000.0;
const RED_DC: f32 = 90_000.0;

impl<'c> Max30102<'c> {
    /// A powered-on sensor with nothing on it.
    pub fn new(clock: &'c dyn Clock) -> Self {
        let m = Max30102 {
            s: RefCell::new(State {
                regs: [0; 256],
                fifo: [(0, 0); FIFO_DEPTH],
                fifo_len: 0,
                generated: 0,
                base_us: 0,
                finger: Finger::Absent,
                noise: Noise::new(0x5EED),
                sample_index: 0,
                present: true,
            }),
            clock,
        };
        m.power_on_reset();
        m
    }

    fn power_on_reset(&self) {
        let mut s = self.s.borrow_mut();
        s.regs = [0; 256];
        s.regs[usize::from(REV_ID)] = 0x03;
        s.regs[usize::from(PART_ID)] = PART_ID_VALUE;
        s.fifo_len = 0;
        s.generated = 0;
        s.base_us = self.clock.now_us();
    }

    /// Puts a finger on the sensor (or takes it off).
    pub fn set_finger(&self, finger: Finger) {
        self.s.borrow_mut().finger = finger;
    }

    /// Connects or disconnects the sensor.
    pub fn set_present(&self, present: bool) {
        self.s.borrow_mut().present = present;
    }

    /// The bus handle a driver owns.
    pub fn bus(&self) -> Max30102Bus<'_, 'c> {
        Max30102Bus(self)
    }

    fn sample(s: &mut State) -> (u32, u32) {
        let t = s.sample_index as f32 / SAMPLE_RATES[1] as f32;
        s.sample_index += 1;
        let n = s.noise.next_f32();
        let (red, ir) = match s.finger {
            Finger::Absent => (1_200.0 + 50.0 * n, 1_500.0 + 50.0 * n),
            Finger::Resting { bpm, r, perfusion } => {
                // Fundamental and a second harmonic (dicrotic notch); RMS of the shape
                // is sqrt((1 + 0.09) / 2).
                let ph = t * bpm / 60.0;
                let shape =
                    sin_turns(ph) + 0.3 * sin_turns(2.0 * ph + 0.8 / core::f32::consts::TAU);
                let amp = perfusion / libm::sqrtf(1.09 / 2.0);
                let ir = IR_DC * (1.0 + amp * shape) + 0.002 * IR_DC * amp * n;
                let red = RED_DC * (1.0 + r * amp * shape) + 0.002 * RED_DC * r * amp * n;
                (red, ir)
            }
            Finger::Moving => {
                let ph = t * 0.7;
                let swing = sin_turns(ph) + n;
                (RED_DC * (1.0 + 0.2 * swing), IR_DC * (1.0 - 0.15 * swing))
            }
        };
        let clip = |v: f32| (v.max(0.0) as u32).min((1 << 18) - 1);
        (clip(red), clip(ir))
    }

    /// Generates the samples due by now into the FIFO.
    fn catch_up(&self, s: &mut State) {
        let now = self.clock.now_us();
        let mode = s.regs[usize::from(MODE)];
        if mode & MODE_SHUTDOWN != 0 || mode & 0x07 != MODE_SPO2 {
            s.base_us = now;
            s.generated = 0;
            return;
        }
        let rate = SAMPLE_RATES[usize::from((s.regs[usize::from(SPO2_CONFIG)] >> 2) & 0x07)];
        let due = now.saturating_sub(s.base_us) * u64::from(rate) / 1_000_000;
        // Never generate more than a FIFO's worth of overflow per call.
        let todo = due
            .saturating_sub(s.generated)
            .min(4 * FIFO_DEPTH as u64 + 31);
        for _ in 0..todo {
            let smp = Self::sample(s);
            if s.fifo_len < FIFO_DEPTH {
                let wr = usize::from(s.regs[usize::from(FIFO_WR_PTR)] & 0x1F);
                s.fifo[wr] = smp;
                s.fifo_len += 1;
                s.regs[usize::from(FIFO_WR_PTR)] = ((wr + 1) % FIFO_DEPTH) as u8;
            } else if s.regs[usize::from(FIFO_CONFIG)] & ROLLOVER != 0 {
                let wr = usize::from(s.regs[usize::from(FIFO_WR_PTR)] & 0x1F);
                s.fifo[wr] = smp;
                s.regs[usize::from(FIFO_WR_PTR)] = ((wr + 1) % FIFO_DEPTH) as u8;
                s.regs[usize::from(FIFO_RD_PTR)] = s.regs[usize::from(FIFO_WR_PTR)];
            } else {
                let ovf = &mut s.regs[usize::from(OVF_COUNTER)];
                *ovf = (*ovf + 1).min(0x1F);
            }
        }
        s.generated = due;
    }

    fn write_reg(&self, s: &mut State, reg: u8, v: u8) {
        match reg {
            MODE if v & MODE_RESET != 0 => {
                s.regs = [0; 256];
                s.regs[usize::from(REV_ID)] = 0x03;
                s.regs[usize::from(PART_ID)] = PART_ID_VALUE;
                s.fifo_len = 0;
                s.generated = 0;
                s.base_us = self.clock.now_us();
            }
            FIFO_WR_PTR | OVF_COUNTER | FIFO_RD_PTR => {
                s.regs[usize::from(reg)] = v & 0x1F;
                // Writing the pointers restarts the FIFO (datasheet: clear all three
                // before a new conversion).
                s.fifo_len = 0;
                s.regs[usize::from(FIFO_RD_PTR)] = s.regs[usize::from(FIFO_WR_PTR)];
                s.base_us = self.clock.now_us();
                s.generated = 0;
            }
            REV_ID | PART_ID => {}
            _ => {
                s.regs[usize::from(reg)] = v;
                if reg == MODE || reg == SPO2_CONFIG {
                    s.base_us = self.clock.now_us();
                    s.generated = 0;
                }
            }
        }
    }

    fn read_reg(&self, s: &mut State, reg: u8, byte_in_sample: &mut usize) -> u8 {
        if reg != FIFO_DATA {
            return s.regs[usize::from(reg)];
        }
        if s.fifo_len == 0 {
            return 0;
        }
        let rd = usize::from(s.regs[usize::from(FIFO_RD_PTR)] & 0x1F);
        let (red, ir) = s.fifo[rd];
        // 18-bit data in bits 17:0; lower pulse widths zero the low bits.
        let shift = 3 - u32::from(s.regs[usize::from(SPO2_CONFIG)] & 0x03);
        let v = |x: u32| (x >> shift) << shift;
        let word = if *byte_in_sample < 3 { v(red) } else { v(ir) };
        let b = match *byte_in_sample % 3 {
            0 => (word >> 16) as u8 & 0x03,
            1 => (word >> 8) as u8,
            _ => word as u8,
        };
        *byte_in_sample += 1;
        if *byte_in_sample == 6 {
            *byte_in_sample = 0;
            s.fifo_len -= 1;
            s.regs[usize::from(FIFO_RD_PTR)] = ((rd + 1) % FIFO_DEPTH) as u8;
            s.regs[usize::from(OVF_COUNTER)] = 0;
        }
        b
    }
}

/// The I²C bus of a [`Max30102`].
pub struct Max30102Bus<'m, 'c>(&'m Max30102<'c>);

impl ErrorType for Max30102Bus<'_, '_> {
    type Error = ErrorKind;
}

impl I2c for Max30102Bus<'_, '_> {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        let m = self.0;
        let mut s = m.s.borrow_mut();
        if address != ADDRESS || !s.present {
            return Err(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address));
        }
        m.catch_up(&mut s);
        let mut pointer = None::<u8>;
        for op in operations.iter_mut() {
            match op {
                Operation::Write(bytes) => {
                    let Some((&reg, data)) = bytes.split_first() else {
                        continue;
                    };
                    let mut r = reg;
                    for &v in data {
                        m.write_reg(&mut s, r, v);
                        r = r.wrapping_add(1);
                    }
                    pointer = Some(r);
                    if data.is_empty() {
                        pointer = Some(reg);
                    }
                }
                Operation::Read(buf) => {
                    let mut r = pointer.unwrap_or(0);
                    let mut byte_in_sample = 0;
                    for b in buf.iter_mut() {
                        *b = m.read_reg(&mut s, r, &mut byte_in_sample);
                        // The pointer auto-increments, except on FIFO_DATA.
                        if r != FIFO_DATA {
                            r = r.wrapping_add(1);
                        }
                    }
                    pointer = Some(r);
                }
            }
        }
        Ok(())
    }
}
