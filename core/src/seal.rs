//! Sealed frames: per-device keys, ChaCha20-Poly1305, replay protection, provisioning.
//!
//! A care-home network is not a safe place: a rogue device or a tampered cable must not be
//! able to inject, alter or replay records. Every sync message travels **sealed** under a
//! 256-bit key the kiosk shares with its terminal; the terminal refuses anything it cannot
//! authenticate and never commits a byte of a rejected frame.
//!
//! ## Sealed payload
//! A sealed payload replaces the plain message payload inside the usual COBS/CRC frame
//! ([`crate::wire::encode_frame`]):
//!
//! ```text
//! header = 0xA1 | key_id varint | device varint | epoch varint | counter varint
//!        | 0xA4 | key_id | device | epoch | counter | reply_to varint  (terminal replies)
//! sealed = header | ChaCha20-Poly1305(key, nonce, aad = header, message) | tag (16 bytes)
//! nonce  = direction (0 kiosk->terminal, 1 terminal->kiosk) | 0 0 0 | epoch u32 LE | counter u32 LE
//! ```
//!
//! The header is authenticated as additional data, so a changed byte anywhere (header,
//! body or tag) fails the tag. The first byte [`SEALED_MARKER`] can never start a plain
//! [`crate::sync::Message`] (whose first byte is a variant number below 128), so a reader
//! tells sealed from unsealed payloads without a flag. Overhead: the 16-byte tag, the
//! counter varint (1 to 5 bytes) and 4 to 16 bytes of marker, key id, device and epoch
//! (4 for ids below 128): 21 bytes at counter 1..127, 22 up to 16,383
//! ([`MAX_SEAL_OVERHEAD`] at worst). A terminal reply also names the kiosk frame it
//! answers (`reply_to`), so a kiosk takes a welcome only for a hello it sent recently: a
//! hello an attacker held back cannot anchor the terminal's clock for clockless records
//! ([`crate::sync::DEFAULT_MAX_HELLO_AGE_MS`]).
//!
//! ## Nonces never repeat under one key
//! The 96-bit nonce is derived from `(direction, epoch, counter)` and the key id selects
//! the key, so the nonce repeats under a key only if the counter does:
//! - kiosk -> terminal ([`Direction::Uplink`]): the kiosk's [`Sealer`] counts per
//!   `(epoch, key)` and never reuses a counter, across reboots too: it reserves blocks
//!   of counters (a **lease**) and persists the block's end through its [`SealStore`]
//!   *before* using any counter of the block. After a reset it continues after the
//!   persisted end (the rest of the block is skipped). Counters are never wrapped: when
//!   the 32-bit space is used up the sealer refuses with [`SealError::CounterExhausted`]
//!   until the terminal rotates the key ([`Rekey`], counting restarts at 1 under the new
//!   key) or provisions a new epoch. A wipe loses the key too: the kiosk is provisioned
//!   again, with a new epoch and a new key.
//! - terminal -> kiosk ([`Direction::Downlink`]): the terminal counts per `(device, key)`
//!   with the same kind of lease kept in its [`KeyStore`] ([`KeyStore::reserve_downlink`]).
//!   Ordinary replies stop at [`DOWNLINK_REPLY_LIMIT`]; the counters above it
//!   ([`DOWNLINK_REKEY_RESERVE`]) are kept for the [`Rekey`] that recovers an exhausted
//!   key, so exhaustion is recovered by rotating the key (or provisioning again).
//!
//! Both directions are sealed: a forged acknowledgement would make a kiosk drop records
//! it still holds.
//!
//! ## Replay protection
//! The terminal accepts a kiosk frame only if its [`FrameCounter`] (key id, then counter)
//! is greater than the last one accepted for `(device, epoch)`. Every accepted counter is
//! persisted before the frame is answered: with the records it brought
//! ([`crate::sync::SealedReceiverStore::commit_sealed`], one transaction), or on its own
//! for a frame that commits nothing (a hello, a batch resent after a lost ack)
//! ([`crate::sync::SealedReceiverStore::note_counter`]). So a captured frame is refused
//! as a replay by every receiver over the same store (every connection, after restarts),
//! without a reply and without a write: replays cannot use up the terminal's reply
//! counters. The kiosk
//! accepts a terminal frame only if its counter is greater than the last one it accepted
//! under the current key; it persists that mark with each lease write. Rejections are
//! specific: [`OpenError`].
//!
//! ## Keys, provisioning, rotation, revocation
//! - [`Provision`]: the terminal gives a kiosk its device id, epoch, key id and key. It
//!   travels unsealed (the kiosk has no key yet) over the cable, and the kiosk accepts it
//!   only in **provisioning mode**, which the firmware enters by a physical action (a
//!   button held at power-up, read from a GPIO); core takes it as the
//!   `provisioning_mode` argument of [`Sealer::provision`]. The kiosk mixes 16 random
//!   bytes of its own into the key ([`link_key`]): every provisioning makes a key never
//!   used before, even when the same payload arrives twice (a wiped kiosk, a replay), so
//!   counting from 1 again never repeats a `(key, nonce)` pair. It answers with a
//!   [`ProvisionConfirmation`] (its salt and a tag under the new key: proof of
//!   possession); the terminal keeps the link key only after
//!   [`open_provision_confirmation`] accepts it, and both show the key's
//!   [`KeyFingerprint`] for staff to compare. A payload that does not move the kiosk
//!   forward (an older epoch, or a key id not greater than the current one at the
//!   current epoch) is refused ([`ProvisionError::Stale`]). The payload carries the key
//!   in clear: provision over the kiosk's own cable (UART, USB) or a link no one else can
//!   reach, never over a shared network.
//! - [`Rekey`]: key rotation. The terminal adds the new key to its key store, then sends a
//!   `Rekey` sealed under the current key naming a newer key id. The kiosk persists it and
//!   seals from then on under the new key; the terminal retires the old key when the first
//!   frame under the new one arrives ([`KeyStore::key_used`]).
//! - Revocation happens at the terminal's key store ([`KeyLookup::Revoked`]): every frame
//!   of a revoked device is refused with [`OpenError::Revoked`].
//!
//! [`DeviceKey`] never shows its bytes in `Debug` or `defmt` output and is zeroized when
//! dropped, as are the [`Provision`], [`Rekey`] and [`SealState`] values holding one.

