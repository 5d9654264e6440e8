//! Sealed frames in C: device keys, the terminal's key store, the kiosk's seal state
//! store and provisioning.
//!
//! Every sync payload between a kiosk and its terminal travels sealed
//! (ChaCha20-Poly1305 under a 256-bit per-device key, with device, epoch and a frame
//! counter authenticated, see `tcmcare_core::seal`). A terminal creates its receiver with
//! `tcm_receiver_new_sealed()` and two more sets of callbacks: the **key store**
//! (`tcm_key_store`: which key a device has, revocation, the terminal's own reply
//! counters) and the **replay store** (`tcm_replay_store`: the last frame counter
//! accepted per stream, persisted with the records in the `commit` callback). A device
//! that sends (a kiosk, or a terminal forwarding upstream) creates its sender with
//! `tcm_sender_new_sealed()` over a **seal store** (`tcm_seal_store`: 53 bytes of
//! credentials and counter lease), which `tcm_seal_provision()` fills from the
//! terminal's provisioning payload (`tcm_provision_encode()`).
//!
//! Keys are `tcm_device_key` handles; `tcm_device_key_free()` wipes the key's memory.
//! The library never logs or prints a key; its own copies (in callbacks' buffers, in
//! state bytes) are zeroized after use. Callers that export a key
//! (`tcm_device_key_export()`, a seal state) hold it in clear and must protect and wipe
//! it themselves.

use std::ffi::c_void;

use tcmcare_core::ids::{DeviceId, Epoch};
use tcmcare_core::seal::{
    open_provision_confirmation, DeviceKey, FrameCounter, KeyFingerprint, KeyId, KeyLookup,
    KeyStore, OpenError, Provision, ProvisionError, SealError, SealState, SealStore, Sealer,
    KEY_LEN, MAX_PROVISION_CONFIRM_LEN, MAX_PROVISION_LEN, MAX_SEALED_REKEY_LEN, MAX_SEAL_OVERHEAD,
    PROVISION_SALT_LEN, SEAL_STATE_LEN,
};
use tcmcare_core::sync::{SealedReplyError, StoreError, MAX_SEALED_CONTROL_LEN};
use zeroize::{Zeroize, Zeroizing};

use crate::boundary;
use crate::buffer;
use crate::handle::{self, Handle};
use crate::status::{encode_error, fail, tcm_status};
use crate::sync::store_result;

/// Bytes of a device key (256 bits).
pub const TCM_KEY_LEN: usize = 32;
/// Most bytes sealing adds to a payload: the seal header (marker, key id, device, epoch,
/// counter and, in replies, the frame answered) and the 16-byte tag.
pub const TCM_MAX_SEAL_OVERHEAD: usize = 42;
/// A reply buffer of this size always suffices for `tcm_receiver_handle()` and
/// `tcm_receiver_time_sync()` of a sealed receiver.
pub const TCM_MAX_SEALED_CONTROL_LEN: usize = 82;
/// Bytes of a provisioning payload at most (`tcm_provision_encode()`).
pub const TCM_MAX_PROVISION_LEN: usize = 48;
/// Bytes of a sealed key rotation at most (`tcm_receiver_rekey()`).
pub const TCM_MAX_SEALED_REKEY_LEN: usize = 80;
/// Bytes of a seal state (`tcm_seal_store`).
pub const TCM_SEAL_STATE_LEN: usize = 53;
/// Bytes of a device's provisioning confirmation at most (`tcm_seal_accept_provision()`).
pub const TCM_MAX_PROVISION_CONFIRM_LEN: usize = 48;
/// Bytes of a key fingerprint as text, its NUL included: `"1A2B-3C4D"`.
pub const TCM_KEY_FINGERPRINT_LEN: usize = 10;

const _: () = {
    assert!(TCM_KEY_LEN == KEY_LEN);
    assert!(TCM_MAX_SEAL_OVERHEAD == MAX_SEAL_OVERHEAD);
    assert!(TCM_MAX_SEALED_CONTROL_LEN == MAX_SEALED_CONTROL_LEN);
    assert!(TCM_MAX_PROVISION_LEN == MAX_PROVISION_LEN);
    assert!(TCM_MAX_SEALED_REKEY_LEN == MAX_SEALED_REKEY_LEN);
    assert!(TCM_SEAL_STATE_LEN == SEAL_STATE_LEN);
    assert!(TCM_MAX_PROVISION_CONFIRM_LEN == MAX_PROVISION_CONFIRM_LEN);
};

