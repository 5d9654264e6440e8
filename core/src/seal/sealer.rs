//! The kiosk side: its persisted [`SealState`], where it keeps it ([`SealStore`]), and the
//! [`Sealer`] that seals uplink frames under a counter lease and opens the terminal's.

use core::convert::Infallible;
use core::fmt;

use zeroize::{Zeroize, Zeroizing};

use super::frame::{
    is_sealed, open_in_place, seal_in_place, Direction, OpenError, SealError, SealHeader,
    MAX_SEAL_OVERHEAD,
};
use super::key::{DeviceKey, KeyId, KEY_LEN};
use super::provision::{
    link_key, Provision, ProvisionConfirmation, ProvisionError, Rekey, PROVISION_SALT_LEN,
    REKEY_MARKER,
};
use crate::ids::{DeviceId, Epoch};

/// Counters a kiosk reserves per lease write by default: one persisted write per 64
/// frames sent (a few writes a day for a busy kiosk), at most 63 counters skipped per
/// reset.
pub const DEFAULT_LEASE_BLOCK: u32 = 64;

/// Length of [`SealState::to_bytes`].
pub const SEAL_STATE_LEN: usize = 1 + 4 * 5 + KEY_LEN;

/// Layout version of [`SealState::to_bytes`].
pub const SEAL_STATE_VERSION: u8 = 1;

/// What a kiosk persists for sealing: its credentials, the end of its counter lease and
/// the last terminal counter it accepted (written with each lease).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SealState {
    /// The kiosk's device id.
    pub device: DeviceId,
    /// Its epoch.
    pub epoch: Epoch,
    /// The current key's id.
    pub key_id: KeyId,
    /// The current key.
    pub key: DeviceKey,
    /// Every kiosk counter of the current key up to this one may have been used (0:
    /// none).
    pub uplink_reserved: u32,
    /// Terminal counters up to this one (under the current key) were accepted.
    pub downlink_seen: u32,
}

impl SealState {
    /// A fixed layout for storage backends: version byte, device, epoch, key id, uplink
    /// reserved, downlink seen as u32 little-endian, then the key. The bytes are zeroized
    /// when the returned value is dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SEAL_STATE_LEN]> {
        let mut b = Zeroizing::new([0u8; SEAL_STATE_LEN]);
        b[0] = SEAL_STATE_VERSION;
        let fields = [
            self.device.0,
            self.epoch.0,
            self.key_id.0,
            self.uplink_reserved,
            self.downlink_seen,
        ];
        for (chunk, v) in b[1..21].chunks_exact_mut(4).zip(fields) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        b[21..].copy_from_slice(self.key.as_bytes());
        b
    }

    /// Reads [`SealState::to_bytes`]; `None` for another version or length, or device /
    /// epoch 0.
    pub fn from_bytes(bytes: &[u8]) -> Option<SealState> {
        if bytes.len() != SEAL_STATE_LEN || bytes.first() != Some(&SEAL_STATE_VERSION) {
            return None;
        }
        let mut v = [0u32; 5];
        for (dst, chunk) in v.iter_mut().zip(bytes.get(1..21)?.chunks_exact(4)) {
            *dst = u32::from_le_bytes(chunk.try_into().ok()?);
        }
        let key = DeviceKey::from_slice(bytes.get(21..)?)?;
        if v[0] == 0 || v[1] == 0 {
            return None;
        }
        Some(SealState {
            device: DeviceId(v[0]),
            epoch: Epoch(v[1]),
            key_id: KeyId(v[2]),
            key,
            uplink_reserved: v[3],
            downlink_seen: v[4],
        })
    }
}

/// Where a kiosk persists its [`SealState`] (a flash map entry, EEPROM, a retained RAM
/// section). `store` must be durable before it returns `Ok` and atomic (after a power cut
/// either the old or the new state loads); the newest write wins.
pub trait SealStore {
    /// The backend's error.
    type Error: fmt::Debug;

    /// The persisted state, `None` when the kiosk was never provisioned (or was wiped).
    fn load(&mut self) -> Result<Option<SealState>, Self::Error>;

    /// Persists `state`.
    fn store(&mut self, state: &SealState) -> Result<(), Self::Error>;
}

impl<T: SealStore> SealStore for &mut T {
    type Error = T::Error;

