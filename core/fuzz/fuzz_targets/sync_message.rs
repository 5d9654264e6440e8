//! The sync message decoder on arbitrary bytes, then the sender's state machine on the
//! same payload. Nothing may panic; a decoded message re-encodes to bytes that decode to
//! the same message, at the length `encoded_len` announces.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tcmcare_core::ids::{DeviceId, Epoch};
use tcmcare_core::sync::{Message, Outbox, RamStorage, Sender, SenderConfig};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        let mut out = vec![0u8; data.len() + 16];
        let n = m.encode(&mut out).expect("re-encodes");
        assert_eq!(n, m.encoded_len());
        assert_eq!(Message::decode(&out[..n]), Ok(m));
        if let Message::Batch(b) = m {
            let _ = b.count();
            for r in b.records() {
                if let Ok((env, _)) = r {
                    let _ = env.header();
                }
            }
        }
    }
    // A sender that said hello and holds nothing: any payload is handled without panic.
    let outbox = Outbox::open(RamStorage::<256>::new(), DeviceId(7), Epoch(1)).expect("open");
    let mut sender = Sender::new(outbox, SenderConfig::default(), 1, false).expect("config");
    let mut buf = [0u8; 1100];
    let _ = sender.poll_transmit(0, &mut buf);
    let _ = sender.handle(1, data);
    let _ = sender.poll_transmit(2_000, &mut buf);
});
