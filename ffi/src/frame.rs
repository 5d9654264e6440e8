//! Frames on byte streams (`COBS(payload | CRC-32C LE) | 0x00`): one-shot encode and
//! decode, and the streaming decoder a serial line or socket is fed into.

use tcmcare_core::wire::{decode_frame, encode_frame, FrameDecoder};

use crate::boundary;
use crate::buffer;
use crate::handle::{self, Handle};
use crate::status::{encode_error, frame_error, tcm_status};

/// Largest encoded frame (delimiter excluded) the streaming decoder accepts; longer ones
/// are skipped with `TCM_STATUS_FRAME_TOO_LONG`. Payloads are always shorter, so a
/// payload buffer of this size always suffices.
pub const TCM_FRAME_DECODER_CAPACITY: usize = 8192;

/// A streaming frame decoder: feed it the bytes of a serial line or socket in chunks of
/// any size, get one payload (a record envelope, a sync message) per complete frame.
/// Corrupted frames are reported and skipped; the stream resynchronises at the next
/// 0x00. Create with `tcm_frame_decoder_new()`, release with `tcm_frame_decoder_free()`.
/// Not thread-safe: use one decoder per stream, from one thread at a time.
pub struct tcm_frame_decoder {
    decoder: Box<FrameDecoder<TCM_FRAME_DECODER_CAPACITY>>,
    /// A decoded payload the caller's buffer was too small for, delivered first by the
    /// next call.
    pending: Option<Vec<u8>>,
}

impl Handle for tcm_frame_decoder {
    const NAME: &'static str = "tcm_frame_decoder";
}

/// Creates a frame decoder and stores it in `*out`.
///
/// # Safety
/// `out` points to writable memory for a pointer.
#[no_mangle]
pub unsafe extern "C" fn tcm_frame_decoder_new(out: *mut *mut tcm_frame_decoder) -> tcm_status {
    boundary(|| {
        let d = tcm_frame_decoder {
            decoder: Box::new(FrameDecoder::new()),
            pending: None,
        };
        // SAFETY: caller contract of this function.
        unsafe { handle::hand_out(d, out) }
    })
}

/// Releases a frame decoder; NULL is a no-op. `TCM_STATUS_OK`, or for misuse
/// `TCM_STATUS_WRONG_HANDLE` / `TCM_STATUS_UNKNOWN_HANDLE` (nothing freed).
///
/// # Safety
/// `decoder` came from `tcm_frame_decoder_new()` (or is NULL) and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tcm_frame_decoder_free(decoder: *mut tcm_frame_decoder) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        unsafe { handle::free(decoder)? };
        Ok(())
    })
}

/// Drops any partial frame and any undelivered payload (after a link reset).
///
/// # Safety
/// `decoder` came from `tcm_frame_decoder_new()` and is not freed.
#[no_mangle]
pub unsafe extern "C" fn tcm_frame_decoder_reset(decoder: *mut tcm_frame_decoder) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let d = unsafe { handle::borrow_mut(decoder)? };
        d.decoder.reset();
        d.pending = None;
        Ok(())
    })
}

