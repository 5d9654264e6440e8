//! Sealed links: `DeviceKey`, provisioning payloads, `open_sealed`, and the Python objects
//! plugged in as the terminal's key store and the kiosk's seal store.
//!
//! Core does the cryptography and every rule (tags, nonces, counter leases, replay
//! protection, revocation); this module moves keys across the boundary without ever
//! printing them and translates rejections into events and exceptions.

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString};

use tcmcare_core::ids::{DeviceId, Epoch};
use tcmcare_core::seal::{
    is_sealed, open_in_place, open_provision_confirmation, DeviceKey, Direction, KeyFingerprint,
    KeyId, KeyLookup, KeyStore, OpenError, Provision, ProvisionError, SealHeader, SealState,
    SealStore, Sealer, DEFAULT_LEASE_BLOCK, KEY_LEN, MAX_PROVISION_LEN, PROVISION_SALT_LEN,
};
use tcmcare_core::sync::StoreError;

use zeroize::Zeroize;

use crate::errors;
use crate::pyobjs;

// ----------------------------------------------------------------------------------------
// DeviceKey

/// A 256-bit key shared by one kiosk and its terminal. Its bytes never appear in `repr`,
/// `str` or exceptions, it cannot be pickled or copied, and its memory is zeroized when
/// it is freed; `expose()` is the only way to the bytes (to store the key).
#[pyclass(frozen, module = "tcmcare", name = "DeviceKey")]
pub struct PyDeviceKey {
    pub key: DeviceKey,
}

/// A key from `bytes` or `bytearray` of exactly 32 bytes (a `bytearray` is read through a
/// temporary copy that is wiped).
fn key_from(obj: &Bound<'_, PyAny>) -> PyResult<DeviceKey> {
    let (key, len) = if let Ok(b) = obj.cast::<PyBytes>() {
        let bytes = b.as_bytes();
        (DeviceKey::from_slice(bytes), bytes.len())
    } else if let Ok(b) = obj.cast::<PyByteArray>() {
        let mut v = b.to_vec();
        let k = DeviceKey::from_slice(&v);
        let len = v.len();
        v.zeroize();
        (k, len)
    } else {
        return Err(PyTypeError::new_err(format!(
            "a device key is made from bytes, not {}",
            obj.get_type().name()?
        )));
    };
    key.ok_or_else(|| {
        PyValueError::new_err(format!(
            "a device key has exactly {KEY_LEN} bytes, got {len}"
        ))
    })
}

#[pymethods]
impl PyDeviceKey {
    #[new]
    fn new(key: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyDeviceKey {
            key: key_from(key)?,
        })
    }

    /// A new random key from the operating system's secure random source
    /// (`os.urandom`).
    #[staticmethod]
    fn generate(py: Python<'_>) -> PyResult<Self> {
        let bytes = py.import("os")?.call_method1("urandom", (KEY_LEN,))?;
        Ok(PyDeviceKey {
            key: key_from(&bytes)?,
        })
    }

    /// The key bytes, to store the key in a key database or hand it to provisioning. The
    /// only way out; never log them. Python cannot wipe the returned bytes.
    fn expose<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.key.as_bytes())
    }

    /// The key's short, non-secret fingerprint (`"1A2B-3C4D"`), for staff to compare
    /// between a terminal and a kiosk.
    #[getter]
    fn fingerprint(&self) -> String {
        KeyFingerprint::of(&self.key).to_string()
    }

    fn __repr__(&self) -> &'static str {
        "DeviceKey(<redacted>)"
    }

    fn __str__(&self) -> &'static str {
        "DeviceKey(<redacted>)"
    }

    /// Equal keys compare equal (in constant time); keys are not hashable.
    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: pyo3::basic::CompareOp) -> Py<PyAny> {
        use pyo3::basic::CompareOp;
        use pyo3::types::PyBool;
        let py = other.py();
        let Ok(o) = other.cast::<PyDeviceKey>() else {
            return py.NotImplemented();
        };
        let eq = self.key == o.get().key;
        match op {
            CompareOp::Eq => PyBool::new(py, eq).to_owned().into_any().unbind(),
            CompareOp::Ne => PyBool::new(py, !eq).to_owned().into_any().unbind(),
            _ => py.NotImplemented(),
        }
    }

    /// Keys are not pickled (nor copied): a pickle would write the key in clear wherever
    /// it goes. Store `expose()` in a key database instead.
    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "a DeviceKey cannot be pickled or copied: store expose() in a key database",
        ))
    }
}

