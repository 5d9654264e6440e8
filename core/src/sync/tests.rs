//! Unit tests of the sync pieces working together.

use std::vec::Vec;

use super::*;
use crate::ids::{CareHomeId, DeviceId, Epoch, RecordId, ResidentNumber, ResidentRef, Seq};
use crate::record::{Body, Header, MeasurementSource, Record, TemperatureSite, VitalSigns};
use crate::time::{Timestamp, UtcSeconds};
use crate::wire::MAX_ENVELOPE_LEN;

/// 2026-03-15T08:30:00Z (the conformance vectors' time).
const T0: u64 = 1_773_563_400;

fn header(device: u32, epoch: u32, seq: u32, time: Timestamp) -> Header {
    Header {
        id: RecordId {
            device: DeviceId(device),
            epoch: Epoch(epoch),
            seq: Seq(seq),
        },
        resident: ResidentRef {
            care_home: CareHomeId(3101),
            number: ResidentNumber(1234),
        },
        time,
    }
}

fn vitals_with(h: Header) -> Vec<u8> {
    let r = Record {
        header: h,
        body: Body::Vitals(VitalSigns {
            systolic_mmhg: Some(128),
            diastolic_mmhg: Some(82),
            pulse_per_min: Some(76),
            spo2_percent: Some(97),
            temperature_centi_c: Some(3660),
            temperature_site: TemperatureSite::Forehead,
            source: MeasurementSource::KioskSensor,
            ..Default::default()
        }),
    };
    let mut buf = [0u8; MAX_ENVELOPE_LEN];
    let n = r.encode(&mut buf).unwrap();
    buf[..n].to_vec()
}

/// A valid vitals envelope of (device, epoch, seq) at T0.
fn vitals(device: u32, epoch: u32, seq: u32) -> Vec<u8> {
    let t = Timestamp::Utc(UtcSeconds::new(T0).unwrap());
    vitals_with(header(device, epoch, seq, t))
}

fn entries<S: OutboxStorage>(o: &mut Outbox<S>) -> Vec<(u32, Vec<u8>)> {
    let mut v = Vec::new();
    o.read_from(0, |p, e| {
        v.push((p, e.to_vec()));
        true
    })
    .unwrap();
    v
}

// ---------------------------------------------------------------- outbox

#[test]
fn outbox_numbers_from_one_and_checks_own_ids() {
    let mut o = Outbox::open(RamStorage::<1024>::new(), DeviceId(7), Epoch(3)).unwrap();
    assert!(o.started_new_epoch());
    assert_eq!(o.epoch(), Epoch(3));
    assert_eq!(o.next_seq(), Some(Seq(1)));
    assert_eq!(o.push(&vitals(7, 3, 1)), Ok(1));
    // Own record with the wrong seq or epoch is refused.
    assert_eq!(
        o.push(&vitals(7, 3, 5)),
        Err(OutboxError::SeqMismatch {
            expected: RecordId {
                device: DeviceId(7),
                epoch: Epoch(3),
                seq: Seq(2)
            },
            found: RecordId {
                device: DeviceId(7),
                epoch: Epoch(3),
                seq: Seq(5)
            },
        })
    );
    assert!(matches!(
        o.push(&vitals(7, 2, 2)),
        Err(OutboxError::SeqMismatch { .. })
    ));
    // Another device's record is forwarded unchanged at the next position.
    let fwd = vitals(9, 1, 77);
    assert_eq!(o.push(&fwd), Ok(2));
    assert_eq!(o.next_seq(), Some(Seq(3)));
    assert_eq!(entries(&mut o), [(1, vitals(7, 3, 1)), (2, fwd)]);
    // Not an envelope.
    assert!(matches!(o.push(&[2, 9, 1]), Err(OutboxError::Malformed(_))));
    let mut long = vitals(9, 1, 1);
    long.resize(MAX_ENTRY_LEN + 1, 0);
    assert_eq!(
        o.push(&long),
        Err(OutboxError::TooLarge {
            len: MAX_ENTRY_LEN + 1
        })
    );
}

#[test]
fn full_outbox_refuses_and_overwrites_nothing() {
    let rec = vitals(7, 1, 1);
    let slot = rec.len() + 2;
    // Room for exactly three entries (a vitals envelope is 20 bytes, 22 in the ring).
    let mut o = Outbox::open(RamStorage::<70>::new(), DeviceId(7), Epoch(1)).unwrap();
    assert!(3 * slot <= 70 && 4 * slot > 70, "fixture size");
    for seq in 1..=3 {
        assert_eq!(o.push(&vitals(7, 1, seq)), Ok(seq));
    }
    let before = entries(&mut o);
    assert_eq!(o.push(&vitals(7, 1, 4)), Err(OutboxError::Full));
    // Refused: same entries, same next seq.
    assert_eq!(entries(&mut o), before);
    assert_eq!(o.next_seq(), Some(Seq(4)));
    // After an acknowledgement there is room again.
    o.ack(1).unwrap();
    assert_eq!(o.push(&vitals(7, 1, 4)), Ok(4));
    let got: Vec<u32> = entries(&mut o).iter().map(|e| e.0).collect();
    assert_eq!(got, [2, 3, 4]);
}

