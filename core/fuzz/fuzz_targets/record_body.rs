//! Every record kind's body decoder: the first byte picks the kind (so the fuzzer reaches
//! all seven bodies without having to learn the envelope), the rest is the body. Nothing
//! may panic; a body that decodes must re-encode byte-exact.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tcmcare_core::record::{Kind, Record};
use tcmcare_core::wire::codec::Writer;
use tcmcare_core::wire::MAX_ENVELOPE_LEN;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let kind = Kind::ALL[sel as usize % Kind::ALL.len()];
    // The envelope `kind | body_len | body` around the fuzzer's body.
    let mut env = vec![0u8; body.len() + 8];
    let mut w = Writer::new(&mut env);
    w.u8(kind as u8);
    w.bytes(body);
    let n = w.finish().expect("sized above");
    env.truncate(n);
    if let Ok(record) = Record::decode(&env) {
        assert_eq!(record.kind(), kind);
        let mut out = [0u8; MAX_ENVELOPE_LEN];
        let m = record.encode(&mut out).expect("decoded record re-encodes");
        assert_eq!(&out[..m], &env[..]);
    }
    if let Ok(d) = Record::decode_lenient(&env) {
        let mut out = [0u8; MAX_ENVELOPE_LEN];
        d.record
            .encode(&mut out)
            .expect("leniently decoded record re-encodes");
    }
});