/// Feeds bytes to the decoder and returns at most one payload.
///
/// Consumes `input` up to and including the next complete frame and stores the bytes
/// used in `*consumed`; call again with the rest (`input + *consumed`) until it returns
/// `TCM_STATUS_NEED_MORE_INPUT`. Returns:
/// - `TCM_STATUS_OK`: a good frame; its payload is in `payload`, its length in
///   `*payload_len`;
/// - `TCM_STATUS_NEED_MORE_INPUT`: all of `input` was consumed (and buffered) without
///   completing a frame;
/// - a `TCM_STATUS_FRAME_*` status: a corrupted frame was consumed and skipped;
/// - `TCM_STATUS_BUFFER_TOO_SMALL`: a good frame whose payload does not fit
///   `payload_cap`; `*payload_len` holds its size and the decoder keeps it: the next call
///   delivers it first (with `input_len` 0 if you like). `TCM_FRAME_DECODER_CAPACITY`
///   bytes always suffice.
///
/// Idle delimiters (empty frames) are skipped silently.
///
/// # Safety
/// `decoder` came from `tcm_frame_decoder_new()`; `input` points to `input_len` readable
/// bytes (or is NULL with `input_len == 0`); `payload` to `payload_cap` writable bytes;
/// `consumed` and `payload_len` to writable `size_t`s.
#[no_mangle]
pub unsafe extern "C" fn tcm_frame_decoder_feed(
    decoder: *mut tcm_frame_decoder,
    input: *const u8,
    input_len: usize,
    consumed: *mut usize,
    payload: *mut u8,
    payload_cap: usize,
    payload_len: *mut usize,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let d = unsafe { handle::borrow_mut(decoder)? };
        // SAFETY: caller contract of this function.
        let bytes = unsafe { buffer::input(input, input_len, "input")? };
        buffer::non_null(consumed, "consumed")?;
        buffer::non_null(payload_len, "payload_len")?;
        // SAFETY: checked non-NULL; caller contract.
        unsafe { consumed.write(0) };

        if let Some(p) = d.pending.take() {
            // SAFETY: caller contract of this function.
            let r = unsafe { buffer::write_bytes(&p, payload, payload_cap, payload_len) };
            if r.is_err() {
                d.pending = Some(p);
            }
            return r;
        }

        let mut rest = bytes;
        let result = d.decoder.feed(&mut rest);
        let used = bytes.len() - rest.len();
        // SAFETY: checked non-NULL; caller contract.
        unsafe { consumed.write(used) };
        match result {
            None => Err(tcm_status::NeedMoreInput),
            Some(Err(e)) => Err(frame_error(e)),
            Some(Ok(p)) => {
                // SAFETY: caller contract of this function.
                let r = unsafe { buffer::write_bytes(p, payload, payload_cap, payload_len) };
                if r.is_err() {
                    d.pending = Some(p.to_vec());
                }
                r
            }
        }
    })
}

/// Stores in `*buffered` the bytes of the partial frame the decoder holds.
///
/// # Safety
/// `decoder` came from `tcm_frame_decoder_new()`; `buffered` points to a writable
/// `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_frame_decoder_buffered(
    decoder: *const tcm_frame_decoder,
    buffered: *mut usize,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let d = unsafe { handle::borrow(decoder)? };
        // SAFETY: caller contract of this function.
        unsafe { buffer::put(buffered, d.decoder.buffered(), "buffered") }
    })
}

/// Encodes `payload` (for example an envelope kept from an unknown kind, to forward it)
/// as a frame into `out`: COBS, CRC-32C and the 0x00 delimiter. `*written` receives the
/// frame length, or with `TCM_STATUS_BUFFER_TOO_SMALL` the exact size needed.
///
/// # Safety
/// `payload` points to `len` readable bytes; `out` to `out_len` writable bytes (or is
/// NULL with `out_len == 0`); `written` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_frame_encode(
    payload: *const u8,
    len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let input = unsafe { buffer::input(payload, len, "payload")? };
        buffer::non_null(written, "written")?;
        // SAFETY: caller contract of this function.
        let dst = unsafe { buffer::output(out, out_len, "out")? };
        let mut needed = 0;
        let result = encode_frame(input, dst).map_err(|e| encode_error(e, &mut needed));
        // SAFETY: `written` checked non-NULL above; caller contract.
        unsafe { buffer::report_len(result, needed, written) }
    })
}

/// Checks and decodes one complete frame (the trailing 0x00 may be included or not) and
/// copies its payload into `payload`; `*payload_len` receives its length (or the size
/// needed with `TCM_STATUS_BUFFER_TOO_SMALL`). `frame` is not modified.
///
/// # Safety
/// `frame` points to `len` readable bytes; `payload` to `payload_cap` writable bytes (or
/// is NULL with `payload_cap == 0`); `payload_len` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_frame_decode(
    frame: *const u8,
    len: usize,
    payload: *mut u8,
    payload_cap: usize,
    payload_len: *mut usize,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let input = unsafe { buffer::input(frame, len, "frame")? };
        buffer::non_null(payload_len, "payload_len")?;
        let mut work = input.to_vec();
        let p = decode_frame(&mut work).map_err(frame_error)?;
        // SAFETY: caller contract of this function.
        unsafe { buffer::write_bytes(p, payload, payload_cap, payload_len) }
    })
}
