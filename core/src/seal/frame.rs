//! The sealed frame: [`SealHeader`], the nonce of `(direction, epoch, counter)`,
//! [`seal_in_place`] and [`open_in_place`], and their errors.

use core::convert::Infallible;
use core::fmt;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{Nonce, Tag};

use super::key::{DeviceKey, FrameCounter, KeyId};
use crate::ids::{DeviceId, Epoch};
use crate::sync::StoreError;
use crate::wire::codec::{varint_len, EncodeError, Reader, Writer};

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

/// Longest sealed header: marker and five 32-bit varints of 5 bytes (a reply's).
pub const MAX_SEAL_HEADER_LEN: usize = 1 + 5 * 5;

/// Most bytes sealing adds to a payload: the longest header and the tag.
pub const MAX_SEAL_OVERHEAD: usize = MAX_SEAL_HEADER_LEN + TAG_LEN;

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
    /// Rotate the key ([`Rekey`](super::Rekey)) or provision a new epoch.
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
/// used twice ([`Sealer`](super::Sealer) does).
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
/// and identity checks are the caller's ([`Sealer::open`](super::Sealer::open), the
/// sealed receiver). On an error `buf` is left unchanged.
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