// ----------------------------------------------------------------------------------------
// Rejections

/// Sets `device`, `epoch`, `key_id`, `counter` of a (readable) seal header.
pub fn header_details(d: &Bound<'_, PyDict>, header: Option<&SealHeader>) -> PyResult<()> {
    if let Some(h) = header {
        d.set_item("device", h.device.0)?;
        d.set_item("epoch", h.epoch.0)?;
        d.set_item("key_id", h.key_id.0)?;
        d.set_item("counter", h.counter)?;
    }
    Ok(())
}

/// The seal header of a payload, if it has a readable one (unauthenticated: for logs).
pub fn peek_header(payload: &[u8]) -> Option<SealHeader> {
    if !is_sealed(payload) {
        return None;
    }
    SealHeader::decode(payload).ok().map(|(h, _)| h)
}

/// The reason and details of a rejection (a `"rejected"` event).
pub fn rejection<'py>(
    py: Python<'py>,
    e: &OpenError,
    header: Option<&SealHeader>,
) -> PyResult<(&'static str, Bound<'py, PyDict>)> {
    let d = PyDict::new(py);
    header_details(&d, header)?;
    let reason = match e {
        OpenError::BadTag => "bad_tag",
        OpenError::UnknownDevice => "unknown_device",
        OpenError::UnknownKey => "unknown_key",
        OpenError::Revoked => "revoked",
        OpenError::Replayed { last, got } => {
            d.set_item("last", *last)?;
            d.set_item("got", *got)?;
            "replayed"
        }
        OpenError::WrongEpoch { expected, got } => {
            d.set_item("expected", *expected)?;
            d.set_item("got", *got)?;
            "wrong_epoch"
        }
        OpenError::Malformed => "malformed",
        OpenError::UnsealedRefused => "unsealed_refused",
        OpenError::Store(s) => {
            d.set_item("error", errors::store_error_name(s))?;
            "store"
        }
    };
    d.set_item("reason", reason)?;
    Ok((reason, d))
}

/// The exception of a rejection.
pub fn rejected_error(py: Python<'_>, e: &OpenError, header: Option<&SealHeader>) -> PyErr {
    match rejection(py, e, header) {
        Ok((reason, d)) => errors::rejected(py, reason, &d),
        Err(err) => err,
    }
}

// ----------------------------------------------------------------------------------------
// The terminal's key store

/// A Python object as the terminal's key store (`tcmcare.store.KeyStore`).
pub struct PyKeyStore {
    pub obj: Py<PyAny>,
    /// The refusal (`tcmcare.errors.StoreError`) the store raised in the last call.
    pub last_error: Option<PyErr>,
    /// Any other exception a callback raised, for the receiver to raise.
    pending: errors::Pending,
    has_key_used: bool,
}

impl PyKeyStore {
    /// Checks that `obj` has the key store's methods; `pending` is shared with the
    /// receiver's store.
    pub fn new(obj: &Bound<'_, PyAny>, pending: errors::Pending) -> PyResult<Self> {
        errors::require_methods(obj, "keys", "KeyStore", &["lookup", "reserve_downlink"])?;
        Ok(PyKeyStore {
            has_key_used: obj.hasattr("key_used")?,
            obj: obj.clone().unbind(),
            last_error: None,
            pending,
        })
    }

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
}

