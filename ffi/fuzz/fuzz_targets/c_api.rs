//! The C ABI's decode entry points, called exactly as a C terminal calls them (raw
//! pointers, caller buffers of every size, callbacks): the first byte picks the entry
//! point, the rest is its input. Nothing may panic (a panic would surface as
//! `TCM_STATUS_PANIC`, which fails the target too), every status must be a known one, and
//! a record that decodes strictly re-encodes to the same bytes.
//!
//! Ops: 0 `tcm_record_decode` (+ validate, JSON, re-encode); 1 `tcm_record_decode_lenient`;
//! 2 `tcm_frame_decoder_feed` in chunks; 3 `tcm_frame_decode_record` / `tcm_frame_decode`;
//! 4 `tcm_gatt_parse` (next two bytes: the UUID); 5 a plain receiver and 6 a sealed
//! receiver fed length-prefixed payloads (`len u8 | bytes`); 7 `tcm_seal_accept_provision`. Bit 3
//! of the op byte picks the trusted link (op 6) or provisioning mode (op 7).
#![no_main]
use std::ffi::c_void;

use libfuzzer_sys::fuzz_target;
use tcmcare::frame::*;
use tcmcare::gatt::*;
use tcmcare::record::*;
use tcmcare::seal::*;
use tcmcare::status::tcm_status;
use tcmcare::sync::*;

const KEY: [u8; 32] = [0x42; 32];

fn ok(s: tcm_status) {
    assert_ne!(s, tcm_status::Panic, "panic inside the library");
    assert!(tcm_status::from_u32(s as u32).is_some());
}

fn blank() -> Box<tcm_record> {
    // SAFETY: `tcm_record` is plain old data; all-zero is a valid value.
    Box::new(unsafe { std::mem::zeroed() })
}

unsafe extern "C" fn watermark(_: *mut c_void, _: u32, _: u32, wm: *mut u32) -> u32 {
    unsafe { wm.write(0) };
    0
}

unsafe extern "C" fn commit(ctx: *mut c_void, c: *const tcm_commit) -> u32 {
    let n = unsafe { &mut *(ctx as *mut usize) };
    *n += unsafe { (*c).count };
    0
}

unsafe extern "C" fn lookup(_: *mut c_void, d: u32, k: u32, state: *mut u8, key: *mut u8) -> u32 {
    unsafe {
        if d == 7 && k == 1 {
            std::ptr::copy_nonoverlapping(KEY.as_ptr(), key, 32);
            state.write(tcm_key_state::Active as u8);
        } else {
            state.write(tcm_key_state::UnknownDevice as u8);
        }
    }
    0
}

unsafe extern "C" fn reserve(_: *mut c_void, _: u32, _: u32, _: u32, first: *mut u32) -> u32 {
    unsafe { first.write(1) };
    0
}

unsafe extern "C" fn last(_: *mut c_void, _: u32, _: u32, k: *mut u32, c: *mut u32) -> u32 {
    unsafe {
        k.write(0);
        c.write(0);
    }
    0
}

unsafe extern "C" fn note(_: *mut c_void, _: u32, _: u32, _: u32, _: u32) -> u32 {
    0
}

unsafe extern "C" fn seal_load(ctx: *mut c_void, _: *mut u8, _: usize, len: *mut usize) -> u32 {
    let _ = ctx;
    unsafe { len.write(0) };
    0
}

unsafe extern "C" fn seal_store(ctx: *mut c_void, state: *const u8, len: usize) -> u32 {
    let n = unsafe { &mut *(ctx as *mut usize) };
    assert!(!state.is_null() && len == TCM_SEAL_STATE_LEN);
    *n += 1;
    0
}

