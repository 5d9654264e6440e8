//! Sealed sync end to end: a kiosk ([`SealedSender`]) and a terminal ([`SealedReceiver`])
//! with hostile input in between. Every tampered, truncated, replayed, forged, revoked or
//! unknown frame is rejected with its specific error, nothing of it is committed, and the
//! legitimate stream continues exactly once and in order.

use tcmcare_conformance::canonical_records;
use tcmcare_core::ids::{DeviceId, Epoch, RecordId, Seq};
use tcmcare_core::record::{Kind, Record};
use tcmcare_core::seal::{
    link_key, open_in_place, seal_in_place, DeviceKey, Direction, FrameCounter, KeyId,
    MemoryKeyStore, OpenError, Provision, RamSealStore, SealError, SealHeader, SealStore, Sealer,
    MAX_PROVISION_LEN, MAX_SEALED_REKEY_LEN, PROVISION_SALT_LEN, TAG_LEN,
};
use tcmcare_core::sync::{
    Ack, LinkSecurity, MemoryStore, Message, Outbox, RamStorage, Receiver, ReceiverEvent,
    SealedReceiver, SealedReceiverEvent, SealedReplyError, SealedSender, SealedSenderError,
    SealedSenderEvent, Sender, SenderConfig, SenderEvent, TimeSync, MAX_SEALED_CONTROL_LEN,
};
use tcmcare_core::wire::{encode_frame, max_frame_len, MAX_ENVELOPE_LEN};

const DEVICE: u32 = 7;
const EPOCH: u32 = 1;
/// 2026-03-15T08:30:00Z.
const T_BASE: u64 = 1_773_563_400;

type Kiosk = SealedSender<RamStorage<8192>, RamSealStore>;
type Terminal = SealedReceiver<MemoryStore, MemoryKeyStore>;

fn key(b: u8) -> DeviceKey {
    DeviceKey::from_bytes([b; 32])
}

fn provision_payload(device: u32, epoch: u32, key_id: u32, k: &DeviceKey) -> Vec<u8> {
    let p = Provision {
        device: DeviceId(device),
        epoch: Epoch(epoch),
        key_id: KeyId(key_id),
        key: k.clone(),
    };
    let mut b = [0u8; MAX_PROVISION_LEN];
    let n = p.encode(&mut b).expect("fits");
    b[..n].to_vec()
}

/// The kiosks' salt in these tests (a real kiosk draws it from its RNG).
const SALT: [u8; PROVISION_SALT_LEN] = *b"tests/seal salt!";

/// The key a kiosk provisioned with payload key `k` seals with (and its terminal keeps).
fn link(k: &DeviceKey) -> DeviceKey {
    link_key(k, &SALT)
}

fn sealer(device: u32, k: &DeviceKey, lease: u32) -> Sealer<RamSealStore> {
    let p = provision_payload(device, EPOCH, 1, k);
    Sealer::provision(RamSealStore::new(), &p, true, lease, &SALT)
        .expect("provisioned")
        .0
}

fn kiosk_from(storage: RamStorage<8192>, sealer: Sealer<RamSealStore>, boot: u32) -> Kiosk {
    let outbox = Outbox::open(storage, sealer.device(), sealer.epoch()).expect("outbox");
    SealedSender::new(outbox, SenderConfig::default(), boot, true, sealer).expect("sender")
}

fn kiosk() -> Kiosk {
    kiosk_from(RamStorage::new(), sealer(DEVICE, &key(0x42), 64), 1)
}

fn terminal() -> Terminal {
    let mut keys = MemoryKeyStore::new();
    keys.insert(DeviceId(DEVICE), KeyId(1), link(&key(0x42)));
    keys.insert(DeviceId(8), KeyId(1), link(&key(0x08)));
    SealedReceiver::new(MemoryStore::new(), keys, LinkSecurity::Sealed)
}

/// The canonical vitals record of the golden vectors as `(device, epoch, seq)`.
fn vitals(device: u32, seq: u32) -> Vec<u8> {
    let mut r: Record = canonical_records()
        .into_iter()
        .find(|c| c.record.kind() == Kind::Vitals)
        .expect("vitals")
        .record;
    r.header.id = RecordId {
        device: DeviceId(device),
        epoch: Epoch(EPOCH),
        seq: Seq(seq),
    };
    let mut b = [0u8; MAX_ENVELOPE_LEN];
    let n = r.encode(&mut b).expect("valid");
    b[..n].to_vec()
}

fn push(k: &mut Kiosk, n: u32) {
    for _ in 0..n {
        let seq = k.next_seq().expect("seq").0;
        k.push(&vitals(DEVICE, seq)).expect("pushed");
    }
}

fn tx(k: &mut Kiosk, now: u64) -> Option<Vec<u8>> {
    let mut out = vec![0u8; 2048];
    let n = k.poll_transmit(now, &mut out).expect("poll")?;
    out.truncate(n);
    Some(out)
}

fn rx(t: &mut Terminal, payload: &[u8]) -> (SealedReceiverEvent, Vec<u8>) {
    let mut p = payload.to_vec();
    let mut out = [0u8; MAX_SEALED_CONTROL_LEN];
    let o = t
        .handle(Some(T_BASE), &mut p, &mut out)
        .expect("reply buffer");
    (o.event, out[..o.reply_len].to_vec())
}

fn back(k: &mut Kiosk, now: u64, reply: &[u8]) -> SealedSenderEvent {
    let mut p = reply.to_vec();
    k.handle(now, &mut p).expect("handle")
}