/// What `lookup()` returned. A wrong return value is an error of the store; its value is
/// never echoed (it could be a key).
fn key_lookup(v: &Bound<'_, PyAny>) -> PyResult<KeyLookup> {
    if let Ok(k) = v.cast::<PyDeviceKey>() {
        return Ok(KeyLookup::Active(k.get().key.clone()));
    }
    if let Ok(s) = v.cast::<PyString>() {
        match &*s.to_cow()? {
            "revoked" => return Ok(KeyLookup::Revoked),
            "unknown_key" => return Ok(KeyLookup::UnknownKey),
            "unknown_device" => return Ok(KeyLookup::UnknownDevice),
            _ => {}
        }
    }
    Err(PyTypeError::new_err(
        "KeyStore.lookup() must return a tcmcare.DeviceKey, \"revoked\", \"unknown_key\" \
         or \"unknown_device\"",
    ))
}

impl KeyStore for PyKeyStore {
    fn lookup(&mut self, device: DeviceId, key_id: KeyId) -> Result<KeyLookup, StoreError> {
        self.call(|_, obj| {
            obj.call_method1("lookup", (device.0, key_id.0))
                .and_then(|v| key_lookup(&v))
        })
    }

    fn reserve_downlink(
        &mut self,
        device: DeviceId,
        key_id: KeyId,
        count: u32,
    ) -> Result<Option<u32>, StoreError> {
        self.call(|_, obj| {
            obj.call_method1("reserve_downlink", (device.0, key_id.0, count))
                .and_then(|v| v.extract::<Option<u32>>())
        })
    }

    fn key_used(&mut self, device: DeviceId, key_id: KeyId) -> Result<(), StoreError> {
        if !self.has_key_used {
            return Ok(());
        }
        self.call(|_, obj| {
            obj.call_method1("key_used", (device.0, key_id.0))
                .map(|_| ())
        })
    }
}

// ----------------------------------------------------------------------------------------
// The kiosk's seal store

/// A Python object as a kiosk's seal store (`tcmcare.store.SealStore`).
pub struct PySealStore {
    obj: Py<PyAny>,
}

impl PySealStore {
    /// Checks that `obj` has the seal store's methods.
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        errors::require_methods(
            obj,
            "seal_store",
            "SealStore",
            &["load_seal_state", "store_seal_state"],
        )?;
        Ok(PySealStore {
            obj: obj.clone().unbind(),
        })
    }

    /// The Python object.
    pub fn object(&self, py: Python<'_>) -> Py<PyAny> {
        self.obj.clone_ref(py)
    }
}

impl SealStore for PySealStore {
    type Error = PyErr;

    fn load(&mut self) -> Result<Option<SealState>, PyErr> {
        Python::attach(|py| {
            let v = self.obj.bind(py).call_method0("load_seal_state")?;
            if v.is_none() {
                return Ok(None);
            }
            let bytes: PyBackedBytes = v.extract()?;
            SealState::from_bytes(&bytes).map(Some).ok_or_else(|| {
                errors::seal(
                    py,
                    "corrupt_state",
                    "the stored seal state is not valid (another layout version, or damaged): \
                     provision the kiosk again",
                )
            })
        })
    }

    fn store(&mut self, state: &SealState) -> Result<(), PyErr> {
        Python::attach(|py| {
            let bytes = state.to_bytes();
            self.obj
                .bind(py)
                .call_method1("store_seal_state", (PyBytes::new(py, &bytes[..]),))
                .map(|_| ())
        })
    }
}

// ----------------------------------------------------------------------------------------
// Provisioning and inspection

