//! Core errors as the exceptions of `tcmcare.errors`.
//!
//! The exception classes are defined in Python (`tcmcare/errors.py`) so that they carry
//! typed attributes (`field`, `code`...) and can be caught precisely; this module only
//! hands them the field, code, family and message core reports. The family (core's
//! `codes::rule::RuleFamily`) picks the class, so Python holds no table of rules
//! (`rules.rs` lists core's table for the package and its tests).

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict};

use tcmcare_core::codes::rule::RuleFamily;
use tcmcare_core::json::{error_family, JsonError};
use tcmcare_core::record::{RecordError, ValidationError};
use tcmcare_core::sync::StoreError;
use tcmcare_core::wire::{DecodeError, FrameError};

fn factory<'py>(py: Python<'py>, name: &'static str) -> PyResult<Bound<'py, PyAny>> {
    static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    ERRORS
        .get_or_try_init(py, || py.import("tcmcare.errors").map(Bound::unbind))?
        .bind(py)
        .getattr(name)
}

/// Builds the exception with `factory_name(args...)`; a failure to build it is raised
/// instead (it can only be an import problem of the package itself).
fn make<'py, A>(py: Python<'py>, factory_name: &'static str, args: A) -> PyErr
where
    A: pyo3::call::PyCallArgs<'py>,
{
    match factory(py, factory_name).and_then(|f| f.call1(args)) {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// The families of the codes the bindings raise themselves, beyond core's rules and the
/// JSON view's errors: a record class given a dict of another kind, and a KPI year
/// outside the calendar (`KpiError::InvalidYear`).
const BINDING_CODES: [(&str, RuleFamily); 2] = [
    ("wrong_kind", RuleFamily::Schema),
    ("invalid_year", RuleFamily::Range),
];

/// The family of an error code: core's (a rule or an error of the JSON view), else the
/// bindings' own ([`BINDING_CODES`]).
pub fn family_of(code: &str) -> Option<RuleFamily> {
    error_family(code).or_else(|| {
        BINDING_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, f)| *f)
    })
}

fn raise(
    py: Python<'_>,
    code: &str,
    field: &str,
    family: Option<RuleFamily>,
    message: &str,
) -> PyErr {
    make(
        py,
        "_validation_error",
        (code, field, message, family.map(RuleFamily::name)),
    )
}

/// A `tcmcare.ValidationError` subclass for a code, field and message; the class is the
/// code's family ([`family_of`]), the base class for a code of no family.
pub fn validation(py: Python<'_>, code: &str, field: &str, message: &str) -> PyErr {
    raise(py, code, field, family_of(code), message)
}

/// The exception for a core validation error.
pub fn from_validation(py: Python<'_>, e: &ValidationError) -> PyErr {
    raise(
        py,
        e.code(),
        e.field(),
        Some(e.family()),
        &format!("{}: {e}", e.field()),
    )
}

/// The exception for a JSON-view error.
pub fn from_json(py: Python<'_>, e: &JsonError) -> PyErr {
    match e {
        JsonError::Invalid(v) => from_validation(py, v),
        _ => raise(py, e.code(), e.field(), Some(e.family()), &e.to_string()),
    }
}

/// The stable snake_case code of a decode error.
pub fn decode_code(e: &DecodeError) -> &'static str {
    match e {
        DecodeError::Truncated { .. } => "truncated",
        DecodeError::VarintOverflow { .. } => "varint_overflow",
        DecodeError::NonCanonicalVarint { .. } => "non_canonical_varint",
        DecodeError::InvalidUtf8 { .. } => "invalid_utf8",
        DecodeError::InvalidValue { .. } => "invalid_value",
        DecodeError::TrailingBytes { .. } => "trailing_bytes",
    }
}

/// The exception for malformed bytes.
pub fn from_decode(py: Python<'_>, e: &DecodeError) -> PyErr {
    make(
        py,
        "_decode_error",
        (decode_code(e), e.field(), e.to_string()),
    )
}

/// The exception for a record that cannot be decoded; `envelope` is the input, kept by
/// `UnknownKindError` for forwarding.
pub fn from_record(py: Python<'_>, e: &RecordError, envelope: &[u8]) -> PyErr {
    match e {
        RecordError::Decode(d) => from_decode(py, d),
        RecordError::Invalid(v) => from_validation(py, v),
        RecordError::UnknownKind(k) => make(
            py,
            "_unknown_kind_error",
            (*k, PyBytes::new(py, envelope), e.to_string()),
        ),
        // Only encoding into a too-small buffer gives this; the bindings always pass a
        // buffer of MAX_ENVELOPE_LEN, so it means a bug, reported as such.
        RecordError::Encode(x) => {
            pyo3::exceptions::PyRuntimeError::new_err(format!("internal encoding error: {x}"))
        }
    }
}

/// The stable snake_case code of a frame error (`FrameError.code`).
pub fn frame_code(e: &FrameError) -> &'static str {
    match e {
        FrameError::Empty => "empty",
        FrameError::Cobs => "cobs",
        FrameError::TooShort => "too_short",
        FrameError::Crc { .. } => "crc",
        FrameError::TooLong => "too_long",
    }
}

