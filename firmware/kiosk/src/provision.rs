//! Provisioning: how a kiosk gets its identity and key, and how its outbox follows.
//!
//! **Provisioning mode** is entered by a physical action only: the provisioning button
//! held at power-up (a GPIO input, active low, read once at boot: [`button_held`]). In
//! that mode the kiosk waits on its serial line for one frame whose payload is core's
//! [`Provision`] (`PROVISION_MARKER 0xA2 | device varint | epoch varint | key id varint |
//! key`, unsealed: the kiosk has no key yet) and hands it to core's [`Sealer::provision`]
//! with the button's level and 16 fresh random bytes of its own (the **salt**, from the
//! MCU's true random number generator). Core mixes the salt into the payload's key (the
//! link key, [`tcmcare_core::seal::link_key`]) and persists it in the seal store, so no
//! two provisionings share a key even when the same payload arrives twice. The kiosk
//! answers with one plain frame (core's `encode_frame` of the payload):
//!
//! ```text
//! provisioned:  core ProvisionConfirmation (proof of possession of the link key)
//!               0xA5 | salt (16 bytes) | device varint | epoch varint | key id varint | tag (16 bytes)
//! refused:      0xA2 | status                       (nothing changed)
//! ```
//!
//! The terminal checks the confirmation with core's
//! [`tcmcare_core::seal::open_provision_confirmation`] against the `Provision` it sent
//! and keeps the link key it returns only then; both sides show the link key's
//! [`KeyFingerprint`] (the kiosk logs `provisioned: device D epoch E key id K fingerprint
//! 1A2B-3C4D`, never the key) for staff to compare. [`decode_answer`] reads either
//! answer. `status` is a [`ProvisionStatus`] code (`0x01`..=`0x08`; `0x00`, the
//! unauthenticated "provisioned" of earlier firmware, is never sent and never read as
//! success). Frames whose payload is not a `Provision` get no answer. After a refusal
//! the kiosk keeps waiting; after the confirmation the staff restart it without the
//! button.
//!
//! Outside provisioning mode a `Provision` payload is refused by core
//! ([`ProvisionStatus::NotInProvisioningMode`], [`refuse_outside_provisioning_mode`]);
//! the kiosk sends no answer then (an unauthenticated sender learns nothing).
//!
//! **The outbox follows the provisioned identity** ([`plan_outbox`]): the kiosk opens its
//! flash outbox as `(device, epoch)` of its seal state. An outbox of another identity is
//! started afresh only when every one of its records is acknowledged; unacknowledged
//! records are never dropped: provisioning a kiosk whose outbox still holds some under
//! another identity is refused ([`ProvisionStatus::OutboxPending`]), and so is an epoch
//! older than the outbox's ([`ProvisionStatus::StaleEpoch`]: a stream must never reuse
//! an epoch, or the terminal would take its records for duplicates).

use core::convert::Infallible;

use embedded_hal::digital::InputPin;
use embedded_storage::nor_flash::MultiwriteNorFlash;
use tcmcare_core::ids::{DeviceId, Epoch};
use tcmcare_core::seal::{
    KeyFingerprint, KeyId, Provision, ProvisionConfirmation, ProvisionError, SealState, SealStore,
    Sealer, DEFAULT_LEASE_BLOCK, PROVISION_CONFIRM_MARKER, PROVISION_MARKER, PROVISION_SALT_LEN,
};
use tcmcare_core::sync::{FlashError, FlashStorage, Outbox, OutboxError, OutboxStorage};
use zeroize::Zeroize;

use crate::log::{log_info, log_warn};

/// Length of the refusal payload: marker and status.
pub const PROVISION_ACK_LEN: usize = 2;