use core::convert::Infallible;
use core::fmt;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce, Tag};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::ids::{DeviceId, Epoch};
use crate::sync::StoreError;
use crate::wire::codec::{varint_len, EncodeError, Reader, Writer};

/// Length of a device key in bytes (256 bits).
pub const KEY_LEN: usize = 32;

/// Length of the authentication tag in bytes.
pub const TAG_LEN: usize = 16;

/// Length of the ChaCha20-Poly1305 nonce in bytes.
pub const NONCE_LEN: usize = 12;

/// First byte of a sealed payload (format version 1). At or above 0x80, so it can never
/// be the first byte of a plain message (a one-byte variant number).
pub const SEALED_MARKER: u8 = 0xA1;

/// First byte of a sealed terminal reply, whose header ends with the counter of the
/// kiosk frame it answers ([`SealHeader::reply_to`]).
pub const SEALED_REPLY_MARKER: u8 = 0xA4;

/// First byte of a [`Provision`] payload (sent unsealed, provisioning mode only).
pub const PROVISION_MARKER: u8 = 0xA2;

/// First byte of a [`Rekey`] plaintext inside a sealed terminal -> kiosk payload.
pub const REKEY_MARKER: u8 = 0xA3;

/// Longest sealed header: marker and five 32-bit varints of 5 bytes (a reply's).
pub const MAX_SEAL_HEADER_LEN: usize = 1 + 5 * 5;

/// Most bytes sealing adds to a payload: the longest header and the tag.
pub const MAX_SEAL_OVERHEAD: usize = MAX_SEAL_HEADER_LEN + TAG_LEN;

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

/// Counters a kiosk reserves per lease write by default: one persisted write per 64
/// frames sent (a few writes a day for a busy kiosk), at most 63 counters skipped per
/// reset.
pub const DEFAULT_LEASE_BLOCK: u32 = 64;

/// Counters a terminal reserves per [`KeyStore::reserve_downlink`] call.
pub const DOWNLINK_LEASE_BLOCK: u32 = 64;

/// The last terminal -> kiosk counters of every key, kept for key rotations: ordinary
/// replies stop at [`DOWNLINK_REPLY_LIMIT`], so a terminal whose counters for a key are
/// used up can still send the [`Rekey`] that moves the kiosk to a new key (each rotation
/// message reserves one counter of the reserve). A receiver (one per connection) that
/// finds the ordinary counters used up may lease one block of the reserve before it
/// knows (its lease is then kept for rotations), so the reserve holds 1,024 blocks
/// (65,536 counters, 0.0015 % of the space): rotation keeps working after at least 1,023
/// connections or restarts that met the exhausted key. Provisioning the device again
/// (which needs no counter) always works.
pub const DOWNLINK_REKEY_RESERVE: u32 = 1024 * DOWNLINK_LEASE_BLOCK;