// ---------------------------------------------------------------------------------------
// Statuses
// ---------------------------------------------------------------------------------------

/// The status naming a rejection (no detail recorded: used in events).
pub(crate) fn open_status(e: OpenError) -> tcm_status {
    match e {
        OpenError::BadTag => tcm_status::SealBadTag,
        OpenError::UnknownDevice => tcm_status::SealUnknownDevice,
        OpenError::UnknownKey => tcm_status::SealUnknownKey,
        OpenError::Revoked => tcm_status::SealRevoked,
        OpenError::Replayed { .. } => tcm_status::SealReplayed,
        OpenError::WrongEpoch { .. } => tcm_status::SealWrongEpoch,
        OpenError::Malformed => tcm_status::SealMalformed,
        OpenError::UnsealedRefused => tcm_status::SealUnsealedRefused,
        OpenError::Store(_) => tcm_status::SealKeyStoreFailed,
    }
}

/// A seal error as a status (with detail); `needed` receives a buffer size.
pub(crate) fn seal_error<E: std::fmt::Debug>(e: SealError<E>, needed: &mut usize) -> tcm_status {
    match e {
        SealError::BufferTooSmall { needed: n } => {
            *needed = n;
            fail(tcm_status::BufferTooSmall, format_args!("{n} bytes needed"))
        }
        SealError::CounterExhausted => fail(tcm_status::SealCounterExhausted, &e),
        SealError::TooLong => fail(tcm_status::InvalidArgument, &e),
        SealError::Store(_) => fail(tcm_status::SealStoreFailed, &e),
    }
}

/// A reply error of a sealed receiver as a status (with detail).
pub(crate) fn reply_error(e: SealedReplyError, needed: &mut usize) -> tcm_status {
    match e {
        SealedReplyError::NoSession => fail(tcm_status::SealNoSession, e),
        SealedReplyError::OutputTooSmall { needed: n } => {
            *needed = n;
            fail(tcm_status::BufferTooSmall, format_args!("{n} bytes needed"))
        }
        SealedReplyError::Key(k) => fail(open_status(k), e),
        SealedReplyError::DownlinkExhausted => fail(tcm_status::SealDownlinkExhausted, e),
        SealedReplyError::KeyIdNotNewer => fail(tcm_status::SealKeyIdNotNewer, e),
    }
}

// ---------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------

/// A 256-bit device key. Its bytes are wiped when it is released with
/// `tcm_device_key_free()`; the library never prints them.
pub struct tcm_device_key {
    pub(crate) key: DeviceKey,
}

impl Handle for tcm_device_key {
    const NAME: &'static str = "tcm_device_key";
}

/// Creates a key from `len` bytes at `bytes` (`len` must be `TCM_KEY_LEN`, else
/// `TCM_STATUS_SEAL_KEY_WRONG_LENGTH`). Wipe your copy of the bytes afterwards.
///
/// # Safety
/// `bytes` points to `len` readable bytes; `out` to writable memory for a pointer.
#[no_mangle]
pub unsafe extern "C" fn tcm_device_key_new(
    bytes: *const u8,
    len: usize,
    out: *mut *mut tcm_device_key,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let input = unsafe { buffer::input(bytes, len, "bytes")? };
        let key = DeviceKey::from_slice(input).ok_or_else(|| {
            fail(
                tcm_status::SealKeyWrongLength,
                format_args!("{len} bytes given"),
            )
        })?;
        // SAFETY: caller contract of this function.
        unsafe { handle::hand_out(tcm_device_key { key }, out) }
    })
}

/// Creates a fresh random key from the operating system's random number generator
/// (`TCM_STATUS_SEAL_RANDOM_UNAVAILABLE` if it fails).
///
/// # Safety
/// `out` points to writable memory for a pointer.
#[no_mangle]
pub unsafe extern "C" fn tcm_device_key_generate(out: *mut *mut tcm_device_key) -> tcm_status {
    boundary(|| {
        buffer::non_null(out, "out")?;
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(&mut bytes[..]).map_err(|e| fail(tcm_status::SealRandomUnavailable, e))?;
        let key = DeviceKey::from_bytes(*bytes);
        // SAFETY: caller contract of this function.
        unsafe { handle::hand_out(tcm_device_key { key }, out) }
    })
}

