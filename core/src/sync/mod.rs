//! Store-and-forward sync: every record accepted into an outbox reaches the receiver's
//! store exactly once, in per-origin order, over lossy links and power failures.
//!
//! ## Streams and positions
//! A sender (kiosk, terminal) keeps an [`Outbox`]. Each envelope pushed into it gets the
//! next **position** of the sender's stream `(device, epoch)`, starting at 1. For a kiosk
//! that creates its own records, position and record sequence number are the same
//! ([`Outbox::next_seq`] says which `seq` to put in the header before pushing). A terminal
//! that forwards other devices' records pushes their envelopes unchanged; they get
//! positions of the terminal's own stream. A record is persisted in the outbox before it is
//! offered for sending, and a full outbox refuses new records with
//! [`OutboxError::Full`]; nothing is ever overwritten.
//!
//! The receiver keeps one **watermark** per stream: the highest contiguous position it has
//! committed. It commits records and the new watermark through [`ReceiverStore::commit`] in
//! one call (one database transaction), acknowledges the watermark, answers a gap with a
//! nack naming the position it expects, and re-acknowledges duplicates. The sender drops
//! what is acknowledged. A store also deduplicates by record id, so a record forwarded
//! twice (by two terminals, say) is stored once.
//!
//! ## Messages
//! [`Message`]s are postcard-encoded, one per frame payload (the caller frames them with
//! [`crate::wire::encode_frame`] and reads them back with [`crate::wire::FrameDecoder`]).
//! A session starts with [`Hello`] (identity, schema, boot counter, uptime, clock state)
//! answered by [`Welcome`] (where to resume, and the receiver's UTC time for a kiosk
//! without a valid clock). Records travel in [`Batch`]es bounded by a caller-set MTU and a
//! window; the receiver answers [`Ack`] or [`Nack`] with a [`NackReason`]; [`TimeSync`]
//! carries UTC at any time.
//!
//! ## State machines
//! [`Sender`] and [`Receiver`] are sans-IO: bytes in, events and bytes out, time passed in
//! explicitly (`now_ms`, `now_utc`). Neither reads a clock or touches a port. The kiosk side
//! ([`Outbox`], [`RamStorage`], the flash backend, [`Sender`], messages) needs no
//! allocation; [`MemoryStore`] (feature `alloc`) is an in-memory [`ReceiverStore`] for tests.
//!
//! ## Sealed links
//! On an untrusted link (any care-home network or cable) use [`SealedSender`] and
//! [`SealedReceiver`]: every payload is sealed both ways with the device's key
//! ([`crate::seal`]), and forged, altered, replayed and plain payloads are refused
//! ([`LinkSecurity`]). The plain [`Sender`] and [`Receiver`] are for trusted links only.
//!
//! ## Storage backends
//! [`RamStorage`] is a fixed-capacity ring in RAM (state survives as long as the RAM does,
//! e.g. a retained section). Under feature `flash`, `FlashStorage` keeps the outbox on
//! NOR flash with `sequential-storage` (power-fail safe, CRC-checked items).

mod message;
mod outbox;
mod ram;
mod receiver;
mod sealed;
mod sender;
mod store;

#[cfg(feature = "flash")]
mod flash;
#[cfg(feature = "alloc")]
mod memory;

/// Largest frame (bytes before its delimiter) a terminal's or platform's sync endpoint
/// takes from a stream, and so the largest frame a sender makes and the largest MTU it
/// may be configured with: a batch under any sensible MTU (a kiosk's is 256 bytes). A
/// longer frame is dropped up to the next delimiter and reported, however the input is
/// chunked. (Kiosks use smaller, fixed [`crate::wire::FrameDecoder`] buffers.)
pub const MAX_SYNC_FRAME_LEN: usize = 64 * 1024;

pub use message::{
    Ack, Batch, BatchBuilder, BatchRecords, Hello, Message, Nack, NackReason, TimeSync, Welcome,
    BATCH_HEAD_RESERVE, MAX_CONTROL_MESSAGE_LEN,
};
pub use outbox::{
    AppendError, EntryBounds, Outbox, OutboxError, OutboxMeta, OutboxStorage, MAX_ENTRY_LEN,
};
pub use ram::{RamStorage, RamStorageError};
pub use receiver::{
    Receiver, ReceiverError, ReceiverEvent, ReceiverOutput, SchemaRange, MAX_BATCH_RECORDS,
};
pub use sealed::{
    LinkSecurity, SealedReceiver, SealedReceiverEvent, SealedReceiverOutput, SealedReplyError,
    SealedSender, SealedSenderError, SealedSenderEvent, DEFAULT_MAX_HELLO_AGE_MS,
    MAX_SEALED_CONTROL_LEN, MIN_SEALED_MTU, SEAL_MTU_RESERVE,
};
pub use sender::{
    Sender, SenderConfig, SenderError, SenderEvent, StopReason, DEFAULT_INITIAL_RTO_MS,
    DEFAULT_MAX_RTO_MS, DEFAULT_MTU, DEFAULT_WINDOW, MIN_MTU, RTO_BACKOFF_FACTOR,
};
pub use store::{ReceiverStore, RecordStatus, RecordToCommit, SealedReceiverStore, StoreError};

#[cfg(feature = "flash")]
pub use flash::{FlashConfigError, FlashError, FlashStorage, FLASH_META_VERSION};
#[cfg(feature = "alloc")]
pub use memory::{MemoryStore, StoredRecord};

#[cfg(test)]
mod tests;