fn frame_len(payload: &[u8]) -> usize {
    let mut out = vec![0u8; max_frame_len(payload.len())];
    encode_frame(payload, &mut out).expect("frame")
}

/// Hello and welcome: returns the sealed hello.
fn introduce(k: &mut Kiosk, t: &mut Terminal) -> Vec<u8> {
    let hello = tx(k, 0).expect("hello");
    let (ev, reply) = rx(t, &hello);
    assert!(
        matches!(
            ev,
            SealedReceiverEvent::Sync(ReceiverEvent::Introduced { .. })
        ),
        "{ev:?}"
    );
    assert!(matches!(
        back(k, 1, &reply),
        SealedSenderEvent::Sync(SenderEvent::Welcomed { .. })
    ));
    hello
}

/// Exchanges until the outbox is empty (no faults).
fn drain(k: &mut Kiosk, t: &mut Terminal, now: &mut u64) {
    for _ in 0..1000 {
        if k.outbox().is_empty() {
            return;
        }
        *now += 10_000;
        while let Some(p) = tx(k, *now) {
            let (_, reply) = rx(t, &p);
            if !reply.is_empty() {
                back(k, *now, &reply);
            }
        }
    }
    panic!("outbox did not drain");
}

fn committed(t: &Terminal) -> usize {
    t.store().records().len()
}

fn assert_exactly_once_in_order(t: &Terminal, n: u32) {
    let recs = t.store().records();
    assert_eq!(recs.len(), n as usize);
    for (i, r) in recs.iter().enumerate() {
        let pos = i as u32 + 1;
        assert_eq!(
            (r.stream_device, r.stream_epoch, r.position),
            (DeviceId(DEVICE), Epoch(EPOCH), pos)
        );
        assert_eq!(r.envelope, vitals(DEVICE, pos));
    }
    assert_eq!(t.store().duplicates_skipped(), 0);
}

fn rejected(ev: SealedReceiverEvent) -> OpenError {
    match ev {
        SealedReceiverEvent::Rejected(e) => e,
        other => panic!("not rejected: {other:?}"),
    }
}

#[test]
fn sealed_sync_delivers_and_overhead_is_exact() {
    let (mut k, mut t) = (kiosk(), terminal());
    push(&mut k, 3);
    let hello = introduce(&mut k, &mut t);
    // Open a copy of the sealed hello to compare with its plaintext: header 0xA1, key 1,
    // device 7, epoch 1, counter 1 (5 bytes) + 16 tag bytes = 21 bytes.
    let mut copy = hello.clone();
    let (h, plain) = open_in_place(&link(&key(0x42)), Direction::Uplink, &mut copy).expect("opens");
    assert_eq!(
        h,
        SealHeader {
            key_id: KeyId(1),
            device: DeviceId(DEVICE),
            epoch: Epoch(EPOCH),
            counter: 1,
            reply_to: 0,
        }
    );
    assert!(matches!(Message::decode(plain), Ok(Message::Hello(_))));
    assert_eq!(hello.len() - plain.len(), 5 + TAG_LEN);
    // Framed (COBS of fewer than 254 bytes costs one code byte either way): 21 too.
    assert_eq!(frame_len(&hello) - frame_len(plain), 21);
    let mut now = 1;
    drain(&mut k, &mut t, &mut now);
    assert_exactly_once_in_order(&t, 3);
    // The last counter went to the store with the commit.
    assert_eq!(
        t.store()
            .last_counter_of(DeviceId(DEVICE), Epoch(EPOCH))
            .counter,
        2
    );
}

#[test]
fn tampered_header_or_body_is_rejected_and_nothing_is_committed() {
    let (mut k, mut t) = (kiosk(), terminal());
    push(&mut k, 3);
    introduce(&mut k, &mut t);
    let batch = tx(&mut k, 10).expect("batch");
    // Header: marker, key id, device, epoch, counter (2); then body, then tag.
    assert_eq!(&batch[..5], &[0xA1, 1, 7, 1, 2]);
    let cases: [(usize, u8, OpenError); 7] = [
        (0, 0xA1 ^ 0x03, OpenError::UnsealedRefused),
        (1, 2, OpenError::UnknownKey),
        (2, 9, OpenError::UnknownDevice),
        (3, 3, OpenError::BadTag),
        (4, 3, OpenError::BadTag),
        (20, 0, OpenError::BadTag),
        (batch.len() - 1, 0, OpenError::BadTag),
    ];
    for (i, v, expected) in cases {
        let mut bad = batch.clone();
        bad[i] = if v == 0 { bad[i] ^ 0x10 } else { v };
        let (ev, reply) = rx(&mut t, &bad);
        assert_eq!(rejected(ev), expected, "byte {i}");
        assert!(reply.is_empty(), "a rejected frame is not answered");
        assert_eq!(committed(&t), 0);
        assert_eq!(t.store().watermark_of(DeviceId(DEVICE), Epoch(EPOCH)), 0);
        // Still the hello's counter (1), persisted when the hello was taken.
        assert_eq!(
            t.store().last_counter_of(DeviceId(DEVICE), Epoch(EPOCH)),
            FrameCounter {
                key_id: KeyId(1),
                counter: 1
            }
        );
    }
    // The genuine frame still goes through: none of the fakes used its counter.
    let (ev, reply) = rx(&mut t, &batch);
    assert!(matches!(
        ev,
        SealedReceiverEvent::Sync(ReceiverEvent::Committed { count: 3, .. })
    ));
    assert!(matches!(
        back(&mut k, 20, &reply),
        SealedSenderEvent::Sync(SenderEvent::Acked { watermark: 3 })
    ));
    assert_exactly_once_in_order(&t, 3);
}

