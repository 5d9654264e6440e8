//! Sync over sealed frames: [`SealedSender`] (kiosk) and [`SealedReceiver`] (terminal)
//! wrap the plain [`Sender`] and [`Receiver`] and seal every payload both ways with
//! [`crate::seal`]. The plain types stay as they were, for trusted links.
//!
//! The terminal refuses a payload it cannot authenticate, one from an unknown or revoked
//! device or key, a replayed one and (unless configured with
//! [`LinkSecurity::TrustedUnsealed`]) a plain one, with a specific [`OpenError`], and
//! never hands any of it to the store. It checks that a sealed hello or batch belongs to
//! the device and epoch named by its seal, so one device cannot write into another's
//! stream. It answers under the key the frame came with.

use core::fmt;

use super::message::{Message, Nack, NackReason, MAX_CONTROL_MESSAGE_LEN};
use super::outbox::{Outbox, OutboxStorage};
use super::receiver::{Receiver, ReceiverError, ReceiverEvent, SchemaRange};
use super::sender::{Sender, SenderConfig, SenderError, SenderEvent, StopReason, MIN_MTU};
use super::store::{SealedReceiverStore, StoreError};
use crate::ids::{DeviceId, Epoch, Seq};
use crate::seal::{
    is_sealed, open_in_place, seal_in_place, DeviceKey, Direction, FrameCounter, KeyId, KeyLookup,
    KeyStore, OpenError, Opened, Rekey, SealError, SealHeader, SealStore, Sealer,
    DOWNLINK_LEASE_BLOCK, DOWNLINK_REPLY_LIMIT, MAX_REKEY_LEN, MAX_SEAL_OVERHEAD,
};

/// Reply buffers of a [`SealedReceiver`] need this many bytes: the longest control
/// message, sealed.
pub const MAX_SEALED_CONTROL_LEN: usize = MAX_CONTROL_MESSAGE_LEN + MAX_SEAL_OVERHEAD;

/// Bytes of the MTU a [`SealedSender`] keeps for the seal: the longest header, the tag,
/// and one more COBS code byte they may cost.
pub const SEAL_MTU_RESERVE: usize = MAX_SEAL_OVERHEAD + 1;

/// Smallest MTU a [`SealedSender`] accepts.
pub const MIN_SEALED_MTU: usize = MIN_MTU + SEAL_MTU_RESERVE;

/// A [`SealedSender`] takes a welcome only if it answers a hello sent at most this many
/// milliseconds before (default). The terminal places clockless records from the hello's
/// uptime, so a hello held back and delivered late would shift them by the delay; with
/// this bound the shift is at most the bound. Set it above the link's round-trip time
/// ([`SealedSender::set_max_hello_age_ms`]).
pub const DEFAULT_MAX_HELLO_AGE_MS: u64 = 3_000;

/// Hellos a [`SealedSender`] remembers (counter, time sent) to check welcomes against.
const HELLO_MEMORY: usize = 4;

/// Whether a [`SealedReceiver`] accepts plain (unsealed) payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LinkSecurity {
    /// Every payload must be sealed; a plain one is refused with
    /// [`OpenError::UnsealedRefused`]. The default, and the only safe choice on a
    /// care-home network, a shared bus or any cable someone else can reach.
    #[default]
    Sealed,
    /// A trusted link (a bench, a cable inside a locked enclosure): plain payloads are
    /// handled as by the plain [`Receiver`] and answered plain; sealed ones are still
    /// verified and answered sealed. Choosing it is a deliberate, documented decision of
    /// the deployment.
    TrustedUnsealed,
}

// ------------------------------------------------------------------ receiver

/// What happened in one [`SealedReceiver::handle`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SealedReceiverEvent {
    /// The payload was accepted and handled by the sync receiver.
    Sync(ReceiverEvent),
    /// The payload was rejected; nothing of it was used and nothing is answered.
    Rejected(OpenError),
    /// The terminal's counters for this device's key are used up: it cannot answer, so it
    /// did not take the payload. Rotate the key ([`SealedReceiver::rekey`] still works:
    /// the last [`crate::seal::DOWNLINK_REKEY_RESERVE`] counters of every key are kept
    /// for it) or provision the device again.
    DownlinkExhausted,
}

/// The result of [`SealedReceiver::handle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SealedReceiverOutput {
    /// Bytes of the (sealed) reply written at the front of `out` (0: nothing to send).
    pub reply_len: usize,
    /// What happened.
    pub event: SealedReceiverEvent,
}

