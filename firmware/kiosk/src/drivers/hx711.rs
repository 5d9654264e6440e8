//! HX711 24-bit load-cell ADC (two-wire PD_SCK / DOUT), written for this project.
//!
//! Why not the `hx711` crate: its constructor and `enable` wait for DOUT with
//! `nb::block!`, so an unplugged scale hangs the kiosk forever. Here every wait for a
//! conversion has a bound, and saturated readings are errors, not weights.
//!
//! Protocol (HX711 datasheet, "Serial Interface"): DOUT high means no conversion is ready;
//! when it goes low, 24 PD_SCK pulses shift the result out MSB first (two's complement,
//! data valid ≤ 0.1 µs after each rising edge); 1, 2 or 3 more pulses select the input and
//! gain of the *next* conversion (25: channel A gain 128, 26: channel B gain 32, 27:
//! channel A gain 64). PD_SCK high for more than 60 µs powers the chip down, so each pulse
//! is kept short (the board runs the read with interrupts masked). Out-of-range inputs
//! saturate at 0x7FFFFF / 0x800000.

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{InputPin, OutputPin};

/// Output code of a positive overload (datasheet: "output 7FFFFFh").
pub const CODE_MAX: i32 = 0x7F_FFFF;
/// Output code of a negative overload (datasheet: 800000h, as a signed value).
pub const CODE_MIN: i32 = -0x80_0000;
/// Bits of one conversion.
const DATA_BITS: u32 = 24;
/// PD_SCK high and low time used, µs (datasheet T3/T4: 0.2 µs min, 50 µs max high).
const PULSE_US: u32 = 1;
/// Interval between two looks at DOUT while waiting for a conversion, µs.
pub const POLL_INTERVAL_US: u32 = 500;
/// PD_SCK high time that powers the chip down, µs (datasheet: > 60 µs).
pub const POWER_DOWN_US: u32 = 60;

/// Input and gain of the next conversion, by the number of PD_SCK pulses per read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Gain {
    /// Channel A, gain 128 (25 pulses): the load-cell input.
    A128,
    /// Channel B, gain 32 (26 pulses).
    B32,
    /// Channel A, gain 64 (27 pulses).
    A64,
}

impl Gain {
    /// PD_SCK pulses of one read, including the 24 data pulses.
    pub const fn pulses(self) -> u32 {
        match self {
            Gain::A128 => 25,
            Gain::B32 => 26,
            Gain::A64 => 27,
        }
    }
}

/// Errors of [`Hx711`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Hx711Error<EI, EO> {
    /// Reading DOUT failed.
    Input(EI),
    /// Driving PD_SCK failed.
    Output(EO),
    /// No conversion within the timeout: the ADC is unpowered, unplugged or powered down.
    NotReady,
    /// The input is out of range (the ADC returned a saturation code).
    Saturated(i32),
}

/// An HX711 on two GPIOs.
#[derive(Debug)]
pub struct Hx711<DOUT, SCK, D> {
    dout: DOUT,
    sck: SCK,
    delay: D,
    gain: Gain,
}

type Res<T, DOUT, SCK> = Result<
    T,
    Hx711Error<
        <DOUT as embedded_hal::digital::ErrorType>::Error,
        <SCK as embedded_hal::digital::ErrorType>::Error,
    >,
>;

impl<DOUT: InputPin, SCK: OutputPin, D: DelayNs> Hx711<DOUT, SCK, D> {
    /// Takes the pins and drives PD_SCK low (chip on). The gain applies from the
    /// conversion after the first read (the chip powers up on channel A, gain 128).
    pub fn new(dout: DOUT, mut sck: SCK, delay: D, gain: Gain) -> Res<Self, DOUT, SCK> {
        sck.set_low().map_err(Hx711Error::Output)?;
        Ok(Hx711 {
            dout,
            sck,
            delay,
            gain,
        })
    }

    /// Whether a conversion is ready (DOUT low).
    pub fn is_ready(&mut self) -> Res<bool, DOUT, SCK> {
        self.dout.is_low().map_err(Hx711Error::Input)
    }

    /// Waits up to `timeout_us` for a conversion and reads it.
    pub fn read_raw(&mut self, timeout_us: u32) -> Res<i32, DOUT, SCK> {
        let mut waited = 0u32;
        while !self.is_ready()? {
            if waited >= timeout_us {
                return Err(Hx711Error::NotReady);
            }
            self.delay.delay_us(POLL_INTERVAL_US);
            waited = waited.saturating_add(POLL_INTERVAL_US);
        }
        let mut code: u32 = 0;
        for pulse in 0..self.gain.pulses() {
            self.sck.set_high().map_err(Hx711Error::Output)?;
            self.delay.delay_us(PULSE_US);
            if pulse < DATA_BITS {
                let bit = self.dout.is_high().map_err(Hx711Error::Input)?;
                code = (code << 1) | u32::from(bit);
            }
            self.sck.set_low().map_err(Hx711Error::Output)?;
            self.delay.delay_us(PULSE_US);
        }
        // Sign-extend the 24-bit two's complement code.
        let value = ((code << 8) as i32) >> 8;
        if value == CODE_MAX || value == CODE_MIN {
            return Err(Hx711Error::Saturated(value));
        }
        Ok(value)
    }

