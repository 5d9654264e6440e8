//! Resident identity number validation (GB 11643-1999, 18 characters; legacy 15-digit
//! numbers are upgraded). The number itself stays on the terminal; only the birth date
//! and sex derived here may go into a resident record.

use std::ffi::c_char;

use tcmcare_core::id_number::validate;
use tcmcare_core::time::Date;

use crate::boundary;
use crate::buffer;
use crate::record::tcm_date;
use crate::status::{fail, id_number_error, tcm_status, time_error};

/// Bytes of the normalised identity number array: 18 characters and the NUL.
pub const TCM_ID_NUMBER_CAPACITY: usize = 19;

const _: () = assert!(TCM_ID_NUMBER_CAPACITY == tcmcare_core::id_number::ID_NUMBER_LEN + 1);

/// What a valid identity number says.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_id_number_info {
    /// Birth date (positions 7-14).
    pub birth_date: tcm_date,
    /// A `tcm_sex` value from the sequence code (odd male, even female).
    pub sex: u8,
    /// The six-digit address code (positions 1-6), e.g. 310104.
    pub region_code: u32,
    /// The 18-character number, check character uppercase, NUL-terminated (a legacy
    /// 15-digit number upgraded). Personal data: do not log it.
    pub normalized: [c_char; TCM_ID_NUMBER_CAPACITY],
}

/// Validates an identity number of `len` bytes (no NUL needed; surrounding ASCII
/// whitespace is trimmed) against `today` (the birth date must not be after it) and
/// writes the birth date, sex, region and normalised number into `*out`. Errors are the
/// `TCM_STATUS_ID_*` statuses; a `today` that is not a real date gives
/// `TCM_STATUS_TIME_INVALID_DATE`.
///
/// # Safety
/// `id_number` points to `len` readable bytes; `out` to writable memory for a
/// `tcm_id_number_info`.
#[no_mangle]
pub unsafe extern "C" fn tcm_id_number_validate(
    id_number: *const c_char,
    len: usize,
    today: tcm_date,
    out: *mut tcm_id_number_info,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function (c_char and u8 have one layout).
        let bytes = unsafe { buffer::input(id_number.cast::<u8>(), len, "id_number")? };
        buffer::non_null(out, "out")?;
        let today =
            Date::new(today.year, today.month, today.day).map_err(|e| time_error(e, "today"))?;
        let s = std::str::from_utf8(bytes).map_err(|e| {
            fail(
                tcm_status::TextNotUtf8,
                format_args!("id_number: invalid UTF-8 at byte {}", e.valid_up_to()),
            )
        })?;
        let info = validate(s, today).map_err(id_number_error)?;
        let mut normalized = [0 as c_char; TCM_ID_NUMBER_CAPACITY];
        for (d, &b) in normalized.iter_mut().zip(info.normalized()) {
            *d = b as c_char;
        }
        let b = info.birth_date();
        let result = tcm_id_number_info {
            birth_date: tcm_date {
                year: b.year(),
                month: b.month(),
                day: b.day(),
            },
            sex: info.sex().code(),
            region_code: info.region_code(),
            normalized,
        };
        // SAFETY: caller contract of this function.
        unsafe { buffer::put(out, result, "out") }
    })
}
