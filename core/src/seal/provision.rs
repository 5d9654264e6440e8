//! Keys the terminal gives a kiosk: [`Provision`] (answered by the kiosk's
//! [`ProvisionConfirmation`], under the [`link_key`] both sides derive, with its
//! [`KeyFingerprint`]) and the rotation message [`Rekey`].

use core::convert::Infallible;
use core::fmt;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::Nonce;
use zeroize::Zeroize;

use super::frame::{OpenError, MAX_SEAL_OVERHEAD, NONCE_LEN, TAG_LEN};
use super::key::{DeviceKey, KeyId, KEY_LEN};
use crate::ids::{DeviceId, Epoch};
use crate::wire::codec::{EncodeError, Reader, Writer};

/// First byte of a [`Provision`] payload (sent unsealed, provisioning mode only).
pub const PROVISION_MARKER: u8 = 0xA2;

/// First byte of a [`Rekey`] plaintext inside a sealed terminal -> kiosk payload.
pub const REKEY_MARKER: u8 = 0xA3;

/// Longest encoded [`Provision`]: marker, three 32-bit varints, the key.
pub const MAX_PROVISION_LEN: usize = 1 + 3 * 5 + KEY_LEN;

/// First byte of a kiosk's [`ProvisionConfirmation`] (authenticated under the new link
/// key).
pub const PROVISION_CONFIRM_MARKER: u8 = 0xA5;

/// Bytes of randomness a kiosk contributes to its link key at provisioning
/// ([`link_key`]).
pub const PROVISION_SALT_LEN: usize = 16;

/// Longest [`ProvisionConfirmation`]: marker, salt, three 32-bit varints and the tag.
pub const MAX_PROVISION_CONFIRM_LEN: usize = 1 + PROVISION_SALT_LEN + 3 * 5 + TAG_LEN;

/// Longest encoded [`Rekey`] plaintext: marker, key id varint, the key.
pub const MAX_REKEY_LEN: usize = 1 + 5 + KEY_LEN;

/// Longest sealed [`Rekey`] payload.
pub const MAX_SEALED_REKEY_LEN: usize = MAX_REKEY_LEN + MAX_SEAL_OVERHEAD;

/// Why a provisioning payload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProvisionError<E> {
    /// The kiosk is not in provisioning mode (the physical action was not taken).
    NotInProvisioningMode,
    /// Not a well-formed provisioning payload (or device / epoch 0).
    Malformed,
    /// The lease block is 0.
    InvalidLeaseBlock,
    /// The payload does not move the kiosk forward: it names the kiosk's current device
    /// with an older epoch, or its current epoch with a key id not greater than the
    /// current one. (A replayed or out-of-date payload; the terminal gives a new epoch or
    /// a greater key id with every provisioning.)
    Stale,
    /// The kiosk's salt is not random (all its bytes are equal): the entropy source
    /// failed.
    WeakSalt,
    /// The seal store failed; the kiosk keeps its previous credentials.
    Store(E),
}

impl<E: fmt::Debug> fmt::Display for ProvisionError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProvisionError::Stale => f.write_str(
                "provisioning refused: older epoch, or a key id not greater than the current one",
            ),
            ProvisionError::WeakSalt => {
                f.write_str("provisioning refused: the salt is not random (entropy source failed)")
            }
            ProvisionError::NotInProvisioningMode => {
                f.write_str("provisioning refused: the kiosk is not in provisioning mode")
            }
            ProvisionError::Malformed => f.write_str("malformed provisioning payload"),
            ProvisionError::InvalidLeaseBlock => {
                f.write_str("counter lease block must be 1 or more")
            }
            ProvisionError::Store(e) => write!(f, "seal store failed: {e:?}"),
        }
    }
}

#[cfg(feature = "std")]
impl<E: fmt::Debug> std::error::Error for ProvisionError<E> {}

/// Terminal -> kiosk, unsealed, provisioning mode only: the kiosk's identity and key.
/// `PROVISION_MARKER | device varint | epoch varint | key_id varint | key (32 bytes)`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Provision {
    /// The kiosk's device id (not 0).
    pub device: DeviceId,
    /// The epoch the kiosk starts (not 0; never used before by this device unless it is
    /// the kiosk's current epoch, whose counters then continue).
    pub epoch: Epoch,
    /// The key's id.
    pub key_id: KeyId,
    /// The key.
    pub key: DeviceKey,
}