#[test]
fn restart_resumes_same_entries_and_numbers() {
    let mut o = Outbox::open(RamStorage::<2048>::new(), DeviceId(7), Epoch(2)).unwrap();
    for seq in 1..=5 {
        o.push(&vitals(7, 2, seq)).unwrap();
    }
    o.ack(2).unwrap();
    let storage = o.into_storage();
    // The epoch passed on reopen is only for wiped storage.
    let mut o = Outbox::open(storage, DeviceId(7), Epoch(9)).unwrap();
    assert!(!o.started_new_epoch());
    assert_eq!(o.epoch(), Epoch(2));
    assert_eq!(o.acked_through(), 2);
    assert_eq!(o.next_seq(), Some(Seq(6)));
    let got: Vec<u32> = entries(&mut o).iter().map(|e| e.0).collect();
    assert_eq!(got, [3, 4, 5]);
    assert_eq!(entries(&mut o)[0].1, vitals(7, 2, 3));
    // Everything acknowledged: the numbering still survives a restart.
    o.ack(5).unwrap();
    assert!(o.is_empty());
    let mut o = Outbox::open(o.into_storage(), DeviceId(7), Epoch(9)).unwrap();
    assert_eq!(o.next_seq(), Some(Seq(6)));
    assert_eq!(o.push(&vitals(7, 2, 6)), Ok(6));
}

#[test]
fn outbox_ack_rules_and_identity() {
    let mut o = Outbox::open(RamStorage::<1024>::new(), DeviceId(7), Epoch(1)).unwrap();
    o.push(&vitals(7, 1, 1)).unwrap();
    assert_eq!(
        o.ack(2),
        Err(OutboxError::AckBeyondLast {
            watermark: 2,
            last: 1
        })
    );
    o.ack(1).unwrap();
    o.ack(0).unwrap(); // stale: no-op
    assert_eq!(o.acked_through(), 1);
    let s = o.into_storage();
    assert_eq!(
        Outbox::open(s.clone(), DeviceId(8), Epoch(1)).err(),
        Some(OutboxError::DeviceMismatch {
            stored: DeviceId(7)
        })
    );
    assert_eq!(
        Outbox::open(RamStorage::<64>::new(), DeviceId(0), Epoch(1)).err(),
        Some(OutboxError::InvalidIdentity)
    );
    assert_eq!(
        Outbox::open(RamStorage::<64>::new(), DeviceId(1), Epoch(0)).err(),
        Some(OutboxError::InvalidIdentity)
    );
}

#[test]
fn wiped_storage_starts_the_given_new_epoch() {
    let mut o = Outbox::open(RamStorage::<1024>::new(), DeviceId(7), Epoch(1)).unwrap();
    o.push(&vitals(7, 1, 1)).unwrap();
    // A wipe loses the storage; provisioning hands out epoch 2.
    let o = Outbox::open(RamStorage::<1024>::new(), DeviceId(7), Epoch(2)).unwrap();
    assert!(o.started_new_epoch());
    assert_eq!(o.epoch(), Epoch(2));
    assert_eq!(o.next_seq(), Some(Seq(1)));
}

// ---------------------------------------------------------------- receiver

fn hello(device: u32, epoch: u32, last: u32, boot: u32, uptime_s: u32) -> Vec<u8> {
    let mut out = [0u8; 64];
    let n = Message::Hello(Hello {
        device,
        epoch,
        schema: crate::SCHEMA_VERSION,
        session: 1,
        last_position: last,
        boot,
        uptime_s,
        clock_valid: false,
    })
    .encode(&mut out)
    .unwrap();
    out[..n].to_vec()
}

fn batch(epoch: u32, first: u32, records: &[Vec<u8>]) -> Vec<u8> {
    let blob: Vec<u8> = records.concat();
    let mut out = std::vec![0u8; blob.len() + 32];
    let n = Message::Batch(Batch {
        epoch,
        first_position: first,
        records: &blob,
    })
    .encode(&mut out)
    .unwrap();
    out.truncate(n);
    out
}

fn reply(
    r: &mut Receiver<MemoryStore>,
    now: Option<u64>,
    payload: &[u8],
) -> (Option<Message<'static>>, ReceiverEvent) {
    let mut out = [0u8; MAX_CONTROL_MESSAGE_LEN];
    let o = r.handle(now, payload, &mut out).unwrap();
    let m = (o.reply_len > 0).then(|| {
        // Control messages borrow nothing; rebuild with a static lifetime.
        match Message::decode(&out[..o.reply_len]).unwrap() {
            Message::Welcome(w) => Message::Welcome(w),
            Message::Ack(a) => Message::Ack(a),
            Message::Nack(n) => Message::Nack(n),
            Message::TimeSync(t) => Message::TimeSync(t),
            m => panic!("unexpected reply {m:?}"),
        }
    });
    (m, o.event)
}

