//! HX711 model: conversions at 10 SPS, 24-bit shift-out on PD_SCK, gain pulses,
//! power-down after PD_SCK stays high for more than 60 µs.

use core::cell::RefCell;
use core::convert::Infallible;
use embedded_hal::digital::{ErrorType, InputPin, OutputPin};

use crate::{Clock, Noise};

/// Conversion period at RATE = low (10 SPS), µs.
const CONVERSION_US: u64 = 100_000;
/// Settling after power-up / reset, µs (datasheet: 400 ms at 10 SPS).
const SETTLING_US: u64 = 400_000;
/// PD_SCK high time that powers the chip down, µs.
const POWER_DOWN_US: u64 = 60;
/// Reading of the empty platform, counts.
pub const EMPTY_PLATFORM_COUNTS: i32 = 8_000;
/// Sensitivity of the modelled load cell and gain-128 front end, counts per gram.
pub const COUNTS_PER_GRAM: i32 = 20;

#[derive(Debug)]
struct State {
    sck_high: bool,
    sck_rise_us: u64,
    powered_down: bool,
    /// Conversion result ready from this time on.
    ready_at: u64,
    /// Bits shifted out of the current result (0 = not started).
    pulses: u32,
    code: u32,
    /// Load on the platform, g.
    load_g: u32,
    connected: bool,
    noise: Noise,
    noise_counts: f32,
}

/// An HX711 with a load cell. Take its two pins with [`Hx711::pins`].
pub struct Hx711<'c> {
    s: RefCell<State>,
    clock: &'c dyn Clock,
}

impl<'c> Hx711<'c> {
    /// A powered chip with an empty platform.
    pub fn new(clock: &'c dyn Clock) -> Self {
        Hx711 {
            s: RefCell::new(State {
                sck_high: false,
                sck_rise_us: 0,
                powered_down: false,
                ready_at: clock.now_us() + SETTLING_US,
                pulses: 0,
                code: 0,
                load_g: 0,
                connected: true,
                noise: Noise::new(0x0711),
                noise_counts: 2.0,
            }),
            clock,
        }
    }

    /// Puts a load on the platform (0 = empty).
    pub fn set_load_g(&self, grams: u32) {
        self.s.borrow_mut().load_g = grams;
    }

    /// Plugs or unplugs the scale (unplugged: DOUT floats high, no conversion).
    pub fn set_connected(&self, connected: bool) {
        self.s.borrow_mut().connected = connected;
    }

    /// Sets the noise amplitude, counts (uniform ±).
    pub fn set_noise_counts(&self, counts: f32) {
        self.s.borrow_mut().noise_counts = counts;
    }

    /// The two pins: DOUT (input to the MCU) and PD_SCK (output of the MCU).
    pub fn pins(&self) -> (Hx711Dout<'_, 'c>, Hx711Sck<'_, 'c>) {
        (Hx711Dout(self), Hx711Sck(self))
    }

    fn check_power_down(&self, s: &mut State, now: u64) {
        if s.sck_high && now.saturating_sub(s.sck_rise_us) > POWER_DOWN_US {
            s.powered_down = true;
            s.pulses = 0;
        }
    }

    fn sample_code(s: &mut State) -> u32 {
        let n = s.noise.next_f32() * s.noise_counts;
        let v = EMPTY_PLATFORM_COUNTS as f32 + s.load_g as f32 * COUNTS_PER_GRAM as f32 + n;
        let v = libm::roundf(v).clamp(-8_388_608.0, 8_388_607.0) as i32;
        (v as u32) & 0x00FF_FFFF
    }

    fn dout(&self) -> bool {
        let now = self.clock.now_us();
        let mut s = self.s.borrow_mut();
        self.check_power_down(&mut s, now);
        if !s.connected || s.powered_down {
            return true;
        }
        match s.pulses {
            0 => now < s.ready_at,
            1..=24 => (s.code >> (24 - s.pulses)) & 1 == 1,
            _ => true,
        }
    }

    fn set_sck(&self, high: bool) {
        let now = self.clock.now_us();
        let mut s = self.s.borrow_mut();
        self.check_power_down(&mut s, now);
        if high == s.sck_high {
            return;
        }
        s.sck_high = high;
        if high {
            s.sck_rise_us = now;
            if s.powered_down || !s.connected {
                return;
            }
            if s.pulses == 0 {
                if now < s.ready_at {
                    return; // clocking while busy: ignored
                }
                s.code = Self::sample_code(&mut s);
            }
            s.pulses += 1;
        } else if s.powered_down {
            // PD_SCK low again: reset and power up.
            s.powered_down = false;
            s.pulses = 0;
            s.ready_at = now + SETTLING_US;
        } else if s.pulses >= 25 {
            // 25..27 pulses: the result is out, the next conversion starts.
            s.pulses = 0;
            s.ready_at = now + CONVERSION_US;
        }
    }
}

/// DOUT of an [`Hx711`].
pub struct Hx711Dout<'m, 'c>(&'m Hx711<'c>);
/// PD_SCK of an [`Hx711`].
pub struct Hx711Sck<'m, 'c>(&'m Hx711<'c>);

impl ErrorType for Hx711Dout<'_, '_> {
    type Error = Infallible;
}
impl ErrorType for Hx711Sck<'_, '_> {
    type Error = Infallible;
}

impl InputPin for Hx711Dout<'_, '_> {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(self.0.dout())
    }
    fn is_low(&mut self) -> Result<bool, Infallible> {
        Ok(!self.0.dout())
    }
}

impl OutputPin for Hx711Sck<'_, '_> {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.0.set_sck(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.0.set_sck(true);
        Ok(())
    }
}