/// Errors of the replies a [`SealedReceiver`] makes on its own (time sync, key rotation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SealedReplyError {
    /// No device has said hello: there is nobody to seal for.
    NoSession,
    /// The output buffer is too small.
    OutputTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// The session's key cannot be used (revoked, retired) or the key store failed.
    Key(OpenError),
    /// The terminal's counters for this key are used up: rotate the key.
    DownlinkExhausted,
    /// A rotation must name a key id greater than the session's.
    KeyIdNotNewer,
}

impl fmt::Display for SealedReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealedReplyError::NoSession => f.write_str("no session to seal a message for"),
            SealedReplyError::OutputTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            SealedReplyError::Key(e) => write!(f, "session key unusable: {e}"),
            SealedReplyError::DownlinkExhausted => f.write_str(
                "terminal frame counters of this key exhausted: rotate the key (counters \
                 are kept for the rotation) or provision the device again",
            ),
            SealedReplyError::KeyIdNotNewer => {
                f.write_str("a key rotation must name a greater key id")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SealedReplyError {}

/// The header of the reply to the kiosk frame `request` (the counter is filled in when
/// sealing).
fn reply_header(request: &SealHeader) -> SealHeader {
    SealHeader {
        key_id: request.key_id,
        device: request.device,
        epoch: request.epoch,
        counter: 0,
        reply_to: request.counter,
    }
}

/// The terminal's reserved counters for one `(device, key)`: `next..=end` are free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lease {
    device: DeviceId,
    key_id: KeyId,
    next: u64,
    end: u32,
}

/// What a terminal counter is taken for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// A sync reply or time sync: counters up to [`DOWNLINK_REPLY_LIMIT`].
    Reply,
    /// A key rotation: may use the [`crate::seal::DOWNLINK_REKEY_RESERVE`] too.
    Rekey,
}

/// Why no reply counter could be had.
enum LeaseError {
    Store(StoreError),
    Exhausted,
}

/// The receiving side of a sealed link, sans-IO: feed it each frame payload with
/// [`SealedReceiver::handle`] (it decrypts in place, hence `&mut`).
#[derive(Debug)]
pub struct SealedReceiver<St: SealedReceiverStore, K: KeyStore> {
    receiver: Receiver<St>,
    keys: K,
    security: LinkSecurity,
    /// The last counter accepted, of the stream seen last (RAM; frames that commit also
    /// persist it).
    recent: Option<(DeviceId, Epoch, FrameCounter)>,
    lease: Option<Lease>,
    /// The key of the session's newest accepted frame.
    session_key: Option<KeyId>,
}

impl<St: SealedReceiverStore, K: KeyStore> SealedReceiver<St, K> {
    /// A receiver over `store` with the terminal's `keys`, accepting schema versions 1
    /// and up.
    pub fn new(store: St, keys: K, security: LinkSecurity) -> Self {
        Self::with_schemas(store, keys, security, SchemaRange::default())
    }

    /// A receiver accepting only the given schema versions.
    pub fn with_schemas(store: St, keys: K, security: LinkSecurity, schemas: SchemaRange) -> Self {
        SealedReceiver {
            receiver: Receiver::with_schemas(store, schemas),
            keys,
            security,
            recent: None,
            lease: None,
            session_key: None,
        }
    }

    /// The link security setting.
    pub fn security(&self) -> LinkSecurity {
        self.security
    }

    /// The store.
    pub fn store(&self) -> &St {
        self.receiver.store()
    }

    /// The store, mutably.
    pub fn store_mut(&mut self) -> &mut St {
        self.receiver.store_mut()
    }

    /// The key store.
    pub fn keys(&self) -> &K {
        &self.keys
    }

    /// The key store, mutably (to add keys, revoke devices).
    pub fn keys_mut(&mut self) -> &mut K {
        &mut self.keys
    }

    /// Gives the stores back.
    pub fn into_parts(self) -> (St, K) {
        (self.receiver.into_store(), self.keys)
    }

    /// The stream of the current session and the key it uses.
    pub fn session(&self) -> Option<(DeviceId, Epoch, KeyId)> {
        let (d, e) = self.receiver.session()?;
        Some((d, e, self.session_key?))
    }

    fn reject(e: OpenError) -> Result<SealedReceiverOutput, ReceiverError> {
        Ok(SealedReceiverOutput {
            reply_len: 0,
            event: SealedReceiverEvent::Rejected(e),
        })
    }