fn ack(epoch: u32, watermark: u32) -> Option<Message<'static>> {
    Some(Message::Ack(Ack { epoch, watermark }))
}

fn nack(epoch: u32, expected: u32, reason: NackReason) -> Option<Message<'static>> {
    Some(Message::Nack(Nack {
        epoch,
        expected,
        reason,
    }))
}

#[test]
fn receiver_commits_in_order_reacks_duplicates_and_nacks_gaps() {
    let mut r = Receiver::new(MemoryStore::new());
    let (m, e) = reply(&mut r, Some(T0), &hello(7, 1, 10, 1, 100));
    assert_eq!(
        m,
        Some(Message::Welcome(Welcome {
            epoch: 1,
            session: 1,
            watermark: 0,
            utc_now: Some(T0)
        }))
    );
    assert!(matches!(e, ReceiverEvent::Introduced { watermark: 0, .. }));
    let recs: Vec<Vec<u8>> = (1..=6).map(|s| vitals(7, 1, s)).collect();
    // 1..=3 in order.
    let (m, e) = reply(&mut r, Some(T0), &batch(1, 1, &recs[0..3]));
    assert_eq!(m, ack(1, 3));
    assert_eq!(
        e,
        ReceiverEvent::Committed {
            device: DeviceId(7),
            epoch: Epoch(1),
            first_position: 1,
            count: 3,
            watermark: 3
        }
    );
    // The same batch again: re-acked, nothing stored twice.
    let (m, e) = reply(&mut r, Some(T0), &batch(1, 1, &recs[0..3]));
    assert_eq!(m, ack(1, 3));
    assert_eq!(e, ReceiverEvent::Duplicate { watermark: 3 });
    // A gap: 5..=6 while 4 is expected.
    let (m, e) = reply(&mut r, Some(T0), &batch(1, 5, &recs[4..6]));
    assert_eq!(m, nack(1, 4, NackReason::Gap));
    assert_eq!(
        e,
        ReceiverEvent::Gap {
            expected: 4,
            got: 5
        }
    );
    // Overlapping batch 2..=6: only 4..=6 are new.
    let (m, _) = reply(&mut r, Some(T0), &batch(1, 2, &recs[1..6]));
    assert_eq!(m, ack(1, 6));
    let store = r.store();
    let got: Vec<(u32, &[u8])> = store
        .records()
        .iter()
        .map(|s| (s.position, &s.envelope[..]))
        .collect();
    let want: Vec<(u32, &[u8])> = (1..=6u32).zip(recs.iter().map(|v| &v[..])).collect();
    assert_eq!(got, want);
    assert!(store
        .records()
        .iter()
        .all(|s| s.status == RecordStatus::Valid));
    assert_eq!(store.watermark_of(DeviceId(7), Epoch(1)), 6);
}

#[test]
fn receiver_refuses_unsupported_schema_with_reason() {
    let mut r = Receiver::with_schemas(MemoryStore::new(), SchemaRange { min: 1, max: 1 });
    let mut out = [0u8; 64];
    let n = Message::Hello(Hello {
        device: 7,
        epoch: 1,
        schema: 2,
        session: 1,
        last_position: 0,
        boot: 1,
        uptime_s: 0,
        clock_valid: true,
    })
    .encode(&mut out)
    .unwrap();
    let (m, e) = reply(&mut r, None, &out[..n]);
    let reason = NackReason::UnsupportedSchema { min: 1, max: 1 };
    assert_eq!(m, nack(1, 0, reason));
    assert_eq!(e, ReceiverEvent::Refused(reason));
    // No session: batches are not introduced.
    let (m, e) = reply(&mut r, None, &batch(1, 1, &[vitals(7, 1, 1)]));
    assert_eq!(m, nack(1, 0, NackReason::NotIntroduced));
    assert_eq!(e, ReceiverEvent::NotIntroduced);
    // Schema 0 is never valid, even with the default range.
    let mut r = Receiver::new(MemoryStore::new());
    let n = Message::Hello(Hello {
        device: 7,
        epoch: 1,
        schema: 0,
        session: 1,
        last_position: 0,
        boot: 1,
        uptime_s: 0,
        clock_valid: true,
    })
    .encode(&mut out)
    .unwrap();
    assert!(matches!(
        reply(&mut r, None, &out[..n]).0,
        Some(Message::Nack(Nack {
            reason: NackReason::UnsupportedSchema { .. },
            ..
        }))
    ));
}

#[test]
fn receiver_detects_reused_epoch() {
    let mut r = Receiver::new(MemoryStore::new());
    reply(&mut r, None, &hello(7, 1, 2, 1, 0));
    let recs = [vitals(7, 1, 1), vitals(7, 1, 2)];
    assert_eq!(reply(&mut r, None, &batch(1, 1, &recs)).0, ack(1, 2));
    // The kiosk was wiped and came back with epoch 1 and nothing sent.
    let (m, e) = reply(&mut r, None, &hello(7, 1, 0, 2, 0));
    let reason = NackReason::EpochReused { watermark: 2 };
    assert_eq!(m, nack(1, 3, reason));
    assert_eq!(e, ReceiverEvent::Refused(reason));
}

