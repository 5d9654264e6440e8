//! The outbox on NOR flash (feature `flash`), on `sequential-storage`.
//!
//! Two regions of one flash: a `sequential-storage` queue holds the entries (each item is
//! the position as u32 little-endian followed by the envelope), and a `sequential-storage`
//! map holds the [`OutboxMeta`] under one key (the newest item wins). Both are power-fail
//! safe and CRC-check every item: a write cut by power loss leaves the previous state.
//!
//! Ordering makes every cut safe: an entry is appended before the outbox offers it; an
//! acknowledgement writes the meta before popping entries, and entries at or before the
//! acknowledged position that survive a cut are dropped when the outbox reopens.
//!
//! The flash is driven through the blocking `embedded-storage` traits (the kiosk's HAL);
//! `sequential-storage` is async, so each call runs to completion with
//! `embassy_futures::block_on` (the futures of a blocking flash never wait). Popping
//! acknowledged entries overwrites a word already written, so the flash must be
//! [`MultiwriteNorFlash`].
//!
//! **Write word.** `sequential-storage` (8.0.2, upstream issue #136) steps over a corrupt
//! (torn) item header one word at a time and writes the next item right after it; with
//! words smaller than its 8-byte item header, the torn bytes and the new item's first
//! bytes then read as one header, and if its length CRC happens to pass, that phantom
//! header swallows the new item (and every retry of the same bytes). This backend
//! therefore presents the flash to `sequential-storage` with a write word of at least
//! 8 bytes (the flash's own word if larger): every header is then
//! one word of its own, a torn header never shares a word with a later write, and the
//! writer's and the reader's scans see the same words. The flash's word must divide it.
//!
//! **Layout versions.** Layout 2 (this one) writes meta version [`FLASH_META_VERSION`]
//! (2). Layout 1 (meta version 1) used the flash's own word; on a flash whose word is 8
//! bytes or more the two are the same bytes and layout 1 is read as is. On a smaller word
//! a layout-1 outbox is detected and refused with [`FlashError::OldLayout`], untouched:
//! nothing in it is misread or dropped. Upload its records with the firmware that wrote
//! it, or [`FlashStorage::erase_all`] it (a wipe: the next open starts a new epoch).

use core::fmt;
use core::ops::Range;

use embedded_storage::nor_flash::{ErrorType, MultiwriteNorFlash, NorFlash, ReadNorFlash};
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapStorage};
use sequential_storage::queue::{QueueConfig, QueueStorage};

use super::outbox::{AppendError, EntryBounds, OutboxMeta, OutboxStorage, MAX_ENTRY_LEN};
use crate::ids::{DeviceId, Epoch};

/// Version of the meta record layout in the map region (`[version, device, epoch,
/// acked_through]` as u32s). 2: items on words of at least 8 bytes (see the module
/// docs); 1: items on the flash's own word.
pub const FLASH_META_VERSION: u32 = 2;

/// The meta version of layout 1 (the flash's own word).
const FLASH_META_VERSION_1: u32 = 1;

/// Smallest write word `sequential-storage` is shown: its item header's size, so that
/// a header is always one word of its own.
pub(crate) const STORAGE_WORD_MIN: usize = 8;

/// Bytes of a `sequential-storage` item header (CRC-32 of the data, length, CRC-16 of the
/// length).
const ITEM_HEADER_LEN: usize = 8;

/// Data bytes of a meta item: the key and four u32s.
const META_ITEM_LEN: usize = 1 + 16;

/// Key of the meta record in the map region.
const META_KEY: u8 = 1;

/// Bytes of the position in front of each queue item.
const POSITION_LEN: usize = 4;

/// Largest flash word `sequential-storage` supports; the buffer is padded by it.
const MAX_WORD: usize = 32;

/// Scratch buffer: the largest item plus word padding.
const BUF_LEN: usize = POSITION_LEN + MAX_ENTRY_LEN + MAX_WORD;

/// Errors of [`FlashStorage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FlashError<E> {
    /// The flash driver failed.
    Flash(E),
    /// `sequential-storage` found corruption it could not repair.
    Corrupted,
    /// The meta region is full (should not happen: it holds one key).
    MetaFull,
    /// The meta record has another layout version or a bad value.
    BadMeta,
    /// The outbox was written in layout 1 (items on a flash word smaller than
    /// 8 bytes, see the module docs): refused, nothing changed. Upload its
    /// records with the firmware that wrote it, or [`FlashStorage::erase_all`] it.
    OldLayout,
    /// Any other `sequential-storage` failure (a bug there or here).
    Internal,
}