/// Copies the key's 32 bytes to `out` (`cap` at least `TCM_KEY_LEN`; `*written`
/// receives 32, or the size needed with `TCM_STATUS_BUFFER_TOO_SMALL`). Only for storing
/// the key in the terminal's key database or handing it to a key store callback: the
/// bytes are then in clear in your memory, so protect and wipe them.
///
/// # Safety
/// `key` came from `tcm_device_key_new()` / `_generate()`; `out` points to `cap` writable
/// bytes; `written` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_device_key_export(
    key: *const tcm_device_key,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let k = unsafe { handle::borrow(key)? };
        // SAFETY: caller contract of this function.
        unsafe { buffer::write_bytes(k.key.as_bytes(), out, cap, written) }
    })
}

/// Wipes and releases a key; NULL is a no-op. `TCM_STATUS_OK`, or for misuse (a double
/// free...) `TCM_STATUS_WRONG_HANDLE` / `TCM_STATUS_UNKNOWN_HANDLE` (nothing freed).
///
/// # Safety
/// `key` came from `tcm_device_key_new()` / `_generate()` (or is NULL) and is not used
/// afterwards.
#[no_mangle]
pub unsafe extern "C" fn tcm_device_key_free(key: *mut tcm_device_key) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function. Dropping the `DeviceKey` zeroizes it.
        unsafe { handle::free(key)? };
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Terminal side: key store and replay store
// ---------------------------------------------------------------------------------------

/// What the key store knows of a device's key (`lookup` callback).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_key_state {
    /// The key exists and is usable; its bytes are in `key`.
    Active = 0,
    /// The device is revoked: every frame of it is refused.
    Revoked = 1,
    /// The device is known but has no key with this id (never had, or retired).
    UnknownKey = 2,
    /// The device is not known.
    UnknownDevice = 3,
}

/// The terminal's device keys, behind callbacks (a table in its database). Each returns
/// a `tcm_store_result`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tcm_key_store {
    /// Passed unchanged to the callbacks.
    pub ctx: *mut c_void,
    /// Required. Sets `*state` (a `tcm_key_state`) for key `key_id` of `device` and,
    /// when `ACTIVE`, writes the key's `TCM_KEY_LEN` bytes to `key` (the library wipes its
    /// buffer after use). A state outside `tcm_key_state` counts as a store failure.
    pub lookup: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            device: u32,
            key_id: u32,
            state: *mut u8,
            key: *mut u8,
        ) -> u32,
    >,
    /// Required. Reserves `count` further terminal -> kiosk frame counters of
    /// `(device, key_id)` durably (persisted before returning), never the same counter
    /// twice, and stores the first in `*first` (counters start at 1); `*first` = 0 when
    /// the 32-bit space cannot hold `count` more (the device needs a new key).
    pub reserve_downlink: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            device: u32,
            key_id: u32,
            count: u32,
            first: *mut u32,
        ) -> u32,
    >,
    /// Optional (NULL: nothing to do). A frame sealed under `key_id` was accepted: the
    /// kiosk has that key, so older keys of the device may be retired (this completes a
    /// rotation).
    pub key_used: Option<unsafe extern "C" fn(ctx: *mut c_void, device: u32, key_id: u32) -> u32>,
}

/// The last frame counter accepted per stream, for replay protection across restarts,
/// behind callbacks (the same database as the records). Each returns a
/// `tcm_store_result`. A commit of a sealed receiver also carries the counter
/// (`tcm_commit.has_counter`), to be stored in the commit's transaction.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tcm_replay_store {
    /// Passed unchanged to the callbacks.
    pub ctx: *mut c_void,
    /// Required. The last counter persisted for stream `(device, epoch)`: its key id in
    /// `*key_id` and counter in `*counter` (both 0 for a stream never seen).
    pub last_counter: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            device: u32,
            epoch: u32,
            key_id: *mut u32,
            counter: *mut u32,
        ) -> u32,
    >,
    /// Required. Raises the stream's last counter to `(key_id, counter)` durably, never
    /// lowering it (compare key id first, then counter). Used for hellos, which commit
    /// nothing.
    pub note_counter: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            device: u32,
            epoch: u32,
            key_id: u32,
            counter: u32,
        ) -> u32,
    >,
}