#[test]
fn receiver_keeps_unknown_invalid_and_malformed_records_flagged() {
    let mut r = Receiver::new(MemoryStore::new());
    reply(&mut r, None, &hello(9, 1, 3, 1, 0));
    // Unknown kind 200 with a valid header.
    let mut unknown = std::vec![200u8, 0];
    let mut body = [0u8; 64];
    let mut w = crate::wire::Writer::new(&mut body);
    let t = Timestamp::Utc(UtcSeconds::new(T0).unwrap());
    header(9, 1, 1, t).encode(&mut w);
    w.raw(&[1, 2, 3]);
    let n = w.finish().unwrap();
    unknown[1] = n as u8;
    unknown.extend_from_slice(&body[..n]);
    // Invalid: resident number 0 breaks a header rule.
    let mut h = header(9, 1, 2, t);
    h.resident.number = ResidentNumber(0);
    let r2 = Record {
        header: h,
        body: Body::Vitals(VitalSigns {
            pulse_per_min: Some(70),
            ..Default::default()
        }),
    };
    let mut buf = [0u8; MAX_ENVELOPE_LEN];
    let n = r2.encode_unchecked(&mut buf).unwrap();
    let invalid = buf[..n].to_vec();
    // Malformed: a vitals envelope whose body is one byte (header cut short).
    let malformed = std::vec![2u8, 1, 9];
    let (m, _) = reply(
        &mut r,
        None,
        &batch(1, 1, &[unknown.clone(), invalid.clone(), malformed.clone()]),
    );
    assert_eq!(m, ack(1, 3));
    let s = r.store().records();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].status, RecordStatus::UnknownKind);
    assert_eq!(s[0].envelope, unknown);
    assert!(s[0].header.is_some());
    assert_eq!(
        s[1].status,
        RecordStatus::Invalid(crate::record::ValidationError::ResidentNumberZero)
    );
    assert!(matches!(s[2].status, RecordStatus::Malformed(_)));
    assert_eq!(s[2].header, None);
    assert_eq!(s[2].envelope, malformed);
}

#[test]
fn receiver_places_clockless_records_of_the_hello_boot() {
    let mut r = Receiver::new(MemoryStore::new());
    // Hello at uptime 1000 s of boot 4, receiver clock T0: the boot began at T0 - 1000.
    reply(&mut r, Some(T0), &hello(7, 1, 3, 4, 1000));
    let unknown =
        |seq, boot, uptime_s| vitals_with(header(7, 1, seq, Timestamp::Unknown { boot, uptime_s }));
    let recs = [unknown(1, 4, 250), unknown(2, 3, 250), vitals(7, 1, 3)];
    reply(&mut r, Some(T0 + 5), &batch(1, 1, &recs));
    let s = r.store().records();
    // Same boot: T0 - 1000 + 250 = T0 - 750.
    assert_eq!(s[0].placed_time, Some(UtcSeconds::new(T0 - 750).unwrap()));
    // Earlier boot: cannot be placed.
    assert_eq!(s[1].placed_time, None);
    // Has a UTC time: nothing to place.
    assert_eq!(s[2].placed_time, None);
    // A receiver without a valid clock (a 1970 reading counts as none) places nothing.
    let mut r = Receiver::new(MemoryStore::new());
    let (m, _) = reply(&mut r, Some(1000), &hello(7, 1, 3, 4, 1000));
    assert!(matches!(
        m,
        Some(Message::Welcome(Welcome { utc_now: None, .. }))
    ));
    reply(&mut r, Some(T0), &batch(1, 1, &recs[..1]));
    assert_eq!(r.store().records()[0].placed_time, None);
}

#[test]
fn receiver_store_outage_is_nacked_and_nothing_committed() {
    let mut r = Receiver::new(MemoryStore::new());
    reply(&mut r, None, &hello(7, 1, 1, 1, 0));
    r.store_mut().set_unavailable(true);
    let (m, e) = reply(&mut r, None, &batch(1, 1, &[vitals(7, 1, 1)]));
    assert_eq!(m, nack(1, 0, NackReason::StoreUnavailable));
    assert_eq!(e, ReceiverEvent::StoreFailed(StoreError::Unavailable));
    r.store_mut().set_unavailable(false);
    assert_eq!(
        reply(&mut r, None, &batch(1, 1, &[vitals(7, 1, 1)])).0,
        ack(1, 1)
    );
}