    /// The highest counter a reply of this purpose may use.
    fn counter_limit(purpose: Purpose) -> u64 {
        match purpose {
            Purpose::Reply => DOWNLINK_REPLY_LIMIT as u64,
            Purpose::Rekey => u32::MAX as u64,
        }
    }

    /// Makes sure a counter of `(device, key_id)` for `purpose` is available. Ordinary
    /// replies lease [`DOWNLINK_LEASE_BLOCK`] counters at a time up to
    /// [`DOWNLINK_REPLY_LIMIT`]; a rotation past that limit leases one counter of the
    /// [`crate::seal::DOWNLINK_REKEY_RESERVE`] at a time.
    fn ensure_lease(
        &mut self,
        device: DeviceId,
        key_id: KeyId,
        purpose: Purpose,
    ) -> Result<(), LeaseError> {
        let limit = Self::counter_limit(purpose);
        if let Some(l) = self.lease {
            if l.device == device && l.key_id == key_id && l.next <= (l.end as u64).min(limit) {
                return Ok(());
            }
            if l.device == device && l.key_id == key_id && purpose == Purpose::Reply {
                // This key's ordinary counters are used up (the lease reached the
                // reserve): do not lease more, keep the reserve for the rotation.
                if l.next > DOWNLINK_REPLY_LIMIT as u64 {
                    return Err(LeaseError::Exhausted);
                }
            }
        }
        let count = match purpose {
            Purpose::Reply => DOWNLINK_LEASE_BLOCK,
            Purpose::Rekey => 1,
        };
        let first = self
            .keys
            .reserve_downlink(device, key_id, count)
            .map_err(LeaseError::Store)?
            .filter(|f| *f != 0)
            .ok_or(LeaseError::Exhausted)?;
        let end = first.checked_add(count - 1).ok_or(LeaseError::Exhausted)?;
        self.lease = Some(Lease {
            device,
            key_id,
            next: first as u64,
            end,
        });
        if first as u64 > limit {
            return Err(LeaseError::Exhausted);
        }
        Ok(())
    }

    /// Takes a counter for `purpose` (after [`Self::ensure_lease`]).
    fn take_counter(&mut self, purpose: Purpose) -> Option<u32> {
        let limit = Self::counter_limit(purpose);
        let l = self.lease.as_mut()?;
        let c = u32::try_from(l.next)
            .ok()
            .filter(|c| *c <= l.end && *c as u64 <= limit)?;
        l.next += 1;
        Some(c)
    }

    /// Encodes `msg` at the front of `out` and seals it under `key` with the header `to`
    /// (its counter is taken from the lease).
    fn seal_reply(
        &mut self,
        msg: &Message<'_>,
        key: &DeviceKey,
        to: SealHeader,
        out: &mut [u8],
    ) -> Result<usize, SealedReplyError> {
        let n = msg
            .encode(out)
            .map_err(|_| SealedReplyError::OutputTooSmall {
                needed: MAX_SEALED_CONTROL_LEN,
            })?;
        self.seal_plain(n, key, to, out, Purpose::Reply)
    }

    fn seal_plain(
        &mut self,
        n: usize,
        key: &DeviceKey,
        to: SealHeader,
        out: &mut [u8],
        purpose: Purpose,
    ) -> Result<usize, SealedReplyError> {
        self.ensure_lease(to.device, to.key_id, purpose)
            .map_err(|e| match e {
                LeaseError::Store(s) => SealedReplyError::Key(OpenError::Store(s)),
                LeaseError::Exhausted => SealedReplyError::DownlinkExhausted,
            })?;
        let counter = self
            .take_counter(purpose)
            .ok_or(SealedReplyError::DownlinkExhausted)?;
        let header = SealHeader { counter, ..to };
        seal_in_place(key, Direction::Downlink, &header, out, n).map_err(|e| match e {
            SealError::BufferTooSmall { needed } => SealedReplyError::OutputTooSmall { needed },
            _ => SealedReplyError::OutputTooSmall {
                needed: MAX_SEALED_CONTROL_LEN,
            },
        })
    }

