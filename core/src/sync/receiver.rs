//! The receiving side: per-stream watermarks, in-order commits, sans-IO.

use core::fmt;

use super::message::MAX_CONTROL_MESSAGE_LEN;
use super::message::{Ack, Batch, Hello, Message, Nack, NackReason, Welcome};
use super::store::{ReceiverStore, RecordStatus, RecordToCommit, SealedReceiverStore, StoreError};
use crate::ids::{DeviceId, Epoch};
use crate::record::{Header, Record, RecordError};
use crate::seal::FrameCounter;
use crate::time::{Timestamp, UtcSeconds};
use crate::wire::codec::{DecodeError, EncodeError};
use crate::SCHEMA_VERSION;

/// Most records a receiver commits from one batch. A longer batch is committed up to this
/// many and acknowledged accordingly; the sender continues from there.
pub const MAX_BATCH_RECORDS: usize = 128;

/// Schema versions a receiver accepts in hellos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SchemaRange {
    /// Oldest accepted version.
    pub min: u16,
    /// Newest accepted version.
    pub max: u16,
}

impl Default for SchemaRange {
    /// Versions 1 and up. Newer writers are accepted because the envelope keeps what this
    /// version cannot read (unknown kinds, longer bodies) and commits it flagged: an old
    /// terminal never drops a new kiosk's data. A receiver that must refuse newer writers
    /// sets `max`.
    fn default() -> Self {
        SchemaRange {
            min: 1,
            max: u16::MAX,
        }
    }
}

impl SchemaRange {
    /// Exactly this version's schema ([`SCHEMA_VERSION`]).
    pub const fn current_only() -> Self {
        SchemaRange {
            min: SCHEMA_VERSION,
            max: SCHEMA_VERSION,
        }
    }

    /// Whether `schema` is accepted (0 never is).
    pub fn accepts(&self, schema: u16) -> bool {
        schema != 0 && (self.min..=self.max).contains(&schema)
    }
}

/// What happened in one [`Receiver::handle`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReceiverEvent {
    /// A hello opened a session; the welcome names the watermark.
    Introduced {
        /// The sender.
        device: DeviceId,
        /// Its epoch.
        epoch: Epoch,
        /// Where it resumes from (watermark + 1).
        watermark: u32,
        /// The sender's clock is not valid (its recent records may carry "time unknown").
        sender_clock_valid: bool,
    },
    /// Records were committed and acknowledged.
    Committed {
        /// The sender.
        device: DeviceId,
        /// Its epoch.
        epoch: Epoch,
        /// Position of the first committed record.
        first_position: u32,
        /// Number of committed records.
        count: u32,
        /// The new watermark.
        watermark: u32,
    },
    /// A batch held only positions already committed; the watermark was acknowledged again.
    Duplicate {
        /// The watermark acknowledged.
        watermark: u32,
    },
    /// A batch started after the watermark + 1; a nack asked for `expected`.
    Gap {
        /// The position expected.
        expected: u32,
        /// The batch's first position.
        got: u32,
    },
    /// A hello was refused with this reason.
    Refused(NackReason),
    /// A batch arrived without a session (hello) for its epoch.
    NotIntroduced,
    /// The store failed; the sender was told to retry.
    StoreFailed(StoreError),
    /// The payload was not a decodable message (or a batch's records were not envelopes).
    Malformed,
    /// A message meant for a sender (ack, welcome...) was ignored.
    Ignored,
}

/// The result of [`Receiver::handle`]: the reply to send and what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReceiverOutput {
    /// Bytes of the reply payload written at the front of `out` (0: nothing to send).
    pub reply_len: usize,
    /// What happened.
    pub event: ReceiverEvent,
}

/// Errors of [`Receiver`] calls (the protocol's own failures become nacks, not errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReceiverError {
    /// The reply buffer is shorter than [`MAX_CONTROL_MESSAGE_LEN`].
    OutputTooSmall {
        /// Bytes needed.
        needed: usize,
    },
}