/// The key store as core sees it (required callbacks checked at creation).
pub(crate) struct CKeyStore {
    ctx: *mut c_void,
    lookup: unsafe extern "C" fn(*mut c_void, u32, u32, *mut u8, *mut u8) -> u32,
    reserve: unsafe extern "C" fn(*mut c_void, u32, u32, u32, *mut u32) -> u32,
    key_used: Option<unsafe extern "C" fn(*mut c_void, u32, u32) -> u32>,
}

impl CKeyStore {
    /// Checks and copies the callbacks of `*keys`.
    ///
    /// # Safety
    /// `keys` is NULL or points to an initialised `tcm_key_store`.
    pub(crate) unsafe fn from_c(keys: *const tcm_key_store) -> Result<Self, tcm_status> {
        // SAFETY: caller contract of this function.
        let k = unsafe { buffer::read(keys, "keys")? };
        Ok(CKeyStore {
            ctx: k.ctx,
            lookup: k
                .lookup
                .ok_or_else(|| fail(tcm_status::NullPointer, "keys->lookup is NULL"))?,
            reserve: k
                .reserve_downlink
                .ok_or_else(|| fail(tcm_status::NullPointer, "keys->reserve_downlink is NULL"))?,
            key_used: k.key_used,
        })
    }
}

impl KeyStore for CKeyStore {
    fn lookup(&mut self, device: DeviceId, key_id: KeyId) -> Result<KeyLookup, StoreError> {
        let mut state = tcm_key_state::UnknownDevice as u8;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        // SAFETY: the callback and its context come from the caller of
        // `tcm_receiver_new_sealed`, who promised they stay valid while the receiver
        // lives; `state` and `key` are writable.
        let r =
            unsafe { (self.lookup)(self.ctx, device.0, key_id.0, &mut state, key.as_mut_ptr()) };
        store_result(r)?;
        const ACTIVE: u8 = tcm_key_state::Active as u8;
        const REVOKED: u8 = tcm_key_state::Revoked as u8;
        const UNKNOWN_KEY: u8 = tcm_key_state::UnknownKey as u8;
        const UNKNOWN_DEVICE: u8 = tcm_key_state::UnknownDevice as u8;
        match state {
            ACTIVE => Ok(KeyLookup::Active(DeviceKey::from_bytes(*key))),
            REVOKED => Ok(KeyLookup::Revoked),
            UNKNOWN_KEY => Ok(KeyLookup::UnknownKey),
            UNKNOWN_DEVICE => Ok(KeyLookup::UnknownDevice),
            _ => Err(StoreError::Unavailable),
        }
    }

    fn reserve_downlink(
        &mut self,
        device: DeviceId,
        key_id: KeyId,
        count: u32,
    ) -> Result<Option<u32>, StoreError> {
        let mut first = 0u32;
        // SAFETY: as in `lookup`.
        let r = unsafe { (self.reserve)(self.ctx, device.0, key_id.0, count, &mut first) };
        store_result(r)?;
        Ok((first != 0).then_some(first))
    }

    fn key_used(&mut self, device: DeviceId, key_id: KeyId) -> Result<(), StoreError> {
        match self.key_used {
            // SAFETY: as in `lookup`.
            Some(f) => store_result(unsafe { f(self.ctx, device.0, key_id.0) }),
            None => Ok(()),
        }
    }
}

/// The replay store as core sees it (callbacks checked at creation).
#[derive(Clone, Copy)]
pub(crate) struct CReplay {
    ctx: *mut c_void,
    last: unsafe extern "C" fn(*mut c_void, u32, u32, *mut u32, *mut u32) -> u32,
    note: unsafe extern "C" fn(*mut c_void, u32, u32, u32, u32) -> u32,
}

impl CReplay {
    /// Checks and copies the callbacks of `*replay`.
    ///
    /// # Safety
    /// `replay` is NULL or points to an initialised `tcm_replay_store`.
    pub(crate) unsafe fn from_c(replay: *const tcm_replay_store) -> Result<Self, tcm_status> {
        // SAFETY: caller contract of this function.
        let r = unsafe { buffer::read(replay, "replay")? };
        Ok(CReplay {
            ctx: r.ctx,
            last: r
                .last_counter
                .ok_or_else(|| fail(tcm_status::NullPointer, "replay->last_counter is NULL"))?,
            note: r
                .note_counter
                .ok_or_else(|| fail(tcm_status::NullPointer, "replay->note_counter is NULL"))?,
        })
    }

