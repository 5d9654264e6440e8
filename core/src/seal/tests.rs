use std::format;
use std::vec::Vec;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::Nonce;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::*;
use crate::ids::{DeviceId, Epoch};

fn key(b: u8) -> DeviceKey {
    DeviceKey::from_bytes([b; KEY_LEN])
}

fn hex(s: &str) -> Vec<u8> {
    let s: std::string::String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn header(counter: u32) -> SealHeader {
    SealHeader {
        key_id: KeyId(1),
        device: DeviceId(7),
        epoch: Epoch(1),
        counter,
        reply_to: 0,
    }
}

/// The kiosk's salt in these tests (a real kiosk draws it from its RNG).
const SALT: [u8; PROVISION_SALT_LEN] = [
    0x5a, 0x13, 0xc7, 0x02, 0x9e, 0x41, 0xd8, 0x66, 0x0b, 0xf4, 0x27, 0x8a, 0x31, 0xe5, 0x7c, 0x90,
];

/// The link key of a kiosk provisioned with key 0x42 and [`SALT`].
fn link42() -> DeviceKey {
    link_key(&key(0x42), &SALT)
}

fn provision_bytes(device: u32, epoch: u32, key_id: u32, k: &DeviceKey) -> Vec<u8> {
    let p = Provision {
        device: DeviceId(device),
        epoch: Epoch(epoch),
        key_id: KeyId(key_id),
        key: k.clone(),
    };
    let mut b = [0u8; MAX_PROVISION_LEN];
    let n = p.encode(&mut b).unwrap();
    b[..n].to_vec()
}

/// A kiosk provisioned as device 7, epoch 1, key 1 (0x42 bytes, link key [`link42`]).
fn provisioned(lease: u32) -> Sealer<RamSealStore> {
    let b = provision_bytes(7, 1, 1, &key(0x42));
    Sealer::provision(RamSealStore::new(), &b, true, lease, &SALT)
        .unwrap()
        .0
}

/// What the terminal would send: `plain` sealed downlink for device 7 epoch 1.
fn downlink(k: &DeviceKey, key_id: u32, counter: u32, plain: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 256];
    buf[..plain.len()].copy_from_slice(plain);
    let h = SealHeader {
        key_id: KeyId(key_id),
        ..header(counter)
    };
    let n = seal_in_place(k, Direction::Downlink, &h, &mut buf, plain.len()).unwrap();
    buf[..n].to_vec()
}

#[test]
fn cipher_matches_rfc8439_aead_vector() {
    // RFC 8439 section 2.8.2: key 80..9f, nonce 07000000 4041424344454647, AAD
    // 50515253c0c1c2c3c4c5c6c7, the "sunscreen" plaintext.
    let k = DeviceKey::from_slice(&(0x80u8..=0x9f).collect::<Vec<_>>()).unwrap();
    let mut text = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".to_vec();
    assert_eq!(text.len(), 114);
    let nonce = Nonce::from([7, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47]);
    let aad = hex("50515253c0c1c2c3c4c5c6c7");
    let tag = k
        .cipher()
        .encrypt_inout_detached(&nonce, &aad, text.as_mut_slice().into())
        .unwrap();
    assert_eq!(&text[..16], &hex("d31a8d34648e60db7b86afbc53ef7ec2")[..]);
    assert_eq!(&text[112..], &hex("6116")[..]);
    assert_eq!(tag.as_slice(), &hex("1ae10b594f09e26a7e902ecbd0600691")[..]);
}

#[test]
fn nonce_layout() {
    // direction byte, three zeros, epoch LE, counter LE.
    assert_eq!(
        nonce(Direction::Downlink, Epoch(0x0102_0304), 0x0A0B_0C0D),
        [1, 0, 0, 0, 4, 3, 2, 1, 0x0D, 0x0C, 0x0B, 0x0A]
    );
    assert_eq!(
        nonce(Direction::Uplink, Epoch(1), 1),
        [0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]
    );
}

