//! The kiosk's sealing state on NOR flash: core's [`SealState`] (device id, epoch, key
//! id, key, counter lease end, terminal replay mark; [`SEAL_STATE_LEN`] bytes) behind
//! core's [`SealStore`] trait, power-cut safe.
//!
//! Layout: two erase pages used in turn, each a log of [`SEAL_SLOT_LEN`]-byte slots
//!
//! ```text
//! sequence u32 LE | SealState::to_bytes (53 bytes) | 0 0 0 | CRC-32C u32 LE of bytes 0..60
//! ```
//!
//! An erased slot reads all 0xFF. The valid slot (its CRC matches) with the highest
//! sequence holds the state. A write appends a slot with the next sequence after the last
//! written slot of the page holding the newest state; when that page is full, the other
//! page is erased and the slot goes there. So a power cut at any point (inside the slot
//! write, inside the erase) leaves the previous state readable: a torn slot fails its
//! CRC and is skipped, and the page with the previous state is erased only after a newer
//! state is safely in the other page. A CRC-valid slot whose state does not parse (an
//! unknown layout version) is an error, never skipped: falling back to an older state
//! would reuse counters of an older lease.
//!
//! Every buffer holding state bytes (and so the key) is wiped when dropped
//! ([`Zeroizing`]); nothing here logs state bytes.

use core::ops::Range;

use embedded_storage::nor_flash::NorFlash;
use tcmcare_core::seal::{SealState, SealStore, SEAL_STATE_LEN};
use tcmcare_core::wire::FRAME_CRC;
use zeroize::Zeroizing;

/// Bytes of one slot: sequence, state, padding, CRC.
pub const SEAL_SLOT_LEN: usize = 64;

const SEQ_LEN: usize = 4;
const CRC_LEN: usize = 4;
const STATE_AT: usize = SEQ_LEN;
const CRC_AT: usize = SEAL_SLOT_LEN - CRC_LEN;
/// The sequence of an erased slot (never written).
const ERASED: u32 = u32::MAX;

const _: () = assert!(SEQ_LEN + SEAL_STATE_LEN + CRC_LEN <= SEAL_SLOT_LEN);

/// Errors of [`FlashSealStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SealStoreError<E> {
    /// The flash failed (a write or erase cut by a power loss included).
    Flash(E),
    /// The region is not two whole erase pages, or the flash's pages or words do not fit
    /// whole slots.
    BadRegion,
    /// The newest CRC-valid slot holds no state this firmware reads.
    Unreadable,
    /// The slot sequence reached its end (after about four billion writes).
    Exhausted,
}

/// Where the next write goes.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    /// Page (0 or 1) of the newest state.
    page: usize,
    /// Its next unwritten slot (may be one past the last: the page is full).
    next: usize,
    /// Sequence of the newest state (0: no state).
    seq: u32,
    /// Whether a state exists.
    valid: bool,
}

/// Core's [`SealStore`] on two erase pages of a NOR flash (see the module docs).
#[derive(Debug)]
pub struct FlashSealStore<F: NorFlash> {
    flash: F,
    pages: [u32; 2],
    /// Known after the first scan; forgotten after a failed write (rescanned then).
    cursor: Option<Cursor>,
}

impl<F: NorFlash> FlashSealStore<F> {
    /// The store in `region` (two erase pages, page aligned) of `flash`. Existing contents
    /// are kept: this is how the state is found again after a restart.
    pub fn new(flash: F, region: Range<u32>) -> Result<Self, SealStoreError<F::Error>> {
        let page = F::ERASE_SIZE as u32;
        let fits = F::ERASE_SIZE >= SEAL_SLOT_LEN
            && F::ERASE_SIZE.is_multiple_of(SEAL_SLOT_LEN)
            && SEAL_SLOT_LEN.is_multiple_of(F::WRITE_SIZE)
            && SEAL_SLOT_LEN.is_multiple_of(F::READ_SIZE);
        let two_pages = region.start.is_multiple_of(page)
            && region.end.checked_sub(region.start) == Some(2 * page)
            && region.end as usize <= flash.capacity();
        if !fits || !two_pages {
            return Err(SealStoreError::BadRegion);
        }
        Ok(FlashSealStore {
            flash,
            pages: [region.start, region.start + page],
            cursor: None,
        })
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.flash
    }

