//! Checked access to the caller's pointers: input slices, output buffers, out-parameters.
//!
//! Every raw pointer that enters the library goes through one of these functions, which
//! check it for NULL first. Output buffers follow one rule everywhere: the caller passes
//! the buffer and its length, the function reports the bytes written through a `size_t`
//! out-parameter, and when the buffer is too short it returns
//! `TCM_STATUS_BUFFER_TOO_SMALL` with the size needed in that same out-parameter.
//! A NULL buffer with length 0 is a valid size query.

use std::ffi::c_char;

use crate::status::{fail, tcm_status};

/// Fails with `TCM_STATUS_NULL_POINTER` naming `name` when `p` is NULL.
pub(crate) fn non_null<T>(p: *const T, name: &str) -> Result<(), tcm_status> {
    if p.is_null() {
        Err(fail(
            tcm_status::NullPointer,
            format_args!("{name} is NULL"),
        ))
    } else {
        Ok(())
    }
}

/// The caller's input bytes. NULL is accepted only with `len == 0`.
///
/// # Safety
/// A non-NULL `p` points to `len` readable bytes that stay unchanged for `'a`.
pub(crate) unsafe fn input<'a>(
    p: *const u8,
    len: usize,
    name: &str,
) -> Result<&'a [u8], tcm_status> {
    if len == 0 {
        return Ok(&[]);
    }
    non_null(p, name)?;
    // SAFETY: non-NULL and, by the caller's contract, `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// The caller's output buffer. NULL is accepted only with `len == 0`.
///
/// # Safety
/// A non-NULL `p` points to `len` writable bytes not aliased for `'a`.
pub(crate) unsafe fn output<'a>(
    p: *mut u8,
    len: usize,
    name: &str,
) -> Result<&'a mut [u8], tcm_status> {
    if len == 0 {
        return Ok(&mut []);
    }
    non_null(p, name)?;
    // SAFETY: non-NULL and, by the caller's contract, `len` writable, unaliased bytes.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// Writes `value` through a checked out-parameter (the old content is not read).
///
/// # Safety
/// A non-NULL `p` points to writable memory for a `T`.
pub(crate) unsafe fn put<T>(p: *mut T, value: T, name: &str) -> Result<(), tcm_status> {
    non_null(p, name)?;
    // SAFETY: non-NULL, writable by the caller's contract; `write` does not read or drop
    // the previous (possibly uninitialised) content.
    unsafe { p.write(value) };
    Ok(())
}

/// Borrows a checked input struct.
///
/// # Safety
/// A non-NULL `p` points to an initialised `T` that stays unchanged for `'a`.
pub(crate) unsafe fn read<'a, T>(p: *const T, name: &str) -> Result<&'a T, tcm_status> {
    non_null(p, name)?;
    // SAFETY: non-NULL, initialised and not mutated meanwhile by the caller's contract.
    Ok(unsafe { &*p })
}

/// Reports an encoder's result through the caller's `written`: the bytes written, or with
/// `TCM_STATUS_BUFFER_TOO_SMALL` the size `needed`; other errors leave it untouched.
///
/// # Safety
/// `written` is non-NULL and points to a writable `size_t`.
pub(crate) unsafe fn report_len(
    result: Result<usize, tcm_status>,
    needed: usize,
    written: *mut usize,
) -> Result<(), tcm_status> {
    let n = match result {
        Ok(n) => n,
        Err(tcm_status::BufferTooSmall) => needed,
        Err(status) => return Err(status),
    };
    // SAFETY: caller contract of this function.
    unsafe { written.write(n) };
    result.map(|_| ())
}

/// Copies `src` to the caller's byte buffer and reports its length through `written`; on
/// a short buffer writes nothing and reports the size needed.
///
/// # Safety
/// As for [`output`] and [`put`].
pub(crate) unsafe fn write_bytes(
    src: &[u8],
    buf: *mut u8,
    len: usize,
    written: *mut usize,
) -> Result<(), tcm_status> {
    non_null(written, "written")?;
    if len < src.len() {
        // SAFETY: checked non-NULL; caller contract.
        unsafe { written.write(src.len()) };
        return Err(fail(
            tcm_status::BufferTooSmall,
            format_args!("{} bytes needed, buffer has {len}", src.len()),
        ));
    }
    // SAFETY: caller contract of this function.
    let out = unsafe { output(buf, len, "buf")? };
    out[..src.len()].copy_from_slice(src);
    // SAFETY: checked non-NULL; caller contract.
    unsafe { written.write(src.len()) };
    Ok(())
}

/// Copies `s` and a NUL to the caller's char buffer; `written` receives the length
/// without the NUL. On a short buffer, writes an empty string (when `len > 0`) and
/// reports the size needed, NUL included.
///
/// # Safety
/// As for [`output`] and [`put`].
pub(crate) unsafe fn write_str(
    s: &str,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> Result<(), tcm_status> {
    non_null(written, "written")?;
    // SAFETY: caller contract of this function (c_char and u8 have the same layout).
    let out = unsafe { output(buf.cast::<u8>(), len, "buf")? };
    let needed = s.len() + 1;
    if out.len() < needed {
        if let Some(first) = out.first_mut() {
            *first = 0;
        }
        // SAFETY: checked non-NULL; caller contract.
        unsafe { written.write(needed) };
        return Err(fail(
            tcm_status::BufferTooSmall,
            format_args!("{needed} bytes needed (NUL included), buffer has {len}"),
        ));
    }
    out[..s.len()].copy_from_slice(s.as_bytes());
    out[s.len()] = 0;
    // SAFETY: checked non-NULL; caller contract.
    unsafe { written.write(s.len()) };
    Ok(())
}

/// Reads a NUL-terminated UTF-8 string out of a fixed `char` array field.
pub(crate) fn text_field<'a>(field: &'a [c_char], name: &str) -> Result<&'a str, tcm_status> {
    let end = field.iter().position(|&c| c == 0).ok_or_else(|| {
        fail(
            tcm_status::TextNotTerminated,
            format_args!("{name}: no NUL within its {} bytes", field.len()),
        )
    })?;
    // SAFETY: `field[..end]` is a valid slice of c_char; u8 has the same size and
    // alignment and every bit pattern is a valid u8.
    let bytes = unsafe { std::slice::from_raw_parts(field.as_ptr().cast::<u8>(), end) };
    std::str::from_utf8(bytes).map_err(|e| {
        fail(
            tcm_status::TextNotUtf8,
            format_args!("{name}: invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })
}

/// Writes `s` and a NUL into a fixed `char` array field of an output struct. Core bounds
/// every string below its array's capacity; a longer one fails with
/// `TCM_STATUS_TEXT_TOO_LONG`, and one holding a NUL byte (valid UTF-8, but not
/// representable as a C string) with `TCM_STATUS_TEXT_CONTAINS_NUL`: never truncated.
pub(crate) fn set_text(field: &mut [c_char], s: &str, name: &str) -> Result<(), tcm_status> {
    if let Some(at) = s.bytes().position(|b| b == 0) {
        return Err(fail(
            tcm_status::TextContainsNul,
            format_args!("{name}: NUL byte at offset {at}"),
        ));
    }
    if s.len() >= field.len() {
        return Err(fail(
            tcm_status::TextTooLong,
            format_args!(
                "{name}: {} bytes do not fit {}",
                s.len(),
                field.len().saturating_sub(1)
            ),
        ));
    }
    for (dst, &b) in field.iter_mut().zip(s.as_bytes()) {
        *dst = b as c_char;
    }
    field[s.len()] = 0;
    Ok(())
}
