//! The kiosk state machine:
//!
//! ```text
//! Idle --card--> Identified --> Measuring(temperature, oximetry, weight, blood pressure)
//!      --> Storing (validate in core, push to the flash outbox) --> Uplinking (await ack)
//!      --> Idle
//! ```
//!
//! Each measurement step is optional: a missing sensor is skipped, a failed one is
//! retried a bounded number of times and then given up, and the visit goes on with the
//! next step. Validation is core's (`Header::validate`, `VitalSigns::validate`, the rules
//! [`Record::validate`] applies to a vital signs record): a value core rejects is dropped
//! with the reason logged, the rest of the visit is kept. A visit makes up to two vital
//! signs records: the kiosk's own sensors, and the Bluetooth blood pressure monitor
//! (`MeasurementSource` differs).
//!
//! The uplink runs under every state: core's sans-IO [`SealedSender`] produces hello and
//! batches sealed under the kiosk's key (ChaCha20-Poly1305, [`tcmcare_core::seal`]), the
//! kiosk frames them onto the UART and feeds received frames back; only authentic, fresh
//! terminal frames reach the sync sender, anything else is counted and logged as
//! [`Event::Rejected`]. A `Provision` payload arriving here is refused (the kiosk is not
//! in provisioning mode: [`crate::provision`]). Records are in the outbox (flash) before
//! they are offered; a power cut anywhere loses nothing that was pushed, and resends after
//! a lost ack are deduplicated by the receiver. Waiting for the ack is bounded: the kiosk
//! returns to idle and keeps sending in the background.
//!
//! Every transition and outcome is an [`Event`]: logged with defmt on the board, and
//! queued for [`Kiosk::next_event`] (host tests assert on them).

use tcmcare_core::gatt::BloodPressureMeasurement;
use tcmcare_core::ids::{DeviceId, RecordId, ResidentRef};
use tcmcare_core::record::{
    Body, Header, MeasurementSource, Record, TemperatureSite, ValidationError, VitalSigns,
};
use tcmcare_core::seal::{
    OpenError, SealError, SealStore, MAX_PROVISION_LEN, MAX_SEALED_REKEY_LEN, MAX_SEAL_OVERHEAD,
};
use tcmcare_core::sync::{
    OutboxError, OutboxStorage, SealedSender, SealedSenderError, SealedSenderEvent, SenderError,
    SenderEvent, StopReason, DEFAULT_MAX_HELLO_AGE_MS, MAX_SEALED_CONTROL_LEN, MIN_SEALED_MTU,
};
use tcmcare_core::time::{Timestamp, UtcSeconds};
use tcmcare_core::wire::{encode_frame, max_frame_len, FrameDecoder, FrameError, MAX_ENVELOPE_LEN};
use zeroize::Zeroizing;

use crate::drivers::bp::MAX_BP_MEASUREMENT_LEN;
use crate::log::{log_info, log_warn};
use crate::ppg::{self, WINDOW_SAMPLES};
use crate::provision;
use crate::residents::ResidentTable;
use crate::sensors::{
    BloodPressureMonitor, CardReader, Failure, PpgSource, Thermometer, UplinkPort, WeightScale,
};

/// Largest framed message the kiosk sends (its sealed sender's MTU, seal included): a
/// batch of a few vitals records. Must be at least `SenderConfig::framed_batch_len` of
/// one vitals envelope plus core's `SEAL_MTU_RESERVE`.
pub const UPLINK_MTU: usize = 256;
/// Bytes of the buffer a payload is built and sealed in: the sealed sender needs
/// `MAX_SEAL_OVERHEAD` more than a plain sender's.
pub const TX_BUF_LEN: usize = UPLINK_MTU + MAX_SEAL_OVERHEAD;
/// Largest encoded frame the kiosk accepts from the terminal (delimiter excluded):
/// sealed control messages and key rotations, and a `Provision` (refused here).
pub const DOWNLINK_FRAME_LEN: usize = 96;

const _: () = assert!(UPLINK_MTU >= MIN_SEALED_MTU);
const _: () = assert!(max_frame_len(MAX_SEALED_CONTROL_LEN) - 1 <= DOWNLINK_FRAME_LEN);
const _: () = assert!(max_frame_len(MAX_SEALED_REKEY_LEN) - 1 <= DOWNLINK_FRAME_LEN);
const _: () = assert!(max_frame_len(MAX_PROVISION_LEN) - 1 <= DOWNLINK_FRAME_LEN);
/// Events kept for [`Kiosk::next_event`] (a diagnostic ring: the oldest is dropped).
pub const EVENT_QUEUE_LEN: usize = 16;
/// Frames sent per poll at most (the rest go on the next poll).
const MAX_FRAMES_PER_POLL: usize = 4;