impl fmt::Display for ReceiverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReceiverError::OutputTooSmall { needed } => {
                write!(f, "reply buffer too small: {needed} bytes needed")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ReceiverError {}

impl From<EncodeError> for ReceiverError {
    fn from(e: EncodeError) -> Self {
        match e {
            EncodeError::BufferTooSmall { needed } => ReceiverError::OutputTooSmall { needed },
        }
    }
}

/// What a hello told the receiver; lost when the receiver restarts (the sender then gets
/// [`NackReason::NotIntroduced`] and says hello again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Session {
    device: DeviceId,
    epoch: Epoch,
    boot: u32,
    /// UTC of the sender's boot: receiver's UTC at hello minus the hello's uptime.
    boot_utc: Option<u64>,
}

/// The receiving side of one link, sans-IO: feed it each decoded frame payload with
/// [`Receiver::handle`]; it commits through its [`ReceiverStore`] and writes the reply.
///
/// It takes plain (unsealed) payloads and authenticates nothing: use it only on a trusted
/// link. On a care-home network use [`super::SealedReceiver`] (which wraps it).
#[derive(Debug)]
pub struct Receiver<St: ReceiverStore> {
    store: St,
    schemas: SchemaRange,
    session: Option<Session>,
}

impl<St: ReceiverStore> Receiver<St> {
    /// A receiver over `store` accepting schema versions 1 and up.
    pub fn new(store: St) -> Self {
        Self::with_schemas(store, SchemaRange::default())
    }

    /// A receiver accepting only the given schema versions.
    pub fn with_schemas(store: St, schemas: SchemaRange) -> Self {
        Receiver {
            store,
            schemas,
            session: None,
        }
    }

    /// The store.
    pub fn store(&self) -> &St {
        &self.store
    }

    /// The store, mutably (e.g. to read records out).
    pub fn store_mut(&mut self) -> &mut St {
        &mut self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> St {
        self.store
    }

    /// The stream of the current session, if a hello opened one.
    pub fn session(&self) -> Option<(DeviceId, Epoch)> {
        self.session.map(|s| (s.device, s.epoch))
    }

    /// Writes a [`super::TimeSync`] payload carrying `utc_now` into `out`.
    pub fn time_sync(&self, utc_now: u64, out: &mut [u8]) -> Result<usize, ReceiverError> {
        Ok(Message::TimeSync(super::TimeSync { utc_now }).encode(out)?)
    }

    /// Handles one frame payload. `now_utc` is the receiver's clock in Unix seconds
    /// (`None` if it has no valid clock). The reply, if any, is written at the front of
    /// `out` (at least [`MAX_CONTROL_MESSAGE_LEN`] bytes).
    pub fn handle(
        &mut self,
        now_utc: Option<u64>,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<ReceiverOutput, ReceiverError> {
        if out.len() < MAX_CONTROL_MESSAGE_LEN {
            return Err(ReceiverError::OutputTooSmall {
                needed: MAX_CONTROL_MESSAGE_LEN,
            });
        }
        let (reply, event) = self.process(now_utc, Message::decode(payload));
        let reply_len = match reply {
            Some(m) => m.encode(out)?,
            None => 0,
        };
        Ok(ReceiverOutput { reply_len, event })
    }

    /// Handles one decoded message (or decoding failure) and returns the reply to send.
    pub(super) fn process(
        &mut self,
        now_utc: Option<u64>,
        msg: Result<Message<'_>, DecodeError>,
    ) -> (Option<Message<'static>>, ReceiverEvent) {
        let mut ctx = Ctx {
            store: &mut self.store,
            schemas: &self.schemas,
            session: &mut self.session,
        };
        ctx.process(now_utc, msg)
    }

    /// Like [`Receiver::process`], committing through
    /// [`SealedReceiverStore::commit_sealed`] with the frame `counter` of a sealed payload.
    pub(super) fn process_sealed(
        &mut self,
        now_utc: Option<u64>,
        msg: Result<Message<'_>, DecodeError>,
        counter: FrameCounter,
    ) -> (Option<Message<'static>>, ReceiverEvent)
    where
        St: SealedReceiverStore,
    {
        let mut store = WithCounter {
            store: &mut self.store,
            counter,
        };
        let mut ctx = Ctx {
            store: &mut store,
            schemas: &self.schemas,
            session: &mut self.session,
        };
        ctx.process(now_utc, msg)
    }
}

/// Commits through [`SealedReceiverStore::commit_sealed`] with a frame counter.
struct WithCounter<'s, St> {
    store: &'s mut St,
    counter: FrameCounter,
}

impl<St: SealedReceiverStore> ReceiverStore for WithCounter<'_, St> {
    fn watermark(&mut self, device: DeviceId, epoch: Epoch) -> Result<u32, StoreError> {
        self.store.watermark(device, epoch)
    }

    fn commit(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        first_position: u32,
        records: &[RecordToCommit<'_>],
        new_watermark: u32,
    ) -> Result<(), StoreError> {
        self.store.commit_sealed(
            device,
            epoch,
            first_position,
            records,
            new_watermark,
            self.counter,
        )
    }
}

/// The receiver's state borrowed for one message, over any store.
struct Ctx<'a, X: ReceiverStore> {
    store: &'a mut X,
    schemas: &'a SchemaRange,
    session: &'a mut Option<Session>,
}

impl<X: ReceiverStore> Ctx<'_, X> {
    fn process(
        &mut self,
        now_utc: Option<u64>,
        msg: Result<Message<'_>, DecodeError>,
    ) -> (Option<Message<'static>>, ReceiverEvent) {
        let now_utc = now_utc.filter(|t| UtcSeconds::new(*t).is_ok());
        match msg {
            Ok(Message::Hello(h)) => self.on_hello(now_utc, &h),
            Ok(Message::Batch(b)) => self.on_batch(&b),
            Ok(_) => (None, ReceiverEvent::Ignored),
            Err(_) => (
                Some(Message::Nack(Nack {
                    epoch: self.session.map_or(0, |s| s.epoch.0),
                    expected: 0,
                    reason: NackReason::Malformed,
                })),
                ReceiverEvent::Malformed,
            ),
        }
    }