    pub(crate) fn last_counter(
        &self,
        device: DeviceId,
        epoch: Epoch,
    ) -> Result<FrameCounter, StoreError> {
        let (mut key_id, mut counter) = (0u32, 0u32);
        // SAFETY: the callback and its context come from the caller of
        // `tcm_receiver_new_sealed`, who promised they stay valid while the receiver
        // lives.
        let r = unsafe { (self.last)(self.ctx, device.0, epoch.0, &mut key_id, &mut counter) };
        store_result(r)?;
        Ok(FrameCounter {
            key_id: KeyId(key_id),
            counter,
        })
    }

    pub(crate) fn note_counter(
        &self,
        device: DeviceId,
        epoch: Epoch,
        c: FrameCounter,
    ) -> Result<(), StoreError> {
        // SAFETY: as in `last_counter`.
        let r = unsafe { (self.note)(self.ctx, device.0, epoch.0, c.key_id.0, c.counter) };
        store_result(r)
    }
}

/// Whether a sealed receiver also accepts plain payloads.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_link_security {
    /// Every payload must be sealed; a plain one is refused
    /// (`TCM_STATUS_SEAL_UNSEALED_REFUSED`). The only safe choice on a care-home network.
    Sealed = 0,
    /// A trusted link (a bench, a cable inside a locked enclosure): plain payloads are
    /// accepted and answered plain; sealed ones are still verified. A deliberate,
    /// documented decision of the deployment.
    TrustedUnsealed = 1,
}

// ---------------------------------------------------------------------------------------
// Device side: seal store and provisioning
// ---------------------------------------------------------------------------------------

/// Where a sending device keeps its seal state: `TCM_SEAL_STATE_LEN` bytes holding its
/// device id, epoch, key id, key and counter lease. Each callback returns a
/// `tcm_store_result`. The state holds the key in clear: keep it where only the device
/// reads it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tcm_seal_store {
    /// Passed unchanged to the callbacks.
    pub ctx: *mut c_void,
    /// Required. Copies the stored state (at most `cap` = `TCM_SEAL_STATE_LEN` bytes) to
    /// `state` and its length to `*len`; `*len` = 0 when nothing is stored.
    pub load: Option<
        unsafe extern "C" fn(ctx: *mut c_void, state: *mut u8, cap: usize, len: *mut usize) -> u32,
    >,
    /// Required. Replaces the stored state with `len` bytes at `state`, durably and
    /// atomically (after a power cut either the old or the new state loads) before
    /// returning.
    pub store: Option<unsafe extern "C" fn(ctx: *mut c_void, state: *const u8, len: usize) -> u32>,
}

/// Why the seal store failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CSealStoreError {
    /// The callback returned this `tcm_store_result`.
    Callback(u32),
    /// The loaded bytes are not a seal state.
    Unreadable,
}

/// The seal store as core sees it.
#[derive(Debug)]
pub(crate) struct CSealStore {
    ctx: *mut c_void,
    load: unsafe extern "C" fn(*mut c_void, *mut u8, usize, *mut usize) -> u32,
    store: unsafe extern "C" fn(*mut c_void, *const u8, usize) -> u32,
}

impl CSealStore {
    /// Checks and copies the callbacks of `*store`.
    ///
    /// # Safety
    /// `store` is NULL or points to an initialised `tcm_seal_store`.
    pub(crate) unsafe fn from_c(store: *const tcm_seal_store) -> Result<Self, tcm_status> {
        // SAFETY: caller contract of this function.
        let s = unsafe { buffer::read(store, "seal_store")? };
        Ok(CSealStore {
            ctx: s.ctx,
            load: s
                .load
                .ok_or_else(|| fail(tcm_status::NullPointer, "seal_store->load is NULL"))?,
            store: s
                .store
                .ok_or_else(|| fail(tcm_status::NullPointer, "seal_store->store is NULL"))?,
        })
    }
}

impl SealStore for CSealStore {
    type Error = CSealStoreError;