#[test]
fn truncated_tag_is_rejected() {
    let (mut k, mut t) = (kiosk(), terminal());
    push(&mut k, 2);
    introduce(&mut k, &mut t);
    let batch = tx(&mut k, 10).expect("batch");
    for cut in [1, 8, TAG_LEN, batch.len() - 5] {
        let (ev, _) = rx(&mut t, &batch[..batch.len() - cut]);
        let e = rejected(ev);
        assert!(
            matches!(e, OpenError::BadTag | OpenError::Malformed),
            "{cut}: {e:?}"
        );
        assert_eq!(committed(&t), 0);
    }
    // Header and a partial tag only: malformed.
    let (ev, _) = rx(&mut t, &batch[..5 + TAG_LEN - 1]);
    assert_eq!(rejected(ev), OpenError::Malformed);
    let (ev, _) = rx(&mut t, &batch);
    assert!(matches!(
        ev,
        SealedReceiverEvent::Sync(ReceiverEvent::Committed { .. })
    ));
    assert_exactly_once_in_order(&t, 2);
}

#[test]
fn replayed_frames_are_rejected_also_after_a_terminal_restart() {
    let (mut k, mut t) = (kiosk(), terminal());
    push(&mut k, 2);
    let hello = introduce(&mut k, &mut t);
    let batch = tx(&mut k, 10).expect("batch");
    let (ev, ack) = rx(&mut t, &batch);
    assert!(matches!(
        ev,
        SealedReceiverEvent::Sync(ReceiverEvent::Committed { .. })
    ));
    // The same batch again, and the older hello.
    let (ev, reply) = rx(&mut t, &batch);
    assert_eq!(rejected(ev), OpenError::Replayed { last: 2, got: 2 });
    assert!(reply.is_empty());
    let (ev, _) = rx(&mut t, &hello);
    assert_eq!(rejected(ev), OpenError::Replayed { last: 2, got: 1 });
    assert_exactly_once_in_order(&t, 2);
    // The terminal restarts: the counter persisted with the commit still guards.
    let (store, keys) = t.into_parts();
    let mut t = SealedReceiver::new(store, keys, LinkSecurity::Sealed);
    let (ev, _) = rx(&mut t, &batch);
    assert_eq!(rejected(ev), OpenError::Replayed { last: 2, got: 2 });
    let (ev, _) = rx(&mut t, &hello);
    assert_eq!(rejected(ev), OpenError::Replayed { last: 2, got: 1 });
    // Kiosk side: the ack opens once; its replay is refused and changes nothing.
    assert!(matches!(
        back(&mut k, 20, &ack),
        SealedSenderEvent::Sync(SenderEvent::Acked { watermark: 2 })
    ));
    assert!(matches!(
        back(&mut k, 21, &ack),
        SealedSenderEvent::Rejected(OpenError::Replayed { .. })
    ));
    // The stream continues.
    push(&mut k, 2);
    let mut now = 30;
    drain(&mut k, &mut t, &mut now);
    assert_exactly_once_in_order(&t, 4);
}

#[test]
fn forged_or_plain_acks_do_not_make_the_kiosk_drop_records() {
    let (mut k, mut t) = (kiosk(), terminal());
    push(&mut k, 3);
    introduce(&mut k, &mut t);
    let _lost_batch = tx(&mut k, 10).expect("batch");
    // A forger without the key: a well-formed sealed ack under another key.
    let ack = Message::Ack(Ack {
        epoch: EPOCH,
        watermark: 3,
    });
    let mut buf = [0u8; 128];
    let n = ack.encode(&mut buf).expect("ack");
    let h = SealHeader {
        key_id: KeyId(1),
        device: DeviceId(DEVICE),
        epoch: Epoch(EPOCH),
        counter: 1000,
        reply_to: 0,
    };
    let m = seal_in_place(&key(0x41), Direction::Downlink, &h, &mut buf, n).expect("sealed");
    assert_eq!(
        back(&mut k, 20, &buf[..m]),
        SealedSenderEvent::Rejected(OpenError::BadTag)
    );
    // A plain ack.
    let mut plain = [0u8; 16];
    let n = ack.encode(&mut plain).expect("ack");
    assert_eq!(
        back(&mut k, 21, &plain[..n]),
        SealedSenderEvent::Rejected(OpenError::UnsealedRefused)
    );
    // A kiosk frame reflected back to it.
    let reflected = tx(&mut k, 20_000).expect("resend");
    assert_eq!(
        back(&mut k, 20_001, &reflected),
        SealedSenderEvent::Rejected(OpenError::BadTag)
    );
    assert_eq!(k.outbox().len(), 3, "nothing was dropped");
    let mut now = 30_000;
    drain(&mut k, &mut t, &mut now);
    assert_exactly_once_in_order(&t, 3);
}