    /// An authentic frame whose freshness cannot be checked or recorded because the store
    /// failed: answered as the plain receiver answers a store outage (the sender pauses
    /// and resends), nothing committed.
    fn store_failed(
        &mut self,
        e: StoreError,
        key: &DeviceKey,
        hdr: &SealHeader,
        out: &mut [u8],
    ) -> Result<SealedReceiverOutput, ReceiverError> {
        let nack = Message::Nack(Nack {
            epoch: hdr.epoch.0,
            expected: 0,
            reason: NackReason::StoreUnavailable,
        });
        match self.seal_reply(&nack, key, reply_header(hdr), out) {
            Ok(reply_len) => Ok(SealedReceiverOutput {
                reply_len,
                event: SealedReceiverEvent::Sync(ReceiverEvent::StoreFailed(e)),
            }),
            Err(SealedReplyError::DownlinkExhausted) => Ok(SealedReceiverOutput {
                reply_len: 0,
                event: SealedReceiverEvent::DownlinkExhausted,
            }),
            Err(SealedReplyError::Key(k)) => Self::reject(k),
            Err(_) => Err(ReceiverError::OutputTooSmall {
                needed: MAX_SEALED_CONTROL_LEN,
            }),
        }
    }

    /// Whether `device` is known to the key store (it has or had keys, or is revoked):
    /// such a device is never accepted unsealed.
    fn is_keyed(&mut self, device: DeviceId) -> Result<bool, OpenError> {
        match self.keys.lookup(device, KeyId(0)) {
            Ok(KeyLookup::UnknownDevice) => Ok(false),
            Ok(_) => Ok(true),
            Err(e) => Err(OpenError::Store(e)),
        }
    }

    /// On a trusted link, a plain payload may speak only for a device the key store does
    /// not know: a plain hello naming a device that has keys (or is revoked) is refused,
    /// and so is every other plain message while the session is a sealed one or belongs
    /// to a device that has been given keys since its plain hello. Plain frames can never
    /// write into a sealed device's stream.
    fn check_plain(&mut self, payload: &[u8]) -> Result<(), OpenError> {
        match Message::decode(payload) {
            Ok(Message::Hello(h)) => {
                if self.is_keyed(DeviceId(h.device))? {
                    return Err(OpenError::UnsealedRefused);
                }
                Ok(())
            }
            // Anything else is handled for the current session: it must be a plain one.
            _ => {
                if self.session_key.is_some() {
                    return Err(OpenError::UnsealedRefused);
                }
                match self.receiver.session() {
                    Some((device, _)) if self.is_keyed(device)? => Err(OpenError::UnsealedRefused),
                    _ => Ok(()),
                }
            }
        }
    }