    fn load(&mut self) -> Result<Option<SealState>, Self::Error> {
        let mut bytes = Zeroizing::new([0u8; SEAL_STATE_LEN]);
        let mut len = 0usize;
        // SAFETY: the callbacks and their context come from the caller, who promised
        // they stay valid while the sender lives; `bytes` has `SEAL_STATE_LEN` bytes.
        let r = unsafe { (self.load)(self.ctx, bytes.as_mut_ptr(), SEAL_STATE_LEN, &mut len) };
        if r != 0 {
            return Err(CSealStoreError::Callback(r));
        }
        if len == 0 {
            return Ok(None);
        }
        let b = bytes.get(..len).ok_or(CSealStoreError::Unreadable)?;
        SealState::from_bytes(b)
            .map(Some)
            .ok_or(CSealStoreError::Unreadable)
    }

    fn store(&mut self, state: &SealState) -> Result<(), Self::Error> {
        let bytes = state.to_bytes();
        // SAFETY: as in `load`.
        let r = unsafe { (self.store)(self.ctx, bytes.as_ptr(), bytes.len()) };
        if r == 0 {
            Ok(())
        } else {
            Err(CSealStoreError::Callback(r))
        }
    }
}

/// Writes the provisioning payload giving a kiosk its identity and key: `device` and
/// `epoch` (neither 0; a new epoch for a wiped kiosk), `key_id` and `key`. Frame it with
/// `tcm_frame_encode()` and send it over the kiosk's cable while the kiosk is in
/// provisioning mode. `out` (at least `TCM_MAX_PROVISION_LEN` bytes) then holds the key
/// in clear: wipe it after sending. Buffer rules as for `tcm_record_encode()`.
///
/// # Safety
/// `key` came from `tcm_device_key_new()` / `_generate()`; `out` points to `cap` writable
/// bytes; `written` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_provision_encode(
    device: u32,
    epoch: u32,
    key_id: u32,
    key: *const tcm_device_key,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let k = unsafe { handle::borrow(key)? };
        buffer::non_null(written, "written")?;
        // SAFETY: caller contract of this function.
        let dst = unsafe { buffer::output(out, cap, "out")? };
        if device == 0 {
            return Err(fail(tcm_status::DeviceIdZero, "device"));
        }
        if epoch == 0 {
            return Err(fail(tcm_status::EpochZero, "epoch"));
        }
        let p = Provision {
            device: DeviceId(device),
            epoch: Epoch(epoch),
            key_id: KeyId(key_id),
            key: k.key.clone(),
        };
        let mut needed = 0;
        let result = p.encode(dst).map_err(|e| encode_error(e, &mut needed));
        if result.is_err() {
            dst.zeroize();
        }
        // SAFETY: checked non-NULL above; caller contract.
        unsafe { buffer::report_len(result, needed, written) }
    })
}

/// What a device's seal store holds (`tcm_seal_provision()`), without the key.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_seal_info {
    /// The device id.
    pub device: u32,
    /// The epoch.
    pub epoch: u32,
    /// The current key's id.
    pub key_id: u32,
}

/// Withdrawn: always returns `TCM_STATUS_SEAL_PROVISION_UNCONFIRMED` and stores
/// nothing. A device must confirm its provisioning to the terminal (its salt and a proof
/// that it holds the new link key): use `tcm_seal_accept_provision()`.
///
/// # Safety
/// None of the pointers is read.
#[no_mangle]
pub unsafe extern "C" fn tcm_seal_provision(
    seal_store: *const tcm_seal_store,
    payload: *const u8,
    len: usize,
    provisioning_mode: u8,
    info: *mut tcm_seal_info,
) -> tcm_status {
    let _ = (seal_store, payload, len, provisioning_mode, info);
    boundary(|| {
        Err(fail(
            tcm_status::SealProvisionUnconfirmed,
            "use tcm_seal_accept_provision()",
        ))
    })
}

/// Writes `fp` as `"1A2B-3C4D"` and its NUL to `out` (`TCM_KEY_FINGERPRINT_LEN` bytes);
/// nothing for NULL.
///
/// # Safety
/// `out` is NULL or points to `TCM_KEY_FINGERPRINT_LEN` writable bytes.
unsafe fn write_fingerprint(fp: KeyFingerprint, out: *mut std::ffi::c_char) {
    if out.is_null() {
        return;
    }
    let text = format!("{fp}");
    let mut b = [0u8; TCM_KEY_FINGERPRINT_LEN];
    b[..text.len()].copy_from_slice(text.as_bytes());
    // SAFETY: caller contract: `TCM_KEY_FINGERPRINT_LEN` writable bytes.
    unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), out.cast::<u8>(), b.len()) };
}

