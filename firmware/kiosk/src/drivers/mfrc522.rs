//! MFRC522 contactless card reader (SPI), written for this project.
//!
//! Why not the `mfrc522` crate (0.8, embedded-hal 1.0): its soft reset and transceive
//! wait on the chip without a bound, and a card answering with a fourth cascade level
//! reaches an `unreachable!()`; a kiosk must survive any card held to it. This driver
//! reads only what identification needs (REQA, anticollision and select on cascade
//! levels 1..3, HLTA) and bounds every wait.
//!
//! Sources: NXP MFRC522 datasheet (register map §9, SPI framing §8.1.2, commands §10)
//! and ISO/IEC 14443-3 (type A initialisation and anticollision, CRC_A).

use embedded_hal::spi::SpiDevice;

/// Register addresses (datasheet §9.2).
pub mod reg {
    /// Starts and stops command execution.
    pub const COMMAND: u8 = 0x01;
    /// Interrupt request bits.
    pub const COM_IRQ: u8 = 0x04;
    /// Error bits of the last command.
    pub const ERROR: u8 = 0x06;
    /// 64-byte FIFO input and output.
    pub const FIFO_DATA: u8 = 0x09;
    /// Bytes stored in the FIFO; bit 7 flushes it.
    pub const FIFO_LEVEL: u8 = 0x0A;
    /// Miscellaneous control; bits 2:0 valid bits of the last received byte.
    pub const CONTROL: u8 = 0x0C;
    /// Bit-oriented frame adjustments; bit 7 StartSend.
    pub const BIT_FRAMING: u8 = 0x0D;
    /// Transmit/receive mode (CRC preset).
    pub const MODE: u8 = 0x11;
    /// Antenna driver pins TX1/TX2.
    pub const TX_CONTROL: u8 = 0x14;
    /// Transmit modulation (100 % ASK).
    pub const TX_ASK: u8 = 0x15;
    /// Timer settings.
    pub const T_MODE: u8 = 0x2A;
    /// Timer prescaler, low 8 bits.
    pub const T_PRESCALER: u8 = 0x2B;
    /// Timer reload value, high byte.
    pub const T_RELOAD_H: u8 = 0x2C;
    /// Timer reload value, low byte.
    pub const T_RELOAD_L: u8 = 0x2D;
    /// Chip version.
    pub const VERSION: u8 = 0x37;
}

/// Command codes of CommandReg (datasheet §10.3).
pub mod cmd {
    /// No action, cancels the current command.
    pub const IDLE: u8 = 0x00;
    /// Transmits the FIFO and receives the answer.
    pub const TRANSCEIVE: u8 = 0x0C;
    /// Resets the chip.
    pub const SOFT_RESET: u8 = 0x0F;
}

/// Register bits.
pub mod bits {
    /// CommandReg: soft power-down (set while the reset runs).
    pub const POWER_DOWN: u8 = 0x10;
    /// ComIrqReg: receiver detected the end of a valid stream.
    pub const RX_IRQ: u8 = 0x20;
    /// ComIrqReg: command finished.
    pub const IDLE_IRQ: u8 = 0x10;
    /// ComIrqReg: an ErrorReg bit is set.
    pub const ERR_IRQ: u8 = 0x02;
    /// ComIrqReg: the timer ran out (no answer from a card).
    pub const TIMER_IRQ: u8 = 0x01;
    /// ComIrqReg: value clearing every request bit (Set1 = 0).
    pub const CLEAR_ALL_IRQ: u8 = 0x7F;
    /// FIFOLevelReg: flush.
    pub const FLUSH: u8 = 0x80;
    /// BitFramingReg: start the transmission of a Transceive.
    pub const START_SEND: u8 = 0x80;
    /// ErrorReg: a bit collision was detected (more than one card).
    pub const COLL_ERR: u8 = 0x08;
    /// ErrorReg: FIFO overflow, parity or protocol error.
    pub const FRAME_ERRS: u8 = 0x10 | 0x02 | 0x01;
    /// ErrorReg: CRC error (unused: CRC_A is computed and checked in software).
    pub const CRC_ERR: u8 = 0x04;
    /// TxControlReg: TX1 and TX2 drive the antenna.
    pub const ANTENNA_ON: u8 = 0x03;
}