/// Why a provisioning was refused: the status byte of the refusal answer
/// `[0xA2, status]`. (A provisioned kiosk answers with its [`ProvisionConfirmation`]
/// instead; `0x00`, the unauthenticated "provisioned" of earlier firmware, is retired:
/// never sent, never decoded.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProvisionStatus {
    /// `0x01`: not a well-formed `Provision` (or device / epoch 0).
    Malformed,
    /// `0x02`: the seal store failed; the previous credentials stay.
    StoreFailed,
    /// `0x03`: the kiosk is not in provisioning mode (never answered on the wire).
    NotInProvisioningMode,
    /// `0x04`: the outbox holds unacknowledged records of another device or epoch;
    /// provision the kiosk as that device and epoch to upload them first.
    OutboxPending,
    /// `0x05`: the outbox already used a newer epoch of this device.
    StaleEpoch,
    /// `0x06`: the board was told to expect another device id (`--device`).
    WrongDevice,
    /// `0x07`: the payload does not move the kiosk forward (core's
    /// [`ProvisionError::Stale`]): its current device with an older epoch, or its current
    /// epoch with a key id not greater than the current one (a replayed or out-of-date
    /// payload). Provision a new epoch or a greater key id.
    Stale,
    /// `0x08`: the kiosk has no working random source for its salt (none on this board,
    /// or core's [`ProvisionError::WeakSalt`]: all its bytes equal).
    NoEntropy,
}

impl ProvisionStatus {
    /// The status byte.
    pub const fn code(self) -> u8 {
        match self {
            ProvisionStatus::Malformed => 0x01,
            ProvisionStatus::StoreFailed => 0x02,
            ProvisionStatus::NotInProvisioningMode => 0x03,
            ProvisionStatus::OutboxPending => 0x04,
            ProvisionStatus::StaleEpoch => 0x05,
            ProvisionStatus::WrongDevice => 0x06,
            ProvisionStatus::Stale => 0x07,
            ProvisionStatus::NoEntropy => 0x08,
        }
    }

    /// The status of a byte, `None` for an unknown one.
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0x01 => ProvisionStatus::Malformed,
            0x02 => ProvisionStatus::StoreFailed,
            0x03 => ProvisionStatus::NotInProvisioningMode,
            0x04 => ProvisionStatus::OutboxPending,
            0x05 => ProvisionStatus::StaleEpoch,
            0x06 => ProvisionStatus::WrongDevice,
            0x07 => ProvisionStatus::Stale,
            0x08 => ProvisionStatus::NoEntropy,
            _ => return None,
        })
    }

    /// A short name (for logs without `core::fmt`).
    pub const fn name(self) -> &'static str {
        match self {
            ProvisionStatus::Malformed => "malformed provisioning payload",
            ProvisionStatus::StoreFailed => "seal store failed",
            ProvisionStatus::NotInProvisioningMode => "not in provisioning mode",
            ProvisionStatus::OutboxPending => {
                "the outbox holds unacknowledged records of another device or epoch"
            }
            ProvisionStatus::StaleEpoch => "the outbox already used a newer epoch",
            ProvisionStatus::WrongDevice => "not the device id the board expects",
            ProvisionStatus::Stale => {
                "stale payload: older epoch, or a key id not greater than the current one"
            }
            ProvisionStatus::NoEntropy => "no random source for the salt (entropy)",
        }
    }
}

/// The refusal payload `[0xA2, status]` (frame it with core's `encode_frame`).
pub const fn ack_payload(status: ProvisionStatus) -> [u8; PROVISION_ACK_LEN] {
    [PROVISION_MARKER, status.code()]
}

/// Reads a refusal payload (the terminal's side); `None` for anything else.
pub fn decode_ack(payload: &[u8]) -> Option<ProvisionStatus> {
    match payload {
        [PROVISION_MARKER, code] => ProvisionStatus::from_code(*code),
        _ => None,
    }
}

/// A kiosk's answer to a `Provision`, as the terminal reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionAnswer<'a> {
    /// A confirmation (first byte [`PROVISION_CONFIRM_MARKER`]): not yet checked; take
    /// the link key only from core's `open_provision_confirmation` of these bytes.
    Confirmation(&'a [u8]),
    /// A refusal: nothing changed on the kiosk.
    Refused(ProvisionStatus),
}

/// Reads a kiosk's answer (the terminal's side); `None` for anything else.
pub fn decode_answer(payload: &[u8]) -> Option<ProvisionAnswer<'_>> {
    match payload.first() {
        Some(&PROVISION_CONFIRM_MARKER) => Some(ProvisionAnswer::Confirmation(payload)),
        _ => decode_ack(payload).map(ProvisionAnswer::Refused),
    }
}

/// Whether a payload is a provisioning payload (by its first byte).
pub fn is_provision(payload: &[u8]) -> bool {
    payload.first() == Some(&PROVISION_MARKER)
}