    fn load(&mut self) -> Result<Option<SealState>, Self::Error> {
        (**self).load()
    }

    fn store(&mut self, state: &SealState) -> Result<(), Self::Error> {
        (**self).store(state)
    }
}

/// A [`SealStore`] in RAM: for tests, and for state kept in a retained RAM section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RamSealStore {
    state: Option<SealState>,
    writes: u32,
}

impl RamSealStore {
    /// An empty (unprovisioned) store.
    pub const fn new() -> Self {
        RamSealStore {
            state: None,
            writes: 0,
        }
    }

    /// Number of `store` calls so far (to count lease writes).
    pub fn writes(&self) -> u32 {
        self.writes
    }

    /// Forgets everything (a wipe).
    pub fn wipe(&mut self) {
        self.state = None;
    }

    /// The stored state.
    pub fn state(&self) -> Option<&SealState> {
        self.state.as_ref()
    }
}

impl SealStore for RamSealStore {
    type Error = Infallible;

    fn load(&mut self) -> Result<Option<SealState>, Infallible> {
        Ok(self.state.clone())
    }

    fn store(&mut self, state: &SealState) -> Result<(), Infallible> {
        self.state = Some(state.clone());
        self.writes = self.writes.wrapping_add(1);
        Ok(())
    }
}

/// Why a [`Sealer`] could not be resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SealerError<E> {
    /// The store holds no state: provision the kiosk first.
    NotProvisioned,
    /// The lease block is 0.
    InvalidLeaseBlock,
    /// The store failed.
    Store(E),
}

impl<E: fmt::Debug> fmt::Display for SealerError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealerError::NotProvisioned => f.write_str("kiosk not provisioned: no key"),
            SealerError::InvalidLeaseBlock => f.write_str("counter lease block must be 1 or more"),
            SealerError::Store(e) => write!(f, "seal store failed: {e:?}"),
        }
    }
}

#[cfg(feature = "std")]
impl<E: fmt::Debug> std::error::Error for SealerError<E> {}

/// A terminal -> kiosk payload that [`Sealer::open`] authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Opened<'b> {
    /// A sync message payload (give it to the sync sender).
    Message {
        /// The message bytes.
        plain: &'b [u8],
        /// The counter of the kiosk frame it answers (0: not a reply).
        reply_to: u32,
    },
    /// A key rotation; apply it with [`Sealer::apply_rekey`].
    Rekey(Rekey),
}

/// The kiosk's sealing state: credentials, counter lease, replay mark. No allocation.
///
/// ```
/// use tcmcare_core::ids::{DeviceId, Epoch};
/// use tcmcare_core::seal::{DeviceKey, KeyId, Provision, RamSealStore, Sealer, DEFAULT_LEASE_BLOCK};
/// // The terminal's provisioning payload, received while the button was held.
/// let p = Provision { device: DeviceId(7), epoch: Epoch(1), key_id: KeyId(1),
///                     key: DeviceKey::from_bytes([0x42; 32]) };
/// let mut bytes = [0u8; 64];
/// let n = p.encode(&mut bytes).unwrap();
/// // 16 bytes from the MCU's random number generator.
/// let salt = [0x5a, 0x13, 0xc7, 0x02, 0x9e, 0x41, 0xd8, 0x66, 0x0b, 0xf4, 0x27, 0x8a, 0x31, 0xe5, 0x7c, 0x90];
/// let (mut sealer, confirmation) =
///     Sealer::provision(RamSealStore::new(), &bytes[..n], true, DEFAULT_LEASE_BLOCK, &salt).unwrap();
/// // The terminal checks the kiosk's proof and keeps the link key.
/// let confirmed = tcmcare_core::seal::open_provision_confirmation(&p, confirmation.as_bytes()).unwrap();
/// assert_eq!(confirmed.fingerprint, confirmation.fingerprint());
/// let mut buf = [0u8; 64];
/// buf[..5].copy_from_slice(b"hello");
/// let sealed = sealer.seal(&mut buf, 5).unwrap();
/// assert_eq!(sealed, 5 + 5 + 16); // header (marker, key 1, device 7, epoch 1, counter 1) + tag
/// ```
#[derive(Debug)]
pub struct Sealer<K: SealStore> {
    store: K,
    state: SealState,
    /// Next kiosk counter (may be `u32::MAX + 1`: exhausted).
    next: u64,
    /// Last terminal counter accepted under the current key (RAM; persisted with leases).
    down_seen: u32,
    lease_block: u32,
}