#[test]
fn revoked_and_unknown_devices_are_refused() {
    let (mut k, mut t) = (kiosk(), terminal());
    push(&mut k, 1);
    introduce(&mut k, &mut t);
    // A rogue kiosk with its own id and key, and an impostor of device 7 with a wrong key.
    let mut rogue = kiosk_from(RamStorage::new(), sealer(9, &key(0x09), 64), 1);
    let hello = tx(&mut rogue, 0).expect("hello");
    assert_eq!(rejected(rx(&mut t, &hello).0), OpenError::UnknownDevice);
    let mut impostor = kiosk_from(RamStorage::new(), sealer(DEVICE, &key(0x66), 64), 1);
    let hello = tx(&mut impostor, 0).expect("hello");
    assert_eq!(rejected(rx(&mut t, &hello).0), OpenError::BadTag);
    assert_eq!(t.session().map(|s| s.0), Some(DeviceId(DEVICE)));
    // Device 7 revoked: its genuine batch is refused, nothing committed.
    let batch = tx(&mut k, 10).expect("batch");
    t.keys_mut().revoke(DeviceId(DEVICE));
    let (ev, reply) = rx(&mut t, &batch);
    assert_eq!(rejected(ev), OpenError::Revoked);
    assert!(reply.is_empty());
    assert_eq!(committed(&t), 0);
    let hello = tx(&mut k, 100_000).expect("resend");
    assert_eq!(rejected(rx(&mut t, &hello).0), OpenError::Revoked);
    assert_eq!(committed(&t), 0);
}

#[test]
fn one_device_cannot_write_into_another_devices_stream() {
    let (mut k, mut t) = (kiosk(), terminal());
    push(&mut k, 1);
    introduce(&mut k, &mut t);
    // Device 8 (a genuine key of its own) seals a batch of epoch 1 while device 7 holds
    // the session.
    let mut s8 = sealer(8, &key(0x08), 64);
    let rec = vitals(8, 1);
    let m = Message::Batch(tcmcare_core::sync::Batch {
        epoch: EPOCH,
        first_position: 1,
        records: &rec,
    });
    let mut buf = vec![0u8; 512];
    let n = m.encode(&mut buf).expect("batch");
    let sealed = s8.seal(&mut buf, n).expect("sealed");
    let (ev, reply) = rx(&mut t, &buf[..sealed]);
    assert_eq!(ev, SealedReceiverEvent::Sync(ReceiverEvent::NotIntroduced));
    assert!(!reply.is_empty());
    assert_eq!(committed(&t), 0);
    // Device 8 sealing a hello that claims to be device 7: malformed.
    let hello = Message::Hello(tcmcare_core::sync::Hello {
        device: DEVICE,
        epoch: EPOCH,
        schema: 1,
        session: 1,
        last_position: 5,
        boot: 1,
        uptime_s: 0,
        clock_valid: true,
    });
    let n = hello.encode(&mut buf).expect("hello");
    let sealed = s8.seal(&mut buf, n).expect("sealed");
    assert_eq!(rejected(rx(&mut t, &buf[..sealed]).0), OpenError::Malformed);
    // Device 7's own stream is untouched and continues.
    let mut now = 10;
    drain(&mut k, &mut t, &mut now);
    assert_exactly_once_in_order(&t, 1);
}

#[test]
fn counter_exhaustion_never_wraps_and_a_rekey_restores_sending() {
    // A kiosk whose lease is persisted up to u32::MAX - 1: one counter left.
    let s = sealer(DEVICE, &key(0x42), 64);
    let mut store = s.into_store();
    let mut st = store.state().expect("state").clone();
    st.uplink_reserved = u32::MAX - 1;
    store.store(&st).expect("stored");
    let s = Sealer::resume(store, 64).expect("resumed");
    let mut k = kiosk_from(RamStorage::new(), s, 1);
    let mut t = terminal();
    push(&mut k, 2);
    let hello = introduce(&mut k, &mut t);
    assert_eq!(
        SealHeader::decode(&hello).expect("header").0.counter,
        u32::MAX
    );
    // No counter left: the kiosk refuses to send rather than wrap to 1.
    let mut out = vec![0u8; 2048];
    assert_eq!(
        k.poll_transmit(10, &mut out),
        Err(SealedSenderError::Seal(SealError::CounterExhausted))
    );
    assert_eq!(k.sealer().counters_left(), 0);
    assert_eq!(committed(&t), 0);
    // The terminal rotates the key (no session needed); the kiosk counts from 1 again.
    t.keys_mut().insert(DeviceId(DEVICE), KeyId(2), key(0x43));
    let mut rk = [0u8; MAX_SEALED_REKEY_LEN];
    let n = t
        .rekey(
            DeviceId(DEVICE),
            Epoch(EPOCH),
            KeyId(1),
            KeyId(2),
            &key(0x43),
            &mut rk,
        )
        .expect("rekey");
    assert!(
        !rk[..n].windows(32).any(|w| w == [0x43; 32]),
        "new key sent sealed"
    );
    assert_eq!(
        back(&mut k, 20, &rk[..n]),
        SealedSenderEvent::Rekeyed { key_id: KeyId(2) }
    );
    let mut now = 20;
    drain(&mut k, &mut t, &mut now);
    assert_exactly_once_in_order(&t, 2);
    assert_eq!(t.session().map(|s| s.2), Some(KeyId(2)));
    // The old key is retired: a replayed key-1 frame is refused.
    assert_eq!(rejected(rx(&mut t, &hello).0), OpenError::UnknownKey);
}