/// Whether the provisioning button (active low: pressed pulls the pin to ground) is held.
/// A pin that cannot be read counts as not held: provisioning needs the action.
pub fn button_held<P: InputPin>(pin: &mut P) -> bool {
    pin.is_low().unwrap_or(false)
}

/// The stream an outbox storage holds: its identity and how many records wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StoredStream {
    /// The device owning it.
    pub device: DeviceId,
    /// Its epoch.
    pub epoch: Epoch,
    /// Records stored and not acknowledged.
    pub pending: u32,
}

/// The stream in an outbox storage, `None` for new or wiped storage. Reads only.
pub fn stored_stream<S: OutboxStorage>(storage: &mut S) -> Result<Option<StoredStream>, S::Error> {
    let Some(meta) = storage.load_meta()? else {
        return Ok(None);
    };
    let pending = match storage.bounds()? {
        Some(b) => b.newest.saturating_sub(meta.acked_through),
        None => 0,
    };
    Ok(Some(StoredStream {
        device: meta.device,
        epoch: meta.epoch,
        pending,
    }))
}

/// What to do with the outbox for the provisioned `(device, epoch)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OutboxPlan {
    /// New or wiped storage: open it, a new stream starts at the provisioned epoch.
    Fresh,
    /// The outbox is this identity's: resume it.
    Resume,
    /// Another identity's outbox, every record acknowledged: erase it, then open it as
    /// [`OutboxPlan::Fresh`].
    Restart {
        /// The stream erased.
        previous: StoredStream,
    },
    /// Another identity's outbox with unacknowledged records: do not touch it, do not
    /// sync (provision the kiosk as that identity to upload them).
    Pending(StoredStream),
    /// The outbox already used a newer epoch of this device: starting an older one would
    /// reuse an epoch.
    Stale(StoredStream),
}

/// Decides what to do with the outbox `stored` for the provisioned `(device, epoch)`.
pub fn plan_outbox(stored: Option<StoredStream>, device: DeviceId, epoch: Epoch) -> OutboxPlan {
    match stored {
        None => OutboxPlan::Fresh,
        Some(s) if s.device == device && s.epoch == epoch => OutboxPlan::Resume,
        Some(s) if s.device == device && s.epoch.0 > epoch.0 => OutboxPlan::Stale(s),
        Some(s) if s.pending == 0 => OutboxPlan::Restart { previous: s },
        Some(s) => OutboxPlan::Pending(s),
    }
}

/// Why [`open_outbox`] did not open the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OpenOutboxError<E> {
    /// The outbox holds unacknowledged records of another identity (left untouched).
    Pending(StoredStream),
    /// The outbox already used a newer epoch of this device (left untouched).
    Stale(StoredStream),
    /// The outbox or its flash failed.
    Outbox(OutboxError<E>),
}

/// Opens the flash outbox as the provisioned `(device, epoch)` following
/// [`plan_outbox`]: resumes it, starts it, or erases a fully acknowledged outbox of
/// another identity first (queue before meta, so a cut in between leaves the old, empty
/// stream, and the next boot erases again). Returns the plan it followed.
#[allow(clippy::type_complexity)]
pub fn open_outbox<F: MultiwriteNorFlash>(
    mut storage: FlashStorage<F>,
    device: DeviceId,
    epoch: Epoch,
) -> Result<(Outbox<FlashStorage<F>>, OutboxPlan), OpenOutboxError<FlashError<F::Error>>> {
    let stored = stored_stream(&mut storage)
        .map_err(|e| OpenOutboxError::Outbox(OutboxError::Storage(e)))?;
    let plan = plan_outbox(stored, device, epoch);
    match plan {
        OutboxPlan::Pending(s) => return Err(OpenOutboxError::Pending(s)),
        OutboxPlan::Stale(s) => return Err(OpenOutboxError::Stale(s)),
        OutboxPlan::Restart { .. } => storage
            .erase_all()
            .map_err(|e| OpenOutboxError::Outbox(OutboxError::Storage(e)))?,
        OutboxPlan::Fresh | OutboxPlan::Resume => {}
    }
    let outbox = Outbox::open(storage, device, epoch).map_err(OpenOutboxError::Outbox)?;
    Ok((outbox, plan))
}