    fn on_hello(
        &mut self,
        now_utc: Option<u64>,
        h: &Hello,
    ) -> (Option<Message<'static>>, ReceiverEvent) {
        let nack = |reason: NackReason, expected: u32| {
            (
                Some(Message::Nack(Nack {
                    epoch: h.epoch,
                    expected,
                    reason,
                })),
                ReceiverEvent::Refused(reason),
            )
        };
        if h.device == 0 || h.epoch == 0 {
            return nack(NackReason::Malformed, 0);
        }
        if !self.schemas.accepts(h.schema) {
            return nack(
                NackReason::UnsupportedSchema {
                    min: self.schemas.min,
                    max: self.schemas.max,
                },
                0,
            );
        }
        let device = DeviceId(h.device);
        let epoch = Epoch(h.epoch);
        let watermark = match self.store.watermark(device, epoch) {
            Ok(w) => w,
            Err(e) => {
                return (
                    Some(Message::Nack(Nack {
                        epoch: h.epoch,
                        expected: 0,
                        reason: NackReason::StoreUnavailable,
                    })),
                    ReceiverEvent::StoreFailed(e),
                );
            }
        };
        // A refused hello opens no session and leaves the current one alone (it may be a
        // late duplicate of an earlier hello).
        if watermark > h.last_position {
            return nack(
                NackReason::EpochReused { watermark },
                watermark.saturating_add(1),
            );
        }
        *self.session = Some(Session {
            device,
            epoch,
            boot: h.boot,
            boot_utc: now_utc.and_then(|t| t.checked_sub(h.uptime_s as u64)),
        });
        (
            Some(Message::Welcome(Welcome {
                epoch: h.epoch,
                session: h.session,
                watermark,
                utc_now: now_utc,
            })),
            ReceiverEvent::Introduced {
                device,
                epoch,
                watermark,
                sender_clock_valid: h.clock_valid,
            },
        )
    }

