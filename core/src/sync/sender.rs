//! The sending side: hello, batches from the outbox, acks, go-back-N with backoff.

use core::fmt;

use super::message::{BatchBuilder, Hello, Message, NackReason, MAX_CONTROL_MESSAGE_LEN};
use super::outbox::{Outbox, OutboxError, OutboxStorage};
use super::receiver::MAX_BATCH_RECORDS;
use crate::ids::Seq;
use crate::time::UtcSeconds;
use crate::wire::codec::varint_len;
use crate::wire::{max_frame_len, MAX_ENVELOPE_LEN};
use crate::SCHEMA_VERSION;

/// Default largest framed batch in bytes (delimiter included): enough for any record this
/// version writes ([`SenderConfig::mtu_for_all_records`]).
pub const DEFAULT_MTU: usize = 1024;

/// Smallest MTU accepted: a hello and a batch of one small record fit. A sender with an
/// MTU below [`SenderConfig::mtu_for_all_records`] refuses, at push, records it could not
/// send (a kiosk that only makes vitals records can use a few hundred bytes).
pub const MIN_MTU: usize = 64;

/// Default most records sent and not yet acknowledged.
pub const DEFAULT_WINDOW: u32 = 64;

/// Default first retransmission timeout in milliseconds.
pub const DEFAULT_INITIAL_RTO_MS: u64 = 1_000;

/// Default cap of the retransmission timeout in milliseconds.
pub const DEFAULT_MAX_RTO_MS: u64 = 60_000;

/// Each timeout without progress multiplies the retransmission timeout by this, up to
/// the cap.
pub const RTO_BACKOFF_FACTOR: u64 = 2;

/// Sender settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SenderConfig {
    /// Largest framed batch on the wire in bytes, COBS, CRC and delimiter included. At
    /// least [`MIN_MTU`].
    pub mtu: usize,
    /// Most records sent and not yet acknowledged (at least 1).
    pub window: u32,
    /// Retransmission timeout after a send, in milliseconds (at least 1).
    pub initial_rto_ms: u64,
    /// Cap of the retransmission timeout as it backs off.
    pub max_rto_ms: u64,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            mtu: DEFAULT_MTU,
            window: DEFAULT_WINDOW,
            initial_rto_ms: DEFAULT_INITIAL_RTO_MS,
            max_rto_ms: DEFAULT_MAX_RTO_MS,
        }
    }
}

impl SenderConfig {
    /// Framed size of a batch holding one envelope of `entry_len` bytes at worst (largest
    /// head varints, worst-case COBS).
    pub const fn framed_batch_len(entry_len: usize) -> usize {
        // Tag, epoch and position at 5 bytes each, then the records' length.
        let head = 1 + 5 + 5 + varint_len(entry_len as u64);
        max_frame_len(head + entry_len)
    }

    /// MTU at which a batch carries any record this version writes.
    pub const fn mtu_for_all_records() -> usize {
        Self::framed_batch_len(MAX_ENVELOPE_LEN)
    }

    fn validate(&self) -> bool {
        self.mtu >= MIN_MTU
            && self.window >= 1
            && self.initial_rto_ms >= 1
            && self.max_rto_ms >= self.initial_rto_ms
    }

    /// Largest payload whose frame fits the MTU.
    fn max_payload(&self) -> usize {
        let mut p = self.mtu;
        while p > 0 && max_frame_len(p) > self.mtu {
            p -= 1;
        }
        p
    }
}

/// Why a sender stopped sending. It stays stopped (records stay in the outbox) until the
/// caller builds a new sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StopReason {
    /// The receiver does not accept this schema version.
    UnsupportedSchema {
        /// Oldest version it accepts.
        min: u16,
        /// Newest version it accepts.
        max: u16,
    },
    /// The receiver holds more of this epoch than the outbox ever assigned: the device
    /// was wiped and its epoch reused. Start a new epoch.
    EpochReused {
        /// The receiver's watermark.
        watermark: u32,
    },
    /// The receiver's watermark is below what it acknowledged before (its store lost
    /// data, or it is another receiver): the removed records cannot be resent.
    ReceiverBehind {
        /// The receiver's watermark.
        watermark: u32,
        /// What the outbox had acknowledged.
        acked: u32,
    },
}

