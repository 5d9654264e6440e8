//! MAX30102 pulse oximeter (I²C), through the maintained `max3010x` driver.
//!
//! `max3010x` speaks embedded-hal 1.0 and reads the FIFO; this adapter fixes the
//! configuration the SpO2 estimator ([`crate::ppg`]) is calibrated for and adds what the
//! driver leaves to its user: a presence check on the part id, and detection of samples
//! lost to a FIFO overflow (a window with a gap is not a valid PPG window).
//!
//! Configuration (MAX30102 datasheet, register map): SpO2 mode (red + IR), 100 samples/s,
//! no sample averaging, 411 µs LED pulses (18-bit ADC), 16384 nA full scale, both LEDs at
//! 7.2 mA (0x24 × 0.2 mA), FIFO rollover off so a full FIFO counts overflows instead of
//! silently overwriting.

use embedded_hal::i2c::I2c;
use max3010x::{
    marker::{ic::Max30102, mode::Oximeter},
    AdcRange, Error as MaxError, Led, LedPulseWidth, Max3010x, SampleAveraging, SamplingRate,
};

/// 7-bit I²C address of the MAX30102 (datasheet: write 0xAE, read 0xAF).
pub const MAX30102_ADDRESS: u8 = 0x57;
/// Content of the PART_ID register (0xFF) of a MAX30102.
pub const MAX30102_PART_ID: u8 = 0x15;
/// Samples per second per channel, as configured.
pub const SAMPLE_RATE_HZ: u32 = 100;
/// LED drive, register units of 0.2 mA: 0x24 = 7.2 mA.
pub const LED_AMPLITUDE: u8 = 0x24;
/// Depth of the MAX30102 sample FIFO.
pub const FIFO_DEPTH: usize = 32;

/// Errors of [`PulseOximeter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OximeterError<E> {
    /// The I²C bus failed.
    I2c(E),
    /// PART_ID is not the MAX30102's (another chip, or nothing, answered).
    WrongPart(u8),
    /// The FIFO overflowed: this many samples were lost, the window has a gap.
    SamplesLost(u8),
    /// The driver refused the configuration (a bug here).
    Config,
}

impl<E> From<MaxError<E>> for OximeterError<E> {
    fn from(e: MaxError<E>) -> Self {
        match e {
            MaxError::I2C(e) => OximeterError::I2c(e),
            MaxError::InvalidArguments => OximeterError::Config,
        }
    }
}

/// A MAX30102 configured for SpO2.
pub struct PulseOximeter<I2C> {
    dev: Max3010x<I2C, Max30102, Oximeter>,
}

impl<I2C: I2c> PulseOximeter<I2C> {
    /// Resets and configures the sensor. On error the bus is dropped with the driver
    /// (`max3010x` consumes it on a mode change); the kiosk then runs without SpO2.
    pub fn new(i2c: I2C) -> Result<Self, OximeterError<I2C::Error>> {
        let mut dev = Max3010x::new_max30102(i2c);
        dev.reset()?;
        let part = dev.get_part_id()?;
        if part != MAX30102_PART_ID {
            return Err(OximeterError::WrongPart(part));
        }
        let mut dev = dev.into_oximeter()?;
        dev.set_sample_averaging(SampleAveraging::Sa1)?;
        dev.set_sampling_rate(SamplingRate::Sps100)?;
        dev.set_pulse_width(LedPulseWidth::Pw411)?;
        dev.set_adc_range(AdcRange::Fs16k)?;
        dev.set_pulse_amplitude(Led::All, LED_AMPLITUDE)?;
        Ok(PulseOximeter { dev })
    }

    /// Empties the FIFO and its overflow counter: the next samples start a new window.
    pub fn restart(&mut self) -> Result<(), OximeterError<I2C::Error>> {
        Ok(self.dev.clear_fifo()?)
    }

    /// Moves the samples waiting in the FIFO into `red[..]` / `ir[..]` (as many as fit
    /// both) and returns how many were moved. Fails with
    /// [`OximeterError::SamplesLost`] if the FIFO overflowed since the last call.
    pub fn read_samples(
        &mut self,
        red: &mut [u32],
        ir: &mut [u32],
    ) -> Result<usize, OximeterError<I2C::Error>> {
        // OVF_COUNTER resets when a sample is popped: read it first.
        let lost = self.dev.get_overflow_sample_count()?;
        if lost != 0 {
            return Err(OximeterError::SamplesLost(lost));
        }
        let room = red.len().min(ir.len()).min(FIFO_DEPTH);
        let mut raw = [0u32; 2 * FIFO_DEPTH];
        let n = usize::from(self.dev.read_fifo(&mut raw[..2 * room])?).min(room);
        // SpO2 mode FIFO order (datasheet, FIFO data): LED1 (red) then LED2 (IR).
        for (i, pair) in raw.chunks_exact(2).take(n).enumerate() {
            red[i] = pair[0];
            ir[i] = pair[1];
        }
        Ok(n)
    }

    /// Gives the bus back.
    pub fn destroy(self) -> I2C {
        self.dev.destroy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction as T};

    const A: u8 = MAX30102_ADDRESS;

