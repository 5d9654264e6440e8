//! Store-and-forward sync: `Receiver` and `Outbox` over core's sans-IO state machines.
//!
//! Core does the protocol (watermarks, acks, nacks, retransmission, placing clockless
//! records) and the sealing (keys, counters, replay protection); this module plugs Python
//! objects in as the receiver's store and key store and the outbox's storage and seal
//! store (`tcmcare.store.SQLiteStore`, `tcmcare.store.SQLiteOutboxStorage`, or the
//! integrator's own), feeds byte streams to core's frame decoder (`crate::wire`) and
//! translates events. A receiver with keys is core's `SealedReceiver`, an outbox with a
//! seal store its `SealedSender`.

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use tcmcare_core::ids::{DeviceId, Epoch};
use tcmcare_core::seal::{
    is_sealed, FrameCounter, KeyId, OpenError, SealError, Sealer, SealerError, DEFAULT_LEASE_BLOCK,
    MAX_SEALED_REKEY_LEN, MAX_SEAL_OVERHEAD,
};
use tcmcare_core::sync::{
    AppendError, EntryBounds, LinkSecurity, NackReason, Outbox, OutboxError, OutboxMeta,
    OutboxStorage, Receiver, ReceiverError, ReceiverEvent, ReceiverStore, RecordStatus,
    RecordToCommit, SchemaRange, SealedReceiver, SealedReceiverEvent, SealedReceiverStore,
    SealedReplyError, SealedSender, SealedSenderError, SealedSenderEvent, Sender, SenderConfig,
    SenderError, SenderEvent, StopReason, StoreError, DEFAULT_INITIAL_RTO_MS, DEFAULT_MAX_RTO_MS,
    DEFAULT_MTU, DEFAULT_WINDOW, MAX_CONTROL_MESSAGE_LEN, MAX_SEALED_CONTROL_LEN, MIN_MTU,
    MIN_SEALED_MTU,
};
use tcmcare_core::wire::{encode_frame, max_frame_len};

use zeroize::Zeroize;

use crate::errors;
use crate::pyobjs;
use crate::seal::{self, PyKeyStore, PySealStore};
use crate::wire::{feed_frames, SyncFrameDecoder};

/// Largest frame (bytes before its delimiter) a sync endpoint (`Receiver.receive`,
/// `Outbox.receive`) takes, and so the largest `frame()` makes and the largest MTU of an
/// `Outbox`: core's limit.
pub use tcmcare_core::sync::MAX_SYNC_FRAME_LEN;

fn frame_bytes<'py>(py: Python<'py>, payload: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = vec![0u8; max_frame_len(payload.len())];
    let n = encode_frame(payload, &mut out)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    Ok(PyBytes::new(py, out.get(..n).unwrap_or(&[])))
}

/// Frames a payload (`COBS(payload | CRC-32C) 00`), e.g. a reply of `Receiver.handle`.
/// Raises `FrameTooLongError` when the frame would be longer than `MAX_SYNC_FRAME_LEN`
/// bytes before its delimiter (no decoder would take it).
#[pyfunction]
fn frame<'py>(py: Python<'py>, payload: PyBackedBytes) -> PyResult<Bound<'py, PyBytes>> {
    // COBS adds at least one byte to payload and CRC: no need to encode a huge payload.
    let at_least = payload.len() + 5;
    if at_least > MAX_SYNC_FRAME_LEN {
        return Err(errors::frame_too_long(py, at_least, MAX_SYNC_FRAME_LEN));
    }
    let framed = frame_bytes(py, &payload)?;
    let length = framed.as_bytes().len().saturating_sub(1);
    if length > MAX_SYNC_FRAME_LEN {
        return Err(errors::frame_too_long(py, length, MAX_SYNC_FRAME_LEN));
    }
    Ok(framed)
}

fn details<'py>(py: Python<'py>, items: &[(&str, Option<u64>)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in items {
        d.set_item(*k, *v)?;
    }
    Ok(d)
}

// ----------------------------------------------------------------------------------------
// Receiver

fn status_name(s: &RecordStatus) -> String {
    match s {
        RecordStatus::Valid => "valid".into(),
        RecordStatus::UnknownKind => "unknown_kind".into(),
        RecordStatus::Invalid(v) => format!("invalid:{}", v.code()),
        RecordStatus::Malformed(d) => format!("malformed:{}", errors::decode_code(d)),
    }
}

/// A `tcmcare.types.CommitRecord`.
fn commit_record<'py>(py: Python<'py>, r: &RecordToCommit<'_>) -> PyResult<Bound<'py, PyAny>> {
    let (id, resident, time) = match &r.header {
        Some(h) => (
            Some(pyobjs::record_id(py, &h.id)?),
            Some(pyobjs::resident_ref(py, &h.resident)?),
            Some(pyobjs::timestamp(py, &h.time)?),
        ),
        None => (None, None, None),
    };
    let placed = r
        .placed_time
        .map(|t| pyobjs::utc_from_unix(py)?.call1((t.unix(),)))
        .transpose()?;
    pyobjs::commit_record_type(py)?.call1((
        r.position,
        PyBytes::new(py, r.envelope),
        r.kind,
        id,
        resident,
        time,
        status_name(&r.status),
        placed,
    ))
}

/// A Python object as the receiver's store (`ReceiverStore`, and `SealedReceiverStore`
/// for a receiver with keys).
struct PyReceiverStore {
    obj: Py<PyAny>,
    /// The refusal (`tcmcare.errors.StoreError`) the store raised in the last call.
    last_error: Option<PyErr>,
    /// Any other exception a callback raised, for the receiver to raise.
    pending: errors::Pending,
}