    /// Handles one frame payload (decrypting it in place). `now_utc` is the receiver's
    /// clock in Unix seconds, if valid. The reply, if any, is written sealed at the front
    /// of `out` (at least [`MAX_SEALED_CONTROL_LEN`] bytes). A rejected payload gets no
    /// reply and changes nothing.
    pub fn handle(
        &mut self,
        now_utc: Option<u64>,
        payload: &mut [u8],
        out: &mut [u8],
    ) -> Result<SealedReceiverOutput, ReceiverError> {
        if out.len() < MAX_SEALED_CONTROL_LEN {
            return Err(ReceiverError::OutputTooSmall {
                needed: MAX_SEALED_CONTROL_LEN,
            });
        }
        if !is_sealed(payload) {
            return match self.security {
                LinkSecurity::Sealed => Self::reject(OpenError::UnsealedRefused),
                LinkSecurity::TrustedUnsealed => {
                    if let Err(e) = self.check_plain(payload) {
                        return Self::reject(e);
                    }
                    let o = self.receiver.handle(now_utc, payload, out)?;
                    if matches!(o.event, ReceiverEvent::Introduced { .. }) {
                        // A plain session: no key of it to seal replies with.
                        self.session_key = None;
                    }
                    Ok(SealedReceiverOutput {
                        reply_len: o.reply_len,
                        event: SealedReceiverEvent::Sync(o.event),
                    })
                }
            };
        }
        let hdr = match SealHeader::decode(payload) {
            // Kiosk frames answer nothing.
            Ok((h, _)) if h.reply_to == 0 => h,
            Ok(_) => return Self::reject(OpenError::Malformed),
            Err(e) => return Self::reject(e),
        };
        let key = match self.keys.lookup(hdr.device, hdr.key_id) {
            Ok(KeyLookup::Active(k)) => k,
            Ok(KeyLookup::Revoked) => return Self::reject(OpenError::Revoked),
            Ok(KeyLookup::UnknownKey) => return Self::reject(OpenError::UnknownKey),
            Ok(KeyLookup::UnknownDevice) => return Self::reject(OpenError::UnknownDevice),
            Err(e) => return Self::reject(OpenError::Store(e)),
        };
        let plain = match open_in_place(&key, Direction::Uplink, payload) {
            Ok((_, p)) => p,
            Err(e) => return Self::reject(e),
        };
        let persisted = match self
            .receiver
            .store_mut()
            .last_counter(hdr.device, hdr.epoch)
        {
            Ok(c) => c,
            Err(e) => return self.store_failed(e, &key, &hdr, out),
        };
        let last = match self.recent {
            Some((d, e, c)) if d == hdr.device && e == hdr.epoch => persisted.max(c),
            _ => persisted,
        };
        let got = FrameCounter::of(&hdr);
        if got <= last {
            return Self::reject(if got.key_id == last.key_id {
                OpenError::Replayed {
                    last: last.counter,
                    got: got.counter,
                }
            } else {
                // Under a key older than one the device already used.
                OpenError::UnknownKey
            });
        }
        // A reply counter first, so that nothing is committed that cannot be answered.
        match self.ensure_lease(hdr.device, hdr.key_id, Purpose::Reply) {
            Ok(()) => {}
            Err(LeaseError::Store(e)) => return Self::reject(OpenError::Store(e)),
            Err(LeaseError::Exhausted) => {
                return Ok(SealedReceiverOutput {
                    reply_len: 0,
                    event: SealedReceiverEvent::DownlinkExhausted,
                })
            }
        }
        let msg = Message::decode(plain);
        let stream = Some((hdr.device, hdr.epoch));
        let is_hello = matches!(msg, Ok(Message::Hello(_)));
        let foreign_batch = match &msg {
            Ok(Message::Hello(h)) if h.device != hdr.device.0 || h.epoch != hdr.epoch.0 => {
                return Self::reject(OpenError::Malformed)
            }
            Ok(Message::Hello(_)) => {
                // A hello sets the session's clock reference: its counter is persisted
                // first, so that no restart lets an old hello in again.
                if let Err(e) = self
                    .receiver
                    .store_mut()
                    .note_counter(hdr.device, hdr.epoch, got)
                {
                    return self.store_failed(e, &key, &hdr, out);
                }
                false
            }
            Ok(Message::Batch(b)) if b.epoch != hdr.epoch.0 => {
                return Self::reject(OpenError::Malformed)
            }
            Ok(Message::Batch(_)) => self.receiver.session() != stream,
            _ => false,
        };
        // Accepted: the counter is used up.
        self.recent = Some((hdr.device, hdr.epoch, got));
        // Advisory (completes a rotation); a failure is retried with the next frame.
        let _ = self.keys.key_used(hdr.device, hdr.key_id);
        let (reply, event) = if foreign_batch {
            // The session belongs to another stream (or none): this sender must say hello
            // first, exactly as a batch of an unknown epoch.
            (
                Some(Message::Nack(Nack {
                    epoch: hdr.epoch.0,
                    expected: 0,
                    reason: NackReason::NotIntroduced,
                })),
                ReceiverEvent::NotIntroduced,
            )
        } else {
            self.receiver.process_sealed(now_utc, msg, got)
        };
        // Every accepted counter is persisted before it is answered: a frame that
        // committed nothing (a batch resent after a lost ack, a duplicate, a message the
        // terminal ignores) must not be taken again by another receiver over the same
        // store (another connection, a restart). A hello persisted its counter above; a
        // commit persists it in the commit's transaction.
        if !is_hello && !matches!(event, ReceiverEvent::Committed { .. }) {
            if let Err(e) = self
                .receiver
                .store_mut()
                .note_counter(hdr.device, hdr.epoch, got)
            {
                return self.store_failed(e, &key, &hdr, out);
            }
        }
        if self.receiver.session() == stream {
            self.session_key = Some(hdr.key_id);
        }
        let reply_len = match reply {
            Some(m) => self
                .seal_reply(&m, &key, reply_header(&hdr), out)
                .map_err(|_| ReceiverError::OutputTooSmall {
                    needed: MAX_SEALED_CONTROL_LEN,
                })?,
            None => 0,
        };
        Ok(SealedReceiverOutput {
            reply_len,
            event: SealedReceiverEvent::Sync(event),
        })
    }

