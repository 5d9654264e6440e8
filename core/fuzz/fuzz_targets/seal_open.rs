//! The sealed-frame openers and the sealed receiver, fed operations: chunks
//! `op u8 | len u8 | bytes`. Ops: 0 raw bytes to the terminal; 1 the bytes sealed as a
//! genuine kiosk frame (counter and epoch from the first bytes) to the terminal; 2 raw
//! bytes to the kiosk's opener; 3 the bytes sealed as a genuine terminal frame to the
//! kiosk; 4 the provisioning, rekey, header and state decoders. Nothing may panic; a
//! rejected frame changes neither the store nor the kiosk's marks.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tcmcare_core::ids::{DeviceId, Epoch};
use tcmcare_core::seal::{
    seal_in_place, DeviceKey, Direction, KeyId, MemoryKeyStore, Opened, Provision, RamSealStore,
    Rekey, SealHeader, SealState, SealStore, Sealer, MAX_SEAL_OVERHEAD,
};
use tcmcare_core::sync::{
    LinkSecurity, MemoryStore, SealedReceiver, SealedReceiverEvent, MAX_SEALED_CONTROL_LEN,
};

const KEY: [u8; 32] = [0x42; 32];

fn sealed(dir: Direction, bytes: &[u8]) -> Vec<u8> {
    let (counter, epoch, body) = match bytes {
        [a, b, c, d, e, body @ ..] => (
            u32::from_le_bytes([*a, *b, *c, *d]).max(1),
            (*e % 3) as u32 + 1,
            body,
        ),
        _ => (1, 1, bytes),
    };
    let h = SealHeader {
        key_id: KeyId(1),
        device: DeviceId(7),
        epoch: Epoch(epoch),
        counter,
        reply_to: 0,
    };
    let mut buf = vec![0u8; body.len() + MAX_SEAL_OVERHEAD];
    buf[..body.len()].copy_from_slice(body);
    let n =
        seal_in_place(&DeviceKey::from_bytes(KEY), dir, &h, &mut buf, body.len()).expect("fits");
    buf.truncate(n);
    buf
}

fuzz_target!(|data: &[u8]| {
    let mut keys = MemoryKeyStore::new();
    keys.insert(DeviceId(7), KeyId(1), DeviceKey::from_bytes(KEY));
    keys.insert(DeviceId(8), KeyId(1), DeviceKey::from_bytes([8; 32]));
    keys.revoke(DeviceId(8));
    let mut terminal = SealedReceiver::new(MemoryStore::new(), keys, LinkSecurity::Sealed);
    // A kiosk whose seal store holds KEY as its link key (as after provisioning).
    let mut store = RamSealStore::new();
    store
        .store(&SealState {
            device: DeviceId(7),
            epoch: Epoch(1),
            key_id: KeyId(1),
            key: DeviceKey::from_bytes(KEY),
            uplink_reserved: 0,
            downlink_seen: 0,
        })
        .expect("stored");
    let mut kiosk = Sealer::resume(store, 4).expect("resumed");

    let mut rest = data;
    while let [op, len, tail @ ..] = rest {
        let n = (*len as usize).min(tail.len());
        let (bytes, tail) = tail.split_at(n);
        rest = tail;
        match op % 5 {
            0 | 1 => {
                let mut payload = if op % 5 == 0 {
                    bytes.to_vec()
                } else {
                    sealed(Direction::Uplink, bytes)
                };
                let before = terminal.store().records().len();
                let mut out = [0u8; MAX_SEALED_CONTROL_LEN];
                let o = terminal
                    .handle(Some(1_773_563_400), &mut payload, &mut out)
                    .expect("fits");
                if let SealedReceiverEvent::Rejected(_) = o.event {
                    assert_eq!(o.reply_len, 0);
                    assert_eq!(
                        terminal.store().records().len(),
                        before,
                        "rejected frame committed"
                    );
                }
                // The reply opens at the kiosk when it is sealed for it.
                if o.reply_len > 0 {
                    let _ = kiosk.open(&mut out[..o.reply_len]);
                }
            }
            2 | 3 => {
                let mut payload = if op % 5 == 2 {
                    bytes.to_vec()
                } else {
                    sealed(Direction::Downlink, bytes)
                };
                let mark = kiosk.next_counter();
                match kiosk.open(&mut payload) {
                    Ok(Opened::Rekey(r)) => {
                        let id = r.key_id;
                        kiosk.apply_rekey(r).expect("ram store");
                        assert_eq!(kiosk.key_id(), id);
                    }
                    Ok(Opened::Message { .. }) => {}
                    Err(_) => assert_eq!(kiosk.next_counter(), mark),
                }
            }
            _ => {
                let _ = Provision::decode(bytes);
                let _ = Rekey::decode(bytes);
                let _ = SealHeader::decode(bytes);
                if let Some(s) = SealState::from_bytes(bytes) {
                    assert_eq!(&s.to_bytes()[..], bytes);
                }
            }
        }
    }
});
