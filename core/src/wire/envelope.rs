//! The versioned envelope: `kind: u8 | body_len: varint | body`.

use super::codec::{varint_len, DecodeError, Reader, Writer};

/// A parsed envelope borrowing its body from the input. Works for every kind, including
/// kinds this version does not know. (Its record view, [`Envelope::known_kind`] and
/// [`Envelope::header`], is defined with the records.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Envelope<'a> {
    /// Kind number (1.. ; 0 is reserved).
    pub kind: u8,
    /// The body bytes (header first).
    pub body: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Parses one envelope from the front of `bytes`, returning it and the bytes it used.
    pub fn parse(bytes: &'a [u8]) -> Result<(Envelope<'a>, usize), DecodeError> {
        let mut r = Reader::new(bytes);
        let kind = r.u8("envelope.kind")?;
        if kind == 0 {
            return Err(DecodeError::InvalidValue {
                field: "envelope.kind",
            });
        }
        let len = r.varint_u32("envelope.body_len")? as usize;
        let body = r.raw(len, "envelope.body")?;
        Ok((Envelope { kind, body }, r.position()))
    }

    /// Parses an envelope that must span all of `bytes`.
    pub fn parse_exact(bytes: &'a [u8]) -> Result<Envelope<'a>, DecodeError> {
        let (e, n) = Envelope::parse(bytes)?;
        if n != bytes.len() {
            return Err(DecodeError::TrailingBytes { field: "envelope" });
        }
        Ok(e)
    }

    /// Length of the encoded envelope.
    pub fn encoded_len(&self) -> usize {
        1 + varint_len(self.body.len() as u64) + self.body.len()
    }

    /// Writes the envelope unchanged (for forwarding).
    pub fn write(&self, w: &mut Writer<'_>) {
        w.u8(self.kind);
        w.bytes(self.body);
    }
}