impl PyReceiverStore {
    /// Calls the store unless an exception is pending: a refusal is kept in
    /// `last_error` and told to core, anything else becomes the pending exception.
    fn call<T>(
        &mut self,
        f: impl FnOnce(Python<'_>, &Bound<'_, PyAny>) -> PyResult<T>,
    ) -> Result<T, StoreError> {
        if self.pending.is_set() {
            return Err(StoreError::Unavailable);
        }
        Python::attach(|py| {
            f(py, self.obj.bind(py)).map_err(|e| match errors::store_refusal(py, &e) {
                Some(kind) => {
                    self.last_error = Some(e);
                    kind
                }
                None => {
                    self.pending.set(e);
                    StoreError::Unavailable
                }
            })
        })
    }

    /// Calls `method(device, epoch, first_position, records, new_watermark[, counter])`.
    #[allow(clippy::too_many_arguments)]
    fn call_commit(
        &mut self,
        method: &str,
        device: DeviceId,
        epoch: Epoch,
        first_position: u32,
        records: &[RecordToCommit<'_>],
        new_watermark: u32,
        counter: Option<FrameCounter>,
    ) -> Result<(), StoreError> {
        self.call(|py, store| {
            let list = records
                .iter()
                .map(|r| commit_record(py, r))
                .collect::<PyResult<Vec<_>>>()
                .and_then(|list| PyList::new(py, list))?;
            match counter {
                None => store.call_method1(
                    method,
                    (device.0, epoch.0, first_position, list, new_watermark),
                ),
                Some(c) => store.call_method1(
                    method,
                    (
                        device.0,
                        epoch.0,
                        first_position,
                        list,
                        new_watermark,
                        frame_counter(py, c)?,
                    ),
                ),
            }
            .map(|_| ())
        })
    }
}

/// A `tcmcare.types.FrameCounter`.
fn frame_counter<'py>(py: Python<'py>, c: FrameCounter) -> PyResult<Bound<'py, PyAny>> {
    pyobjs::frame_counter_type(py)?.call1((c.key_id.0, c.counter))
}

impl ReceiverStore for PyReceiverStore {
    fn watermark(&mut self, device: DeviceId, epoch: Epoch) -> Result<u32, StoreError> {
        self.call(|_, store| {
            store
                .call_method1("watermark", (device.0, epoch.0))
                .and_then(|v| v.extract::<u32>())
        })
    }

    fn commit(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        first_position: u32,
        records: &[RecordToCommit<'_>],
        new_watermark: u32,
    ) -> Result<(), StoreError> {
        self.call_commit(
            "commit",
            device,
            epoch,
            first_position,
            records,
            new_watermark,
            None,
        )
    }
}

impl SealedReceiverStore for PyReceiverStore {
    fn last_counter(&mut self, device: DeviceId, epoch: Epoch) -> Result<FrameCounter, StoreError> {
        self.call(|_, store| {
            store
                .call_method1("last_counter", (device.0, epoch.0))
                .and_then(|v| v.extract::<(u32, u32)>())
        })
        .map(|(key_id, counter)| FrameCounter {
            key_id: KeyId(key_id),
            counter,
        })
    }

    fn note_counter(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        counter: FrameCounter,
    ) -> Result<(), StoreError> {
        self.call(|py, store| {
            let c = frame_counter(py, counter)?;
            store
                .call_method1("note_counter", (device.0, epoch.0, c))
                .map(|_| ())
        })
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
        self.call_commit(
            "commit_sealed",
            device,
            epoch,
            first_position,
            records,
            new_watermark,
            Some(counter),
        )
    }
}

fn nack_reason(r: &NackReason) -> (&'static str, Option<(u16, u16)>, Option<u32>) {
    match r {
        NackReason::Gap => ("gap", None, None),
        NackReason::UnsupportedSchema { min, max } => {
            ("unsupported_schema", Some((*min, *max)), None)
        }
        NackReason::StoreUnavailable => ("store_unavailable", None, None),
        NackReason::NotIntroduced => ("not_introduced", None, None),
        NackReason::EpochReused { watermark } => ("epoch_reused", None, Some(*watermark)),
        NackReason::Malformed => ("malformed", None, None),
    }
}

fn receiver_event<'py>(
    py: Python<'py>,
    e: &ReceiverEvent,
) -> PyResult<(&'static str, Bound<'py, PyDict>)> {
    Ok(match e {
        ReceiverEvent::Introduced {
            device,
            epoch,
            watermark,
            sender_clock_valid,
        } => {
            let d = details(
                py,
                &[
                    ("device", Some(device.0.into())),
                    ("epoch", Some(epoch.0.into())),
                    ("watermark", Some((*watermark).into())),
                ],
            )?;
            d.set_item("sender_clock_valid", *sender_clock_valid)?;
            ("introduced", d)
        }
        ReceiverEvent::Committed {
            device,
            epoch,
            first_position,
            count,
            watermark,
        } => (
            "committed",
            details(
                py,
                &[
                    ("device", Some(device.0.into())),
                    ("epoch", Some(epoch.0.into())),
                    ("first_position", Some((*first_position).into())),
                    ("count", Some((*count).into())),
                    ("watermark", Some((*watermark).into())),
                ],
            )?,
        ),
        ReceiverEvent::Duplicate { watermark } => (
            "duplicate",
            details(py, &[("watermark", Some((*watermark).into()))])?,
        ),
        ReceiverEvent::Gap { expected, got } => (
            "gap",
            details(
                py,
                &[
                    ("expected", Some((*expected).into())),
                    ("got", Some((*got).into())),
                ],
            )?,
        ),
        ReceiverEvent::Refused(reason) => {
            let (name, schemas, watermark) = nack_reason(reason);
            let d = PyDict::new(py);
            d.set_item("reason", name)?;
            if let Some((min, max)) = schemas {
                d.set_item("min_schema", min)?;
                d.set_item("max_schema", max)?;
            }
            if let Some(w) = watermark {
                d.set_item("watermark", w)?;
            }
            ("refused", d)
        }
        ReceiverEvent::NotIntroduced => ("not_introduced", PyDict::new(py)),
        ReceiverEvent::StoreFailed(s) => {
            let d = PyDict::new(py);
            d.set_item("error", errors::store_error_name(s))?;
            ("store_failed", d)
        }
        ReceiverEvent::Malformed => ("malformed", PyDict::new(py)),
        ReceiverEvent::Ignored => ("ignored", PyDict::new(py)),
    })
}

