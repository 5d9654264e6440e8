//! postcard-compatible primitives written and read field by field.
//!
//! Record bodies are laid out by hand (see [`crate::wire`]) but every primitive is a
//! postcard primitive: `u8` as one byte, unsigned integers as LEB128 varints, signed
//! integers as zigzag varints, byte strings and UTF-8 strings as a varint length followed
//! by the bytes. A reader accepts only the canonical (shortest) varint form, so any body
//! it accepts re-encodes byte-exact.

use core::fmt;

/// Errors while encoding into a caller buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EncodeError {
    /// The caller's buffer is too small; `needed` is a lower bound of the bytes required
    /// (exact when the encoder could measure the whole output).
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}

/// Errors while decoding bytes. Every variant names the field being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DecodeError {
    /// The input ended inside `field`.
    Truncated {
        /// Field being read.
        field: &'static str,
    },
    /// A varint longer than its type allows, or with a value that overflows it.
    VarintOverflow {
        /// Field being read.
        field: &'static str,
    },
    /// A varint with redundant continuation bytes (not the shortest form).
    NonCanonicalVarint {
        /// Field being read.
        field: &'static str,
    },
    /// A string field that is not valid UTF-8.
    InvalidUtf8 {
        /// Field being read.
        field: &'static str,
    },
    /// A length, count or code outside what the schema allows (enum tag unknown, list
    /// longer than its capacity, reserved bits set...).
    InvalidValue {
        /// Field being read.
        field: &'static str,
    },
    /// Bytes left over after a complete body where none may follow.
    TrailingBytes {
        /// The structure that was complete.
        field: &'static str,
    },
}