impl<E: fmt::Debug> fmt::Display for FlashError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlashError::Flash(e) => write!(f, "flash driver error: {e:?}"),
            FlashError::Corrupted => f.write_str("flash outbox corrupted beyond repair"),
            FlashError::MetaFull => f.write_str("flash meta region full"),
            FlashError::BadMeta => f.write_str("flash meta record unreadable"),
            FlashError::OldLayout => f.write_str(
                "flash outbox written in layout 1 (older firmware): upload it with that firmware or erase it",
            ),
            FlashError::Internal => f.write_str("flash storage internal error"),
        }
    }
}

#[cfg(feature = "std")]
impl<E: fmt::Debug> std::error::Error for FlashError<E> {}

fn map_err<E>(e: sequential_storage::Error<E>) -> FlashError<E> {
    match e {
        sequential_storage::Error::Storage { value, .. } => FlashError::Flash(value),
        sequential_storage::Error::Corrupted { .. } => FlashError::Corrupted,
        sequential_storage::Error::FullStorage => FlashError::MetaFull,
        _ => FlashError::Internal,
    }
}

/// Why [`FlashStorage::new`] refused a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FlashConfigError {
    /// A region does not start and end on erase-page boundaries, or is too small (queue:
    /// at least one page; meta: at least two).
    BadRegion,
    /// The two regions overlap or exceed the flash.
    Overlap,
    /// An erase page cannot hold the largest entry ([`MAX_ENTRY_LEN`]), or the flash's
    /// word does not divide 8 and is not a multiple of it, or it exceeds 32 bytes.
    PageTooSmall,
}

impl fmt::Display for FlashConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlashConfigError::BadRegion => {
                f.write_str("flash region not page aligned or too small")
            }
            FlashConfigError::Overlap => f.write_str("flash regions overlap or exceed the flash"),
            FlashConfigError::PageTooSmall => {
                f.write_str("flash page too small for the largest outbox entry")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FlashConfigError {}

/// The word `sequential-storage` is shown for a flash of `F`: [`STORAGE_WORD_MIN`] or the
/// flash's own word if larger.
const fn storage_word(read: usize, write: usize) -> usize {
    let own = if read > write { read } else { write };
    if own > STORAGE_WORD_MIN {
        own
    } else {
        STORAGE_WORD_MIN
    }
}

/// Runs a blocking flash behind the async traits `sequential-storage` uses, with a write
/// word of [`storage_word`] bytes (see the module docs). `sequential-storage` writes whole
/// words at word-aligned offsets (it pads items itself), which are whole words of the
/// flash too since its word divides this one ([`FlashStorage::new`] checks). Reads pass
/// through at the flash's read size.
struct Blocking<'a, F>(&'a mut F);

impl<F: ErrorType> ErrorType for Blocking<'_, F> {
    type Error = F::Error;
}

impl<F: ReadNorFlash> embedded_storage_async::nor_flash::ReadNorFlash for Blocking<'_, F> {
    const READ_SIZE: usize = F::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        ReadNorFlash::read(self.0, offset, bytes)
    }

    fn capacity(&self) -> usize {
        ReadNorFlash::capacity(self.0)
    }
}

impl<F: NorFlash> embedded_storage_async::nor_flash::NorFlash for Blocking<'_, F> {
    const WRITE_SIZE: usize = storage_word(F::READ_SIZE, F::WRITE_SIZE);
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        NorFlash::erase(self.0, from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        NorFlash::write(self.0, offset, bytes)
    }
}

impl<F: MultiwriteNorFlash> embedded_storage_async::nor_flash::MultiwriteNorFlash
    for Blocking<'_, F>
{
}

/// Word-aligned scratch buffer (some flash drivers need aligned source buffers).
#[repr(align(4))]
struct Aligned([u8; BUF_LEN]);

/// An outbox backend on NOR flash: entries in a `sequential-storage` queue region, the
/// meta in a `sequential-storage` map region. No allocation; holds one entry-sized
/// buffer.
///
/// `sequential-storage` is shown a write word of at least 8 bytes (its item header's
/// size), so a header torn by a power cut never shares a word with a later write
/// (upstream issue #136: the torn bytes and the next item's first bytes read as one
/// phantom header that swallowed the item). That is on-flash layout 2 (meta version
/// [`FLASH_META_VERSION`]); a layout-1 outbox written on a smaller flash word is refused
/// untouched with [`FlashError::OldLayout`].
pub struct FlashStorage<F: MultiwriteNorFlash> {
    flash: F,
    queue: Range<u32>,
    meta: Range<u32>,
    buf: Aligned,
    /// The meta region was found to be in this layout (checked once, before the first
    /// operation).
    layout_checked: bool,
}

