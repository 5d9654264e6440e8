//! Records on the wire: what a record-aware reader gets from any [`Envelope`] (its
//! [`Kind`] and [`Header`]), the largest envelope and frame of a record, and one record per
//! frame ([`encode_record_frame`], [`decode_record_frame`]). The envelope and frame layers
//! themselves ([`crate::wire`]) know nothing of records.

use super::{Header, Kind, Record, RecordError};
use crate::wire::codec::{varint_len, DecodeError, Reader};
use crate::wire::envelope::Envelope;
use crate::wire::frame::{decode_frame, encode_frame, max_frame_len, FrameError};

impl Envelope<'_> {
    /// The known kind, if this version knows it.
    pub fn known_kind(&self) -> Option<Kind> {
        Kind::from_u8(self.kind)
    }

    /// The record header at the front of the body (any kind).
    pub fn header(&self) -> Result<Header, DecodeError> {
        Header::decode(&mut Reader::new(self.body))
    }
}

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
pub const MAX_ENVELOPE_LEN: usize = 1 + varint_len(MAX_BODY_LEN as u64) + MAX_BODY_LEN;

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
