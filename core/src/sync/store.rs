//! What a receiver commits into: the [`ReceiverStore`] and [`SealedReceiverStore`] traits,
//! the [`RecordToCommit`] they take and the [`StoreError`] they report (also the error of
//! the terminal's key store, [`crate::seal::KeyStore`]).

use core::fmt;

use crate::ids::{DeviceId, Epoch};
use crate::record::{Header, ValidationError};
use crate::seal::FrameCounter;
use crate::time::UtcSeconds;
use crate::wire::codec::DecodeError;

/// What a receiver could make of one record. Nothing is dropped: every record is committed
/// with its status, and its bytes are kept for forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RecordStatus {
    /// Decoded and valid (a newer writer's extra body bytes are allowed).
    Valid,
    /// A kind this version does not know; the header was read.
    UnknownKind,
    /// Decoded, but breaks a domain rule.
    Invalid(ValidationError),
    /// The envelope's body could not be decoded.
    Malformed(DecodeError),
}

/// One record of a batch, handed to [`ReceiverStore::commit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RecordToCommit<'a> {
    /// Position in the sender's stream.
    pub position: u32,
    /// The envelope bytes, unchanged.
    pub envelope: &'a [u8],
    /// The envelope's kind number.
    pub kind: u8,
    /// The record header, if it could be read (the store deduplicates by its id).
    pub header: Option<Header>,
    /// What the receiver made of the record.
    pub status: RecordStatus,
    /// For a record stamped "time unknown" during the boot that said hello: its UTC time
    /// placed from the hello (`utc at hello - uptime at hello + record uptime`). `None`
    /// when the record has a UTC time or cannot be placed.
    pub placed_time: Option<UtcSeconds>,
}

/// Errors a [`ReceiverStore`] reports. The receiver answers them with
/// [`NackReason::StoreUnavailable`](super::NackReason::StoreUnavailable); the sender
/// retries later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StoreError {
    /// The store cannot be used now (database locked, disk offline).
    Unavailable,
    /// The store is full.
    Full,
    /// The commit does not continue the stored watermark (another writer got there
    /// first); nothing was written.
    Conflict,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable => f.write_str("receiver store unavailable"),
            StoreError::Full => f.write_str("receiver store full"),
            StoreError::Conflict => f.write_str("commit does not continue the stored watermark"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for StoreError {}

/// Where a receiver keeps watermarks and records (a terminal's SQLite, the platform's
/// database, [`super::MemoryStore`] in tests).
pub trait ReceiverStore {
    /// The watermark of stream `(device, epoch)`: highest contiguous position committed,
    /// 0 for a stream never seen.
    fn watermark(&mut self, device: DeviceId, epoch: Epoch) -> Result<u32, StoreError>;

    /// Stores `records` (positions `first_position..`, consecutive) and sets the stream's
    /// watermark to `new_watermark`, atomically: all or nothing (one transaction).
    /// `first_position` is the stored watermark + 1. A record whose id (device, epoch,
    /// seq of its header) is already stored with the same bytes is not stored again; the
    /// watermark still advances.
    fn commit(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        first_position: u32,
        records: &[RecordToCommit<'_>],
        new_watermark: u32,
    ) -> Result<(), StoreError>;
}

/// A [`ReceiverStore`] that also keeps the last accepted frame counter per stream, for
/// replay protection across restarts.
pub trait SealedReceiverStore: ReceiverStore {
    /// The last frame counter persisted for stream `(device, epoch)`
    /// ([`FrameCounter::default`] for none).
    fn last_counter(&mut self, device: DeviceId, epoch: Epoch) -> Result<FrameCounter, StoreError>;

    /// Raises the stream's last counter to `counter` (never lowers it), durably. Used for
    /// hellos, which commit nothing but set the session (and the clock reference for
    /// clockless records): a hello replayed after a restart must not be taken again.
    fn note_counter(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        counter: FrameCounter,
    ) -> Result<(), StoreError>;

    /// Like [`ReceiverStore::commit`], and in the same transaction raises the stream's
    /// last counter to `counter` (never lowers it): all or nothing.
    #[allow(clippy::too_many_arguments)]
    fn commit_sealed(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        first_position: u32,
        records: &[RecordToCommit<'_>],
        new_watermark: u32,
        counter: FrameCounter,
    ) -> Result<(), StoreError>;
}

impl<T: SealedReceiverStore> SealedReceiverStore for &mut T {
    fn last_counter(&mut self, device: DeviceId, epoch: Epoch) -> Result<FrameCounter, StoreError> {
        (**self).last_counter(device, epoch)
    }

    fn note_counter(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        counter: FrameCounter,
    ) -> Result<(), StoreError> {
        (**self).note_counter(device, epoch, counter)
    }

    fn commit_sealed(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        first_position: u32,
        records: &[RecordToCommit<'_>],
        new_watermark: u32,
        counter: FrameCounter,
    ) -> Result<(), StoreError> {
        (**self).commit_sealed(
            device,
            epoch,
            first_position,
            records,
            new_watermark,
            counter,
        )
    }
}

impl<T: ReceiverStore> ReceiverStore for &mut T {
    fn watermark(&mut self, device: DeviceId, epoch: Epoch) -> Result<u32, StoreError> {
        (**self).watermark(device, epoch)
    }

    fn commit(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        first_position: u32,
        records: &[RecordToCommit<'_>],
        new_watermark: u32,
    ) -> Result<(), StoreError> {
        (**self).commit(device, epoch, first_position, records, new_watermark)
    }
}
