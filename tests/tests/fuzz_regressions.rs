//! Inputs the fuzz targets (core/fuzz) found, kept as regression tests. Each input is also
//! in the target's seed corpus (core/fuzz/seeds/<target>/regression-*).

use tcmcare_core::record::{Kind, Record, RecordError};
use tcmcare_core::wire::{DecodeError, MAX_ENVELOPE_LEN};

/// `record_body`: a constitution guidance entry is one varint `index << 6 | categories`.
/// The entry `0x84 0x84 0x01` is 4 + 4·128 + 1·16384 = 16900: index 16900 >> 6 = 264,
/// which names no constitution (there are nine, 0..=8). The decoder used to truncate 264
/// to a byte (264 - 256 = 8) and accept the body, which then re-encoded as
/// 8 << 6 | 4 = 516 = `0x84 0x04`: not its own bytes.
#[test]
fn constitution_guidance_index_beyond_a_byte_is_rejected() {
    let body: [u8; 21] = [
        0x01, 0x0e, 0x02, 0x01, 0x03, 0x36, 0x60, 0x7a, 0x40, 0x1c, 0xc8, 0xc8, 0x9d, 0x01, 0xd5,
        0x03, 0x01, 0x01, 0x84, 0x84, 0x01,
    ];
    let mut env = vec![Kind::Constitution as u8, body.len() as u8];
    env.extend_from_slice(&body);
    assert_eq!(
        Record::decode(&env),
        Err(RecordError::Decode(DecodeError::InvalidValue {
            field: "constitution.guidance"
        }))
    );
    // The canonical entry for index 8, categories 4 (`0x84 0x04`) decodes and re-encodes
    // to its own bytes.
    let mut canonical = vec![Kind::Constitution as u8, 20];
    canonical.extend_from_slice(&body[..19]);
    canonical.push(0x04);
    let r = Record::decode(&canonical).expect("canonical body decodes");
    let mut out = [0u8; MAX_ENVELOPE_LEN];
    let n = r.encode(&mut out).expect("re-encodes");
    assert_eq!(&out[..n], &canonical[..]);
}