#[test]
fn receiver_answers_garbage_with_malformed_and_needs_a_reply_buffer() {
    let mut r = Receiver::new(MemoryStore::new());
    let (m, e) = reply(&mut r, None, &[0xFF, 0xFF, 0xFF]);
    assert_eq!(m, nack(0, 0, NackReason::Malformed));
    assert_eq!(e, ReceiverEvent::Malformed);
    let mut short = [0u8; 4];
    assert_eq!(
        r.handle(None, &hello(7, 1, 0, 1, 0), &mut short),
        Err(ReceiverError::OutputTooSmall {
            needed: MAX_CONTROL_MESSAGE_LEN
        })
    );
}

#[test]
fn store_dedups_a_record_forwarded_twice() {
    let mut r = Receiver::new(MemoryStore::new());
    reply(&mut r, None, &hello(5, 1, 2, 1, 0));
    // Terminal 5 forwards kiosk 7's record twice (positions 1 and 2).
    let k = vitals(7, 1, 42);
    assert_eq!(
        reply(&mut r, None, &batch(1, 1, &[k.clone(), k.clone()])).0,
        ack(1, 2)
    );
    assert_eq!(r.store().records().len(), 1);
    assert_eq!(r.store().duplicates_skipped(), 1);
}

// ---------------------------------------------------------------- sender

fn sender(window: u32) -> Sender<RamStorage<8192>> {
    let o = Outbox::open(RamStorage::<8192>::new(), DeviceId(7), Epoch(1)).unwrap();
    let cfg = SenderConfig {
        mtu: 512,
        window,
        initial_rto_ms: 100,
        max_rto_ms: 800,
    };
    Sender::new(o, cfg, 1, false).unwrap()
}

fn poll(s: &mut Sender<RamStorage<8192>>, now: u64) -> Option<Vec<u8>> {
    let mut out = [0u8; 1024];
    s.poll_transmit(now, &mut out)
        .unwrap()
        .map(|n| out[..n].to_vec())
}

fn msg(m: Message<'_>) -> Vec<u8> {
    let mut out = [0u8; 64];
    let n = m.encode(&mut out).unwrap();
    out[..n].to_vec()
}

fn decode_batch(p: &[u8]) -> (u32, u32) {
    match Message::decode(p).unwrap() {
        Message::Batch(b) => (b.first_position, b.count().unwrap()),
        m => panic!("not a batch: {m:?}"),
    }
}

#[test]
fn sender_says_hello_with_backoff_then_streams() {
    let mut s = sender(64);
    for seq in 1..=3 {
        s.push(&vitals(7, 1, seq)).unwrap();
    }
    let h = poll(&mut s, 0).unwrap();
    assert_eq!(
        Message::decode(&h).unwrap(),
        Message::Hello(Hello {
            device: 7,
            epoch: 1,
            schema: crate::SCHEMA_VERSION,
            session: (1 << 16) | 1,
            last_position: 3,
            boot: 1,
            uptime_s: 0,
            clock_valid: false
        })
    );
    // Resends: after 100 ms, then 200 ms later, then 400 ms later (backoff x2).
    assert_eq!(poll(&mut s, 99), None);
    assert!(poll(&mut s, 100).is_some());
    assert_eq!(poll(&mut s, 299), None);
    assert!(poll(&mut s, 300).is_some());
    assert_eq!(poll(&mut s, 699), None);
    assert!(poll(&mut s, 700).is_some());
    // Capped at 800 ms.
    assert!(poll(&mut s, 1500).is_some());
    assert_eq!(poll(&mut s, 2299), None);
    let ev = s
        .handle(
            2000,
            &msg(Message::Welcome(Welcome {
                epoch: 1,
                session: (1 << 16) | 1,
                watermark: 1,
                utc_now: Some(T0),
            })),
        )
        .unwrap();
    assert_eq!(
        ev,
        SenderEvent::Welcomed {
            watermark: 1,
            utc_now: Some(T0)
        }
    );
    assert_eq!(ev.utc_now(), Some(T0));
    // Record 1 is acknowledged by the welcome; the batch resumes at 2.
    assert_eq!(s.outbox().acked_through(), 1);
    let b = poll(&mut s, 2000).unwrap();
    assert_eq!(decode_batch(&b), (2, 2));
    assert_eq!(poll(&mut s, 2001), None);
    let ev = s
        .handle(
            2010,
            &msg(Message::Ack(Ack {
                epoch: 1,
                watermark: 3,
            })),
        )
        .unwrap();
    assert_eq!(ev, SenderEvent::Acked { watermark: 3 });
    assert!(s.outbox().is_empty());
    assert_eq!(s.next_timeout(), None);
}

