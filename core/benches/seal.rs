//! Sealed frames: verification throughput (authenticate + decrypt a sealed batch of one
//! vitals record), the same through the COBS/CRC frame decoder, the terminal's whole
//! sealed path (key lookup, open, replay check, sync handling, sealed ack), and sealing
//! on the kiosk. Target: at least 200,000 verified frames per second.
use std::time::{Duration, Instant};

mod common;

use common::{vitals, T0};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tcmcare_core::ids::*;
use tcmcare_core::seal::{
    open_in_place, seal_in_place, DeviceKey, Direction, KeyId, MemoryKeyStore, RamSealStore,
    SealHeader, SealState, SealStore, Sealer, MAX_SEAL_OVERHEAD,
};
use tcmcare_core::sync::{
    Batch, Hello, LinkSecurity, MemoryStore, Message, SealedReceiver, SealedReceiverEvent,
    MAX_SEALED_CONTROL_LEN,
};
use tcmcare_core::wire::{encode_frame, max_frame_len, FrameDecoder};

const KEY: [u8; 32] = [0x42; 32];

/// A plain payload, sealed kiosk -> terminal with `counter`.
fn sealed(plain: &[u8], counter: u32) -> Vec<u8> {
    let mut buf = vec![0u8; plain.len() + MAX_SEAL_OVERHEAD];
    buf[..plain.len()].copy_from_slice(plain);
    let h = SealHeader {
        key_id: KeyId(1),
        device: DeviceId(7),
        epoch: Epoch(1),
        counter,
        reply_to: 0,
    };
    let n = seal_in_place(
        &DeviceKey::from_bytes(KEY),
        Direction::Uplink,
        &h,
        &mut buf,
        plain.len(),
    )
    .unwrap();
    buf.truncate(n);
    buf
}

/// A batch of one vitals record at `position`.
fn batch(records: &[u8], position: u32) -> Vec<u8> {
    let m = Message::Batch(Batch {
        epoch: 1,
        first_position: position,
        records,
    });
    let mut out = vec![0u8; m.encoded_len()];
    m.encode(&mut out).unwrap();
    out
}

fn bench_open(c: &mut Criterion) {
    let key = DeviceKey::from_bytes(KEY);
    let record = vitals(1000);
    let payload = sealed(&batch(&record, 1000), 1000);
    let mut g = c.benchmark_group("seal");
    g.throughput(Throughput::Elements(1));
    // Authenticate and decrypt one sealed batch (copying it first: opening is in place).
    g.bench_function(
        format!("open_batch_of_one_vitals_{}B", payload.len()),
        |b| {
            let mut buf = payload.clone();
            b.iter(|| {
                buf.copy_from_slice(&payload);
                let (h, plain) =
                    open_in_place(&key, Direction::Uplink, black_box(&mut buf)).unwrap();
                black_box((h, plain.len()));
            })
        },
    );
    // The same, through the stream frame decoder (COBS, CRC-32C) first.
    let mut framed = vec![0u8; max_frame_len(payload.len())];
    let n = encode_frame(&payload, &mut framed).unwrap();
    framed.truncate(n);
    g.bench_function("deframe_and_open", |b| {
        let mut dec = FrameDecoder::<256>::new();
        b.iter(|| {
            let mut input = black_box(&framed[..]);
            let p = dec.feed(&mut input).unwrap().unwrap();
            let mut buf = [0u8; 256];
            let len = p.len();
            buf[..len].copy_from_slice(p);
            let (_, plain) = open_in_place(&key, Direction::Uplink, &mut buf[..len]).unwrap();
            black_box(plain.len());
        })
    });
    // The kiosk sealing a batch (counter lease of 64 in RAM).
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
        .unwrap();
    let mut sealer = Sealer::resume(store, 64).unwrap();
    let plain = batch(&record, 1000);
    g.bench_function("seal_batch_of_one_vitals", |b| {
        let mut buf = vec![0u8; plain.len() + MAX_SEAL_OVERHEAD];
        b.iter(|| {
            buf[..plain.len()].copy_from_slice(&plain);
            black_box(sealer.seal(&mut buf, plain.len()).unwrap());
        })
    });
    g.finish();
}

/// The terminal's whole sealed path on duplicate batches (so the store does no work):
/// key lookup, open, replay check, sync handling, sealed ack.
fn bench_receiver(c: &mut Criterion) {
    const FRAMES: u32 = 20_000;
    let record = vitals(1);
    let plain_dup = batch(&record, 1);
    // Counters 1 (hello) and 2 (the committing batch), then the duplicates.
    let frames: Vec<Vec<u8>> = (3..3 + FRAMES).map(|c| sealed(&plain_dup, c)).collect();
    let hello = Message::Hello(Hello {
        device: 7,
        epoch: 1,
        schema: 1,
        session: 1,
        last_position: 1,
        boot: 1,
        uptime_s: 0,
        clock_valid: true,
    });
    let mut hb = [0u8; 64];
    let hn = hello.encode(&mut hb).unwrap();
    let hello = sealed(&hb[..hn], 1);
    let first = sealed(&plain_dup, 2);
    let mut g = c.benchmark_group("seal");
    g.throughput(Throughput::Elements(FRAMES as u64));
    g.sample_size(10);
    g.bench_function("terminal_verify_and_ack_duplicate_batch", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut keys = MemoryKeyStore::new();
                keys.insert(DeviceId(7), KeyId(1), DeviceKey::from_bytes(KEY));
                let mut t = SealedReceiver::new(MemoryStore::new(), keys, LinkSecurity::Sealed);
                let mut out = [0u8; MAX_SEALED_CONTROL_LEN];
                t.handle(Some(T0), &mut hello.clone(), &mut out).unwrap();
                t.handle(Some(T0), &mut first.clone(), &mut out).unwrap();
                let mut copies = frames.clone();
                let start = Instant::now();
                for f in copies.iter_mut() {
                    let o = t.handle(Some(T0), f, &mut out).unwrap();
                    debug_assert!(matches!(o.event, SealedReceiverEvent::Sync(_)));
                    black_box(o.reply_len);
                }
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench_open, bench_receiver);
criterion_main!(benches);