/// Who the kiosk became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Provisioned {
    /// Device id.
    pub device: DeviceId,
    /// Epoch.
    pub epoch: Epoch,
    /// Key id.
    pub key_id: KeyId,
    /// The fingerprint of the new link key (what the terminal prints).
    pub fingerprint: KeyFingerprint,
}

fn status_of<E>(e: ProvisionError<E>) -> ProvisionStatus {
    match e {
        ProvisionError::NotInProvisioningMode => ProvisionStatus::NotInProvisioningMode,
        ProvisionError::Malformed | ProvisionError::InvalidLeaseBlock => ProvisionStatus::Malformed,
        ProvisionError::Stale => ProvisionStatus::Stale,
        ProvisionError::WeakSalt => ProvisionStatus::NoEntropy,
        ProvisionError::Store(_) => ProvisionStatus::StoreFailed,
    }
}

/// Handles a provisioning `payload` received with the button at `provisioning_mode`:
/// checks it against the outbox on flash (`stored`, see [`plan_outbox`]) and the device id
/// the board expects (if any), then has core's [`Sealer::provision`] derive the link key
/// with `salt` (16 fresh bytes from the board's random source; `None` when the board has
/// none: refused with [`ProvisionStatus::NoEntropy`]) and persist it in `store` with
/// [`DEFAULT_LEASE_BLOCK`]. Returns the sealer, who the kiosk became and the
/// [`ProvisionConfirmation`] to send back (its bytes are the answer's payload). The
/// payload (a key in clear) is wiped either way. Logs `provisioned: device D epoch E key
/// id K fingerprint XXXX-XXXX` (never the key) or why it was refused.
pub fn provision<K: SealStore>(
    store: K,
    payload: &mut [u8],
    provisioning_mode: bool,
    stored: Option<StoredStream>,
    expected_device: Option<DeviceId>,
    salt: Option<&[u8; PROVISION_SALT_LEN]>,
) -> Result<(Sealer<K>, Provisioned, ProvisionConfirmation), ProvisionStatus> {
    let r = provision_inner(
        store,
        payload,
        provisioning_mode,
        stored,
        expected_device,
        salt,
    );
    payload.zeroize();
    match &r {
        Ok((_, p, _)) => log_info!(
            "provisioned: device {=u32} epoch {=u32} key id {=u32} fingerprint {}",
            p.device.0,
            p.epoch.0,
            p.key_id.0,
            p.fingerprint
        ),
        Err(s) => log_warn!("provisioning refused: {=str}", s.name()),
    }
    r
}

fn provision_inner<K: SealStore>(
    store: K,
    payload: &[u8],
    provisioning_mode: bool,
    stored: Option<StoredStream>,
    expected_device: Option<DeviceId>,
    salt: Option<&[u8; PROVISION_SALT_LEN]>,
) -> Result<(Sealer<K>, Provisioned, ProvisionConfirmation), ProvisionStatus> {
    if !provisioning_mode {
        return Err(refuse_outside(store, payload));
    }
    // Checks before core persists anything. The decoded copy (with the key) is
    // zeroized when dropped.
    let p = Provision::decode(payload).map_err(status_of)?;
    if expected_device.is_some_and(|d| d != p.device) {
        return Err(ProvisionStatus::WrongDevice);
    }
    match plan_outbox(stored, p.device, p.epoch) {
        OutboxPlan::Pending(_) => return Err(ProvisionStatus::OutboxPending),
        OutboxPlan::Stale(_) => return Err(ProvisionStatus::StaleEpoch),
        OutboxPlan::Fresh | OutboxPlan::Resume | OutboxPlan::Restart { .. } => {}
    }
    let salt = salt.ok_or(ProvisionStatus::NoEntropy)?;
    let (sealer, confirmation) =
        Sealer::provision(store, payload, true, DEFAULT_LEASE_BLOCK, salt).map_err(status_of)?;
    let who = Provisioned {
        device: sealer.device(),
        epoch: sealer.epoch(),
        key_id: sealer.key_id(),
        fingerprint: confirmation.fingerprint(),
    };
    Ok((sealer, who, confirmation))
}

