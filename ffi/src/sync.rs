//! The sync endpoints: the receiver (a terminal collecting from kiosks) with C store
//! callbacks, and the sender (a terminal forwarding to the platform) with C outbox
//! storage callbacks.
//!
//! Both are sans-IO like their core counterparts: the caller moves the bytes. Messages are
//! frame payloads: decode incoming frames with `tcm_frame_decoder_feed()`, hand each
//! payload to `tcm_receiver_handle()` / `tcm_sender_handle()`, and frame every reply or
//! transmission with `tcm_frame_encode()`.
//!
//! ## Storage callbacks
//! The library never stores anything itself. The receiver calls `commit` once per batch
//! with the records and the new watermark: store both in **one transaction**, so a power
//! cut leaves either everything or nothing. The sender's outbox calls the
//! `tcm_outbox_storage` callbacks, which must make an append durable before returning.
//! Callbacks return a `tcm_store_result`; any other value counts as
//! `TCM_STORE_RESULT_UNAVAILABLE`. They run on the calling thread, during the call that
//! triggered them, and may call other `tcm_*` functions (to decode a record, say) but not
//! functions of the receiver or sender that is calling them.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use tcmcare_core::ids::{DeviceId, Epoch};
use tcmcare_core::sync::{
    AppendError, EntryBounds, NackReason, Outbox, OutboxError, OutboxMeta, OutboxStorage, Receiver,
    ReceiverError, ReceiverEvent, ReceiverStore, RecordStatus, RecordToCommit, Sender,
    SenderConfig, SenderError, SenderEvent, StopReason, StoreError, DEFAULT_INITIAL_RTO_MS,
    DEFAULT_MAX_RTO_MS, DEFAULT_MTU, DEFAULT_WINDOW, MAX_CONTROL_MESSAGE_LEN,
};

use tcmcare_core::seal::{
    FrameCounter, KeyId, OpenError, SealHeader, Sealer, SealerError, DEFAULT_LEASE_BLOCK,
};
use tcmcare_core::sync::{
    LinkSecurity, SealedReceiver, SealedReceiverEvent, SealedReceiverStore, SealedSender,
    SealedSenderError, SealedSenderEvent,
};
use zeroize::Zeroize;

use crate::boundary;
use crate::buffer;
use crate::handle::{self, Handle};
use crate::pod;
use crate::record::{c_header, tcm_record_header};
use crate::seal::{
    open_status, reply_error, seal_error, tcm_device_key, tcm_key_store, tcm_link_security,
    tcm_replay_store, tcm_seal_store, CKeyStore, CReplay, CSealStore, CSealStoreError,
};
use crate::status::{decode_error, decode_status, fail, tcm_status, validation_status};

/// A reply buffer of this size always suffices for `tcm_receiver_handle()` and
/// `tcm_receiver_time_sync()`.
pub const TCM_MAX_CONTROL_MESSAGE_LEN: usize = 40;
/// Default sender MTU: the largest framed batch in bytes; enough for any record.
pub const TCM_DEFAULT_MTU: usize = 1024;
/// Default sender window: most records sent and not yet acknowledged.
pub const TCM_DEFAULT_WINDOW: u32 = 64;
/// Default first retransmission timeout, milliseconds.
pub const TCM_DEFAULT_INITIAL_RTO_MS: u64 = 1000;
/// Default cap of the retransmission timeout, milliseconds.
pub const TCM_DEFAULT_MAX_RTO_MS: u64 = 60000;

const _: () = {
    assert!(TCM_MAX_CONTROL_MESSAGE_LEN == MAX_CONTROL_MESSAGE_LEN);
    assert!(TCM_DEFAULT_MTU == DEFAULT_MTU);
    assert!(TCM_DEFAULT_WINDOW == DEFAULT_WINDOW);
    assert!(TCM_DEFAULT_INITIAL_RTO_MS == DEFAULT_INITIAL_RTO_MS);
    assert!(TCM_DEFAULT_MAX_RTO_MS == DEFAULT_MAX_RTO_MS);
};

/// What a storage callback reports.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_store_result {
    /// Done.
    Ok = 0,
    /// The store cannot be used now (database locked, disk offline); retried later.
    Unavailable = 1,
    /// The store is full (for an outbox append: nothing was written).
    Full = 2,
    /// The commit does not continue the stored watermark (another writer got there
    /// first); nothing was written.
    Conflict = 3,
}

pub(crate) fn store_error(e: StoreError) -> tcm_store_result {
    match e {
        StoreError::Unavailable => tcm_store_result::Unavailable,
        StoreError::Full => tcm_store_result::Full,
        StoreError::Conflict => tcm_store_result::Conflict,
    }
}

pub(crate) fn store_result(r: u32) -> Result<(), StoreError> {
    match r {
        0 => Ok(()),
        2 => Err(StoreError::Full),
        3 => Err(StoreError::Conflict),
        _ => Err(StoreError::Unavailable),
    }
}

// ---------------------------------------------------------------------------------------
// Receiver
// ---------------------------------------------------------------------------------------

/// One record of a batch, as the receiver hands it to the store.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tcm_record_to_commit {
    /// Position in the sender's stream.
    pub position: u32,
    /// The envelope's kind number (a `tcm_record_kind`, or a kind this version does not
    /// know).
    pub kind: u8,
    /// 1 when `header` was read (the store deduplicates by its id).
    pub has_header: u8,
    /// 1 when `placed_utc_seconds` holds the UTC time of a record stamped "time unknown",
    /// placed from the sender's hello.
    pub has_placed_time: u8,
    /// What the receiver made of the record: `TCM_STATUS_OK` (valid; a newer writer's
    /// extra body bytes are allowed), `TCM_STATUS_UNKNOWN_KIND`, a validation status
    /// (3xx) or a decoding status (2xx). Every record is committed, whatever its status.
    pub status: tcm_status,
    /// The record header, when `has_header` is 1.
    pub header: tcm_record_header,
    /// See `has_placed_time`.
    pub placed_utc_seconds: u64,
    /// The envelope bytes, unchanged: store them, forward them. Valid during the
    /// callback only.
    pub envelope: *const u8,
    /// Length of `envelope`.
    pub envelope_len: usize,
}

/// One commit: records at consecutive positions from `first_position` and the stream's
/// new watermark, to be stored together in one transaction.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tcm_commit {
    /// The sending device.
    pub device: u32,
    /// Its epoch.
    pub epoch: u32,
    /// Position of `records[0]`: the stored watermark + 1.
    pub first_position: u32,
    /// The watermark to store with the records.
    pub new_watermark: u32,
    /// The records (valid during the callback only).
    pub records: *const tcm_record_to_commit,
    /// Number of records.
    pub count: usize,
    /// 1 for a commit of a sealed receiver: store `(key_id, counter)` as the stream's last
    /// frame counter (raise it, never lower it) in the same transaction, for replay
    /// protection (`tcm_replay_store`).
    pub has_counter: u8,
    /// The sealing key's id of the batch's frame (`has_counter`).
    pub key_id: u32,
    /// The frame counter of the batch's frame (`has_counter`).
    pub counter: u32,
}

/// Reads the watermark of stream (device, epoch) into `*watermark`: the highest
/// contiguous position committed, 0 for a stream never seen. Returns a
/// `tcm_store_result`.
pub type tcm_watermark_fn = Option<
    unsafe extern "C" fn(ctx: *mut c_void, device: u32, epoch: u32, watermark: *mut u32) -> u32,
>;

/// Stores the records of `*commit` and sets the stream's watermark to
/// `commit->new_watermark`, atomically (one transaction). A record whose id (device,
/// epoch, seq of its header) is already stored with the same bytes is not stored again;
/// the watermark still advances. Returns a `tcm_store_result`.
pub type tcm_commit_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, commit: *const tcm_commit) -> u32>;

/// The receiver's store: the terminal's database behind two callbacks.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tcm_receiver_store {
    /// Passed unchanged to the callbacks (e.g. the database handle).
    pub ctx: *mut c_void,
    /// Required.
    pub watermark: tcm_watermark_fn,
    /// Required.
    pub commit: tcm_commit_fn,
}

