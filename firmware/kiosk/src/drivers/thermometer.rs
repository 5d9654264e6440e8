//! MLX90614 infrared thermometer (SMBus), through the maintained `mlx9061x` driver.
//!
//! `mlx9061x` already speaks embedded-hal 1.0 and checks the SMBus Packet Error Code
//! (CRC-8, x⁸+x²+x+1, over address, command, repeated address and data) of every read.
//! This adapter adds what a body-temperature kiosk needs on top: the object temperature
//! in the project's unit (0.01 °C, exact for the sensor's 0.02 K resolution), and the
//! MLX90614 error flag (bit 15 of the linearised temperature registers, datasheet
//! §8.3.3: "the MSB is an error flag") turned into an error instead of a number.

use mlx9061x::{ic::Mlx90614, Error as MlxError, Mlx9061x, SlaveAddr};

use embedded_hal::i2c::I2c;

/// Factory SMBus address of the MLX90614 (datasheet §8.4.2).
pub const MLX90614_ADDRESS: u8 = 0x5A;

/// EEPROM write delay handed to `mlx9061x` (datasheet: erase/write cycle 5 ms). The
/// kiosk never writes the EEPROM; the value only matters for address changes.
const EEPROM_WRITE_DELAY_MS: u8 = 5;

/// Highest object temperature the sensor reports, °C: raw 0x7FFF × 0.02 K − 273.15 =
/// 382.19 °C. A register with the error flag (bit 15) set reads 382.21 °C or more.
const MAX_REPORTED_C: f32 = 382.2;

/// Lowest object temperature the sensor is specified for, °C (datasheet: −70 °C).
const MIN_SPECIFIED_C: f32 = -70.0;

/// Errors of [`BodyThermometer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ThermometerError<E> {
    /// The I²C bus failed (no acknowledge, arbitration loss...).
    I2c(E),
    /// The Packet Error Code did not match: the word was corrupted on the bus.
    Pec,
    /// The sensor set its error flag or reported a value outside its range.
    SensorFault,
}

impl<E> From<MlxError<E>> for ThermometerError<E> {
    fn from(e: MlxError<E>) -> Self {
        match e {
            MlxError::I2C(e) => ThermometerError::I2c(e),
            MlxError::ChecksumMismatch => ThermometerError::Pec,
            MlxError::InvalidInputData => ThermometerError::SensorFault,
        }
    }
}

/// A forehead thermometer on an MLX90614.
pub struct BodyThermometer<I2C> {
    dev: Mlx9061x<I2C, Mlx90614>,
}

impl<I2C: I2c> BodyThermometer<I2C> {
    /// Wraps the sensor at its factory address. No bus traffic.
    pub fn new(i2c: I2C) -> Result<Self, ThermometerError<I2C::Error>> {
        let dev = Mlx9061x::new_mlx90614(i2c, SlaveAddr::Default, EEPROM_WRITE_DELAY_MS)?;
        Ok(BodyThermometer { dev })
    }

    /// Reads the object temperature (RAM register 0x07, Tobj1) in 0.01 °C.
    pub fn object_centi_c(&mut self) -> Result<i16, ThermometerError<I2C::Error>> {
        let c = self.dev.object1_temperature()?;
        if !(MIN_SPECIFIED_C..MAX_REPORTED_C).contains(&c) {
            return Err(ThermometerError::SensorFault);
        }
        // |c| ≤ 382.2 so c × 100 fits an i16; the f32 error (< 1e-4 K) is far below
        // the 0.005 K rounding threshold, so the result is exactly raw × 2 − 27315.
        Ok(libm::roundf(c * 100.0) as i16)
    }

    /// Gives the bus back.
    pub fn destroy(self) -> I2C {
        self.dev.destroy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal::i2c::ErrorKind;
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction};

    /// SMBus PEC: CRC-8 with polynomial x⁸+x²+x+1 (0x07), init 0 (SMBus 2.0 §5.4.1.2),
    /// written here independently of the driver.
    fn pec(bytes: &[u8]) -> u8 {
        let mut c = 0u8;
        for &b in bytes {
            c ^= b;
            for _ in 0..8 {
                c = if c & 0x80 != 0 {
                    (c << 1) ^ 0x07
                } else {
                    c << 1
                };
            }
        }
        c
    }

    fn read_tobj1(lsb: u8, msb: u8, pec: u8) -> Transaction {
        Transaction::write_read(MLX90614_ADDRESS, vec![0x07], vec![lsb, msb, pec])
    }

    #[test]
    fn datasheet_read_word_example() {
        // MLX90614 datasheet, SMBus read word example: SA 0x5A, command 0x07 (Tobj1),
        // data 0x3AD2, PEC 0x30 (over B4 07 B5 D2 3A). 0x3AD2 = 15058 × 0.02 K =
        // 301.16 K = 28.01 °C.
        assert_eq!(pec(&[0xB4, 0x07, 0xB5, 0xD2, 0x3A]), 0x30);
        let mut i2c = Mock::new(&[read_tobj1(0xD2, 0x3A, 0x30)]);
        let mut t = BodyThermometer::new(i2c.clone()).unwrap();
        assert_eq!(t.object_centi_c(), Ok(2801));
        i2c.done();
    }

    #[test]
    fn body_temperature_is_exact_in_hundredths() {
        // 36.6 °C = 309.75 K = raw 15487.5: not representable; 36.61 °C = raw 15488
        // (15488 × 2 − 27315 = 3661).
        let raw: u16 = 15488;
        let [lsb, msb] = raw.to_le_bytes();
        let p = pec(&[0xB4, 0x07, 0xB5, lsb, msb]);
        let mut i2c = Mock::new(&[read_tobj1(lsb, msb, p)]);
        let mut t = BodyThermometer::new(i2c.clone()).unwrap();
        assert_eq!(t.object_centi_c(), Ok(3661));
        i2c.done();
    }

    #[test]
    fn corrupted_word_fails_pec() {
        // The datasheet word with one flipped data bit keeps the old PEC.
        let mut i2c = Mock::new(&[read_tobj1(0xD3, 0x3A, 0x30)]);
        let mut t = BodyThermometer::new(i2c.clone()).unwrap();
        assert_eq!(t.object_centi_c(), Err(ThermometerError::Pec));
        i2c.done();
    }

    #[test]
    fn error_flag_is_a_fault_not_a_temperature() {
        // Bit 15 set (datasheet §8.3.3), PEC correct.
        let (lsb, msb) = (0x00, 0x80);
        let p = pec(&[0xB4, 0x07, 0xB5, lsb, msb]);
        let mut i2c = Mock::new(&[read_tobj1(lsb, msb, p)]);
        let mut t = BodyThermometer::new(i2c.clone()).unwrap();
        assert_eq!(t.object_centi_c(), Err(ThermometerError::SensorFault));
        i2c.done();
    }

    #[test]
    fn bus_errors_pass_through() {
        let nack = ErrorKind::NoAcknowledge(embedded_hal::i2c::NoAcknowledgeSource::Address);
        let mut i2c = Mock::new(&[read_tobj1(0, 0, 0).with_error(nack)]);
        let mut t = BodyThermometer::new(i2c.clone()).unwrap();
        assert_eq!(t.object_centi_c(), Err(ThermometerError::I2c(nack)));
        i2c.done();
    }
}