impl<K: SealStore> Sealer<K> {
    /// Resumes from the persisted state; counters continue after the persisted lease end.
    /// `lease_block` counters are reserved per persisted write
    /// ([`DEFAULT_LEASE_BLOCK`]).
    pub fn resume(mut store: K, lease_block: u32) -> Result<Self, SealerError<K::Error>> {
        if lease_block == 0 {
            return Err(SealerError::InvalidLeaseBlock);
        }
        let state = store
            .load()
            .map_err(SealerError::Store)?
            .ok_or(SealerError::NotProvisioned)?;
        Ok(Self::from_state(store, state, lease_block))
    }

    fn from_state(store: K, state: SealState, lease_block: u32) -> Self {
        Sealer {
            next: state.uplink_reserved as u64 + 1,
            down_seen: state.downlink_seen,
            store,
            state,
            lease_block,
        }
    }

    /// Accepts a [`Provision`] payload, only when `provisioning_mode` is true (the
    /// firmware's physical input): derives the link key from the payload's key and the
    /// kiosk's fresh random `salt` ([`link_key`]; draw it from the MCU's true random
    /// number generator, or the OS's on a host), persists the new credentials and
    /// returns the sealer with the [`ProvisionConfirmation`] to send back (the proof that
    /// the kiosk holds the new link key; it uses no frame counter). Counting starts at 1
    /// under the new link key.
    ///
    /// Refused: outside provisioning mode, a malformed payload, a salt whose bytes are
    /// all equal ([`ProvisionError::WeakSalt`]), and a payload that does not move the
    /// kiosk forward ([`ProvisionError::Stale`]: its current device with an older epoch,
    /// or its current epoch with a key id not greater than the current one). Nothing is
    /// stored then.
    pub fn provision(
        mut store: K,
        payload: &[u8],
        provisioning_mode: bool,
        lease_block: u32,
        salt: &[u8; PROVISION_SALT_LEN],
    ) -> Result<(Self, ProvisionConfirmation), ProvisionError<K::Error>> {
        if !provisioning_mode {
            return Err(ProvisionError::NotInProvisioningMode);
        }
        if lease_block == 0 {
            return Err(ProvisionError::InvalidLeaseBlock);
        }
        let p = Provision::decode(payload).map_err(|_| ProvisionError::Malformed)?;
        if salt.iter().all(|b| *b == salt[0]) {
            return Err(ProvisionError::WeakSalt);
        }
        if let Some(s) = store.load().map_err(ProvisionError::Store)? {
            let older_epoch = s.device == p.device && p.epoch < s.epoch;
            let same_epoch_not_newer =
                s.device == p.device && p.epoch == s.epoch && p.key_id <= s.key_id;
            if older_epoch || same_epoch_not_newer {
                return Err(ProvisionError::Stale);
            }
        }
        let state = SealState {
            device: p.device,
            epoch: p.epoch,
            key_id: p.key_id,
            key: link_key(&p.key, salt),
            uplink_reserved: 0,
            downlink_seen: 0,
        };
        store.store(&state).map_err(ProvisionError::Store)?;
        let confirmation =
            ProvisionConfirmation::new(&state.key, salt, p.device, p.epoch, p.key_id);
        Ok((Self::from_state(store, state, lease_block), confirmation))
    }

    /// The kiosk's device id.
    pub fn device(&self) -> DeviceId {
        self.state.device
    }

    /// The kiosk's epoch.
    pub fn epoch(&self) -> Epoch {
        self.state.epoch
    }

    /// The current key's id.
    pub fn key_id(&self) -> KeyId {
        self.state.key_id
    }

    /// The next counter to be used (`u32::MAX + 1` when exhausted).
    pub fn next_counter(&self) -> u64 {
        self.next
    }

    /// Counters left in this epoch.
    pub fn counters_left(&self) -> u64 {
        (u32::MAX as u64 + 1).saturating_sub(self.next)
    }

