//! Decoding the same 10,000 vital-signs frames through the C API
//! (`tcm_frame_decode_record`, called through a function pointer as C code would) and
//! through the Rust API (`decode_record_frame`), in one run. The target is C within 1.2x
//! of Rust; the ratio is printed at the end.
//!
//! `cargo bench -p tcmcare-ffi --bench decode` (or `make -C ffi bench`, which also prints
//! the library sizes).

use std::hint::black_box;
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

mod common;

use criterion::{Criterion, Throughput};
use tcmcare::record::tcm_record;
use tcmcare::tcm_status;
use tcmcare_core::record::{Body, Record};
use tcmcare_core::wire::{
    decode_frame, decode_record_frame, encode_record_frame, MAX_RECORD_FRAME_LEN,
};

const FRAMES: usize = 10_000;
/// Frames are decoded in a copy (the Rust API decodes in place); both sides copy into a
/// stack buffer of this size, as the C API does internally.
const WORK_LEN: usize = 256;

/// 10,000 plausible kiosk readings: varied blood pressure, pulse, SpO2, temperature.
fn frames() -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut bytes = Vec::new();
    let mut spans = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        let record = common::vitals_record(i as u32);
        let mut frame = [0u8; MAX_RECORD_FRAME_LEN];
        let n = encode_record_frame(&record, &mut frame).unwrap();
        spans.push((bytes.len(), n));
        bytes.extend_from_slice(&frame[..n]);
    }
    (bytes, spans)
}

type DecodeFn = unsafe extern "C" fn(*const u8, usize, *mut tcm_record) -> tcm_status;

/// Decodes every frame through the C API; returns a checksum so nothing is optimised out.
fn decode_c(bytes: &[u8], spans: &[(usize, usize)], f: DecodeFn) -> u64 {
    let mut sum = 0u64;
    let mut rec = MaybeUninit::<tcm_record>::uninit();
    for &(off, len) in spans {
        let frame = &bytes[off..off + len];
        // SAFETY: `frame` is `len` readable bytes; `rec` is writable for a tcm_record.
        let status = unsafe { f(frame.as_ptr(), frame.len(), rec.as_mut_ptr()) };
        assert_eq!(status, tcm_status::Ok);
        // SAFETY: OK means the kind, header and vitals member were written.
        let r = unsafe { rec.assume_init_ref() };
        // SAFETY: the kind is vitals, so the vitals member is the one written.
        sum += u64::from(unsafe { r.body.vitals.systolic_mmhg }) + u64::from(r.header.id.seq);
    }
    sum
}

/// Decodes every frame through the Rust API's in-place fast path (one record reused).
fn decode_rust_in_place(bytes: &[u8], spans: &[(usize, usize)]) -> u64 {
    let mut sum = 0u64;
    let mut record = Record::placeholder();
    for &(off, len) in spans {
        let mut work = [0u8; WORK_LEN];
        work[..len].copy_from_slice(&bytes[off..off + len]);
        let payload = decode_frame(&mut work[..len]).unwrap();
        Record::decode_into(payload, &mut record).unwrap();
        if let Body::Vitals(v) = &record.body {
            sum += u64::from(v.systolic_mmhg.unwrap_or(0));
        }
        sum += u64::from(record.header.id.seq.0);
    }
    sum
}

/// Decodes every frame through the Rust API (`decode_record_frame`).
fn decode_rust(bytes: &[u8], spans: &[(usize, usize)]) -> u64 {
    let mut sum = 0u64;
    for &(off, len) in spans {
        let mut work = [0u8; WORK_LEN];
        work[..len].copy_from_slice(&bytes[off..off + len]);
        let record = decode_record_frame(&mut work[..len]).unwrap();
        if let Body::Vitals(v) = &record.body {
            sum += u64::from(v.systolic_mmhg.unwrap_or(0));
        }
        sum += u64::from(record.header.id.seq.0);
    }
    sum
}

fn bench(c: &mut Criterion, bytes: &[u8], spans: &[(usize, usize)]) {
    // A function pointer hidden from the optimiser: a real C caller cannot inline.
    let f: DecodeFn = black_box(tcmcare::record::tcm_frame_decode_record);
    let mut group = c.benchmark_group("decode_10k_vitals_frames");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("rust_api", |b| {
        b.iter(|| decode_rust(black_box(bytes), black_box(spans)))
    });
    group.bench_function("rust_api_in_place", |b| {
        b.iter(|| decode_rust_in_place(black_box(bytes), black_box(spans)))
    });
    group.bench_function("c_api", |b| {
        b.iter(|| decode_c(black_box(bytes), black_box(spans), f))
    });
    group.finish();
}

/// The fastest of `runs` timings of each workload, run interleaved (A, B, C, A, B, C...)
/// so that load from other processes hits all of them alike; the minimum is the timing
/// least disturbed by that load.
fn fastest<const N: usize>(runs: usize, work: [&dyn Fn() -> u64; N]) -> [Duration; N] {
    let mut best = [Duration::MAX; N];
    for _ in 0..runs {
        for (b, w) in best.iter_mut().zip(work.iter()) {
            let start = Instant::now();
            black_box(w());
            *b = (*b).min(start.elapsed());
        }
    }
    best
}

fn main() {
    let (bytes, spans) = frames();
    let f: DecodeFn = black_box(tcmcare::record::tcm_frame_decode_record);
    assert_eq!(decode_c(&bytes, &spans, f), decode_rust(&bytes, &spans));
    assert_eq!(
        decode_rust_in_place(&bytes, &spans),
        decode_rust(&bytes, &spans)
    );

    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &bytes, &spans);
    c.final_summary();

    // Interleaved minimums in the same process for the headline ratios.
    let [rust, in_place, capi] = fastest(
        201,
        [
            &|| decode_rust(black_box(&bytes), black_box(&spans)),
            &|| decode_rust_in_place(black_box(&bytes), black_box(&spans)),
            &|| decode_c(black_box(&bytes), black_box(&spans), f),
        ],
    );
    let per = |d: Duration| d.as_nanos() as f64 / FRAMES as f64;
    println!(
        "decode 10,000 vitals frames (ns/frame): rust decode_record_frame {:.1}, rust in place {:.1}, C API {:.1}",
        per(rust),
        per(in_place),
        per(capi)
    );
    println!(
        "C API / rust decode_record_frame = {:.3}x, C API / rust in place = {:.3}x (target <= 1.2x)",
        capi.as_secs_f64() / rust.as_secs_f64(),
        capi.as_secs_f64() / in_place.as_secs_f64()
    );
}
