//! The sender's outbox: persisted record envelopes waiting for acknowledgement.

use core::fmt;

use crate::ids::{DeviceId, Epoch, RecordId, Seq};
use crate::wire::codec::DecodeError;
use crate::wire::{Envelope, MAX_ENVELOPE_LEN};

/// Largest envelope an outbox accepts. Larger than [`MAX_ENVELOPE_LEN`] (the largest this
/// version writes) so a terminal can forward a newer writer's longer bodies unchanged.
pub const MAX_ENTRY_LEN: usize = 1024;

const _: () = assert!(MAX_ENVELOPE_LEN <= MAX_ENTRY_LEN);

/// State an outbox persists besides its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OutboxMeta {
    /// The device owning the stream.
    pub device: DeviceId,
    /// The stream's epoch.
    pub epoch: Epoch,
    /// Every position up to this one has been acknowledged (0 for none). Written before
    /// acknowledged entries are removed, so the numbering survives an empty outbox.
    pub acked_through: u32,
}

/// Oldest and newest stored positions and the number of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EntryBounds {
    /// Position of the oldest stored entry.
    pub oldest: u32,
    /// Position of the newest stored entry.
    pub newest: u32,
    /// Number of stored entries.
    pub count: usize,
}

/// Why a storage backend did not append an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AppendError<E> {
    /// No room: nothing was written and nothing was overwritten.
    Full,
    /// The backend failed.
    Storage(E),
}

/// Where an [`Outbox`] keeps its entries and meta. Implementations must make an append
/// durable before returning `Ok`, never overwrite entries to make room, and keep entries
/// in append order. Positions are appended consecutively by the outbox.
pub trait OutboxStorage {
    /// The backend's error.
    type Error: fmt::Debug;

    /// The persisted meta, `None` on new or wiped storage.
    fn load_meta(&mut self) -> Result<Option<OutboxMeta>, Self::Error>;

    /// Persists the meta (the newest write wins).
    fn store_meta(&mut self, meta: &OutboxMeta) -> Result<(), Self::Error>;

    /// Appends an entry at `position` (one more than the newest entry's).
    fn append(&mut self, position: u32, entry: &[u8]) -> Result<(), AppendError<Self::Error>>;

    /// Oldest / newest positions and the count, `None` when there are no entries.
    fn bounds(&mut self) -> Result<Option<EntryBounds>, Self::Error>;

    /// Removes every entry at or before `position`.
    fn remove_through(&mut self, position: u32) -> Result<(), Self::Error>;

    /// Calls `visit(position, entry)` for the stored entries with a position of `from` or
    /// more, oldest first, until `visit` returns `false`.
    fn read_from<F>(&mut self, from: u32, visit: F) -> Result<(), Self::Error>
    where
        F: FnMut(u32, &[u8]) -> bool;

    /// Bytes still free for entries (a hint: per-entry overhead and fragmentation make the
    /// exact number of further entries backend-specific).
    fn free_bytes(&mut self) -> Result<usize, Self::Error>;
}

/// A borrowed storage is a storage: the outbox can lend it (e.g. one kept in a `static`
/// or on the heap) instead of owning it.
impl<S: OutboxStorage> OutboxStorage for &mut S {
    type Error = S::Error;

    fn load_meta(&mut self) -> Result<Option<OutboxMeta>, Self::Error> {
        (**self).load_meta()
    }

    fn store_meta(&mut self, meta: &OutboxMeta) -> Result<(), Self::Error> {
        (**self).store_meta(meta)
    }

    fn append(&mut self, position: u32, entry: &[u8]) -> Result<(), AppendError<Self::Error>> {
        (**self).append(position, entry)
    }

    fn bounds(&mut self) -> Result<Option<EntryBounds>, Self::Error> {
        (**self).bounds()
    }

    fn remove_through(&mut self, position: u32) -> Result<(), Self::Error> {
        (**self).remove_through(position)
    }

    fn read_from<F>(&mut self, from: u32, visit: F) -> Result<(), Self::Error>
    where
        F: FnMut(u32, &[u8]) -> bool,
    {
        (**self).read_from(from, visit)
    }

    fn free_bytes(&mut self) -> Result<usize, Self::Error> {
        (**self).free_bytes()
    }
}