#[test]
fn sender_respects_window_mtu_and_retransmits_after_timeout() {
    let mut s = sender(5);
    for seq in 1..=40 {
        s.push(&vitals(7, 1, seq)).unwrap();
    }
    poll(&mut s, 0).unwrap();
    s.handle(
        0,
        &msg(Message::Welcome(Welcome {
            epoch: 1,
            session: (1 << 16) | 1,
            watermark: 0,
            utc_now: None,
        })),
    )
    .unwrap();
    let b = poll(&mut s, 0).unwrap();
    // Window 5: five records, then nothing until an ack.
    assert_eq!(decode_batch(&b), (1, 5));
    assert_eq!(poll(&mut s, 10), None);
    s.handle(
        20,
        &msg(Message::Ack(Ack {
            epoch: 1,
            watermark: 2,
        })),
    )
    .unwrap();
    assert_eq!(decode_batch(&poll(&mut s, 20).unwrap()), (6, 2));
    // No ack within the timeout (100 ms after the ack at 20): back to 3.
    assert_eq!(poll(&mut s, 119), None);
    assert_eq!(decode_batch(&poll(&mut s, 120).unwrap()), (3, 5));
    // Big window: batches are bounded by the MTU (framed size <= 512).
    let mut s = sender(64);
    for seq in 1..=40 {
        s.push(&vitals(7, 1, seq)).unwrap();
    }
    poll(&mut s, 0).unwrap();
    s.handle(
        0,
        &msg(Message::Welcome(Welcome {
            epoch: 1,
            session: (1 << 16) | 1,
            watermark: 0,
            utc_now: None,
        })),
    )
    .unwrap();
    let mut next = 1;
    while let Some(b) = poll(&mut s, 0) {
        let mut framed = std::vec![0u8; crate::wire::max_frame_len(b.len())];
        let n = crate::wire::encode_frame(&b, &mut framed).unwrap();
        assert!(n <= 512, "frame of {n} bytes");
        let (first, count) = decode_batch(&b);
        assert_eq!(first, next);
        // A record more would not have fitted.
        assert!(
            first + count > 40 || b.len() + vitals(7, 1, 1).len() > 500,
            "batch not full"
        );
        next += count;
    }
    assert_eq!(next, 41);
}

#[test]
fn sender_goes_back_once_on_gap_and_on_reintroduction() {
    let mut s = sender(64);
    for seq in 1..=30 {
        s.push(&vitals(7, 1, seq)).unwrap();
    }
    poll(&mut s, 0).unwrap();
    s.handle(
        0,
        &msg(Message::Welcome(Welcome {
            epoch: 1,
            session: (1 << 16) | 1,
            watermark: 0,
            utc_now: None,
        })),
    )
    .unwrap();
    let mut sent = Vec::new();
    while let Some(b) = poll(&mut s, 0) {
        sent.push(decode_batch(&b));
    }
    assert!(sent.len() >= 2);
    // The first batch was lost: the second one's nack asks for 1.
    let gap = msg(Message::Nack(Nack {
        epoch: 1,
        expected: 1,
        reason: NackReason::Gap,
    }));
    assert_eq!(
        s.handle(5, &gap).unwrap(),
        SenderEvent::Rewound { expected: 1 }
    );
    assert_eq!(decode_batch(&poll(&mut s, 5).unwrap()).0, 1);
    // The nack of a third batch already in flight does not rewind again.
    assert_eq!(s.handle(6, &gap).unwrap(), SenderEvent::Ignored);
    assert_ne!(poll(&mut s, 6).map(|b| decode_batch(&b).0), Some(1));
    // A gap nack also acknowledges what precedes it.
    let gap10 = msg(Message::Nack(Nack {
        epoch: 1,
        expected: 11,
        reason: NackReason::Gap,
    }));
    s.handle(7, &gap10).unwrap();
    assert_eq!(s.outbox().acked_through(), 10);
    // The receiver restarted: hello again, then resume from its watermark.
    let ni = msg(Message::Nack(Nack {
        epoch: 1,
        expected: 0,
        reason: NackReason::NotIntroduced,
    }));
    assert_eq!(s.handle(8, &ni).unwrap(), SenderEvent::Reintroducing);
    assert!(matches!(
        Message::decode(&poll(&mut s, 8).unwrap()).unwrap(),
        Message::Hello(Hello {
            last_position: 30,
            ..
        })
    ));
}

#[test]
fn sender_stops_on_schema_refusal_and_reused_epoch() {
    let mut s = sender(64);
    s.push(&vitals(7, 1, 1)).unwrap();
    poll(&mut s, 0).unwrap();
    let refusal = msg(Message::Nack(Nack {
        epoch: 1,
        expected: 0,
        reason: NackReason::UnsupportedSchema { min: 2, max: 3 },
    }));
    let ev = s.handle(1, &refusal).unwrap();
    assert_eq!(
        ev,
        SenderEvent::Stopped(StopReason::UnsupportedSchema { min: 2, max: 3 })
    );
    assert_eq!(
        s.stopped(),
        Some(StopReason::UnsupportedSchema { min: 2, max: 3 })
    );
    assert_eq!(poll(&mut s, 10_000), None);
    // The record stays in the outbox.
    assert_eq!(s.outbox().len(), 1);

    let mut s = sender(64);
    poll(&mut s, 0).unwrap();
    let w = msg(Message::Welcome(Welcome {
        epoch: 1,
        session: (1 << 16) | 1,
        watermark: 5,
        utc_now: None,
    }));
    assert_eq!(
        s.handle(1, &w).unwrap(),
        SenderEvent::Stopped(StopReason::EpochReused { watermark: 5 })
    );
}