/// Timeouts and retry counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KioskConfig {
    /// Interval between two looks for a card when idle, ms.
    pub card_poll_ms: u64,
    /// Reads of the thermometer before giving up.
    pub temperature_attempts: u8,
    /// PPG windows before giving up.
    pub oximetry_attempts: u8,
    /// Weighings before giving up.
    pub weight_attempts: u8,
    /// Pause before a retry, ms.
    pub retry_pause_ms: u64,
    /// Longest wait for one PPG window to fill, ms (a 5 s window plus slack).
    pub ppg_window_timeout_ms: u64,
    /// Longest wait for the blood pressure monitor's indication, ms.
    pub bp_timeout_ms: u64,
    /// Longest wait for the acknowledgement of a visit's records before returning to
    /// idle (sending goes on in the background), ms.
    pub ack_wait_ms: u64,
    /// A welcome is taken only if it answers a hello sent at most this long before, ms
    /// (it bounds how far a held-back welcome could shift clockless records).
    pub max_hello_age_ms: u64,
}

impl Default for KioskConfig {
    fn default() -> Self {
        KioskConfig {
            card_poll_ms: 100,
            temperature_attempts: 3,
            oximetry_attempts: 2,
            weight_attempts: 3,
            retry_pause_ms: 200,
            ppg_window_timeout_ms: 7_000,
            bp_timeout_ms: 60_000,
            ack_wait_ms: 5_000,
            max_hello_age_ms: DEFAULT_MAX_HELLO_AGE_MS,
        }
    }
}

/// A measurement step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Step {
    /// Forehead temperature.
    Temperature,
    /// SpO2 and pulse from the PPG.
    Oximetry,
    /// Body weight.
    Weight,
    /// Blood pressure from the Bluetooth monitor.
    BloodPressure,
}

impl Step {
    fn next(self) -> Option<Step> {
        match self {
            Step::Temperature => Some(Step::Oximetry),
            Step::Oximetry => Some(Step::Weight),
            Step::Weight => Some(Step::BloodPressure),
            Step::BloodPressure => None,
        }
    }
}

/// Where the kiosk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum State {
    /// Waiting for a card.
    Idle,
    /// A known card was read; the visit starts.
    Identified,
    /// Running a measurement step.
    Measuring(Step),
    /// Validating and persisting the visit's records.
    Storing,
    /// Waiting for the terminal to acknowledge the visit's records.
    Uplinking,
}

/// A value measured during a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Measurement {
    /// Temperature, 0.01 °C.
    Temperature(i16),
    /// SpO2 % and pulse /min.
    Oximetry {
        /// SpO2, %.
        spo2: u8,
        /// Pulse, /min.
        pulse: u16,
    },
    /// Weight, g.
    Weight(u32),
    /// Blood pressure, mmHg, and pulse, /min.
    BloodPressure {
        /// Systolic, mmHg.
        systolic: u16,
        /// Diastolic, mmHg.
        diastolic: u16,
        /// Pulse, /min (if the monitor sent it).
        pulse: Option<u16>,
    },
}

