//! Envelope and record decoders on arbitrary bytes (no CRC in the way).
#![no_main]
use libfuzzer_sys::fuzz_target;
use tcmcare_core::record::Record;
use tcmcare_core::wire::{Envelope, MAX_ENVELOPE_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok((env, _)) = Envelope::parse(data) {
        let _ = env.header();
    }
    if let Ok(d) = Record::decode_lenient(data) {
        let mut out = [0u8; MAX_ENVELOPE_LEN];
        d.record.encode(&mut out).expect("decoded record re-encodes");
    }
    if let Ok(record) = Record::decode(data) {
        let mut out = [0u8; MAX_ENVELOPE_LEN];
        let n = record.encode(&mut out).expect("decoded record re-encodes");
        assert_eq!(&out[..n], data);
    }
});
