//! Streaming frame decoder fed arbitrary chunks; every good payload goes through the
//! record decoder. Nothing may panic; an accepted record must re-encode byte-exact.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tcmcare_core::record::Record;
use tcmcare_core::wire::{FrameDecoder, MAX_ENVELOPE_LEN, MAX_RECORD_FRAME_LEN};

fuzz_target!(|data: &[u8]| {
    let mut dec = FrameDecoder::<MAX_RECORD_FRAME_LEN>::new();
    // The first byte chooses the chunk size so chunk boundaries are explored too.
    let (chunk, rest) = match data.split_first() {
        Some((c, r)) => ((*c as usize % 16) + 1, r),
        None => return,
    };
    for piece in rest.chunks(chunk) {
        let mut input = piece;
        while let Some(r) = dec.feed(&mut input) {
            if let Ok(payload) = r {
                if let Ok(record) = Record::decode(payload) {
                    let mut out = [0u8; MAX_ENVELOPE_LEN];
                    let n = record.encode(&mut out).expect("decoded record re-encodes");
                    assert_eq!(&out[..n], payload);
                }
            }
        }
    }
});
