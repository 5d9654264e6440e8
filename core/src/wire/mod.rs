//! The wire format: postcard primitives, the versioned envelope and COBS/CRC frames.
//!
//! ## Envelope
//! `kind: u8 | body_len: varint | body`. Every body starts with the record
//! [`Header`](crate::record::Header), so a reader that does not know a kind can still name,
//! order and deduplicate it, and forwards the envelope bytes unchanged. A newer, longer
//! body of a known kind decodes with the extra bytes kept as an extension
//! ([`crate::record::Record::decode_lenient`]). Kind numbers and enum values are
//! append-only; golden vectors in `tests/vectors/manifest.json` pin them.
//!
//! ## Frame
//! `COBS(payload | CRC-32C(payload) as u32 little-endian) | 0x00`. CRC-32C (Castagnoli)
//! was chosen over CRC-32/ISO-HDLC for its larger Hamming distance on short messages. A
//! corrupted frame is rejected with [`FrameError`] and a streaming reader
//! ([`FrameDecoder`]) resynchronises at the next 0x00.

pub mod codec;
pub mod envelope;
pub mod frame;

pub use codec::{DecodeError, EncodeError, Reader, Writer};
pub use envelope::Envelope;
pub use frame::{
    decode_frame, decode_frame_mut, encode_frame, max_frame_len, FrameDecoder, FrameError,
    FRAME_CRC, FRAME_DELIMITER,
};

// Records in frames live with the records (`record/frame.rs`); their public paths stay here.
pub use crate::record::frame::{
    decode_record_frame, encode_record_frame, RecordFrameError, MAX_BODY_LEN, MAX_ENVELOPE_LEN,
    MAX_RECORD_FRAME_LEN,
};