#[test]
fn sender_time_sync_and_busy_receiver() {
    let mut s = sender(64);
    s.push(&vitals(7, 1, 1)).unwrap();
    assert_eq!(
        s.handle(0, &msg(Message::TimeSync(TimeSync { utc_now: T0 })))
            .unwrap(),
        SenderEvent::TimeSynced { utc_now: T0 }
    );
    // A 1970 time is not a time.
    assert_eq!(
        s.handle(0, &msg(Message::TimeSync(TimeSync { utc_now: 5 })))
            .unwrap(),
        SenderEvent::Ignored
    );
    poll(&mut s, 0).unwrap();
    s.handle(
        0,
        &msg(Message::Welcome(Welcome {
            epoch: 1,
            session: (1 << 16) | 1,
            watermark: 0,
            utc_now: None,
        })),
    )
    .unwrap();
    assert!(poll(&mut s, 0).is_some());
    let busy = msg(Message::Nack(Nack {
        epoch: 1,
        expected: 1,
        reason: NackReason::StoreUnavailable,
    }));
    assert_eq!(s.handle(10, &busy).unwrap(), SenderEvent::ReceiverBusy);
    // Paused for the timeout (100 ms), then resent from the oldest unacknowledged.
    assert_eq!(poll(&mut s, 109), None);
    assert_eq!(decode_batch(&poll(&mut s, 110).unwrap()), (1, 1));
    // Garbage and foreign messages are ignored.
    assert_eq!(s.handle(111, &[0xFF]).unwrap(), SenderEvent::Ignored);
    assert_eq!(
        s.handle(
            111,
            &msg(Message::Ack(Ack {
                epoch: 2,
                watermark: 1
            }))
        )
        .unwrap(),
        SenderEvent::Ignored
    );
}

#[test]
fn sender_config_is_checked() {
    let o = Outbox::open(RamStorage::<256>::new(), DeviceId(7), Epoch(1)).unwrap();
    let cfg = SenderConfig {
        mtu: MIN_MTU - 1,
        ..SenderConfig::default()
    };
    assert!(matches!(
        Sender::new(o, cfg, 1, true),
        Err(SenderError::InvalidConfig)
    ));
    // The default MTU carries the largest record this version writes.
    assert!(DEFAULT_MTU >= SenderConfig::mtu_for_all_records());
    // A smaller MTU refuses records it could never send, before they enter the outbox.
    let o = Outbox::open(RamStorage::<256>::new(), DeviceId(7), Epoch(1)).unwrap();
    let cfg = SenderConfig {
        mtu: MIN_MTU,
        ..SenderConfig::default()
    };
    let mut s = Sender::new(o, cfg, 1, true).unwrap();
    assert_eq!(s.push(&vitals(7, 1, 1)), Ok(1));
    let big = {
        let mut e = std::vec![9u8, 0];
        let mut body = [0u8; 64];
        let mut w = crate::wire::Writer::new(&mut body);
        let t = Timestamp::Utc(UtcSeconds::new(T0).unwrap());
        header(9, 1, 1, t).encode(&mut w);
        w.raw(&[7; 40]);
        let n = w.finish().unwrap();
        e[1] = n as u8;
        e.extend_from_slice(&body[..n]);
        e
    };
    assert_eq!(
        s.push(&big),
        Err(SenderError::EntryExceedsMtu {
            position: 2,
            len: big.len()
        })
    );
    assert_eq!(s.outbox().len(), 1);
}

// ---------------------------------------------------------------- end to end

#[test]
fn sender_and_receiver_drain_an_outbox_over_frames() {
    let mut s = sender(16);
    for seq in 1..=100 {
        s.push(&vitals(7, 1, seq)).unwrap();
    }
    let mut r = Receiver::new(MemoryStore::new());
    let mut now = 0;
    let mut synced = None;
    let mut payload = [0u8; 1024];
    let mut frame = [0u8; 1100];
    let mut reply_buf = [0u8; MAX_CONTROL_MESSAGE_LEN];
    let mut rx = crate::wire::FrameDecoder::<1100>::new();
    let mut tx = crate::wire::FrameDecoder::<64>::new();
    while !s.outbox().is_empty() && now < 10_000 {
        while let Some(n) = s.poll_transmit(now, &mut payload).unwrap() {
            let f = crate::wire::encode_frame(&payload[..n], &mut frame).unwrap();
            let mut input = &frame[..f];
            while let Some(p) = rx.feed(&mut input) {
                let out = r.handle(Some(T0), p.unwrap(), &mut reply_buf).unwrap();
                let mut rf = [0u8; 64];
                let m = crate::wire::encode_frame(&reply_buf[..out.reply_len], &mut rf).unwrap();
                let mut back = &rf[..m];
                while let Some(q) = tx.feed(&mut back) {
                    let ev = s.handle(now, q.unwrap()).unwrap();
                    if let Some(t) = ev.utc_now() {
                        synced = Some(t);
                    }
                }
            }
        }
        now += 10;
    }
    assert!(s.outbox().is_empty());
    assert_eq!(synced, Some(T0));
    let got: Vec<u32> = r.store().records().iter().map(|r| r.position).collect();
    assert_eq!(got, (1..=100).collect::<Vec<u32>>());
}