/// Unix seconds of `now_utc` (None: the system clock; 0: no valid clock).
fn utc_now(now_utc: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u64>> {
    match now_utc {
        None => Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs())),
        Some(v) if v.is_instance(pyobjs::datetime_type(v.py())?)? => {
            let ts: f64 = v.call_method0("timestamp")?.extract()?;
            Ok((ts >= 0.0).then_some(ts as u64))
        }
        Some(v) => {
            let t: u64 = v.extract()?;
            Ok((t != 0).then_some(t))
        }
    }
}

/// The link security of a receiver with keys, by its Python name.
fn link_security(name: Option<&str>) -> PyResult<LinkSecurity> {
    match name {
        None | Some("sealed") => Ok(LinkSecurity::Sealed),
        Some("trusted_unsealed") => Ok(LinkSecurity::TrustedUnsealed),
        Some(_) => Err(pyo3::exceptions::PyValueError::new_err(
            "security must be \"sealed\" or \"trusted_unsealed\"",
        )),
    }
}

/// The receiver inside: plain (no keys: a trusted link) or sealed.
enum ReceiverKind {
    Plain(Receiver<PyReceiverStore>),
    Sealed(Box<SealedReceiver<PyReceiverStore, PyKeyStore>>),
}

/// What a sealed reply of the terminal's own was for: the operation (`"rekey"`, `"time
/// sync"`) and the device, epoch and key id it was to be sealed for.
struct ReplyFor {
    action: &'static str,
    device: Option<u32>,
    epoch: Option<u32>,
    key_id: Option<u32>,
}

/// The exception for a sealed reply (time sync, key rotation) that could not be made;
/// `store_error` is what the key store raised, if it refused. Key refusals are worded as
/// refusals of the operation (`"rekey refused: ..."`), not as received frames'.
fn reply_error(
    py: Python<'_>,
    e: SealedReplyError,
    store_error: Option<PyErr>,
    what: &ReplyFor,
) -> PyErr {
    let refused = |o: &OpenError| -> PyErr {
        let result = seal::rejection(py, o, None).and_then(|(reason, d)| {
            d.set_item("device", what.device)?;
            d.set_item("epoch", what.epoch)?;
            d.set_item("key_id", what.key_id)?;
            Ok(errors::refused(py, what.action, reason, &d))
        });
        result.unwrap_or_else(|err| err)
    };
    match e {
        SealedReplyError::NoSession => errors::seal(
            py,
            "no_session",
            "no device has said hello (sealed): there is nobody to seal a message for",
        ),
        SealedReplyError::OutputTooSmall { needed } => pyo3::exceptions::PyRuntimeError::new_err(
            format!("internal: output buffer too small ({needed} bytes needed)"),
        ),
        SealedReplyError::Key(OpenError::Store(s)) => {
            store_error.unwrap_or_else(|| refused(&OpenError::Store(s)))
        }
        SealedReplyError::Key(o) => refused(&o),
        SealedReplyError::DownlinkExhausted => errors::seal(
            py,
            "downlink_exhausted",
            "terminal frame counters of this key exhausted: rotate the key",
        ),
        SealedReplyError::KeyIdNotNewer => errors::seal(
            py,
            "key_id_not_newer",
            "a key rotation must name a key id greater than the current one",
        ),
    }
}

/// The receiving end of the sync protocol, committing into a store; with keys, over
/// sealed frames.
#[pyclass(module = "tcmcare", name = "Receiver")]
pub struct PyReceiver {
    inner: ReceiverKind,
    frames: Box<SyncFrameDecoder>,
    /// An exception of a store callback that is not a refusal, raised by the call.
    pending: errors::Pending,
}

impl PyReceiver {
    fn store_ref(&self) -> &PyReceiverStore {
        match &self.inner {
            ReceiverKind::Plain(r) => r.store(),
            ReceiverKind::Sealed(r) => r.store(),
        }
    }

    fn reply<'py>(
        &mut self,
        py: Python<'py>,
        payload: &[u8],
        now: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let internal = |e: ReceiverError| pyo3::exceptions::PyRuntimeError::new_err(e.to_string());
        self.pending.take();
        let pending = self.pending.clone();
        // A store callback raised something other than a refusal: that exception is the
        // result (core committed nothing after it; its reply is dropped).
        let raise_pending = || pending.take().map_or(Ok(()), Err);
        let (reply, event, d) = match &mut self.inner {
            ReceiverKind::Plain(r) => {
                let mut out = [0u8; MAX_CONTROL_MESSAGE_LEN];
                r.store_mut().last_error = None;
                let res = r.handle(now, payload, &mut out);
                raise_pending()?;
                let res = res.map_err(internal)?;
                let (event, d) = receiver_event(py, &res.event)?;
                let reply = PyBytes::new(py, out.get(..res.reply_len).unwrap_or(&[]));
                (reply, event, d)
            }
            ReceiverKind::Sealed(r) => {
                let mut out = [0u8; MAX_SEALED_CONTROL_LEN];
                r.store_mut().last_error = None;
                r.keys_mut().last_error = None;
                let sealed = is_sealed(payload);
                let header = seal::peek_header(payload);
                let mut buf = payload.to_vec();
                let res = r.handle(now, &mut buf, &mut out);
                buf.zeroize();
                raise_pending()?;
                let res = res.map_err(internal)?;
                let (event, d) = match &res.event {
                    SealedReceiverEvent::Sync(e) => receiver_event(py, e)?,
                    SealedReceiverEvent::Rejected(o) => {
                        ("rejected", seal::rejection(py, o, header.as_ref())?.1)
                    }
                    SealedReceiverEvent::DownlinkExhausted => {
                        let d = PyDict::new(py);
                        seal::header_details(&d, header.as_ref())?;
                        ("downlink_exhausted", d)
                    }
                };
                d.set_item("sealed", sealed)?;
                let reply = PyBytes::new(py, out.get(..res.reply_len).unwrap_or(&[]));
                (reply, event, d)
            }
        };
        pyobjs::receiver_reply_type(py)?.call1((reply, event, d))
    }
}