/// The store as core sees it.
struct CStore {
    ctx: *mut c_void,
    /// The replay-counter callbacks of a sealed receiver.
    replay: Option<CReplay>,
    watermark: unsafe extern "C" fn(*mut c_void, u32, u32, *mut u32) -> u32,
    commit: unsafe extern "C" fn(*mut c_void, *const tcm_commit) -> u32,
    /// Reused for every commit.
    scratch: Vec<tcm_record_to_commit>,
}

fn record_status(s: RecordStatus) -> tcm_status {
    match s {
        RecordStatus::Valid => tcm_status::Ok,
        RecordStatus::UnknownKind => tcm_status::UnknownKind,
        RecordStatus::Invalid(e) => validation_status(e),
        RecordStatus::Malformed(e) => decode_status(e),
    }
}

impl ReceiverStore for CStore {
    fn watermark(&mut self, device: DeviceId, epoch: Epoch) -> Result<u32, StoreError> {
        let mut w = 0u32;
        // SAFETY: the callback and its context come from the caller of
        // `tcm_receiver_new`, who promised they stay valid while the receiver lives.
        let r = unsafe { (self.watermark)(self.ctx, device.0, epoch.0, &mut w) };
        store_result(r).map(|()| w)
    }

    fn commit(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        first_position: u32,
        records: &[RecordToCommit<'_>],
        new_watermark: u32,
    ) -> Result<(), StoreError> {
        self.commit_with(device, epoch, first_position, records, new_watermark, None)
    }
}

impl SealedReceiverStore for CStore {
    fn last_counter(&mut self, device: DeviceId, epoch: Epoch) -> Result<FrameCounter, StoreError> {
        match &self.replay {
            Some(r) => r.last_counter(device, epoch),
            None => Err(StoreError::Unavailable),
        }
    }

    fn note_counter(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        counter: FrameCounter,
    ) -> Result<(), StoreError> {
        match &self.replay {
            Some(r) => r.note_counter(device, epoch, counter),
            None => Err(StoreError::Unavailable),
        }
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
        self.commit_with(
            device,
            epoch,
            first_position,
            records,
            new_watermark,
            Some(counter),
        )
    }
}

impl CStore {
    /// Checks and copies the callbacks of `*store`.
    ///
    /// # Safety
    /// `store` is NULL or points to an initialised `tcm_receiver_store`.
    unsafe fn from_c(
        store: *const tcm_receiver_store,
        replay: Option<CReplay>,
    ) -> Result<Self, tcm_status> {
        // SAFETY: caller contract of this function.
        let s = unsafe { buffer::read(store, "store")? };
        Ok(CStore {
            ctx: s.ctx,
            replay,
            watermark: s
                .watermark
                .ok_or_else(|| fail(tcm_status::NullPointer, "store->watermark is NULL"))?,
            commit: s
                .commit
                .ok_or_else(|| fail(tcm_status::NullPointer, "store->commit is NULL"))?,
            scratch: Vec::new(),
        })
    }

    fn commit_with(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        first_position: u32,
        records: &[RecordToCommit<'_>],
        new_watermark: u32,
        counter: Option<FrameCounter>,
    ) -> Result<(), StoreError> {
        self.scratch.clear();
        for r in records {
            let mut c = tcm_record_to_commit {
                position: r.position,
                kind: r.kind,
                has_header: 0,
                has_placed_time: 0,
                status: record_status(r.status),
                header: pod::zeroed(),
                placed_utc_seconds: 0,
                envelope: r.envelope.as_ptr(),
                envelope_len: r.envelope.len(),
            };
            if let Some(h) = &r.header {
                c.has_header = 1;
                c.header = c_header(h);
            }
            if let Some(t) = r.placed_time {
                c.has_placed_time = 1;
                c.placed_utc_seconds = t.unix();
            }
            self.scratch.push(c);
        }
        let commit = tcm_commit {
            device: device.0,
            epoch: epoch.0,
            first_position,
            new_watermark,
            records: self.scratch.as_ptr(),
            count: self.scratch.len(),
            has_counter: u8::from(counter.is_some()),
            key_id: counter.map_or(0, |c| c.key_id.0),
            counter: counter.map_or(0, |c| c.counter),
        };
        // SAFETY: as in `watermark`; `commit` and the envelopes it points to outlive the
        // call.
        let r = unsafe { (self.commit)(self.ctx, &commit) };
        store_result(r)
    }
}

/// The receiving side of one link (one kiosk at a time): feed it every frame payload
/// with `tcm_receiver_handle()`, send back the reply it writes. Create with
/// `tcm_receiver_new()`, release with `tcm_receiver_free()`.
pub struct tcm_receiver {
    inner: ReceiverInner,
    /// A copy of the payload of a sealed receiver (decrypted in place).
    scratch: Vec<u8>,
}

/// A plain or a sealed receiver.
enum ReceiverInner {
    Plain(Receiver<CStore>),
    Sealed(Box<SealedReceiver<CStore, CKeyStore>>),
}

impl Handle for tcm_receiver {
    const NAME: &'static str = "tcm_receiver";
}

/// What a payload did at the receiver (`tcm_receiver_event.kind`).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_receiver_event_kind {
    /// A hello opened a session (`device`, `epoch`, `watermark`, `sender_clock_valid`).
    Introduced = 0,
    /// Records were committed and acknowledged (`device`, `epoch`, `first_position`,
    /// `count`, `watermark`).
    Committed = 1,
    /// A batch held only positions already committed; the watermark was acknowledged
    /// again (`watermark`).
    Duplicate = 2,
    /// A batch started after the watermark + 1; a nack asked for `expected` (`got`).
    Gap = 3,
    /// A hello was refused (`nack_reason`, for unsupported schemas `schema_min` and
    /// `schema_max`, for a reused epoch `watermark`).
    Refused = 4,
    /// A batch arrived without a hello for its epoch; the sender will say hello again.
    NotIntroduced = 5,
    /// The store failed (`store_result`); the sender was told to retry.
    StoreFailed = 6,
    /// The payload was not a decodable message.
    Malformed = 7,
    /// A message meant for a sender was ignored.
    Ignored = 8,
    /// A sealed receiver refused the payload (`rejection` says why; `device`, `epoch`:
    /// what its seal header claims, when it has one; for a replay `expected` is the last
    /// counter accepted and `got` the frame's; for a store failure `store_result`).
    /// Nothing of it was used and nothing is answered.
    Rejected = 9,
    /// The terminal's reply counters for this device's key are used up: it cannot answer,
    /// so it did not take the payload. Rotate the key.
    DownlinkExhausted = 10,
}

/// Why a receiver refused (`tcm_receiver_event.nack_reason`). Append-only.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_nack_reason {
    /// Records were lost on the way; resend from `expected`.
    Gap = 0,
    /// The sender's schema version is outside what the receiver accepts.
    UnsupportedSchema = 1,
    /// The receiver's store failed; retry later.
    StoreUnavailable = 2,
    /// A batch before a hello; say hello again.
    NotIntroduced = 3,
    /// The receiver holds more of this epoch than the sender ever assigned: the device
    /// reused an epoch after a wipe and must start a new one.
    EpochReused = 4,
    /// The message could not be decoded.
    Malformed = 5,
}

/// What one `tcm_receiver_handle()` call did. Fields not named by `kind` are 0.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_receiver_event {
    /// What happened.
    pub kind: tcm_receiver_event_kind,
    /// `INTRODUCED`: 1 when the sender's clock is valid.
    pub sender_clock_valid: u8,
    /// `REFUSED`: why.
    pub nack_reason: tcm_nack_reason,
    /// The sending device.
    pub device: u32,
    /// Its epoch.
    pub epoch: u32,
    /// The stream's watermark (for `INTRODUCED`, where the sender resumes after).
    pub watermark: u32,
    /// `COMMITTED`: position of the first committed record.
    pub first_position: u32,
    /// `COMMITTED`: number of committed records.
    pub count: u32,
    /// `GAP`: the position expected.
    pub expected: u32,
    /// `GAP`: the batch's first position.
    pub got: u32,
    /// `STORE_FAILED`: what the store callback returned.
    pub store_result: tcm_store_result,
    /// `REFUSED` for an unsupported schema: oldest version accepted.
    pub schema_min: u16,
    /// `REFUSED` for an unsupported schema: newest version accepted.
    pub schema_max: u16,
    /// `REJECTED`: why, a `TCM_STATUS_SEAL_*` status.
    pub rejection: tcm_status,
}