    /// The session's key, looked up again (it may have been revoked since).
    fn session_key(&mut self) -> Result<(DeviceId, Epoch, KeyId, DeviceKey), SealedReplyError> {
        let (device, epoch, key_id) = self.session().ok_or(SealedReplyError::NoSession)?;
        match self.keys.lookup(device, key_id) {
            Ok(KeyLookup::Active(k)) => Ok((device, epoch, key_id, k)),
            Ok(KeyLookup::Revoked) => Err(SealedReplyError::Key(OpenError::Revoked)),
            Ok(KeyLookup::UnknownKey) => Err(SealedReplyError::Key(OpenError::UnknownKey)),
            Ok(KeyLookup::UnknownDevice) => Err(SealedReplyError::Key(OpenError::UnknownDevice)),
            Err(e) => Err(SealedReplyError::Key(OpenError::Store(e))),
        }
    }

    /// Writes a sealed [`super::TimeSync`] for the session's device into `out` (at least
    /// [`MAX_SEALED_CONTROL_LEN`] bytes). On a trusted link whose session came from a
    /// plain hello the time sync is plain too, as that device's receiver answers it.
    pub fn time_sync(&mut self, utc_now: u64, out: &mut [u8]) -> Result<usize, SealedReplyError> {
        if self.session_key.is_none()
            && self.security == LinkSecurity::TrustedUnsealed
            && self.receiver.session().is_some()
        {
            return self.receiver.time_sync(utc_now, out).map_err(
                |ReceiverError::OutputTooSmall { needed }| SealedReplyError::OutputTooSmall {
                    needed,
                },
            );
        }
        let (device, epoch, key_id, key) = self.session_key()?;
        let msg = Message::TimeSync(super::TimeSync { utc_now });
        let to = SealHeader {
            key_id,
            device,
            epoch,
            counter: 0,
            reply_to: 0,
        };
        self.seal_reply(&msg, &key, to, out)
    }

    /// Writes a sealed [`Rekey`] moving `device` (at `epoch`) from key `from` to key `to`
    /// / `new_key`, sealed under `from`, into `out` (at least
    /// [`crate::seal::MAX_SEALED_REKEY_LEN`] bytes). Needs no session, so it also reaches
    /// a kiosk whose counters are exhausted. Add the new key to the key store first, so
    /// the device's frames under it are accepted; resend until a frame under the new key
    /// arrives ([`SealedReceiver::session`] names it). `out` holds the new key only
    /// encrypted.
    pub fn rekey(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        from: KeyId,
        to: KeyId,
        new_key: &DeviceKey,
        out: &mut [u8],
    ) -> Result<usize, SealedReplyError> {
        if to <= from {
            return Err(SealedReplyError::KeyIdNotNewer);
        }
        let key = match self.keys.lookup(device, from) {
            Ok(KeyLookup::Active(k)) => k,
            Ok(KeyLookup::Revoked) => return Err(SealedReplyError::Key(OpenError::Revoked)),
            Ok(KeyLookup::UnknownKey) => return Err(SealedReplyError::Key(OpenError::UnknownKey)),
            Ok(KeyLookup::UnknownDevice) => {
                return Err(SealedReplyError::Key(OpenError::UnknownDevice))
            }
            Err(e) => return Err(SealedReplyError::Key(OpenError::Store(e))),
        };
        let rekey = Rekey {
            key_id: to,
            key: new_key.clone(),
        };
        let needed = MAX_REKEY_LEN + MAX_SEAL_OVERHEAD;
        if out.len() < needed {
            return Err(SealedReplyError::OutputTooSmall { needed });
        }
        let n = rekey
            .encode(out)
            .map_err(|_| SealedReplyError::OutputTooSmall { needed })?;
        let to = SealHeader {
            key_id: from,
            device,
            epoch,
            counter: 0,
            reply_to: 0,
        };
        match self.seal_plain(n, &key, to, out, Purpose::Rekey) {
            Ok(m) => Ok(m),
            Err(e) => {
                // Never leave the new key in clear in the caller's buffer.
                zeroize::Zeroize::zeroize(out);
                Err(e)
            }
        }
    }
}

// ------------------------------------------------------------------ sender

/// What an incoming payload did to a [`SealedSender`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SealedSenderEvent {
    /// The payload was authentic; the sync sender handled it.
    Sync(SenderEvent),
    /// The terminal rotated the key; the new key is persisted and in use.
    Rekeyed {
        /// The new key id.
        key_id: KeyId,
    },
    /// The payload was rejected and changed nothing.
    Rejected(OpenError),
}