/// Initial register values (datasheet §9.3): a 25 ms answer timeout (prescaler 0x0A9 →
/// 13.56 MHz / (2 × 169 + 1) = 40 kHz, reload 1000 ticks), timer started automatically
/// at the end of each transmission, 100 % ASK, CRC preset 0x6363 (ISO 14443-3).
pub const INIT_SEQUENCE: [(u8, u8); 6] = [
    (reg::T_MODE, 0x80),
    (reg::T_PRESCALER, 0xA9),
    (reg::T_RELOAD_H, 0x03),
    (reg::T_RELOAD_L, 0xE8),
    (reg::TX_ASK, 0x40),
    (reg::MODE, 0x3D),
];

/// ISO 14443-3 type A commands.
pub mod picc {
    /// REQA, a 7-bit short frame.
    pub const REQA: u8 = 0x26;
    /// SELECT / ANTICOLLISION, cascade levels 1, 2, 3.
    pub const SEL: [u8; 3] = [0x93, 0x95, 0x97];
    /// NVB of an anticollision with no known UID bits.
    pub const NVB_ANTICOLLISION: u8 = 0x20;
    /// NVB of a SELECT (7 valid bytes).
    pub const NVB_SELECT: u8 = 0x70;
    /// Cascade tag: first byte of an incomplete UID part.
    pub const CASCADE_TAG: u8 = 0x88;
    /// SAK bit: UID not complete, go to the next cascade level.
    pub const SAK_CASCADE: u8 = 0x04;
    /// HLTA, first byte (followed by 0x00 and CRC_A).
    pub const HLTA: u8 = 0x50;
}

/// Versions of the MFRC522 (VersionReg): 0x91 = v1.0, 0x92 = v2.0.
pub const KNOWN_VERSIONS: [u8; 2] = [0x91, 0x92];
/// ComIrqReg polls before a transceive counts as hung (the chip's own timer fires
/// after 25 ms; this bound only catches a dead chip).
pub const MAX_IRQ_POLLS: u32 = 2_000;
/// CommandReg polls waiting for the soft reset to finish.
pub const MAX_RESET_POLLS: u32 = 1_000;
/// FIFO size of the MFRC522.
pub const FIFO_LEN: usize = 64;
/// Longest UID (triple size, ISO 14443-3).
pub const MAX_UID_LEN: usize = 10;

/// CRC_A of ISO/IEC 14443-3 (initial value 0x6363, reflected polynomial 0x8408).
pub const CRC_A: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_ISO_IEC_14443_3_A);

/// A card's UID: 4, 7 or 10 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CardUid {
    bytes: [u8; MAX_UID_LEN],
    len: u8,
}

impl CardUid {
    /// A UID from its bytes; `None` unless 4, 7 or 10 bytes long.
    pub fn new(uid: &[u8]) -> Option<CardUid> {
        if !matches!(uid.len(), 4 | 7 | 10) {
            return None;
        }
        let mut bytes = [0; MAX_UID_LEN];
        bytes[..uid.len()].copy_from_slice(uid);
        Some(CardUid {
            bytes,
            len: uid.len() as u8,
        })
    }

    /// The UID bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Errors of [`Mfrc522`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Mfrc522Error<E> {
    /// The SPI bus failed.
    Spi(E),
    /// VersionReg holds something other than an MFRC522 version.
    UnknownVersion(u8),
    /// The chip did not finish its soft reset.
    ResetTimeout,
    /// The chip neither answered nor timed out: it is hung or gone.
    ChipTimeout,
    /// More than one card answered (bit collision); present one card at a time.
    Collision,
    /// Parity, protocol or FIFO overflow error (ErrorReg bits).
    Frame(u8),
    /// The card's answer has the wrong length or a partial last byte.
    BadAnswer,
    /// The UID check byte (BCC) does not match.
    Bcc,
    /// The CRC_A of the select acknowledge does not match.
    Crc,
    /// The card asked for a fourth cascade level (ISO 14443-3 has three).
    UidTooLong,
}

/// An MFRC522 on an SPI device (mode 0, ≤ 10 MHz, MSB first).
#[derive(Debug)]
pub struct Mfrc522<SPI> {
    spi: SPI,
}

/// Outcome of one transceive.
enum Answer {
    /// This many bytes are in the FIFO.
    Bytes(usize),
    /// No card answered before the timer ran out.
    Silence,
}

impl<SPI: SpiDevice> Mfrc522<SPI> {
    /// Wraps the device (no bus traffic).
    pub fn new(spi: SPI) -> Self {
        Mfrc522 { spi }
    }

    /// Gives the SPI device back.
    pub fn destroy(self) -> SPI {
        self.spi
    }

