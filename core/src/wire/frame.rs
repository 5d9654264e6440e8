//! Frames on byte streams: `COBS(payload | CRC-32C LE) | 0x00`.

use core::fmt;

use zeroize::Zeroize;

use super::codec::EncodeError;

/// The frame delimiter.
pub const FRAME_DELIMITER: u8 = 0x00;

/// CRC-32C (Castagnoli, iSCSI) used for frames. Hosts (feature `std`) use the 16 KiB
/// slice-by-16 table for speed; microcontrollers the 1 KiB byte table to save flash. Both
/// compute the same checksum.
#[cfg(feature = "std")]
pub const FRAME_CRC: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);
/// CRC-32C (Castagnoli, iSCSI) used for frames. Hosts (feature `std`) use the 16 KiB
/// slice-by-16 table for speed; microcontrollers the 1 KiB byte table to save flash. Both
/// compute the same checksum.
#[cfg(not(feature = "std"))]
pub const FRAME_CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

const CRC_LEN: usize = 4;

/// Largest encoded frame (delimiter included) for a payload of `payload_len` bytes.
pub const fn max_frame_len(payload_len: usize) -> usize {
    cobs::max_encoding_length(payload_len + CRC_LEN) + 1
}

/// Errors of the frame layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameError {
    /// Two delimiters in a row (or a frame of only the delimiter).
    Empty,
    /// Not valid COBS (a code byte points past the end).
    Cobs,
    /// Decoded content shorter than the CRC.
    TooShort,
    /// The CRC does not match the content: the frame was corrupted.
    Crc {
        /// CRC carried by the frame.
        expected: u32,
        /// CRC computed over the content.
        computed: u32,
    },
    /// More bytes than the decoder's buffer before a delimiter; the decoder skipped to
    /// the next delimiter.
    TooLong,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Empty => f.write_str("empty frame"),
            FrameError::Cobs => f.write_str("invalid COBS encoding"),
            FrameError::TooShort => f.write_str("frame shorter than its CRC"),
            FrameError::Crc { expected, computed } => write!(
                f,
                "CRC mismatch (frame says {expected:#010x}, content gives {computed:#010x})"
            ),
            FrameError::TooLong => f.write_str("frame longer than the receive buffer"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FrameError {}

/// Encodes `payload` as a frame into `out`, returning the bytes written (delimiter
/// included). [`max_frame_len`] bytes always suffice.
pub fn encode_frame(payload: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    let needed = max_frame_len(payload.len());
    if out.len() < needed {
        // COBS may need fewer bytes; measure exactly only when the caller is short.
        let exact = exact_frame_len(payload);
        if out.len() < exact {
            return Err(EncodeError::BufferTooSmall { needed: exact });
        }
    }
    let crc = FRAME_CRC.checksum(payload).to_le_bytes();
    let body_end = out.len() - 1;
    let mut enc = cobs::CobsEncoder::new(&mut out[..body_end]);
    enc.push(payload)
        .and_then(|_| enc.push(&crc))
        .map_err(|_| EncodeError::BufferTooSmall { needed })?;
    let n = enc.finalize();
    out[n] = FRAME_DELIMITER;
    Ok(n + 1)
}

fn exact_frame_len(payload: &[u8]) -> usize {
    // COBS adds one code byte per run of up to 254 non-zero bytes; each zero ends a run.
    let crc = FRAME_CRC.checksum(payload).to_le_bytes();
    let mut len = 1;
    let mut run = 0;
    for &b in payload.iter().chain(crc.iter()) {
        if b == 0 {
            len += 1;
            run = 0;
        } else {
            len += 1;
            run += 1;
            if run == 254 {
                len += 1;
                run = 0;
            }
        }
    }
    len + 1
}

/// Decodes one frame in place and checks its CRC, returning the payload. `frame` may
/// end with the delimiter; it must not contain another 0x00.
pub fn decode_frame(frame: &mut [u8]) -> Result<&[u8], FrameError> {
    decode_frame_mut(frame).map(|p| &*p)
}

/// [`decode_frame`] with the payload mutable (for opening a sealed payload in place).
pub fn decode_frame_mut(frame: &mut [u8]) -> Result<&mut [u8], FrameError> {
    let end = match frame.last() {
        Some(&FRAME_DELIMITER) => frame.len() - 1,
        Some(_) => frame.len(),
        None => return Err(FrameError::Empty),
    };
    let encoded = &mut frame[..end];
    if encoded.is_empty() {
        return Err(FrameError::Empty);
    }
    let n = cobs_decode_in_place(encoded)?;
    if n < CRC_LEN {
        return Err(FrameError::TooShort);
    }
    let (payload, crc) = encoded[..n].split_at_mut(n - CRC_LEN);
    let expected = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    let computed = FRAME_CRC.checksum(payload);
    if expected != computed {
        return Err(FrameError::Crc { expected, computed });
    }
    Ok(payload)
}

/// COBS-decodes `buf` in place, returning the decoded length; any 0x00 inside is an error.
///
/// Encoding uses the `cobs` crate; decoding is done here because the receive path is the
/// hot one (a terminal or the platform decodes every kiosk frame) and fusing the zero
/// check into one pass over the bytes made frame decoding about a quarter cheaper than
/// the crate's decoder plus a separate scan. Tests check it against the crate.
fn cobs_decode_in_place(buf: &mut [u8]) -> Result<usize, FrameError> {
    let len = buf.len();
    let mut read = 0;
    let mut write = 0;
    while read < len {
        let code = buf[read] as usize;
        if code == 0 {
            return Err(FrameError::Cobs);
        }
        read += 1;
        let run_end = read + code - 1;
        if run_end > len {
            return Err(FrameError::Cobs);
        }
        if buf[read..run_end].iter().fold(false, |z, &b| z | (b == 0)) {
            return Err(FrameError::Cobs);
        }
        buf.copy_within(read..run_end, write);
        write += run_end - read;
        read = run_end;
        // A block shorter than 254 data bytes stands for a zero after it, except at the end.
        if code != 0xFF && read < len {
            buf[write] = 0;
            write += 1;
        }
    }
    Ok(write)
}

/// Streaming frame reader for serial lines and sockets: feed arbitrary chunks, get
/// payloads out. `N` is the largest encoded frame accepted (delimiter excluded).
///
/// Payloads are decoded in place in the decoder's buffer; [`FrameDecoder::feed_mut`]
/// hands them out mutable (a sealed payload is opened in place). The bytes of a frame are
/// wiped when the next [`FrameDecoder::feed`] / [`FrameDecoder::feed_mut`] call begins,
/// and [`FrameDecoder::wipe`] clears everything: a provisioning frame carries a key in
/// clear, an opened sealed frame its plaintext.
///
/// ```
/// use tcmcare_core::wire::{encode_frame, FrameDecoder};
/// let mut wire = [0u8; 64];
/// let n = encode_frame(b"hello", &mut wire).unwrap();
/// let mut dec = FrameDecoder::<64>::new();
/// let mut input = &wire[..n];
/// let payload = dec.feed(&mut input).unwrap().unwrap();
/// assert_eq!(payload, b"hello");
/// ```
#[derive(Debug)]
pub struct FrameDecoder<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflow: bool,
    /// Bytes of the previous frame still in `buf`, wiped when the next call begins.
    used: usize,
}