impl DecodeError {
    /// The field the error refers to.
    pub fn field(&self) -> &'static str {
        match self {
            DecodeError::Truncated { field }
            | DecodeError::VarintOverflow { field }
            | DecodeError::NonCanonicalVarint { field }
            | DecodeError::InvalidUtf8 { field }
            | DecodeError::InvalidValue { field }
            | DecodeError::TrailingBytes { field } => field,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { field } => write!(f, "input ends inside `{field}`"),
            DecodeError::VarintOverflow { field } => write!(f, "varint overflow in `{field}`"),
            DecodeError::NonCanonicalVarint { field } => {
                write!(f, "non-canonical varint in `{field}`")
            }
            DecodeError::InvalidUtf8 { field } => write!(f, "invalid UTF-8 in `{field}`"),
            DecodeError::InvalidValue { field } => write!(f, "invalid value in `{field}`"),
            DecodeError::TrailingBytes { field } => write!(f, "trailing bytes after `{field}`"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

/// Maps a signed integer to the zigzag unsigned form (0, -1, 1, -2 -> 0, 1, 2, 3).
#[inline]
pub fn zigzag_encode(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag_encode`].
#[inline]
pub fn zigzag_decode(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Number of bytes of the varint encoding of `v` (usable in constants).
#[inline]
pub const fn varint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Writes postcard primitives into a caller buffer without allocation.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
    overflow: usize,
}

impl<'a> Writer<'a> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer {
            buf,
            pos: 0,
            overflow: 0,
        }
    }

    /// Bytes written so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Finishes: the written length, or `BufferTooSmall` with the total length that the
    /// output needs (writes past the end are counted, not performed).
    pub fn finish(self) -> Result<usize, EncodeError> {
        if self.overflow > 0 {
            Err(EncodeError::BufferTooSmall {
                needed: self.pos + self.overflow,
            })
        } else {
            Ok(self.pos)
        }
    }

    /// Writes raw bytes.
    #[inline]
    pub fn raw(&mut self, bytes: &[u8]) {
        if self.overflow == 0 {
            if let Some(dst) = self.buf.get_mut(self.pos..self.pos + bytes.len()) {
                dst.copy_from_slice(bytes);
                self.pos += bytes.len();
                return;
            }
        }
        self.overflow += bytes.len();
    }

    /// Writes one byte.
    #[inline]
    pub fn u8(&mut self, v: u8) {
        if self.overflow == 0 {
            if let Some(b) = self.buf.get_mut(self.pos) {
                *b = v;
                self.pos += 1;
                return;
            }
        }
        self.overflow += 1;
    }

    /// Writes an unsigned varint.
    #[inline]
    pub fn varint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.u8(byte);
                return;
            }
            self.u8(byte | 0x80);
        }
    }

    /// Writes a signed integer as a zigzag varint.
    #[inline]
    pub fn zigzag(&mut self, v: i64) {
        self.varint(zigzag_encode(v));
    }

    /// Writes a length-prefixed byte string.
    pub fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.raw(b);
    }

    /// Writes a length-prefixed UTF-8 string.
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
}

/// Reads postcard primitives from a byte slice, canonical forms only.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The bytes not yet read.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Whether all bytes have been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Fails with `TrailingBytes` unless all input was consumed.
    pub fn finish(&self, field: &'static str) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes { field })
        }
    }

    /// Reads one byte.
    #[inline]
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or(DecodeError::Truncated { field })?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads `n` raw bytes.
    pub fn raw(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(DecodeError::Truncated { field })?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated { field })?;
        self.pos = end;
        Ok(s)
    }

    /// Reads an unsigned varint of at most `max_bits` bits (canonical form only).
    #[inline]
    pub fn varint_bits(&mut self, max_bits: u32, field: &'static str) -> Result<u64, DecodeError> {
        let max_bytes = max_bits.div_ceil(7);
        let mut value: u64 = 0;
        let mut i: u32 = 0;
        loop {
            let b = self.u8(field)?;
            let payload = (b & 0x7f) as u64;
            let shift = 7 * i;
            // Bits of `payload` that do not fit in 64 bits make the value overflow.
            if shift > 57 && payload >> (64 - shift) != 0 {
                return Err(DecodeError::VarintOverflow { field });
            }
            value |= payload << shift;
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(DecodeError::NonCanonicalVarint { field });
                }
                if max_bits < 64 && value >> max_bits != 0 {
                    return Err(DecodeError::VarintOverflow { field });
                }
                return Ok(value);
            }
            i += 1;
            if i >= max_bytes {
                return Err(DecodeError::VarintOverflow { field });
            }
        }
    }

    /// Reads a varint that must fit `u32`.
    #[inline]
    pub fn varint_u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(self.varint_bits(32, field)? as u32)
    }

    /// Reads a varint that must fit `u16`.
    #[inline]
    pub fn varint_u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(self.varint_bits(16, field)? as u16)
    }

    /// Reads a varint that must fit `u64`.
    #[inline]
    pub fn varint_u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        self.varint_bits(64, field)
    }

    /// Reads a zigzag varint that must fit `i32`.
    #[inline]
    pub fn zigzag_i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        let v = zigzag_decode(self.varint_bits(32, field)?);
        i32::try_from(v).map_err(|_| DecodeError::VarintOverflow { field })
    }

    /// Reads a length-prefixed byte string of at most `max` bytes.
    pub fn bytes(&mut self, max: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let n = self.varint_u32(field)? as usize;
        if n > max {
            return Err(DecodeError::InvalidValue { field });
        }
        self.raw(n, field)
    }

    /// Reads a length-prefixed UTF-8 string of at most `max` bytes.
    pub fn str(&mut self, max: usize, field: &'static str) -> Result<&'a str, DecodeError> {
        let b = self.bytes(max, field)?;
        core::str::from_utf8(b).map_err(|_| DecodeError::InvalidUtf8 { field })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: u64) -> ([u8; 10], usize) {
        let mut buf = [0u8; 10];
        let mut w = Writer::new(&mut buf);
        w.varint(v);
        let n = w.finish().unwrap();
        (buf, n)
    }

    #[test]
    fn varint_layout_matches_postcard() {
        // LEB128: 127 = 0x7f; 128 = 0x80 0x01; 300 = 0xac 0x02.
        assert_eq!(&enc(127).0[..enc(127).1], &[0x7f]);
        assert_eq!(&enc(128).0[..enc(128).1], &[0x80, 0x01]);
        assert_eq!(&enc(300).0[..enc(300).1], &[0xac, 0x02]);
        let (b, n) = enc(u64::MAX);
        assert_eq!(n, 10);
        assert_eq!(b[9], 0x01);
        for v in [0u64, 1, 127, 128, 16_383, 16_384, u32::MAX as u64, u64::MAX] {
            assert_eq!(varint_len(v), enc(v).1);
            let (b, n) = enc(v);
            let mut r = Reader::new(&b[..n]);
            assert_eq!(r.varint_u64("v"), Ok(v));
        }
        // postcard itself agrees for u32.
        let mut pbuf = [0u8; 8];
        let p = postcard::to_slice(&300u32, &mut pbuf).unwrap();
        assert_eq!(p, &[0xac, 0x02]);
    }

    #[test]
    fn zigzag_layout() {
        assert_eq!(zigzag_encode(0), 0);
        assert_eq!(zigzag_encode(-1), 1);
        assert_eq!(zigzag_encode(1), 2);
        assert_eq!(zigzag_encode(-64), 127);
        for v in [-1_000_000i64, -1, 0, 1, 63, 64, i64::MIN, i64::MAX] {
            assert_eq!(zigzag_decode(zigzag_encode(v)), v);
        }
    }

    #[test]
    fn rejects_non_canonical_and_overflow() {
        assert_eq!(
            Reader::new(&[0x80, 0x00]).varint_u32("f"),
            Err(DecodeError::NonCanonicalVarint { field: "f" })
        );
        // u32::MAX + 1 = 0x80 0x80 0x80 0x80 0x10
        assert_eq!(
            Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x10]).varint_u32("f"),
            Err(DecodeError::VarintOverflow { field: "f" })
        );
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x0f]).varint_u32("f"),
            Ok(u32::MAX)
        );
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).varint_u32("f"),
            Err(DecodeError::VarintOverflow { field: "f" })
        );
        assert_eq!(
            Reader::new(&[0xff; 11]).varint_u64("f"),
            Err(DecodeError::VarintOverflow { field: "f" })
        );
        // 10-byte u64 whose last byte carries more than one bit overflows.
        let mut over = [0xffu8; 10];
        over[9] = 0x02;
        assert_eq!(
            Reader::new(&over).varint_u64("f"),
            Err(DecodeError::VarintOverflow { field: "f" })
        );
        assert_eq!(
            Reader::new(&[0x80]).varint_u32("f"),
            Err(DecodeError::Truncated { field: "f" })
        );
    }

    #[test]
    fn short_buffer_reports_needed() {
        let mut buf = [0u8; 2];
        let mut w = Writer::new(&mut buf);
        w.str("hello");
        assert_eq!(w.finish(), Err(EncodeError::BufferTooSmall { needed: 6 }));
    }
}