/// Errors of [`SealedSender`] calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SealedSenderError<E, KE> {
    /// The sync sender failed (configuration, outbox).
    Sender(SenderError<E>),
    /// Sealing failed (counter lease store, counters exhausted, buffer).
    Seal(SealError<KE>),
    /// The sealer's device or epoch is not the outbox's.
    IdentityMismatch,
}

impl<E: fmt::Debug, KE: fmt::Debug> fmt::Display for SealedSenderError<E, KE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealedSenderError::Sender(e) => write!(f, "{e}"),
            SealedSenderError::Seal(e) => write!(f, "{e}"),
            SealedSenderError::IdentityMismatch => {
                f.write_str("the sealer's device or epoch differs from the outbox's")
            }
        }
    }
}

#[cfg(feature = "std")]
impl<E: fmt::Debug, KE: fmt::Debug> std::error::Error for SealedSenderError<E, KE> {}

/// The sending side of a sealed link: a [`Sender`] whose payloads are sealed by a
/// [`Sealer`], and which takes only authentic terminal payloads. The MTU covers the
/// sealed frame ([`SEAL_MTU_RESERVE`] bytes of it are kept for the seal).
#[derive(Debug)]
pub struct SealedSender<S: OutboxStorage, K: SealStore> {
    sender: Sender<S>,
    sealer: Sealer<K>,
    /// A welcome answered this sender's hello: every terminal payload accepted since is
    /// fresher than that welcome.
    welcomed: bool,
    /// The last hellos sent: (frame counter, `now_ms` when sent); counter 0 is empty.
    hellos: [(u32, u64); HELLO_MEMORY],
    next_hello: usize,
    max_hello_age_ms: u64,
}

impl<S: OutboxStorage, K: SealStore> SealedSender<S, K> {
    /// A sealed sender over `outbox`, sealing with `sealer` (same device and epoch).
    /// `config.mtu` is the sealed frame's limit, at least [`MIN_SEALED_MTU`].
    pub fn new(
        outbox: Outbox<S>,
        config: SenderConfig,
        boot: u32,
        clock_valid: bool,
        sealer: Sealer<K>,
    ) -> Result<Self, SealedSenderError<S::Error, K::Error>> {
        if outbox.device() != sealer.device() || outbox.epoch() != sealer.epoch() {
            return Err(SealedSenderError::IdentityMismatch);
        }
        let mtu = config
            .mtu
            .checked_sub(SEAL_MTU_RESERVE)
            .filter(|m| *m >= MIN_MTU)
            .ok_or(SealedSenderError::Sender(SenderError::InvalidConfig))?;
        let inner = SenderConfig { mtu, ..config };
        let sender =
            Sender::new(outbox, inner, boot, clock_valid).map_err(SealedSenderError::Sender)?;
        Ok(SealedSender {
            sender,
            sealer,
            welcomed: false,
            hellos: [(0, 0); HELLO_MEMORY],
            next_hello: 0,
            max_hello_age_ms: DEFAULT_MAX_HELLO_AGE_MS,
        })
    }

    /// Takes a welcome only for a hello sent at most `ms` milliseconds before (default
    /// [`DEFAULT_MAX_HELLO_AGE_MS`]; at least 1).
    pub fn set_max_hello_age_ms(&mut self, ms: u64) {
        self.max_hello_age_ms = ms.max(1);
    }

    /// The sync sender inside.
    pub fn sender(&self) -> &Sender<S> {
        &self.sender
    }

    /// The sealer.
    pub fn sealer(&self) -> &Sealer<K> {
        &self.sealer
    }

    /// The outbox.
    pub fn outbox(&self) -> &Outbox<S> {
        self.sender.outbox()
    }

    /// Gives the outbox and the sealer back (e.g. to reopen after a restart).
    pub fn into_parts(self) -> (Outbox<S>, Sealer<K>) {
        (self.sender.into_outbox(), self.sealer)
    }

    /// The sequence number for this device's next record.
    pub fn next_seq(&self) -> Option<Seq> {
        self.sender.next_seq()
    }

    /// Persists an envelope in the outbox (see [`Sender::push`]).
    pub fn push(&mut self, envelope: &[u8]) -> Result<u32, SealedSenderError<S::Error, K::Error>> {
        self.sender
            .push(envelope)
            .map_err(SealedSenderError::Sender)
    }