impl<const N: usize> Default for FrameDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameDecoder<N> {
    /// An empty decoder.
    pub const fn new() -> Self {
        FrameDecoder {
            buf: [0; N],
            len: 0,
            overflow: false,
            used: 0,
        }
    }

    /// Drops any partial frame (e.g. after a link reset).
    pub fn reset(&mut self) {
        self.len = 0;
        self.overflow = false;
    }

    /// Drops any partial frame and zeroizes the whole buffer (the last payload handed out
    /// included).
    pub fn wipe(&mut self) {
        self.buf.zeroize();
        self.len = 0;
        self.overflow = false;
        self.used = 0;
    }

    /// Bytes of the partial frame buffered so far.
    pub fn buffered(&self) -> usize {
        self.len
    }

    /// Consumes bytes from the front of `input` up to and including the next delimiter.
    /// Returns `None` when `input` is exhausted without completing a frame (the bytes
    /// are buffered), `Some(Ok(payload))` for a good frame, `Some(Err(_))` for a bad one.
    /// Call again with the same `input` until it returns `None`.
    pub fn feed<'s>(&'s mut self, input: &mut &[u8]) -> Option<Result<&'s [u8], FrameError>> {
        self.feed_mut(input).map(|r| r.map(|p| &*p))
    }

    /// [`FrameDecoder::feed`] with the payload mutable, for decoding in place.
    pub fn feed_mut<'s>(
        &'s mut self,
        input: &mut &[u8],
    ) -> Option<Result<&'s mut [u8], FrameError>> {
        if self.used > 0 {
            if let Some(previous) = self.buf.get_mut(..self.used) {
                previous.zeroize();
            }
            self.used = 0;
        }
        while let Some((&b, rest)) = input.split_first() {
            *input = rest;
            if b == FRAME_DELIMITER {
                let (len, overflow) = (self.len, self.overflow);
                self.len = 0;
                self.overflow = false;
                if overflow {
                    self.used = N;
                    return Some(Err(FrameError::TooLong));
                }
                if len == 0 {
                    // Empty frames (idle delimiters) are skipped silently.
                    continue;
                }
                self.used = len;
                return Some(decode_frame_mut(&mut self.buf[..len]));
            }
            if self.len < N {
                self.buf[self.len] = b;
                self.len += 1;
            } else {
                self.overflow = true;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // CRC-32C check value of "123456789" is 0xE3069283 (RFC 3720 / CRC catalogue).
        assert_eq!(FRAME_CRC.checksum(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn round_trip_and_exact_length() {
        for len in [0usize, 1, 5, 253, 254, 255, 600] {
            let payload: std::vec::Vec<u8> = (0..len).map(|i| (i % 7) as u8).collect();
            let mut out = std::vec![0u8; max_frame_len(len)];
            let n = encode_frame(&payload, &mut out).unwrap();
            assert_eq!(n, exact_frame_len(&payload));
            assert_eq!(out[n - 1], 0);
            assert!(!out[..n - 1].contains(&0));
            let mut f = out[..n].to_vec();
            assert_eq!(decode_frame(&mut f).unwrap(), &payload[..]);
            // Exactly-sized buffer works, one byte less reports the exact need.
            let mut tight = std::vec![0u8; n];
            assert_eq!(encode_frame(&payload, &mut tight), Ok(n));
            let mut short = std::vec![0u8; n - 1];
            assert_eq!(
                encode_frame(&payload, &mut short),
                Err(EncodeError::BufferTooSmall { needed: n })
            );
        }
    }

    #[test]
    fn cobs_decoder_agrees_with_the_cobs_crate() {
        // Every payload of a pseudo-random family, plus every short byte string: our
        // in-place decoder and the crate's decoder agree on success and result.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for len in 0..700usize {
            let payload: std::vec::Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if x % 5 == 0 {
                        0
                    } else {
                        x as u8
                    }
                })
                .collect();
            let mut enc = std::vec![0u8; cobs::max_encoding_length(len)];
            let m = cobs::encode(&payload, &mut enc);
            let mut ours = enc[..m].to_vec();
            let n = cobs_decode_in_place(&mut ours).unwrap();
            assert_eq!(&ours[..n], &payload[..], "len {len}");
        }
        for a in 0..=255u8 {
            for b in [0u8, 1, 2, 3, 0xFE, 0xFF] {
                for input in [std::vec![a], std::vec![a, b], std::vec![b, a, 1]] {
                    let mut ours = input.clone();
                    let mut theirs = std::vec![0u8; 8];
                    let r_ours = cobs_decode_in_place(&mut ours)
                        .ok()
                        .map(|n| ours[..n].to_vec());
                    let r_theirs = if input.contains(&0) {
                        None
                    } else {
                        cobs::decode(&input, &mut theirs)
                            .ok()
                            .map(|r| theirs[..r.frame_size()].to_vec())
                    };
                    assert_eq!(r_ours, r_theirs, "{input:?}");
                }
            }
        }
    }

    #[test]
    fn corruption_is_detected() {
        let mut out = [0u8; 32];
        let n = encode_frame(b"vitals", &mut out).unwrap();
        for i in 0..n - 1 {
            for bit in 0..8 {
                let mut f = out[..n].to_vec();
                f[i] ^= 1 << bit;
                assert!(decode_frame(&mut f).is_err(), "flip {i}:{bit} accepted");
            }
        }
    }

    #[test]
    fn streaming_resynchronises() {
        let mut a = [0u8; 32];
        let na = encode_frame(b"first", &mut a).unwrap();
        let mut b = [0u8; 32];
        let nb = encode_frame(b"second", &mut b).unwrap();
        let mut stream = std::vec::Vec::new();
        stream.extend_from_slice(&[0x11, 0x22, 0x00]); // garbage frame
        stream.extend_from_slice(&a[..na]);
        stream.extend_from_slice(&[0x00, 0x00]); // idle delimiters
        stream.extend_from_slice(&[0x05; 100]); // too long for N = 64
        stream.push(0);
        stream.extend_from_slice(&b[..nb]);
        let mut dec = FrameDecoder::<64>::new();
        let mut got = std::vec::Vec::new();
        // Feed one byte at a time.
        for chunk in stream.chunks(1) {
            let mut input = chunk;
            while let Some(r) = dec.feed(&mut input) {
                got.push(r.map(|p| p.to_vec()));
            }
        }
        assert!(got[0].is_err());
        assert_eq!(got[1].as_deref(), Ok(&b"first"[..]));
        assert_eq!(got[2], Err(FrameError::TooLong));
        assert_eq!(got[3].as_deref(), Ok(&b"second"[..]));
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn payloads_are_mutable_and_wiped_when_the_next_call_begins() {
        let mut wire = [0u8; 64];
        let n = encode_frame(b"key material", &mut wire).unwrap();
        let mut dec = FrameDecoder::<64>::new();
        let mut input = &wire[..n];
        let p = dec.feed_mut(&mut input).unwrap().unwrap();
        assert_eq!(p, b"key material");
        p[0] = b'K'; // opened in place
        assert_eq!(dec.buf[0], b'K');
        // The next call (even with no input) wipes the frame: payload and CRC bytes.
        let mut none: &[u8] = &[];
        assert!(dec.feed(&mut none).is_none());
        assert!(dec.buf[..n].iter().all(|&b| b == 0));
        // wipe() also drops a partial frame.
        let mut half = &wire[..5];
        assert!(dec.feed(&mut half).is_none());
        assert_eq!(dec.buffered(), 5);
        dec.wipe();
        assert_eq!(dec.buffered(), 0);
        assert!(dec.buf.iter().all(|&b| b == 0));
    }
}