impl<F: MultiwriteNorFlash> fmt::Debug for FlashStorage<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlashStorage")
            .field("queue", &self.queue)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

impl<F: MultiwriteNorFlash> FlashStorage<F> {
    /// An outbox backend on `flash` with entries in `queue_range` and the meta in
    /// `meta_range` (byte addresses, on erase-page boundaries; the queue needs at least
    /// one page, the meta two, and a page must hold a [`MAX_ENTRY_LEN`] entry). Existing
    /// contents are kept: this is how an outbox is reopened after a restart.
    pub fn new(
        flash: F,
        queue_range: Range<u32>,
        meta_range: Range<u32>,
    ) -> Result<Self, FlashConfigError> {
        QueueConfig::<Blocking<'_, F>>::try_new(queue_range.clone())
            .map_err(|_| FlashConfigError::BadRegion)?;
        MapConfig::<Blocking<'_, F>>::try_new(meta_range.clone())
            .map_err(|_| FlashConfigError::BadRegion)?;
        let capacity = flash.capacity() as u64;
        if queue_range.start < meta_range.end && meta_range.start < queue_range.end
            || queue_range.end as u64 > capacity
            || meta_range.end as u64 > capacity
        {
            return Err(FlashConfigError::Overlap);
        }
        let own = F::READ_SIZE.max(F::WRITE_SIZE);
        let word = storage_word(F::READ_SIZE, F::WRITE_SIZE);
        let overhead =
            QueueStorage::<Blocking<'_, F>, Cache<Uncached, Uncached, Uncached>>::item_overhead_size(
            ) as usize;
        let item = (POSITION_LEN + MAX_ENTRY_LEN).div_ceil(word) * word;
        if F::ERASE_SIZE < 2 * word + overhead + item
            || word > MAX_WORD
            || own == 0
            || word % own != 0
            || F::ERASE_SIZE % word != 0
        {
            return Err(FlashConfigError::PageTooSmall);
        }
        Ok(FlashStorage {
            flash,
            queue: queue_range,
            meta: meta_range,
            buf: Aligned([0; BUF_LEN]),
            layout_checked: false,
        })
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.flash
    }

    /// Erases both regions (a wipe: the next [`super::Outbox::open`] starts a new epoch).
    /// Also how an outbox refused with [`FlashError::OldLayout`] is given up.
    pub fn erase_all(&mut self) -> Result<(), FlashError<F::Error>> {
        NorFlash::erase(&mut self.flash, self.queue.start, self.queue.end)
            .map_err(FlashError::Flash)?;
        NorFlash::erase(&mut self.flash, self.meta.start, self.meta.end)
            .map_err(FlashError::Flash)?;
        self.layout_checked = true;
        Ok(())
    }

    /// The newest meta record as `sequential-storage` reads it with this layout's word.
    fn fetch_meta(&mut self) -> Result<Option<[u32; 4]>, FlashError<F::Error>> {
        let config = MapConfig::try_new(self.meta.clone()).map_err(|_| FlashError::Internal)?;
        let mut map =
            MapStorage::<u8, _, _>::new(Blocking(&mut self.flash), config, Cache::new_uncached());
        let buf = &mut self.buf.0;
        embassy_futures::block_on(map.fetch_item::<[u32; 4]>(buf, &META_KEY)).map_err(map_err)
    }

    /// Refuses an outbox of layout 1 on a flash whose own word is smaller than this
    /// layout's (once: after that the answer is known). Layout 2 is recognised by its
    /// meta record; without one, the meta region is searched for a layout-1 meta item
    /// at every flash word (what the scan of layout 1 would have found, and more), so an
    /// old outbox is never misread as empty or as entries.
    fn check_layout(&mut self) -> Result<(), FlashError<F::Error>> {
        if self.layout_checked {
            return Ok(());
        }
        let own = F::READ_SIZE.max(F::WRITE_SIZE);
        if own >= storage_word(F::READ_SIZE, F::WRITE_SIZE) {
            // Layouts 1 and 2 are the same bytes.
            self.layout_checked = true;
            return Ok(());
        }
        let current = match self.fetch_meta() {
            Ok(Some([FLASH_META_VERSION, ..])) => true,
            Ok(_) => false,
            // Layout 1 read with a larger word may look corrupt; decided below.
            Err(FlashError::Flash(e)) => return Err(FlashError::Flash(e)),
            Err(_) => false,
        };
        if !current && self.holds_layout_1_meta()? {
            return Err(FlashError::OldLayout);
        }
        self.layout_checked = true;
        Ok(())
    }

    /// Whether the meta region holds a complete layout-1 meta item at some flash word.
    fn holds_layout_1_meta(&mut self) -> Result<bool, FlashError<F::Error>> {
        let own = F::READ_SIZE.max(F::WRITE_SIZE);
        let page = F::ERASE_SIZE as u32;
        let padded = META_ITEM_LEN.div_ceil(own) * own;
        let header_len = ITEM_HEADER_LEN.div_ceil(own) * own;
        let mut page_start = self.meta.start;
        while page_start < self.meta.end {
            // Items sit between the page's first and last word (its state markers).
            let end = page_start + page - own as u32;
            let mut at = page_start + own as u32;
            while at as usize + header_len + padded <= end as usize {
                let item = self
                    .buf
                    .0
                    .get_mut(..header_len + padded)
                    .ok_or(FlashError::Internal)?;
                ReadNorFlash::read(&mut self.flash, at, item).map_err(FlashError::Flash)?;
                if is_layout_1_meta_item(item, header_len) {
                    return Ok(true);
                }
                at += own as u32;
            }
            page_start += page;
        }
        Ok(false)
    }

    /// Visits the valid entries oldest first: `visit(position, entry, pop)` returns
    /// (continue, pop this one).
    fn scan<V>(&mut self, mut visit: V) -> Result<(), FlashError<F::Error>>
    where
        V: FnMut(u32, &[u8]) -> (bool, bool),
    {
        self.check_layout()?;
        let config = QueueConfig::try_new(self.queue.clone()).map_err(|_| FlashError::Internal)?;
        let mut queue = QueueStorage::new(Blocking(&mut self.flash), config, Cache::new_uncached());
        let buf = &mut self.buf.0;
        embassy_futures::block_on(async {
            let mut iter = queue.iter().await.map_err(map_err)?;
            loop {
                let Some(entry) = iter.next(buf).await.map_err(map_err)? else {
                    return Ok(());
                };
                let (go_on, pop) = match entry.get(..POSITION_LEN) {
                    Some(p) => {
                        let position = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
                        visit(position, entry.get(POSITION_LEN..).unwrap_or(&[]))
                    }
                    // Not written by this backend: drop it.
                    None => (true, true),
                };
                if pop {
                    entry.pop().await.map_err(map_err)?;
                }
                if !go_on {
                    return Ok(());
                }
            }
        })
    }
}