/// What an incoming message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SenderEvent {
    /// The receiver answered the hello; sending resumes after `watermark`.
    Welcomed {
        /// The receiver's watermark.
        watermark: u32,
        /// The receiver's UTC time (Unix seconds): a kiosk without a valid clock sets it.
        utc_now: Option<u64>,
    },
    /// The receiver's UTC time (Unix seconds), from a time-sync message.
    TimeSynced {
        /// UTC now.
        utc_now: u64,
    },
    /// Records up to `watermark` are acknowledged and removed from the outbox.
    Acked {
        /// The new watermark.
        watermark: u32,
    },
    /// The receiver reported a gap; sending goes back to `expected`.
    Rewound {
        /// The position resent next.
        expected: u32,
    },
    /// The receiver did not know this session (it restarted): a hello goes out next.
    Reintroducing,
    /// The receiver's store failed or it could not read a message: sending pauses for
    /// the retransmission timeout, then resumes after the acknowledged records.
    ReceiverBusy,
    /// Sending stopped for good.
    Stopped(StopReason),
    /// Nothing to do (duplicate, stale or foreign message, or undecodable payload).
    Ignored,
}

impl SenderEvent {
    /// The receiver's UTC time carried by this event, if any.
    pub fn utc_now(&self) -> Option<u64> {
        match self {
            SenderEvent::Welcomed { utc_now, .. } => *utc_now,
            SenderEvent::TimeSynced { utc_now } => Some(*utc_now),
            _ => None,
        }
    }
}

/// Errors of [`Sender`] calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SenderError<E> {
    /// The configuration breaks a rule of [`SenderConfig`].
    InvalidConfig,
    /// The output buffer is too small for the message.
    OutputTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// An envelope does not fit a batch within the MTU (refused at push; met when
    /// sending only if the outbox was filled under a larger MTU).
    EntryExceedsMtu {
        /// Its position (the one it would have got, at push).
        position: u32,
        /// Its length.
        len: usize,
    },
    /// The outbox failed.
    Outbox(OutboxError<E>),
}

impl<E: fmt::Debug> fmt::Display for SenderError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SenderError::InvalidConfig => f.write_str(
                "invalid sender configuration (MTU below the minimum, window or timeout 0)",
            ),
            SenderError::OutputTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            SenderError::EntryExceedsMtu { position, len } => write!(
                f,
                "record at position {position} ({len} bytes) does not fit a batch within the MTU"
            ),
            SenderError::Outbox(e) => write!(f, "{e}"),
        }
    }
}

#[cfg(feature = "std")]
impl<E: fmt::Debug> std::error::Error for SenderError<E> {}

impl<E> From<OutboxError<E>> for SenderError<E> {
    fn from(e: OutboxError<E>) -> Self {
        SenderError::Outbox(e)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Hello,
    Streaming,
    Stopped(StopReason),
}

/// The sending side of one link, sans-IO. Call [`Sender::poll_transmit`] until it returns
/// `None` and send each payload in a frame; give every received payload to
/// [`Sender::handle`]; call again when [`Sender::next_timeout`] passes or after a push.
/// Its payloads are plain: use it only on a trusted link; on a care-home network use
/// [`super::SealedSender`] (which wraps it).
/// `now_ms` is a monotonic time in milliseconds since this boot (it also gives the
/// hello's uptime); the sender reads no clock.
#[derive(Debug)]
pub struct Sender<S: OutboxStorage> {
    outbox: Outbox<S>,
    cfg: SenderConfig,
    max_payload: usize,
    boot: u32,
    clock_valid: bool,
    phase: Phase,
    /// Next position to transmit.
    next_send: u32,
    rto_ms: u64,
    /// Hello resend or retransmission deadline.
    deadline: Option<u64>,
    /// After a busy receiver: send nothing before this time.
    hold_until: Option<u64>,
    /// The position of the last gap rewind, so the nacks of batches already in flight do
    /// not rewind again.
    rewound_to: Option<u32>,
    /// Hello phases started since this sender was made.
    hellos: u32,
}

impl<S: OutboxStorage> Sender<S> {
    /// A sender over `outbox`. `boot` is the device's persistent boot counter and
    /// `clock_valid` whether its clock is set (both go into the hello).
    pub fn new(
        outbox: Outbox<S>,
        config: SenderConfig,
        boot: u32,
        clock_valid: bool,
    ) -> Result<Self, SenderError<S::Error>> {
        if !config.validate() {
            return Err(SenderError::InvalidConfig);
        }
        let next_send = outbox.acked_through().saturating_add(1);
        Ok(Sender {
            outbox,
            max_payload: config.max_payload(),
            cfg: config,
            boot,
            clock_valid,
            phase: Phase::Hello,
            next_send,
            rto_ms: config.initial_rto_ms,
            deadline: None,
            hold_until: None,
            rewound_to: None,
            hellos: 1,
        })
    }