/// Errors of [`Outbox`] operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OutboxError<E> {
    /// The outbox is full; the record was not stored and nothing was overwritten. Retry
    /// after the receiver acknowledges, or decide what to do with the record.
    Full,
    /// The envelope is longer than [`MAX_ENTRY_LEN`].
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The bytes are not one complete envelope with a readable header.
    Malformed(DecodeError),
    /// A record of this device must carry the outbox's epoch and the next sequence number
    /// ([`Outbox::next_seq`]).
    SeqMismatch {
        /// The id the record must have.
        expected: RecordId,
        /// The id it has.
        found: RecordId,
    },
    /// The 32-bit position space of this epoch is used up: start a new epoch.
    PositionsExhausted,
    /// Device id 0 or epoch 0 given to [`Outbox::open`].
    InvalidIdentity,
    /// The storage belongs to another device.
    DeviceMismatch {
        /// The device recorded in storage.
        stored: DeviceId,
    },
    /// The storage holds entries but no meta, or its entries are not the consecutive
    /// positions after the acknowledged ones: it cannot be resumed safely. Wipe it and start
    /// a new epoch.
    Corrupt,
    /// An acknowledgement for a position never assigned (a confused receiver).
    AckBeyondLast {
        /// The acknowledged position.
        watermark: u32,
        /// The newest assigned position.
        last: u32,
    },
    /// The storage backend failed.
    Storage(E),
}

impl<E: fmt::Debug> fmt::Display for OutboxError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutboxError::Full => f.write_str("outbox full: record refused, nothing overwritten"),
            OutboxError::TooLarge { len } => {
                write!(f, "envelope of {len} bytes exceeds {MAX_ENTRY_LEN}")
            }
            OutboxError::Malformed(e) => write!(f, "not a record envelope: {e}"),
            OutboxError::SeqMismatch { expected, found } => {
                write!(f, "record id {found} where {expected} is next")
            }
            OutboxError::PositionsExhausted => {
                f.write_str("positions of this epoch exhausted: start a new epoch")
            }
            OutboxError::InvalidIdentity => f.write_str("device id and epoch must not be 0"),
            OutboxError::DeviceMismatch { stored } => {
                write!(f, "storage belongs to device {}", stored.0)
            }
            OutboxError::Corrupt => {
                f.write_str("outbox storage inconsistent: wipe it and start a new epoch")
            }
            OutboxError::AckBeyondLast { watermark, last } => {
                write!(
                    f,
                    "acknowledgement of {watermark} beyond last position {last}"
                )
            }
            OutboxError::Storage(e) => write!(f, "outbox storage failed: {e:?}"),
        }
    }
}

#[cfg(feature = "std")]
impl<E: fmt::Debug> std::error::Error for OutboxError<E> {}

/// The sender's queue of encoded records, numbered per `(device, epoch)` stream.
///
/// ```
/// use tcmcare_core::ids::{DeviceId, Epoch};
/// use tcmcare_core::sync::{Outbox, OutboxError, RamStorage};
/// let mut outbox = Outbox::open(RamStorage::<4096>::new(), DeviceId(7), Epoch(1)).unwrap();
/// assert_eq!(outbox.next_seq().unwrap().0, 1); // put seq 1 in the next record's header
/// assert!(outbox.is_empty());
/// ```
#[derive(Debug)]
pub struct Outbox<S: OutboxStorage> {
    storage: S,
    device: DeviceId,
    epoch: Epoch,
    last: u32,
    acked: u32,
    new_epoch: bool,
}

impl<S: OutboxStorage> Outbox<S> {
    /// Opens the outbox in `storage`. If it holds an outbox of `device`, that outbox
    /// resumes with the same entries, epoch and numbering (`new_epoch` is not used). If
    /// the storage is new or wiped, a new stream starts at `new_epoch`, position 1: the
    /// caller must give an epoch this device never used (provisioning keeps the last one
    /// outside the outbox storage); [`Outbox::started_new_epoch`] tells which case it was.
    pub fn open(
        mut storage: S,
        device: DeviceId,
        new_epoch: Epoch,
    ) -> Result<Self, OutboxError<S::Error>> {
        if device.0 == 0 || new_epoch.0 == 0 {
            return Err(OutboxError::InvalidIdentity);
        }
        let meta = storage.load_meta().map_err(OutboxError::Storage)?;
        let bounds = storage.bounds().map_err(OutboxError::Storage)?;
        match meta {
            None => {
                if bounds.is_some() {
                    return Err(OutboxError::Corrupt);
                }
                storage
                    .store_meta(&OutboxMeta {
                        device,
                        epoch: new_epoch,
                        acked_through: 0,
                    })
                    .map_err(OutboxError::Storage)?;
                Ok(Outbox {
                    storage,
                    device,
                    epoch: new_epoch,
                    last: 0,
                    acked: 0,
                    new_epoch: true,
                })
            }
            Some(meta) => {
                if meta.device != device {
                    return Err(OutboxError::DeviceMismatch {
                        stored: meta.device,
                    });
                }
                if meta.epoch.0 == 0 {
                    return Err(OutboxError::Corrupt);
                }
                let acked = meta.acked_through;
                let mut last = acked;
                if let Some(b) = bounds {
                    // Entries at or before `acked` may survive a power cut between the
                    // meta write and their removal: drop them now.
                    if b.oldest <= acked {
                        storage
                            .remove_through(acked)
                            .map_err(OutboxError::Storage)?;
                    }
                    if b.newest > acked {
                        let live = storage
                            .bounds()
                            .map_err(OutboxError::Storage)?
                            .ok_or(OutboxError::Corrupt)?;
                        let expected_count = (live.newest - acked) as usize;
                        if live.oldest != acked + 1 || live.count != expected_count {
                            return Err(OutboxError::Corrupt);
                        }
                        last = live.newest;
                    }
                }
                Ok(Outbox {
                    storage,
                    device,
                    epoch: meta.epoch,
                    last,
                    acked,
                    new_epoch: false,
                })
            }
        }
    }