    /// Powers the chip down (PD_SCK high for more than 60 µs).
    pub fn power_down(&mut self) -> Res<(), DOUT, SCK> {
        self.sck.set_high().map_err(Hx711Error::Output)?;
        self.delay.delay_us(POWER_DOWN_US + 10);
        Ok(())
    }

    /// Powers the chip up (PD_SCK low); it restarts on channel A, gain 128.
    pub fn power_up(&mut self) -> Res<(), DOUT, SCK> {
        self.sck.set_low().map_err(Hx711Error::Output)
    }

    /// Gives the pins and the delay back.
    pub fn destroy(self) -> (DOUT, SCK, D) {
        (self.dout, self.sck, self.delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::delay::NoopDelay;
    use embedded_hal_mock::eh1::digital::{Mock as Pin, State, Transaction as T};

    /// The pin traffic of one read of `code` (24-bit) with `gain`, after `not_ready`
    /// polls that saw DOUT high: per the datasheet timing diagram, each PD_SCK pulse
    /// is high, sample DOUT, low; pulses 25..27 only select the next gain.
    fn read_traffic(code: u32, gain: Gain, not_ready: usize) -> (Vec<T>, Vec<T>) {
        let mut dout = vec![T::get(State::High); not_ready];
        dout.push(T::get(State::Low));
        let mut sck = Vec::new();
        for pulse in 0..gain.pulses() {
            sck.push(T::set(State::High));
            if pulse < 24 {
                let bit = (code >> (23 - pulse)) & 1 == 1;
                dout.push(T::get(if bit { State::High } else { State::Low }));
            }
            sck.push(T::set(State::Low));
        }
        (dout, sck)
    }

    fn run(code: u32, gain: Gain, not_ready: usize, timeout_us: u32) -> Result<i32, ()> {
        let (d, mut s) = read_traffic(code, gain, not_ready);
        s.insert(0, T::set(State::Low)); // new(): PD_SCK low
        let (mut dout, mut sck) = (Pin::new(&d), Pin::new(&s));
        let mut adc = Hx711::new(dout.clone(), sck.clone(), NoopDelay, gain).unwrap();
        let r = adc.read_raw(timeout_us).map_err(|_| ());
        dout.done();
        sck.done();
        r
    }

    #[test]
    fn positive_and_negative_codes() {
        // 0x000064 = +100; 0xFFFF9C = −100 (24-bit two's complement).
        assert_eq!(run(0x00_0064, Gain::A128, 0, 1000), Ok(100));
        assert_eq!(run(0xFF_FF9C, Gain::A128, 0, 1000), Ok(-100));
        // Largest non-saturated codes: 0x7FFFFE, 0x800001.
        assert_eq!(run(0x7F_FFFE, Gain::A64, 0, 1000), Ok(0x7F_FFFE));
        assert_eq!(run(0x80_0001, Gain::B32, 0, 1000), Ok(-0x7F_FFFF));
    }

    #[test]
    fn saturation_codes_are_errors() {
        // Datasheet: out-of-range input gives 7FFFFFh / 800000h.
        assert_eq!(run(0x7F_FFFF, Gain::A128, 0, 1000), Err(()));
        assert_eq!(run(0x80_0000, Gain::A128, 0, 1000), Err(()));
    }

    #[test]
    fn waits_for_dout_low_within_the_timeout() {
        // Two polls at 500 µs see DOUT high, the third sees a conversion.
        assert_eq!(run(0x00_0001, Gain::A128, 2, 1000), Ok(1));
    }

    #[test]
    fn times_out_instead_of_blocking() {
        // DOUT stays high: polls at 0, 500, 1000 µs, then NotReady, no clock pulse.
        let d = vec![T::get(State::High); 3];
        let s = vec![T::set(State::Low)];
        let (mut dout, mut sck) = (Pin::new(&d), Pin::new(&s));
        let mut adc = Hx711::new(dout.clone(), sck.clone(), NoopDelay, Gain::A128).unwrap();
        assert_eq!(adc.read_raw(1000), Err(Hx711Error::NotReady));
        dout.done();
        sck.done();
    }
}