/// What happened (logged, and queued for [`Kiosk::next_event`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event {
    /// The state changed.
    Transition {
        /// From.
        from: State,
        /// To.
        to: State,
    },
    /// A card that the terminal did not provision.
    UnknownCard,
    /// The card reader failed.
    CardError(Failure),
    /// A visit started for this resident.
    Identified(ResidentRef),
    /// A step produced a value.
    Measured(Measurement),
    /// A step failed; `retry` says whether it is tried again.
    MeasureFailed {
        /// The step.
        step: Step,
        /// Why.
        failure: Failure,
        /// Whether another attempt follows.
        retry: bool,
    },
    /// A step was skipped: its sensor is missing.
    Skipped(Step),
    /// Core rejected a value; it was dropped from the record.
    ValueDropped(ValidationError),
    /// A record is persisted in the outbox at this position.
    Stored {
        /// Outbox position (= record sequence number).
        position: u32,
        /// The record's source.
        source: MeasurementSource,
    },
    /// The visit's records are persisted (the caller measures the time since
    /// `measured_end_ms` with its own clock: pushes take place within this poll).
    VisitStored {
        /// Records persisted (0: nothing was measured).
        records: u8,
        /// When the last measurement step ended (the `now_ms` of that poll).
        measured_end_ms: u64,
    },
    /// The outbox is full; the visit waits (nothing is overwritten).
    OutboxFull,
    /// A record could not be stored (a bug or storage failure; the reason is logged).
    StoreFailed,
    /// The terminal accepted the session.
    Welcomed {
        /// Its watermark for this stream.
        watermark: u32,
    },
    /// The terminal acknowledged records up to here.
    Acked {
        /// The watermark.
        watermark: u32,
    },
    /// The kiosk clock was set from the terminal (Unix seconds).
    ClockSet(u64),
    /// A corrupted frame arrived and was dropped.
    BadFrame(FrameError),
    /// The terminal did not acknowledge in time; records stay in the outbox.
    AckTimeout,
    /// The sender stopped for good.
    LinkStopped(StopReason),
    /// The sender, the outbox or the sealer failed (the reason is logged).
    LinkError,
    /// A terminal frame was rejected by the seal (altered, forged, replayed, unsealed...):
    /// nothing of it was used.
    Rejected(OpenError),
    /// The terminal rotated the key; the new key is persisted and in use.
    Rekeyed {
        /// The new key id.
        key_id: u32,
    },
    /// A `Provision` arrived outside provisioning mode and was refused.
    ProvisionRefused,
}

/// The peripherals the kiosk drives; measurement sensors are optional.
pub struct Peripherals<R, T, P, W, B, U> {
    /// Card reader.
    pub reader: R,
    /// Thermometer.
    pub thermometer: Option<T>,
    /// Pulse oximeter.
    pub oximeter: Option<P>,
    /// Scale.
    pub scale: Option<W>,
    /// Bluetooth blood pressure monitor.
    pub bp_monitor: Option<B>,
    /// Serial uplink.
    pub uplink: U,
}

#[derive(Debug, Clone, Copy, Default)]
struct Visit {
    resident: ResidentRef,
    time: Option<Timestamp>,
    temperature: Option<i16>,
    spo2: Option<u8>,
    pulse: Option<u16>,
    weight: Option<u32>,
    bp: Option<BloodPressureMeasurement>,
    measured_end_ms: u64,
    last_position: u32,
    /// Bit i: record i of [`Kiosk::visit_vitals`] is in the outbox.
    pushed: u8,
}

/// Progress of the current step.
#[derive(Debug, Clone, Copy)]
struct StepRun {
    attempt: u8,
    started_ms: u64,
    not_before_ms: u64,
    begun: bool,
}

/// The kiosk's large buffers: the PPG window and the uplink frames. Built by a `const fn`
/// so firmware can keep it in a static without building it on the stack first.
pub struct KioskMemory {
    red: [u32; WINDOW_SAMPLES],
    ir: [u32; WINDOW_SAMPLES],
    tx: [u8; TX_BUF_LEN],
    frame: [u8; UPLINK_MTU],
}

impl Default for KioskMemory {
    fn default() -> Self {
        Self::new()
    }
}

impl KioskMemory {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        KioskMemory {
            red: [0; WINDOW_SAMPLES],
            ir: [0; WINDOW_SAMPLES],
            tx: [0; TX_BUF_LEN],
            frame: [0; UPLINK_MTU],
        }
    }
}

/// The kiosk application. The card table and the buffers are borrowed (firmware keeps
/// them in statics).
pub struct Kiosk<'a, S: OutboxStorage, K: SealStore> {
    cfg: KioskConfig,
    device: DeviceId,
    boot: u32,
    table: &'a mut ResidentTable,
    mem: &'a mut KioskMemory,
    sender: SealedSender<S, K>,
    decoder: FrameDecoder<DOWNLINK_FRAME_LEN>,
    rejected: u32,
    state: State,
    run: StepRun,
    visit: Visit,
    next_card_poll_ms: u64,
    state_since_ms: u64,
    filled: usize,
    utc_base: Option<(u64, u64)>,
    events: [Option<Event>; EVENT_QUEUE_LEN],
    ev_head: usize,
    ev_len: usize,
    full_reported: bool,
}

