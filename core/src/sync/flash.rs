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

use core::fmt;
use core::ops::Range;

use embedded_storage::nor_flash::{ErrorType, MultiwriteNorFlash, NorFlash, ReadNorFlash};
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapStorage};
use sequential_storage::queue::{QueueConfig, QueueStorage};

use super::outbox::{AppendError, EntryBounds, OutboxMeta, OutboxStorage, MAX_ENTRY_LEN};
use crate::ids::{DeviceId, Epoch};

/// Version of the meta record layout in the map region (`[version, device, epoch,
/// acked_through]` as u32s).
pub const FLASH_META_VERSION: u32 = 1;

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
    /// An erase page cannot hold the largest entry ([`MAX_ENTRY_LEN`]).
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

/// Runs a blocking flash behind the async traits `sequential-storage` uses.
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
    const WRITE_SIZE: usize = F::WRITE_SIZE;
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
pub struct FlashStorage<F: MultiwriteNorFlash> {
    flash: F,
    queue: Range<u32>,
    meta: Range<u32>,
    buf: Aligned,
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
        let word = F::READ_SIZE.max(F::WRITE_SIZE);
        let overhead =
            QueueStorage::<Blocking<'_, F>, Cache<Uncached, Uncached, Uncached>>::item_overhead_size(
            ) as usize;
        let item = (POSITION_LEN + MAX_ENTRY_LEN).div_ceil(word) * word;
        if F::ERASE_SIZE < 2 * word + overhead + item || word > MAX_WORD {
            return Err(FlashConfigError::PageTooSmall);
        }
        Ok(FlashStorage {
            flash,
            queue: queue_range,
            meta: meta_range,
            buf: Aligned([0; BUF_LEN]),
        })
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.flash
    }

    /// Erases both regions (a wipe: the next [`super::Outbox::open`] starts a new epoch).
    pub fn erase_all(&mut self) -> Result<(), FlashError<F::Error>> {
        NorFlash::erase(&mut self.flash, self.queue.start, self.queue.end)
            .map_err(FlashError::Flash)?;
        NorFlash::erase(&mut self.flash, self.meta.start, self.meta.end).map_err(FlashError::Flash)
    }

    /// Visits the valid entries oldest first: `visit(position, entry, pop)` returns
    /// (continue, pop this one).
    fn scan<V>(&mut self, mut visit: V) -> Result<(), FlashError<F::Error>>
    where
        V: FnMut(u32, &[u8]) -> (bool, bool),
    {
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

impl<F: MultiwriteNorFlash> OutboxStorage for FlashStorage<F> {
    type Error = FlashError<F::Error>;

    fn load_meta(&mut self) -> Result<Option<OutboxMeta>, Self::Error> {
        let config = MapConfig::try_new(self.meta.clone()).map_err(|_| FlashError::Internal)?;
        let mut map =
            MapStorage::<u8, _, _>::new(Blocking(&mut self.flash), config, Cache::new_uncached());
        let buf = &mut self.buf.0;
        let value = embassy_futures::block_on(map.fetch_item::<[u32; 4]>(buf, &META_KEY))
            .map_err(map_err)?;
        match value {
            None => Ok(None),
            Some([FLASH_META_VERSION, device, epoch, acked]) => Ok(Some(OutboxMeta {
                device: DeviceId(device),
                epoch: Epoch(epoch),
                acked_through: acked,
            })),
            Some(_) => Err(FlashError::BadMeta),
        }
    }

    fn store_meta(&mut self, meta: &OutboxMeta) -> Result<(), Self::Error> {
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
        let config = QueueConfig::try_new(self.queue.clone()).map_err(|_| FlashError::Internal)?;
        let mut queue = QueueStorage::new(Blocking(&mut self.flash), config, Cache::new_uncached());
        embassy_futures::block_on(queue.space_left())
            .map(|n| n as usize)
            .map_err(map_err)
    }
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::*;
    use crate::ids::{CareHomeId, RecordId, ResidentNumber, ResidentRef, Seq};
    use crate::record::{Body, Header, Record, VitalSigns};
    use crate::sync::{Outbox, OutboxError};
    use crate::time::{Timestamp, UtcSeconds};
    use embedded_storage::nor_flash::{NorFlashError, NorFlashErrorKind};

    const PAGE: usize = 2048;
    const WORD: usize = 4;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum MockError {
        OutOfBounds,
        PowerCut,
    }

    impl NorFlashError for MockError {
        fn kind(&self) -> NorFlashErrorKind {
            match self {
                MockError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
                MockError::PowerCut => NorFlashErrorKind::Other,
            }
        }
    }

    /// NOR flash in memory: erase sets 0xFF, writes AND bits in. With `cut` set, power
    /// fails after that many more bytes are written or erased: earlier bytes are done,
    /// later ones untouched, and every later operation fails.
    #[derive(Debug, Clone)]
    struct MockFlash {
        mem: Vec<u8>,
        cut: Option<usize>,
        dead: bool,
    }

    impl MockFlash {
        fn new(pages: usize) -> Self {
            MockFlash {
                mem: std::vec![0xFF; pages * PAGE],
                cut: None,
                dead: false,
            }
        }
        fn tick(&mut self) -> Result<(), MockError> {
            if self.dead {
                return Err(MockError::PowerCut);
            }
            if let Some(n) = self.cut.as_mut() {
                if *n == 0 {
                    self.dead = true;
                    return Err(MockError::PowerCut);
                }
                *n -= 1;
            }
            Ok(())
        }
    }

    impl ErrorType for MockFlash {
        type Error = MockError;
    }

    impl ReadNorFlash for MockFlash {
        const READ_SIZE: usize = WORD;
        fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), MockError> {
            if self.dead {
                return Err(MockError::PowerCut);
            }
            let o = offset as usize;
            let src = self
                .mem
                .get(o..o + bytes.len())
                .ok_or(MockError::OutOfBounds)?;
            bytes.copy_from_slice(src);
            Ok(())
        }
        fn capacity(&self) -> usize {
            self.mem.len()
        }
    }

    impl NorFlash for MockFlash {
        const WRITE_SIZE: usize = WORD;
        const ERASE_SIZE: usize = PAGE;
        fn erase(&mut self, from: u32, to: u32) -> Result<(), MockError> {
            if to as usize > self.mem.len() {
                return Err(MockError::OutOfBounds);
            }
            for i in from as usize..to as usize {
                self.tick()?;
                self.mem[i] = 0xFF;
            }
            Ok(())
        }
        fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), MockError> {
            let o = offset as usize;
            if o + bytes.len() > self.mem.len() {
                return Err(MockError::OutOfBounds);
            }
            for (i, b) in bytes.iter().enumerate() {
                self.tick()?;
                self.mem[o + i] &= *b;
            }
            Ok(())
        }
    }

    impl MultiwriteNorFlash for MockFlash {}

    fn storage(flash: MockFlash) -> FlashStorage<MockFlash> {
        // Queue: pages 0..2, meta: pages 2..4.
        let q = 0..(2 * PAGE) as u32;
        let m = (2 * PAGE) as u32..(4 * PAGE) as u32;
        FlashStorage::new(flash, q, m).unwrap()
    }

    fn vitals(seq: u32) -> Vec<u8> {
        let r = Record {
            header: Header {
                id: RecordId {
                    device: DeviceId(7),
                    epoch: Epoch(1),
                    seq: Seq(seq),
                },
                resident: ResidentRef {
                    care_home: CareHomeId(3101),
                    number: ResidentNumber(1234),
                },
                time: Timestamp::Utc(UtcSeconds::new(1_773_563_400).unwrap()),
            },
            body: Body::Vitals(VitalSigns {
                pulse_per_min: Some(70),
                ..Default::default()
            }),
        };
        let mut b = [0u8; 128];
        let n = r.encode(&mut b).unwrap();
        b[..n].to_vec()
    }

    fn positions(o: &mut Outbox<FlashStorage<MockFlash>>) -> Vec<u32> {
        let mut v = Vec::new();
        o.read_from(0, |p, e| {
            assert_eq!(e, vitals(p));
            v.push(p);
            true
        })
        .unwrap();
        v
    }

    #[test]
    fn layout_is_checked() {
        let f = MockFlash::new(4);
        let q = 0..PAGE as u32;
        assert_eq!(
            FlashStorage::new(f.clone(), q.clone(), 0..(2 * PAGE) as u32).err(),
            Some(FlashConfigError::Overlap)
        );
        assert_eq!(
            FlashStorage::new(f.clone(), 1..PAGE as u32, PAGE as u32..(3 * PAGE) as u32).err(),
            Some(FlashConfigError::BadRegion)
        );
        assert_eq!(
            FlashStorage::new(f.clone(), q.clone(), (3 * PAGE) as u32..(4 * PAGE) as u32).err(),
            Some(FlashConfigError::BadRegion),
            "meta needs two pages"
        );
        assert_eq!(
            FlashStorage::new(f, q, (2 * PAGE) as u32..(5 * PAGE) as u32).err(),
            Some(FlashConfigError::Overlap),
            "beyond the flash"
        );
    }

    #[test]
    fn flash_outbox_resumes_and_refuses_when_full() {
        let mut o = Outbox::open(storage(MockFlash::new(4)), DeviceId(7), Epoch(1)).unwrap();
        assert!(o.started_new_epoch());
        let mut pushed = 0;
        loop {
            match o.push(&vitals(pushed + 1)) {
                Ok(p) => {
                    pushed += 1;
                    assert_eq!(p, pushed);
                }
                Err(OutboxError::Full) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        // Two 2 KiB pages of 20-byte envelopes (+4 position, +8 header): well over 100.
        assert!(pushed > 100, "{pushed}");
        assert_eq!(positions(&mut o), (1..=pushed).collect::<Vec<_>>());
        o.ack(10).unwrap();
        let flash = o.into_storage().into_flash();
        let mut o = Outbox::open(storage(flash), DeviceId(7), Epoch(5)).unwrap();
        assert!(!o.started_new_epoch());
        assert_eq!(o.epoch(), Epoch(1));
        assert_eq!(o.acked_through(), 10);
        assert_eq!(o.next_seq(), Some(Seq(pushed + 1)));
        assert_eq!(positions(&mut o), (11..=pushed).collect::<Vec<_>>());
        // Acknowledging everything frees the queue; numbering continues.
        o.ack(pushed).unwrap();
        assert!(o.is_empty());
        o.push(&vitals(pushed + 1)).unwrap();
        let flash = o.into_storage().into_flash();
        let mut o = Outbox::open(storage(flash), DeviceId(7), Epoch(5)).unwrap();
        assert_eq!(positions(&mut o), [pushed + 1]);
    }

    #[test]
    fn power_cut_at_every_byte_of_push_and_ack_loses_nothing_accepted() {
        // Base state: 1..=5 pushed, 1..=2 acknowledged.
        let mut o = Outbox::open(storage(MockFlash::new(4)), DeviceId(7), Epoch(1)).unwrap();
        for s in 1..=5 {
            o.push(&vitals(s)).unwrap();
        }
        o.ack(2).unwrap();
        let base = o.into_storage().into_flash();
        let mut cut = 0;
        loop {
            // Push 6 then acknowledge through 4, with power failing after `cut` bytes.
            let mut f = base.clone();
            f.cut = Some(cut);
            let mut o = Outbox::open(storage(f), DeviceId(7), Epoch(1)).unwrap();
            let pushed = o.push(&vitals(6)).is_ok();
            let acked = pushed && o.ack(4).is_ok();
            let mut f = o.into_storage().into_flash();
            let finished = !f.dead;
            f.cut = None;
            f.dead = false;
            let mut o = Outbox::open(storage(f), DeviceId(7), Epoch(1)).unwrap();
            let got = positions(&mut o);
            // Whatever was reported done is there; 6 may be there even if the cut hit
            // after its item was complete.
            if acked {
                assert_eq!(got, [5, 6], "cut {cut}");
            } else if pushed {
                assert!(got == [3, 4, 5, 6] || got == [5, 6], "cut {cut}: {got:?}");
            } else {
                assert!(
                    got == [3, 4, 5] || got == [3, 4, 5, 6],
                    "cut {cut}: {got:?}"
                );
            }
            assert_eq!(o.next_seq(), Some(Seq(got[got.len() - 1] + 1)));
            if finished {
                break;
            }
            cut += 1;
        }
        assert!(cut > 20, "the operations wrote only {cut} bytes");
    }
}
