//! The terminal side: its [`KeyStore`] of device keys, revocations and reply-counter
//! leases ([`MemoryKeyStore`] in memory).

use super::key::{DeviceKey, KeyId};
use crate::ids::DeviceId;
use crate::sync::StoreError;

/// Counters a terminal reserves per [`KeyStore::reserve_downlink`] call.
pub const DOWNLINK_LEASE_BLOCK: u32 = 64;

/// The last terminal -> kiosk counters of every key, kept for key rotations: ordinary replies stop
/// at [`DOWNLINK_REPLY_LIMIT`], so a terminal whose counters for a key are used up can still send
/// the [`Rekey`](super::Rekey) that moves the kiosk to a new key (each rotation message reserves
/// one counter of the reserve). A receiver (one per connection) that finds the ordinary counters
/// used up may lease one block of the reserve before it knows (its lease is then kept for
/// rotations), so the reserve holds 1,024 blocks (65,536 counters, 0.0015 % of the space): rotation
/// keeps working after at least 1,023 connections or restarts that met the exhausted key.
/// Provisioning the device again (which needs no counter) always works.
pub const DOWNLINK_REKEY_RESERVE: u32 = 1024 * DOWNLINK_LEASE_BLOCK;

/// The highest terminal -> kiosk counter an ordinary reply (welcome, ack, nack, time
/// sync) may use; the counters above it are the [`DOWNLINK_REKEY_RESERVE`].
pub const DOWNLINK_REPLY_LIMIT: u32 = u32::MAX - DOWNLINK_REKEY_RESERVE;

/// What a [`KeyStore`] knows of a `(device, key id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeyLookup {
    /// The key, usable.
    Active(DeviceKey),
    /// The device is revoked: refuse all its frames.
    Revoked,
    /// The device is known but has no such key (never, or retired).
    UnknownKey,
    /// The device is not known.
    UnknownDevice,
}

/// The terminal's keys: device -> key(s) by key id, revocation, and the terminal's own
/// counter lease per key for sealing replies. Implemented by the terminal's database (and
/// [`MemoryKeyStore`] in tests).
pub trait KeyStore {
    /// The key `key_id` of `device`, or why there is none.
    fn lookup(&mut self, device: DeviceId, key_id: KeyId) -> Result<KeyLookup, StoreError>;

    /// Reserves `count` further terminal -> kiosk counters of `(device, key_id)`
    /// durably (persisted before returning) and returns the first of them (counters start
    /// at 1). `None` when the key's 32-bit counter space cannot hold `count` more: the
    /// device needs a new key. Never returns a counter twice.
    fn reserve_downlink(
        &mut self,
        device: DeviceId,
        key_id: KeyId,
        count: u32,
    ) -> Result<Option<u32>, StoreError>;

    /// A frame sealed under `key_id` was accepted: the kiosk has that key, so a store may
    /// retire the device's older keys (completing a rotation). The default does nothing.
    fn key_used(&mut self, device: DeviceId, key_id: KeyId) -> Result<(), StoreError> {
        let _ = (device, key_id);
        Ok(())
    }
}

impl<T: KeyStore> KeyStore for &mut T {
    fn lookup(&mut self, device: DeviceId, key_id: KeyId) -> Result<KeyLookup, StoreError> {
        (**self).lookup(device, key_id)
    }

    fn reserve_downlink(
        &mut self,
        device: DeviceId,
        key_id: KeyId,
        count: u32,
    ) -> Result<Option<u32>, StoreError> {
        (**self).reserve_downlink(device, key_id, count)
    }

    fn key_used(&mut self, device: DeviceId, key_id: KeyId) -> Result<(), StoreError> {
        (**self).key_used(device, key_id)
    }
}

#[cfg(feature = "alloc")]
pub use memory::MemoryKeyStore;

#[cfg(feature = "alloc")]
mod memory {
    use alloc::collections::BTreeMap;
    use alloc::vec::Vec;

    use super::{KeyLookup, KeyStore};
    use crate::ids::DeviceId;
    use crate::seal::key::{DeviceKey, KeyId};
    use crate::sync::StoreError;

    #[derive(Debug, Clone)]
    struct Entry {
        id: KeyId,
        key: DeviceKey,
        downlink_reserved: u32,
    }

    #[derive(Debug, Clone, Default)]
    struct Device {
        revoked: bool,
        keys: Vec<Entry>,
    }

