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

use crate::boundary;
use crate::buffer;
use crate::handle::{self, Handle};
use crate::pod;
use crate::record::{c_header, tcm_record_header};
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

fn store_error(e: StoreError) -> tcm_store_result {
    match e {
        StoreError::Unavailable => tcm_store_result::Unavailable,
        StoreError::Full => tcm_store_result::Full,
        StoreError::Conflict => tcm_store_result::Conflict,
    }
}

fn store_result(r: u32) -> Result<(), StoreError> {
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
    receiver: Receiver<CStore>,
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
        let s = unsafe { buffer::read(store, "store")? };
        let watermark = s
            .watermark
            .ok_or_else(|| fail(tcm_status::NullPointer, "store->watermark is NULL"))?;
        let commit = s
            .commit
            .ok_or_else(|| fail(tcm_status::NullPointer, "store->commit is NULL"))?;
        let store = CStore {
            ctx: s.ctx,
            watermark,
            commit,
            scratch: Vec::new(),
        };
        let r = tcm_receiver {
            receiver: Receiver::new(store),
        };
        // SAFETY: caller contract of this function.
        unsafe { handle::hand_out(r, out) }
    })
}

/// Releases a receiver; NULL is a no-op. Always `TCM_STATUS_OK`.
///
/// # Safety
/// `receiver` came from `tcm_receiver_new()` (or is NULL) and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tcm_receiver_free(receiver: *mut tcm_receiver) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        unsafe { handle::free(receiver) };
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
        let result = r
            .receiver
            .handle(now, input, out)
            .map_err(|e| receiver_error(e, &mut needed));
        match result {
            Ok(o) => {
                // SAFETY: checked non-NULL above; caller contract.
                unsafe {
                    reply_len.write(o.reply_len);
                    event.write(c_receiver_event(o.event));
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
/// send to a kiosk whose clock drifts. Buffer rules as for `tcm_record_encode()`.
///
/// # Safety
/// `receiver` came from `tcm_receiver_new()`; `out` points to `cap` writable bytes;
/// `written` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_receiver_time_sync(
    receiver: *const tcm_receiver,
    utc_now: u64,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let r = unsafe { handle::borrow(receiver)? };
        buffer::non_null(written, "written")?;
        // SAFETY: caller contract of this function.
        let dst = unsafe { buffer::output(out, cap, "out")? };
        let mut needed = 0;
        let result = r
            .receiver
            .time_sync(utc_now, dst)
            .map_err(|e| receiver_error(e, &mut needed));
        // SAFETY: checked non-NULL above; caller contract.
        unsafe { buffer::report_len(result, needed, written) }
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
    sender: Sender<CStorage>,
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
        let s = *unsafe { buffer::read(storage, "storage")? };
        buffer::non_null(out, "out")?;
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
        let outbox =
            Outbox::open(CStorage(s), DeviceId(device), Epoch(new_epoch)).map_err(outbox_error)?;
        let sender = Sender::new(outbox, cfg, boot, clock_valid != 0)
            .map_err(|e| sender_error(e, &mut 0))?;
        // SAFETY: caller contract of this function.
        unsafe { handle::hand_out(tcm_sender { sender }, out) }
    })
}

/// Releases a sender (the outbox stays in its storage); NULL is a no-op. Always
/// `TCM_STATUS_OK`.
///
/// # Safety
/// `sender` came from `tcm_sender_new()` (or is NULL) and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tcm_sender_free(sender: *mut tcm_sender) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        unsafe { handle::free(sender) };
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
        let o = s.sender.outbox();
        let mut scratch = c_sender_event(SenderEvent::Ignored);
        let i = tcm_sender_info {
            device: o.device().0,
            epoch: o.epoch().0,
            started_new_epoch: u8::from(o.started_new_epoch()),
            streaming: u8::from(s.sender.is_streaming()),
            stop_reason: s
                .sender
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
            .sender
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
        let p = s.sender.push(bytes).map_err(|e| sender_error(e, &mut 0))?;
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
        let result = s
            .sender
            .poll_transmit(now_ms, dst)
            .map(|n| n.unwrap_or(0))
            .map_err(|e| sender_error(e, &mut needed));
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
        let e = s
            .sender
            .handle(now_ms, input)
            .map_err(|e| sender_error(e, &mut 0))?;
        // SAFETY: checked non-NULL above; caller contract.
        unsafe { event.write(c_sender_event(e)) };
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
        let t = s.sender.next_timeout();
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
        s.sender.set_clock_valid(valid != 0);
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