#[test]
fn kiosk_reset_mid_exchange_keeps_its_counters() {
    // Lease blocks of 4 counters so a reset skips some.
    let mut k = kiosk_from(RamStorage::new(), sealer(DEVICE, &key(0x42), 4), 1);
    let mut t = terminal();
    push(&mut k, 3);
    introduce(&mut k, &mut t); // counter 1
    let batch = tx(&mut k, 10).expect("batch"); // counter 2
    let (ev, _lost_ack) = rx(&mut t, &batch);
    assert!(matches!(
        ev,
        SealedReceiverEvent::Sync(ReceiverEvent::Committed { .. })
    ));
    // Power fails before the ack arrives; the kiosk restarts from its persisted state.
    let (outbox, sealer) = k.into_parts();
    assert_eq!(sealer.store().state().expect("state").uplink_reserved, 4);
    let sealer = Sealer::resume(sealer.into_store(), 4).expect("resume");
    let mut k = kiosk_from(outbox.into_storage(), sealer, 2);
    assert_eq!(k.outbox().len(), 3, "unacknowledged records survive");
    let hello = tx(&mut k, 0).expect("hello");
    // Counters 3 and 4 were leased before the reset and are skipped: never reused.
    assert_eq!(SealHeader::decode(&hello).expect("header").0.counter, 5);
    let (ev, reply) = rx(&mut t, &hello);
    assert!(matches!(
        ev,
        SealedReceiverEvent::Sync(ReceiverEvent::Introduced { watermark: 3, .. })
    ));
    back(&mut k, 1, &reply);
    assert!(k.outbox().is_empty());
    push(&mut k, 1);
    let mut now = 10;
    drain(&mut k, &mut t, &mut now);
    assert_exactly_once_in_order(&t, 4);
}

#[test]
fn plain_frames_need_an_explicitly_trusted_link() {
    let outbox =
        Outbox::open(RamStorage::<4096>::new(), DeviceId(DEVICE), Epoch(EPOCH)).expect("outbox");
    let mut plain = Sender::new(outbox, SenderConfig::default(), 1, true).expect("sender");
    let mut hello = [0u8; 64];
    let n = plain
        .poll_transmit(0, &mut hello)
        .expect("poll")
        .expect("hello");
    let mut t = terminal();
    assert_eq!(t.security(), LinkSecurity::Sealed);
    assert_eq!(
        rejected(rx(&mut t, &hello[..n]).0),
        OpenError::UnsealedRefused
    );
    assert_eq!(t.session(), None);
    let mut trusted = SealedReceiver::new(
        MemoryStore::new(),
        MemoryKeyStore::new(),
        LinkSecurity::TrustedUnsealed,
    );
    let mut p = hello[..n].to_vec();
    let mut out = [0u8; MAX_SEALED_CONTROL_LEN];
    let o = trusted
        .handle(Some(T_BASE), &mut p, &mut out)
        .expect("handled");
    assert!(matches!(
        o.event,
        SealedReceiverEvent::Sync(ReceiverEvent::Introduced { .. })
    ));
    // The reply is the plain receiver's, byte for byte.
    let mut r = Receiver::new(MemoryStore::new());
    let mut out2 = [0u8; 64];
    let o2 = r
        .handle(Some(T_BASE), &hello[..n], &mut out2)
        .expect("handled");
    assert_eq!(&out[..o.reply_len], &out2[..o2.reply_len]);
}

/// On a trusted link a plain hello after a sealed session opens a plain session: the
/// receiver no longer names the sealed session's key, so it seals nothing for the plain
/// device (which has no key) under another device's key id; its time sync is plain.
#[test]
fn a_plain_hello_on_a_trusted_link_ends_the_sealed_session() {
    let mut keys = MemoryKeyStore::new();
    keys.insert(DeviceId(DEVICE), KeyId(1), link(&key(0x42)));
    let mut t = SealedReceiver::new(MemoryStore::new(), keys, LinkSecurity::TrustedUnsealed);
    let mut k = kiosk();
    let hello = tx(&mut k, 0).expect("hello");
    let (ev, _) = rx(&mut t, &hello);
    assert!(matches!(
        ev,
        SealedReceiverEvent::Sync(ReceiverEvent::Introduced { .. })
    ));
    assert_eq!(
        t.session(),
        Some((DeviceId(DEVICE), Epoch(EPOCH), KeyId(1)))
    );
    let outbox = Outbox::open(RamStorage::<4096>::new(), DeviceId(9), Epoch(1)).expect("outbox");
    let mut plain = Sender::new(outbox, SenderConfig::default(), 1, true).expect("sender");
    let mut p = [0u8; 64];
    let n = plain
        .poll_transmit(0, &mut p)
        .expect("poll")
        .expect("hello");
    let (ev, _) = rx(&mut t, &p[..n]);
    assert!(matches!(
        ev,
        SealedReceiverEvent::Sync(ReceiverEvent::Introduced {
            device: DeviceId(9),
            ..
        })
    ));
    assert_eq!(t.session(), None);
    // The plain device gets a plain time sync, as from a plain receiver.
    let mut out = [0u8; MAX_SEALED_CONTROL_LEN];
    let n = t.time_sync(T_BASE, &mut out).expect("plain time sync");
    assert_eq!(
        Message::decode(&out[..n]),
        Ok(Message::TimeSync(TimeSync { utc_now: T_BASE }))
    );
    // Without any session there is nobody to send the time to.
    let mut fresh = SealedReceiver::new(
        MemoryStore::new(),
        MemoryKeyStore::new(),
        LinkSecurity::TrustedUnsealed,
    );
    assert_eq!(
        fresh.time_sync(T_BASE, &mut out),
        Err(SealedReplyError::NoSession)
    );
}