impl Provision {
    /// Writes the payload into `out` (at least [`MAX_PROVISION_LEN`] bytes suffice).
    /// `out` then holds the key in clear: zeroize it after sending.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::new(out);
        w.u8(PROVISION_MARKER);
        w.varint(self.device.0 as u64);
        w.varint(self.epoch.0 as u64);
        w.varint(self.key_id.0 as u64);
        w.raw(self.key.as_bytes());
        w.finish()
    }

    /// Reads a payload that must span all of `payload`.
    pub fn decode(payload: &[u8]) -> Result<Provision, ProvisionError<Infallible>> {
        let mut r = Reader::new(payload);
        let bad = |_| ProvisionError::Malformed;
        if r.u8("provision.marker").map_err(bad)? != PROVISION_MARKER {
            return Err(ProvisionError::Malformed);
        }
        let device = DeviceId(r.varint_u32("provision.device").map_err(bad)?);
        let epoch = Epoch(r.varint_u32("provision.epoch").map_err(bad)?);
        let key_id = KeyId(r.varint_u32("provision.key_id").map_err(bad)?);
        let key = DeviceKey::from_slice(r.raw(KEY_LEN, "provision.key").map_err(bad)?)
            .ok_or(ProvisionError::Malformed)?;
        r.finish("provision").map_err(bad)?;
        if device.0 == 0 || epoch.0 == 0 {
            return Err(ProvisionError::Malformed);
        }
        Ok(Provision {
            device,
            epoch,
            key_id,
            key,
        })
    }
}

/// Terminal -> kiosk, sealed under the current key: move to a new key. The plaintext is
/// `REKEY_MARKER | key_id varint | key (32 bytes)`; the key id must be greater than the
/// current one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rekey {
    /// The new key's id.
    pub key_id: KeyId,
    /// The new key.
    pub key: DeviceKey,
}

impl Rekey {
    /// Writes the plaintext into `out` ([`MAX_REKEY_LEN`] bytes suffice).
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::new(out);
        w.u8(REKEY_MARKER);
        w.varint(self.key_id.0 as u64);
        w.raw(self.key.as_bytes());
        w.finish()
    }

    /// Reads a plaintext that must span all of `plaintext`.
    pub fn decode(plaintext: &[u8]) -> Result<Rekey, OpenError> {
        let mut r = Reader::new(plaintext);
        let bad = |_| OpenError::Malformed;
        if r.u8("rekey.marker").map_err(bad)? != REKEY_MARKER {
            return Err(OpenError::Malformed);
        }
        let key_id = KeyId(r.varint_u32("rekey.key_id").map_err(bad)?);
        let key = DeviceKey::from_slice(r.raw(KEY_LEN, "rekey.key").map_err(bad)?)
            .ok_or(OpenError::Malformed)?;
        r.finish("rekey").map_err(bad)?;
        Ok(Rekey { key_id, key })
    }
}

/// The key a kiosk and its terminal seal with after provisioning: HChaCha20 of the
/// provisioned key and the kiosk's random `salt` (the subkey derivation of XChaCha20).
/// Because the kiosk draws a new salt at every provisioning, no two provisionings share a
/// link key, even when the same payload reaches the kiosk twice (a wiped kiosk given an
/// old payload, a replay): counters restart at 1 under a key never used before, so no
/// `(key, nonce)` pair repeats.
pub fn link_key(provisioned: &DeviceKey, salt: &[u8; PROVISION_SALT_LEN]) -> DeviceKey {
    let k = chacha20::Key::from(*provisioned.as_bytes());
    let mut out: [u8; KEY_LEN] = chacha20::hchacha::<chacha20::R20>(&k, &(*salt).into()).into();
    let key = DeviceKey::from_bytes(out);
    out.zeroize();
    key
}

/// The HChaCha20 input that makes a [`KeyFingerprint`] (a domain of its own: no sealing
/// nonce or salt is derived with it).
const FINGERPRINT_INPUT: [u8; 16] = *b"tcmcare key fp 1";

/// A short, non-secret fingerprint of a link key that the terminal prints and the kiosk
/// logs after provisioning, so staff can compare the two: `1A2B-3C4D`. The first 4 bytes
/// of HChaCha20(key, "tcmcare key fp 1"); it reveals nothing usable about the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyFingerprint(pub [u8; 4]);

impl KeyFingerprint {
    /// The fingerprint of `key`.
    pub fn of(key: &DeviceKey) -> Self {
        let k = chacha20::Key::from(*key.as_bytes());
        let mut out: [u8; KEY_LEN] =
            chacha20::hchacha::<chacha20::R20>(&k, &FINGERPRINT_INPUT.into()).into();
        let fp = KeyFingerprint([out[0], out[1], out[2], out[3]]);
        out.zeroize();
        fp
    }
}

impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a:02X}{b:02X}-{c:02X}{d:02X}")
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for KeyFingerprint {
    fn format(&self, f: defmt::Formatter<'_>) {
        let [a, b, c, d] = self.0;
        defmt::write!(f, "{=u8:02X}{=u8:02X}-{=u8:02X}{=u8:02X}", a, b, c, d)
    }
}

/// The nonce byte of a [`ProvisionConfirmation`]'s tag: a domain no frame uses (frames
/// use 0 and 1, [`Direction`]). Each link key makes one confirmation, so its nonce
/// `(2, 0, 0, 0, 0...)` is used once per key.
const CONFIRM_NONCE_DOMAIN: u8 = 2;