/// Core's refusal of a `Provision` outside provisioning mode (it checks the mode before
/// the store, the payload and the salt: the salt given is never used).
fn refuse_outside<K: SealStore>(store: K, payload: &[u8]) -> ProvisionStatus {
    const UNUSED_SALT: [u8; PROVISION_SALT_LEN] = [0; PROVISION_SALT_LEN];
    match Sealer::provision(store, payload, false, DEFAULT_LEASE_BLOCK, &UNUSED_SALT) {
        Err(e) => status_of(e),
        // Unreachable: core checks the mode first. Never report it as provisioned.
        Ok(_) => ProvisionStatus::NotInProvisioningMode,
    }
}

/// A seal store that holds nothing and takes nothing: outside provisioning mode core
/// refuses a `Provision` before it looks at the store.
struct NoStore;

impl SealStore for NoStore {
    type Error = Infallible;
    fn load(&mut self) -> Result<Option<SealState>, Infallible> {
        Ok(None)
    }
    fn store(&mut self, _: &SealState) -> Result<(), Infallible> {
        Ok(())
    }
}

/// A `Provision` payload that arrived outside provisioning mode: core refuses it
/// ([`Sealer::provision`] with the button not held), nothing is persisted, the payload is
/// wiped. Returns [`ProvisionStatus::NotInProvisioningMode`].
pub fn refuse_outside_provisioning_mode(payload: &mut [u8]) -> ProvisionStatus {
    let status = refuse_outside(NoStore, payload);
    payload.zeroize();
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcmcare_core::seal::{
        open_in_place, open_provision_confirmation, DeviceKey, Direction, OpenError, RamSealStore,
    };
    use tcmcare_core::sync::{Outbox, RamStorage};

    const DEVICE: DeviceId = DeviceId(0x4B01);
    const KEY: [u8; 32] = [0x11; 32];
    /// A salt as a random source gives it (any bytes not all equal).
    const SALT: [u8; PROVISION_SALT_LEN] = [
        0x5a, 0x13, 0xc7, 0x02, 0x9e, 0x41, 0xd8, 0x66, 0x0b, 0xf4, 0x27, 0x8a, 0x31, 0xe5, 0x7c,
        0x90,
    ];
    const SALT_2: [u8; PROVISION_SALT_LEN] = [
        0x07, 0xb2, 0x6e, 0x19, 0xc4, 0x83, 0x5d, 0xf0, 0x2a, 0x98, 0x41, 0xee, 0x36, 0x0c, 0xd7,
        0x65,
    ];

    fn provision_of(device: u32, epoch: u32, key_id: u32) -> Provision {
        Provision {
            device: DeviceId(device),
            epoch: Epoch(epoch),
            key_id: KeyId(key_id),
            key: DeviceKey::from_bytes(KEY),
        }
    }

    fn payload(device: u32, epoch: u32, key_id: u32) -> Vec<u8> {
        let mut b = [0u8; 64];
        let n = provision_of(device, epoch, key_id).encode(&mut b).unwrap();
        b[..n].to_vec()
    }

    #[test]
    fn ack_is_marker_and_status() {
        assert_eq!(ack_payload(ProvisionStatus::Malformed), [0xA2, 0x01]);
        assert_eq!(ack_payload(ProvisionStatus::OutboxPending), [0xA2, 0x04]);
        assert_eq!(ack_payload(ProvisionStatus::Stale), [0xA2, 0x07]);
        assert_eq!(ack_payload(ProvisionStatus::NoEntropy), [0xA2, 0x08]);
        let mut known = 0;
        for code in 0..=255u8 {
            if let Some(s) = ProvisionStatus::from_code(code) {
                assert_eq!(s.code(), code);
                assert_eq!(decode_ack(&[0xA2, code]), Some(s));
                known += 1;
            }
        }
        assert_eq!(known, 8);
        // 0x00, the unauthenticated "provisioned" of earlier firmware, means nothing.
        assert_eq!(decode_ack(&[0xA2, 0x00]), None);
        assert_eq!(decode_answer(&[0xA2, 0x00]), None);
        assert_eq!(decode_ack(&[0xA2, 0x09]), None);
        assert_eq!(decode_ack(&[0xA1, 0x01]), None);
        assert_eq!(decode_ack(&[0xA2]), None);
        assert_eq!(
            decode_answer(&[0xA2, 0x07]),
            Some(ProvisionAnswer::Refused(ProvisionStatus::Stale))
        );
        assert_eq!(decode_answer(&[0x00, 0x01]), None);
        assert_eq!(decode_answer(&[]), None);
    }

    #[test]
    fn refusal_frame_on_the_wire() {
        // [0xA2, 0x07] | CRC-32C LE (0x86A63A2C, from a bit-serial CRC-32C, polynomial
        // 0x82F63B78 reflected), COBS-encoded (no zero byte: one block), then the
        // delimiter: the stale refusal the README shows.
        let mut f = [0u8; 16];
        let n =
            tcmcare_core::wire::encode_frame(&ack_payload(ProvisionStatus::Stale), &mut f).unwrap();
        assert_eq!(&f[..n], &[0x07, 0xA2, 0x07, 0x2C, 0x3A, 0xA6, 0x86, 0x00]);
    }

    #[test]
    fn provisioned_kiosk_answers_with_a_confirmation_the_terminal_accepts() {
        let sent = provision_of(0x4B01, 1, 1);
        let mut p = payload(0x4B01, 1, 1);
        let (mut sealer, who, confirmation) =
            provision(RamSealStore::new(), &mut p, true, None, None, Some(&SALT)).unwrap();
        assert_eq!(
            (who.device, who.epoch, who.key_id),
            (DEVICE, Epoch(1), KeyId(1))
        );
        assert_eq!(sealer.store().writes(), 1);
        assert!(p.iter().all(|b| *b == 0));

        // The answer: marker, the salt, device, epoch, key id, a tag.
        let answer = confirmation.as_bytes();
        assert_eq!(answer[0], 0xA5);
        assert_eq!(&answer[1..17], &SALT);
        assert_eq!(
            decode_answer(answer),
            Some(ProvisionAnswer::Confirmation(answer))
        );
        let confirmed = open_provision_confirmation(&sent, answer).unwrap();
        // The same fingerprint on both sides, and in what the kiosk logs.
        assert_eq!(confirmed.fingerprint, confirmation.fingerprint());
        assert_eq!(who.fingerprint, confirmed.fingerprint);
        // The kiosk seals under the confirmed link key, not the provisioned key.
        assert_ne!(confirmed.link_key.as_bytes(), &KEY);
        let mut buf = [0u8; 64];
        buf[..5].copy_from_slice(b"hello");
        let n = sealer.seal(&mut buf, 5).unwrap();
        let (h, plain) = open_in_place(
            &confirmed.link_key,
            Direction::Uplink,
            &mut buf[..n].to_vec(),
        )
        .map(|(h, pl)| (h, pl.to_vec()))
        .unwrap();
        assert_eq!((h.counter, &plain[..]), (1, &b"hello"[..]));
        let mut again = buf;
        assert_eq!(
            open_in_place(
                &DeviceKey::from_bytes(KEY),
                Direction::Uplink,
                &mut again[..n]
            )
            .err(),
            Some(OpenError::BadTag)
        );

        // A confirmation for another provisioning, or altered, is refused.
        let other = provision_of(0x4B01, 1, 2);
        assert_eq!(
            open_provision_confirmation(&other, answer).err(),
            Some(OpenError::UnknownKey)
        );
        let mut altered = answer.to_vec();
        altered[3] ^= 0x01;
        assert_eq!(
            open_provision_confirmation(&sent, &altered).err(),
            Some(OpenError::BadTag)
        );
    }

    #[test]
    fn provisioning_needs_the_button_and_wipes_the_payload() {
        let mut p = payload(0x4B01, 1, 1);
        let mut store = RamSealStore::new();
        assert_eq!(
            provision(&mut store, &mut p, false, None, None, Some(&SALT)).err(),
            Some(ProvisionStatus::NotInProvisioningMode)
        );
        assert_eq!(store.writes(), 0);
        assert!(p.iter().all(|b| *b == 0));

        let mut p = payload(0x4B01, 1, 1);
        assert_eq!(
            refuse_outside_provisioning_mode(&mut p),
            ProvisionStatus::NotInProvisioningMode
        );
        assert!(p.iter().all(|b| *b == 0));
    }

    #[test]
    fn the_same_payload_twice_is_refused_as_stale() {
        let mut store = RamSealStore::new();
        let mut p = payload(0x4B01, 3, 2);
        let (_, first, _) = provision(&mut store, &mut p, true, None, None, Some(&SALT)).unwrap();
        let state = store.state().cloned();
        // Again (a replay, or the terminal resending it), even with a fresh salt.
        let mut p = payload(0x4B01, 3, 2);
        assert_eq!(
            provision(&mut store, &mut p, true, None, None, Some(&SALT_2)).err(),
            Some(ProvisionStatus::Stale)
        );
        assert!(p.iter().all(|b| *b == 0));
        // An older key id at the same epoch, an older epoch: stale too.
        for (epoch, key_id) in [(3, 1), (2, 9)] {
            let mut p = payload(0x4B01, epoch, key_id);
            assert_eq!(
                provision(&mut store, &mut p, true, None, None, Some(&SALT_2)).err(),
                Some(ProvisionStatus::Stale)
            );
        }
        assert_eq!(store.writes(), 1);
        assert_eq!(store.state().cloned(), state);
        // A greater key id moves the kiosk forward: a new link key, another fingerprint.
        let mut p = payload(0x4B01, 3, 3);
        let (_, next, _) = provision(&mut store, &mut p, true, None, None, Some(&SALT_2)).unwrap();
        assert_eq!(next.key_id, KeyId(3));
        assert_ne!(next.fingerprint, first.fingerprint);
    }

    #[test]
    fn no_or_weak_entropy_is_refused() {
        let mut store = RamSealStore::new();
        // No random source on the board.
        let mut p = payload(0x4B01, 1, 1);
        assert_eq!(
            provision(&mut store, &mut p, true, None, None, None).err(),
            Some(ProvisionStatus::NoEntropy)
        );
        assert!(p.iter().all(|b| *b == 0));
        // A failed source (all bytes equal): core refuses it.
        for b in [0x00, 0xFF, 0x5A] {
            let mut p = payload(0x4B01, 1, 1);
            assert_eq!(
                provision(&mut store, &mut p, true, None, None, Some(&[b; 16])).err(),
                Some(ProvisionStatus::NoEntropy)
            );
        }
        assert_eq!(store.writes(), 0);
        assert_eq!(store.state(), None);
    }

    #[test]
    fn one_payload_on_two_kiosks_or_a_wiped_kiosk_gives_another_link_key() {
        // The kiosk's salt makes the key: the same payload never yields the same link key
        // twice (a wiped kiosk counting from 1 again never repeats a (key, nonce) pair).
        let mut store = RamSealStore::new();
        let mut p = payload(0x4B01, 1, 1);
        let (_, a, ca) = provision(&mut store, &mut p, true, None, None, Some(&SALT)).unwrap();
        store.wipe();
        let mut p = payload(0x4B01, 1, 1);
        let (_, b, cb) = provision(&mut store, &mut p, true, None, None, Some(&SALT_2)).unwrap();
        assert_ne!(a.fingerprint, b.fingerprint);
        let sent = provision_of(0x4B01, 1, 1);
        let ka = open_provision_confirmation(&sent, ca.as_bytes()).unwrap();
        let kb = open_provision_confirmation(&sent, cb.as_bytes()).unwrap();
        assert_ne!(ka.link_key, kb.link_key);
    }

    #[test]
    fn malformed_and_wrong_device_are_refused() {
        let mut store = RamSealStore::new();
        let mut short = payload(0x4B01, 1, 1);
        short.pop();
        assert_eq!(
            provision(&mut store, &mut short, true, None, None, Some(&SALT)).err(),
            Some(ProvisionStatus::Malformed)
        );
        let mut p = payload(0x4B02, 1, 1);
        assert_eq!(
            provision(&mut store, &mut p, true, None, Some(DEVICE), Some(&SALT)).err(),
            Some(ProvisionStatus::WrongDevice)
        );
        assert_eq!(store.writes(), 0);
    }

    #[test]
    fn outbox_with_pending_records_of_another_stream_refuses_provisioning() {
        let pending = StoredStream {
            device: DEVICE,
            epoch: Epoch(1),
            pending: 3,
        };
        let mut store = RamSealStore::new();
        // A new epoch while epoch 1 still has 3 records to upload: refused.
        let mut p = payload(0x4B01, 2, 2);
        assert_eq!(
            provision(&mut store, &mut p, true, Some(pending), None, Some(&SALT)).err(),
            Some(ProvisionStatus::OutboxPending)
        );
        // The same stream again (a new key for it): accepted.
        let mut p = payload(0x4B01, 1, 2);
        assert!(provision(&mut store, &mut p, true, Some(pending), None, Some(&SALT)).is_ok());
        // Once everything is acknowledged, a new epoch is fine...
        let done = StoredStream {
            pending: 0,
            ..pending
        };
        let mut p = payload(0x4B01, 2, 3);
        assert!(provision(&mut store, &mut p, true, Some(done), None, Some(&SALT)).is_ok());
        // ... an older one never.
        let at2 = StoredStream {
            epoch: Epoch(2),
            ..done
        };
        let mut p = payload(0x4B01, 1, 4);
        assert_eq!(
            provision(&mut store, &mut p, true, Some(at2), None, Some(&SALT)).err(),
            Some(ProvisionStatus::StaleEpoch)
        );
    }

    #[test]
    fn outbox_plans() {
        let s = |device, epoch, pending| StoredStream {
            device: DeviceId(device),
            epoch: Epoch(epoch),
            pending,
        };
        let (d, e) = (DEVICE, Epoch(5));
        assert_eq!(plan_outbox(None, d, e), OutboxPlan::Fresh);
        assert_eq!(plan_outbox(Some(s(0x4B01, 5, 7)), d, e), OutboxPlan::Resume);
        assert_eq!(
            plan_outbox(Some(s(0x4B01, 4, 0)), d, e),
            OutboxPlan::Restart {
                previous: s(0x4B01, 4, 0)
            }
        );
        assert_eq!(
            plan_outbox(Some(s(0x4B02, 9, 0)), d, e),
            OutboxPlan::Restart {
                previous: s(0x4B02, 9, 0)
            }
        );
        assert_eq!(
            plan_outbox(Some(s(0x4B01, 4, 1)), d, e),
            OutboxPlan::Pending(s(0x4B01, 4, 1))
        );
        assert_eq!(
            plan_outbox(Some(s(0x4B02, 9, 2)), d, e),
            OutboxPlan::Pending(s(0x4B02, 9, 2))
        );
        assert_eq!(
            plan_outbox(Some(s(0x4B01, 6, 0)), d, e),
            OutboxPlan::Stale(s(0x4B01, 6, 0))
        );
    }

    #[test]
    fn stored_stream_counts_unacknowledged_records() {
        use tcmcare_core::ids::{CareHomeId, RecordId, ResidentNumber, ResidentRef};
        use tcmcare_core::record::{Body, Header, MeasurementSource, Record, VitalSigns};
        use tcmcare_core::time::Timestamp;
        use tcmcare_core::wire::MAX_ENVELOPE_LEN;

        assert_eq!(stored_stream(&mut RamStorage::<4096>::new()).unwrap(), None);
        let mut o = Outbox::open(RamStorage::<4096>::new(), DEVICE, Epoch(2)).unwrap();
        for _ in 0..3 {
            let r = Record {
                header: Header {
                    id: RecordId {
                        device: DEVICE,
                        epoch: Epoch(2),
                        seq: o.next_seq().unwrap(),
                    },
                    resident: ResidentRef {
                        care_home: CareHomeId(31),
                        number: ResidentNumber(1001),
                    },
                    time: Timestamp::Unknown {
                        boot: 1,
                        uptime_s: 5,
                    },
                },
                body: Body::Vitals(VitalSigns {
                    pulse_per_min: Some(70),
                    source: MeasurementSource::KioskSensor,
                    ..VitalSigns::default()
                }),
            };
            let mut b = [0u8; MAX_ENVELOPE_LEN];
            let n = r.encode_unchecked(&mut b).unwrap();
            o.push(&b[..n]).unwrap();
        }
        o.ack(1).unwrap();
        let mut storage = o.into_storage();
        // Positions 1..=3 stored, 1 acknowledged: 2 wait.
        assert_eq!(
            stored_stream(&mut storage).unwrap(),
            Some(StoredStream {
                device: DEVICE,
                epoch: Epoch(2),
                pending: 2
            })
        );
    }
}