/// The provisioning payload giving a kiosk its device id, epoch, key id and key (sent
/// unsealed over the cable; the kiosk takes it only in provisioning mode). The payload
/// holds the key in clear.
#[pyfunction]
fn provision_payload<'py>(
    py: Python<'py>,
    device: u32,
    epoch: u32,
    key_id: u32,
    key: &Bound<'py, PyDeviceKey>,
) -> PyResult<Bound<'py, PyBytes>> {
    if device == 0 {
        return Err(errors::validation(
            py,
            "device_id_zero",
            "device",
            "device: the device id must not be 0",
        ));
    }
    if epoch == 0 {
        return Err(errors::validation(
            py,
            "epoch_zero",
            "epoch",
            "epoch: the epoch must not be 0",
        ));
    }
    let p = Provision {
        device: DeviceId(device),
        epoch: Epoch(epoch),
        key_id: KeyId(key_id),
        key: key.get().key.clone(),
    };
    let mut out = [0u8; MAX_PROVISION_LEN];
    let encoded = p
        .encode(&mut out)
        .map(|n| PyBytes::new(py, out.get(..n).unwrap_or(&[])))
        .map_err(|e| PyRuntimeError::new_err(format!("internal encoding error: {e}")));
    out.zeroize();
    encoded
}

/// Withdrawn: a kiosk must confirm its provisioning to the terminal. Raises
/// `ProvisionError` (code `"unconfirmed"`) and stores nothing; use
/// `accept_provision_confirmed`.
#[pyfunction]
#[pyo3(signature = (seal_store, payload, *, provisioning_mode))]
fn accept_provision(
    py: Python<'_>,
    seal_store: &Bound<'_, PyAny>,
    payload: PyBackedBytes,
    provisioning_mode: bool,
) -> PyResult<(u32, u32, u32)> {
    let _ = (payload, provisioning_mode);
    PySealStore::new(seal_store)?;
    Err(errors::provision(
        py,
        "unconfirmed",
        "accept_provision() is withdrawn: use accept_provision_confirmed(), whose \
         confirmation the terminal checks with confirm_provision()",
    ))
}

/// The kiosk side of provisioning: checks a provisioning payload, mixes 16 bytes from
/// `os.urandom` into the key (no two provisionings share a key, even when the same payload
/// arrives twice) and persists the new credentials in `seal_store`, only when
/// `provisioning_mode` is true (on a kiosk, a physical action). Returns
/// `(device, epoch, key_id, confirmation, fingerprint)`: send `confirmation` back to the
/// terminal (framed), log `fingerprint` for staff to compare with the terminal's.
#[pyfunction]
#[pyo3(signature = (seal_store, payload, *, provisioning_mode))]
fn accept_provision_confirmed<'py>(
    py: Python<'py>,
    seal_store: &Bound<'py, PyAny>,
    payload: PyBackedBytes,
    provisioning_mode: bool,
) -> PyResult<(u32, u32, u32, Bound<'py, PyBytes>, String)> {
    let store = PySealStore::new(seal_store)?;
    let random = py
        .import("os")?
        .call_method1("urandom", (PROVISION_SALT_LEN,))?;
    let random: PyBackedBytes = random.extract()?;
    let mut salt = [0u8; PROVISION_SALT_LEN];
    if random.len() != PROVISION_SALT_LEN {
        return Err(PyRuntimeError::new_err("os.urandom returned a short read"));
    }
    salt.copy_from_slice(&random);
    let result = Sealer::provision(
        store,
        &payload,
        provisioning_mode,
        DEFAULT_LEASE_BLOCK,
        &salt,
    );
    salt.zeroize();
    match result {
        Ok((s, c)) => Ok((
            s.device().0,
            s.epoch().0,
            s.key_id().0,
            PyBytes::new(py, c.as_bytes()),
            c.fingerprint().to_string(),
        )),
        Err(ProvisionError::NotInProvisioningMode) => Err(errors::provision(
            py,
            "not_in_provisioning_mode",
            "provisioning refused: the kiosk is not in provisioning mode",
        )),
        Err(ProvisionError::Malformed) => Err(errors::provision(
            py,
            "malformed",
            "malformed provisioning payload",
        )),
        Err(e @ ProvisionError::Stale) => Err(errors::provision(py, "stale", &e.to_string())),
        Err(e @ ProvisionError::WeakSalt) => {
            Err(errors::provision(py, "weak_salt", &e.to_string()))
        }
        Err(ProvisionError::InvalidLeaseBlock) => Err(PyRuntimeError::new_err(
            "internal: counter lease block must be 1 or more",
        )),
        Err(ProvisionError::Store(e)) => Err(e),
    }
}