    /// The store.
    pub fn store(&self) -> &K {
        &self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> K {
        self.store
    }

    /// Persists `state` with the current RAM marks folded in; on failure the previous
    /// state stays in force.
    fn persist(&mut self, uplink_reserved: u32) -> Result<(), K::Error> {
        let old = (self.state.uplink_reserved, self.state.downlink_seen);
        self.state.uplink_reserved = uplink_reserved;
        self.state.downlink_seen = self.down_seen;
        if let Err(e) = self.store.store(&self.state) {
            (self.state.uplink_reserved, self.state.downlink_seen) = old;
            return Err(e);
        }
        Ok(())
    }

    /// Takes the next counter, persisting a new lease first when the current one is used
    /// up.
    fn take_counter(&mut self) -> Result<u32, SealError<K::Error>> {
        let counter = u32::try_from(self.next).map_err(|_| SealError::CounterExhausted)?;
        if counter > self.state.uplink_reserved {
            let end = (self.state.uplink_reserved as u64 + self.lease_block as u64)
                .min(u32::MAX as u64) as u32;
            self.persist(end).map_err(SealError::Store)?;
        }
        self.next += 1;
        Ok(counter)
    }

    /// Seals the kiosk -> terminal payload at `buf[..plaintext_len]` in place and returns
    /// the sealed length (`buf` needs [`MAX_SEAL_OVERHEAD`] bytes more than the
    /// plaintext).
    pub fn seal(
        &mut self,
        buf: &mut [u8],
        plaintext_len: usize,
    ) -> Result<usize, SealError<K::Error>> {
        let needed = plaintext_len.saturating_add(MAX_SEAL_OVERHEAD);
        if buf.len() < needed {
            return Err(SealError::BufferTooSmall { needed });
        }
        let counter = self.take_counter()?;
        let header = SealHeader {
            key_id: self.state.key_id,
            device: self.state.device,
            epoch: self.state.epoch,
            counter,
            reply_to: 0,
        };
        seal_in_place(
            &self.state.key,
            Direction::Uplink,
            &header,
            buf,
            plaintext_len,
        )
        .map_err(SealError::widen)
    }

    /// Authenticates a terminal -> kiosk payload in place: it must be sealed for this
    /// device and epoch under the current key, with a counter greater than the last one
    /// accepted. On success the mark advances and the plaintext (a message or a key
    /// rotation) is returned; on an error nothing changes.
    pub fn open<'b>(&mut self, buf: &'b mut [u8]) -> Result<Opened<'b>, OpenError> {
        if !is_sealed(buf) {
            return Err(OpenError::UnsealedRefused);
        }
        let (h, _) = SealHeader::decode(buf)?;
        if h.device != self.state.device {
            return Err(OpenError::UnknownDevice);
        }
        if h.epoch != self.state.epoch {
            return Err(OpenError::WrongEpoch {
                expected: self.state.epoch.0,
                got: h.epoch.0,
            });
        }
        if h.key_id != self.state.key_id {
            return Err(OpenError::UnknownKey);
        }
        let (h, plain) = open_in_place(&self.state.key, Direction::Downlink, buf)?;
        if h.counter <= self.down_seen {
            // Authentic but old: put the ciphertext back? Not needed, the caller drops it;
            // wipe the plaintext so no decrypted bytes linger.
            plain.zeroize();
            return Err(OpenError::Replayed {
                last: self.down_seen,
                got: h.counter,
            });
        }
        let opened = if plain.first() == Some(&REKEY_MARKER) {
            let r = Rekey::decode(plain);
            plain.zeroize();
            match r {
                Ok(r) if r.key_id > self.state.key_id => Opened::Rekey(r),
                _ => return Err(OpenError::Malformed),
            }
        } else {
            Opened::Message {
                plain,
                reply_to: h.reply_to,
            }
        };
        self.down_seen = h.counter;
        Ok(opened)
    }

    /// Moves to the rotated key (persisted before it is used). Counting starts again at
    /// 1 under the new key, both ways. A key id not greater than the current one is
    /// ignored.
    pub fn apply_rekey(&mut self, rekey: Rekey) -> Result<(), SealError<K::Error>> {
        if rekey.key_id <= self.state.key_id {
            return Ok(());
        }
        let mut next = self.state.clone();
        next.key_id = rekey.key_id;
        next.key = rekey.key.clone();
        next.uplink_reserved = 0;
        next.downlink_seen = 0;
        self.store.store(&next).map_err(SealError::Store)?;
        self.state = next;
        self.next = 1;
        self.down_seen = 0;
        Ok(())
    }
}