    fn on_batch(&mut self, b: &Batch<'_>) -> (Option<Message<'static>>, ReceiverEvent) {
        let nack = |expected: u32, reason: NackReason| {
            Some(Message::Nack(Nack {
                epoch: b.epoch,
                expected,
                reason,
            }))
        };
        let Some(session) = self.session.filter(|s| s.epoch.0 == b.epoch) else {
            return (
                nack(0, NackReason::NotIntroduced),
                ReceiverEvent::NotIntroduced,
            );
        };
        let (device, epoch) = (session.device, session.epoch);
        let watermark = match self.store.watermark(device, epoch) {
            Ok(w) => w,
            Err(e) => {
                return (
                    nack(0, NackReason::StoreUnavailable),
                    ReceiverEvent::StoreFailed(e),
                )
            }
        };
        let expected = watermark.saturating_add(1);
        let count = match b.count() {
            Ok(n) if b.first_position != 0 && b.first_position.checked_add(n).is_some() => n,
            _ => {
                return (
                    nack(expected, NackReason::Malformed),
                    ReceiverEvent::Malformed,
                )
            }
        };
        if b.first_position > expected {
            return (
                nack(expected, NackReason::Gap),
                ReceiverEvent::Gap {
                    expected,
                    got: b.first_position,
                },
            );
        }
        let ack = |watermark: u32| {
            Some(Message::Ack(Ack {
                epoch: b.epoch,
                watermark,
            }))
        };
        // Positions first..first+count-1; skip the ones at or below the watermark.
        let skip = (expected - b.first_position) as usize;
        if count as usize <= skip {
            return (ack(watermark), ReceiverEvent::Duplicate { watermark });
        }
        let mut commits: heapless::Vec<RecordToCommit<'_>, MAX_BATCH_RECORDS> =
            heapless::Vec::new();
        // Records first in the zip: the position range is never stepped past the last.
        for (item, position) in b.records().skip(skip).zip(expected..) {
            let Ok((env, raw)) = item else {
                return (
                    nack(expected, NackReason::Malformed),
                    ReceiverEvent::Malformed,
                );
            };
            let record = classify(&session, position, env.kind, raw, &env);
            if commits.push(record).is_err() {
                break;
            }
        }
        let n = commits.len() as u32;
        let new_watermark = watermark + n;
        match self
            .store
            .commit(device, epoch, expected, &commits, new_watermark)
        {
            Ok(()) => (
                ack(new_watermark),
                ReceiverEvent::Committed {
                    device,
                    epoch,
                    first_position: expected,
                    count: n,
                    watermark: new_watermark,
                },
            ),
            Err(e) => (
                nack(expected, NackReason::StoreUnavailable),
                ReceiverEvent::StoreFailed(e),
            ),
        }
    }
}

/// Decodes one record for its status and, if clockless, places it in time.
fn classify<'a>(
    session: &Session,
    position: u32,
    kind: u8,
    raw: &'a [u8],
    env: &crate::wire::Envelope<'a>,
) -> RecordToCommit<'a> {
    let header = env.header().ok();
    let status = match Record::from_envelope(env) {
        Ok(_) => RecordStatus::Valid,
        Err(RecordError::UnknownKind(_)) => RecordStatus::UnknownKind,
        Err(RecordError::Invalid(e)) => RecordStatus::Invalid(e),
        Err(RecordError::Decode(e)) => RecordStatus::Malformed(e),
        Err(RecordError::Encode(_)) => {
            RecordStatus::Malformed(DecodeError::InvalidValue { field: "record" })
        }
    };
    let placed_time = header.and_then(|h| place(session, &h));
    RecordToCommit {
        position,
        envelope: raw,
        kind,
        header,
        status,
        placed_time,
    }
}

/// UTC of a record stamped "time unknown" by the device and boot that said hello.
fn place(session: &Session, h: &Header) -> Option<UtcSeconds> {
    match h.time {
        Timestamp::Unknown { boot, uptime_s }
            if boot == session.boot && h.id.device == session.device =>
        {
            let t = session.boot_utc?.checked_add(uptime_s as u64)?;
            UtcSeconds::new(t).ok()
        }
        _ => None,
    }
}