    /// The device owning the stream.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// The stream's epoch.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// Whether [`Outbox::open`] found no outbox and started a new epoch.
    pub fn started_new_epoch(&self) -> bool {
        self.new_epoch
    }

    /// The sequence number to put in the header of this device's next record (its
    /// position), or `None` when the epoch's positions are used up.
    pub fn next_seq(&self) -> Option<Seq> {
        self.last.checked_add(1).map(Seq)
    }

    /// The newest assigned position (0 for none).
    pub fn last_position(&self) -> u32 {
        self.last
    }

    /// Every position up to this one is acknowledged (0 for none).
    pub fn acked_through(&self) -> u32 {
        self.acked
    }

    /// Entries waiting for acknowledgement.
    pub fn len(&self) -> usize {
        (self.last - self.acked) as usize
    }

    /// Whether every entry is acknowledged.
    pub fn is_empty(&self) -> bool {
        self.last == self.acked
    }

    /// Persists `envelope` and returns its position. A record of this outbox's device must
    /// carry `(device, epoch, next_seq())` as its id; other devices' envelopes (forwarded)
    /// are stored unchanged. A full outbox returns [`OutboxError::Full`] and overwrites
    /// nothing.
    pub fn push(&mut self, envelope: &[u8]) -> Result<u32, OutboxError<S::Error>> {
        if envelope.len() > MAX_ENTRY_LEN {
            return Err(OutboxError::TooLarge {
                len: envelope.len(),
            });
        }
        let env = Envelope::parse_exact(envelope).map_err(OutboxError::Malformed)?;
        let header = env.header().map_err(OutboxError::Malformed)?;
        let position = self
            .last
            .checked_add(1)
            .ok_or(OutboxError::PositionsExhausted)?;
        if header.id.device == self.device {
            let expected = RecordId {
                device: self.device,
                epoch: self.epoch,
                seq: Seq(position),
            };
            if header.id != expected {
                return Err(OutboxError::SeqMismatch {
                    expected,
                    found: header.id,
                });
            }
        }
        match self.storage.append(position, envelope) {
            Ok(()) => {
                self.last = position;
                Ok(position)
            }
            Err(AppendError::Full) => Err(OutboxError::Full),
            Err(AppendError::Storage(e)) => Err(OutboxError::Storage(e)),
        }
    }

    /// Records that the receiver holds every position up to `watermark` and removes those
    /// entries. An older watermark is a no-op.
    pub fn ack(&mut self, watermark: u32) -> Result<(), OutboxError<S::Error>> {
        if watermark <= self.acked {
            return Ok(());
        }
        if watermark > self.last {
            return Err(OutboxError::AckBeyondLast {
                watermark,
                last: self.last,
            });
        }
        self.storage
            .store_meta(&OutboxMeta {
                device: self.device,
                epoch: self.epoch,
                acked_through: watermark,
            })
            .map_err(OutboxError::Storage)?;
        self.acked = watermark;
        self.storage
            .remove_through(watermark)
            .map_err(OutboxError::Storage)
    }

    /// Calls `visit(position, envelope)` for the waiting entries from position `from` on
    /// (never before the acknowledged ones), oldest first, until it returns `false`.
    pub fn read_from<F>(&mut self, from: u32, visit: F) -> Result<(), OutboxError<S::Error>>
    where
        F: FnMut(u32, &[u8]) -> bool,
    {
        let from = from.max(self.acked.saturating_add(1));
        if from > self.last {
            return Ok(());
        }
        self.storage
            .read_from(from, visit)
            .map_err(OutboxError::Storage)
    }

    /// Free bytes of the storage (a hint, see [`OutboxStorage::free_bytes`]).
    pub fn free_bytes(&mut self) -> Result<usize, OutboxError<S::Error>> {
        self.storage.free_bytes().map_err(OutboxError::Storage)
    }

    /// The storage backend.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Gives the storage back (e.g. to reopen it after a simulated restart).
    pub fn into_storage(self) -> S {
        self.storage
    }
}
