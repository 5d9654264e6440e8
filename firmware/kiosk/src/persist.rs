//! The kiosk's identity counters on NOR flash: the boot counter (which tags records made
//! without a valid clock) and the epoch counter (a new outbox stream after storage is
//! wiped must never reuse an epoch).
//!
//! Layout: two erase pages used in turn, each a log of 8-byte slots
//! `[boot u32 LE, epoch u32 LE]`; an erased slot reads all 0xFF. The newest slot (the
//! highest boot) wins. When the active page is full the other page is erased and
//! written, so a power cut at any point leaves at least one page with the last value.
//!
//! Every boot takes `(boot + 1, epoch + 1)`. The board uses the boot number only: the
//! outbox's epoch comes from provisioning ([`crate::provision`]), so `fresh_epoch` is a
//! kiosk-local count kept for layout compatibility.

use embedded_storage::nor_flash::NorFlash;

const SLOT: usize = 8;
const ERASED: u32 = u32::MAX;

/// The counters after [`next_boot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BootIdentity {
    /// This boot's number (1 for the first boot of a device).
    pub boot: u32,
    /// The epoch to start if the outbox storage is new or wiped.
    pub fresh_epoch: u32,
}

/// Errors of the counter store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PersistError<E> {
    /// The flash failed.
    Flash(E),
    /// The region is not two whole erase pages, or a page holds no slot.
    BadRegion,
    /// The counters reached `u32::MAX`.
    Exhausted,
}

fn read_slot<F: NorFlash>(flash: &mut F, at: u32) -> Result<Slot, PersistError<F::Error>> {
    let mut b = [0u8; SLOT];
    flash.read(at, &mut b).map_err(PersistError::Flash)?;
    Ok((
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
    ))
}

/// A slot's value: (boot, epoch).
type Slot = (u32, u32);

/// Last slot of a page: (index of the first free slot, newest value).
fn scan<F: NorFlash>(
    flash: &mut F,
    page: u32,
) -> Result<(usize, Option<Slot>), PersistError<F::Error>> {
    let slots = F::ERASE_SIZE / SLOT;
    let mut last = None;
    for i in 0..slots {
        let v = read_slot(flash, page + (i * SLOT) as u32)?;
        if v.0 == ERASED {
            return Ok((i, last));
        }
        last = Some(v);
    }
    Ok((slots, last))
}

/// Reads the counters in `region` (two erase pages), stores the next ones and returns
/// them.
pub fn next_boot<F: NorFlash>(
    flash: &mut F,
    region: core::ops::Range<u32>,
) -> Result<BootIdentity, PersistError<F::Error>> {
    let page = F::ERASE_SIZE as u32;
    if !region.start.is_multiple_of(page) || region.end.checked_sub(region.start) != Some(2 * page)
    {
        return Err(PersistError::BadRegion);
    }
    if F::ERASE_SIZE < SLOT || !SLOT.is_multiple_of(F::WRITE_SIZE) {
        return Err(PersistError::BadRegion);
    }
    let pages = [region.start, region.start + page];
    let a = scan(flash, pages[0])?;
    let b = scan(flash, pages[1])?;
    let (active, (free, last)) = match (a.1, b.1) {
        (Some(x), Some(y)) if y.0 > x.0 => (1, b),
        (None, Some(_)) => (1, b),
        _ => (0, a),
    };
    let (boot, epoch) = last.unwrap_or((0, 0));
    let next = (
        boot.checked_add(1).ok_or(PersistError::Exhausted)?,
        epoch.checked_add(1).ok_or(PersistError::Exhausted)?,
    );
    let mut bytes = [0u8; SLOT];
    bytes[..4].copy_from_slice(&next.0.to_le_bytes());
    bytes[4..].copy_from_slice(&next.1.to_le_bytes());
    let slots = F::ERASE_SIZE / SLOT;
    if free < slots {
        let at = pages[active] + (free * SLOT) as u32;
        flash.write(at, &bytes).map_err(PersistError::Flash)?;
    } else {
        let other = pages[1 - active];
        flash
            .erase(other, other + page)
            .map_err(PersistError::Flash)?;
        flash.write(other, &bytes).map_err(PersistError::Flash)?;
    }
    Ok(BootIdentity {
        boot: next.0,
        fresh_epoch: next.1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcmcare_device_models::{RamNorFlash, PAGE_SIZE};

    const P: u32 = PAGE_SIZE as u32;

    #[test]
    fn counts_up_from_one() {
        let mut f = RamNorFlash::<{ 4 * PAGE_SIZE }>::new();
        for i in 1..=5 {
            let id = next_boot(&mut f, P..3 * P).unwrap();
            assert_eq!(
                id,
                BootIdentity {
                    boot: i,
                    fresh_epoch: i
                }
            );
        }
    }

    #[test]
    fn survives_page_rollover_and_a_cut_erase() {
        let mut f = RamNorFlash::<{ 2 * PAGE_SIZE }>::new();
        let per_page = PAGE_SIZE / SLOT;
        for _ in 0..per_page {
            next_boot(&mut f, 0..2 * P).unwrap();
        }
        // The next boot erases page 1; cut the power during that erase.
        f.fail_after(0);
        assert!(next_boot(&mut f, 0..2 * P).is_err());
        f.restore_power();
        let id = next_boot(&mut f, 0..2 * P).unwrap();
        assert_eq!(id.boot as usize, per_page + 1);
        // And on past the second page's first slot.
        let id = next_boot(&mut f, 0..2 * P).unwrap();
        assert_eq!(id.boot as usize, per_page + 2);
    }

    #[test]
    fn bad_region_is_refused() {
        let mut f = RamNorFlash::<{ 2 * PAGE_SIZE }>::new();
        assert_eq!(next_boot(&mut f, 0..P), Err(PersistError::BadRegion));
        assert_eq!(
            next_boot(&mut f, 4..2 * P + 4),
            Err(PersistError::BadRegion)
        );
    }
}