    /// The session number of the current hello phase: the boot counter in the high 16
    /// bits and the phase count of this boot in the low 16, so a late welcome to an
    /// earlier hello (this boot or one of the last 65,535) never matches.
    fn session(&self) -> u32 {
        (self.boot << 16) | (self.hellos & 0xFFFF)
    }

    fn enter_hello(&mut self) {
        self.phase = Phase::Hello;
        self.hellos = self.hellos.wrapping_add(1);
        self.deadline = None;
        self.hold_until = None;
        self.rewound_to = None;
        self.rto_ms = self.cfg.initial_rto_ms;
    }

    /// The outbox.
    pub fn outbox(&self) -> &Outbox<S> {
        &self.outbox
    }

    /// Gives the outbox back.
    pub fn into_outbox(self) -> Outbox<S> {
        self.outbox
    }

    /// The sequence number for this device's next record (see [`Outbox::next_seq`]).
    pub fn next_seq(&self) -> Option<Seq> {
        self.outbox.next_seq()
    }

    /// Persists an envelope in the outbox (see [`Outbox::push`]); it is sent on a later
    /// [`Sender::poll_transmit`]. An envelope that could never be sent within the MTU is
    /// refused with [`SenderError::EntryExceedsMtu`].
    pub fn push(&mut self, envelope: &[u8]) -> Result<u32, SenderError<S::Error>> {
        if SenderConfig::framed_batch_len(envelope.len()) > self.cfg.mtu {
            return Err(SenderError::EntryExceedsMtu {
                position: self.outbox.last_position().saturating_add(1),
                len: envelope.len(),
            });
        }
        Ok(self.outbox.push(envelope)?)
    }

    /// Tells the sender whether the device clock is valid now (for later hellos).
    pub fn set_clock_valid(&mut self, valid: bool) {
        self.clock_valid = valid;
    }

    /// Whether a welcome was received and records are flowing.
    pub fn is_streaming(&self) -> bool {
        self.phase == Phase::Streaming
    }

    /// Why the sender stopped, if it did.
    pub fn stopped(&self) -> Option<StopReason> {
        match self.phase {
            Phase::Stopped(r) => Some(r),
            _ => None,
        }
    }

    /// The earliest time a timer (hello resend, retransmission, pause) fires; poll again
    /// then. `None` when no timer runs.
    pub fn next_timeout(&self) -> Option<u64> {
        match self.phase {
            Phase::Stopped(_) => None,
            Phase::Hello => Some(self.deadline.unwrap_or(0)),
            Phase::Streaming => match (self.hold_until, self.deadline) {
                (Some(h), _) => Some(h),
                (None, d) => d,
            },
        }
    }

    fn back_off(&mut self) {
        self.rto_ms = self
            .rto_ms
            .saturating_mul(RTO_BACKOFF_FACTOR)
            .min(self.cfg.max_rto_ms);
    }

    fn in_flight(&self) -> u32 {
        self.next_send
            .saturating_sub(self.outbox.acked_through().saturating_add(1))
    }

    /// Produces the next payload to send, if one is due: the hello (and its resends), then
    /// batches of waiting records within the MTU and the window, and resends after a
    /// timeout. Writes at the front of `out` and returns the length.
    pub fn poll_transmit(
        &mut self,
        now_ms: u64,
        out: &mut [u8],
    ) -> Result<Option<usize>, SenderError<S::Error>> {
        match self.phase {
            Phase::Stopped(_) => Ok(None),
            Phase::Hello => {
                if self.deadline.is_some_and(|d| now_ms < d) {
                    return Ok(None);
                }
                let hello = Message::Hello(Hello {
                    device: self.outbox.device().0,
                    epoch: self.outbox.epoch().0,
                    schema: SCHEMA_VERSION,
                    session: self.session(),
                    last_position: self.outbox.last_position(),
                    boot: self.boot,
                    uptime_s: u32::try_from(now_ms / 1000).unwrap_or(u32::MAX),
                    clock_valid: self.clock_valid,
                });
                let n = hello.encode(out).map_err(|_| SenderError::OutputTooSmall {
                    needed: MAX_CONTROL_MESSAGE_LEN,
                })?;
                self.deadline = Some(now_ms.saturating_add(self.rto_ms));
                self.back_off();
                Ok(Some(n))
            }
            Phase::Streaming => self.poll_batch(now_ms, out),
        }
    }

