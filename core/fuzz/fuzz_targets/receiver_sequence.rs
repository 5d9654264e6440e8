//! The receiver's state machine fed arbitrary message sequences over a `MemoryStore`.
//! Input: chunks `len u8 | payload`; a length byte 0xFF toggles a store outage instead.
//! After every step: replies are well-formed control messages, and every stream's
//! committed records are exactly positions 1..=watermark in order.
#![no_main]
use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tcmcare_core::sync::{MemoryStore, Message, Receiver, MAX_CONTROL_MESSAGE_LEN};

fn check(store: &MemoryStore) {
    let mut next: BTreeMap<_, u32> = BTreeMap::new();
    for r in store.records() {
        let n = next.entry((r.stream_device, r.stream_epoch)).or_insert(1);
        assert!(r.position >= *n, "positions go forward");
        *n = r.position + 1;
    }
    for ((d, e), n) in next {
        assert!(
            store.watermark_of(d, e) >= n - 1,
            "records beyond the watermark"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let mut receiver = Receiver::new(MemoryStore::new());
    let mut rest = data;
    let mut step = 0u64;
    let mut down = false;
    while let Some((&len, tail)) = rest.split_first() {
        step += 1;
        if len == 0xFF {
            down = !down;
            receiver.store_mut().set_unavailable(down);
            rest = tail;
            continue;
        }
        let n = (len as usize).min(tail.len());
        let (payload, tail) = tail.split_at(n);
        rest = tail;
        let before: Vec<_> = receiver.store().records().to_vec();
        let mut out = [0u8; MAX_CONTROL_MESSAGE_LEN];
        let utc = (step % 3 != 0).then_some(1_773_563_400 + step);
        let o = receiver
            .handle(utc, payload, &mut out)
            .expect("reply buffer fits");
        assert!(o.reply_len <= MAX_CONTROL_MESSAGE_LEN);
        if o.reply_len > 0 {
            assert!(
                Message::decode(&out[..o.reply_len]).is_ok(),
                "reply decodes"
            );
        }
        let after = receiver.store().records();
        assert!(
            after.len() >= before.len() && after[..before.len()] == before[..],
            "append only"
        );
        check(receiver.store());
    }
});