/// Kiosk -> terminal, after a [`Provision`] was accepted: the kiosk's salt and proof that
/// it holds the new link key:
/// `PROVISION_CONFIRM_MARKER | salt (16 bytes) | device varint | epoch varint |
/// key_id varint | tag (16 bytes)`, where the tag is ChaCha20-Poly1305 under
/// [`link_key`] over everything before it (as additional data, empty plaintext) with a
/// nonce of its own domain, so the kiosk's frame counters are not touched. The terminal
/// checks it with [`open_provision_confirmation`] and keeps the link key only then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionConfirmation {
    bytes: [u8; MAX_PROVISION_CONFIRM_LEN],
    len: usize,
    fingerprint: KeyFingerprint,
}

impl ProvisionConfirmation {
    /// Makes the confirmation of the provisioning `(device, epoch, key_id)` whose link key
    /// `link` was derived with `salt`.
    pub(super) fn new(
        link: &DeviceKey,
        salt: &[u8; PROVISION_SALT_LEN],
        device: DeviceId,
        epoch: Epoch,
        key_id: KeyId,
    ) -> Self {
        let mut bytes = [0u8; MAX_PROVISION_CONFIRM_LEN];
        let mut w = Writer::new(&mut bytes);
        w.u8(PROVISION_CONFIRM_MARKER);
        w.raw(salt);
        w.varint(device.0 as u64);
        w.varint(epoch.0 as u64);
        w.varint(key_id.0 as u64);
        // The buffer holds the longest confirmation.
        let n = w.finish().unwrap_or(0);
        let tag = confirmation_tag(link, epoch, &bytes[..n]);
        bytes[n..n + TAG_LEN].copy_from_slice(&tag);
        ProvisionConfirmation {
            bytes,
            len: n + TAG_LEN,
            fingerprint: KeyFingerprint::of(link),
        }
    }

    /// The bytes to send (frame them as any payload).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The fingerprint of the new link key, for the kiosk's log.
    pub fn fingerprint(&self) -> KeyFingerprint {
        self.fingerprint
    }
}

/// The confirmation tag over `data` (everything before the tag).
fn confirmation_tag(link: &DeviceKey, epoch: Epoch, data: &[u8]) -> [u8; TAG_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[0] = CONFIRM_NONCE_DOMAIN;
    n[4..8].copy_from_slice(&epoch.0.to_le_bytes());
    let mut empty = [0u8; 0];
    link.cipher()
        .encrypt_inout_detached(&Nonce::from(n), data, (&mut empty[..]).into())
        // An empty plaintext never exceeds the cipher's limit.
        .map(|t| t.into())
        .unwrap_or([0u8; TAG_LEN])
}

/// What the terminal learns from a kiosk's [`ProvisionConfirmation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedProvision {
    /// The link key to keep in the key store for the provisioned device and key id.
    pub link_key: DeviceKey,
    /// Its fingerprint, to print for staff to compare with the kiosk's log.
    pub fingerprint: KeyFingerprint,
}

/// The terminal's check of a kiosk's [`ProvisionConfirmation`] for the provisioning
/// `sent`: the kiosk must prove it holds the link key derived from `sent.key` and the
/// salt it chose, for the device, epoch and key id of `sent`. Errors: not a confirmation
/// ([`OpenError::Malformed`]), another device / epoch / key id
/// ([`OpenError::UnknownDevice`] / [`OpenError::WrongEpoch`] / [`OpenError::UnknownKey`]),
/// a failed proof ([`OpenError::BadTag`]).
pub fn open_provision_confirmation(
    sent: &Provision,
    confirmation: &[u8],
) -> Result<ConfirmedProvision, OpenError> {
    let body_len = confirmation
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(OpenError::Malformed)?;
    let (data, tag) = confirmation.split_at(body_len);
    let mut r = Reader::new(data);
    let bad = |_| OpenError::Malformed;
    if r.u8("confirm.marker").map_err(bad)? != PROVISION_CONFIRM_MARKER {
        return Err(OpenError::Malformed);
    }
    let salt: [u8; PROVISION_SALT_LEN] = r
        .raw(PROVISION_SALT_LEN, "confirm.salt")
        .map_err(bad)?
        .try_into()
        .map_err(|_| OpenError::Malformed)?;
    let device = DeviceId(r.varint_u32("confirm.device").map_err(bad)?);
    let epoch = Epoch(r.varint_u32("confirm.epoch").map_err(bad)?);
    let key_id = KeyId(r.varint_u32("confirm.key_id").map_err(bad)?);
    r.finish("confirm").map_err(bad)?;
    if device != sent.device {
        return Err(OpenError::UnknownDevice);
    }
    if epoch != sent.epoch {
        return Err(OpenError::WrongEpoch {
            expected: sent.epoch.0,
            got: epoch.0,
        });
    }
    if key_id != sent.key_id {
        return Err(OpenError::UnknownKey);
    }
    let link = link_key(&sent.key, &salt);
    let expected = confirmation_tag(&link, epoch, data);
    if !subtle_eq(&expected, tag) {
        return Err(OpenError::BadTag);
    }
    Ok(ConfirmedProvision {
        fingerprint: KeyFingerprint::of(&link),
        link_key: link,
    })
}

/// Constant-time equality of two byte strings of the same length.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