/// The highest terminal -> kiosk counter an ordinary reply (welcome, ack, nack, time
/// sync) may use; the counters above it are the [`DOWNLINK_REKEY_RESERVE`].
pub const DOWNLINK_REPLY_LIMIT: u32 = u32::MAX - DOWNLINK_REKEY_RESERVE;

/// Length of [`SealState::to_bytes`].
pub const SEAL_STATE_LEN: usize = 1 + 4 * 5 + KEY_LEN;

/// Layout version of [`SealState::to_bytes`].
pub const SEAL_STATE_VERSION: u8 = 1;

// ------------------------------------------------------------------ keys

/// A 256-bit key shared by one kiosk and its terminal. Its bytes never appear in `Debug`
/// or `defmt` output, and it is zeroized when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DeviceKey([u8; KEY_LEN]);

impl DeviceKey {
    /// A key from its bytes (generated by the terminal from a secure random source; the
    /// caller should zeroize its own copy).
    pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        DeviceKey(bytes)
    }

    /// A key from a slice, `None` unless it has exactly [`KEY_LEN`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(DeviceKey(arr))
    }

    /// The key bytes, for persisting the key (kiosk flash, terminal key store). Never log
    /// them.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The cipher instance (it holds a copy of the key and zeroizes it when dropped).
    fn cipher(&self) -> ChaCha20Poly1305 {
        let key: &Key = (&self.0).into();
        ChaCha20Poly1305::new(key)
    }
}

impl PartialEq for DeviceKey {
    /// Compares in constant time.
    fn eq(&self, other: &Self) -> bool {
        let diff = self
            .0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |d, (a, b)| d | (a ^ b));
        diff == 0
    }
}

impl Eq for DeviceKey {}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceKey(<redacted>)")
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for DeviceKey {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "DeviceKey(<redacted>)")
    }
}

/// Names one key of a device. A rotation moves to a greater id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KeyId(pub u32);

/// Where a kiosk frame stands in its stream's sealing order: frames under a newer key
/// come after every frame under an older one, and within a key the counter orders them.
/// The terminal accepts a frame only if its position is greater than the last accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FrameCounter {
    /// The sealing key's id.
    pub key_id: KeyId,
    /// The counter under that key (0: nothing accepted yet).
    pub counter: u32,
}

impl FrameCounter {
    /// The position of a frame with this header.
    pub fn of(header: &SealHeader) -> Self {
        FrameCounter {
            key_id: header.key_id,
            counter: header.counter,
        }
    }
}

/// Which way a sealed payload travels; part of the nonce, so a frame reflected back to
/// its sender never opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Direction {
    /// Kiosk (sync sender) to terminal (sync receiver).
    Uplink,
    /// Terminal (sync receiver) to kiosk (sync sender).
    Downlink,
}

impl Direction {
    /// The nonce's direction byte.
    pub const fn code(self) -> u8 {
        match self {
            Direction::Uplink => 0,
            Direction::Downlink => 1,
        }
    }
}

/// The nonce of `(direction, epoch, counter)`: direction byte, three zero bytes, epoch
/// and counter as u32 little-endian.
pub fn nonce(direction: Direction, epoch: Epoch, counter: u32) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[0] = direction.code();
    n[4..8].copy_from_slice(&epoch.0.to_le_bytes());
    n[8..12].copy_from_slice(&counter.to_le_bytes());
    n
}

// ------------------------------------------------------------------ errors