    /// An in-memory [`KeyStore`] (feature `alloc`), for tests and simulations. Keeps
    /// every key of a device until a frame under a newer key is accepted.
    #[derive(Debug, Clone, Default)]
    pub struct MemoryKeyStore {
        devices: BTreeMap<DeviceId, Device>,
        unavailable: bool,
    }

    impl MemoryKeyStore {
        /// An empty store.
        pub fn new() -> Self {
            Self::default()
        }

        /// Adds (or replaces) key `key_id` of `device`. Replacing a key resets nothing:
        /// its downlink counters continue.
        pub fn insert(&mut self, device: DeviceId, key_id: KeyId, key: DeviceKey) {
            let d = self.devices.entry(device).or_default();
            match d.keys.iter_mut().find(|e| e.id == key_id) {
                Some(e) => e.key = key,
                None => d.keys.push(Entry {
                    id: key_id,
                    key,
                    downlink_reserved: 0,
                }),
            }
        }

        /// Revokes `device`: all its frames are refused from now on.
        pub fn revoke(&mut self, device: DeviceId) {
            self.devices.entry(device).or_default().revoked = true;
        }

        /// Whether `device` is revoked.
        pub fn is_revoked(&self, device: DeviceId) -> bool {
            self.devices.get(&device).is_some_and(|d| d.revoked)
        }

        /// The key ids `device` has, oldest first.
        pub fn key_ids(&self, device: DeviceId) -> Vec<KeyId> {
            self.devices
                .get(&device)
                .map(|d| d.keys.iter().map(|e| e.id).collect())
                .unwrap_or_default()
        }

        /// The last terminal -> kiosk counter reserved for key `key_id` of `device`
        /// (0: none), `None` for a key the store does not hold.
        pub fn downlink_reserved(&self, device: DeviceId, key_id: KeyId) -> Option<u32> {
            self.devices
                .get(&device)?
                .keys
                .iter()
                .find(|e| e.id == key_id)
                .map(|e| e.downlink_reserved)
        }

        /// Sets the last reserved terminal -> kiosk counter of a key the store holds (to
        /// test a key whose counters are nearly used up); returns whether it holds it.
        pub fn set_downlink_reserved(
            &mut self,
            device: DeviceId,
            key_id: KeyId,
            reserved: u32,
        ) -> bool {
            let entry = self
                .devices
                .get_mut(&device)
                .and_then(|d| d.keys.iter_mut().find(|e| e.id == key_id));
            match entry {
                Some(e) => {
                    e.downlink_reserved = reserved;
                    true
                }
                None => false,
            }
        }

        /// Makes every call fail with [`StoreError::Unavailable`] (to test outages).
        pub fn set_unavailable(&mut self, unavailable: bool) {
            self.unavailable = unavailable;
        }

        fn check(&self) -> Result<(), StoreError> {
            if self.unavailable {
                Err(StoreError::Unavailable)
            } else {
                Ok(())
            }
        }
    }

    impl KeyStore for MemoryKeyStore {
        fn lookup(&mut self, device: DeviceId, key_id: KeyId) -> Result<KeyLookup, StoreError> {
            self.check()?;
            let Some(d) = self.devices.get(&device) else {
                return Ok(KeyLookup::UnknownDevice);
            };
            if d.revoked {
                return Ok(KeyLookup::Revoked);
            }
            Ok(d.keys
                .iter()
                .find(|e| e.id == key_id)
                .map_or(KeyLookup::UnknownKey, |e| KeyLookup::Active(e.key.clone())))
        }

        fn reserve_downlink(
            &mut self,
            device: DeviceId,
            key_id: KeyId,
            count: u32,
        ) -> Result<Option<u32>, StoreError> {
            self.check()?;
            let entry = self
                .devices
                .get_mut(&device)
                .and_then(|d| d.keys.iter_mut().find(|e| e.id == key_id));
            let Some(e) = entry else {
                return Ok(None);
            };
            let Some(end) = e.downlink_reserved.checked_add(count) else {
                return Ok(None);
            };
            let first = e.downlink_reserved + 1;
            e.downlink_reserved = end;
            Ok(Some(first))
        }

        fn key_used(&mut self, device: DeviceId, key_id: KeyId) -> Result<(), StoreError> {
            self.check()?;
            if let Some(d) = self.devices.get_mut(&device) {
                d.keys.retain(|e| e.id >= key_id);
            }
            Ok(())
        }
    }
}