    /// The register writes of the configuration, from the MAX30102 register map:
    /// MODE (0x09) RESET bit 6; PART_ID (0xFF); MODE = 0b011 SpO2; FIFO_WR_PTR,
    /// OVF_COUNTER, FIFO_RD_PTR (0x04..0x06) cleared; FIFO_CONFIG (0x08) SMP_AVE = 000;
    /// SPO2_CONFIG (0x0A): SR[4:2] = 001 (100 sps) -> 0x04, LED_PW[1:0] = 11 (411 µs)
    /// -> 0x07, ADC_RGE[6:5] = 11 (16384 nA) -> 0x67; LED1_PA, LED2_PA (0x0C, 0x0D) =
    /// 0x24.
    fn init_transactions(part: u8) -> Vec<T> {
        let mut t = vec![
            T::write(A, vec![0x09, 0x40]),
            T::write_read(A, vec![0xFF], vec![part]),
        ];
        if part == MAX30102_PART_ID {
            t.extend([
                T::write(A, vec![0x09, 0x03]),
                T::write(A, vec![0x04, 0x00, 0x00, 0x00]),
                T::write(A, vec![0x08, 0x00]),
                T::write(A, vec![0x0A, 0x04]),
                T::write(A, vec![0x0A, 0x07]),
                T::write(A, vec![0x0A, 0x67]),
                T::write(A, vec![0x0C, 0x24, 0x24]),
            ]);
        }
        t
    }

    /// One FIFO sample as the datasheet lays it out: 3 bytes per LED, MSB first,
    /// 18-bit value right-aligned in bits 17:0 at 411 µs pulse width.
    fn sample_bytes(red: u32, ir: u32) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [red, ir] {
            v.extend([(x >> 16) as u8 & 0x03, (x >> 8) as u8, x as u8]);
        }
        v
    }

    #[test]
    fn configuration_follows_the_register_map() {
        let mut i2c = Mock::new(&init_transactions(MAX30102_PART_ID));
        let ox = PulseOximeter::new(i2c.clone()).unwrap();
        drop(ox);
        i2c.done();
    }

    #[test]
    fn another_part_is_refused() {
        let mut i2c = Mock::new(&init_transactions(0x11));
        assert!(matches!(
            PulseOximeter::new(i2c.clone()),
            Err(OximeterError::WrongPart(0x11))
        ));
        i2c.done();
    }

    #[test]
    fn fifo_samples_are_split_into_red_and_ir() {
        let mut t = init_transactions(MAX30102_PART_ID);
        let mut data = sample_bytes(0x2_1234, 0x3_0001);
        data.extend(sample_bytes(100_000, 120_000));
        t.extend([
            // OVF_COUNTER (0x05) = 0.
            T::write_read(A, vec![0x05], vec![0x00]),
            // FIFO_WR_PTR = 2, OVF = 0, FIFO_RD_PTR = 0: two samples waiting.
            T::write_read(A, vec![0x04], vec![0x02, 0x00, 0x00]),
            // FIFO_DATA (0x07) burst: 2 samples × 2 LEDs × 3 bytes.
            T::write_read(A, vec![0x07], data),
        ]);
        let mut i2c = Mock::new(&t);
        let mut ox = PulseOximeter::new(i2c.clone()).unwrap();
        let (mut red, mut ir) = ([0u32; 4], [0u32; 4]);
        assert_eq!(ox.read_samples(&mut red, &mut ir), Ok(2));
        assert_eq!(&red[..2], &[0x2_1234, 100_000]);
        assert_eq!(&ir[..2], &[0x3_0001, 120_000]);
        drop(ox);
        i2c.done();
    }

    #[test]
    fn wrapped_fifo_pointers_count_samples() {
        // WR_PTR 1, RD_PTR 31: the write pointer wrapped, 32 − 31 + 1 = 2 samples.
        let mut t = init_transactions(MAX30102_PART_ID);
        let mut data = sample_bytes(1, 2);
        data.extend(sample_bytes(3, 4));
        t.extend([
            T::write_read(A, vec![0x05], vec![0x00]),
            T::write_read(A, vec![0x04], vec![0x01, 0x00, 0x1F]),
            T::write_read(A, vec![0x07], data),
        ]);
        let mut i2c = Mock::new(&t);
        let mut ox = PulseOximeter::new(i2c.clone()).unwrap();
        let (mut red, mut ir) = ([0u32; 8], [0u32; 8]);
        assert_eq!(ox.read_samples(&mut red, &mut ir), Ok(2));
        assert_eq!((red[1], ir[1]), (3, 4));
        drop(ox);
        i2c.done();
    }

    #[test]
    fn overflow_is_reported_as_lost_samples() {
        let mut t = init_transactions(MAX30102_PART_ID);
        t.push(T::write_read(A, vec![0x05], vec![0x03]));
        let mut i2c = Mock::new(&t);
        let mut ox = PulseOximeter::new(i2c.clone()).unwrap();
        let (mut red, mut ir) = ([0u32; 4], [0u32; 4]);
        assert_eq!(
            ox.read_samples(&mut red, &mut ir),
            Err(OximeterError::SamplesLost(3))
        );
        drop(ox);
        i2c.done();
    }
}