fn nack_reason(r: NackReason, ev: &mut tcm_receiver_event) -> tcm_nack_reason {
    match r {
        NackReason::Gap => tcm_nack_reason::Gap,
        NackReason::UnsupportedSchema { min, max } => {
            ev.schema_min = min;
            ev.schema_max = max;
            tcm_nack_reason::UnsupportedSchema
        }
        NackReason::StoreUnavailable => tcm_nack_reason::StoreUnavailable,
        NackReason::NotIntroduced => tcm_nack_reason::NotIntroduced,
        NackReason::EpochReused { watermark } => {
            ev.watermark = watermark;
            tcm_nack_reason::EpochReused
        }
        NackReason::Malformed => tcm_nack_reason::Malformed,
    }
}

fn c_receiver_event(e: ReceiverEvent) -> tcm_receiver_event {
    let mut ev = tcm_receiver_event {
        kind: tcm_receiver_event_kind::Ignored,
        sender_clock_valid: 0,
        nack_reason: tcm_nack_reason::Gap,
        device: 0,
        epoch: 0,
        watermark: 0,
        first_position: 0,
        count: 0,
        expected: 0,
        got: 0,
        store_result: tcm_store_result::Ok,
        schema_min: 0,
        schema_max: 0,
        rejection: tcm_status::Ok,
    };
    match e {
        ReceiverEvent::Introduced {
            device,
            epoch,
            watermark,
            sender_clock_valid,
        } => {
            ev.kind = tcm_receiver_event_kind::Introduced;
            ev.device = device.0;
            ev.epoch = epoch.0;
            ev.watermark = watermark;
            ev.sender_clock_valid = u8::from(sender_clock_valid);
        }
        ReceiverEvent::Committed {
            device,
            epoch,
            first_position,
            count,
            watermark,
        } => {
            ev.kind = tcm_receiver_event_kind::Committed;
            ev.device = device.0;
            ev.epoch = epoch.0;
            ev.first_position = first_position;
            ev.count = count;
            ev.watermark = watermark;
        }
        ReceiverEvent::Duplicate { watermark } => {
            ev.kind = tcm_receiver_event_kind::Duplicate;
            ev.watermark = watermark;
        }
        ReceiverEvent::Gap { expected, got } => {
            ev.kind = tcm_receiver_event_kind::Gap;
            ev.expected = expected;
            ev.got = got;
        }
        ReceiverEvent::Refused(r) => {
            ev.kind = tcm_receiver_event_kind::Refused;
            ev.nack_reason = nack_reason(r, &mut ev);
        }
        ReceiverEvent::NotIntroduced => ev.kind = tcm_receiver_event_kind::NotIntroduced,
        ReceiverEvent::StoreFailed(s) => {
            ev.kind = tcm_receiver_event_kind::StoreFailed;
            ev.store_result = store_error(s);
        }
        ReceiverEvent::Malformed => ev.kind = tcm_receiver_event_kind::Malformed,
        ReceiverEvent::Ignored => ev.kind = tcm_receiver_event_kind::Ignored,
    }
    ev
}

fn c_sealed_receiver_event(
    e: SealedReceiverEvent,
    claimed: Option<SealHeader>,
) -> tcm_receiver_event {
    let mut ev = c_receiver_event(ReceiverEvent::Ignored);
    match e {
        SealedReceiverEvent::Sync(e) => return c_receiver_event(e),
        SealedReceiverEvent::Rejected(r) => {
            ev.kind = tcm_receiver_event_kind::Rejected;
            ev.rejection = open_status(r);
            match r {
                OpenError::Replayed { last, got } => {
                    ev.expected = last;
                    ev.got = got;
                }
                OpenError::Store(s) => ev.store_result = store_error(s),
                _ => {}
            }
        }
        SealedReceiverEvent::DownlinkExhausted => {
            ev.kind = tcm_receiver_event_kind::DownlinkExhausted;
        }
    }
    if let Some(h) = claimed {
        ev.device = h.device.0;
        ev.epoch = h.epoch.0;
    }
    ev
}

fn receiver_error(e: ReceiverError, needed: &mut usize) -> tcm_status {
    let ReceiverError::OutputTooSmall { needed: n } = e;
    *needed = n;
    fail(
        tcm_status::BufferTooSmall,
        format_args!("reply buffer: {n} bytes needed"),
    )
}

/// Creates a receiver over the store callbacks of `*store` (copied; `store->ctx` must
/// stay valid until `tcm_receiver_free()`), accepting schema versions 1 and up: a newer
/// kiosk's records are committed and kept even when this version cannot read them.
///
/// # Safety
/// `store` points to an initialised `tcm_receiver_store` whose callbacks are valid
/// functions; `out` to writable memory for a pointer.
#[no_mangle]
pub unsafe extern "C" fn tcm_receiver_new(
    store: *const tcm_receiver_store,
    out: *mut *mut tcm_receiver,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let store = unsafe { CStore::from_c(store, None)? };
        let r = tcm_receiver {
            inner: ReceiverInner::Plain(Receiver::new(store)),
            scratch: Vec::new(),
        };
        // SAFETY: caller contract of this function.
        unsafe { handle::hand_out(r, out) }
    })
}

/// Creates a sealed receiver: every payload must be sealed by a device whose key
/// `*keys` knows (unless `security` is `TCM_LINK_SECURITY_TRUSTED_UNSEALED`); a payload
/// that fails is a `TCM_RECEIVER_EVENT_KIND_REJECTED` event and nothing of it reaches
/// the store. Replies are sealed under the key of the frame they answer. `*store`,
/// `*replay` and `*keys` are copied; their `ctx` must stay valid until
/// `tcm_receiver_free()`. Each `commit` carries the frame counter to store with the
/// records (`tcm_commit.has_counter`). Reply buffers need `TCM_MAX_SEALED_CONTROL_LEN`
/// bytes.
///
/// # Safety
/// `store`, `replay` and `keys` point to initialised structs whose callbacks are valid
/// functions; `out` to writable memory for a pointer.
#[no_mangle]
pub unsafe extern "C" fn tcm_receiver_new_sealed(
    store: *const tcm_receiver_store,
    replay: *const tcm_replay_store,
    keys: *const tcm_key_store,
    security: u8,
    out: *mut *mut tcm_receiver,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let replay = unsafe { CReplay::from_c(replay)? };
        // SAFETY: caller contract of this function.
        let store = unsafe { CStore::from_c(store, Some(replay))? };
        // SAFETY: caller contract of this function.
        let keys = unsafe { CKeyStore::from_c(keys)? };
        let security = match security {
            s if s == tcm_link_security::Sealed as u8 => LinkSecurity::Sealed,
            s if s == tcm_link_security::TrustedUnsealed as u8 => LinkSecurity::TrustedUnsealed,
            n => {
                return Err(fail(
                    tcm_status::InvalidArgument,
                    format_args!("security {n}"),
                ))
            }
        };
        let r = tcm_receiver {
            inner: ReceiverInner::Sealed(Box::new(SealedReceiver::new(store, keys, security))),
            scratch: Vec::new(),
        };
        // SAFETY: caller contract of this function.
        unsafe { handle::hand_out(r, out) }
    })
}

/// Releases a receiver; NULL is a no-op. `TCM_STATUS_OK`, or for misuse
/// `TCM_STATUS_REENTERED` (from its own callback) / `TCM_STATUS_WRONG_HANDLE` /
/// `TCM_STATUS_UNKNOWN_HANDLE`, and nothing is freed.
///
/// # Safety
/// `receiver` came from `tcm_receiver_new()` (or is NULL) and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tcm_receiver_free(receiver: *mut tcm_receiver) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        unsafe { handle::free(receiver)? };
        Ok(())
    })
}