#[pymethods]
impl PyReceiver {
    #[new]
    #[pyo3(signature = (store=None, *, keys=None, security=None, min_schema=1, max_schema=u16::MAX))]
    fn new(
        py: Python<'_>,
        store: Option<Py<PyAny>>,
        keys: Option<Bound<'_, PyAny>>,
        security: Option<&str>,
        min_schema: u16,
        max_schema: u16,
    ) -> PyResult<Self> {
        let obj = match store {
            Some(s) => s,
            None => py
                .import("tcmcare.store")?
                .getattr("SQLiteStore")?
                .call0()?
                .unbind(),
        };
        let schemas = SchemaRange {
            min: min_schema,
            max: max_schema,
        };
        errors::require_methods(
            obj.bind(py),
            "store",
            "ReceiverStore",
            &["watermark", "commit"],
        )?;
        let pending = errors::Pending::default();
        let store = PyReceiverStore {
            obj,
            last_error: None,
            pending: pending.clone(),
        };
        let inner = match keys {
            None => {
                if security.is_some() {
                    return Err(pyo3::exceptions::PyValueError::new_err(
                        "security= needs keys=, the terminal's key store \
                         (e.g. the SQLiteStore itself)",
                    ));
                }
                ReceiverKind::Plain(Receiver::with_schemas(store, schemas))
            }
            Some(k) => {
                let security = link_security(security)?;
                errors::require_methods(
                    store.obj.bind(py),
                    "the store of a receiver with keys",
                    "SealedReceiverStore",
                    &["last_counter", "note_counter", "commit_sealed"],
                )?;
                let keys = PyKeyStore::new(&k, pending.clone())?;
                ReceiverKind::Sealed(Box::new(SealedReceiver::with_schemas(
                    store, keys, security, schemas,
                )))
            }
        };
        Ok(PyReceiver {
            inner,
            frames: Box::default(),
            pending,
        })
    }

    /// The store records are committed into.
    #[getter]
    fn store(&self, py: Python<'_>) -> Py<PyAny> {
        self.store_ref().obj.clone_ref(py)
    }

    /// The key store (None: a receiver without keys, for a trusted link).
    #[getter]
    fn keys(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        match &self.inner {
            ReceiverKind::Plain(_) => None,
            ReceiverKind::Sealed(r) => Some(r.keys().obj.clone_ref(py)),
        }
    }

