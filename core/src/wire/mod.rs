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

use crate::record::{Kind, Record, RecordError};

const fn max_usize(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Largest body (header included) of any record kind this version writes.
pub const MAX_BODY_LEN: usize = {
    let mut m = 0;
    let mut i = 0;
    while i < Kind::ALL.len() {
        m = max_usize(m, Kind::ALL[i].max_body_len());
        i += 1;
    }
    m
};

/// Largest envelope this version writes: kind byte, body length varint, body.
pub const MAX_ENVELOPE_LEN: usize = 1 + codec::varint_len(MAX_BODY_LEN as u64) + MAX_BODY_LEN;

/// Largest frame of one record envelope.
pub const MAX_RECORD_FRAME_LEN: usize = max_frame_len(MAX_ENVELOPE_LEN);

/// Errors of record frames: the frame layer or the record inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RecordFrameError {
    /// The frame itself is corrupt.
    Frame(FrameError),
    /// The frame is intact but its record is not.
    Record(RecordError),
}

impl core::fmt::Display for RecordFrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RecordFrameError::Frame(e) => write!(f, "{e}"),
            RecordFrameError::Record(e) => write!(f, "{e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RecordFrameError {}

/// Validates and encodes `record` as a complete frame (envelope, CRC, COBS, delimiter).
pub fn encode_record_frame(record: &Record, out: &mut [u8]) -> Result<usize, RecordError> {
    let mut env = [0u8; MAX_ENVELOPE_LEN];
    let n = record.encode(&mut env)?;
    encode_frame(&env[..n], out).map_err(RecordError::Encode)
}

/// Decodes one record frame (with or without its trailing delimiter), in place.
pub fn decode_record_frame(frame: &mut [u8]) -> Result<Record, RecordFrameError> {
    let payload = decode_frame(frame).map_err(RecordFrameError::Frame)?;
    Record::decode(payload).map_err(RecordFrameError::Record)
}
