//! MLX90614 model: SMBus read/write word with PEC.

use core::cell::RefCell;
use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, NoAcknowledgeSource, Operation};

use crate::SMBUS_PEC;

/// Factory SMBus address.
const ADDRESS: u8 = 0x5A;
/// RAM addresses (datasheet §8.3.3).
const RAM_TA: u8 = 0x06;
const RAM_TOBJ1: u8 = 0x07;
const RAM_TOBJ2: u8 = 0x08;
/// EEPROM access: command 0x20 | address.
const EEPROM: u8 = 0x20;
const EEPROM_LEN: usize = 0x20;
/// Sleep command.
const SLEEP: u8 = 0xFF;

#[derive(Debug)]
struct State {
    tobj1: u16,
    ta: u16,
    eeprom: [u16; EEPROM_LEN],
    present: bool,
    asleep: bool,
    corrupt_pec: u32,
    reads: u32,
}

/// An MLX90614 on its own SMBus.
#[derive(Debug)]
pub struct Mlx90614 {
    s: RefCell<State>,
}

impl Default for Mlx90614 {
    fn default() -> Self {
        Self::new()
    }
}

impl Mlx90614 {
    /// A sensor looking at a 25 °C wall in a 25 °C room.
    pub fn new() -> Self {
        let mut eeprom = [0u16; EEPROM_LEN];
        eeprom[0x04] = 0xFFFF; // emissivity 1.0
        eeprom[0x0E] = u16::from(ADDRESS); // SMBus address
        Mlx90614 {
            s: RefCell::new(State {
                tobj1: Self::raw_of_centi_c(2500),
                ta: Self::raw_of_centi_c(2500),
                eeprom,
                present: true,
                asleep: false,
                corrupt_pec: 0,
                reads: 0,
            }),
        }
    }

    /// The register value (0.02 K units) of a temperature in 0.01 °C, rounded down:
    /// `raw = (centi + 27315) / 2`.
    pub const fn raw_of_centi_c(centi: i32) -> u16 {
        ((centi + 27_315) / 2) as u16
    }

    /// Sets what the sensor sees (Tobj1), as the raw register value (bit 15 = error
    /// flag).
    pub fn set_object_raw(&self, raw: u16) {
        self.s.borrow_mut().tobj1 = raw;
    }

    /// Corrupts the PEC of the next `n` reads.
    pub fn corrupt_next_pec(&self, n: u32) {
        self.s.borrow_mut().corrupt_pec = n;
    }

    /// Connects or disconnects the sensor (a missing sensor NACKs its address).
    pub fn set_present(&self, present: bool) {
        self.s.borrow_mut().present = present;
    }

    /// Word reads served so far.
    pub fn reads(&self) -> u32 {
        self.s.borrow().reads
    }

    /// The bus handle a driver owns.
    pub fn bus(&self) -> Mlx90614Bus<'_> {
        Mlx90614Bus(self)
    }
}

/// The I²C bus of an [`Mlx90614`].
#[derive(Debug, Clone, Copy)]
pub struct Mlx90614Bus<'a>(&'a Mlx90614);

impl ErrorType for Mlx90614Bus<'_> {
    type Error = ErrorKind;
}

impl I2c for Mlx90614Bus<'_> {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        let mut s = self.0.s.borrow_mut();
        if address != ADDRESS || !s.present || s.asleep {
            return Err(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address));
        }
        let mut command = None;
        for op in operations.iter_mut() {
            match op {
                Operation::Write(bytes) => match bytes {
                    [c] => command = Some(*c),
                    [SLEEP, pec] => {
                        if SMBUS_PEC.checksum(&[ADDRESS << 1, SLEEP]) == *pec {
                            s.asleep = true;
                        }
                    }
                    [c, lo, hi, pec] if *c & 0xE0 == EEPROM => {
                        let ok = SMBUS_PEC.checksum(&[ADDRESS << 1, *c, *lo, *hi]) == *pec;
                        if ok {
                            let a = usize::from(*c & 0x1F);
                            s.eeprom[a] = u16::from_le_bytes([*lo, *hi]);
                        }
                    }
                    _ => return Err(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Data)),
                },
                Operation::Read(buf) => {
                    let c = command.ok_or(ErrorKind::Other)?;
                    let word = match c {
                        RAM_TA => s.ta,
                        RAM_TOBJ1 | RAM_TOBJ2 => s.tobj1,
                        c if c & 0xE0 == EEPROM => s.eeprom[usize::from(c & 0x1F)],
                        c if c < EEPROM => 0,
                        _ => return Err(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Data)),
                    };
                    let [lo, hi] = word.to_le_bytes();
                    let mut pec =
                        SMBUS_PEC.checksum(&[ADDRESS << 1, c, (ADDRESS << 1) | 1, lo, hi]);
                    if s.corrupt_pec > 0 {
                        s.corrupt_pec -= 1;
                        pec ^= 0x01;
                    }
                    s.reads += 1;
                    for (dst, src) in buf.iter_mut().zip([lo, hi, pec]) {
                        *dst = src;
                    }
                }
            }
        }
        Ok(())
    }
}