    fn poll_batch(
        &mut self,
        now_ms: u64,
        out: &mut [u8],
    ) -> Result<Option<usize>, SenderError<S::Error>> {
        let acked = self.outbox.acked_through();
        if let Some(h) = self.hold_until {
            if now_ms < h {
                return Ok(None);
            }
            self.hold_until = None;
            self.next_send = acked.saturating_add(1);
            self.deadline = None;
        }
        self.next_send = self.next_send.max(acked.saturating_add(1));
        if self.in_flight() > 0 && self.deadline.is_some_and(|d| now_ms >= d) {
            // No progress within the timeout: go back to the oldest unacknowledged record.
            self.next_send = acked.saturating_add(1);
            self.rewound_to = None;
            self.deadline = None;
            self.back_off();
        }
        if self.next_send > self.outbox.last_position() {
            return Ok(None);
        }
        let budget = self.cfg.window.saturating_sub(self.in_flight());
        if budget == 0 {
            return Ok(None);
        }
        let limit = (budget as usize).min(MAX_BATCH_RECORDS);
        let epoch = self.outbox.epoch().0;
        let first = self.next_send;
        let max_payload = self.max_payload;
        let mut batch = BatchBuilder::new(out, epoch, first, max_payload).map_err(|_| {
            SenderError::OutputTooSmall {
                needed: max_payload + super::message::BATCH_HEAD_RESERVE,
            }
        })?;
        let mut too_big_for_out = false;
        let mut first_len = 0;
        self.outbox.read_from(first, |_, env| {
            if batch.count() as usize >= limit {
                return false;
            }
            if batch.push(env) {
                return true;
            }
            // Distinguish "the batch is full" from "the caller's buffer is too short".
            let whole = 1 + 5 + 5 + varint_len(env.len() as u64) + env.len();
            too_big_for_out = batch.is_empty() && whole <= max_payload;
            first_len = env.len();
            false
        })?;
        if batch.is_empty() {
            return Err(if too_big_for_out {
                SenderError::OutputTooSmall {
                    needed: max_payload + super::message::BATCH_HEAD_RESERVE,
                }
            } else {
                SenderError::EntryExceedsMtu {
                    position: first,
                    len: first_len,
                }
            });
        }
        let count = batch.count();
        let n = batch.finish();
        self.next_send = first.saturating_add(count);
        if self.deadline.is_none() {
            self.deadline = Some(now_ms.saturating_add(self.rto_ms));
        }
        Ok(Some(n))
    }

    /// Progress: the receiver holds everything up to `watermark`.
    fn progress(&mut self, now_ms: u64, watermark: u32) -> Result<(), SenderError<S::Error>> {
        self.outbox.ack(watermark)?;
        self.next_send = self.next_send.max(watermark.saturating_add(1));
        self.rto_ms = self.cfg.initial_rto_ms;
        self.deadline = if self.in_flight() > 0 {
            Some(now_ms.saturating_add(self.rto_ms))
        } else {
            None
        };
        Ok(())
    }

