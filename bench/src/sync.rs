//! Sync overhead: what batching and framing add to each record on the wire, and the
//! in-memory throughput of core's sender draining its outbox into a receiver.

use std::hint::black_box;
use std::time::{Duration, Instant};

use tcmcare_core::ids::{CareHomeId, DeviceId, Epoch, RecordId, ResidentNumber, ResidentRef, Seq};
use tcmcare_core::record::{Body, Header, Record, VitalSigns};
use tcmcare_core::sync::{
    BatchBuilder, MemoryStore, Outbox, RamStorage, Receiver, Sender, SenderConfig,
    MAX_CONTROL_MESSAGE_LEN,
};
use tcmcare_core::time::{Timestamp, UtcSeconds};
use tcmcare_core::wire::{encode_frame, max_frame_len, FrameDecoder, MAX_ENVELOPE_LEN};

use crate::timing::{measure, measure_runs, Timing};

/// 2026-03-15T08:30:00Z.
const T0: u64 = 1_773_563_400;
/// Records drained per run of the throughput measurement.
pub const DRAIN_RECORDS: u32 = 10_000;
/// Timed runs of the drain.
pub const DRAIN_RUNS: usize = 7;
/// Outbox ring big enough for all of them (about 23 bytes each with the ring's prefix).
const RING: usize = 512 * 1024;

/// A kiosk's vitals record: 128/82 mmHg, varying pulse, SpO2 97 %, 36.6 °C, one resident
/// of 200, a minute apart.
pub fn vitals_envelope(seq: u32) -> Result<Vec<u8>, String> {
    let r = Record {
        header: Header {
            id: RecordId {
                device: DeviceId(7),
                epoch: Epoch(1),
                seq: Seq(seq),
            },
            resident: ResidentRef {
                care_home: CareHomeId(3101),
                number: ResidentNumber(1000 + seq % 200),
            },
            time: Timestamp::Utc(
                UtcSeconds::new(T0 + 60 * u64::from(seq)).map_err(|e| format!("{e:?}"))?,
            ),
        },
        body: Body::Vitals(VitalSigns {
            systolic_mmhg: Some(128),
            diastolic_mmhg: Some(82),
            pulse_per_min: Some(60 + (seq % 60) as u16),
            spo2_percent: Some(97),
            temperature_centi_c: Some(3660),
            ..Default::default()
        }),
    };
    let mut buf = [0u8; MAX_ENVELOPE_LEN];
    let n = r.encode(&mut buf).map_err(|e| e.to_string())?;
    Ok(buf[..n].to_vec())
}

/// One batch of `n` vitals records, built and framed.
#[derive(Debug, Clone)]
pub struct BatchRow {
    /// Records in the batch.
    pub n: u32,
    /// Sum of the record envelopes.
    pub envelopes: usize,
    /// Batch message payload (head + envelopes).
    pub payload: usize,
    /// The framed payload on the wire.
    pub frame: usize,
    /// Building the batch and framing it, per record.
    pub build: Timing,
}

/// Builds batches of 1, 10 and 100 vitals records with core's [`BatchBuilder`] and frames
/// them (a batch is one frame; the MTU is not applied here, see the drain for that).
pub fn batches() -> Result<Vec<BatchRow>, String> {
    let mut rows = Vec::new();
    for n in [1u32, 10, 100] {
        let records = (1..=n)
            .map(vitals_envelope)
            .collect::<Result<Vec<_>, _>>()?;
        let envelopes: usize = records.iter().map(Vec::len).sum();
        let mut out = vec![0u8; envelopes + 64];
        let mut framed = vec![0u8; max_frame_len(envelopes + 64)];
        let build = |out: &mut [u8], framed: &mut [u8]| -> Result<(usize, usize), String> {
            let cap = out.len();
            let mut batch = BatchBuilder::new(out, 1, 1, cap).map_err(|e| e.to_string())?;
            for r in &records {
                if !batch.push(black_box(r)) {
                    return Err("batch full".into());
                }
            }
            let len = batch.finish();
            let f = encode_frame(&out[..len], framed).map_err(|e| e.to_string())?;
            Ok((len, f))
        };
        let (payload, frame) = build(&mut out, &mut framed)?;
        let t = measure(|| build(&mut out, &mut framed));
        rows.push(BatchRow {
            n,
            envelopes,
            payload,
            frame,
            build: Timing {
                median_ns: t.median_ns / f64::from(n),
                min_ns: t.min_ns / f64::from(n),
                iters: t.iters,
            },
        });
    }
    Ok(rows)
}

/// Result of draining [`DRAIN_RECORDS`] records from a sender into a receiver.
#[derive(Debug, Clone)]
pub struct DrainRow {
    /// Sender MTU (bytes of a framed batch).
    pub mtu: usize,
    /// Sender window (records in flight).
    pub window: u32,
    /// Whether payloads were framed and deframed (COBS + CRC) both ways.
    pub framed: bool,
    /// Sum of the record envelopes.
    pub envelopes: usize,
    /// Bytes on the wire from sender to receiver (frames, hello included).
    pub up_bytes: usize,
    /// Bytes on the wire from receiver to sender (frames: welcome, acks).
    pub down_bytes: usize,
    /// Frames sent each way.
    pub up_frames: usize,
    /// Frames sent back.
    pub down_frames: usize,
    /// Time per record.
    pub time: Timing,
}