/// Handles one frame payload from the sender: a hello opens a session, a batch is
/// committed through the store's `commit` callback (records and watermark in one call).
/// The reply to frame and send back is written to `reply` (`*reply_len` bytes; 0 means
/// nothing to send) and `*event` says what happened. `now_utc` is the receiver's clock
/// in Unix seconds, 0 when it has no valid clock (a kiosk without a clock learns the
/// time from the reply). Protocol failures (gaps, refusals, store failures) are events
/// with nacks, not error statuses. `reply_cap` must be at least
/// `TCM_MAX_CONTROL_MESSAGE_LEN`.
///
/// # Safety
/// `receiver` came from `tcm_receiver_new()`; `payload` points to `len` readable bytes;
/// `reply` to `reply_cap` writable bytes; `reply_len` and `event` to writable memory.
#[no_mangle]
pub unsafe extern "C" fn tcm_receiver_handle(
    receiver: *mut tcm_receiver,
    now_utc: u64,
    payload: *const u8,
    len: usize,
    reply: *mut u8,
    reply_cap: usize,
    reply_len: *mut usize,
    event: *mut tcm_receiver_event,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let r = unsafe { handle::borrow_mut(receiver)? };
        // SAFETY: caller contract of this function.
        let input = unsafe { buffer::input(payload, len, "payload")? };
        buffer::non_null(reply_len, "reply_len")?;
        buffer::non_null(event, "event")?;
        // SAFETY: caller contract of this function.
        let out = unsafe { buffer::output(reply, reply_cap, "reply")? };
        let now = (now_utc != 0).then_some(now_utc);
        let mut needed = 0;
        let result = match &mut r.inner {
            ReceiverInner::Plain(rx) => rx
                .handle(now, input, out)
                .map(|o| (o.reply_len, c_receiver_event(o.event))),
            ReceiverInner::Sealed(rx) => {
                let claimed = SealHeader::decode(input).ok().map(|(h, _)| h);
                r.scratch.clear();
                r.scratch.extend_from_slice(input);
                let result = rx
                    .handle(now, &mut r.scratch, out)
                    .map(|o| (o.reply_len, c_sealed_receiver_event(o.event, claimed)));
                // The copy may hold decrypted records: wipe it.
                r.scratch.zeroize();
                result
            }
        }
        .map_err(|e| receiver_error(e, &mut needed));
        match result {
            Ok((n, ev)) => {
                // SAFETY: checked non-NULL above; caller contract.
                unsafe {
                    reply_len.write(n);
                    event.write(ev);
                }
                Ok(())
            }
            Err(status) => {
                // SAFETY: checked non-NULL above; caller contract.
                unsafe { reply_len.write(needed) };
                Err(status)
            }
        }
    })
}

/// Writes a time-sync payload carrying `utc_now` (Unix seconds) into `out`, to frame and
/// send to a kiosk whose clock drifts. Buffer rules as for `tcm_record_encode()`. A
/// sealed receiver seals it for the device of its session
/// (`TCM_STATUS_SEAL_NO_SESSION` before a hello).
///
/// # Safety
/// `receiver` came from `tcm_receiver_new()`; `out` points to `cap` writable bytes;
/// `written` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_receiver_time_sync(
    receiver: *mut tcm_receiver,
    utc_now: u64,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let r = unsafe { handle::borrow_mut(receiver)? };
        buffer::non_null(written, "written")?;
        // SAFETY: caller contract of this function.
        let dst = unsafe { buffer::output(out, cap, "out")? };
        let mut needed = 0;
        let result = match &mut r.inner {
            ReceiverInner::Plain(rx) => rx
                .time_sync(utc_now, dst)
                .map_err(|e| receiver_error(e, &mut needed)),
            ReceiverInner::Sealed(rx) => rx
                .time_sync(utc_now, dst)
                .map_err(|e| reply_error(e, &mut needed)),
        };
        // SAFETY: checked non-NULL above; caller contract.
        unsafe { buffer::report_len(result, needed, written) }
    })
}

/// Writes a sealed key rotation for `device` (at `epoch`) from its key `from_key_id` to
/// `to_key_id` / `new_key` into `out` (at least `TCM_MAX_SEALED_REKEY_LEN` bytes; the
/// new key travels encrypted under the old one). Add the new key to the key store first
/// (so frames under it are accepted), frame and send the payload, and resend it until
/// `tcm_receiver_session()` reports the new key id; then the key store may retire the
/// old key (its `key_used` callback is called). Sealed receivers only
/// (`TCM_STATUS_SEAL_NOT_SEALED`); `TCM_STATUS_SEAL_KEY_ID_NOT_NEWER` unless
/// `to_key_id > from_key_id`.
///
/// # Safety
/// `receiver` came from `tcm_receiver_new_sealed()`; `new_key` from
/// `tcm_device_key_new()` / `_generate()`; `out` points to `cap` writable bytes;
/// `written` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_receiver_rekey(
    receiver: *mut tcm_receiver,
    device: u32,
    epoch: u32,
    from_key_id: u32,
    to_key_id: u32,
    new_key: *const tcm_device_key,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let r = unsafe { handle::borrow_mut(receiver)? };
        // SAFETY: caller contract of this function.
        let k = unsafe { handle::borrow(new_key)? };
        buffer::non_null(written, "written")?;
        // SAFETY: caller contract of this function.
        let dst = unsafe { buffer::output(out, cap, "out")? };
        let ReceiverInner::Sealed(rx) = &mut r.inner else {
            return Err(fail(tcm_status::SealNotSealed, "tcm_receiver_rekey"));
        };
        let mut needed = 0;
        let result = rx
            .rekey(
                DeviceId(device),
                Epoch(epoch),
                KeyId(from_key_id),
                KeyId(to_key_id),
                &k.key,
                dst,
            )
            .map_err(|e| reply_error(e, &mut needed));
        // SAFETY: checked non-NULL above; caller contract.
        unsafe { buffer::report_len(result, needed, written) }
    })
}

