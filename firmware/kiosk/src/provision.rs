//! Provisioning: how a kiosk gets its identity and key, and how its outbox follows.
//!
//! **Provisioning mode** is entered by a physical action only: the provisioning button
//! held at power-up (a GPIO input, active low, read once at boot: [`button_held`]). In
//! that mode the kiosk waits on its serial line for one frame whose payload is core's
//! [`Provision`] (`PROVISION_MARKER 0xA2 | device varint | epoch varint | key id varint |
//! key`, unsealed: the kiosk has no key yet), hands it to core's [`Sealer::provision`]
//! with the button's level, persists the result in its seal store, and answers with one
//! plain frame:
//!
//! ```text
//! ack = COBS(0xA2 | status | CRC-32C LE) 0x00      (core's encode_frame of 2 bytes)
//! ```
//!
//! `status` is a [`ProvisionStatus`] code: `0x00` provisioned; anything else refused,
//! nothing changed. Frames whose payload is not a `Provision` get no answer. After a
//! refusal the kiosk keeps waiting; after `0x00` the staff restart it without the
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
    KeyId, Provision, ProvisionError, SealState, SealStore, Sealer, DEFAULT_LEASE_BLOCK,
    PROVISION_MARKER,
};
use tcmcare_core::sync::{FlashError, FlashStorage, Outbox, OutboxError, OutboxStorage};
use zeroize::Zeroize;

use crate::log::{log_info, log_warn};

/// Length of the acknowledgement payload: marker and status.
pub const PROVISION_ACK_LEN: usize = 2;

/// The status byte of the provisioning acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProvisionStatus {
    /// `0x00`: provisioned; restart the kiosk without the button.
    Ok,
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
}

impl ProvisionStatus {
    /// The status byte.
    pub const fn code(self) -> u8 {
        match self {
            ProvisionStatus::Ok => 0x00,
            ProvisionStatus::Malformed => 0x01,
            ProvisionStatus::StoreFailed => 0x02,
            ProvisionStatus::NotInProvisioningMode => 0x03,
            ProvisionStatus::OutboxPending => 0x04,
            ProvisionStatus::StaleEpoch => 0x05,
            ProvisionStatus::WrongDevice => 0x06,
        }
    }

    /// The status of a byte, `None` for an unknown one.
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0x00 => ProvisionStatus::Ok,
            0x01 => ProvisionStatus::Malformed,
            0x02 => ProvisionStatus::StoreFailed,
            0x03 => ProvisionStatus::NotInProvisioningMode,
            0x04 => ProvisionStatus::OutboxPending,
            0x05 => ProvisionStatus::StaleEpoch,
            0x06 => ProvisionStatus::WrongDevice,
            _ => return None,
        })
    }

    /// A short name (for logs without `core::fmt`).
    pub const fn name(self) -> &'static str {
        match self {
            ProvisionStatus::Ok => "ok",
            ProvisionStatus::Malformed => "malformed provisioning payload",
            ProvisionStatus::StoreFailed => "seal store failed",
            ProvisionStatus::NotInProvisioningMode => "not in provisioning mode",
            ProvisionStatus::OutboxPending => {
                "the outbox holds unacknowledged records of another device or epoch"
            }
            ProvisionStatus::StaleEpoch => "the outbox already used a newer epoch",
            ProvisionStatus::WrongDevice => "not the device id the board expects",
        }
    }
}

/// The acknowledgement payload (frame it with core's `encode_frame`).
pub const fn ack_payload(status: ProvisionStatus) -> [u8; PROVISION_ACK_LEN] {
    [PROVISION_MARKER, status.code()]
}