    /// The flash (tests cut its power).
    pub fn flash_mut(&mut self) -> &mut F {
        self.cursor = None;
        &mut self.flash
    }

    /// Erases both pages: the kiosk is no longer provisioned (a wipe).
    pub fn erase(&mut self) -> Result<(), SealStoreError<F::Error>> {
        self.cursor = None;
        let page = F::ERASE_SIZE as u32;
        for p in self.pages {
            self.flash
                .erase(p, p + page)
                .map_err(SealStoreError::Flash)?;
        }
        Ok(())
    }

    fn slots_per_page() -> usize {
        F::ERASE_SIZE / SEAL_SLOT_LEN
    }

    fn slot_addr(&self, page: usize, slot: usize) -> u32 {
        self.pages[page & 1] + (slot * SEAL_SLOT_LEN) as u32
    }

    fn read_slot(
        &mut self,
        page: usize,
        slot: usize,
        buf: &mut [u8; SEAL_SLOT_LEN],
    ) -> Result<(), SealStoreError<F::Error>> {
        let at = self.slot_addr(page, slot);
        self.flash.read(at, buf).map_err(SealStoreError::Flash)
    }

    /// Finds the newest valid slot and where the next write goes.
    fn scan(&mut self) -> Result<Cursor, SealStoreError<F::Error>> {
        let slots = Self::slots_per_page();
        let mut buf = Zeroizing::new([0u8; SEAL_SLOT_LEN]);
        let mut next_free = [0usize; 2];
        // (page, slot, seq) of the newest valid slot.
        let mut newest: Option<(usize, u32)> = None;
        for (page, free) in next_free.iter_mut().enumerate() {
            for slot in 0..slots {
                self.read_slot(page, slot, &mut buf)?;
                if buf.iter().all(|b| *b == 0xFF) {
                    continue;
                }
                *free = slot + 1;
                if let Some(seq) = slot_seq(&buf) {
                    if newest.is_none_or(|(_, s)| seq > s) {
                        newest = Some((page, seq));
                    }
                }
            }
        }
        Ok(match newest {
            Some((page, seq)) => Cursor {
                page,
                next: next_free[page],
                seq,
                valid: true,
            },
            None => Cursor {
                page: 0,
                next: slots,
                seq: 0,
                valid: false,
            },
        })
    }

    fn cursor(&mut self) -> Result<Cursor, SealStoreError<F::Error>> {
        match self.cursor {
            Some(c) => Ok(c),
            None => {
                let c = self.scan()?;
                self.cursor = Some(c);
                Ok(c)
            }
        }
    }

    /// Reads the newest state (scans the pages once, then remembers where it is).
    fn load_state(&mut self) -> Result<Option<SealState>, SealStoreError<F::Error>> {
        // Always rescan on load: a load is how a restart finds the state.
        self.cursor = None;
        let c = self.cursor()?;
        if !c.valid {
            return Ok(None);
        }
        let mut buf = Zeroizing::new([0u8; SEAL_SLOT_LEN]);
        let slot = c.next.checked_sub(1).ok_or(SealStoreError::Unreadable)?;
        // The newest state is the last written slot of its page only if no torn slot
        // follows it: search back for the slot with the newest sequence.
        let mut at = slot;
        loop {
            self.read_slot(c.page, at, &mut buf)?;
            if slot_seq(&buf) == Some(c.seq) {
                break;
            }
            at = at.checked_sub(1).ok_or(SealStoreError::Unreadable)?;
        }
        let state = buf
            .get(STATE_AT..STATE_AT + SEAL_STATE_LEN)
            .and_then(SealState::from_bytes)
            .ok_or(SealStoreError::Unreadable)?;
        Ok(Some(state))
    }

