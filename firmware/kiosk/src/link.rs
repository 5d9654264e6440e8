//! Reading frames off the serial line into a buffer the kiosk owns, so that the bytes of
//! every frame can be wiped after use: a provisioning frame carries a key in clear, and a
//! sealed frame is decrypted in place.

use tcmcare_core::wire::{decode_frame, FrameError, FRAME_DELIMITER};
use zeroize::Zeroize;

/// Streaming frame reader (`COBS(payload | CRC-32C) | 0x00`, core's [`decode_frame`]):
/// feed arbitrary chunks, get each payload in place, mutable (a sealed payload is opened
/// in place). `N` is the longest encoded frame accepted, delimiter excluded; a longer
/// one is reported as [`FrameError::TooLong`] and dropped.
#[derive(Debug)]
pub struct FrameReader<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflow: bool,
    /// Bytes of the previous frame still in `buf` (wiped on the next feed or [`Self::wipe`]).
    used: usize,
}

impl<const N: usize> Default for FrameReader<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameReader<N> {
    /// An empty reader.
    pub const fn new() -> Self {
        FrameReader {
            buf: [0; N],
            len: 0,
            overflow: false,
            used: 0,
        }
    }

    /// Bytes of a frame being received (0: between frames).
    pub fn buffered(&self) -> usize {
        self.len
    }

    /// Wipes the buffer (the previous frame's bytes and any partial frame).
    pub fn wipe(&mut self) {
        self.buf.zeroize();
        self.len = 0;
        self.overflow = false;
        self.used = 0;
    }

    /// Consumes bytes from the front of `input` up to and including the next delimiter.
    /// `None`: `input` is used up without completing a frame (the bytes are kept).
    /// `Some(Ok(payload))`: a good frame, decoded in place; its bytes are wiped when the
    /// next call begins. `Some(Err(_))`: a bad frame, dropped. Call again with the same
    /// `input` until it returns `None`.
    pub fn feed<'s>(&'s mut self, input: &mut &[u8]) -> Option<Result<&'s mut [u8], FrameError>> {
        if self.used > 0 {
            if let Some(b) = self.buf.get_mut(..self.used) {
                b.zeroize();
            }
            self.used = 0;
        }
        while let Some((&b, rest)) = input.split_first() {
            *input = rest;
            if b == FRAME_DELIMITER {
                let (len, overflow) = (self.len, self.overflow);
                self.len = 0;
                self.overflow = false;
                self.used = len;
                if overflow {
                    return Some(Err(FrameError::TooLong));
                }
                if len == 0 {
                    continue;
                }
                let frame = self.buf.get_mut(..len)?;
                let base = frame.as_ptr() as usize;
                let (at, n) = match decode_frame(frame) {
                    Ok(p) => (p.as_ptr() as usize - base, p.len()),
                    Err(e) => return Some(Err(e)),
                };
                // Core decodes in place; the payload starts at the front of the buffer
                // today, but take it where it is.
                return self.buf.get_mut(at..at + n).map(Ok);
            }
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
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
    use tcmcare_core::wire::encode_frame;

    #[test]
    fn frames_in_pieces_and_back_to_back() {
        let mut wire = [0u8; 64];
        let a = encode_frame(b"first", &mut wire).unwrap();
        let b = encode_frame(&[0, 1, 0, 2], &mut wire[a..]).unwrap();
        let mut r = FrameReader::<32>::new();
        let mut got = Vec::new();
        for chunk in wire[..a + b].chunks(3) {
            let mut input = chunk;
            while let Some(p) = r.feed(&mut input) {
                got.push(p.unwrap().to_vec());
            }
        }
        assert_eq!(got, vec![b"first".to_vec(), vec![0, 1, 0, 2]]);
    }

    #[test]
    fn payload_bytes_are_wiped_before_the_next_frame() {
        let mut wire = [0u8; 64];
        let n = encode_frame(&[0x42; 20], &mut wire).unwrap();
        let mut r = FrameReader::<32>::new();
        let mut input = &wire[..n];
        let p = r.feed(&mut input).unwrap().unwrap();
        p[0] = 0x43; // mutable: opened in place
        assert!(r.feed(&mut input).is_none());
        assert!(r.buf.iter().all(|b| *b == 0));
    }

    #[test]
    fn corrupted_and_overlong_frames_are_reported_and_dropped() {
        let mut wire = [0u8; 64];
        let n = encode_frame(b"hello", &mut wire).unwrap();
        wire[2] ^= 0x01;
        let mut r = FrameReader::<8>::new();
        let mut input = &wire[..n];
        assert!(matches!(r.feed(&mut input), Some(Err(_))));
        let long = [0x05u8; 12];
        let mut input = &long[..];
        assert!(r.feed(&mut input).is_none());
        let mut input = &[0u8][..];
        assert_eq!(r.feed(&mut input), Some(Err(FrameError::TooLong)));
        // And the next good frame is read.
        let n = encode_frame(b"ok", &mut wire).unwrap();
        let mut input = &wire[..n];
        assert_eq!(r.feed(&mut input).unwrap().unwrap(), b"ok");
    }
}