#[test]
fn sender_ignores_late_answers_to_earlier_hellos() {
    let mut s = sender(64);
    for seq in 1..=3 {
        s.push(&vitals(7, 1, seq)).unwrap();
    }
    let first = poll(&mut s, 0).unwrap();
    let Message::Hello(h1) = Message::decode(&first).unwrap() else {
        panic!("no hello")
    };
    let welcome = |session, watermark| {
        msg(Message::Welcome(Welcome {
            epoch: 1,
            session,
            watermark,
            utc_now: None,
        }))
    };
    assert!(matches!(
        s.handle(1, &welcome(h1.session, 0)).unwrap(),
        SenderEvent::Welcomed { .. }
    ));
    s.handle(
        2,
        &msg(Message::Ack(Ack {
            epoch: 1,
            watermark: 3,
        })),
    )
    .unwrap();
    // The receiver restarts; a new hello phase begins with a new session number.
    let ni = msg(Message::Nack(Nack {
        epoch: 1,
        expected: 0,
        reason: NackReason::NotIntroduced,
    }));
    s.handle(3, &ni).unwrap();
    let Message::Hello(h2) = Message::decode(&poll(&mut s, 3).unwrap()).unwrap() else {
        panic!("no hello")
    };
    assert_ne!(h1.session, h2.session);
    // A late duplicate of the first welcome (watermark 0 < acknowledged 3) is ignored,
    // not taken for a receiver that lost data.
    assert_eq!(
        s.handle(4, &welcome(h1.session, 0)).unwrap(),
        SenderEvent::Ignored
    );
    assert!(!s.is_streaming());
    // A late "epoch reused" answering an older hello (watermark within what this outbox
    // assigned) and a late schema refusal once streaming are ignored too.
    let reused = msg(Message::Nack(Nack {
        epoch: 1,
        expected: 4,
        reason: NackReason::EpochReused { watermark: 3 },
    }));
    assert_eq!(s.handle(5, &reused).unwrap(), SenderEvent::Ignored);
    assert!(matches!(
        s.handle(6, &welcome(h2.session, 3)).unwrap(),
        SenderEvent::Welcomed { watermark: 3, .. }
    ));
    let schema = msg(Message::Nack(Nack {
        epoch: 1,
        expected: 0,
        reason: NackReason::UnsupportedSchema { min: 9, max: 9 },
    }));
    assert_eq!(s.handle(7, &schema).unwrap(), SenderEvent::Ignored);
    assert_eq!(s.stopped(), None);
    // A welcome answering the current hello with a watermark below what was
    // acknowledged means the receiver lost data: stop.
    s.handle(8, &ni).unwrap();
    let Message::Hello(h3) = Message::decode(&poll(&mut s, 8).unwrap()).unwrap() else {
        panic!("no hello")
    };
    assert_eq!(
        s.handle(9, &welcome(h3.session, 1)).unwrap(),
        SenderEvent::Stopped(StopReason::ReceiverBehind {
            watermark: 1,
            acked: 3
        })
    );
}

#[test]
fn receiver_commits_a_long_batch_up_to_its_capacity() {
    let mut r = Receiver::new(MemoryStore::new());
    let n = MAX_BATCH_RECORDS as u32 + 2;
    reply(&mut r, None, &hello(7, 1, n, 1, 0));
    let recs: Vec<Vec<u8>> = (1..=n).map(|s| vitals(7, 1, s)).collect();
    // 130 records: the first 128 are committed and acknowledged...
    let (m, _) = reply(&mut r, None, &batch(1, 1, &recs));
    assert_eq!(m, ack(1, MAX_BATCH_RECORDS as u32));
    // ...and the sender's next batch from 129 completes the stream.
    let (m, _) = reply(&mut r, None, &batch(1, 129, &recs[128..]));
    assert_eq!(m, ack(1, n));
    assert_eq!(r.store().records().len(), n as usize);
}

#[test]
fn memory_store_refuses_a_commit_that_does_not_continue_the_watermark() {
    let mut s = MemoryStore::new();
    let env = vitals(7, 1, 2);
    let rec = RecordToCommit {
        position: 2,
        envelope: &env,
        kind: 2,
        header: None,
        status: RecordStatus::Valid,
        placed_time: None,
    };
    assert_eq!(
        s.commit(DeviceId(7), Epoch(1), 2, &[rec], 2),
        Err(StoreError::Conflict)
    );
    assert!(s.records().is_empty());
}