#[test]
fn provisioning_only_in_provisioning_mode() {
    let p = provision_payload(DEVICE, EPOCH, 1, &key(0x42));
    let mut store = RamSealStore::new();
    assert!(Sealer::provision(&mut store, &p, false, 64, &SALT).is_err());
    assert!(
        store.state().is_none(),
        "nothing stored outside provisioning mode"
    );
    let (s, _) = Sealer::provision(&mut store, &p, true, 64, &SALT).expect("provisioned");
    assert_eq!(
        (s.device(), s.epoch(), s.key_id()),
        (DeviceId(DEVICE), Epoch(EPOCH), KeyId(1))
    );
    // The persisted key is the provisioned one, and it never shows in Debug output.
    assert_eq!(store.state().expect("state").key, link(&key(0x42)));
    assert!(!format!("{store:?}").contains("66, 66"));
}

#[test]
fn store_outages_commit_nothing_and_the_stream_recovers() {
    let (mut k, mut t) = (kiosk(), terminal());
    push(&mut k, 2);
    introduce(&mut k, &mut t);
    let batch = tx(&mut k, 10).expect("batch");
    // The key store is down: the frame cannot even be verified; no answer.
    t.keys_mut().set_unavailable(true);
    let (ev, reply) = rx(&mut t, &batch);
    assert_eq!(
        rejected(ev),
        OpenError::Store(tcmcare_core::sync::StoreError::Unavailable)
    );
    assert!(reply.is_empty());
    t.keys_mut().set_unavailable(false);
    // The record store is down: authentic, answered with a sealed "store unavailable".
    t.store_mut().set_unavailable(true);
    let (ev, reply) = rx(&mut t, &batch);
    assert!(matches!(
        ev,
        SealedReceiverEvent::Sync(ReceiverEvent::StoreFailed(_))
    ));
    assert_eq!(
        back(&mut k, 11, &reply),
        SealedSenderEvent::Sync(SenderEvent::ReceiverBusy)
    );
    t.store_mut().set_unavailable(false);
    assert_eq!(committed(&t), 0);
    let mut now = 20;
    drain(&mut k, &mut t, &mut now);
    assert_exactly_once_in_order(&t, 2);
}

#[test]
fn kiosk_takes_time_only_after_this_boots_welcome() {
    let (mut k, mut t) = (kiosk(), terminal());
    introduce(&mut k, &mut t);
    let mut ts = [0u8; MAX_SEALED_CONTROL_LEN];
    let n = t.time_sync(T_BASE + 60, &mut ts).expect("time sync");
    assert_eq!(
        back(&mut k, 2, &ts[..n]),
        SealedSenderEvent::Sync(SenderEvent::TimeSynced {
            utc_now: T_BASE + 60
        })
    );
    // After a reset, a time sync (fresh or replayed) is not taken before the welcome.
    let n2 = t.time_sync(T_BASE + 120, &mut ts).expect("time sync");
    let (outbox, sealer) = k.into_parts();
    let sealer = Sealer::resume(sealer.into_store(), 64).expect("resume");
    let mut k = kiosk_from(outbox.into_storage(), sealer, 2);
    assert_eq!(
        back(&mut k, 0, &ts[..n2]),
        SealedSenderEvent::Sync(SenderEvent::Ignored)
    );
    introduce(&mut k, &mut t);
    let n3 = t.time_sync(T_BASE + 180, &mut ts).expect("time sync");
    assert_eq!(
        back(&mut k, 2, &ts[..n3]),
        SealedSenderEvent::Sync(SenderEvent::TimeSynced {
            utc_now: T_BASE + 180
        })
    );
}

#[test]
fn a_welcome_to_a_hello_held_back_is_not_taken() {
    let (mut k, mut t) = (kiosk(), terminal());
    push(&mut k, 1);
    // Hello 1 leaves at 0 ms; an attacker holds it back and delivers it 10 s later.
    let held = tx(&mut k, 0).expect("hello");
    // (Meanwhile the kiosk's resends are lost.)
    let _lost = tx(&mut k, 5_000).expect("resend");
    let (ev, welcome) = rx(&mut t, &held);
    assert!(matches!(
        ev,
        SealedReceiverEvent::Sync(ReceiverEvent::Introduced { .. })
    ));
    // The welcome names hello 1 (counter 1): 10 s old, beyond the 3 s bound.
    assert_eq!(SealHeader::decode(&welcome).expect("header").0.reply_to, 1);
    assert_eq!(
        back(&mut k, 10_000, &welcome),
        SealedSenderEvent::Sync(SenderEvent::Ignored)
    );
    assert!(!k.is_streaming());
    // The next hello is fresh; its welcome is taken and the session re-anchored on it.
    let fresh = tx(&mut k, 20_000).expect("hello");
    let (_, welcome) = rx(&mut t, &fresh);
    assert!(matches!(
        back(&mut k, 20_050, &welcome),
        SealedSenderEvent::Sync(SenderEvent::Welcomed { .. })
    ));
    let mut now = 20_100;
    drain(&mut k, &mut t, &mut now);
    assert_exactly_once_in_order(&t, 1);
}

#[test]
fn kiosk_frames_never_carry_a_reply_header() {
    let (mut k, mut t) = (kiosk(), terminal());
    // A kiosk frame rewritten with the reply marker: refused before any key is used.
    let hello = tx(&mut k, 0).expect("hello");
    let mut bad = vec![0xA4];
    bad.extend_from_slice(&hello[1..5]);
    bad.push(1);
    bad.extend_from_slice(&hello[5..]);
    assert_eq!(rejected(rx(&mut t, &bad).0), OpenError::Malformed);
}

