//! Sealed frames through the C API: 10,000 kiosk payloads (a hello, then batches of one
//! vitals record each, sealed with ChaCha20-Poly1305) fed to `tcm_receiver_handle()` of a
//! receiver made by `tcm_receiver_new_sealed()`, with key store, replay store and record
//! store callbacks in memory, as a terminal links them. Each frame is authenticated,
//! checked against the replay counter, decrypted, decoded, validated and committed. The
//! target (issue 7) is at least 200,000 sealed frames per second.
//!
//! `cargo bench -p tcmcare-ffi --bench sealed`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::hint::black_box;
use std::mem::MaybeUninit;
use std::time::Instant;

mod common;

use criterion::{Criterion, Throughput};
use tcmcare::seal::*;
use tcmcare::sync::*;
use tcmcare::tcm_status;
use tcmcare_core::ids::{DeviceId, Epoch};
use tcmcare_core::seal::{
    DeviceKey, KeyId, MemoryKeyStore, RamSealStore, SealState, SealStore, Sealer,
};
use tcmcare_core::sync::{
    LinkSecurity, MemoryStore, Outbox, RamStorage, SealedReceiver, SealedSender, SenderConfig,
    MAX_SEALED_CONTROL_LEN,
};

const FRAMES: usize = 10_000;
const DEVICE: u32 = 7;
const KEY: [u8; 32] = [0x42; 32];

/// The envelope of the bench reading with sequence number `seq`.
fn vitals(seq: u32) -> Vec<u8> {
    let mut b = vec![0u8; 256];
    let n = common::vitals_record(seq - 1).encode(&mut b).unwrap();
    b.truncate(n);
    b
}

/// The payloads a kiosk sends for FRAMES - 1 records, one record per batch, answered by
/// a core terminal so the stream is the real one (hello, batches in order).
fn payloads() -> Vec<Vec<u8>> {
    // A kiosk whose seal store holds KEY as its link key (as after provisioning).
    let mut store = RamSealStore::new();
    store
        .store(&SealState {
            device: DeviceId(DEVICE),
            epoch: Epoch(1),
            key_id: KeyId(1),
            key: DeviceKey::from_bytes(KEY),
            uplink_reserved: 0,
            downlink_seen: 0,
        })
        .unwrap();
    let sealer = Sealer::resume(store, 4096).unwrap();
    let outbox =
        Outbox::open(RamStorage::<{ 1 << 16 }>::new(), DeviceId(DEVICE), Epoch(1)).unwrap();
    let cfg = SenderConfig {
        window: 1,
        ..SenderConfig::default()
    };
    let mut kiosk = SealedSender::new(outbox, cfg, 1, true, sealer).unwrap();
    let mut keys = MemoryKeyStore::new();
    keys.insert(DeviceId(DEVICE), KeyId(1), DeviceKey::from_bytes(KEY));
    let mut terminal = SealedReceiver::new(MemoryStore::new(), keys, LinkSecurity::Sealed);
    let mut out = Vec::with_capacity(FRAMES);
    let mut pushed = 0u32;
    let mut now = 0u64;
    while out.len() < FRAMES {
        while pushed < FRAMES as u32 && kiosk.outbox().len() < 64 {
            let seq = kiosk.next_seq().unwrap().0;
            kiosk.push(&vitals(seq)).unwrap();
            pushed += 1;
        }
        let mut buf = vec![0u8; 1024];
        let Some(n) = kiosk.poll_transmit(now, &mut buf).unwrap() else {
            now += 10;
            continue;
        };
        buf.truncate(n);
        out.push(buf.clone());
        let mut reply = [0u8; MAX_SEALED_CONTROL_LEN];
        let o = terminal
            .handle(Some(1_773_600_000), &mut buf, &mut reply)
            .unwrap();
        kiosk.handle(now, &mut reply[..o.reply_len]).unwrap();
        now += 1;
    }
    out
}

/// The terminal's database, in memory.
#[derive(Default)]
struct Db {
    watermarks: HashMap<(u32, u32), u32>,
    counters: HashMap<(u32, u32), (u32, u32)>,
    records: u64,
    downlink: u32,
}

thread_local! {
    static DB: RefCell<Db> = RefCell::new(Db::default());
}

unsafe extern "C" fn watermark(_: *mut c_void, d: u32, e: u32, wm: *mut u32) -> u32 {
    let w = DB.with(|db| db.borrow().watermarks.get(&(d, e)).copied().unwrap_or(0));
    unsafe { wm.write(w) };
    0
}