#[test]
fn header_bytes_and_strict_decoding() {
    // 0xA1, key 1, device 7, epoch 1, counter 300 = 0xAC 0x02 (LEB128).
    let h = header(300);
    let mut b = [0u8; MAX_SEAL_HEADER_LEN];
    let n = h.encode(&mut b).unwrap();
    assert_eq!(&b[..n], &[0xA1, 1, 7, 1, 0xAC, 0x02]);
    assert_eq!(h.encoded_len(), 6);
    assert_eq!(SealHeader::decode(&b[..n]), Ok((h, 6)));
    // Longest header: a reply's five 5-byte varints.
    let max = SealHeader {
        key_id: KeyId(u32::MAX),
        device: DeviceId(u32::MAX),
        epoch: Epoch(u32::MAX),
        counter: u32::MAX,
        reply_to: u32::MAX,
    };
    assert_eq!(max.encoded_len(), MAX_SEAL_HEADER_LEN);
    // Wrong marker, counter 0, device 0, epoch 0, non-canonical varint, truncation.
    for bad in [
        &[0xA2, 1, 7, 1, 1][..],
        &[0xA1, 1, 7, 1, 0],
        &[0xA1, 1, 0, 1, 1],
        &[0xA1, 1, 7, 0, 1],
        &[0xA1, 1, 7, 1, 0x81, 0x00],
        &[0xA1, 1, 7, 1],
        &[],
    ] {
        assert_eq!(
            SealHeader::decode(bad),
            Err(OpenError::Malformed),
            "{bad:?}"
        );
    }
    // A reply: marker 0xA4 and the answered counter 300 at the end.
    let r = SealHeader {
        reply_to: 300,
        ..header(5)
    };
    let n = r.encode(&mut b).unwrap();
    assert_eq!(&b[..n], &[0xA4, 1, 7, 1, 5, 0xAC, 0x02]);
    assert_eq!(SealHeader::decode(&b[..n]), Ok((r, 7)));
    // A reply marker with reply counter 0 is not canonical.
    assert_eq!(
        SealHeader::decode(&[0xA4, 1, 7, 1, 5, 0]),
        Err(OpenError::Malformed)
    );
    // A plain message never starts with the marker (variant numbers are below 128).
    assert!(!is_sealed(&[3, 1, 1]));
    assert!(is_sealed(&[0xA1]));
}

#[test]
fn seal_adds_header_and_tag_only() {
    let k = key(9);
    let mut buf = [0u8; 64];
    buf[..4].copy_from_slice(&[3, 1, 0xAC, 0x02]); // Ack { epoch 1, watermark 300 }
    let h = header(1);
    let n = seal_in_place(&k, Direction::Uplink, &h, &mut buf, 4).unwrap();
    // 5 header bytes (marker, key 1, device 7, epoch 1, counter 1) + 4 + 16.
    assert_eq!(n, 5 + 4 + TAG_LEN);
    assert_eq!(&buf[..5], &[0xA1, 1, 7, 1, 1]);
    assert_ne!(&buf[5..9], &[3, 1, 0xAC, 0x02], "body is encrypted");
    let (oh, plain) = open_in_place(&k, Direction::Uplink, &mut buf[..n]).unwrap();
    assert_eq!(oh, h);
    assert_eq!(plain, &[3, 1, 0xAC, 0x02]);
    // Too small a buffer is refused, saying how much is needed.
    let mut small = [0u8; 24];
    assert_eq!(
        seal_in_place(&k, Direction::Uplink, &h, &mut small, 4),
        Err(SealError::BufferTooSmall { needed: 25 })
    );
}

#[test]
fn every_altered_byte_truncation_and_reflection_is_rejected() {
    let k = key(9);
    let mut buf = [0u8; 64];
    buf[..10].copy_from_slice(b"0123456789");
    let n = seal_in_place(&k, Direction::Uplink, &header(77), &mut buf, 10).unwrap();
    let sealed = buf[..n].to_vec();
    for i in 0..n {
        for bit in [0x01u8, 0x80] {
            let mut t = sealed.clone();
            t[i] ^= bit;
            let r = open_in_place(&k, Direction::Uplink, &mut t);
            assert!(
                matches!(r, Err(OpenError::BadTag) | Err(OpenError::Malformed)),
                "byte {i} bit {bit:#x}: {r:?}"
            );
            if i >= 5 {
                // Body and tag bytes: the header still parses, the tag fails.
                assert!(matches!(r, Err(OpenError::BadTag)));
            }
        }
    }
    // Truncated: every shorter prefix is refused.
    for len in 0..n {
        let mut t = sealed[..len].to_vec();
        let r = open_in_place(&k, Direction::Uplink, &mut t);
        assert!(
            matches!(r, Err(OpenError::BadTag) | Err(OpenError::Malformed)),
            "{len}"
        );
    }
    // Reflected back to its sender (other direction), or under another key.
    let mut t = sealed.clone();
    assert_eq!(
        open_in_place(&k, Direction::Downlink, &mut t).unwrap_err(),
        OpenError::BadTag
    );
    let mut t = sealed.clone();
    assert_eq!(
        open_in_place(&key(8), Direction::Uplink, &mut t).unwrap_err(),
        OpenError::BadTag
    );
    // A failed open leaves the bytes as they were.
    assert_eq!(t, sealed);
}