fn receive(rx: *mut tcm_receiver, mut data: &[u8]) {
    let mut reply = [0u8; TCM_MAX_SEALED_CONTROL_LEN];
    while let Some((&len, rest)) = data.split_first() {
        let take = (len as usize).min(rest.len());
        let (payload, tail) = rest.split_at(take);
        data = tail;
        let mut n = 0usize;
        let mut ev = std::mem::MaybeUninit::<tcm_receiver_event>::uninit();
        let cap = if len & 1 == 0 { reply.len() } else { 8 };
        ok(unsafe {
            tcm_receiver_handle(
                rx,
                1_773_600_000,
                payload.as_ptr(),
                payload.len(),
                reply.as_mut_ptr(),
                cap,
                &mut n,
                ev.as_mut_ptr(),
            )
        });
        assert!(n <= reply.len());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&op, input)) = data.split_first() else {
        return;
    };
    match op % 8 {
        0 => {
            let mut r = blank();
            let s = unsafe { tcm_record_decode(input.as_ptr(), input.len(), &mut *r) };
            ok(s);
            if s == tcm_status::Ok {
                ok(unsafe { tcm_record_validate(&*r) });
                let mut json = vec![0 as std::ffi::c_char; 64];
                let mut n = 0usize;
                let s = unsafe { tcm_record_to_json(&*r, json.as_mut_ptr(), json.len(), &mut n) };
                ok(s);
                if s == tcm_status::BufferTooSmall {
                    json.resize(n, 0);
                    ok(unsafe { tcm_record_to_json(&*r, json.as_mut_ptr(), json.len(), &mut n) });
                }
                let mut out = vec![0u8; input.len() + 16];
                let s = unsafe { tcm_record_encode(&*r, out.as_mut_ptr(), out.len(), &mut n) };
                assert_eq!(s, tcm_status::Ok);
                assert_eq!(&out[..n], input, "strict decode must re-encode byte-exact");
            }
        }
        1 => {
            let mut r = blank();
            let mut ext = 0usize;
            ok(unsafe {
                tcm_record_decode_lenient(input.as_ptr(), input.len(), &mut *r, &mut ext)
            });
            assert!(ext <= input.len());
        }
        2 => {
            let mut d = std::ptr::null_mut();
            assert_eq!(unsafe { tcm_frame_decoder_new(&mut d) }, tcm_status::Ok);
            let mut payload = vec![0u8; TCM_FRAME_DECODER_CAPACITY];
            let chunk = input.first().map_or(1, |b| (*b as usize % 17) + 1);
            for piece in input.chunks(chunk) {
                let mut p = piece;
                while !p.is_empty() {
                    let (mut used, mut plen) = (0usize, 0usize);
                    let cap = if p.len() % 3 == 0 { 4 } else { payload.len() };
                    let s = unsafe {
                        tcm_frame_decoder_feed(
                            d,
                            p.as_ptr(),
                            p.len(),
                            &mut used,
                            payload.as_mut_ptr(),
                            cap,
                            &mut plen,
                        )
                    };
                    ok(s);
                    assert!(used <= p.len());
                    if s == tcm_status::BufferTooSmall {
                        // The decoder keeps the frame and delivers it next, whole.
                        let needed = plen;
                        assert!(needed > cap && needed <= payload.len());
                        let mut again = 0usize;
                        let s = unsafe {
                            tcm_frame_decoder_feed(
                                d,
                                std::ptr::null(),
                                0,
                                &mut again,
                                payload.as_mut_ptr(),
                                payload.len(),
                                &mut plen,
                            )
                        };
                        assert_eq!(s, tcm_status::Ok);
                        assert_eq!(plen, needed);
                    } else {
                        assert!(plen <= cap);
                    }
                    if used == 0 {
                        break;
                    }
                    p = &p[used..];
                }
            }
            ok(unsafe { tcm_frame_decoder_free(d) });
        }
        3 => {
            let mut r = blank();
            ok(unsafe { tcm_frame_decode_record(input.as_ptr(), input.len(), &mut *r) });
            let mut out = vec![0u8; input.len()];
            let mut n = 0usize;
            ok(unsafe {
                tcm_frame_decode(
                    input.as_ptr(),
                    input.len(),
                    out.as_mut_ptr(),
                    out.len(),
                    &mut n,
                )
            });
        }
        4 => {
            let [a, b, value @ ..] = input else { return };
            let mut m = std::mem::MaybeUninit::<tcm_gatt_measurement>::uninit();
            ok(unsafe {
                tcm_gatt_parse(
                    u16::from_le_bytes([*a, *b]),
                    value.as_ptr(),
                    value.len(),
                    m.as_mut_ptr(),
                )
            });
        }
        5 => {
            let mut committed = 0usize;
            let store = tcm_receiver_store {
                ctx: (&mut committed as *mut usize).cast(),
                watermark: Some(watermark),
                commit: Some(commit),
            };
            let mut rx = std::ptr::null_mut();
            assert_eq!(unsafe { tcm_receiver_new(&store, &mut rx) }, tcm_status::Ok);
            receive(rx, input);
            ok(unsafe { tcm_receiver_free(rx) });
        }
        6 => {
            let mut committed = 0usize;
            let store = tcm_receiver_store {
                ctx: (&mut committed as *mut usize).cast(),
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
            let security = (op >> 3) & 1;
            assert_eq!(
                unsafe { tcm_receiver_new_sealed(&store, &replay, &keys, security, &mut rx) },
                tcm_status::Ok
            );
            receive(rx, input);
            if security == tcm_link_security::Sealed as u8 {
                // Without the key nothing can be forged: random bytes never commit.
                assert_eq!(committed, 0, "a forged sealed frame was committed");
            }
            ok(unsafe { tcm_receiver_free(rx) });
        }
        _ => {
            let mut writes = 0usize;
            let ss = tcm_seal_store {
                ctx: (&mut writes as *mut usize).cast(),
                load: Some(seal_load),
                store: Some(seal_store),
            };
            let mode = (op >> 3) & 1;
            let mut info = std::mem::MaybeUninit::<tcm_seal_info>::uninit();
            let mut conf = [0u8; TCM_MAX_PROVISION_CONFIRM_LEN];
            let mut clen = 0usize;
            let mut fp = [0 as std::ffi::c_char; TCM_KEY_FINGERPRINT_LEN];
            let s = unsafe {
                tcm_seal_accept_provision(
                    &ss,
                    input.as_ptr(),
                    input.len(),
                    mode,
                    info.as_mut_ptr(),
                    conf.as_mut_ptr(),
                    conf.len(),
                    &mut clen,
                    fp.as_mut_ptr(),
                )
            };
            ok(s);
            if mode == 0 {
                assert_eq!(s, tcm_status::SealNotInProvisioningMode);
                assert_eq!(writes, 0);
            }
            if s == tcm_status::Ok {
                assert!(clen <= conf.len() && writes == 1);
            } else {
                assert_eq!(writes, 0, "a refused provisioning stores nothing");
            }
        }
    }
});