/// Whether `item` (a header of `header_len` bytes, then the data padded) is a complete
/// layout-1 meta item: valid length CRC, [`META_ITEM_LEN`] data bytes, a data CRC that
/// matches, the meta key and version 1.
fn is_layout_1_meta_item(item: &[u8], header_len: usize) -> bool {
    let (Some(h), Some(data)) = (
        item.get(..ITEM_HEADER_LEN),
        item.get(header_len..header_len + META_ITEM_LEN),
    ) else {
        return false;
    };
    let crc = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let len = u16::from_le_bytes([h[4], h[5]]);
    crc != 0
        && usize::from(len) == META_ITEM_LEN
        && item_length_crc(&h[4..6]) == u16::from_le_bytes([h[6], h[7]])
        && item_data_crc(data) == crc
        && data[0] == META_KEY
        && data[1..5] == FLASH_META_VERSION_1.to_le_bytes()
}

/// `sequential-storage` 8.0.2's CRC-16 of an item's length field.
fn item_length_crc(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xffff;
    for byte in data {
        crc ^= u16::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x1a2e
            } else {
                crc >> 1
            };
        }
    }
    match crc ^ 0xffff {
        0xFFFF => 0xFFFE,
        c => c,
    }
}

/// `sequential-storage` 8.0.2's CRC-32 of an item's data (Castagnoli, initial value
/// 0xEEEEEEEE, never 0, first byte neither 0x00 nor 0xFF).
fn item_data_crc(data: &[u8]) -> u32 {
    let mut crc: u32 = 0xEEEE_EEEE;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            let low = crc & 1 > 0;
            crc >>= 1;
            if low {
                crc ^= 0x82f6_3b78;
            }
        }
    }
    match !crc {
        0 => 1,
        v if v.to_le_bytes()[0] == 0 || v.to_le_bytes()[0] == 0xFF => v ^ 1,
        v => v,
    }
}

