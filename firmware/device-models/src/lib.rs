//! # tcmcare-device-models
//!
//! Register-level models of the kiosk's sensors, behind the same embedded-hal 1.0 traits
//! the real parts sit behind, so the kiosk's real driver code runs against them: on the
//! host in tests, and in QEMU inside the board binary.
//!
//! | model | interface | what it models |
//! |---|---|---|
//! | [`Mlx90614`] | `I2c` | RAM/EEPROM words with SMBus PEC, error flag, NACK, PEC faults |
//! | [`Max30102`] | `I2c` | registers, 32-sample FIFO with pointers and overflow counter, reset, a PPG generated in time |
//! | [`Hx711`] | `InputPin` + `OutputPin` | 10 SPS conversions, 24-bit shift-out, gain pulses, power-down, unplugged |
//! | [`Mfrc522`] | `SpiDevice` | SPI framing, registers, FIFO, Transceive, timer; ISO 14443-3 cards |
//! | [`BleBpMonitor`] | (BLE) | a monitor that indicates 0x2A35 bytes after its cuff time |
//! | [`RamNorFlash`] | `NorFlash` | NOR semantics (erase to 0xFF, writes clear bits), power cut |
//! | [`PushButton`] | `InputPin` | a button with a pull-up, low while pressed (the provisioning button) |
//!
//! Models share state through `RefCell`, so a test (or the board's scripted "world")
//! can change what the sensor sees while a driver holds the bus handle. Time comes
//! from a [`Clock`]. [`scenario`] is the scripted morning the QEMU test plays, [`cohort`]
//! the care-home day of the two kiosks of `make demo`.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ble_bp;
mod button;
pub mod cohort;
mod hx711;
mod max30102;
mod mfrc522;
mod mlx90614;
mod nor_flash;
pub mod scenario;

pub use ble_bp::{BleBpMonitor, BpReading};
pub use button::{ButtonPin, PushButton};
pub use hx711::{Hx711, Hx711Dout, Hx711Sck, COUNTS_PER_GRAM, EMPTY_PLATFORM_COUNTS};
pub use max30102::{Finger, Max30102, Max30102Bus};
pub use mfrc522::{Mfrc522, Mfrc522Bus, MAX_UID_LEN};
pub use mlx90614::{Mlx90614, Mlx90614Bus};
pub use nor_flash::{RamNorFlash, RamNorFlashError, PAGE_SIZE, WORD_SIZE};

/// Microseconds since an arbitrary start, as the models see time.
pub trait Clock {
    /// Now, µs.
    fn now_us(&self) -> u64;
}

/// A clock the test moves by hand (and a `DelayNs` that moves it).
#[derive(Debug, Default)]
pub struct ManualClock {
    now: core::cell::Cell<u64>,
}

impl ManualClock {
    /// A clock at 0.
    pub const fn new() -> Self {
        ManualClock {
            now: core::cell::Cell::new(0),
        }
    }
    /// Moves the clock forward.
    pub fn advance_us(&self, us: u64) {
        self.now.set(self.now.get().saturating_add(us));
    }
}

impl Clock for ManualClock {
    fn now_us(&self) -> u64 {
        self.now.get()
    }
}

/// A delay that advances a [`ManualClock`] instead of waiting.
#[derive(Debug, Clone, Copy)]
pub struct ManualDelay<'a>(pub &'a ManualClock);

impl embedded_hal::delay::DelayNs for ManualDelay<'_> {
    fn delay_ns(&mut self, ns: u32) {
        self.0.advance_us(u64::from(ns).div_ceil(1000));
    }
}

/// SMBus PEC (CRC-8, polynomial x⁸+x²+x+1).
pub(crate) const SMBUS_PEC: crc::Crc<u8> = crc::Crc::<u8>::new(&crc::CRC_8_SMBUS);

/// 32-bit xorshift, for deterministic sensor noise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Noise(u32);

impl Noise {
    pub(crate) const fn new(seed: u32) -> Self {
        Noise(if seed == 0 { 0x9E37_79B9 } else { seed })
    }
    /// Uniform in [-1, 1).
    pub(crate) fn next_f32(&mut self) -> f32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        (x >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    }
}