    /// `"sealed"` or `"trusted_unsealed"` for a receiver with keys; None without.
    #[getter]
    fn security(&self) -> Option<&'static str> {
        match &self.inner {
            ReceiverKind::Plain(_) => None,
            ReceiverKind::Sealed(r) => Some(match r.security() {
                LinkSecurity::Sealed => "sealed",
                LinkSecurity::TrustedUnsealed => "trusted_unsealed",
            }),
        }
    }

    /// `(device, epoch)` of the current session, if a hello opened one (on a receiver with
    /// keys: a sealed hello).
    #[getter]
    fn session(&self) -> Option<(u32, u32)> {
        match &self.inner {
            ReceiverKind::Plain(r) => r.session().map(|(d, e)| (d.0, e.0)),
            ReceiverKind::Sealed(r) => r.session().map(|(d, e, _)| (d.0, e.0)),
        }
    }

    /// The key id the current sealed session uses (None: no sealed session).
    #[getter]
    fn session_key_id(&self) -> Option<u32> {
        match &self.inner {
            ReceiverKind::Plain(_) => None,
            ReceiverKind::Sealed(r) => r.session().map(|(_, _, k)| k.0),
        }
    }

    /// The exception the store (or the key store) raised in the last call, if it failed.
    #[getter]
    fn last_store_error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        let keys_error = match &self.inner {
            ReceiverKind::Plain(_) => None,
            ReceiverKind::Sealed(r) => r.keys().last_error.as_ref(),
        };
        self.store_ref()
            .last_error
            .as_ref()
            .or(keys_error)
            .map(|e| e.value(py).clone().into_any().unbind())
    }

    /// Handles one frame payload; returns the `ReceiverReply` (reply payload, event).
    #[pyo3(signature = (payload, *, now_utc=None))]
    fn handle<'py>(
        &mut self,
        py: Python<'py>,
        payload: PyBackedBytes,
        now_utc: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let now = utc_now(now_utc)?;
        self.reply(py, &payload, now)
    }

    /// Feeds stream bytes (any chunking); handles every complete frame and returns their
    /// replies. A corrupt frame gives a `"frame_error"` event and no reply (the sender
    /// resends after its timeout).
    #[pyo3(signature = (data, *, now_utc=None))]
    fn receive<'py>(
        &mut self,
        py: Python<'py>,
        data: PyBackedBytes,
        now_utc: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let now = utc_now(now_utc)?;
        let mut out = Vec::new();
        for f in feed_frames(&mut self.frames, &data) {
            match f {
                Ok(payload) => out.push(self.reply(py, &payload, now)?),
                Err(e) => {
                    let d = PyDict::new(py);
                    d.set_item("error", e.to_string())?;
                    d.set_item("code", errors::frame_code(&e))?;
                    out.push(pyobjs::receiver_reply_type(py)?.call1((
                        PyBytes::new(py, &[]),
                        "frame_error",
                        d,
                    ))?);
                }
            }
        }
        Ok(out)
    }

    /// A framed time-sync message carrying `now_utc` (default: the system clock). On a
    /// receiver with keys it is sealed for the session's device (`NoSessionError` before
    /// a sealed hello).
    #[pyo3(signature = (*, now_utc=None))]
    fn time_sync<'py>(
        &mut self,
        py: Python<'py>,
        now_utc: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let now = utc_now(now_utc)?.ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err("time_sync needs a valid UTC time")
        })?;
        match &mut self.inner {
            ReceiverKind::Plain(r) => {
                let mut out = [0u8; MAX_CONTROL_MESSAGE_LEN];
                let n = r
                    .time_sync(now, &mut out)
                    .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
                frame_bytes(py, out.get(..n).unwrap_or(&[]))
            }
            ReceiverKind::Sealed(r) => {
                let mut out = [0u8; MAX_SEALED_CONTROL_LEN];
                r.keys_mut().last_error = None;
                self.pending.take();
                let result = r.time_sync(now, &mut out);
                if let Some(e) = self.pending.take() {
                    return Err(e);
                }
                match result {
                    Ok(n) => frame_bytes(py, out.get(..n).unwrap_or(&[])),
                    Err(e) => {
                        let session = r.session();
                        let what = ReplyFor {
                            action: "time sync",
                            device: session.map(|(d, _, _)| d.0),
                            epoch: session.map(|(_, e, _)| e.0),
                            key_id: session.map(|(_, _, k)| k.0),
                        };
                        Err(reply_error(py, e, r.keys_mut().last_error.take(), &what))
                    }
                }
            }
        }
    }

    /// A framed key rotation for `device` (at `epoch`): sealed under its key
    /// `from_key_id`, it moves the kiosk to `new_key` under the greater `to_key_id`. Add
    /// the new key to the key store first; resend until `session_key_id` shows the new id.
    /// The frame holds the new key only encrypted.
    fn rekey<'py>(
        &mut self,
        py: Python<'py>,
        device: u32,
        epoch: u32,
        from_key_id: u32,
        to_key_id: u32,
        new_key: &Bound<'py, seal::PyDeviceKey>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let ReceiverKind::Sealed(r) = &mut self.inner else {
            return Err(errors::seal(
                py,
                "not_sealed",
                "rekey needs a receiver with keys (Receiver(store, keys=...))",
            ));
        };
        let mut out = [0u8; MAX_SEALED_REKEY_LEN];
        r.keys_mut().last_error = None;
        self.pending.take();
        let rekeyed = r.rekey(
            DeviceId(device),
            Epoch(epoch),
            KeyId(from_key_id),
            KeyId(to_key_id),
            &new_key.get().key,
            &mut out,
        );
        let result = match (self.pending.take(), rekeyed) {
            (Some(e), _) => Err(e),
            (None, Ok(n)) => frame_bytes(py, out.get(..n).unwrap_or(&[])),
            (None, Err(e)) => {
                let what = ReplyFor {
                    action: "rekey",
                    device: Some(device),
                    epoch: Some(epoch),
                    key_id: Some(from_key_id),
                };
                Err(reply_error(py, e, r.keys_mut().last_error.take(), &what))
            }
        };
        out.zeroize();
        result
    }
}

// ----------------------------------------------------------------------------------------
// Outbox

/// A Python object as the outbox's storage.
struct PyOutboxStorage {
    obj: Py<PyAny>,
}

impl OutboxStorage for PyOutboxStorage {
    type Error = PyErr;

    fn load_meta(&mut self) -> Result<Option<OutboxMeta>, PyErr> {
        Python::attach(|py| {
            let v = self.obj.bind(py).call_method0("load_meta")?;
            if v.is_none() {
                return Ok(None);
            }
            let (device, epoch, acked_through): (u32, u32, u32) = v.extract()?;
            Ok(Some(OutboxMeta {
                device: DeviceId(device),
                epoch: Epoch(epoch),
                acked_through,
            }))
        })
    }

    fn store_meta(&mut self, meta: &OutboxMeta) -> Result<(), PyErr> {
        Python::attach(|py| {
            self.obj
                .bind(py)
                .call_method1(
                    "store_meta",
                    (meta.device.0, meta.epoch.0, meta.acked_through),
                )
                .map(|_| ())
        })
    }

    fn append(&mut self, position: u32, entry: &[u8]) -> Result<(), AppendError<PyErr>> {
        Python::attach(|py| {
            let stored = self
                .obj
                .bind(py)
                .call_method1("append", (position, PyBytes::new(py, entry)))
                .and_then(|v| v.is_truthy())
                .map_err(AppendError::Storage)?;
            if stored {
                Ok(())
            } else {
                Err(AppendError::Full)
            }
        })
    }

    fn bounds(&mut self) -> Result<Option<EntryBounds>, PyErr> {
        Python::attach(|py| {
            let v = self.obj.bind(py).call_method0("bounds")?;
            if v.is_none() {
                return Ok(None);
            }
            let (oldest, newest, count): (u32, u32, usize) = v.extract()?;
            Ok(Some(EntryBounds {
                oldest,
                newest,
                count,
            }))
        })
    }

    fn remove_through(&mut self, position: u32) -> Result<(), PyErr> {
        Python::attach(|py| {
            self.obj
                .bind(py)
                .call_method1("remove_through", (position,))
                .map(|_| ())
        })
    }