#[test]
fn keys_never_print() {
    let k = DeviceKey::from_bytes([0xAB; KEY_LEN]);
    let d = format!("{k:?}");
    assert_eq!(d, "DeviceKey(<redacted>)");
    let p = Provision {
        device: DeviceId(7),
        epoch: Epoch(1),
        key_id: KeyId(1),
        key: k.clone(),
    };
    let s = format!(
        "{p:?} {:?} {:?}",
        provisioned(4),
        KeyLookup::Active(k.clone())
    );
    assert!(
        !s.to_lowercase().contains("ab, ") && !s.contains("171"),
        "{s}"
    );
    assert!(s.contains("<redacted>"));
    #[cfg(feature = "alloc")]
    {
        let mut ks = MemoryKeyStore::new();
        ks.insert(DeviceId(7), KeyId(1), k);
        let s = format!("{ks:?}");
        assert!(!s.contains("171") && s.contains("<redacted>"), "{s}");
    }
}

#[test]
fn keys_zeroize() {
    fn zeroize_on_drop<T: ZeroizeOnDrop>() {}
    zeroize_on_drop::<DeviceKey>();
    let mut k = key(0x5A);
    k.zeroize();
    assert_eq!(k.as_bytes(), &[0u8; KEY_LEN]);
    // Constant-time equality still compares.
    assert_eq!(key(1), key(1));
    assert_ne!(key(1), key(2));
}

#[test]
fn provision_bytes_and_mode() {
    let p = Provision {
        device: DeviceId(7),
        epoch: Epoch(2),
        key_id: KeyId(1),
        key: key(0x42),
    };
    let mut b = [0u8; MAX_PROVISION_LEN];
    let n = p.encode(&mut b).unwrap();
    // 0xA2, device 7, epoch 2, key id 1, 32 key bytes.
    assert_eq!(n, 4 + KEY_LEN);
    assert_eq!(&b[..4], &[0xA2, 7, 2, 1]);
    assert_eq!(Provision::decode(&b[..n]).unwrap(), p);
    // Not in provisioning mode: refused, nothing stored.
    let mut store = RamSealStore::new();
    assert_eq!(
        Sealer::provision(&mut store, &b[..n], false, 8, &SALT).unwrap_err(),
        ProvisionError::NotInProvisioningMode
    );
    assert!(store.state().is_none());
    // Truncated, extended, device 0: malformed.
    let mut longer = b[..n].to_vec();
    longer.push(0);
    for bad in [&b[..n - 1], &longer[..], &[0xA2, 0, 2, 1]] {
        assert_eq!(
            Sealer::provision(&mut store, bad, true, 8, &SALT).unwrap_err(),
            ProvisionError::Malformed
        );
    }
    assert_eq!(
        Sealer::resume(&mut store, 8).unwrap_err(),
        SealerError::NotProvisioned
    );
    let (s, _) = Sealer::provision(&mut store, &b[..n], true, 8, &SALT).unwrap();
    assert_eq!(
        (s.device(), s.epoch(), s.key_id()),
        (DeviceId(7), Epoch(2), KeyId(1))
    );
    assert_eq!(s.next_counter(), 1);
}