/// The terminal side of provisioning: checks the kiosk's `confirmation` for the
/// provisioning it sent (`device`, `epoch`, `key_id`, `key`, as given to
/// `provision_payload`). Returns `(link_key, fingerprint)`: keep `link_key` in the key
/// store for `device` / `key_id` (instead of `key`) and print `fingerprint` for staff
/// to compare with the kiosk's log. Raises the `RejectedError` subclass of the failure
/// (`MalformedSealError`, `BadTagError`, `UnknownDeviceError`, ...).
#[pyfunction]
fn confirm_provision<'py>(
    py: Python<'py>,
    device: u32,
    epoch: u32,
    key_id: u32,
    key: &Bound<'py, PyDeviceKey>,
    confirmation: PyBackedBytes,
) -> PyResult<(PyDeviceKey, String)> {
    let sent = Provision {
        device: DeviceId(device),
        epoch: Epoch(epoch),
        key_id: KeyId(key_id),
        key: key.get().key.clone(),
    };
    match open_provision_confirmation(&sent, &confirmation) {
        Ok(c) => Ok((PyDeviceKey { key: c.link_key }, c.fingerprint.to_string())),
        Err(e) => Err(rejected_error(py, &e, None)),
    }
}

/// Authenticates and decrypts one sealed payload under `key`, for inspection (a capture,
/// a test): returns its `SealHeader` and plaintext. Checks only the tag: no key lookup,
/// no replay protection (a receiver does those). Raises the `RejectedError` subclass of
/// the failure.
#[pyfunction]
#[pyo3(signature = (payload, key, *, direction = "uplink"))]
fn open_sealed<'py>(
    py: Python<'py>,
    payload: PyBackedBytes,
    key: &Bound<'py, PyDeviceKey>,
    direction: &str,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyBytes>)> {
    let direction = match direction {
        "uplink" => Direction::Uplink,
        "downlink" => Direction::Downlink,
        _ => {
            return Err(PyValueError::new_err(
                "direction must be \"uplink\" (kiosk to terminal) or \"downlink\"",
            ))
        }
    };
    if !is_sealed(&payload) {
        return Err(rejected_error(py, &OpenError::UnsealedRefused, None));
    }
    let header = peek_header(&payload);
    let mut buf = payload.to_vec();
    let result = match open_in_place(&key.get().key, direction, &mut buf) {
        Ok((h, plain)) => pyobjs::seal_header_type(py)?
            .call1((h.key_id.0, h.device.0, h.epoch.0, h.counter, h.reply_to))
            .map(|hdr| (hdr, PyBytes::new(py, plain))),
        Err(e) => Err(rejected_error(py, &e, header.as_ref())),
    };
    buf.zeroize();
    result
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDeviceKey>()?;
    m.add_function(wrap_pyfunction!(provision_payload, m)?)?;
    m.add_function(wrap_pyfunction!(accept_provision, m)?)?;
    m.add_function(wrap_pyfunction!(accept_provision_confirmed, m)?)?;
    m.add_function(wrap_pyfunction!(confirm_provision, m)?)?;
    m.add_function(wrap_pyfunction!(open_sealed, m)?)?;
    m.add("DEVICE_KEY_LEN", KEY_LEN)?;
    m.add("SEAL_TAG_LEN", tcmcare_core::seal::TAG_LEN)?;
    Ok(())
}