    /// Tells the sender whether the device clock is valid now.
    pub fn set_clock_valid(&mut self, valid: bool) {
        self.sender.set_clock_valid(valid);
    }

    /// Whether records are flowing.
    pub fn is_streaming(&self) -> bool {
        self.sender.is_streaming()
    }

    /// Why the sender stopped, if it did.
    pub fn stopped(&self) -> Option<StopReason> {
        self.sender.stopped()
    }

    /// The earliest time a timer fires (see [`Sender::next_timeout`]).
    pub fn next_timeout(&self) -> Option<u64> {
        self.sender.next_timeout()
    }

    /// Produces the next sealed payload to send, if one is due (see
    /// [`Sender::poll_transmit`]); `out` needs [`MAX_SEAL_OVERHEAD`] bytes more than a
    /// plain sender's buffer. If sealing fails (lease store, counters exhausted), the
    /// payload counts as lost and is resent later.
    pub fn poll_transmit(
        &mut self,
        now_ms: u64,
        out: &mut [u8],
    ) -> Result<Option<usize>, SealedSenderError<S::Error, K::Error>> {
        let room = out.len().saturating_sub(MAX_SEAL_OVERHEAD);
        let n = match self.sender.poll_transmit(now_ms, &mut out[..room]) {
            Ok(Some(n)) => n,
            Ok(None) => return Ok(None),
            Err(SenderError::OutputTooSmall { needed }) => {
                return Err(SealedSenderError::Sender(SenderError::OutputTooSmall {
                    needed: needed.saturating_add(MAX_SEAL_OVERHEAD),
                }))
            }
            Err(e) => return Err(SealedSenderError::Sender(e)),
        };
        // A hello (variant 0): remember its counter and when it left.
        let hello = out.first() == Some(&0);
        let counter = u32::try_from(self.sealer.next_counter()).unwrap_or(0);
        let sealed = self.sealer.seal(out, n).map_err(SealedSenderError::Seal)?;
        if hello {
            if let Some(slot) = self.hellos.get_mut(self.next_hello) {
                *slot = (counter, now_ms);
            }
            self.next_hello = (self.next_hello + 1) % HELLO_MEMORY;
        }
        Ok(Some(sealed))
    }

    /// Whether a reply to frame `reply_to` answers a hello sent recently enough.
    fn answers_recent_hello(&self, reply_to: u32, now_ms: u64) -> bool {
        reply_to != 0
            && self
                .hellos
                .iter()
                .any(|&(c, at)| c == reply_to && now_ms.saturating_sub(at) <= self.max_hello_age_ms)
    }

    /// Handles one received payload (decrypting it in place): only authentic, fresh
    /// terminal payloads reach the sync sender; a key rotation is applied.
    pub fn handle(
        &mut self,
        now_ms: u64,
        payload: &mut [u8],
    ) -> Result<SealedSenderEvent, SealedSenderError<S::Error, K::Error>> {
        match self.sealer.open(payload) {
            Err(e) => Ok(SealedSenderEvent::Rejected(e)),
            Ok(Opened::Message { plain: m, reply_to }) => {
                match Message::decode(m) {
                    // The kiosk's replay mark survives a reset only as of its last lease
                    // write, so before this boot's welcome (bound to this boot's hello) an
                    // old time sync could be replayed: take the time only after the
                    // welcome.
                    Ok(Message::TimeSync(_)) if !self.welcomed => {
                        return Ok(SealedSenderEvent::Sync(SenderEvent::Ignored));
                    }
                    // A welcome must answer a hello sent lately (see
                    // DEFAULT_MAX_HELLO_AGE_MS); the next hello gets a fresh one.
                    Ok(Message::Welcome(_)) if !self.answers_recent_hello(reply_to, now_ms) => {
                        return Ok(SealedSenderEvent::Sync(SenderEvent::Ignored));
                    }
                    _ => {}
                }
                let ev = self
                    .sender
                    .handle(now_ms, m)
                    .map_err(SealedSenderError::Sender)?;
                if matches!(ev, SenderEvent::Welcomed { .. }) {
                    self.welcomed = true;
                }
                Ok(SealedSenderEvent::Sync(ev))
            }
            Ok(Opened::Rekey(r)) => {
                let key_id = r.key_id;
                self.sealer
                    .apply_rekey(r)
                    .map_err(SealedSenderError::Seal)?;
                Ok(SealedSenderEvent::Rekeyed { key_id })
            }
        }
    }
}