#[test]
fn lease_is_persisted_before_use_and_survives_resets() {
    let mut s = provisioned(4);
    assert_eq!(s.store().writes(), 1); // the provisioning itself
    let mut counters = Vec::new();
    for _ in 0..6 {
        let mut buf = [0u8; 64];
        let n = s.seal(&mut buf, 3).unwrap();
        counters.push(SealHeader::decode(&buf[..n]).unwrap().0.counter);
        // Whatever was used is covered by the persisted lease.
        let persisted = s.store().state().unwrap().uplink_reserved;
        assert!(*counters.last().unwrap() <= persisted);
    }
    assert_eq!(counters, [1, 2, 3, 4, 5, 6]);
    // Two lease writes of 4 counters: 1..=4, 5..=8.
    assert_eq!(s.store().writes(), 3);
    assert_eq!(s.store().state().unwrap().uplink_reserved, 8);
    // Reset mid-lease: the kiosk resumes after the persisted end (7 and 8 are skipped).
    let store = s.into_store();
    let mut s = Sealer::resume(store, 4).unwrap();
    let mut buf = [0u8; 64];
    let n = s.seal(&mut buf, 3).unwrap();
    assert_eq!(SealHeader::decode(&buf[..n]).unwrap().0.counter, 9);
}

/// A store whose writes can be made to fail (a power cut before the write lands).
struct FlakyStore {
    inner: RamSealStore,
    fail: bool,
}

impl SealStore for FlakyStore {
    type Error = &'static str;
    fn load(&mut self) -> Result<Option<SealState>, &'static str> {
        Ok(self.inner.load().unwrap_or_else(|e| match e {}))
    }
    fn store(&mut self, state: &SealState) -> Result<(), &'static str> {
        if self.fail {
            return Err("power lost");
        }
        self.inner.store(state).unwrap_or_else(|e| match e {});
        Ok(())
    }
}

#[test]
fn failed_lease_write_uses_no_counter() {
    let s = provisioned(2);
    let mut store = FlakyStore {
        inner: s.into_store(),
        fail: false,
    };
    let mut s = Sealer::resume(&mut store, 2).unwrap();
    let mut buf = [0u8; 64];
    s.seal(&mut buf, 1).unwrap(); // 1 (lease 1..=2)
    s.seal(&mut buf, 1).unwrap(); // 2
    drop(s);
    store.fail = true;
    let mut s = Sealer::resume(&mut store, 2).unwrap();
    assert_eq!(s.seal(&mut buf, 1), Err(SealError::Store("power lost")));
    assert_eq!(s.seal(&mut buf, 1), Err(SealError::Store("power lost")));
    drop(s);
    store.fail = false;
    let mut s = Sealer::resume(&mut store, 2).unwrap();
    let n = s.seal(&mut buf, 1).unwrap();
    // Nothing beyond the persisted end (2) was used: the next counter is 3.
    assert_eq!(SealHeader::decode(&buf[..n]).unwrap().0.counter, 3);
}

#[test]
fn counter_never_wraps() {
    let mut s = provisioned(16);
    let mut store = s.into_store();
    let mut st = store.state().unwrap().clone();
    st.uplink_reserved = u32::MAX - 2;
    store.store(&st).unwrap();
    s = Sealer::resume(store, 16).unwrap();
    let mut buf = [0u8; 64];
    for expected in [u32::MAX - 1, u32::MAX] {
        let n = s.seal(&mut buf, 1).unwrap();
        assert_eq!(SealHeader::decode(&buf[..n]).unwrap().0.counter, expected);
    }
    assert_eq!(s.counters_left(), 0);
    assert_eq!(s.seal(&mut buf, 1), Err(SealError::CounterExhausted));
    assert_eq!(s.seal(&mut buf, 1), Err(SealError::CounterExhausted));
    // After a reset it stays exhausted.
    let mut s = Sealer::resume(s.into_store(), 16).unwrap();
    assert_eq!(s.seal(&mut buf, 1), Err(SealError::CounterExhausted));
    // A new epoch (provisioning) starts again at 1.
    let p = Provision {
        device: DeviceId(7),
        epoch: Epoch(2),
        key_id: KeyId(1),
        key: key(0x43),
    };
    let mut b = [0u8; MAX_PROVISION_LEN];
    let n = p.encode(&mut b).unwrap();
    let (mut s, _) = Sealer::provision(s.into_store(), &b[..n], true, 16, &SALT).unwrap();
    let m = s.seal(&mut buf, 1).unwrap();
    assert_eq!(
        SealHeader::decode(&buf[..m]).unwrap().0,
        SealHeader {
            key_id: KeyId(1),
            device: DeviceId(7),
            epoch: Epoch(2),
            counter: 1,
            reply_to: 0,
        }
    );
}

