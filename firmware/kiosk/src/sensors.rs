//! The kiosk's view of its peripherals: small traits the state machine drives, each
//! failing with a [`Failure`] that names what went wrong. The drivers of [`crate::drivers`]
//! implement them; host tests implement them with scripted fakes.

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{InputPin, OutputPin};
use embedded_hal::i2c::I2c;
use embedded_hal::spi::SpiDevice;

use crate::drivers::bp::{BloodPressureLink, GattError, MAX_BP_MEASUREMENT_LEN};
use crate::drivers::hx711::{Hx711, Hx711Error};
use crate::drivers::mfrc522::{CardUid, Mfrc522, Mfrc522Error};
use crate::drivers::oximeter::{OximeterError, PulseOximeter};
use crate::drivers::scale::{Scale, ScaleError};
use crate::drivers::thermometer::{BodyThermometer, ThermometerError};
use crate::ppg::PpgRejection;

/// Why a measurement step (or a card read) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Failure {
    /// The bus to the sensor failed (no acknowledge, SPI error).
    Bus,
    /// A checksum (SMBus PEC, CRC_A, BCC) did not match: corrupted on the wire.
    Checksum,
    /// The sensor reported a fault, or is not the part expected.
    SensorFault,
    /// No reading arrived in time.
    Timeout,
    /// The oximeter's FIFO overflowed.
    SamplesLost,
    /// The PPG window was of poor quality.
    Ppg(PpgRejection),
    /// The person on the scale is moving.
    Unstable,
    /// Nobody on the scale.
    NoLoad,
    /// The scale is not calibrated.
    NotCalibrated,
    /// The Bluetooth value is not a valid measurement.
    Gatt(GattError),
    /// Two cards in the field.
    Collision,
    /// The card's answer was malformed.
    BadCard,
}

impl Failure {
    /// Whether trying again may help (a corrupted word, a moving person) rather than
    /// not (no finger, nobody on the scale...). Retries are bounded either way.
    pub fn is_transient(&self) -> bool {
        !matches!(self, Failure::NotCalibrated | Failure::SensorFault)
    }
}

/// The card reader.
pub trait CardReader {
    /// A card newly presented, if any.
    fn poll_card(&mut self) -> Result<Option<CardUid>, Failure>;
}

/// The forehead thermometer.
pub trait Thermometer {
    /// Object temperature, 0.01 °C.
    fn read_centi_c(&mut self) -> Result<i16, Failure>;
}

/// The pulse oximeter's raw PPG.
pub trait PpgSource {
    /// Starts a new window (drops samples waiting in the sensor).
    fn restart(&mut self) -> Result<(), Failure>;
    /// Moves waiting samples into `red` / `ir`, returns how many.
    fn read(&mut self, red: &mut [u32], ir: &mut [u32]) -> Result<usize, Failure>;
}

/// The weighing scale.
pub trait WeightScale {
    /// Weight, g.
    fn weigh_g(&mut self) -> Result<u32, Failure>;
}

/// The Bluetooth blood pressure monitor (its raw 0x2A35 value).
pub trait BloodPressureMonitor {
    /// Starts a measurement.
    fn start(&mut self) -> Result<(), Failure>;
    /// The indication bytes once the measurement is done.
    fn poll(&mut self, buf: &mut [u8; MAX_BP_MEASUREMENT_LEN]) -> Result<Option<usize>, Failure>;
}

/// The serial uplink to the terminal.
pub trait UplinkPort {
    /// Sends all of `bytes` (blocking while the transmitter is busy).
    fn write_all(&mut self, bytes: &[u8]);
    /// Moves received bytes into `buf` without waiting; returns how many.
    fn read_available(&mut self, buf: &mut [u8]) -> usize;
}

impl<SPI: SpiDevice> CardReader for Mfrc522<SPI> {
    fn poll_card(&mut self) -> Result<Option<CardUid>, Failure> {
        Mfrc522::poll_card(self).map_err(|e| match e {
            Mfrc522Error::Spi(_) => Failure::Bus,
            Mfrc522Error::UnknownVersion(_) | Mfrc522Error::ResetTimeout => Failure::SensorFault,
            Mfrc522Error::ChipTimeout => Failure::Timeout,
            Mfrc522Error::Collision => Failure::Collision,
            Mfrc522Error::Bcc | Mfrc522Error::Crc => Failure::Checksum,
            Mfrc522Error::Frame(_) | Mfrc522Error::BadAnswer | Mfrc522Error::UidTooLong => {
                Failure::BadCard
            }
        })
    }
}

impl<I2C: I2c> Thermometer for BodyThermometer<I2C> {
    fn read_centi_c(&mut self) -> Result<i16, Failure> {
        self.object_centi_c().map_err(|e| match e {
            ThermometerError::I2c(_) => Failure::Bus,
            ThermometerError::Pec => Failure::Checksum,
            ThermometerError::SensorFault => Failure::SensorFault,
        })
    }
}

fn oximeter_failure<E>(e: OximeterError<E>) -> Failure {
    match e {
        OximeterError::I2c(_) => Failure::Bus,
        OximeterError::WrongPart(_) | OximeterError::Config => Failure::SensorFault,
        OximeterError::SamplesLost(_) => Failure::SamplesLost,
    }
}

impl<I2C: I2c> PpgSource for PulseOximeter<I2C> {
    fn restart(&mut self) -> Result<(), Failure> {
        PulseOximeter::restart(self).map_err(oximeter_failure)
    }
    fn read(&mut self, red: &mut [u32], ir: &mut [u32]) -> Result<usize, Failure> {
        self.read_samples(red, ir).map_err(oximeter_failure)
    }
}

impl<DOUT: InputPin, SCK: OutputPin, D: DelayNs> WeightScale for Scale<Hx711<DOUT, SCK, D>> {
    fn weigh_g(&mut self) -> Result<u32, Failure> {
        Scale::weigh_g(self).map_err(|e| match e {
            ScaleError::Adc(Hx711Error::NotReady) => Failure::Timeout,
            ScaleError::Adc(Hx711Error::Saturated(_)) => Failure::SensorFault,
            ScaleError::Adc(_) => Failure::Bus,
            ScaleError::NotCalibrated | ScaleError::BadSpan(_) => Failure::NotCalibrated,
            ScaleError::Unstable { .. } => Failure::Unstable,
            ScaleError::NoLoad => Failure::NoLoad,
        })
    }
}

/// Any [`BloodPressureLink`] is a [`BloodPressureMonitor`].
impl<L: BloodPressureLink> BloodPressureMonitor for L {
    fn start(&mut self) -> Result<(), Failure> {
        BloodPressureLink::start(self).map_err(|_| Failure::Bus)
    }
    fn poll(&mut self, buf: &mut [u8; MAX_BP_MEASUREMENT_LEN]) -> Result<Option<usize>, Failure> {
        self.poll_indication(buf).map_err(|_| Failure::Bus)
    }
}
