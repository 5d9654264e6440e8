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
//!
//! ## Layout
//! The key types ([`DeviceKey`], [`KeyId`], [`FrameCounter`]) are shared by every part: the
//! sealed frame (header, nonce, [`seal_in_place`], [`open_in_place`] and their errors), the
//! messages that deliver keys ([`Provision`] and its [`ProvisionConfirmation`], [`Rekey`]),
//! the kiosk side ([`Sealer`], [`SealStore`]) and the terminal side ([`KeyStore`]). Every
//! item is used from this module's root.

mod frame;
mod key;
mod keystore;
mod provision;
mod sealer;

pub use frame::{
    is_sealed, nonce, open_in_place, seal_in_place, sealed_len, Direction, OpenError, SealError,
    SealHeader, MAX_SEAL_HEADER_LEN, MAX_SEAL_OVERHEAD, NONCE_LEN, SEALED_MARKER,
    SEALED_REPLY_MARKER, TAG_LEN,
};
pub use key::{DeviceKey, FrameCounter, KeyId, KEY_LEN};
#[cfg(feature = "alloc")]
pub use keystore::MemoryKeyStore;
pub use keystore::{
    KeyLookup, KeyStore, DOWNLINK_LEASE_BLOCK, DOWNLINK_REKEY_RESERVE, DOWNLINK_REPLY_LIMIT,
};
pub use provision::{
    link_key, open_provision_confirmation, ConfirmedProvision, KeyFingerprint, Provision,
    ProvisionConfirmation, ProvisionError, Rekey, MAX_PROVISION_CONFIRM_LEN, MAX_PROVISION_LEN,
    MAX_REKEY_LEN, MAX_SEALED_REKEY_LEN, PROVISION_CONFIRM_MARKER, PROVISION_MARKER,
    PROVISION_SALT_LEN, REKEY_MARKER,
};
pub use sealer::{
    Opened, RamSealStore, SealState, SealStore, Sealer, SealerError, DEFAULT_LEASE_BLOCK,
    SEAL_STATE_LEN, SEAL_STATE_VERSION,
};

#[cfg(test)]
mod tests;