    /// Reads one register: MOSI `[1 | addr << 1, 0x00]`, the value comes on the second
    /// MISO byte (datasheet §8.1.2.1).
    pub fn read_reg(&mut self, r: u8) -> Result<u8, Mfrc522Error<SPI::Error>> {
        let mut buf = [0x80 | (r << 1), 0x00];
        self.spi
            .transfer_in_place(&mut buf)
            .map_err(Mfrc522Error::Spi)?;
        Ok(buf[1])
    }

    /// Writes one register: MOSI `[addr << 1, value]` (datasheet §8.1.2.2).
    pub fn write_reg(&mut self, r: u8, v: u8) -> Result<(), Mfrc522Error<SPI::Error>> {
        self.spi.write(&[r << 1, v]).map_err(Mfrc522Error::Spi)
    }

    fn write_fifo(&mut self, data: &[u8]) -> Result<(), Mfrc522Error<SPI::Error>> {
        let mut buf = [0u8; 1 + FIFO_LEN];
        let n = data.len().min(FIFO_LEN);
        buf[0] = reg::FIFO_DATA << 1;
        buf[1..=n].copy_from_slice(&data[..n]);
        self.spi.write(&buf[..=n]).map_err(Mfrc522Error::Spi)
    }

    fn read_fifo(&mut self, out: &mut [u8]) -> Result<(), Mfrc522Error<SPI::Error>> {
        // MOSI: the read address once per byte, then 0x00; MISO: data from byte 1 on.
        let n = out.len().min(FIFO_LEN);
        let mut buf = [0x80 | (reg::FIFO_DATA << 1); 1 + FIFO_LEN];
        buf[n] = 0x00;
        self.spi
            .transfer_in_place(&mut buf[..=n])
            .map_err(Mfrc522Error::Spi)?;
        out[..n].copy_from_slice(&buf[1..=n]);
        Ok(())
    }

    /// Soft-resets and configures the chip, turns the antenna on; returns the version.
    pub fn init(&mut self) -> Result<u8, Mfrc522Error<SPI::Error>> {
        let version = self.read_reg(reg::VERSION)?;
        if !KNOWN_VERSIONS.contains(&version) {
            return Err(Mfrc522Error::UnknownVersion(version));
        }
        self.write_reg(reg::COMMAND, cmd::SOFT_RESET)?;
        let mut polls = 0;
        while self.read_reg(reg::COMMAND)? & bits::POWER_DOWN != 0 {
            polls += 1;
            if polls >= MAX_RESET_POLLS {
                return Err(Mfrc522Error::ResetTimeout);
            }
        }
        for (r, v) in INIT_SEQUENCE {
            self.write_reg(r, v)?;
        }
        let tx = self.read_reg(reg::TX_CONTROL)?;
        if tx & bits::ANTENNA_ON != bits::ANTENNA_ON {
            self.write_reg(reg::TX_CONTROL, tx | bits::ANTENNA_ON)?;
        }
        Ok(version)
    }

    /// Sends `tx` (the last byte's low `tx_last_bits` bits only, 0 = all 8) and reads the
    /// answer into `rx`.
    fn transceive(
        &mut self,
        tx: &[u8],
        tx_last_bits: u8,
        rx: &mut [u8],
    ) -> Result<Answer, Mfrc522Error<SPI::Error>> {
        self.write_reg(reg::COMMAND, cmd::IDLE)?;
        self.write_reg(reg::COM_IRQ, bits::CLEAR_ALL_IRQ)?;
        self.write_reg(reg::FIFO_LEVEL, bits::FLUSH)?;
        self.write_fifo(tx)?;
        self.write_reg(reg::COMMAND, cmd::TRANSCEIVE)?;
        self.write_reg(reg::BIT_FRAMING, bits::START_SEND | (tx_last_bits & 0x07))?;
        let mut polls = 0;
        let irq = loop {
            let irq = self.read_reg(reg::COM_IRQ)?;
            if irq & (bits::RX_IRQ | bits::IDLE_IRQ | bits::ERR_IRQ | bits::TIMER_IRQ) != 0 {
                break irq;
            }
            polls += 1;
            if polls >= MAX_IRQ_POLLS {
                return Err(Mfrc522Error::ChipTimeout);
            }
        };
        self.write_reg(reg::BIT_FRAMING, 0)?;
        let err = self.read_reg(reg::ERROR)?;
        if err & bits::COLL_ERR != 0 {
            return Err(Mfrc522Error::Collision);
        }
        if err & bits::FRAME_ERRS != 0 {
            return Err(Mfrc522Error::Frame(err));
        }
        if irq & bits::RX_IRQ == 0 {
            return Ok(Answer::Silence);
        }
        let n = usize::from(self.read_reg(reg::FIFO_LEVEL)? & 0x7F);
        if n == 0 || n > rx.len() {
            return Err(Mfrc522Error::BadAnswer);
        }
        self.read_fifo(&mut rx[..n])?;
        if self.read_reg(reg::CONTROL)? & 0x07 != 0 {
            return Err(Mfrc522Error::BadAnswer);
        }
        Ok(Answer::Bytes(n))
    }