/// Why a sealed payload was rejected. Nothing of a rejected payload is ever used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OpenError {
    /// The tag does not authenticate header and body: altered, or sealed under another
    /// key.
    BadTag,
    /// The key store does not know the device (or a kiosk got a frame for another
    /// device).
    UnknownDevice,
    /// The device has no key with this id (never had, or retired by a rotation), or the
    /// key is older than one the device has already used.
    UnknownKey,
    /// The device is revoked.
    Revoked,
    /// The counter is not greater than the last one accepted under the same key: a
    /// replayed or old frame.
    Replayed {
        /// The last accepted counter.
        last: u32,
        /// The frame's counter.
        got: u32,
    },
    /// A kiosk got a frame for another epoch of its own device.
    WrongEpoch {
        /// The kiosk's epoch.
        expected: u32,
        /// The frame's epoch.
        got: u32,
    },
    /// Not a well-formed sealed payload (bad marker, header, truncated tag, counter 0), or
    /// the sealed message names another device or epoch than its seal header.
    Malformed,
    /// A plain payload on a link that requires sealing.
    UnsealedRefused,
    /// The key or replay store failed; the frame was not processed (the sender resends).
    Store(StoreError),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::BadTag => f.write_str("sealed frame fails authentication"),
            OpenError::UnknownDevice => f.write_str("sealed frame from an unknown device"),
            OpenError::UnknownKey => f.write_str("sealed frame under an unknown key id"),
            OpenError::Revoked => f.write_str("sealed frame from a revoked device"),
            OpenError::Replayed { last, got } => {
                write!(
                    f,
                    "replayed sealed frame: counter {got}, last accepted {last}"
                )
            }
            OpenError::WrongEpoch { expected, got } => {
                write!(
                    f,
                    "sealed frame for epoch {got}, this device is at {expected}"
                )
            }
            OpenError::Malformed => f.write_str("malformed sealed frame"),
            OpenError::UnsealedRefused => f.write_str(
                "unsealed frame refused: the link, or the device (it has keys), requires sealing",
            ),
            OpenError::Store(e) => write!(f, "key or replay store failed: {e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for OpenError {}

/// Why a payload could not be sealed. No counter is ever used without being persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SealError<E> {
    /// The buffer cannot hold header, ciphertext and tag.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// The 32-bit counter space of this key and epoch is used up; counters never wrap.
    /// Rotate the key ([`Rekey`]) or provision a new epoch.
    CounterExhausted,
    /// The payload is longer than the cipher allows (never for frame-sized payloads).
    TooLong,
    /// The seal store failed; nothing was sealed.
    Store(E),
}

impl<E: fmt::Debug> fmt::Display for SealError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::BufferTooSmall { needed } => {
                write!(f, "buffer too small to seal: {needed} bytes needed")
            }
            SealError::CounterExhausted => {
                f.write_str("frame counters exhausted: rotate the key or provision a new epoch")
            }
            SealError::TooLong => f.write_str("payload too long to seal"),
            SealError::Store(e) => write!(f, "seal store failed: {e:?}"),
        }
    }
}

#[cfg(feature = "std")]
impl<E: fmt::Debug> std::error::Error for SealError<E> {}

impl SealError<Infallible> {
    /// The same error with another store error type.
    pub fn widen<E>(self) -> SealError<E> {
        match self {
            SealError::BufferTooSmall { needed } => SealError::BufferTooSmall { needed },
            SealError::CounterExhausted => SealError::CounterExhausted,
            SealError::TooLong => SealError::TooLong,
            SealError::Store(never) => match never {},
        }
    }
}

// ------------------------------------------------------------------ header, seal, open

/// The authenticated header of a sealed payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SealHeader {
    /// The key sealing the payload.
    pub key_id: KeyId,
    /// The kiosk the payload comes from or goes to (not 0).
    pub device: DeviceId,
    /// The kiosk's epoch (not 0).
    pub epoch: Epoch,
    /// The frame counter (1 or more) of the direction.
    pub counter: u32,
    /// A terminal reply names the kiosk frame it answers by that frame's counter (0: not
    /// a reply). The kiosk uses it to take a welcome only for a recent hello. Encoded
    /// only when not 0, after [`SEALED_REPLY_MARKER`].
    pub reply_to: u32,
}

impl SealHeader {
    /// Length of the encoded header.
    pub fn encoded_len(&self) -> usize {
        let reply = if self.reply_to == 0 {
            0
        } else {
            varint_len(self.reply_to as u64)
        };
        1 + varint_len(self.key_id.0 as u64)
            + varint_len(self.device.0 as u64)
            + varint_len(self.epoch.0 as u64)
            + varint_len(self.counter as u64)
            + reply
    }