    fn store_state(&mut self, state: &SealState) -> Result<(), SealStoreError<F::Error>> {
        let c = self.cursor()?;
        let seq = c
            .seq
            .checked_add(1)
            .filter(|s| *s != ERASED)
            .ok_or(SealStoreError::Exhausted)?;
        let mut slot = Zeroizing::new([0u8; SEAL_SLOT_LEN]);
        slot[..SEQ_LEN].copy_from_slice(&seq.to_le_bytes());
        slot[STATE_AT..STATE_AT + SEAL_STATE_LEN].copy_from_slice(&state.to_bytes()[..]);
        let crc = FRAME_CRC.checksum(&slot[..CRC_AT]);
        slot[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        let (page, index) = if c.valid && c.next < Self::slots_per_page() {
            (c.page, c.next)
        } else {
            // The newest state's page is full (or there is no state): start the other
            // page (page 0 when there is none). The full page keeps the previous state
            // until the new slot is written.
            let other = if c.valid { 1 - c.page } else { 0 };
            self.cursor = None;
            let from = self.pages[other];
            self.flash
                .erase(from, from + F::ERASE_SIZE as u32)
                .map_err(SealStoreError::Flash)?;
            (other, 0)
        };
        let at = self.slot_addr(page, index);
        self.cursor = None;
        self.flash
            .write(at, &slot[..])
            .map_err(SealStoreError::Flash)?;
        self.cursor = Some(Cursor {
            page,
            next: index + 1,
            seq,
            valid: true,
        });
        Ok(())
    }
}

/// The sequence of a slot whose CRC matches, `None` for a torn or foreign slot.
fn slot_seq(slot: &[u8; SEAL_SLOT_LEN]) -> Option<u32> {
    let (body, crc) = slot.split_at(CRC_AT);
    let stored = u32::from_le_bytes(crc.try_into().ok()?);
    if FRAME_CRC.checksum(body) != stored {
        return None;
    }
    let seq = u32::from_le_bytes(body.get(..SEQ_LEN)?.try_into().ok()?);
    (seq != ERASED && seq != 0).then_some(seq)
}

impl<F: NorFlash> SealStore for FlashSealStore<F> {
    type Error = SealStoreError<F::Error>;

    fn load(&mut self) -> Result<Option<SealState>, Self::Error> {
        self.load_state()
    }

