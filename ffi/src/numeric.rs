//! IEEE 11073-20601 medical numbers: `SFLOAT` (16 bit) and `FLOAT` (32 bit).

use tcmcare_core::ieee11073::{Float, Sfloat, Special};

use crate::boundary;
use crate::buffer;
use crate::status::{fail, special_status, tcm_status};

/// The status of a special value, with the raw bits in the detail.
fn special(kind: Special, raw: u32) -> tcm_status {
    fail(special_status(kind), format_args!("0x{raw:04X} is {kind}"))
}

/// Decodes an `SFLOAT` (raw bits in host order; GATT carries them little-endian).
/// Returns `TCM_STATUS_OK` and stores the value in `*value`, or, without writing
/// `*value`, one status per special value: `TCM_STATUS_NUMBER_NAN`,
/// `TCM_STATUS_NUMBER_NRES`, `TCM_STATUS_NUMBER_POSITIVE_INFINITY`,
/// `TCM_STATUS_NUMBER_NEGATIVE_INFINITY`, `TCM_STATUS_NUMBER_RESERVED`. A special
/// mantissa with any exponent is that special value.
///
/// # Safety
/// `value` points to a writable `double`.
#[no_mangle]
pub unsafe extern "C" fn tcm_sfloat_decode(raw: u16, value: *mut f64) -> tcm_status {
    boundary(|| {
        buffer::non_null(value, "value")?;
        let s = Sfloat::from_raw(raw);
        if let Some(kind) = s.special() {
            return Err(special(kind, u32::from(raw)));
        }
        // Only specials have no value.
        let v = s
            .value()
            .ok_or_else(|| special(Special::Reserved, u32::from(raw)))?;
        // SAFETY: caller contract of this function.
        unsafe { buffer::put(value, v, "value") }
    })
}

/// Decodes a `FLOAT` (raw bits in host order) like `tcm_sfloat_decode()`.
///
/// # Safety
/// `value` points to a writable `double`.
#[no_mangle]
pub unsafe extern "C" fn tcm_float_decode(raw: u32, value: *mut f64) -> tcm_status {
    boundary(|| {
        buffer::non_null(value, "value")?;
        let f = Float::from_raw(raw);
        if let Some(kind) = f.special() {
            return Err(special(kind, raw));
        }
        let v = f.value().ok_or_else(|| special(Special::Reserved, raw))?;
        // SAFETY: caller contract of this function.
        unsafe { buffer::put(value, v, "value") }
    })
}