/// A name for a sender error (logged without pulling in `core::fmt`).
fn sender_error_name<E>(e: &SenderError<E>) -> &'static str {
    match e {
        SenderError::InvalidConfig => "invalid config",
        SenderError::OutputTooSmall { .. } => "output buffer too small",
        SenderError::EntryExceedsMtu { .. } => "entry exceeds MTU",
        SenderError::Outbox(o) => match o {
            OutboxError::Full => "outbox full",
            OutboxError::TooLarge { .. } => "entry too large",
            OutboxError::Malformed(_) => "malformed envelope",
            OutboxError::SeqMismatch { .. } => "sequence mismatch",
            OutboxError::PositionsExhausted => "positions exhausted",
            OutboxError::InvalidIdentity => "invalid identity",
            OutboxError::DeviceMismatch { .. } => "device mismatch",
            OutboxError::Corrupt => "outbox corrupt",
            OutboxError::AckBeyondLast { .. } => "ack beyond last",
            OutboxError::Storage(_) => "storage failure",
        },
    }
}

/// A name for a sealed sender error.
fn link_error_name<E, KE>(e: &SealedSenderError<E, KE>) -> &'static str {
    match e {
        SealedSenderError::Sender(s) => sender_error_name(s),
        SealedSenderError::Seal(s) => match s {
            SealError::BufferTooSmall { .. } => "seal buffer too small",
            SealError::CounterExhausted => {
                "frame counters exhausted: rotate the key or provision a new epoch"
            }
            SealError::TooLong => "payload too long to seal",
            SealError::Store(_) => "seal store failed",
        },
        SealedSenderError::IdentityMismatch => "sealer and outbox identities differ",
    }
}

/// A name for the reason a sealed frame was rejected.
pub fn open_error_name(e: &OpenError) -> &'static str {
    match e {
        OpenError::BadTag => "bad tag",
        OpenError::UnknownDevice => "unknown device",
        OpenError::UnknownKey => "unknown key",
        OpenError::Revoked => "revoked",
        OpenError::Replayed { .. } => "replayed",
        OpenError::WrongEpoch { .. } => "wrong epoch",
        OpenError::Malformed => "malformed",
        OpenError::UnsealedRefused => "unsealed",
        OpenError::Store(_) => "store failed",
    }
}