/// The provisioning error as a status (with detail).
fn provision_error<E: std::fmt::Debug>(e: ProvisionError<E>) -> tcm_status {
    match e {
        ProvisionError::NotInProvisioningMode => fail(tcm_status::SealNotInProvisioningMode, e),
        ProvisionError::Malformed => fail(tcm_status::SealProvisionMalformed, e),
        ProvisionError::InvalidLeaseBlock => fail(tcm_status::InvalidArgument, e),
        ProvisionError::Stale => fail(tcm_status::SealProvisionStale, e),
        ProvisionError::WeakSalt => fail(tcm_status::SealWeakSalt, e),
        ProvisionError::Store(_) => fail(tcm_status::SealStoreFailed, e),
    }
}

/// A device in provisioning mode takes the terminal's provisioning `payload` (a decoded
/// frame): checks it, mixes 16 bytes from the operating system's random number generator
/// into the key (so no two provisionings share a key, even when the same payload arrives
/// twice), stores the new credentials through `*seal_store`, writes what it stored
/// (without the key) to `*info` (may be NULL), the **confirmation** to send back to the
/// terminal (framed like any payload) to `confirmation` (`cap` at least
/// `TCM_MAX_PROVISION_CONFIRM_LEN`; `*written` its length) and the new key's fingerprint
/// (`"1A2B-3C4D"`, NUL-terminated) to `fingerprint` (`TCM_KEY_FINGERPRINT_LEN` bytes, may
/// be NULL), to log for staff to compare with the terminal's.
///
/// `provisioning_mode` (0 or 1) is the physical input (a button held at power-up); 0
/// gives `TCM_STATUS_SEAL_NOT_IN_PROVISIONING_MODE`. A payload that does not move the
/// device forward gives `TCM_STATUS_SEAL_PROVISION_STALE`. With `cap` too small,
/// `TCM_STATUS_BUFFER_TOO_SMALL` and `*written` = the size needed. On any error nothing is
/// stored. Counting starts at 1 under the new key.
///
/// # Safety
/// `seal_store` points to an initialised `tcm_seal_store` whose callbacks are valid;
/// `payload` to `len` readable bytes; `info` is NULL or writable; `confirmation` to `cap`
/// writable bytes; `written` to a writable `size_t`; `fingerprint` is NULL or points to
/// `TCM_KEY_FINGERPRINT_LEN` writable bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn tcm_seal_accept_provision(
    seal_store: *const tcm_seal_store,
    payload: *const u8,
    len: usize,
    provisioning_mode: u8,
    info: *mut tcm_seal_info,
    confirmation: *mut u8,
    cap: usize,
    written: *mut usize,
    fingerprint: *mut std::ffi::c_char,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let store = unsafe { CSealStore::from_c(seal_store)? };
        // SAFETY: caller contract of this function.
        let input = unsafe { buffer::input(payload, len, "payload")? };
        buffer::non_null(written, "written")?;
        // SAFETY: caller contract of this function.
        let dst = unsafe { buffer::output(confirmation, cap, "confirmation")? };
        if dst.len() < MAX_PROVISION_CONFIRM_LEN {
            // SAFETY: checked non-NULL above; caller contract.
            unsafe { written.write(MAX_PROVISION_CONFIRM_LEN) };
            return Err(fail(
                tcm_status::BufferTooSmall,
                format_args!("{MAX_PROVISION_CONFIRM_LEN} bytes needed"),
            ));
        }
        let mut salt = Zeroizing::new([0u8; PROVISION_SALT_LEN]);
        getrandom::fill(&mut salt[..]).map_err(|e| fail(tcm_status::SealRandomUnavailable, e))?;
        let (sealer, confirmed) = Sealer::provision(
            store,
            input,
            provisioning_mode != 0,
            tcmcare_core::seal::DEFAULT_LEASE_BLOCK,
            &salt,
        )
        .map_err(provision_error)?;
        let bytes = confirmed.as_bytes();
        dst[..bytes.len()].copy_from_slice(bytes);
        // SAFETY: checked non-NULL above; caller contract.
        unsafe { written.write(bytes.len()) };
        // SAFETY: caller contract of this function.
        unsafe { write_fingerprint(confirmed.fingerprint(), fingerprint) };
        if !info.is_null() {
            // SAFETY: non-NULL; caller contract.
            unsafe {
                info.write(tcm_seal_info {
                    device: sealer.device().0,
                    epoch: sealer.epoch().0,
                    key_id: sealer.key_id().0,
                })
            };
        }
        Ok(())
    })
}

