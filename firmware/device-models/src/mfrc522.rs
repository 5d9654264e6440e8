//! MFRC522 model: SPI framing, register file, 64-byte FIFO, the Transceive command and
//! its timer, and ISO/IEC 14443-3 type A cards in the field.

use core::cell::RefCell;
use core::convert::Infallible;
use embedded_hal::spi::{ErrorType, Operation, SpiDevice};

/// Longest UID (triple size).
pub const MAX_UID_LEN: usize = 10;

const COMMAND: u8 = 0x01;
const COM_IRQ: u8 = 0x04;
const ERROR: u8 = 0x06;
const FIFO_DATA: u8 = 0x09;
const FIFO_LEVEL: u8 = 0x0A;
const CONTROL: u8 = 0x0C;
const BIT_FRAMING: u8 = 0x0D;
const TX_CONTROL: u8 = 0x14;
const VERSION: u8 = 0x37;
const CMD_IDLE: u8 = 0x00;
const CMD_TRANSCEIVE: u8 = 0x0C;
const CMD_SOFT_RESET: u8 = 0x0F;
const CRC_A: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_ISO_IEC_14443_3_A);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CardState {
    Idle,
    Ready(u8),
    Active,
    Halt,
}

#[derive(Debug, Clone, Copy)]
struct Card {
    uid: [u8; MAX_UID_LEN],
    len: usize,
    state: CardState,
}

impl Card {
    fn levels(&self) -> u8 {
        match self.len {
            4 => 1,
            7 => 2,
            _ => 3,
        }
    }

    /// The 4 bytes of cascade level `level` (ISO 14443-3 §6.5.4): CT + 3 UID bytes on
    /// all but the last level.
    fn part(&self, level: u8) -> [u8; 4] {
        let last = level + 1 == self.levels();
        let off = 3 * usize::from(level);
        if last {
            [
                self.uid[off],
                self.uid[off + 1],
                self.uid[off + 2],
                self.uid[off + 3],
            ]
        } else {
            [0x88, self.uid[off], self.uid[off + 1], self.uid[off + 2]]
        }
    }
}

#[derive(Debug)]
struct State {
    regs: [u8; 64],
    fifo: [u8; 64],
    fifo_len: usize,
    fifo_rd: usize,
    cards: [Option<Card>; 2],
    present: bool,
    selects: u32,
}

/// An MFRC522 with up to two cards in its field.
#[derive(Debug)]
pub struct Mfrc522 {
    s: RefCell<State>,
}

impl Default for Mfrc522 {
    fn default() -> Self {
        Self::new()
    }
}

impl Mfrc522 {
    /// A chip after power-on with an empty field.
    pub fn new() -> Self {
        let m = Mfrc522 {
            s: RefCell::new(State {
                regs: [0; 64],
                fifo: [0; 64],
                fifo_len: 0,
                fifo_rd: 0,
                cards: [None; 2],
                present: true,
                selects: 0,
            }),
        };
        Self::reset(&mut m.s.borrow_mut());
        m
    }

    fn reset(s: &mut State) {
        s.regs = [0; 64];
        s.regs[usize::from(COMMAND)] = 0x20;
        s.regs[usize::from(COM_IRQ)] = 0x14;
        s.regs[usize::from(TX_CONTROL)] = 0x80;
        s.regs[usize::from(VERSION)] = 0x92;
        s.fifo_len = 0;
        s.fifo_rd = 0;
    }

    /// Brings a card (4, 7 or 10-byte UID) into the field as card `slot` (0 or 1).
    pub fn insert_card(&self, slot: usize, uid: &[u8]) {
        let mut c = Card {
            uid: [0; MAX_UID_LEN],
            len: uid.len().min(MAX_UID_LEN),
            state: CardState::Idle,
        };
        c.uid[..c.len].copy_from_slice(&uid[..c.len]);
        if let Some(s) = self.s.borrow_mut().cards.get_mut(slot) {
            *s = Some(c);
        }
    }

    /// Takes every card out of the field.
    pub fn remove_cards(&self) {
        self.s.borrow_mut().cards = [None; 2];
    }

    /// Connects or disconnects the chip (disconnected: MISO reads 0x00).
    pub fn set_present(&self, present: bool) {
        self.s.borrow_mut().present = present;
    }