/// The receiver's current session: `*found` = 1 and the device, epoch and (sealed
/// receivers) the key id of its newest accepted frame; `*found` = 0 before a hello.
///
/// # Safety
/// `receiver` came from `tcm_receiver_new()` / `_new_sealed()`; the other pointers point
/// to writable memory.
#[no_mangle]
pub unsafe extern "C" fn tcm_receiver_session(
    receiver: *const tcm_receiver,
    found: *mut u8,
    device: *mut u32,
    epoch: *mut u32,
    key_id: *mut u32,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let r = unsafe { handle::borrow(receiver)? };
        for (p, name) in [(device, "device"), (epoch, "epoch"), (key_id, "key_id")] {
            buffer::non_null(p, name)?;
        }
        buffer::non_null(found, "found")?;
        let session = match &r.inner {
            ReceiverInner::Plain(rx) => rx.session().map(|(d, e)| (d, e, KeyId(0))),
            ReceiverInner::Sealed(rx) => rx.session(),
        };
        let (d, e, k) = session.unwrap_or((DeviceId(0), Epoch(0), KeyId(0)));
        // SAFETY: checked non-NULL above; caller contract.
        unsafe {
            found.write(u8::from(session.is_some()));
            device.write(d.0);
            epoch.write(e.0);
            key_id.write(k.0);
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Sender
// ---------------------------------------------------------------------------------------

/// What an outbox persists besides its entries.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_outbox_meta {
    /// The device owning the stream.
    pub device: u32,
    /// The stream's epoch.
    pub epoch: u32,
    /// Every position up to this one has been acknowledged (0 for none).
    pub acked_through: u32,
}

/// Called by `read_from` for each entry, oldest first; returns 1 to continue, 0 to
/// stop. `visit_ctx` is the value `read_from` received.
pub type tcm_outbox_visit_fn =
    unsafe extern "C" fn(visit_ctx: *mut c_void, position: u32, entry: *const u8, len: usize) -> u8;

/// The sender's outbox storage: entries (envelopes by position) and the meta, behind
/// callbacks (a table in the terminal's database). All are required; each returns a
/// `tcm_store_result`. An append must be durable before it returns, entries are never
/// overwritten to make room (return `TCM_STORE_RESULT_FULL` instead), and entries stay
/// in append order.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tcm_outbox_storage {
    /// Passed unchanged to the callbacks.
    pub ctx: *mut c_void,
    /// Loads the meta: `*found` = 1 and `*meta` filled, or `*found` = 0 on new or wiped
    /// storage.
    pub load_meta: Option<
        unsafe extern "C" fn(ctx: *mut c_void, found: *mut u8, meta: *mut tcm_outbox_meta) -> u32,
    >,
    /// Persists the meta (the newest write wins).
    pub store_meta:
        Option<unsafe extern "C" fn(ctx: *mut c_void, meta: *const tcm_outbox_meta) -> u32>,
    /// Appends an entry at `position` (one more than the newest entry's).
    pub append: Option<
        unsafe extern "C" fn(ctx: *mut c_void, position: u32, entry: *const u8, len: usize) -> u32,
    >,
    /// The oldest and newest positions and the entry count; `*found` = 0 when empty.
    pub bounds: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            found: *mut u8,
            oldest: *mut u32,
            newest: *mut u32,
            count: *mut usize,
        ) -> u32,
    >,
    /// Removes every entry at or before `position`.
    pub remove_through: Option<unsafe extern "C" fn(ctx: *mut c_void, position: u32) -> u32>,
    /// Calls `visit(visit_ctx, position, entry, len)` for the entries at `from` or later,
    /// oldest first, until it returns 0.
    pub read_from: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            from: u32,
            visit: tcm_outbox_visit_fn,
            visit_ctx: *mut c_void,
        ) -> u32,
    >,
    /// Bytes still free for entries (a hint).
    pub free_bytes: Option<unsafe extern "C" fn(ctx: *mut c_void, free: *mut usize) -> u32>,
}

/// The error of a storage callback: what it returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CStorageError(u32);

/// The storage as core sees it (every callback checked non-NULL at creation).
struct CStorage(tcm_outbox_storage);

/// Calls a callback that `tcm_sender_new` checked to be non-NULL.
macro_rules! callback {
    ($s:expr, $name:ident ( $($arg:expr),* )) => {{
        match $s.0.$name {
            // SAFETY: the callbacks and their context come from the caller of
            // `tcm_sender_new`, who promised they stay valid while the sender lives.
            Some(f) => unsafe { f($s.0.ctx $(, $arg)*) },
            None => 1,
        }
    }};
}

fn storage_result(r: u32) -> Result<(), CStorageError> {
    if r == 0 {
        Ok(())
    } else {
        Err(CStorageError(r))
    }
}

/// What `read_from`'s trampoline carries to the visitor.
struct Visit<'f, F> {
    visit: &'f mut F,
    panicked: bool,
}

/// The `tcm_outbox_visit_fn` handed to C: calls the Rust visitor, never unwinds.
unsafe extern "C" fn visit_trampoline<F: FnMut(u32, &[u8]) -> bool>(
    visit_ctx: *mut c_void,
    position: u32,
    entry: *const u8,
    len: usize,
) -> u8 {
    // SAFETY: `visit_ctx` is the `Visit<F>` that `read_from` passed to the storage
    // callback, alive for the whole callback.
    let v = unsafe { &mut *visit_ctx.cast::<Visit<'_, F>>() };
    if v.panicked {
        return 0;
    }
    // SAFETY: the storage callback passes an entry of `len` readable bytes.
    let Ok(bytes) = (unsafe { buffer::input(entry, len, "entry") }) else {
        return 0;
    };
    match catch_unwind(AssertUnwindSafe(|| (v.visit)(position, bytes))) {
        Ok(more) => u8::from(more),
        Err(_) => {
            v.panicked = true;
            0
        }
    }
}

impl OutboxStorage for CStorage {
    type Error = CStorageError;

    fn load_meta(&mut self) -> Result<Option<OutboxMeta>, Self::Error> {
        let mut found = 0u8;
        let mut m = tcm_outbox_meta {
            device: 0,
            epoch: 0,
            acked_through: 0,
        };
        storage_result(callback!(self, load_meta(&mut found, &mut m)))?;
        Ok((found != 0).then_some(OutboxMeta {
            device: DeviceId(m.device),
            epoch: Epoch(m.epoch),
            acked_through: m.acked_through,
        }))
    }

    fn store_meta(&mut self, meta: &OutboxMeta) -> Result<(), Self::Error> {
        let m = tcm_outbox_meta {
            device: meta.device.0,
            epoch: meta.epoch.0,
            acked_through: meta.acked_through,
        };
        storage_result(callback!(self, store_meta(&m)))
    }

    fn append(&mut self, position: u32, entry: &[u8]) -> Result<(), AppendError<Self::Error>> {
        match callback!(self, append(position, entry.as_ptr(), entry.len())) {
            0 => Ok(()),
            2 => Err(AppendError::Full),
            r => Err(AppendError::Storage(CStorageError(r))),
        }
    }

    fn bounds(&mut self) -> Result<Option<EntryBounds>, Self::Error> {
        let (mut found, mut oldest, mut newest, mut count) = (0u8, 0u32, 0u32, 0usize);
        storage_result(callback!(
            self,
            bounds(&mut found, &mut oldest, &mut newest, &mut count)
        ))?;
        Ok((found != 0).then_some(EntryBounds {
            oldest,
            newest,
            count,
        }))
    }

    fn remove_through(&mut self, position: u32) -> Result<(), Self::Error> {
        storage_result(callback!(self, remove_through(position)))
    }

    fn read_from<F>(&mut self, from: u32, mut visit: F) -> Result<(), Self::Error>
    where
        F: FnMut(u32, &[u8]) -> bool,
    {
        let mut v = Visit {
            visit: &mut visit,
            panicked: false,
        };
        let ctx = (&mut v as *mut Visit<'_, F>).cast::<c_void>();
        let r = callback!(self, read_from(from, visit_trampoline::<F>, ctx));
        if v.panicked {
            // Reported as a storage failure: the sender retries later.
            return Err(CStorageError(u32::MAX));
        }
        storage_result(r)
    }

    fn free_bytes(&mut self) -> Result<usize, Self::Error> {
        let mut free = 0usize;
        storage_result(callback!(self, free_bytes(&mut free)))?;
        Ok(free)
    }
}

/// Sender settings (`tcm_sender_config_default()` fills the defaults).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_sender_config {
    /// Largest framed batch on the wire in bytes (COBS, CRC and delimiter included), at
    /// least 64. `TCM_DEFAULT_MTU` carries any record.
    pub mtu: usize,
    /// Most records sent and not yet acknowledged (at least 1).
    pub window: u32,
    /// Retransmission timeout after a send, ms (at least 1).
    pub initial_rto_ms: u64,
    /// Cap of the retransmission timeout as it backs off, ms (at least the initial one).
    pub max_rto_ms: u64,
}

/// The sending side of one link (a terminal forwarding to the platform, or a kiosk
/// simulator): records pushed into its outbox are sent in batches until acknowledged.
/// Create with `tcm_sender_new()`, release with `tcm_sender_free()`.
pub struct tcm_sender {
    inner: SenderInner,
    /// A copy of the payload of a sealed sender (decrypted in place).
    scratch: Vec<u8>,
}

/// A plain or a sealed sender.
enum SenderInner {
    Plain(Sender<CStorage>),
    Sealed(Box<SealedSender<CStorage, CSealStore>>),
}

/// The errors of a sealed sender.
type SealedError = SealedSenderError<CStorageError, CSealStoreError>;

fn sealed_sender_error(e: SealedError, needed: &mut usize) -> tcm_status {
    match e {
        SealedSenderError::Sender(e) => sender_error(e, needed),
        SealedSenderError::Seal(e) => seal_error(e, needed),
        SealedSenderError::IdentityMismatch => fail(tcm_status::SealIdentityMismatch, e),
    }
}

impl SenderInner {
    fn sender(&self) -> &Sender<CStorage> {
        match self {
            SenderInner::Plain(s) => s,
            SenderInner::Sealed(s) => s.sender(),
        }
    }

    fn push(&mut self, envelope: &[u8]) -> Result<u32, tcm_status> {
        match self {
            SenderInner::Plain(s) => s.push(envelope).map_err(|e| sender_error(e, &mut 0)),
            SenderInner::Sealed(s) => s.push(envelope).map_err(|e| sealed_sender_error(e, &mut 0)),
        }
    }

    fn set_clock_valid(&mut self, valid: bool) {
        match self {
            SenderInner::Plain(s) => s.set_clock_valid(valid),
            SenderInner::Sealed(s) => s.set_clock_valid(valid),
        }
    }
}

impl Handle for tcm_sender {
    const NAME: &'static str = "tcm_sender";
}

/// What a received payload did at the sender (`tcm_sender_event.kind`).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_sender_event_kind {
    /// The receiver answered the hello; sending resumes after `watermark` (`has_utc`,
    /// `utc_now`: the receiver's time, for a device without a valid clock).
    Welcomed = 0,
    /// The receiver's UTC time (`utc_now`).
    TimeSynced = 1,
    /// Records up to `watermark` are acknowledged and removed from the outbox.
    Acked = 2,
    /// The receiver reported a gap; sending goes back to `expected`.
    Rewound = 3,
    /// The receiver did not know this session; a hello goes out next.
    Reintroducing = 4,
    /// The receiver's store failed or it could not read a message: sending pauses.
    ReceiverBusy = 5,
    /// Sending stopped for good (`stop_reason`); the records stay in the outbox.
    Stopped = 6,
    /// Nothing to do (duplicate, stale or foreign message).
    Ignored = 7,
    /// A sealed sender: the receiver rotated the key; the new key (`key_id`) is stored
    /// and in use.
    Rekeyed = 8,
    /// A sealed sender refused the payload (`rejection`, a `TCM_STATUS_SEAL_*` status;
    /// for a replay `expected` is the last counter accepted and `acked` the frame's);
    /// nothing changed.
    Rejected = 9,
}