    /// Looks for a card: REQA, then anticollision and select down the cascade levels,
    /// then HLTA so the same card is not read again until it leaves and re-enters the
    /// field. `Ok(None)` when no card answers.
    pub fn poll_card(&mut self) -> Result<Option<CardUid>, Mfrc522Error<SPI::Error>> {
        let mut atqa = [0u8; 2];
        match self.transceive(&[picc::REQA], 7, &mut atqa)? {
            Answer::Silence => return Ok(None),
            Answer::Bytes(2) => {}
            Answer::Bytes(_) => return Err(Mfrc522Error::BadAnswer),
        }
        let mut uid = [0u8; MAX_UID_LEN];
        let mut len = 0usize;
        for (level, &sel) in picc::SEL.iter().enumerate() {
            let mut part = [0u8; 5];
            match self.transceive(&[sel, picc::NVB_ANTICOLLISION], 0, &mut part)? {
                Answer::Bytes(5) => {}
                _ => return Err(Mfrc522Error::BadAnswer),
            }
            if part[0] ^ part[1] ^ part[2] ^ part[3] != part[4] {
                return Err(Mfrc522Error::Bcc);
            }
            let mut frame = [0u8; 9];
            frame[0] = sel;
            frame[1] = picc::NVB_SELECT;
            frame[2..7].copy_from_slice(&part);
            let crc = CRC_A.checksum(&frame[..7]).to_le_bytes();
            frame[7..].copy_from_slice(&crc);
            let mut sak = [0u8; 3];
            match self.transceive(&frame, 0, &mut sak)? {
                Answer::Bytes(3) => {}
                _ => return Err(Mfrc522Error::BadAnswer),
            }
            if CRC_A.checksum(&sak[..1]).to_le_bytes() != [sak[1], sak[2]] {
                return Err(Mfrc522Error::Crc);
            }
            if sak[0] & picc::SAK_CASCADE != 0 {
                if part[0] != picc::CASCADE_TAG || level == picc::SEL.len() - 1 {
                    return Err(Mfrc522Error::UidTooLong);
                }
                uid[len..len + 3].copy_from_slice(&part[1..4]);
                len += 3;
            } else {
                uid[len..len + 4].copy_from_slice(&part[..4]);
                len += 4;
                self.halt()?;
                return CardUid::new(&uid[..len])
                    .map(Some)
                    .ok_or(Mfrc522Error::BadAnswer);
            }
        }
        Err(Mfrc522Error::UidTooLong)
    }