/// What one received frame did.
enum Received {
    Frame(Result<SealedSenderEvent, &'static str>),
    Bad(FrameError),
    ProvisionRefused,
}

/// Drops from `v` the value core rejected; false if nothing can be dropped.
fn drop_rejected(v: &mut VitalSigns, e: ValidationError) -> bool {
    match e {
        ValidationError::TemperatureOutOfRange(_) => v.temperature_centi_c = None,
        ValidationError::Spo2OutOfRange(_) => v.spo2_percent = None,
        ValidationError::PulseOutOfRange(_) => v.pulse_per_min = None,
        ValidationError::WeightOutOfRange(_) => v.weight_g = None,
        ValidationError::SystolicOutOfRange(_)
        | ValidationError::DiastolicOutOfRange(_)
        | ValidationError::DiastolicNotBelowSystolic { .. }
        | ValidationError::BloodPressureIncomplete => {
            v.systolic_mmhg = None;
            v.diastolic_mmhg = None;
        }
        _ => return false,
    }
    true
}

impl<'a, S: OutboxStorage, K: SealStore> Kiosk<'a, S, K>
where
    S::Error: core::fmt::Debug,
{
    /// A kiosk in its `boot`-th boot sending through the sealed `sender`, knowing the
    /// cards of `table`, working in `mem`.
    pub fn new(
        cfg: KioskConfig,
        mut sender: SealedSender<S, K>,
        boot: u32,
        table: &'a mut ResidentTable,
        mem: &'a mut KioskMemory,
    ) -> Self {
        sender.set_max_hello_age_ms(cfg.max_hello_age_ms);
        Kiosk {
            cfg,
            device: sender.outbox().device(),
            boot,
            table,
            mem,
            sender,
            decoder: FrameDecoder::new(),
            rejected: 0,
            state: State::Idle,
            run: StepRun {
                attempt: 0,
                started_ms: 0,
                not_before_ms: 0,
                begun: false,
            },
            visit: Visit::default(),
            next_card_poll_ms: 0,
            state_since_ms: 0,
            filled: 0,
            utc_base: None,
            events: [None; EVENT_QUEUE_LEN],
            ev_head: 0,
            ev_len: 0,
            full_reported: false,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The sealed sender (and through it the outbox and the sealer).
    pub fn sender(&self) -> &SealedSender<S, K> {
        &self.sender
    }

    /// Gives the sealed sender back (e.g. to reopen its storage after a simulated
    /// restart).
    pub fn into_sender(self) -> SealedSender<S, K> {
        self.sender
    }

    /// Terminal frames the seal rejected since boot.
    pub fn rejected_frames(&self) -> u32 {
        self.rejected
    }

    /// The card table (the terminal provisions it).
    pub fn table_mut(&mut self) -> &mut ResidentTable {
        self.table
    }

    /// The oldest queued event.
    pub fn next_event(&mut self) -> Option<Event> {
        if self.ev_len == 0 {
            return None;
        }
        let e = self.events[self.ev_head].take();
        self.ev_head = (self.ev_head + 1) % EVENT_QUEUE_LEN;
        self.ev_len -= 1;
        e
    }

    fn emit(&mut self, e: Event) {
        match e {
            Event::Transition { from, to } => log_info!("kiosk: {} -> {}", from, to),
            Event::Rejected(_err) => log_warn!(
                "kiosk: sealed frame rejected: {=str} ({=u32} rejected since boot)",
                open_error_name(&_err),
                self.rejected
            ),
            Event::Rekeyed { key_id } => log_info!("kiosk: key rotated: key id {=u32}", key_id),
            Event::ProvisionRefused => log_warn!(
                "kiosk: provisioning refused: not in provisioning mode (hold the provisioning button at power-up)"
            ),
            Event::MeasureFailed { .. }
            | Event::ValueDropped(_)
            | Event::OutboxFull
            | Event::StoreFailed
            | Event::BadFrame(_)
            | Event::AckTimeout
            | Event::LinkStopped(_)
            | Event::LinkError
            | Event::UnknownCard
            | Event::CardError(_) => log_warn!("kiosk: {}", e),
            _ => log_info!("kiosk: {}", e),
        }
        let tail = (self.ev_head + self.ev_len) % EVENT_QUEUE_LEN;
        self.events[tail] = Some(e);
        if self.ev_len == EVENT_QUEUE_LEN {
            self.ev_head = (self.ev_head + 1) % EVENT_QUEUE_LEN;
        } else {
            self.ev_len += 1;
        }
    }

    fn go(&mut self, now_ms: u64, to: State) {
        let from = self.state;
        self.state = to;
        self.state_since_ms = now_ms;
        self.run = StepRun {
            attempt: 0,
            started_ms: now_ms,
            not_before_ms: now_ms,
            begun: false,
        };
        self.emit(Event::Transition { from, to });
    }

    /// UTC now, if the terminal set the clock.
    pub fn utc_now(&self, now_ms: u64) -> Option<u64> {
        self.utc_base
            .map(|(utc, at)| utc + now_ms.saturating_sub(at) / 1000)
    }

    /// One step of the kiosk: services the uplink and advances the state machine.
    /// Call it often (every millisecond or so); `now_ms` is monotonic since boot.
    pub fn poll<R, T, P, W, B, U>(&mut self, now_ms: u64, hw: &mut Peripherals<R, T, P, W, B, U>)
    where
        R: CardReader,
        T: Thermometer,
        P: PpgSource,
        W: WeightScale,
        B: BloodPressureMonitor,
        U: UplinkPort,
    {
        self.service_link(now_ms, &mut hw.uplink);
        match self.state {
            State::Idle => self.poll_idle(now_ms, &mut hw.reader),
            State::Identified => self.go(now_ms, State::Measuring(Step::Temperature)),
            State::Measuring(step) => self.poll_step(now_ms, step, hw),
            State::Storing => self.store(now_ms),
            State::Uplinking => {
                if self.sender.outbox().acked_through() >= self.visit.last_position {
                    self.go(now_ms, State::Idle);
                } else if now_ms.saturating_sub(self.state_since_ms) >= self.cfg.ack_wait_ms {
                    self.emit(Event::AckTimeout);
                    self.go(now_ms, State::Idle);
                }
            }
        }
        self.service_link(now_ms, &mut hw.uplink);
    }

    fn poll_idle<R: CardReader>(&mut self, now_ms: u64, reader: &mut R) {
        if now_ms < self.next_card_poll_ms {
            return;
        }
        self.next_card_poll_ms = now_ms + self.cfg.card_poll_ms;
        match reader.poll_card() {
            Ok(None) => {}
            Ok(Some(uid)) => match self.table.lookup(&uid) {
                None => self.emit(Event::UnknownCard),
                Some(resident) => {
                    let time = match self.utc_now(now_ms).map(UtcSeconds::new) {
                        Some(Ok(t)) => Timestamp::Utc(t),
                        _ => Timestamp::Unknown {
                            boot: self.boot,
                            uptime_s: u32::try_from(now_ms / 1000).unwrap_or(u32::MAX),
                        },
                    };
                    self.visit = Visit {
                        resident,
                        time: Some(time),
                        ..Visit::default()
                    };
                    self.emit(Event::Identified(resident));
                    self.go(now_ms, State::Identified);
                }
            },
            Err(f) => self.emit(Event::CardError(f)),
        }
    }

    fn attempts(&self, step: Step) -> u8 {
        match step {
            Step::Temperature => self.cfg.temperature_attempts,
            Step::Oximetry => self.cfg.oximetry_attempts,
            Step::Weight => self.cfg.weight_attempts,
            Step::BloodPressure => 1,
        }
    }

    fn next_step(&mut self, now_ms: u64, step: Step) {
        match step.next() {
            Some(s) => self.go(now_ms, State::Measuring(s)),
            None => {
                self.visit.measured_end_ms = now_ms;
                self.go(now_ms, State::Storing);
            }
        }
    }

    fn fail(&mut self, now_ms: u64, step: Step, failure: Failure) {
        let retry = failure.is_transient() && self.run.attempt + 1 < self.attempts(step);
        self.emit(Event::MeasureFailed {
            step,
            failure,
            retry,
        });
        if retry {
            self.run.attempt += 1;
            self.run.begun = false;
            self.run.started_ms = now_ms + self.cfg.retry_pause_ms;
            self.run.not_before_ms = now_ms + self.cfg.retry_pause_ms;
        } else {
            self.next_step(now_ms, step);
        }
    }

    fn measured(&mut self, now_ms: u64, step: Step, m: Measurement) {
        self.emit(Event::Measured(m));
        self.next_step(now_ms, step);
    }

    fn poll_step<R, T, P, W, B, U>(
        &mut self,
        now_ms: u64,
        step: Step,
        hw: &mut Peripherals<R, T, P, W, B, U>,
    ) where
        T: Thermometer,
        P: PpgSource,
        W: WeightScale,
        B: BloodPressureMonitor,
    {
        if now_ms < self.run.not_before_ms {
            return;
        }
        match step {
            Step::Temperature => {
                let Some(t) = hw.thermometer.as_mut() else {
                    self.emit(Event::Skipped(step));
                    return self.next_step(now_ms, step);
                };
                match t.read_centi_c() {
                    Ok(c) => {
                        self.visit.temperature = Some(c);
                        self.measured(now_ms, step, Measurement::Temperature(c));
                    }
                    Err(f) => self.fail(now_ms, step, f),
                }
            }
            Step::Oximetry => {
                let Some(ox) = hw.oximeter.as_mut() else {
                    self.emit(Event::Skipped(step));
                    return self.next_step(now_ms, step);
                };
                if !self.run.begun {
                    self.run.begun = true;
                    self.run.started_ms = now_ms;
                    self.filled = 0;
                    if let Err(f) = ox.restart() {
                        return self.fail(now_ms, step, f);
                    }
                }
                let m = &mut *self.mem;
                let (red, ir) = (&mut m.red[self.filled..], &mut m.ir[self.filled..]);
                match ox.read(red, ir) {
                    // A source claiming more than it was given cannot overrun the window.
                    Ok(n) => self.filled = (self.filled + n).min(WINDOW_SAMPLES),
                    Err(f) => return self.fail(now_ms, step, f),
                }
                if self.filled >= WINDOW_SAMPLES {
                    match ppg::estimate(&self.mem.red, &self.mem.ir) {
                        Ok(e) => {
                            self.visit.spo2 = Some(e.spo2_percent);
                            self.visit.pulse = Some(e.pulse_per_min);
                            self.measured(
                                now_ms,
                                step,
                                Measurement::Oximetry {
                                    spo2: e.spo2_percent,
                                    pulse: e.pulse_per_min,
                                },
                            );
                        }
                        Err(r) => self.fail(now_ms, step, Failure::Ppg(r)),
                    }
                } else if now_ms.saturating_sub(self.run.started_ms)
                    > self.cfg.ppg_window_timeout_ms
                {
                    self.fail(now_ms, step, Failure::Timeout);
                }
            }
            Step::Weight => {
                let Some(s) = hw.scale.as_mut() else {
                    self.emit(Event::Skipped(step));
                    return self.next_step(now_ms, step);
                };
                match s.weigh_g() {
                    Ok(g) => {
                        self.visit.weight = Some(g);
                        self.measured(now_ms, step, Measurement::Weight(g));
                    }
                    Err(f) => self.fail(now_ms, step, f),
                }
            }
            Step::BloodPressure => {
                let Some(bp) = hw.bp_monitor.as_mut() else {
                    self.emit(Event::Skipped(step));
                    return self.next_step(now_ms, step);
                };
                if !self.run.begun {
                    self.run.begun = true;
                    self.run.started_ms = now_ms;
                    if let Err(f) = bp.start() {
                        return self.fail(now_ms, step, f);
                    }
                }
                let mut buf = [0u8; MAX_BP_MEASUREMENT_LEN];
                match bp.poll(&mut buf) {
                    Ok(Some(n)) => {
                        match BloodPressureMeasurement::parse(buf.get(..n).unwrap_or(&[])) {
                            Ok(m) => {
                                self.visit.bp = Some(m);
                                self.measured(
                                    now_ms,
                                    step,
                                    Measurement::BloodPressure {
                                        systolic: m.systolic_mmhg,
                                        diastolic: m.diastolic_mmhg,
                                        pulse: m.pulse_per_min,
                                    },
                                );
                            }
                            Err(e) => self.fail(now_ms, step, Failure::Gatt(e)),
                        }
                    }
                    Ok(None) => {
                        if now_ms.saturating_sub(self.run.started_ms) > self.cfg.bp_timeout_ms {
                            self.fail(now_ms, step, Failure::Timeout);
                        }
                    }
                    Err(f) => self.fail(now_ms, step, f),
                }
            }
        }
    }

    /// The visit's records: kiosk sensors, then the Bluetooth monitor.
    fn visit_vitals(&self) -> [Option<VitalSigns>; 2] {
        let v = &self.visit;
        let kiosk = VitalSigns {
            temperature_centi_c: v.temperature,
            temperature_site: TemperatureSite::Forehead,
            spo2_percent: v.spo2,
            pulse_per_min: v.pulse,
            weight_g: v.weight,
            source: MeasurementSource::KioskSensor,
            ..VitalSigns::default()
        };
        let bt = v.bp.map(|m| VitalSigns {
            systolic_mmhg: Some(m.systolic_mmhg),
            diastolic_mmhg: Some(m.diastolic_mmhg),
            pulse_per_min: m.pulse_per_min,
            source: MeasurementSource::Bluetooth,
            ..VitalSigns::default()
        });
        [Some(kiosk), bt]
    }

    fn store(&mut self, now_ms: u64) {
        let records = self.visit_vitals();
        // Records already pushed before an OutboxFull pause are not pushed again:
        // `last_position` marks progress.
        for (i, vitals) in records.into_iter().enumerate() {
            let Some(mut vitals) = vitals else { continue };
            if self.visit.pushed & (1 << i) != 0 {
                continue;
            }
            let Some(seq) = self.sender.next_seq() else {
                self.emit(Event::StoreFailed);
                continue;
            };
            let header = Header {
                id: RecordId {
                    device: self.device,
                    epoch: self.sender.outbox().epoch(),
                    seq,
                },
                resident: self.visit.resident,
                time: self.visit.time.unwrap_or(Timestamp::Unknown {
                    boot: self.boot,
                    uptime_s: 0,
                }),
            };
            // Core's rules for this record: the header's reserved values and the vital
            // signs' ranges (Record::validate would dispatch over every record kind and
            // link all their validators into the firmware).
            if header.validate().is_err() {
                self.emit(Event::StoreFailed);
                continue;
            }
            let vitals = loop {
                match vitals.validate() {
                    Ok(()) => break Some(vitals),
                    Err(ValidationError::NoMeasurement) => break None,
                    Err(e) => {
                        self.emit(Event::ValueDropped(e));
                        if !drop_rejected(&mut vitals, e) {
                            break None;
                        }
                    }
                }
            };
            let Some(vitals) = vitals else { continue };
            let record = Record {
                header,
                body: Body::Vitals(vitals),
            };
            let mut env = [0u8; MAX_ENVELOPE_LEN];
            let Ok(n) = record.encode_unchecked(&mut env) else {
                self.emit(Event::StoreFailed);
                continue;
            };
            match self.sender.push(&env[..n]) {
                Ok(position) => {
                    self.visit.last_position = position;
                    self.visit.pushed |= 1 << i;
                    self.emit(Event::Stored {
                        position,
                        source: vitals.source,
                    });
                }
                Err(SealedSenderError::Sender(SenderError::Outbox(OutboxError::Full))) => {
                    if !self.full_reported {
                        self.full_reported = true;
                        self.emit(Event::OutboxFull);
                    }
                    return; // stay in Storing, retry on the next poll
                }
                Err(_e) => {
                    log_warn!("kiosk: push failed: {=str}", link_error_name(&_e));
                    self.emit(Event::StoreFailed);
                }
            }
        }
        self.full_reported = false;
        self.emit(Event::VisitStored {
            records: self.visit.pushed.count_ones() as u8,
            measured_end_ms: self.visit.measured_end_ms,
        });
        if self.visit.last_position == 0 {
            self.go(now_ms, State::Idle);
        } else {
            self.go(now_ms, State::Uplinking);
        }
    }

    fn service_link<U: UplinkPort>(&mut self, now_ms: u64, port: &mut U) {
        // Raw line bytes may hold a provisioning key in clear: wiped when dropped.
        let mut rx = Zeroizing::new([0u8; 32]);
        loop {
            let n = port.read_available(&mut rx[..]);
            if n == 0 {
                break;
            }
            let mut input = rx.get(..n).unwrap_or(&[]);
            loop {
                let received = match self.decoder.feed_mut(&mut input) {
                    None => break,
                    Some(Err(e)) => Received::Bad(e),
                    Some(Ok(payload)) if provision::is_provision(payload) => {
                        // Not in provisioning mode: core refuses, the payload is wiped.
                        let _ = provision::refuse_outside_provisioning_mode(payload);
                        Received::ProvisionRefused
                    }
                    Some(Ok(payload)) => Received::Frame(
                        self.sender
                            .handle(now_ms, payload)
                            .map_err(|e| link_error_name(&e)),
                    ),
                };
                match received {
                    Received::Frame(Ok(SealedSenderEvent::Sync(ev))) => {
                        self.on_sender_event(now_ms, ev)
                    }
                    Received::Frame(Ok(SealedSenderEvent::Rekeyed { key_id })) => {
                        self.emit(Event::Rekeyed { key_id: key_id.0 })
                    }
                    Received::Frame(Ok(SealedSenderEvent::Rejected(e))) => {
                        self.rejected = self.rejected.saturating_add(1);
                        self.emit(Event::Rejected(e));
                    }
                    Received::Frame(Err(_name)) => {
                        log_warn!("kiosk: sender: {=str}", _name);
                        self.emit(Event::LinkError);
                    }
                    Received::Bad(e) => self.emit(Event::BadFrame(e)),
                    Received::ProvisionRefused => self.emit(Event::ProvisionRefused),
                }
            }
        }
        for _ in 0..MAX_FRAMES_PER_POLL {
            match self.sender.poll_transmit(now_ms, &mut self.mem.tx) {
                Ok(Some(n)) => {
                    let Some(payload) = self.mem.tx.get(..n) else {
                        break;
                    };
                    match encode_frame(payload, &mut self.mem.frame) {
                        Ok(m) => port.write_all(self.mem.frame.get(..m).unwrap_or(&[])),
                        Err(_) => {
                            self.emit(Event::LinkError);
                            break;
                        }
                    }
                }
                Ok(None) => break,
                Err(_e) => {
                    log_warn!("kiosk: sender: {=str}", link_error_name(&_e));
                    self.emit(Event::LinkError);
                    break;
                }
            }
        }
    }

    fn on_sender_event(&mut self, now_ms: u64, ev: SenderEvent) {
        if let Some(utc) = ev.utc_now() {
            if UtcSeconds::new(utc).is_ok() {
                self.utc_base = Some((utc, now_ms));
                self.sender.set_clock_valid(true);
                self.emit(Event::ClockSet(utc));
            }
        }
        match ev {
            SenderEvent::Welcomed { watermark, .. } => self.emit(Event::Welcomed { watermark }),
            SenderEvent::Acked { watermark } => self.emit(Event::Acked { watermark }),
            SenderEvent::Stopped(r) => self.emit(Event::LinkStopped(r)),
            _ => {}
        }
    }
}