/// Why a sender stopped (`tcm_sender_event.stop_reason`).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_stop_reason {
    /// Not stopped.
    None = 0,
    /// The receiver does not accept this schema version (`schema_min`, `schema_max`).
    UnsupportedSchema = 1,
    /// The receiver holds more of this epoch than the outbox assigned: start a new epoch
    /// (`watermark`).
    EpochReused = 2,
    /// The receiver's watermark is below what it acknowledged before (`watermark`,
    /// `acked`).
    ReceiverBehind = 3,
}

/// What one `tcm_sender_handle()` call did. Fields not named by `kind` are 0.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_sender_event {
    /// What happened.
    pub kind: tcm_sender_event_kind,
    /// 1 when `utc_now` holds the receiver's time.
    pub has_utc: u8,
    /// `STOPPED`: why.
    pub stop_reason: tcm_stop_reason,
    /// The receiver's watermark.
    pub watermark: u32,
    /// `REWOUND`: the position resent next.
    pub expected: u32,
    /// `STOPPED` with `RECEIVER_BEHIND`: what the outbox had acknowledged.
    pub acked: u32,
    /// `STOPPED` with `UNSUPPORTED_SCHEMA`: oldest version the receiver accepts.
    pub schema_min: u16,
    /// `STOPPED` with `UNSUPPORTED_SCHEMA`: newest version the receiver accepts.
    pub schema_max: u16,
    /// The receiver's UTC time, Unix seconds.
    pub utc_now: u64,
    /// `REKEYED`: the new key id.
    pub key_id: u32,
    /// `REJECTED`: why.
    pub rejection: tcm_status,
}

fn stop_reason(r: StopReason, ev: &mut tcm_sender_event) -> tcm_stop_reason {
    match r {
        StopReason::UnsupportedSchema { min, max } => {
            ev.schema_min = min;
            ev.schema_max = max;
            tcm_stop_reason::UnsupportedSchema
        }
        StopReason::EpochReused { watermark } => {
            ev.watermark = watermark;
            tcm_stop_reason::EpochReused
        }
        StopReason::ReceiverBehind { watermark, acked } => {
            ev.watermark = watermark;
            ev.acked = acked;
            tcm_stop_reason::ReceiverBehind
        }
    }
}

fn c_sender_event(e: SenderEvent) -> tcm_sender_event {
    let mut ev = tcm_sender_event {
        kind: tcm_sender_event_kind::Ignored,
        has_utc: 0,
        stop_reason: tcm_stop_reason::None,
        watermark: 0,
        expected: 0,
        acked: 0,
        schema_min: 0,
        schema_max: 0,
        utc_now: 0,
        key_id: 0,
        rejection: tcm_status::Ok,
    };
    if let Some(t) = e.utc_now() {
        ev.has_utc = 1;
        ev.utc_now = t;
    }
    match e {
        SenderEvent::Welcomed { watermark, .. } => {
            ev.kind = tcm_sender_event_kind::Welcomed;
            ev.watermark = watermark;
        }
        SenderEvent::TimeSynced { .. } => ev.kind = tcm_sender_event_kind::TimeSynced,
        SenderEvent::Acked { watermark } => {
            ev.kind = tcm_sender_event_kind::Acked;
            ev.watermark = watermark;
        }
        SenderEvent::Rewound { expected } => {
            ev.kind = tcm_sender_event_kind::Rewound;
            ev.expected = expected;
        }
        SenderEvent::Reintroducing => ev.kind = tcm_sender_event_kind::Reintroducing,
        SenderEvent::ReceiverBusy => ev.kind = tcm_sender_event_kind::ReceiverBusy,
        SenderEvent::Stopped(r) => {
            ev.kind = tcm_sender_event_kind::Stopped;
            ev.stop_reason = stop_reason(r, &mut ev);
        }
        SenderEvent::Ignored => ev.kind = tcm_sender_event_kind::Ignored,
    }
    ev
}

fn c_sealed_sender_event(e: SealedSenderEvent) -> tcm_sender_event {
    let mut ev = c_sender_event(SenderEvent::Ignored);
    match e {
        SealedSenderEvent::Sync(e) => return c_sender_event(e),
        SealedSenderEvent::Rekeyed { key_id } => {
            ev.kind = tcm_sender_event_kind::Rekeyed;
            ev.key_id = key_id.0;
        }
        SealedSenderEvent::Rejected(r) => {
            ev.kind = tcm_sender_event_kind::Rejected;
            ev.rejection = open_status(r);
            if let OpenError::Replayed { last, got } = r {
                ev.expected = last;
                ev.acked = got;
            }
        }
    }
    ev
}

fn outbox_error(e: OutboxError<CStorageError>) -> tcm_status {
    let status = match e {
        OutboxError::Full => tcm_status::OutboxFull,
        OutboxError::TooLarge { .. } => tcm_status::EntryTooLarge,
        OutboxError::Malformed(d) => return decode_error(d),
        OutboxError::SeqMismatch { .. } => tcm_status::SeqMismatch,
        OutboxError::PositionsExhausted => tcm_status::PositionsExhausted,
        OutboxError::InvalidIdentity => tcm_status::InvalidIdentity,
        OutboxError::DeviceMismatch { .. } => tcm_status::DeviceMismatch,
        OutboxError::Corrupt => tcm_status::OutboxCorrupt,
        OutboxError::AckBeyondLast { .. } => tcm_status::AckBeyondLast,
        OutboxError::Storage(CStorageError(r)) => {
            return fail(
                tcm_status::StorageFailed,
                format_args!("outbox storage callback returned {r}"),
            )
        }
    };
    fail(status, e)
}