    fn read_from<F>(&mut self, from: u32, mut visit: F) -> Result<(), PyErr>
    where
        F: FnMut(u32, &[u8]) -> bool,
    {
        Python::attach(|py| {
            let entries = self.obj.bind(py).call_method1("read_from", (from,))?;
            for item in entries.try_iter()? {
                let (position, entry): (u32, PyBackedBytes) = item?.extract()?;
                if !visit(position, &entry) {
                    break;
                }
            }
            Ok(())
        })
    }

    fn free_bytes(&mut self) -> Result<usize, PyErr> {
        Python::attach(|py| self.obj.bind(py).call_method0("free_bytes")?.extract())
    }
}

fn outbox_error(py: Python<'_>, e: OutboxError<PyErr>) -> PyErr {
    let code = match &e {
        OutboxError::Storage(_) => "",
        OutboxError::Full => "full",
        OutboxError::TooLarge { .. } => "too_large",
        OutboxError::Malformed(_) => "malformed",
        OutboxError::SeqMismatch { .. } => "seq_mismatch",
        OutboxError::PositionsExhausted => "positions_exhausted",
        OutboxError::InvalidIdentity => "invalid_identity",
        OutboxError::DeviceMismatch { .. } => "device_mismatch",
        OutboxError::Corrupt => "corrupt",
        OutboxError::AckBeyondLast { .. } => "ack_beyond_last",
    };
    match e {
        OutboxError::Storage(err) => err,
        OutboxError::Malformed(d) => errors::from_decode(py, &d),
        other => {
            let message = match &other {
                OutboxError::Full => "outbox full: record refused, nothing overwritten".to_string(),
                OutboxError::TooLarge { len } => format!("envelope of {len} bytes is too large"),
                OutboxError::SeqMismatch { expected, found } => {
                    format!("record id {found} where {expected} is next")
                }
                OutboxError::DeviceMismatch { stored } => {
                    format!("outbox storage belongs to device {}", stored.0)
                }
                OutboxError::AckBeyondLast { watermark, last } => {
                    format!("acknowledgement of {watermark} beyond last position {last}")
                }
                OutboxError::PositionsExhausted => {
                    "positions of this epoch exhausted: start a new epoch".to_string()
                }
                OutboxError::InvalidIdentity => "device id and epoch must not be 0".to_string(),
                OutboxError::Corrupt => {
                    "outbox storage inconsistent: wipe it and start a new epoch".to_string()
                }
                OutboxError::Storage(_) | OutboxError::Malformed(_) => String::new(),
            };
            errors::outbox(py, code, &message)
        }
    }
}

fn sender_error(py: Python<'_>, e: SenderError<PyErr>) -> PyErr {
    match e {
        SenderError::Outbox(o) => outbox_error(py, o),
        SenderError::InvalidConfig => pyo3::exceptions::PyValueError::new_err(format!(
            "invalid sender settings: mtu >= {MIN_MTU} (sealed: >= {MIN_SEALED_MTU}), \
             window >= 1, 1 <= initial_rto_ms <= max_rto_ms"
        )),
        SenderError::EntryExceedsMtu { position, len } => errors::outbox(
            py,
            "entry_exceeds_mtu",
            &format!("record of {len} bytes (position {position}) does not fit the MTU"),
        ),
        SenderError::OutputTooSmall { needed } => pyo3::exceptions::PyRuntimeError::new_err(
            format!("internal: output buffer too small ({needed} bytes needed)"),
        ),
    }
}

fn stop_reason<'py>(
    py: Python<'py>,
    r: &StopReason,
) -> PyResult<(&'static str, Bound<'py, PyDict>)> {
    let d = PyDict::new(py);
    let name = match r {
        StopReason::UnsupportedSchema { min, max } => {
            d.set_item("min_schema", min)?;
            d.set_item("max_schema", max)?;
            "unsupported_schema"
        }
        StopReason::EpochReused { watermark } => {
            d.set_item("watermark", watermark)?;
            "epoch_reused"
        }
        StopReason::ReceiverBehind { watermark, acked } => {
            d.set_item("watermark", watermark)?;
            d.set_item("acked", acked)?;
            "receiver_behind"
        }
    };
    Ok((name, d))
}

fn sender_event<'py>(py: Python<'py>, e: &SenderEvent) -> PyResult<Bound<'py, PyTuple>> {
    let (name, d) = match e {
        SenderEvent::Welcomed { watermark, utc_now } => (
            "welcomed",
            details(
                py,
                &[
                    ("watermark", Some((*watermark).into())),
                    ("utc_now", *utc_now),
                ],
            )?,
        ),
        SenderEvent::TimeSynced { utc_now } => {
            ("time_synced", details(py, &[("utc_now", Some(*utc_now))])?)
        }
        SenderEvent::Acked { watermark } => (
            "acked",
            details(py, &[("watermark", Some((*watermark).into()))])?,
        ),
        SenderEvent::Rewound { expected } => (
            "rewound",
            details(py, &[("expected", Some((*expected).into()))])?,
        ),
        SenderEvent::Reintroducing => ("reintroducing", PyDict::new(py)),
        SenderEvent::ReceiverBusy => ("receiver_busy", PyDict::new(py)),
        SenderEvent::Stopped(r) => {
            let (reason, d) = stop_reason(py, r)?;
            d.set_item("reason", reason)?;
            ("stopped", d)
        }
        SenderEvent::Ignored => ("ignored", PyDict::new(py)),
    };
    PyTuple::new(py, [name.into_pyobject(py)?.into_any(), d.into_any()])
}

/// The exception for a failure to seal (the seal store's own exception for a store
/// failure).
fn seal_error(py: Python<'_>, e: SealError<PyErr>) -> PyErr {
    match e {
        SealError::Store(err) => err,
        SealError::CounterExhausted => errors::seal(
            py,
            "counter_exhausted",
            "frame counters exhausted: rotate the key or provision a new epoch",
        ),
        SealError::BufferTooSmall { needed } => pyo3::exceptions::PyRuntimeError::new_err(format!(
            "internal: buffer too small to seal ({needed} bytes needed)"
        )),
        SealError::TooLong => {
            pyo3::exceptions::PyRuntimeError::new_err("internal: payload too long to seal")
        }
    }
}