/// Review finding 1: a sealed frame that committed nothing (here a batch resent after its
/// ack was lost, which any faulty line produces) was taken as fresh by every new receiver
/// (the terminal makes one per connection), each time leasing reply counters (a write)
/// and answering: 2^32 counters last about 61 hours of replays. Every accepted counter is
/// now persisted, so the frame is refused as a replay on every connection and after
/// restarts, with no reply and no write.
#[test]
fn a_frame_that_committed_nothing_is_a_replay_on_every_later_connection() {
    let (mut k, mut t) = (kiosk(), terminal());
    push(&mut k, 2);
    let hello = introduce(&mut k, &mut t);
    let batch = tx(&mut k, 10).expect("batch");
    let (ev, _lost_ack) = rx(&mut t, &batch);
    assert!(matches!(
        ev,
        SealedReceiverEvent::Sync(ReceiverEvent::Committed { .. })
    ));
    // The ack is lost: the kiosk resends the batch under a new counter; the terminal
    // answers it as a duplicate (nothing to commit).
    let resent = (10..200_000)
        .step_by(1000)
        .find_map(|now| tx(&mut k, now))
        .expect("resent batch");
    let resent_counter = SealHeader::decode(&resent).expect("header").0.counter;
    assert!(resent_counter > SealHeader::decode(&batch).expect("header").0.counter);
    let (ev, ack) = rx(&mut t, &resent);
    assert!(
        matches!(
            ev,
            SealedReceiverEvent::Sync(ReceiverEvent::Duplicate { watermark: 2 })
        ),
        "{ev:?}"
    );
    assert!(!ack.is_empty());
    let persisted = t
        .store()
        .last_counter_of(DeviceId(DEVICE), Epoch(EPOCH))
        .counter;
    assert_eq!(
        persisted, resent_counter,
        "the duplicate's counter is persisted"
    );
    let reserved = t.keys().downlink_reserved(DeviceId(DEVICE), KeyId(1));
    // 300 new connections replay the captured frames.
    let (mut store, mut keys) = t.into_parts();
    for _ in 0..300 {
        let mut conn = SealedReceiver::new(&mut store, &mut keys, LinkSecurity::Sealed);
        for frame in [&resent, &batch, &hello] {
            let mut p = frame.to_vec();
            let mut out = [0u8; MAX_SEALED_CONTROL_LEN];
            let o = conn
                .handle(Some(T_BASE), &mut p, &mut out)
                .expect("handled");
            assert!(
                matches!(
                    o.event,
                    SealedReceiverEvent::Rejected(OpenError::Replayed { last, .. }) if last == resent_counter
                ),
                "{:?}",
                o.event
            );
            assert_eq!(o.reply_len, 0, "a replay is not answered");
        }
    }
    assert_eq!(
        keys.downlink_reserved(DeviceId(DEVICE), KeyId(1)),
        reserved,
        "replays lease no reply counters"
    );
    assert_eq!(
        store
            .last_counter_of(DeviceId(DEVICE), Epoch(EPOCH))
            .counter,
        resent_counter
    );
    // The kiosk itself carries on.
    let mut t = SealedReceiver::new(store, keys, LinkSecurity::Sealed);
    assert!(matches!(
        back(&mut k, 200_001, &ack),
        SealedSenderEvent::Sync(SenderEvent::Acked { watermark: 2 })
    ));
    push(&mut k, 1);
    let mut now = 300_000;
    introduce_at(&mut k, &mut t, &mut now);
    drain(&mut k, &mut t, &mut now);
    assert_exactly_once_in_order(&t, 3);
}

/// Hello and welcome at `*now` (after the kiosk's resend timers): the kiosk says hello
/// again when its session is gone.
fn introduce_at(k: &mut Kiosk, t: &mut Terminal, now: &mut u64) {
    for _ in 0..200 {
        *now += 1_000;
        if let Some(p) = tx(k, *now) {
            let (ev, reply) = rx(t, &p);
            if !reply.is_empty() {
                back(k, *now, &reply);
            }
            if matches!(
                ev,
                SealedReceiverEvent::Sync(ReceiverEvent::Introduced { .. })
            ) {
                return;
            }
        }
    }
    panic!("no hello");
}