fn sender_error(e: SenderError<CStorageError>, needed: &mut usize) -> tcm_status {
    match e {
        SenderError::InvalidConfig => fail(tcm_status::InvalidConfig, "sender configuration"),
        SenderError::OutputTooSmall { needed: n } => {
            *needed = n;
            fail(tcm_status::BufferTooSmall, format_args!("{n} bytes needed"))
        }
        SenderError::EntryExceedsMtu { position, len } => fail(
            tcm_status::EntryExceedsMtu,
            format_args!("envelope of {len} bytes at position {position}"),
        ),
        SenderError::Outbox(o) => outbox_error(o),
    }
}

/// Fills `*config` with the default sender settings.
///
/// # Safety
/// `config` points to writable memory for a `tcm_sender_config`.
#[no_mangle]
pub unsafe extern "C" fn tcm_sender_config_default(config: *mut tcm_sender_config) -> tcm_status {
    boundary(|| {
        let d = SenderConfig::default();
        let c = tcm_sender_config {
            mtu: d.mtu,
            window: d.window,
            initial_rto_ms: d.initial_rto_ms,
            max_rto_ms: d.max_rto_ms,
        };
        // SAFETY: caller contract of this function.
        unsafe { buffer::put(config, c, "config") }
    })
}

/// Opens the outbox in `*storage` (callbacks copied; `storage->ctx` must stay valid
/// until `tcm_sender_free()`) and creates a sender over it. If the storage holds this
/// device's outbox it resumes with its entries, epoch and numbering; on new or wiped
/// storage a new stream starts at `new_epoch` (an epoch this device never used).
/// `boot` is the device's persistent boot counter and `clock_valid` (0 or 1) whether its
/// clock is set. `config` may be NULL for the defaults.
///
/// # Safety
/// `storage` points to an initialised `tcm_outbox_storage` with valid callbacks;
/// `config` is NULL or points to a `tcm_sender_config`; `out` to writable memory for a
/// pointer.
#[no_mangle]
pub unsafe extern "C" fn tcm_sender_new(
    storage: *const tcm_outbox_storage,
    device: u32,
    new_epoch: u32,
    config: *const tcm_sender_config,
    boot: u32,
    clock_valid: u8,
    out: *mut *mut tcm_sender,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let (storage, cfg) = unsafe { storage_and_config(storage, config)? };
        buffer::non_null(out, "out")?;
        let outbox =
            Outbox::open(storage, DeviceId(device), Epoch(new_epoch)).map_err(outbox_error)?;
        let sender = Sender::new(outbox, cfg, boot, clock_valid != 0)
            .map_err(|e| sender_error(e, &mut 0))?;
        let s = tcm_sender {
            inner: SenderInner::Plain(sender),
            scratch: Vec::new(),
        };
        // SAFETY: caller contract of this function.
        unsafe { handle::hand_out(s, out) }
    })
}

/// Checks and copies the storage callbacks and the configuration.
///
/// # Safety
/// As for `tcm_sender_new`.
unsafe fn storage_and_config(
    storage: *const tcm_outbox_storage,
    config: *const tcm_sender_config,
) -> Result<(CStorage, SenderConfig), tcm_status> {
    // SAFETY: caller contract of this function.
    let s = *unsafe { buffer::read(storage, "storage")? };
    let missing = [
        (s.load_meta.is_none(), "load_meta"),
        (s.store_meta.is_none(), "store_meta"),
        (s.append.is_none(), "append"),
        (s.bounds.is_none(), "bounds"),
        (s.remove_through.is_none(), "remove_through"),
        (s.read_from.is_none(), "read_from"),
        (s.free_bytes.is_none(), "free_bytes"),
    ];
    if let Some((_, name)) = missing.iter().find(|(m, _)| *m) {
        return Err(fail(
            tcm_status::NullPointer,
            format_args!("storage->{name} is NULL"),
        ));
    }
    let cfg = if config.is_null() {
        SenderConfig::default()
    } else {
        // SAFETY: non-NULL; caller contract.
        let c = unsafe { &*config };
        SenderConfig {
            mtu: c.mtu,
            window: c.window,
            initial_rto_ms: c.initial_rto_ms,
            max_rto_ms: c.max_rto_ms,
        }
    };
    Ok((CStorage(s), cfg))
}

/// Creates a sealed sender: resumes the device's credentials and counter lease from
/// `*seal_store` (`TCM_STATUS_SEAL_NOT_PROVISIONED` until `tcm_seal_provision()` filled
/// it), opens the outbox in `*storage` for the provisioned device and epoch, and seals
/// every payload it produces; terminal payloads are taken only if authentic and fresh
/// (`TCM_SENDER_EVENT_KIND_REJECTED` otherwise). Output buffers need
/// `TCM_MAX_SEAL_OVERHEAD` bytes more than a plain sender's; the MTU covers the sealed
/// frame. Callbacks are copied; their `ctx` must stay valid until `tcm_sender_free()`.
/// If an outbox of another device or epoch is in `*storage`,
/// `TCM_STATUS_DEVICE_MISMATCH` / `TCM_STATUS_SEAL_IDENTITY_MISMATCH`: send it out under
/// its own credentials first (or wipe it deliberately).
///
/// # Safety
/// `storage` and `seal_store` point to initialised structs with valid callbacks;
/// `config` is NULL or points to a `tcm_sender_config`; `out` to writable memory for a
/// pointer.
#[no_mangle]
pub unsafe extern "C" fn tcm_sender_new_sealed(
    storage: *const tcm_outbox_storage,
    seal_store: *const tcm_seal_store,
    config: *const tcm_sender_config,
    boot: u32,
    clock_valid: u8,
    out: *mut *mut tcm_sender,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let (storage, cfg) = unsafe { storage_and_config(storage, config)? };
        // SAFETY: caller contract of this function.
        let seals = unsafe { CSealStore::from_c(seal_store)? };
        buffer::non_null(out, "out")?;
        let sealer = Sealer::resume(seals, DEFAULT_LEASE_BLOCK).map_err(|e| match e {
            SealerError::NotProvisioned => fail(tcm_status::SealNotProvisioned, e),
            SealerError::InvalidLeaseBlock => fail(tcm_status::InvalidArgument, e),
            SealerError::Store(_) => fail(tcm_status::SealStoreFailed, e),
        })?;
        let outbox =
            Outbox::open(storage, sealer.device(), sealer.epoch()).map_err(outbox_error)?;
        let sender = SealedSender::new(outbox, cfg, boot, clock_valid != 0, sealer)
            .map_err(|e| sealed_sender_error(e, &mut 0))?;
        let s = tcm_sender {
            inner: SenderInner::Sealed(Box::new(sender)),
            scratch: Vec::new(),
        };
        // SAFETY: caller contract of this function.
        unsafe { handle::hand_out(s, out) }
    })
}

/// Releases a sender (the outbox stays in its storage); NULL is a no-op. `TCM_STATUS_OK`,
/// or for misuse `TCM_STATUS_REENTERED` (from its own callback) /
/// `TCM_STATUS_WRONG_HANDLE` / `TCM_STATUS_UNKNOWN_HANDLE`, and nothing is freed.
///
/// # Safety
/// `sender` came from `tcm_sender_new()` (or is NULL) and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tcm_sender_free(sender: *mut tcm_sender) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        unsafe { handle::free(sender)? };
        Ok(())
    })
}

/// The state of a sender and its outbox.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_sender_info {
    /// The device owning the stream.
    pub device: u32,
    /// The stream's epoch.
    pub epoch: u32,
    /// 1 when `tcm_sender_new()` found no outbox and started `new_epoch`.
    pub started_new_epoch: u8,
    /// 1 when a welcome was received and records are flowing.
    pub streaming: u8,
    /// Why the sender stopped, `TCM_STOP_REASON_NONE` while it runs.
    pub stop_reason: tcm_stop_reason,
    /// The newest assigned position (0 for none).
    pub last_position: u32,
    /// Every position up to this one is acknowledged.
    pub acked_through: u32,
    /// Entries waiting for acknowledgement.
    pub pending: u32,
}