/// Reads an acknowledgement payload (the terminal's side).
pub fn decode_ack(payload: &[u8]) -> Option<ProvisionStatus> {
    match payload {
        [PROVISION_MARKER, code] => ProvisionStatus::from_code(*code),
        _ => None,
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
}

fn status_of<E>(e: ProvisionError<E>) -> ProvisionStatus {
    match e {
        ProvisionError::NotInProvisioningMode => ProvisionStatus::NotInProvisioningMode,
        ProvisionError::Malformed | ProvisionError::InvalidLeaseBlock => ProvisionStatus::Malformed,
        ProvisionError::Store(_) => ProvisionStatus::StoreFailed,
    }
}

/// Handles a provisioning `payload` received with the button at `provisioning_mode`:
/// checks it against the outbox on flash (`stored`, see [`plan_outbox`]) and the device id
/// the board expects (if any), then has core's [`Sealer::provision`] persist it in
/// `store` with [`DEFAULT_LEASE_BLOCK`]. The payload (a key in clear) is wiped either way.
/// Logs `provisioned: device D epoch E key id K` (never the key).
pub fn provision<K: SealStore>(
    store: K,
    payload: &mut [u8],
    provisioning_mode: bool,
    stored: Option<StoredStream>,
    expected_device: Option<DeviceId>,
) -> Result<(Sealer<K>, Provisioned), ProvisionStatus> {
    let r = provision_inner(store, payload, provisioning_mode, stored, expected_device);
    payload.zeroize();
    match &r {
        Ok((_, p)) => log_info!(
            "provisioned: device {=u32} epoch {=u32} key id {=u32}",
            p.device.0,
            p.epoch.0,
            p.key_id.0
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
) -> Result<(Sealer<K>, Provisioned), ProvisionStatus> {
    if provisioning_mode {
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
    }
    let sealer = Sealer::provision(store, payload, provisioning_mode, DEFAULT_LEASE_BLOCK)
        .map_err(status_of)?;
    let who = Provisioned {
        device: sealer.device(),
        epoch: sealer.epoch(),
        key_id: sealer.key_id(),
    };
    Ok((sealer, who))
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
    let status = match Sealer::provision(NoStore, payload, false, DEFAULT_LEASE_BLOCK) {
        Err(e) => status_of(e),
        // Unreachable: core checks the mode first. Never report it as provisioned.
        Ok(_) => ProvisionStatus::NotInProvisioningMode,
    };
    payload.zeroize();
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcmcare_core::seal::{DeviceKey, RamSealStore};
    use tcmcare_core::sync::{Outbox, RamStorage};

    const DEVICE: DeviceId = DeviceId(0x4B01);

    fn payload(device: u32, epoch: u32, key_id: u32) -> Vec<u8> {
        let p = Provision {
            device: DeviceId(device),
            epoch: Epoch(epoch),
            key_id: KeyId(key_id),
            key: DeviceKey::from_bytes([0x11; 32]),
        };
        let mut b = [0u8; 64];
        let n = p.encode(&mut b).unwrap();
        b[..n].to_vec()
    }

    #[test]
    fn ack_is_marker_and_status() {
        assert_eq!(ack_payload(ProvisionStatus::Ok), [0xA2, 0x00]);
        assert_eq!(ack_payload(ProvisionStatus::OutboxPending), [0xA2, 0x04]);
        for code in 0..=255u8 {
            if let Some(s) = ProvisionStatus::from_code(code) {
                assert_eq!(s.code(), code);
                assert_eq!(decode_ack(&[0xA2, code]), Some(s));
            }
        }
        assert_eq!(decode_ack(&[0xA2, 0x07]), None);
        assert_eq!(decode_ack(&[0xA1, 0x00]), None);
        assert_eq!(decode_ack(&[0xA2]), None);
    }

    #[test]
    fn ack_frame_on_the_wire() {
        // [0xA2, 0x00] | CRC-32C LE (0x526C5EC7, from a bit-serial CRC-32C, polynomial
        // 0x82F63B78 reflected), COBS-encoded (the status 0x00 splits the block), then
        // the delimiter.
        let mut f = [0u8; 16];
        let n =
            tcmcare_core::wire::encode_frame(&ack_payload(ProvisionStatus::Ok), &mut f).unwrap();
        assert_eq!(&f[..n], &[0x02, 0xA2, 0x05, 0xC7, 0x5E, 0x6C, 0x52, 0x00]);
    }

    #[test]
    fn provisioning_needs_the_button_and_wipes_the_payload() {
        let mut p = payload(0x4B01, 1, 1);
        let (sealer, who) = provision(RamSealStore::new(), &mut p, true, None, None).unwrap();
        assert_eq!(
            who,
            Provisioned {
                device: DEVICE,
                epoch: Epoch(1),
                key_id: KeyId(1)
            }
        );
        assert_eq!(sealer.store().writes(), 1);
        assert!(p.iter().all(|b| *b == 0));

        let mut p = payload(0x4B01, 1, 1);
        let mut store = RamSealStore::new();
        assert_eq!(
            provision(&mut store, &mut p, false, None, None).err(),
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
    fn malformed_and_wrong_device_are_refused() {
        let mut store = RamSealStore::new();
        let mut short = payload(0x4B01, 1, 1);
        short.pop();
        assert_eq!(
            provision(&mut store, &mut short, true, None, None).err(),
            Some(ProvisionStatus::Malformed)
        );
        let mut p = payload(0x4B02, 1, 1);
        assert_eq!(
            provision(&mut store, &mut p, true, None, Some(DEVICE)).err(),
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
            provision(&mut store, &mut p, true, Some(pending), None).err(),
            Some(ProvisionStatus::OutboxPending)
        );
        // The same stream again (a new key for it): accepted.
        let mut p = payload(0x4B01, 1, 2);
        assert!(provision(&mut store, &mut p, true, Some(pending), None).is_ok());
        // Once everything is acknowledged, a new epoch is fine...
        let done = StoredStream {
            pending: 0,
            ..pending
        };
        let mut p = payload(0x4B01, 2, 3);
        assert!(provision(&mut store, &mut p, true, Some(done), None).is_ok());
        // ... an older one never.
        let at2 = StoredStream {
            epoch: Epoch(2),
            ..done
        };
        let mut p = payload(0x4B01, 1, 4);
        assert_eq!(
            provision(&mut store, &mut p, true, Some(at2), None).err(),
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