    /// Handles one received payload (a decoded frame).
    pub fn handle(
        &mut self,
        now_ms: u64,
        payload: &[u8],
    ) -> Result<SenderEvent, SenderError<S::Error>> {
        let Ok(msg) = Message::decode(payload) else {
            return Ok(SenderEvent::Ignored);
        };
        if matches!(self.phase, Phase::Stopped(_)) {
            return Ok(SenderEvent::Ignored);
        }
        let epoch = self.outbox.epoch().0;
        let last = self.outbox.last_position();
        let acked = self.outbox.acked_through();
        let valid_utc = |t: u64| UtcSeconds::new(t).is_ok();
        match msg {
            Message::TimeSync(t) if valid_utc(t.utc_now) => {
                Ok(SenderEvent::TimeSynced { utc_now: t.utc_now })
            }
            Message::Welcome(w)
                if w.epoch == epoch
                    && w.session == self.session()
                    && self.phase == Phase::Hello =>
            {
                if w.watermark > last {
                    return Ok(self.stop(StopReason::EpochReused {
                        watermark: w.watermark,
                    }));
                }
                if w.watermark < acked {
                    return Ok(self.stop(StopReason::ReceiverBehind {
                        watermark: w.watermark,
                        acked,
                    }));
                }
                self.outbox.ack(w.watermark)?;
                self.phase = Phase::Streaming;
                self.next_send = w.watermark.saturating_add(1);
                self.rto_ms = self.cfg.initial_rto_ms;
                self.deadline = None;
                self.hold_until = None;
                self.rewound_to = None;
                Ok(SenderEvent::Welcomed {
                    watermark: w.watermark,
                    utc_now: w.utc_now.filter(|t| valid_utc(*t)),
                })
            }
            Message::Ack(a) if a.epoch == epoch && self.phase == Phase::Streaming => {
                if a.watermark > last {
                    return Ok(self.stop(StopReason::EpochReused {
                        watermark: a.watermark,
                    }));
                }
                if a.watermark <= acked {
                    return Ok(SenderEvent::Ignored);
                }
                self.progress(now_ms, a.watermark)?;
                Ok(SenderEvent::Acked {
                    watermark: a.watermark,
                })
            }
            Message::Nack(n) if n.epoch == epoch => self.on_nack(now_ms, n.expected, n.reason),
            _ => Ok(SenderEvent::Ignored),
        }
    }

    fn stop(&mut self, reason: StopReason) -> SenderEvent {
        self.phase = Phase::Stopped(reason);
        self.deadline = None;
        self.hold_until = None;
        SenderEvent::Stopped(reason)
    }

    fn on_nack(
        &mut self,
        now_ms: u64,
        expected: u32,
        reason: NackReason,
    ) -> Result<SenderEvent, SenderError<S::Error>> {
        match reason {
            // Answers a hello; once streaming, a refusal can only be a late answer to an
            // earlier hello.
            NackReason::UnsupportedSchema { min, max } if self.phase == Phase::Hello => {
                Ok(self.stop(StopReason::UnsupportedSchema { min, max }))
            }
            // Genuine only if the receiver holds more than this outbox ever assigned; a
            // late answer to an earlier hello (with a smaller last position) is not.
            NackReason::EpochReused { watermark } if watermark > self.outbox.last_position() => {
                Ok(self.stop(StopReason::EpochReused { watermark }))
            }
            NackReason::UnsupportedSchema { .. } | NackReason::EpochReused { .. } => {
                Ok(SenderEvent::Ignored)
            }
            NackReason::NotIntroduced => {
                if self.phase == Phase::Hello {
                    return Ok(SenderEvent::Ignored);
                }
                self.enter_hello();
                Ok(SenderEvent::Reintroducing)
            }
            NackReason::StoreUnavailable | NackReason::Malformed => {
                if self.phase == Phase::Streaming && self.hold_until.is_none() {
                    self.hold_until = Some(now_ms.saturating_add(self.rto_ms));
                    self.back_off();
                }
                // In the hello phase the hello's own backoff retries.
                Ok(SenderEvent::ReceiverBusy)
            }
            NackReason::Gap => {
                if self.phase != Phase::Streaming || expected == 0 {
                    return Ok(SenderEvent::Ignored);
                }
                let held = expected - 1;
                if held < self.outbox.acked_through() {
                    // Stale: sent before an acknowledgement that already covers more.
                    return Ok(SenderEvent::Ignored);
                }
                if held > self.outbox.last_position() {
                    return Ok(self.stop(StopReason::EpochReused { watermark: held }));
                }
                let mut event = SenderEvent::Ignored;
                if held > self.outbox.acked_through() {
                    self.progress(now_ms, held)?;
                    event = SenderEvent::Acked { watermark: held };
                }
                if expected < self.next_send && self.rewound_to != Some(expected) {
                    self.next_send = expected;
                    self.rewound_to = Some(expected);
                    self.deadline = None;
                    event = SenderEvent::Rewound { expected };
                }
                Ok(event)
            }
        }
    }
}