impl<F: MultiwriteNorFlash> OutboxStorage for FlashStorage<F> {
    type Error = FlashError<F::Error>;

    fn load_meta(&mut self) -> Result<Option<OutboxMeta>, Self::Error> {
        self.check_layout()?;
        let same_bytes = F::READ_SIZE.max(F::WRITE_SIZE) >= STORAGE_WORD_MIN;
        match self.fetch_meta()? {
            None => Ok(None),
            Some([version, device, epoch, acked])
                if version == FLASH_META_VERSION
                    || (version == FLASH_META_VERSION_1 && same_bytes) =>
            {
                Ok(Some(OutboxMeta {
                    device: DeviceId(device),
                    epoch: Epoch(epoch),
                    acked_through: acked,
                }))
            }
            Some([FLASH_META_VERSION_1, ..]) => Err(FlashError::OldLayout),
            Some(_) => Err(FlashError::BadMeta),
        }
    }

    fn store_meta(&mut self, meta: &OutboxMeta) -> Result<(), Self::Error> {
        self.check_layout()?;
        let config = MapConfig::try_new(self.meta.clone()).map_err(|_| FlashError::Internal)?;
        let mut map =
            MapStorage::<u8, _, _>::new(Blocking(&mut self.flash), config, Cache::new_uncached());
        let value: [u32; 4] = [
            FLASH_META_VERSION,
            meta.device.0,
            meta.epoch.0,
            meta.acked_through,
        ];
        let buf = &mut self.buf.0;
        embassy_futures::block_on(map.store_item(buf, &META_KEY, &value)).map_err(map_err)
    }

    fn append(&mut self, position: u32, entry: &[u8]) -> Result<(), AppendError<Self::Error>> {
        self.check_layout().map_err(AppendError::Storage)?;
        let len = POSITION_LEN + entry.len();
        let Some(item) = self.buf.0.get_mut(..len) else {
            return Err(AppendError::Full);
        };
        item[..POSITION_LEN].copy_from_slice(&position.to_le_bytes());
        item[POSITION_LEN..].copy_from_slice(entry);
        let config = QueueConfig::try_new(self.queue.clone())
            .map_err(|_| AppendError::Storage(FlashError::Internal))?;
        let mut queue = QueueStorage::new(Blocking(&mut self.flash), config, Cache::new_uncached());
        match embassy_futures::block_on(queue.push(&self.buf.0[..len], false)) {
            Ok(()) => Ok(()),
            Err(sequential_storage::Error::FullStorage) => Err(AppendError::Full),
            Err(e) => Err(AppendError::Storage(map_err(e))),
        }
    }

    fn bounds(&mut self) -> Result<Option<EntryBounds>, Self::Error> {
        let mut bounds: Option<EntryBounds> = None;
        self.scan(|position, _| {
            bounds = Some(match bounds {
                None => EntryBounds {
                    oldest: position,
                    newest: position,
                    count: 1,
                },
                Some(b) => EntryBounds {
                    oldest: b.oldest.min(position),
                    newest: b.newest.max(position),
                    count: b.count + 1,
                },
            });
            (true, false)
        })?;
        Ok(bounds)
    }

    fn remove_through(&mut self, position: u32) -> Result<(), Self::Error> {
        self.scan(|p, _| {
            if p <= position {
                (true, true)
            } else {
                (false, false)
            }
        })
    }

    fn read_from<V>(&mut self, from: u32, mut visit: V) -> Result<(), Self::Error>
    where
        V: FnMut(u32, &[u8]) -> bool,
    {
        self.scan(|p, entry| {
            if p < from {
                (true, false)
            } else {
                (visit(p, entry), false)
            }
        })
    }

    fn free_bytes(&mut self) -> Result<usize, Self::Error> {
        self.check_layout()?;
        let config = QueueConfig::try_new(self.queue.clone()).map_err(|_| FlashError::Internal)?;
        let mut queue = QueueStorage::new(Blocking(&mut self.flash), config, Cache::new_uncached());
        embassy_futures::block_on(queue.space_left())
            .map(|n| n as usize)
            .map_err(map_err)
    }
}

#[cfg(test)]
mod tests;