fn sealed_sender_error(py: Python<'_>, e: SealedSenderError<PyErr, PyErr>) -> PyErr {
    match e {
        SealedSenderError::Sender(s) => sender_error(py, s),
        SealedSenderError::Seal(s) => seal_error(py, s),
        SealedSenderError::IdentityMismatch => errors::seal(
            py,
            "identity_mismatch",
            "the seal store's device or epoch differs from the outbox's",
        ),
    }
}

fn event_tuple<'py>(
    py: Python<'py>,
    name: &str,
    d: Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, [name.into_pyobject(py)?.into_any(), d.into_any()])
}

/// The sender inside: plain, or sealing with the kiosk's key.
enum SenderKind {
    Plain(Sender<PyOutboxStorage>),
    Sealed(Box<SealedSender<PyOutboxStorage, PySealStore>>),
}

/// The sending end of the sync protocol: a persistent outbox of record envelopes and the
/// sender state machine that streams them and drops what is acknowledged.
#[pyclass(module = "tcmcare", name = "Outbox")]
pub struct PyOutbox {
    sender: SenderKind,
    frames: Box<SyncFrameDecoder>,
    max_payload: usize,
}

impl PyOutbox {
    /// The sync sender (inside the sealed one).
    fn plain(&self) -> &Sender<PyOutboxStorage> {
        match &self.sender {
            SenderKind::Plain(s) => s,
            SenderKind::Sealed(s) => s.sender(),
        }
    }

    fn handle_payload<'py>(
        &mut self,
        py: Python<'py>,
        payload: &[u8],
        now_ms: u64,
    ) -> PyResult<Bound<'py, PyTuple>> {
        match &mut self.sender {
            SenderKind::Plain(s) => {
                let e = s.handle(now_ms, payload).map_err(|e| sender_error(py, e))?;
                sender_event(py, &e)
            }
            SenderKind::Sealed(s) => {
                let header = seal::peek_header(payload);
                let mut buf = payload.to_vec();
                let r = s.handle(now_ms, &mut buf);
                buf.zeroize();
                match r.map_err(|e| sealed_sender_error(py, e))? {
                    SealedSenderEvent::Sync(e) => sender_event(py, &e),
                    SealedSenderEvent::Rekeyed { key_id } => {
                        let d = PyDict::new(py);
                        d.set_item("key_id", key_id.0)?;
                        event_tuple(py, "rekeyed", d)
                    }
                    SealedSenderEvent::Rejected(o) => {
                        let (_, d) = seal::rejection(py, &o, header.as_ref())?;
                        event_tuple(py, "rejected", d)
                    }
                }
            }
        }
    }
}