    /// Writes the header at the front of `out`, returning its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::new(out);
        w.u8(if self.reply_to == 0 {
            SEALED_MARKER
        } else {
            SEALED_REPLY_MARKER
        });
        w.varint(self.key_id.0 as u64);
        w.varint(self.device.0 as u64);
        w.varint(self.epoch.0 as u64);
        w.varint(self.counter as u64);
        if self.reply_to != 0 {
            w.varint(self.reply_to as u64);
        }
        w.finish()
    }

    /// Reads the header at the front of a sealed payload, returning it and its length.
    /// Any deviation (marker, non-canonical varint, device, epoch, counter or a present
    /// reply counter 0) is [`OpenError::Malformed`].
    pub fn decode(payload: &[u8]) -> Result<(SealHeader, usize), OpenError> {
        let mut r = Reader::new(payload);
        let bad = |_| OpenError::Malformed;
        let reply = match r.u8("seal.marker").map_err(bad)? {
            SEALED_MARKER => false,
            SEALED_REPLY_MARKER => true,
            _ => return Err(OpenError::Malformed),
        };
        let key_id = KeyId(r.varint_u32("seal.key_id").map_err(bad)?);
        let device = DeviceId(r.varint_u32("seal.device").map_err(bad)?);
        let epoch = Epoch(r.varint_u32("seal.epoch").map_err(bad)?);
        let counter = r.varint_u32("seal.counter").map_err(bad)?;
        let reply_to = if reply {
            r.varint_u32("seal.reply_to").map_err(bad)?
        } else {
            0
        };
        if device.0 == 0 || epoch.0 == 0 || counter == 0 || (reply && reply_to == 0) {
            return Err(OpenError::Malformed);
        }
        Ok((
            SealHeader {
                key_id,
                device,
                epoch,
                counter,
                reply_to,
            },
            r.position(),
        ))
    }
}

/// Whether `payload` is sealed (starts with [`SEALED_MARKER`] or [`SEALED_REPLY_MARKER`]).
pub fn is_sealed(payload: &[u8]) -> bool {
    matches!(
        payload.first(),
        Some(&SEALED_MARKER) | Some(&SEALED_REPLY_MARKER)
    )
}

/// Sealed length of a `plaintext_len`-byte payload under `header`.
pub fn sealed_len(header: &SealHeader, plaintext_len: usize) -> usize {
    header
        .encoded_len()
        .saturating_add(plaintext_len)
        .saturating_add(TAG_LEN)
}

/// Seals the plaintext at `buf[..plaintext_len]` in place: afterwards `buf` holds header,
/// ciphertext and tag, and the sealed length is returned. `buf` needs
/// [`sealed_len`] bytes. The caller guarantees `(key, direction, epoch, counter)` is never
/// used twice ([`Sealer`] does).
pub fn seal_in_place(
    key: &DeviceKey,
    direction: Direction,
    header: &SealHeader,
    buf: &mut [u8],
    plaintext_len: usize,
) -> Result<usize, SealError<Infallible>> {
    let h = header.encoded_len();
    let total = sealed_len(header, plaintext_len);
    if plaintext_len > buf.len() || total > buf.len() {
        return Err(SealError::BufferTooSmall { needed: total });
    }
    buf.copy_within(..plaintext_len, h);
    let (head, rest) = buf.split_at_mut(h);
    header
        .encode(head)
        .map_err(|_| SealError::BufferTooSmall { needed: total })?;
    let (body, rest) = rest.split_at_mut(plaintext_len);
    let n = Nonce::from(nonce(direction, header.epoch, header.counter));
    let tag = key
        .cipher()
        .encrypt_inout_detached(&n, head, body.into())
        .map_err(|_| SealError::TooLong)?;
    let tag_dst = rest
        .get_mut(..TAG_LEN)
        .ok_or(SealError::BufferTooSmall { needed: total })?;
    tag_dst.copy_from_slice(tag.as_slice());
    Ok(total)
}

/// Authenticates and decrypts a sealed payload in place under `key`, returning its header
/// and the plaintext (a part of `buf`). Only the tag is checked here: key lookup, replay
/// and identity checks are the caller's ([`Sealer::open`], the sealed receiver). On an
/// error `buf` is left unchanged.
pub fn open_in_place<'b>(
    key: &DeviceKey,
    direction: Direction,
    buf: &'b mut [u8],
) -> Result<(SealHeader, &'b mut [u8]), OpenError> {
    let (header, h) = SealHeader::decode(buf)?;
    let body_len = buf
        .len()
        .checked_sub(h)
        .and_then(|n| n.checked_sub(TAG_LEN))
        .ok_or(OpenError::Malformed)?;
    let (head, rest) = buf.split_at_mut(h);
    let (body, tag) = rest.split_at_mut(body_len);
    let tag = Tag::try_from(&*tag).map_err(|_| OpenError::Malformed)?;
    let n = Nonce::from(nonce(direction, header.epoch, header.counter));
    key.cipher()
        .decrypt_inout_detached(&n, head, (&mut *body).into(), &tag)
        .map_err(|_| OpenError::BadTag)?;
    Ok((header, body))
}

// ------------------------------------------------------------------ provisioning messages

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
    fn new(
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

// ------------------------------------------------------------------ kiosk side

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

// ------------------------------------------------------------------ terminal side

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

    use super::{DeviceKey, KeyId, KeyLookup, KeyStore};
    use crate::ids::DeviceId;
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

#[cfg(test)]
mod tests;