/// Review finding 1, second half: when a key's terminal counters are used up, the error
/// said "rotate the key", but the rotation itself needed a counter of that key. The last
/// counters of every key are kept for rotations, so the documented recovery works, also
/// through terminal restarts.
#[test]
fn exhausted_terminal_counters_are_recovered_by_a_rotation() {
    use tcmcare_core::seal::{DOWNLINK_REKEY_RESERVE, DOWNLINK_REPLY_LIMIT};
    assert_eq!(DOWNLINK_REPLY_LIMIT, u32::MAX - DOWNLINK_REKEY_RESERVE);
    let mut k = kiosk();
    let mut t = terminal();
    // Every ordinary reply counter of key 1 is used.
    assert!(t
        .keys_mut()
        .set_downlink_reserved(DeviceId(DEVICE), KeyId(1), DOWNLINK_REPLY_LIMIT));
    push(&mut k, 2);
    let hello = tx(&mut k, 0).expect("hello");
    let (ev, reply) = rx(&mut t, &hello);
    assert_eq!(ev, SealedReceiverEvent::DownlinkExhausted);
    assert!(reply.is_empty());
    assert_eq!(committed(&t), 0);
    // 1,022 more connections (each a fresh receiver) find the key exhausted too.
    let (mut store, mut keys) = t.into_parts();
    let mut now = 0;
    for _ in 0..1022 {
        let mut conn = SealedReceiver::new(&mut store, &mut keys, LinkSecurity::Sealed);
        let p = loop {
            now += 1_000;
            if let Some(p) = tx(&mut k, now) {
                break p;
            }
        };
        let mut p = p;
        let mut out = [0u8; MAX_SEALED_CONTROL_LEN];
        let o = conn
            .handle(Some(T_BASE), &mut p, &mut out)
            .expect("handled");
        assert_eq!(o.event, SealedReceiverEvent::DownlinkExhausted);
        assert_eq!(o.reply_len, 0);
    }
    // The rotation still gets a counter, from a fresh receiver (a restarted terminal).
    let mut t = SealedReceiver::new(store, keys, LinkSecurity::Sealed);
    t.keys_mut().insert(DeviceId(DEVICE), KeyId(2), key(0x43));
    let mut rk = [0u8; MAX_SEALED_REKEY_LEN];
    let n = t
        .rekey(
            DeviceId(DEVICE),
            Epoch(EPOCH),
            KeyId(1),
            KeyId(2),
            &key(0x43),
            &mut rk,
        )
        .expect("a rotation of an exhausted key");
    let rekey_counter = SealHeader::decode(&rk[..n]).expect("header").0.counter;
    assert!(rekey_counter > DOWNLINK_REPLY_LIMIT);
    assert_eq!(
        back(&mut k, now + 1, &rk[..n]),
        SealedSenderEvent::Rekeyed { key_id: KeyId(2) }
    );
    introduce_at(&mut k, &mut t, &mut now);
    drain(&mut k, &mut t, &mut now);
    assert_exactly_once_in_order(&t, 2);
    assert_eq!(t.session().map(|s| s.2), Some(KeyId(2)));
}

/// Review finding 4: with `TrustedUnsealed` a forged plain hello and batch for a
/// provisioned kiosk's (device, epoch) stored forged vitals, and the kiosk's genuine
/// records were then acknowledged as duplicates and lost. A device the key store knows is
/// never accepted unsealed, in any mode.
#[test]
fn plain_frames_never_write_into_a_sealed_devices_stream() {
    let mut keys = MemoryKeyStore::new();
    keys.insert(DeviceId(DEVICE), KeyId(1), link(&key(0x42)));
    keys.insert(DeviceId(8), KeyId(1), link(&key(0x08)));
    keys.revoke(DeviceId(8));
    let mut t = SealedReceiver::new(MemoryStore::new(), keys, LinkSecurity::TrustedUnsealed);
    // The forger's plain sender speaks for the sealed kiosk's stream.
    let forged_outbox =
        Outbox::open(RamStorage::<8192>::new(), DeviceId(DEVICE), Epoch(EPOCH)).expect("outbox");
    let mut forger = Sender::new(forged_outbox, SenderConfig::default(), 1, true).expect("sender");
    for seq in 1..=5 {
        forger.push(&vitals(DEVICE, seq)).expect("pushed");
    }
    let mut p = [0u8; 2048];
    let n = forger
        .poll_transmit(0, &mut p)
        .expect("poll")
        .expect("hello");
    let forged_hello = p[..n].to_vec();
    assert_eq!(
        rejected(rx(&mut t, &forged_hello).0),
        OpenError::UnsealedRefused
    );
    // A forged plain batch for the stream, after the genuine kiosk opened a sealed
    // session, is refused too.
    let mut k = kiosk();
    push(&mut k, 5);
    introduce(&mut k, &mut t);
    // The forger never hears the terminal: it makes its sender emit a batch blind.
    let mut forged_batch = vec![0u8; 2048];
    let n = {
        // Make the plain sender believe it was welcomed, so it emits a batch.
        let mut w = [0u8; 64];
        let m = Message::Welcome(tcmcare_core::sync::Welcome {
            epoch: EPOCH,
            session: forger_session(&forged_hello),
            watermark: 0,
            utc_now: Some(T_BASE),
        })
        .encode(&mut w)
        .expect("welcome");
        forger.handle(1, &w[..m]).expect("welcomed");
        forger
            .poll_transmit(2, &mut forged_batch)
            .expect("poll")
            .expect("batch")
    };
    assert_eq!(
        rejected(rx(&mut t, &forged_batch[..n]).0),
        OpenError::UnsealedRefused
    );
    assert_eq!(committed(&t), 0);
    // A revoked device is not accepted unsealed either.
    let revoked_outbox =
        Outbox::open(RamStorage::<4096>::new(), DeviceId(8), Epoch(1)).expect("outbox");
    let mut revoked = Sender::new(revoked_outbox, SenderConfig::default(), 1, true).expect("s");
    let n = revoked
        .poll_transmit(0, &mut p)
        .expect("poll")
        .expect("hello");
    assert_eq!(rejected(rx(&mut t, &p[..n]).0), OpenError::UnsealedRefused);
    // The genuine kiosk's five records all arrive, none taken for a duplicate.
    let mut now = 10;
    drain(&mut k, &mut t, &mut now);
    assert_exactly_once_in_order(&t, 5);
}

/// The session number of a plain hello.
fn forger_session(hello: &[u8]) -> u32 {
    match Message::decode(hello) {
        Ok(Message::Hello(h)) => h.session,
        other => panic!("not a hello: {other:?}"),
    }
}