    /// Completed SELECTs of a final cascade level so far.
    pub fn selects(&self) -> u32 {
        self.s.borrow().selects
    }

    /// The SPI device a driver owns.
    pub fn bus(&self) -> Mfrc522Bus<'_> {
        Mfrc522Bus(self)
    }

    fn read(s: &mut State, reg: u8) -> u8 {
        match reg {
            FIFO_DATA => {
                if s.fifo_rd < s.fifo_len {
                    let b = s.fifo[s.fifo_rd];
                    s.fifo_rd += 1;
                    b
                } else {
                    0
                }
            }
            FIFO_LEVEL => (s.fifo_len - s.fifo_rd) as u8,
            r => s.regs[usize::from(r & 0x3F)],
        }
    }

    fn write(s: &mut State, reg: u8, v: u8) {
        match reg {
            COMMAND => {
                match v & 0x0F {
                    CMD_SOFT_RESET => Self::reset(s),
                    c => s.regs[usize::from(COMMAND)] = (s.regs[usize::from(COMMAND)] & 0xF0) | c,
                }
                s.regs[usize::from(COMMAND)] &= !0x10; // reset finishes at once
            }
            COM_IRQ => {
                let r = &mut s.regs[usize::from(COM_IRQ)];
                if v & 0x80 != 0 {
                    *r |= v & 0x7F;
                } else {
                    *r &= !(v & 0x7F);
                }
            }
            FIFO_DATA => {
                if s.fifo_len < s.fifo.len() {
                    s.fifo[s.fifo_len] = v;
                    s.fifo_len += 1;
                } else {
                    s.regs[usize::from(ERROR)] |= 0x10; // BufferOvfl
                }
            }
            FIFO_LEVEL => {
                if v & 0x80 != 0 {
                    s.fifo_len = 0;
                    s.fifo_rd = 0;
                    s.regs[usize::from(ERROR)] &= !0x10;
                }
            }
            BIT_FRAMING => {
                s.regs[usize::from(BIT_FRAMING)] = v & 0x7F;
                if v & 0x80 != 0 && s.regs[usize::from(COMMAND)] & 0x0F == CMD_TRANSCEIVE {
                    Self::transceive(s, v & 0x07);
                }
            }
            r => s.regs[usize::from(r & 0x3F)] = v,
        }
    }

    /// Runs the frame in the FIFO against the cards in the field.
    fn transceive(s: &mut State, tx_last_bits: u8) {
        let mut tx = [0u8; 64];
        let n = s.fifo_len - s.fifo_rd;
        tx[..n].copy_from_slice(&s.fifo[s.fifo_rd..s.fifo_len]);
        let tx = &tx[..n];
        s.fifo_len = 0;
        s.fifo_rd = 0;
        s.regs[usize::from(ERROR)] = 0;
        s.regs[usize::from(CONTROL)] &= !0x07;
        let antenna = s.regs[usize::from(TX_CONTROL)] & 0x03 == 0x03;
        let mut answers: [Option<([u8; 5], usize)>; 2] = [None, None];
        if antenna {
            for (i, card) in s.cards.iter_mut().enumerate() {
                if let Some(c) = card.as_mut() {
                    answers[i] = Self::card_answer(c, tx, tx_last_bits, &mut s.selects);
                }
            }
        }
        match answers {
            [Some(a), Some(b)] if a != b => {
                // Two different answers collide on the air.
                s.regs[usize::from(ERROR)] |= 0x08;
                s.regs[usize::from(COM_IRQ)] |= 0x02 | 0x10;
            }
            [Some((bytes, len)), _] | [None, Some((bytes, len))] => {
                s.fifo[..len].copy_from_slice(&bytes[..len]);
                s.fifo_len = len;
                s.regs[usize::from(COM_IRQ)] |= 0x20 | 0x10;
            }
            [None, None] => {
                s.regs[usize::from(COM_IRQ)] |= 0x01; // timer ran out
            }
        }
        s.regs[usize::from(COMMAND)] = (s.regs[usize::from(COMMAND)] & 0xF0) | CMD_IDLE;
    }

    fn card_answer(
        c: &mut Card,
        tx: &[u8],
        last_bits: u8,
        selects: &mut u32,
    ) -> Option<([u8; 5], usize)> {
        let atqa = |c: &Card| match c.levels() {
            1 => [0x04, 0x00],
            2 => [0x44, 0x00],
            _ => [0x84, 0x00],
        };
        match (tx, last_bits) {
            ([0x26], 7) if c.state != CardState::Halt => {
                c.state = CardState::Ready(0);
                let a = atqa(c);
                Some(([a[0], a[1], 0, 0, 0], 2))
            }
            ([0x52], 7) => {
                c.state = CardState::Ready(0);
                let a = atqa(c);
                Some(([a[0], a[1], 0, 0, 0], 2))
            }
            ([sel, 0x20], 0) => match c.state {
                CardState::Ready(l) if *sel == 0x93 + 2 * l => {
                    let p = c.part(l);
                    Some(([p[0], p[1], p[2], p[3], p[0] ^ p[1] ^ p[2] ^ p[3]], 5))
                }
                _ => None,
            },
            ([sel, 0x70, a, b, cc, d, bcc, crc0, crc1], 0) => match c.state {
                CardState::Ready(l) if *sel == 0x93 + 2 * l => {
                    let frame = [*sel, 0x70, *a, *b, *cc, *d, *bcc];
                    let crc_ok = CRC_A.checksum(&frame).to_le_bytes() == [*crc0, *crc1];
                    if !crc_ok || c.part(l) != [*a, *b, *cc, *d] {
                        c.state = CardState::Idle;
                        return None;
                    }
                    let sak = if l + 1 < c.levels() {
                        c.state = CardState::Ready(l + 1);
                        0x04
                    } else {
                        c.state = CardState::Active;
                        *selects += 1;
                        0x08
                    };
                    let crc = CRC_A.checksum(&[sak]).to_le_bytes();
                    Some(([sak, crc[0], crc[1], 0, 0], 3))
                }
                _ => None,
            },
            ([0x50, 0x00, 0x57, 0xCD], 0) if c.state == CardState::Active => {
                c.state = CardState::Halt;
                None
            }
            _ => {
                if c.state != CardState::Halt {
                    c.state = CardState::Idle;
                }
                None
            }
        }
    }

    /// One SPI transaction as a byte stream (datasheet §8.1.2).
    fn exchange(&self, ops: &mut [Operation<'_, u8>]) {
        let mut s = self.s.borrow_mut();
        let present = s.present;
        // None until the first byte; then Read (MISO of the next byte is the register
        // named by this one) or Write(reg).
        let mut mode: Option<Result<u8, u8>> = None;
        let mut pending_read: Option<u8> = None;
        let mut step = |s: &mut State, mosi: u8| -> u8 {
            let miso = match pending_read.take() {
                Some(r) if present => Self::read(s, r),
                _ => 0,
            };
            match mode {
                None | Some(Ok(_)) => {
                    if mode.is_none() {
                        mode = Some(if mosi & 0x80 != 0 {
                            Ok(0)
                        } else {
                            Err((mosi >> 1) & 0x3F)
                        });
                    }
                    if let Some(Ok(_)) = mode {
                        if mosi != 0 {
                            pending_read = Some((mosi >> 1) & 0x3F);
                        }
                    }
                }
                Some(Err(reg)) => {
                    if present {
                        Self::write(s, reg, mosi);
                    }
                }
            }
            miso
        };
        for op in ops.iter_mut() {
            match op {
                Operation::Write(w) => {
                    for &b in w.iter() {
                        step(&mut s, b);
                    }
                }
                Operation::TransferInPlace(buf) => {
                    for b in buf.iter_mut() {
                        *b = step(&mut s, *b);
                    }
                }
                Operation::Transfer(r, w) => {
                    for i in 0..r.len().max(w.len()) {
                        let m = step(&mut s, w.get(i).copied().unwrap_or(0));
                        if let Some(x) = r.get_mut(i) {
                            *x = m;
                        }
                    }
                }
                Operation::Read(r) => {
                    for x in r.iter_mut() {
                        *x = step(&mut s, 0);
                    }
                }
                Operation::DelayNs(_) => {}
            }
        }
    }
}

/// The SPI device of an [`Mfrc522`].
#[derive(Debug, Clone, Copy)]
pub struct Mfrc522Bus<'a>(&'a Mfrc522);

impl ErrorType for Mfrc522Bus<'_> {
    type Error = Infallible;
}

impl SpiDevice for Mfrc522Bus<'_> {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), Infallible> {
        self.0.exchange(operations);
        Ok(())
    }
}