/// The exception for a corrupt frame.
pub fn from_frame(py: Python<'_>, e: &FrameError) -> PyErr {
    let (expected, computed) = match e {
        FrameError::Crc { expected, computed } => (Some(*expected), Some(*computed)),
        _ => (None, None),
    };
    make(
        py,
        "_frame_error",
        (frame_code(e), e.to_string(), expected, computed),
    )
}

/// A `tcmcare.errors.FrameTooLongError`: a frame of `length` bytes (before its delimiter)
/// would be longer than `limit`, the longest frame the stream decoders take.
pub fn frame_too_long(py: Python<'_>, length: usize, limit: usize) -> PyErr {
    make(py, "_frame_too_long_error", (length, limit))
}

/// A `tcmcare.errors.OutboxError` (or its `OutboxFullError` subclass for code `"full"`).
pub fn outbox(py: Python<'_>, code: &str, message: &str) -> PyErr {
    make(py, "_outbox_error", (code, message))
}

/// A `tcmcare.errors.SealError` (or its subclass for `code`: `"no_session"`,
/// `"downlink_exhausted"`, `"key_id_not_newer"`, `"counter_exhausted"`,
/// `"not_provisioned"`...).
pub fn seal(py: Python<'_>, code: &str, message: &str) -> PyErr {
    make(py, "_seal_error", (code, message))
}

/// A `tcmcare.errors.ProvisionError`.
pub fn provision(py: Python<'_>, code: &str, message: &str) -> PyErr {
    make(py, "_provision_error", (code, message))
}

/// The `tcmcare.errors.RejectedError` subclass of a rejection `reason` with the details
/// of its `"rejected"` event (the Python side writes the message).
pub fn rejected(py: Python<'_>, reason: &str, details: &Bound<'_, PyDict>) -> PyErr {
    make(py, "_rejected_error", (reason, details))
}

/// The `tcmcare.errors.RejectedError` subclass of `reason` for an operation of the
/// terminal's own that the key store refused (`action`: `"rekey"`, `"time sync"`), worded
/// as that operation's refusal, not as a received frame's.
pub fn refused(py: Python<'_>, action: &str, reason: &str, details: &Bound<'_, PyDict>) -> PyErr {
    make(py, "_rejected_error", (reason, details, action))
}

/// The stable name of a store error (`"unavailable"`, `"full"`, `"conflict"`).
pub fn store_error_name(e: &StoreError) -> &'static str {
    match e {
        StoreError::Unavailable => "unavailable",
        StoreError::Full => "full",
        StoreError::Conflict => "conflict",
    }
}

/// What core is told when a Python store refused a call by raising `e`: `None` unless `e`
/// is a `tcmcare.errors.StoreError` (the documented refusal of a store: `StoreFullError`
/// and `StoreConflictError` keep their meaning, any other `StoreError` means
/// "unavailable"). Every other exception is not a refusal and goes to the caller.
pub fn store_refusal(py: Python<'_>, e: &PyErr) -> Option<StoreError> {
    let is = |name: &'static str| -> bool {
        factory(py, name)
            .and_then(|cls| e.value(py).is_instance(&cls))
            .unwrap_or(false)
    };
    if !is("StoreError") {
        None
    } else if is("StoreFullError") {
        Some(StoreError::Full)
    } else if is("StoreConflictError") {
        Some(StoreError::Conflict)
    } else {
        Some(StoreError::Unavailable)
    }
}

/// The first exception a store or key store callback raised that is not a refusal
/// (`KeyboardInterrupt`, `SystemExit`, `MemoryError`, a bug's `TypeError`...), shared by
/// the callbacks of one receiver. Core is told "unavailable" so that it stops and commits
/// nothing; further callbacks are not called while one is pending; the receiver raises it
/// in place of the reply.
#[derive(Clone, Default)]
pub struct Pending(Arc<Mutex<Option<PyErr>>>);

impl Pending {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<PyErr>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether an exception is pending.
    pub fn is_set(&self) -> bool {
        self.slot().is_some()
    }

    /// Keeps `e` unless one is already pending (the first one is the cause).
    pub fn set(&self, e: PyErr) {
        let mut slot = self.slot();
        if slot.is_none() {
            *slot = Some(e);
        }
    }

    /// The pending exception, cleared.
    pub fn take(&self) -> Option<PyErr> {
        self.slot().take()
    }
}

/// Checks that `obj` has every method of `methods` (callable attributes); a `TypeError`
/// naming all missing ones otherwise, e.g. "store must implement
/// tcmcare.store.ReceiverStore: no watermark(), commit()".
pub fn require_methods(
    obj: &Bound<'_, PyAny>,
    what: &str,
    protocol: &str,
    methods: &[&str],
) -> PyResult<()> {
    let mut missing = Vec::new();
    for m in methods {
        let ok = match obj.getattr(*m) {
            Ok(attr) => attr.is_callable(),
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyAttributeError>(obj.py()) => false,
            Err(e) => return Err(e),
        };
        if !ok {
            missing.push(format!("{m}()"));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "{what} must implement tcmcare.store.{protocol}: no {}",
        missing.join(", ")
    )))
}