#[pymethods]
impl PyOutbox {
    #[new]
    #[pyo3(signature = (storage=None, *, device, epoch, boot=0, clock_valid=true, mtu=DEFAULT_MTU, window=DEFAULT_WINDOW, initial_rto_ms=DEFAULT_INITIAL_RTO_MS, max_rto_ms=DEFAULT_MAX_RTO_MS, seal_store=None, lease_block=DEFAULT_LEASE_BLOCK))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        storage: Option<Py<PyAny>>,
        device: u32,
        epoch: u32,
        boot: u32,
        clock_valid: bool,
        mtu: usize,
        window: u32,
        initial_rto_ms: u64,
        max_rto_ms: u64,
        seal_store: Option<Bound<'_, PyAny>>,
        lease_block: u32,
    ) -> PyResult<Self> {
        if mtu > MAX_SYNC_FRAME_LEN {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "mtu {mtu} is above MAX_SYNC_FRAME_LEN ({MAX_SYNC_FRAME_LEN}), the longest \
                 frame a receiver takes"
            )));
        }
        // The sealer first: an unprovisioned kiosk opens nothing.
        let sealer = match seal_store {
            None => None,
            Some(s) => Some(Sealer::resume(PySealStore::new(&s)?, lease_block).map_err(
                |e| match e {
                    SealerError::NotProvisioned => errors::seal(
                        py,
                        "not_provisioned",
                        "the seal store holds no key: provision the kiosk first \
                         (tcmcare.accept_provision)",
                    ),
                    SealerError::InvalidLeaseBlock => {
                        pyo3::exceptions::PyValueError::new_err("lease_block must be 1 or more")
                    }
                    SealerError::Store(err) => err,
                },
            )?),
        };
        let obj = match storage {
            Some(s) => s,
            None => py
                .import("tcmcare.store")?
                .getattr("SQLiteOutboxStorage")?
                .call0()?
                .unbind(),
        };
        errors::require_methods(
            obj.bind(py),
            "storage",
            "OutboxStorage",
            &[
                "load_meta",
                "store_meta",
                "append",
                "bounds",
                "remove_through",
                "read_from",
                "free_bytes",
            ],
        )?;
        let outbox = Outbox::open(PyOutboxStorage { obj }, DeviceId(device), Epoch(epoch))
            .map_err(|e| outbox_error(py, e))?;
        let config = SenderConfig {
            mtu,
            window,
            initial_rto_ms,
            max_rto_ms,
        };
        let sender = match sealer {
            None => SenderKind::Plain(
                Sender::new(outbox, config, boot, clock_valid).map_err(|e| sender_error(py, e))?,
            ),
            Some(sealer) => SenderKind::Sealed(Box::new(
                SealedSender::new(outbox, config, boot, clock_valid, sealer)
                    .map_err(|e| sealed_sender_error(py, e))?,
            )),
        };
        Ok(PyOutbox {
            sender,
            frames: Box::default(),
            max_payload: mtu.max(MAX_CONTROL_MESSAGE_LEN),
        })
    }

    /// The storage the outbox persists in.
    #[getter]
    fn storage(&self, py: Python<'_>) -> Py<PyAny> {
        self.plain().outbox().storage().obj.clone_ref(py)
    }

    /// The seal store of a sealed outbox (None: a plain one).
    #[getter]
    fn seal_store(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        match &self.sender {
            SenderKind::Plain(_) => None,
            SenderKind::Sealed(s) => Some(s.sealer().store().object(py)),
        }
    }

    /// The id of the key a sealed outbox seals with (None: a plain outbox).
    #[getter]
    fn key_id(&self) -> Option<u32> {
        match &self.sender {
            SenderKind::Plain(_) => None,
            SenderKind::Sealed(s) => Some(s.sealer().key_id().0),
        }
    }

    /// The device owning the stream.
    #[getter]
    fn device(&self) -> u32 {
        self.plain().outbox().device().0
    }

    /// The stream's epoch (the stored one when the storage resumed an outbox).
    #[getter]
    fn epoch(&self) -> u32 {
        self.plain().outbox().epoch().0
    }

    /// Whether opening started a new stream (new or wiped storage).
    #[getter]
    fn started_new_epoch(&self) -> bool {
        self.plain().outbox().started_new_epoch()
    }

    /// The sequence number to put in the next record this device creates.
    #[getter]
    fn next_seq(&self) -> Option<u32> {
        self.plain().next_seq().map(|s| s.0)
    }

    /// Highest position assigned.
    #[getter]
    fn last_position(&self) -> u32 {
        self.plain().outbox().last_position()
    }

    /// Every position up to this one is acknowledged.
    #[getter]
    fn acked_through(&self) -> u32 {
        self.plain().outbox().acked_through()
    }

    /// Whether the sender is past the hello and streaming records.
    #[getter]
    fn is_streaming(&self) -> bool {
        self.plain().is_streaming()
    }

    /// Why sending stopped for good, if it did: `(reason, details)`.
    #[getter]
    fn stopped<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.plain()
            .stopped()
            .map(|r| {
                let (name, d) = stop_reason(py, &r)?;
                PyTuple::new(py, [name.into_pyobject(py)?.into_any(), d.into_any()])
            })
            .transpose()
    }

    /// When `poll` next has something to do (milliseconds on the caller's clock).
    #[getter]
    fn next_timeout(&self) -> Option<u64> {
        self.plain().next_timeout()
    }

    fn __len__(&self) -> usize {
        self.plain().outbox().len()
    }

    /// Tells the sender whether the device clock is valid (for its next hello).
    fn set_clock_valid(&mut self, valid: bool) {
        match &mut self.sender {
            SenderKind::Plain(s) => s.set_clock_valid(valid),
            SenderKind::Sealed(s) => s.set_clock_valid(valid),
        }
    }

    /// Persists a record (object or envelope bytes) and returns its position. A record of
    /// this device must carry the outbox's epoch and `next_seq`; other devices' records
    /// are forwarded unchanged. Raises `OutboxFullError` when full (nothing overwritten).
    fn push(&mut self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<u32> {
        let envelope: Vec<u8> = match crate::records::record_ref(record) {
            Ok(r) => r.envelope(py)?,
            Err(_) => record.extract::<PyBackedBytes>()?.to_vec(),
        };
        match &mut self.sender {
            SenderKind::Plain(s) => s.push(&envelope).map_err(|e| sender_error(py, e)),
            SenderKind::Sealed(s) => s.push(&envelope).map_err(|e| sealed_sender_error(py, e)),
        }
    }

    /// The next frame to send, if one is due at `now_ms` (the caller's monotonic clock in
    /// milliseconds): the hello, a batch, or a resend.
    fn poll<'py>(&mut self, py: Python<'py>, now_ms: u64) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let mut out =
            vec![
                0u8;
                self.max_payload + tcmcare_core::sync::BATCH_HEAD_RESERVE + MAX_SEAL_OVERHEAD
            ];
        let sent = match &mut self.sender {
            SenderKind::Plain(s) => s
                .poll_transmit(now_ms, &mut out)
                .map_err(|e| sender_error(py, e))?,
            SenderKind::Sealed(s) => s
                .poll_transmit(now_ms, &mut out)
                .map_err(|e| sealed_sender_error(py, e))?,
        };
        match sent {
            Some(n) => frame_bytes(py, out.get(..n).unwrap_or(&[])).map(Some),
            None => Ok(None),
        }
    }

    /// Handles one payload from the receiver; returns `(event, details)`. A sealed
    /// outbox takes only authentic, fresh payloads: others give `("rejected", {"reason":
    /// ...})`; a key rotation gives `("rekeyed", {"key_id": ...})`.
    fn handle<'py>(
        &mut self,
        py: Python<'py>,
        payload: PyBackedBytes,
        now_ms: u64,
    ) -> PyResult<Bound<'py, PyTuple>> {
        self.handle_payload(py, &payload, now_ms)
    }

    /// Feeds bytes from the receiver (any chunking); returns the `(event, details)` of
    /// every complete frame (corrupt frames are skipped: the protocol resends).
    fn receive<'py>(
        &mut self,
        py: Python<'py>,
        data: PyBackedBytes,
        now_ms: u64,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let mut out = Vec::new();
        // Corrupt frames are skipped: the protocol resends.
        for payload in feed_frames(&mut self.frames, &data).into_iter().flatten() {
            out.push(self.handle_payload(py, &payload, now_ms)?);
        }
        Ok(out)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyReceiver>()?;
    m.add_class::<PyOutbox>()?;
    m.add_function(wrap_pyfunction!(frame, m)?)?;
    m.add("MAX_SYNC_FRAME_LEN", MAX_SYNC_FRAME_LEN)?;
    Ok(())
}