    /// HLTA: the card answers nothing (ISO 14443-3: any answer means not acknowledged).
    fn halt(&mut self) -> Result<(), Mfrc522Error<SPI::Error>> {
        let mut frame = [picc::HLTA, 0x00, 0, 0];
        let crc = CRC_A.checksum(&frame[..2]).to_le_bytes();
        frame[2..].copy_from_slice(&crc);
        let mut rx = [0u8; 1];
        match self.transceive(&frame, 0, &mut rx)? {
            Answer::Silence => Ok(()),
            Answer::Bytes(_) => Err(Mfrc522Error::BadAnswer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::spi::{Mock, Transaction as T};

    fn w(r: u8, v: u8) -> Vec<T<u8>> {
        vec![
            T::transaction_start(),
            T::write_vec(vec![r << 1, v]),
            T::transaction_end(),
        ]
    }
    fn rd(r: u8, v: u8) -> Vec<T<u8>> {
        vec![
            T::transaction_start(),
            T::transfer_in_place(vec![0x80 | (r << 1), 0x00], vec![0x00, v]),
            T::transaction_end(),
        ]
    }

    /// A transceive as the datasheet §10.3.1.8 describes it: Idle, clear IRQs, flush,
    /// fill the FIFO, Transceive, StartSend; poll ComIrqReg; then ErrorReg, FIFO level,
    /// FIFO data and ControlReg.RxLastBits.
    fn transceive(tx: &[u8], last_bits: u8, answer: Option<&[u8]>) -> Vec<T<u8>> {
        let mut t = Vec::new();
        t.extend(w(reg::COMMAND, cmd::IDLE));
        t.extend(w(reg::COM_IRQ, 0x7F));
        t.extend(w(reg::FIFO_LEVEL, 0x80));
        let mut fifo = vec![reg::FIFO_DATA << 1];
        fifo.extend_from_slice(tx);
        t.extend([
            T::transaction_start(),
            T::write_vec(fifo),
            T::transaction_end(),
        ]);
        t.extend(w(reg::COMMAND, cmd::TRANSCEIVE));
        t.extend(w(reg::BIT_FRAMING, 0x80 | last_bits));
        match answer {
            Some(a) => {
                t.extend(rd(reg::COM_IRQ, 0x00)); // still busy once
                t.extend(rd(reg::COM_IRQ, 0x30)); // RxIRq | IdleIRq
                t.extend(w(reg::BIT_FRAMING, 0));
                t.extend(rd(reg::ERROR, 0x00));
                t.extend(rd(reg::FIFO_LEVEL, a.len() as u8));
                let mut mosi = vec![0x80 | (reg::FIFO_DATA << 1); a.len()];
                mosi.push(0x00);
                let mut miso = vec![0x00];
                miso.extend_from_slice(a);
                t.extend([
                    T::transaction_start(),
                    T::transfer_in_place(mosi, miso),
                    T::transaction_end(),
                ]);
                t.extend(rd(reg::CONTROL, 0x00));
            }
            None => {
                t.extend(rd(reg::COM_IRQ, 0x01)); // TimerIRq: nobody answered
                t.extend(w(reg::BIT_FRAMING, 0));
                t.extend(rd(reg::ERROR, 0x00));
            }
        }
        t
    }

    #[test]
    fn crc_a_matches_iso_14443_3() {
        // ISO/IEC 14443-3 Annex B: CRC_A of 00 00 is transmitted A0 1E; the CRC
        // catalogue's check value of "123456789" is 0xBF05; the HLTA frame on the air is
        // 50 00 57 CD.
        assert_eq!(CRC_A.checksum(&[0x00, 0x00]).to_le_bytes(), [0xA0, 0x1E]);
        assert_eq!(CRC_A.checksum(b"123456789"), 0xBF05);
        assert_eq!(CRC_A.checksum(&[0x50, 0x00]).to_le_bytes(), [0x57, 0xCD]);
    }

    #[test]
    fn init_sequence() {
        let mut t = rd(reg::VERSION, 0x92);
        t.extend(w(reg::COMMAND, cmd::SOFT_RESET));
        t.extend(rd(reg::COMMAND, 0x10 | 0x0F)); // still resetting
        t.extend(rd(reg::COMMAND, 0x00));
        for (r, v) in INIT_SEQUENCE {
            t.extend(w(r, v));
        }
        t.extend(rd(reg::TX_CONTROL, 0x80)); // reset value: antenna off
        t.extend(w(reg::TX_CONTROL, 0x83));
        let mut spi = Mock::new(&t);
        let mut r = Mfrc522::new(spi.clone());
        assert_eq!(r.init(), Ok(0x92));
        spi.done();
    }

    #[test]
    fn unknown_chip_is_refused() {
        let mut spi = Mock::new(&rd(reg::VERSION, 0x00));
        let mut r = Mfrc522::new(spi.clone());
        assert_eq!(r.init(), Err(Mfrc522Error::UnknownVersion(0x00)));
        spi.done();
    }

    #[test]
    fn no_card_is_none() {
        let mut spi = Mock::new(&transceive(&[0x26], 7, None));
        let mut r = Mfrc522::new(spi.clone());
        assert_eq!(r.poll_card(), Ok(None));
        spi.done();
    }

    fn select_frame(sel: u8, part: [u8; 5]) -> Vec<u8> {
        let mut f = vec![sel, 0x70];
        f.extend_from_slice(&part);
        let crc = CRC_A.checksum(&f).to_le_bytes();
        f.extend_from_slice(&crc);
        f
    }

    fn sak(v: u8) -> Vec<u8> {
        let mut s = vec![v];
        s.extend_from_slice(&CRC_A.checksum(&[v]).to_le_bytes());
        s
    }

    #[test]
    fn single_size_uid() {
        // MIFARE Classic 1K: ATQA 04 00, SAK 08; UID DE AD BE EF, BCC = XOR = 0x22.
        let uid = [0xDE, 0xAD, 0xBE, 0xEF];
        let part = [0xDE, 0xAD, 0xBE, 0xEF, 0x22];
        let mut t = transceive(&[0x26], 7, Some(&[0x04, 0x00]));
        t.extend(transceive(&[0x93, 0x20], 0, Some(&part)));
        t.extend(transceive(&select_frame(0x93, part), 0, Some(&sak(0x08))));
        t.extend(transceive(&[0x50, 0x00, 0x57, 0xCD], 0, None));
        let mut spi = Mock::new(&t);
        let mut r = Mfrc522::new(spi.clone());
        assert_eq!(r.poll_card(), Ok(CardUid::new(&uid)));
        spi.done();
    }

    #[test]
    fn double_size_uid_goes_through_cascade_level_2() {
        // MIFARE Ultralight: ATQA 44 00; CL1 = CT 04 A1 B2 (BCC 88^04^A1^B2 = 0x9F),
        // SAK 04 (cascade); CL2 = C3 D4 E5 F6 (BCC 0x30), SAK 00.
        let p1 = [0x88, 0x04, 0xA1, 0xB2, 0x88 ^ 0x04 ^ 0xA1 ^ 0xB2];
        let p2 = [0xC3, 0xD4, 0xE5, 0xF6, 0xC3 ^ 0xD4 ^ 0xE5 ^ 0xF6];
        let mut t = transceive(&[0x26], 7, Some(&[0x44, 0x00]));
        t.extend(transceive(&[0x93, 0x20], 0, Some(&p1)));
        t.extend(transceive(&select_frame(0x93, p1), 0, Some(&sak(0x04))));
        t.extend(transceive(&[0x95, 0x20], 0, Some(&p2)));
        t.extend(transceive(&select_frame(0x95, p2), 0, Some(&sak(0x00))));
        t.extend(transceive(&[0x50, 0x00, 0x57, 0xCD], 0, None));
        let mut spi = Mock::new(&t);
        let mut r = Mfrc522::new(spi.clone());
        let uid = r.poll_card().unwrap().unwrap();
        assert_eq!(uid.as_bytes(), &[0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6]);
        spi.done();
    }

    #[test]
    fn bad_bcc_is_refused() {
        let part = [0xDE, 0xAD, 0xBE, 0xEF, 0x23];
        let mut t = transceive(&[0x26], 7, Some(&[0x04, 0x00]));
        t.extend(transceive(&[0x93, 0x20], 0, Some(&part)));
        let mut spi = Mock::new(&t);
        let mut r = Mfrc522::new(spi.clone());
        assert_eq!(r.poll_card(), Err(Mfrc522Error::Bcc));
        spi.done();
    }

    #[test]
    fn two_cards_collide() {
        let mut t = transceive(&[0x26], 7, Some(&[0x04, 0x00]));
        let mut anticoll = transceive(&[0x93, 0x20], 0, None);
        // Replace the timer-IRQ answer by ErrIRq + CollErr.
        let n = anticoll.len();
        anticoll.truncate(n - 9);
        anticoll.extend(rd(reg::COM_IRQ, 0x02 | 0x10));
        anticoll.extend(w(reg::BIT_FRAMING, 0));
        anticoll.extend(rd(reg::ERROR, 0x08));
        t.extend(anticoll);
        let mut spi = Mock::new(&t);
        let mut r = Mfrc522::new(spi.clone());
        assert_eq!(r.poll_card(), Err(Mfrc522Error::Collision));
        spi.done();
    }

    #[test]
    fn hung_chip_times_out() {
        let mut t = Vec::new();
        t.extend(w(reg::COMMAND, cmd::IDLE));
        t.extend(w(reg::COM_IRQ, 0x7F));
        t.extend(w(reg::FIFO_LEVEL, 0x80));
        t.extend([
            T::transaction_start(),
            T::write_vec(vec![reg::FIFO_DATA << 1, 0x26]),
            T::transaction_end(),
        ]);
        t.extend(w(reg::COMMAND, cmd::TRANSCEIVE));
        t.extend(w(reg::BIT_FRAMING, 0x87));
        for _ in 0..MAX_IRQ_POLLS {
            t.extend(rd(reg::COM_IRQ, 0x00));
        }
        let mut spi = Mock::new(&t);
        let mut r = Mfrc522::new(spi.clone());
        assert_eq!(r.poll_card(), Err(Mfrc522Error::ChipTimeout));
        spi.done();
    }
}