/// The terminal checks a device's provisioning `confirmation` (a decoded frame) for the
/// provisioning it sent (`device`, `epoch`, `key_id`, `key`, as given to
/// `tcm_provision_encode()`): the device must prove it holds the link key made from
/// `key` and its own salt. On success `*link_key` receives a new key handle with the link
/// key (keep it in the key store for `device` / `key_id`, instead of `key`, and free the
/// handle) and `fingerprint` (`TCM_KEY_FINGERPRINT_LEN` bytes, may be NULL) its
/// fingerprint, to print for staff to compare with the device's log. Errors, nothing
/// handed out: `TCM_STATUS_SEAL_MALFORMED` (not a confirmation),
/// `TCM_STATUS_SEAL_UNKNOWN_DEVICE` / `_WRONG_EPOCH` / `_UNKNOWN_KEY` (for another
/// provisioning), `TCM_STATUS_SEAL_BAD_TAG` (no proof).
///
/// # Safety
/// `key` came from `tcm_device_key_new()` / `_generate()`; `confirmation` points to `len`
/// readable bytes; `link_key` to writable memory for a pointer; `fingerprint` is NULL or
/// points to `TCM_KEY_FINGERPRINT_LEN` writable bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn tcm_provision_confirm(
    device: u32,
    epoch: u32,
    key_id: u32,
    key: *const tcm_device_key,
    confirmation: *const u8,
    len: usize,
    link_key: *mut *mut tcm_device_key,
    fingerprint: *mut std::ffi::c_char,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let k = unsafe { handle::borrow(key)? };
        // SAFETY: caller contract of this function.
        let input = unsafe { buffer::input(confirmation, len, "confirmation")? };
        buffer::non_null(link_key, "link_key")?;
        let sent = Provision {
            device: DeviceId(device),
            epoch: Epoch(epoch),
            key_id: KeyId(key_id),
            key: k.key.clone(),
        };
        let confirmed = open_provision_confirmation(&sent, input)
            .map_err(|e| fail(open_status(e), format_args!("confirmation refused: {e}")))?;
        // SAFETY: caller contract of this function.
        unsafe { write_fingerprint(confirmed.fingerprint, fingerprint) };
        // SAFETY: caller contract of this function.
        unsafe {
            handle::hand_out(
                tcm_device_key {
                    key: confirmed.link_key,
                },
                link_key,
            )
        }
    })
}

/// Writes the fingerprint of `key` (`"1A2B-3C4D"`, NUL-terminated) to `out`
/// (`TCM_KEY_FINGERPRINT_LEN` bytes): the short, non-secret text staff compare between a
/// terminal and a device.
///
/// # Safety
/// `key` came from `tcm_device_key_new()` / `_generate()` / `tcm_provision_confirm()`;
/// `out` points to `TCM_KEY_FINGERPRINT_LEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn tcm_device_key_fingerprint(
    key: *const tcm_device_key,
    out: *mut std::ffi::c_char,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let k = unsafe { handle::borrow(key)? };
        buffer::non_null(out, "out")?;
        // SAFETY: checked non-NULL; caller contract.
        unsafe { write_fingerprint(KeyFingerprint::of(&k.key), out) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rejection_has_its_own_status() {
        let all = [
            OpenError::BadTag,
            OpenError::UnknownDevice,
            OpenError::UnknownKey,
            OpenError::Revoked,
            OpenError::Replayed { last: 2, got: 1 },
            OpenError::WrongEpoch {
                expected: 1,
                got: 2,
            },
            OpenError::Malformed,
            OpenError::UnsealedRefused,
            OpenError::Store(StoreError::Unavailable),
        ];
        let mut statuses: Vec<u32> = all.iter().map(|e| open_status(*e) as u32).collect();
        statuses.dedup();
        assert_eq!(statuses.len(), all.len());
        assert!(statuses.iter().all(|s| (800..900).contains(s)));
    }

    #[test]
    fn key_debug_output_hides_the_bytes() {
        let k = tcm_device_key {
            key: DeviceKey::from_bytes([0xAB; KEY_LEN]),
        };
        let text = format!("{:?}", k.key);
        assert!(!text.to_lowercase().contains("ab, 0xab") && !text.contains("171"));
    }
}