    fn store(&mut self, state: &SealState) -> Result<(), Self::Error> {
        self.store_state(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_storage::nor_flash::ReadNorFlash;
    use tcmcare_core::ids::{DeviceId, Epoch};
    use tcmcare_core::seal::{DeviceKey, KeyId};
    use tcmcare_device_models::{RamNorFlash, PAGE_SIZE};

    type Flash = RamNorFlash<{ 4 * PAGE_SIZE }>;
    const P: u32 = PAGE_SIZE as u32;
    const REGION: Range<u32> = P..3 * P;
    const SLOTS: usize = PAGE_SIZE / SEAL_SLOT_LEN;
    /// Word writes per slot (the model writes 4-byte words).
    const WORDS: u32 = (SEAL_SLOT_LEN / 4) as u32;

    fn state(reserved: u32) -> SealState {
        SealState {
            device: DeviceId(0x4B01),
            epoch: Epoch(3),
            key_id: KeyId(2),
            key: DeviceKey::from_bytes([0x5A; 32]),
            uplink_reserved: reserved,
            downlink_seen: reserved / 2,
        }
    }

    fn reopen(s: FlashSealStore<Flash>) -> FlashSealStore<Flash> {
        FlashSealStore::new(s.into_flash(), REGION).unwrap()
    }

    #[test]
    fn blank_flash_is_not_provisioned() {
        let mut s = FlashSealStore::new(Flash::new(), REGION).unwrap();
        assert_eq!(s.load(), Ok(None));
    }

    #[test]
    fn newest_write_wins_across_restarts() {
        let mut s = FlashSealStore::new(Flash::new(), REGION).unwrap();
        for r in [0, 64, 128] {
            s.store(&state(r)).unwrap();
        }
        let mut s = reopen(s);
        assert_eq!(s.load(), Ok(Some(state(128))));
        s.store(&state(192)).unwrap();
        assert_eq!(reopen(s).load(), Ok(Some(state(192))));
    }

    #[test]
    fn slot_layout_is_sequence_state_crc() {
        let mut s = FlashSealStore::new(Flash::new(), REGION).unwrap();
        s.store(&state(64)).unwrap();
        let mut f = s.into_flash();
        let mut slot = [0u8; SEAL_SLOT_LEN];
        f.read(P, &mut slot).unwrap();
        // Sequence 1, then core's 53-byte layout (version 1 first), zero padding.
        assert_eq!(&slot[..4], &[1, 0, 0, 0]);
        assert_eq!(&slot[4..57], &state(64).to_bytes()[..]);
        assert_eq!(slot[4], 1);
        assert_eq!(&slot[57..60], &[0, 0, 0]);
        // Any changed bit breaks the slot: the CRC covers sequence, state and padding.
        let mut bad = slot;
        bad[30] ^= 0x10;
        assert_eq!(slot_seq(&slot), Some(1));
        assert_eq!(slot_seq(&bad), None);
    }

    #[test]
    fn a_torn_write_leaves_the_previous_state() {
        for words in 0..=WORDS {
            let mut s = FlashSealStore::new(Flash::new(), REGION).unwrap();
            s.store(&state(64)).unwrap();
            s.flash_mut().fail_after(words);
            let r = s.store(&state(128));
            s.flash_mut().restore_power();
            let mut s = reopen(s);
            let want = if words == WORDS {
                assert!(r.is_ok());
                state(128)
            } else {
                assert!(r.is_err(), "cut after {words} words");
                state(64)
            };
            assert_eq!(s.load(), Ok(Some(want.clone())), "cut after {words} words");
            // And the next write lands after the torn slot.
            s.store(&state(256)).unwrap();
            assert_eq!(reopen(s).load(), Ok(Some(state(256))));
        }
    }

    #[test]
    fn page_rollover_survives_a_cut_erase_and_a_cut_write() {
        let mut s = FlashSealStore::new(Flash::new(), REGION).unwrap();
        for i in 0..SLOTS as u32 {
            s.store(&state(i)).unwrap();
        }
        // Page 0 is full: the next write erases page 1 first. Cut during that erase.
        s.flash_mut().fail_after(0);
        assert!(s.store(&state(1000)).is_err());
        s.flash_mut().restore_power();
        let mut s = reopen(s);
        assert_eq!(s.load(), Ok(Some(state(SLOTS as u32 - 1))));
        // Erase lands, the slot write is cut after one word.
        s.flash_mut().fail_after(2);
        assert!(s.store(&state(1001)).is_err());
        s.flash_mut().restore_power();
        let mut s = reopen(s);
        assert_eq!(s.load(), Ok(Some(state(SLOTS as u32 - 1))));
        s.store(&state(1002)).unwrap();
        let mut s = reopen(s);
        assert_eq!(s.load(), Ok(Some(state(1002))));
        // On through page 1 and back into page 0.
        for i in 0..(SLOTS as u32 + 3) {
            s.store(&state(2000 + i)).unwrap();
        }
        assert_eq!(reopen(s).load(), Ok(Some(state(2000 + SLOTS as u32 + 2))));
    }

    #[test]
    fn unreadable_newest_state_is_an_error_not_a_fallback() {
        let mut s = FlashSealStore::new(Flash::new(), REGION).unwrap();
        s.store(&state(64)).unwrap();
        let mut f = s.into_flash();
        // A CRC-valid slot 1 of an unknown layout version (9).
        let mut slot = [0u8; SEAL_SLOT_LEN];
        slot[..4].copy_from_slice(&2u32.to_le_bytes());
        slot[4] = 9;
        let crc = FRAME_CRC.checksum(&slot[..CRC_AT]);
        slot[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        f.write(P + SEAL_SLOT_LEN as u32, &slot).unwrap();
        let mut s = FlashSealStore::new(f, REGION).unwrap();
        assert_eq!(s.load(), Err(SealStoreError::Unreadable));
    }

    #[test]
    fn erase_unprovisions() {
        let mut s = FlashSealStore::new(Flash::new(), REGION).unwrap();
        s.store(&state(64)).unwrap();
        s.erase().unwrap();
        assert_eq!(reopen(s).load(), Ok(None));
    }

    #[test]
    fn bad_regions_are_refused() {
        assert!(matches!(
            FlashSealStore::new(Flash::new(), P..2 * P),
            Err(SealStoreError::BadRegion)
        ));
        assert!(matches!(
            FlashSealStore::new(Flash::new(), 4..2 * P + 4),
            Err(SealStoreError::BadRegion)
        ));
        assert!(matches!(
            FlashSealStore::new(Flash::new(), 3 * P..5 * P),
            Err(SealStoreError::BadRegion)
        ));
    }
}