#[test]
fn reprovisioning_moves_forward_only() {
    let mut s = provisioned(4);
    let mut buf = [0u8; 64];
    s.seal(&mut buf, 1).unwrap();
    // A greater key id at the same epoch: counting restarts at 1 under a new link key.
    let b5 = provision_bytes(7, 1, 5, &key(0x77));
    let salt2 = [7u8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    let (mut s, c) = Sealer::provision(s.into_store(), &b5, true, 4, &salt2).unwrap();
    let m = s.seal(&mut buf, 1).unwrap();
    let h = SealHeader::decode(&buf[..m]).unwrap().0;
    assert_eq!((h.key_id, h.counter), (KeyId(5), 1));
    assert_eq!(s.store().state().unwrap().key, link_key(&key(0x77), &salt2));
    assert_eq!(
        c.fingerprint(),
        KeyFingerprint::of(&link_key(&key(0x77), &salt2))
    );
    // The same payload again, an older key id at this epoch, an older epoch: stale,
    // nothing stored.
    let mut store = s.into_store();
    let before = store.state().cloned();
    for stale in [
        b5.clone(),
        provision_bytes(7, 1, 4, &key(0x78)),
        provision_bytes(7, 1, 1, &key(0x42)),
    ] {
        assert_eq!(
            Sealer::provision(&mut store, &stale, true, 4, &SALT).unwrap_err(),
            ProvisionError::Stale
        );
    }
    let (mut s, _) = Sealer::provision(
        &mut store,
        &provision_bytes(7, 2, 1, &key(0x79)),
        true,
        4,
        &SALT,
    )
    .unwrap();
    assert_eq!(s.epoch(), Epoch(2));
    let _ = s.seal(&mut buf, 1).unwrap();
    let mut store = s.into_store();
    assert_ne!(store.state().cloned(), before);
    assert_eq!(
        Sealer::provision(&mut store, &b5, true, 4, &SALT).unwrap_err(),
        ProvisionError::Stale,
        "epoch 1 is older than epoch 2"
    );
    // Another device id (the kiosk re-purposed) starts afresh.
    assert!(Sealer::provision(
        &mut store,
        &provision_bytes(9, 1, 1, &key(1)),
        true,
        4,
        &SALT
    )
    .is_ok());
}

/// Review finding 5: the uplink nonce is (direction, epoch, counter); a wiped kiosk
/// provisioned again with the same payload restarted its counters at 1 under the same key,
/// and re-provisioning an older key id at the same epoch sealed counters a second time
/// under the old key. The kiosk's salt makes every provisioning a new key, stale payloads
/// are refused, and this test records every (key, nonce) sealed over random sequences of
/// provisioning (fresh or replayed payloads), rotation, sealing, reset and wipe, and
/// asserts that none repeats.
#[test]
fn no_key_nonce_pair_is_ever_sealed_twice() {
    use std::collections::BTreeSet;
    // A small deterministic generator (xorshift64*), seeded per run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn salt(&mut self) -> [u8; PROVISION_SALT_LEN] {
            let mut s = [0u8; PROVISION_SALT_LEN];
            for chunk in s.chunks_mut(8) {
                chunk.copy_from_slice(&self.next().to_le_bytes());
            }
            s
        }
    }
    let mut used: BTreeSet<([u8; KEY_LEN], [u8; NONCE_LEN])> = BTreeSet::new();
    let mut sealed = 0u32;
    for seed in 1..=200u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        // Every payload the terminal ever sent (an integrator may replay any of them).
        let mut payloads: Vec<Vec<u8>> = Vec::new();
        let mut store = RamSealStore::new();
        let mut sealer: Option<Sealer<RamSealStore>> = None;
        let (mut epoch, mut key_id) = (1u32, 1u32);
        for _ in 0..60 {
            match rng.below(6) {
                // Provision: a fresh payload, or one sent before (replayed).
                0 => {
                    let payload = if payloads.is_empty() || rng.below(2) == 0 {
                        if rng.below(2) == 0 {
                            epoch += 1;
                        } else {
                            key_id += 1;
                        }
                        let k = DeviceKey::from_bytes({
                            let mut b = [0u8; KEY_LEN];
                            for c in b.chunks_mut(8) {
                                c.copy_from_slice(&rng.next().to_le_bytes());
                            }
                            b
                        });
                        let p = provision_bytes(7, epoch, key_id, &k);
                        payloads.push(p.clone());
                        p
                    } else {
                        payloads[rng.below(payloads.len() as u64) as usize].clone()
                    };
                    let st = sealer
                        .take()
                        .map(|s| s.into_store())
                        .unwrap_or(store.clone());
                    let salt = rng.salt();
                    let mut st2 = st.clone();
                    match Sealer::provision(&mut st2, &payload, true, 4, &salt) {
                        Ok(_) => store = st2,
                        Err(ProvisionError::Stale) => store = st,
                        Err(e) => panic!("{e:?}"),
                    }
                    sealer = Sealer::resume(store.clone(), 4).ok();
                }
                // Rotation to a fresh key.
                1 => {
                    if let Some(s) = sealer.as_mut() {
                        key_id = key_id.max(s.key_id().0) + 1;
                        let mut b = [0u8; KEY_LEN];
                        for c in b.chunks_mut(8) {
                            c.copy_from_slice(&rng.next().to_le_bytes());
                        }
                        s.apply_rekey(Rekey {
                            key_id: KeyId(key_id),
                            key: DeviceKey::from_bytes(b),
                        })
                        .unwrap();
                    }
                }
                // Reset (power cut): resume from the store.
                2 => {
                    if let Some(s) = sealer.take() {
                        store = s.into_store();
                        sealer = Sealer::resume(store.clone(), 4).ok();
                    }
                }
                // Wipe: the kiosk forgets everything.
                3 => {
                    sealer = None;
                    store = RamSealStore::new();
                }
                // Seal a few frames.
                _ => {
                    if let Some(s) = sealer.as_mut() {
                        for _ in 0..rng.below(10) {
                            let st = s.store().state().unwrap().clone();
                            let mut buf = [0u8; 64];
                            let m = s.seal(&mut buf, 1).unwrap();
                            let h = SealHeader::decode(&buf[..m]).unwrap().0;
                            let n = nonce(Direction::Uplink, h.epoch, h.counter);
                            assert!(
                                used.insert((*st.key.as_bytes(), n)),
                                "seed {seed}: (key, nonce) reused at {h:?}"
                            );
                            sealed += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(sealed > 5_000, "the sequences sealed {sealed} frames");
}

/// The kiosk's proof of possession: the terminal accepts the confirmation only for the
/// provisioning it sent, and learns the same link key and fingerprint as the kiosk.
#[test]
fn provisioning_confirmation_proves_the_link_key() {
    let p = Provision {
        device: DeviceId(7),
        epoch: Epoch(1),
        key_id: KeyId(1),
        key: key(0x42),
    };
    let b = provision_bytes(7, 1, 1, &key(0x42));
    let (s, c) = Sealer::provision(RamSealStore::new(), &b, true, 4, &SALT).unwrap();
    let bytes = c.as_bytes();
    // marker, salt, device 7, epoch 1, key id 1, tag.
    assert_eq!(bytes.len(), 1 + PROVISION_SALT_LEN + 3 + TAG_LEN);
    assert_eq!(bytes[0], PROVISION_CONFIRM_MARKER);
    assert_eq!(&bytes[1..17], &SALT);
    assert_eq!(&bytes[17..20], &[7, 1, 1]);
    let confirmed = open_provision_confirmation(&p, bytes).unwrap();
    assert_eq!(confirmed.link_key, link42());
    assert_eq!(&confirmed.link_key, &s.store().state().unwrap().key);
    assert_eq!(confirmed.fingerprint, c.fingerprint());
    // The kiosk's counters were not touched.
    assert_eq!(s.next_counter(), 1);
    // Every altered byte and every truncation is refused.
    for i in 0..bytes.len() {
        let mut t = bytes.to_vec();
        t[i] ^= 0x01;
        assert!(open_provision_confirmation(&p, &t).is_err(), "byte {i}");
        assert!(open_provision_confirmation(&p, &bytes[..i]).is_err());
    }
    // For another provisioning (other key, device, epoch, key id): refused.
    let other = |f: fn(&mut Provision)| {
        let mut q = p.clone();
        f(&mut q);
        open_provision_confirmation(&q, bytes).unwrap_err()
    };
    assert_eq!(other(|q| q.key = key(0x43)), OpenError::BadTag);
    assert_eq!(other(|q| q.device = DeviceId(8)), OpenError::UnknownDevice);
    assert_eq!(
        other(|q| q.epoch = Epoch(2)),
        OpenError::WrongEpoch {
            expected: 2,
            got: 1
        }
    );
    assert_eq!(other(|q| q.key_id = KeyId(2)), OpenError::UnknownKey);
    // A salt that is not random is refused.
    assert_eq!(
        Sealer::provision(RamSealStore::new(), &b, true, 4, &[0u8; 16]).unwrap_err(),
        ProvisionError::WeakSalt
    );
}

/// HChaCha20 test vector of draft-irtf-cfrg-xchacha-03, section 2.2.1: `link_key` is
/// exactly HChaCha20 of the provisioned key and the salt.
#[test]
fn link_key_is_hchacha20() {
    let k = DeviceKey::from_slice(&hex(
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    ))
    .unwrap();
    let salt: [u8; 16] = hex("000000090000004a0000000031415927").try_into().unwrap();
    assert_eq!(
        link_key(&k, &salt).as_bytes().to_vec(),
        hex("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")
    );
    assert_eq!(
        format!("{}", KeyFingerprint([0x1a, 0x2b, 0x3c, 0x4d])),
        "1A2B-3C4D"
    );
}

#[test]
fn downlink_checks_device_epoch_key_and_replay() {
    let mut s = provisioned(4);
    let k = link42();
    // A plain ack, sealed downlink with counter 5.
    let ack = [3u8, 1, 2];
    let mut f = downlink(&k, 1, 5, &ack);
    assert_eq!(
        s.open(&mut f).unwrap(),
        Opened::Message {
            plain: &ack[..],
            reply_to: 0
        }
    );
    // Replayed, and older.
    let mut f = downlink(&k, 1, 5, &ack);
    assert_eq!(
        s.open(&mut f).unwrap_err(),
        OpenError::Replayed { last: 5, got: 5 }
    );
    let mut f = downlink(&k, 1, 4, &ack);
    assert_eq!(
        s.open(&mut f).unwrap_err(),
        OpenError::Replayed { last: 5, got: 4 }
    );
    // Uplink direction (a kiosk frame reflected back): bad tag.
    let mut buf = [0u8; 64];
    buf[..3].copy_from_slice(&ack);
    let n = seal_in_place(&k, Direction::Uplink, &header(6), &mut buf, 3).unwrap();
    assert_eq!(s.open(&mut buf[..n]).unwrap_err(), OpenError::BadTag);
    // Another key id, another device, another epoch, plain.
    let mut f = downlink(&k, 2, 7, &ack);
    assert_eq!(s.open(&mut f).unwrap_err(), OpenError::UnknownKey);
    let mut buf = [0u8; 64];
    buf[..3].copy_from_slice(&ack);
    let other_dev = SealHeader {
        device: DeviceId(8),
        ..header(8)
    };
    let n = seal_in_place(&k, Direction::Downlink, &other_dev, &mut buf, 3).unwrap();
    assert_eq!(s.open(&mut buf[..n]).unwrap_err(), OpenError::UnknownDevice);
    let other_epoch = SealHeader {
        epoch: Epoch(3),
        ..header(8)
    };
    let mut buf = [0u8; 64];
    buf[..3].copy_from_slice(&ack);
    let n = seal_in_place(&k, Direction::Downlink, &other_epoch, &mut buf, 3).unwrap();
    assert_eq!(
        s.open(&mut buf[..n]).unwrap_err(),
        OpenError::WrongEpoch {
            expected: 1,
            got: 3
        }
    );
    assert_eq!(
        s.open(&mut ack.clone()).unwrap_err(),
        OpenError::UnsealedRefused
    );
    // Forged tag (right header, wrong key).
    let mut f = downlink(&key(0x41), 1, 9, &ack);
    assert_eq!(s.open(&mut f).unwrap_err(), OpenError::BadTag);
    // None of that moved the mark: counter 6 still opens.
    let mut f = downlink(&k, 1, 6, &ack);
    assert!(s.open(&mut f).is_ok());
}

#[test]
fn rekey_moves_to_the_new_key() {
    let mut s = provisioned(4);
    let k1 = link42();
    let k2 = key(0x99);
    let mut plain = [0u8; MAX_REKEY_LEN];
    let n = Rekey {
        key_id: KeyId(2),
        key: k2.clone(),
    }
    .encode(&mut plain)
    .unwrap();
    assert_eq!(&plain[..2], &[0xA3, 2]);
    let mut f = downlink(&k1, 1, 10, &plain[..n]);
    let Opened::Rekey(r) = s.open(&mut f).unwrap() else {
        panic!("not a rekey")
    };
    // The decrypted key does not linger in the frame buffer.
    assert!(!f.windows(KEY_LEN).any(|w| w == k2.as_bytes()));
    s.apply_rekey(r).unwrap();
    assert_eq!(s.key_id(), KeyId(2));
    assert_eq!(s.store().state().unwrap().key, k2);
    // Uplink now under key 2, counting from 1 again.
    let mut buf = [0u8; 64];
    let m = s.seal(&mut buf, 1).unwrap();
    let h = SealHeader::decode(&buf[..m]).unwrap().0;
    assert_eq!((h.key_id, h.counter), (KeyId(2), 1));
    assert_eq!(
        FrameCounter::of(&h),
        FrameCounter {
            key_id: KeyId(2),
            counter: 1
        }
    );
    assert!(
        FrameCounter::of(&h)
            > FrameCounter {
                key_id: KeyId(1),
                counter: u32::MAX
            }
    );
    // Terminal counters under key 2 start again; key 1 frames are refused.
    let ack = [3u8, 1, 2];
    let mut f = downlink(&k2, 2, 1, &ack);
    assert!(s.open(&mut f).is_ok());
    let mut f = downlink(&k1, 1, 11, &ack);
    assert_eq!(s.open(&mut f).unwrap_err(), OpenError::UnknownKey);
    // A rekey that does not move forward is malformed.
    let n = Rekey {
        key_id: KeyId(2),
        key: key(1),
    }
    .encode(&mut plain)
    .unwrap();
    let mut f = downlink(&k2, 2, 2, &plain[..n]);
    assert_eq!(s.open(&mut f).unwrap_err(), OpenError::Malformed);
}

#[test]
fn seal_state_layout() {
    let st = SealState {
        device: DeviceId(0x0102_0304),
        epoch: Epoch(2),
        key_id: KeyId(3),
        key: key(0xEE),
        uplink_reserved: 64,
        downlink_seen: 5,
    };
    let b = st.to_bytes();
    assert_eq!(b.len(), 53);
    assert_eq!(&b[..9], &[1, 4, 3, 2, 1, 2, 0, 0, 0]);
    assert_eq!(&b[13..21], &[64, 0, 0, 0, 5, 0, 0, 0]);
    assert_eq!(SealState::from_bytes(&b[..]), Some(st));
    assert_eq!(SealState::from_bytes(&b[..52]), None);
    let mut v2 = *b;
    v2[0] = 2;
    assert_eq!(SealState::from_bytes(&v2), None);
}

#[cfg(feature = "alloc")]
#[test]
fn memory_key_store_lookup_revoke_rotate_lease() {
    let mut ks = MemoryKeyStore::new();
    assert_eq!(
        ks.lookup(DeviceId(7), KeyId(1)),
        Ok(KeyLookup::UnknownDevice)
    );
    ks.insert(DeviceId(7), KeyId(1), key(1));
    ks.insert(DeviceId(7), KeyId(2), key(2));
    assert_eq!(
        ks.lookup(DeviceId(7), KeyId(2)),
        Ok(KeyLookup::Active(key(2)))
    );
    assert_eq!(ks.lookup(DeviceId(7), KeyId(3)), Ok(KeyLookup::UnknownKey));
    assert_eq!(ks.reserve_downlink(DeviceId(7), KeyId(1), 64), Ok(Some(1)));
    assert_eq!(ks.reserve_downlink(DeviceId(7), KeyId(1), 64), Ok(Some(65)));
    assert_eq!(ks.reserve_downlink(DeviceId(7), KeyId(2), 64), Ok(Some(1)));
    assert_eq!(ks.reserve_downlink(DeviceId(8), KeyId(1), 64), Ok(None));
    ks.key_used(DeviceId(7), KeyId(2)).unwrap();
    assert_eq!(ks.key_ids(DeviceId(7)), [KeyId(2)]);
    ks.revoke(DeviceId(7));
    assert_eq!(ks.lookup(DeviceId(7), KeyId(2)), Ok(KeyLookup::Revoked));
}