unsafe extern "C" fn commit(_: *mut c_void, c: *const tcm_commit) -> u32 {
    let c = unsafe { &*c };
    DB.with(|db| {
        let mut db = db.borrow_mut();
        db.watermarks.insert((c.device, c.epoch), c.new_watermark);
        db.records += c.count as u64;
        if c.has_counter != 0 {
            db.counters
                .insert((c.device, c.epoch), (c.key_id, c.counter));
        }
    });
    0
}

unsafe extern "C" fn lookup(_: *mut c_void, d: u32, k: u32, state: *mut u8, key: *mut u8) -> u32 {
    unsafe {
        if d == DEVICE && k == 1 {
            std::ptr::copy_nonoverlapping(KEY.as_ptr(), key, 32);
            state.write(tcm_key_state::Active as u8);
        } else {
            state.write(tcm_key_state::UnknownDevice as u8);
        }
    }
    0
}

unsafe extern "C" fn reserve(_: *mut c_void, _: u32, _: u32, count: u32, first: *mut u32) -> u32 {
    let f = DB.with(|db| {
        let mut db = db.borrow_mut();
        let f = db.downlink + 1;
        db.downlink += count;
        f
    });
    unsafe { first.write(f) };
    0
}

unsafe extern "C" fn last(_: *mut c_void, d: u32, e: u32, k: *mut u32, c: *mut u32) -> u32 {
    let (kk, cc) = DB.with(|db| db.borrow().counters.get(&(d, e)).copied().unwrap_or((0, 0)));
    unsafe {
        k.write(kk);
        c.write(cc);
    }
    0
}

unsafe extern "C" fn note(_: *mut c_void, d: u32, e: u32, k: u32, c: u32) -> u32 {
    DB.with(|db| {
        let mut db = db.borrow_mut();
        let cur = db.counters.entry((d, e)).or_insert((0, 0));
        if (k, c) > *cur {
            *cur = (k, c);
        }
    });
    0
}

/// Feeds every payload to a fresh sealed C receiver; returns the records committed.
fn run(payloads: &[Vec<u8>]) -> u64 {
    DB.with(|db| *db.borrow_mut() = Db::default());
    let store = tcm_receiver_store {
        ctx: std::ptr::null_mut(),
        watermark: Some(watermark),
        commit: Some(commit),
    };
    let replay = tcm_replay_store {
        ctx: std::ptr::null_mut(),
        last_counter: Some(last),
        note_counter: Some(note),
    };
    let keys = tcm_key_store {
        ctx: std::ptr::null_mut(),
        lookup: Some(lookup),
        reserve_downlink: Some(reserve),
        key_used: None,
    };
    let mut rx = std::ptr::null_mut();
    let s = unsafe {
        tcm_receiver_new_sealed(
            &store,
            &replay,
            &keys,
            tcm_link_security::Sealed as u8,
            &mut rx,
        )
    };
    assert_eq!(s, tcm_status::Ok);
    let mut reply = [0u8; TCM_MAX_SEALED_CONTROL_LEN];
    for p in payloads {
        let mut n = 0usize;
        let mut ev = MaybeUninit::<tcm_receiver_event>::uninit();
        let s = unsafe {
            tcm_receiver_handle(
                rx,
                1_773_600_000,
                p.as_ptr(),
                p.len(),
                reply.as_mut_ptr(),
                reply.len(),
                &mut n,
                ev.as_mut_ptr(),
            )
        };
        debug_assert_eq!(s, tcm_status::Ok);
        black_box(n);
    }
    unsafe { tcm_receiver_free(rx) };
    DB.with(|db| db.borrow().records)
}

fn main() {
    let payloads = payloads();
    let records = run(&payloads);
    assert_eq!(records, FRAMES as u64 - 1, "every batch committed once");
    let bytes: usize = payloads.iter().map(Vec::len).sum();

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("sealed_c_receiver");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("tcm_receiver_handle_10k_sealed_frames", |b| {
        b.iter(|| run(black_box(&payloads)))
    });
    group.finish();
    c.final_summary();

    let mut best = f64::MAX;
    for _ in 0..21 {
        let t = Instant::now();
        black_box(run(black_box(&payloads)));
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "sealed frames through tcm_receiver_handle (open, replay check, decode, validate, commit): \
         {:.0} frames/s ({:.2} us/frame, {:.1} B/frame; target >= 200,000/s)",
        FRAMES as f64 / best,
        best * 1e6 / FRAMES as f64,
        bytes as f64 / FRAMES as f64
    );
}
