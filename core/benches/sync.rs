//! Sync protocol throughput: an in-memory sender draining its outbox into an in-memory
//! receiver (protocol only, and with every payload framed and deframed), and building a
//! batch of vitals records.
use std::time::{Duration, Instant};

mod common;

use common::{vitals, T0};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tcmcare_core::ids::*;
use tcmcare_core::sync::{
    BatchBuilder, MemoryStore, Outbox, RamStorage, Receiver, Sender, SenderConfig,
    MAX_CONTROL_MESSAGE_LEN,
};
use tcmcare_core::wire::{encode_frame, max_frame_len, FrameDecoder};

/// Records drained per iteration.
const RECORDS: u32 = 10_000;
/// Outbox ring for them (about 23 bytes each with the ring's length prefix).
const RING: usize = 256 * 1024;

/// Drains `records` from a fresh outbox into a fresh receiver; returns the time spent in
/// the protocol (filling the outbox is not timed).
fn drain(records: &[Vec<u8>], config: SenderConfig, framed: bool) -> Duration {
    let mut storage = Box::new(RamStorage::<RING>::new());
    let outbox = Outbox::open(&mut *storage, DeviceId(7), Epoch(1)).unwrap();
    let mut sender = Sender::new(outbox, config, 1, true).unwrap();
    for r in records {
        sender.push(r).unwrap();
    }
    let mut receiver = Receiver::new(MemoryStore::new());
    let mut payload = vec![0u8; config.mtu];
    let mut frame = vec![0u8; max_frame_len(config.mtu)];
    let mut reply = [0u8; MAX_CONTROL_MESSAGE_LEN];
    let mut reply_frame = [0u8; max_frame_len(MAX_CONTROL_MESSAGE_LEN)];
    let mut rx = FrameDecoder::<2048>::new();
    let mut tx = FrameDecoder::<64>::new();
    let start = Instant::now();
    let mut now = 0;
    while !sender.outbox().is_empty() {
        while let Some(n) = sender.poll_transmit(now, &mut payload).unwrap() {
            if framed {
                let f = encode_frame(&payload[..n], &mut frame).unwrap();
                let mut input = &frame[..f];
                while let Some(p) = rx.feed(&mut input) {
                    let out = receiver.handle(Some(T0), p.unwrap(), &mut reply).unwrap();
                    let m = encode_frame(&reply[..out.reply_len], &mut reply_frame).unwrap();
                    let mut back = &reply_frame[..m];
                    while let Some(q) = tx.feed(&mut back) {
                        black_box(sender.handle(now, q.unwrap()).unwrap());
                    }
                }
            } else {
                let out = receiver
                    .handle(Some(T0), &payload[..n], &mut reply)
                    .unwrap();
                black_box(sender.handle(now, &reply[..out.reply_len]).unwrap());
            }
        }
        now += 1;
    }
    let took = start.elapsed();
    assert_eq!(receiver.store().records().len(), records.len());
    took
}

fn bench_drain(c: &mut Criterion) {
    let records: Vec<Vec<u8>> = (1..=RECORDS).map(vitals).collect();
    let mut g = c.benchmark_group("sync_drain_in_memory");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.sample_size(20);
    for (name, framed) in [("protocol", false), ("framed", true)] {
        for mtu in [512usize, 1024] {
            let config = SenderConfig {
                mtu,
                window: 256,
                ..SenderConfig::default()
            };
            g.bench_with_input(BenchmarkId::new(name, mtu), &config, |b, &config| {
                b.iter_custom(|iters| (0..iters).map(|_| drain(&records, config, framed)).sum())
            });
        }
    }
    g.finish();
}

fn bench_batch(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync_build_batch");
    for n in [1u32, 10, 100] {
        let records: Vec<Vec<u8>> = (1..=n).map(vitals).collect();
        let bytes: usize = records.iter().map(Vec::len).sum();
        g.throughput(Throughput::Elements(n as u64));
        let mut out = vec![0u8; bytes + 64];
        let mut framed = vec![0u8; max_frame_len(bytes + 64)];
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                let cap = out.len();
                let mut batch = BatchBuilder::new(&mut out, 1, 1_000, cap).unwrap();
                for r in &records {
                    batch.push(black_box(r));
                }
                let len = batch.finish();
                black_box(encode_frame(&out[..len], &mut framed).unwrap())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_drain, bench_batch);
criterion_main!(benches);