/// Writes the state of the sender into `*info`.
///
/// # Safety
/// `sender` came from `tcm_sender_new()`; `info` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn tcm_sender_get_info(
    sender: *const tcm_sender,
    info: *mut tcm_sender_info,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let s = unsafe { handle::borrow(sender)? };
        let tx = s.inner.sender();
        let o = tx.outbox();
        let mut scratch = c_sender_event(SenderEvent::Ignored);
        let i = tcm_sender_info {
            device: o.device().0,
            epoch: o.epoch().0,
            started_new_epoch: u8::from(o.started_new_epoch()),
            streaming: u8::from(tx.is_streaming()),
            stop_reason: tx
                .stopped()
                .map_or(tcm_stop_reason::None, |r| stop_reason(r, &mut scratch)),
            last_position: o.last_position(),
            acked_through: o.acked_through(),
            pending: u32::try_from(o.len()).unwrap_or(u32::MAX),
        };
        // SAFETY: caller contract of this function.
        unsafe { buffer::put(info, i, "info") }
    })
}

/// Stores in `*seq` the sequence number to put in the header of this device's next own
/// record (with the outbox's epoch): its position in the stream.
/// `TCM_STATUS_POSITIONS_EXHAUSTED` when the epoch is used up.
///
/// # Safety
/// `sender` came from `tcm_sender_new()`; `seq` points to a writable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_sender_next_seq(
    sender: *const tcm_sender,
    seq: *mut u32,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let s = unsafe { handle::borrow(sender)? };
        let next = s
            .inner
            .sender()
            .next_seq()
            .ok_or_else(|| fail(tcm_status::PositionsExhausted, "no sequence number left"))?;
        // SAFETY: caller contract of this function.
        unsafe { buffer::put(seq, next.0, "seq") }
    })
}

/// Persists an envelope in the outbox (through the `append` callback) and stores its
/// position in `*position`; it is sent by later `tcm_sender_poll_transmit()` calls. A
/// record of this device must carry the outbox's epoch and `tcm_sender_next_seq()`;
/// other devices' records (forwarded) are pushed unchanged. A full outbox gives
/// `TCM_STATUS_OUTBOX_FULL` and overwrites nothing.
///
/// # Safety
/// `sender` came from `tcm_sender_new()`; `envelope` points to `len` readable bytes;
/// `position` to a writable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_sender_push(
    sender: *mut tcm_sender,
    envelope: *const u8,
    len: usize,
    position: *mut u32,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let s = unsafe { handle::borrow_mut(sender)? };
        // SAFETY: caller contract of this function.
        let bytes = unsafe { buffer::input(envelope, len, "envelope")? };
        buffer::non_null(position, "position")?;
        let p = s.inner.push(bytes)?;
        // SAFETY: checked non-NULL above; caller contract.
        unsafe { position.write(p) };
        Ok(())
    })
}

/// Produces the next payload to send, if one is due at `now_ms` (a monotonic clock in
/// milliseconds since boot): the hello and its resends, batches within the MTU and the
/// window, resends after a timeout. Writes it to `out` (frame it with
/// `tcm_frame_encode()`); `*written` is 0 when nothing is due. Call until it is 0, and
/// again after a push, a received payload, or at `tcm_sender_next_timeout()`. A buffer
/// of the MTU always suffices.
///
/// # Safety
/// `sender` came from `tcm_sender_new()`; `out` points to `cap` writable bytes;
/// `written` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_sender_poll_transmit(
    sender: *mut tcm_sender,
    now_ms: u64,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let s = unsafe { handle::borrow_mut(sender)? };
        buffer::non_null(written, "written")?;
        // SAFETY: caller contract of this function.
        let dst = unsafe { buffer::output(out, cap, "out")? };
        let mut needed = 0;
        let result = match &mut s.inner {
            SenderInner::Plain(tx) => tx
                .poll_transmit(now_ms, dst)
                .map(|n| n.unwrap_or(0))
                .map_err(|e| sender_error(e, &mut needed)),
            SenderInner::Sealed(tx) => tx
                .poll_transmit(now_ms, dst)
                .map(|n| n.unwrap_or(0))
                .map_err(|e| sealed_sender_error(e, &mut needed)),
        };
        // SAFETY: checked non-NULL above; caller contract.
        unsafe { buffer::report_len(result, needed, written) }
    })
}

/// Handles one payload received from the receiver (a decoded frame) at `now_ms` and
/// writes what it did into `*event`. Undecodable or foreign payloads are
/// `TCM_SENDER_EVENT_KIND_IGNORED`, not errors; errors are storage failures.
///
/// # Safety
/// `sender` came from `tcm_sender_new()`; `payload` points to `len` readable bytes;
/// `event` to writable memory.
#[no_mangle]
pub unsafe extern "C" fn tcm_sender_handle(
    sender: *mut tcm_sender,
    now_ms: u64,
    payload: *const u8,
    len: usize,
    event: *mut tcm_sender_event,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let s = unsafe { handle::borrow_mut(sender)? };
        // SAFETY: caller contract of this function.
        let input = unsafe { buffer::input(payload, len, "payload")? };
        buffer::non_null(event, "event")?;
        let ev = match &mut s.inner {
            SenderInner::Plain(tx) => tx
                .handle(now_ms, input)
                .map(c_sender_event)
                .map_err(|e| sender_error(e, &mut 0))?,
            SenderInner::Sealed(tx) => {
                s.scratch.clear();
                s.scratch.extend_from_slice(input);
                let r = tx.handle(now_ms, &mut s.scratch);
                s.scratch.zeroize();
                r.map(c_sealed_sender_event)
                    .map_err(|e| sealed_sender_error(e, &mut 0))?
            }
        };
        // SAFETY: checked non-NULL above; caller contract.
        unsafe { event.write(ev) };
        Ok(())
    })
}

/// Stores in `*at_ms` the earliest time a timer fires (hello resend, retransmission,
/// pause) and sets `*has_timeout` to 1; 0 when no timer runs. Poll again then.
///
/// # Safety
/// `sender` came from `tcm_sender_new()`; `has_timeout` and `at_ms` point to writable
/// memory.
#[no_mangle]
pub unsafe extern "C" fn tcm_sender_next_timeout(
    sender: *const tcm_sender,
    has_timeout: *mut u8,
    at_ms: *mut u64,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let s = unsafe { handle::borrow(sender)? };
        buffer::non_null(has_timeout, "has_timeout")?;
        buffer::non_null(at_ms, "at_ms")?;
        let t = s.inner.sender().next_timeout();
        // SAFETY: checked non-NULL above; caller contract.
        unsafe {
            has_timeout.write(u8::from(t.is_some()));
            at_ms.write(t.unwrap_or(0));
        }
        Ok(())
    })
}

/// Tells the sender whether the device clock is valid now (`valid` 0 or 1), for later
/// hellos.
///
/// # Safety
/// `sender` came from `tcm_sender_new()`.
#[no_mangle]
pub unsafe extern "C" fn tcm_sender_set_clock_valid(
    sender: *mut tcm_sender,
    valid: u8,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let s = unsafe { handle::borrow_mut(sender)? };
        s.inner.set_clock_valid(valid != 0);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_results_round_trip() {
        for e in [
            StoreError::Unavailable,
            StoreError::Full,
            StoreError::Conflict,
        ] {
            assert_eq!(store_result(store_error(e) as u32), Err(e));
        }
        assert_eq!(store_result(0), Ok(()));
        // Any value a callback should not return counts as "unavailable" (retry).
        assert_eq!(store_result(77), Err(StoreError::Unavailable));
    }

    #[test]
    fn nack_reasons_keep_core_order() {
        let mut ev = c_receiver_event(ReceiverEvent::Ignored);
        let reasons = [
            NackReason::Gap,
            NackReason::UnsupportedSchema { min: 1, max: 1 },
            NackReason::StoreUnavailable,
            NackReason::NotIntroduced,
            NackReason::EpochReused { watermark: 3 },
            NackReason::Malformed,
        ];
        for (i, r) in reasons.into_iter().enumerate() {
            assert_eq!(nack_reason(r, &mut ev) as usize, i);
        }
    }
}