struct DrainOnce {
    took: Duration,
    up_bytes: usize,
    down_bytes: usize,
    up_frames: usize,
    down_frames: usize,
}

fn drain_once(
    records: &[Vec<u8>],
    config: SenderConfig,
    framed: bool,
) -> Result<DrainOnce, String> {
    let mut storage = Box::new(RamStorage::<RING>::new());
    let outbox =
        Outbox::open(&mut *storage, DeviceId(7), Epoch(1)).map_err(|e| format!("{e:?}"))?;
    let mut sender = Sender::new(outbox, config, 1, true).map_err(|e| format!("{e:?}"))?;
    for r in records {
        sender.push(r).map_err(|e| format!("{e:?}"))?;
    }
    let mut receiver = Receiver::new(MemoryStore::new());
    let mut payload = vec![0u8; config.mtu];
    let mut frame = vec![0u8; max_frame_len(config.mtu)];
    let mut reply = [0u8; MAX_CONTROL_MESSAGE_LEN];
    let mut reply_frame = [0u8; max_frame_len(MAX_CONTROL_MESSAGE_LEN)];
    let mut rx = FrameDecoder::<2048>::new();
    let mut tx = FrameDecoder::<64>::new();
    let (mut up_bytes, mut down_bytes, mut up_frames, mut down_frames) = (0, 0, 0, 0);
    let start = Instant::now();
    let mut now = 0;
    while !sender.outbox().is_empty() {
        while let Some(n) = sender
            .poll_transmit(now, &mut payload)
            .map_err(|e| format!("{e:?}"))?
        {
            if framed {
                let f = encode_frame(&payload[..n], &mut frame).map_err(|e| e.to_string())?;
                up_bytes += f;
                up_frames += 1;
                let mut input = &frame[..f];
                while let Some(p) = rx.feed(&mut input) {
                    let p = p.map_err(|e| e.to_string())?;
                    let out = receiver
                        .handle(Some(T0), p, &mut reply)
                        .map_err(|e| e.to_string())?;
                    if out.reply_len == 0 {
                        continue;
                    }
                    let m = encode_frame(&reply[..out.reply_len], &mut reply_frame)
                        .map_err(|e| e.to_string())?;
                    down_bytes += m;
                    down_frames += 1;
                    let mut back = &reply_frame[..m];
                    while let Some(q) = tx.feed(&mut back) {
                        let q = q.map_err(|e| e.to_string())?;
                        black_box(sender.handle(now, q).map_err(|e| format!("{e:?}"))?);
                    }
                }
            } else {
                up_bytes += n;
                up_frames += 1;
                let out = receiver
                    .handle(Some(T0), &payload[..n], &mut reply)
                    .map_err(|e| e.to_string())?;
                down_bytes += out.reply_len;
                down_frames += usize::from(out.reply_len > 0);
                black_box(
                    sender
                        .handle(now, &reply[..out.reply_len])
                        .map_err(|e| format!("{e:?}"))?,
                );
            }
        }
        now += 1;
        if now > 10_000_000 {
            return Err("drain did not finish".into());
        }
    }
    let took = start.elapsed();
    if receiver.store().records().len() != records.len() {
        return Err(format!(
            "receiver stored {} of {} records",
            receiver.store().records().len(),
            records.len()
        ));
    }
    Ok(DrainOnce {
        took,
        up_bytes,
        down_bytes,
        up_frames,
        down_frames,
    })
}

/// Drains [`DRAIN_RECORDS`] vitals records in memory, protocol only and framed, at the
/// default MTU and window and at a small MTU.
pub fn drains() -> Result<Vec<DrainRow>, String> {
    let records = (1..=DRAIN_RECORDS)
        .map(vitals_envelope)
        .collect::<Result<Vec<_>, _>>()?;
    let envelopes: usize = records.iter().map(Vec::len).sum();
    let mut rows = Vec::new();
    for (mtu, window) in [
        (SenderConfig::default().mtu, SenderConfig::default().window),
        (256, 16),
    ] {
        for framed in [false, true] {
            let config = SenderConfig {
                mtu,
                window,
                ..SenderConfig::default()
            };
            let first = drain_once(&records, config, framed)?;
            let mut failure = None;
            let time = measure_runs(DRAIN_RUNS, u64::from(DRAIN_RECORDS), || {
                match drain_once(&records, config, framed) {
                    Ok(d) => d.took,
                    Err(e) => {
                        failure = Some(e);
                        Duration::ZERO
                    }
                }
            });
            if let Some(e) = failure {
                return Err(e);
            }
            rows.push(DrainRow {
                mtu,
                window,
                framed,
                envelopes,
                up_bytes: first.up_bytes,
                down_bytes: first.down_bytes,
                up_frames: first.up_frames,
                down_frames: first.down_frames,
                time,
            });
        }
    }
    Ok(rows)
}
