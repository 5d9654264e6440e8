//! The validation rules of core's rule table (`tcmcare_core::codes::rule::RULES`) for C:
//! the stable code and the family of each validation status, so a terminal stores and
//! shows the same codes as the Python package without a copy of the table.

use std::ffi::c_char;

use tcmcare_core::codes::rule::{Rule, RuleFamily, FIRST_RULE_STATUS, RULES};

use crate::boundary;
use crate::buffer::{non_null, put};
use crate::status::{fail, tcm_status};

/// The family of a validation rule (`tcm_status_family()`): what kind of mistake the
/// input makes. Numbers are stable and never reused.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_rule_family {
    /// The input's shape is wrong (errors of the JSON view; no record rule is one).
    Schema = 1,
    /// A reserved zero id: device, epoch, sequence, care home or resident number.
    ReservedId = 2,
    /// Required content is missing: a staff signature, a text, any measurement, herbs...
    Missing = 3,
    /// A text or a list longer than its capacity.
    TooLong = 4,
    /// A value outside its plausible range (a measurement, an answer, a dose, a date).
    Range = 5,
    /// Fields contradict each other or the rules (duplicates, diastolic not below
    /// systolic...).
    Inconsistent = 6,
    /// A name or code this version does not know (an acupoint).
    UnknownCode = 7,
}

impl tcm_rule_family {
    /// The C family of a core family.
    pub const fn of(f: RuleFamily) -> tcm_rule_family {
        match f {
            RuleFamily::Schema => tcm_rule_family::Schema,
            RuleFamily::ReservedId => tcm_rule_family::ReservedId,
            RuleFamily::Missing => tcm_rule_family::Missing,
            RuleFamily::TooLong => tcm_rule_family::TooLong,
            RuleFamily::Range => tcm_rule_family::Range,
            RuleFamily::Inconsistent => tcm_rule_family::Inconsistent,
            RuleFamily::UnknownCode => tcm_rule_family::UnknownCode,
        }
    }
}

// The C numbers are core's.
const _: () = {
    let mut i = 0;
    while i < RuleFamily::ALL.len() {
        let f = RuleFamily::ALL[i];
        assert!(tcm_rule_family::of(f) as u8 == f as u8);
        i += 1;
    }
};

/// Bytes of every rule code, each followed by a NUL.
const CODES_LEN: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < RULES.len() {
        n += RULES[i].code.len() + 1;
        i += 1;
    }
    n
};

/// Where each rule's code starts in [`CODES`].
const CODE_OFFSETS: [usize; RULES.len()] = {
    let mut out = [0; RULES.len()];
    let mut at = 0;
    let mut i = 0;
    while i < RULES.len() {
        out[i] = at;
        at += RULES[i].code.len() + 1;
        i += 1;
    }
    out
};

/// The rule codes as consecutive C strings, built at compile time from core's table (the
/// build fails if a code holds a NUL byte).
static CODES: [u8; CODES_LEN] = {
    let mut out = [0u8; CODES_LEN];
    let mut i = 0;
    while i < RULES.len() {
        let code = RULES[i].code.as_bytes();
        let mut j = 0;
        while j < code.len() {
            assert!(code[j] != 0, "a rule code holds a NUL byte");
            out[CODE_OFFSETS[i] + j] = code[j];
            j += 1;
        }
        i += 1;
    }
    out
};

/// The rule of a status number, or `TCM_STATUS_INVALID_ARGUMENT` naming it.
fn rule_of(status: u32) -> Result<(usize, &'static Rule), tcm_status> {
    match Rule::by_status(status) {
        Some(rule) => Ok((usize::from(rule.status - FIRST_RULE_STATUS), rule)),
        None => Err(fail(
            tcm_status::InvalidArgument,
            format_args!("status: {status} is not a validation rule"),
        )),
    }
}

/// Hands out the stable snake_case code of a validation status (300..=342), e.g.
/// `"systolic_out_of_range"` for `TCM_STATUS_SYSTOLIC_OUT_OF_RANGE`: the code the Python
/// package raises (`ValidationError.code`) and stores (`invalid:<code>`). `*name` receives
/// a static NUL-terminated string (never free it). A status that is not a validation
/// rule gives `TCM_STATUS_INVALID_ARGUMENT` and `*name` is set to NULL.
///
/// # Safety
/// `name` points to a writable `const char *`.
#[no_mangle]
pub unsafe extern "C" fn tcm_status_code(status: u32, name: *mut *const c_char) -> tcm_status {
    boundary(|| {
        non_null(name, "name")?;
        let found = rule_of(status);
        let ptr = match found {
            // SAFETY: CODE_OFFSETS[i] is within CODES, and CODES holds the code's NUL.
            Ok((i, _)) => unsafe { CODES.as_ptr().add(CODE_OFFSETS[i]) }.cast::<c_char>(),
            Err(_) => std::ptr::null(),
        };
        // SAFETY: caller contract of this function; checked non-NULL.
        unsafe { put(name, ptr, "name")? };
        found.map(drop)
    })
}

/// Stores the family of a validation status (300..=342) in `*family`, e.g.
/// `TCM_RULE_FAMILY_RANGE` for `TCM_STATUS_SYSTOLIC_OUT_OF_RANGE`. A status that is not a
/// validation rule gives `TCM_STATUS_INVALID_ARGUMENT` and leaves `*family` unchanged.
///
/// # Safety
/// `family` points to a writable `tcm_rule_family` (`uint8_t`).
#[no_mangle]
pub unsafe extern "C" fn tcm_status_family(
    status: u32,
    family: *mut tcm_rule_family,
) -> tcm_status {
    boundary(|| {
        non_null(family, "family")?;
        let (_, rule) = rule_of(status)?;
        // SAFETY: caller contract of this function; checked non-NULL.
        unsafe { put(family, tcm_rule_family::of(rule.family), "family") }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn every_rule_has_its_code_and_family() {
        for rule in &RULES {
            let mut name: *const c_char = std::ptr::null();
            // SAFETY: a valid out-pointer.
            let s = unsafe { tcm_status_code(u32::from(rule.status), &mut name) };
            assert_eq!(s, tcm_status::Ok);
            // SAFETY: the function hands out a static C string.
            let got = unsafe { CStr::from_ptr(name) }.to_str().unwrap();
            assert_eq!(got, rule.code);
            let mut family = tcm_rule_family::Schema;
            // SAFETY: a valid out-pointer.
            let s = unsafe { tcm_status_family(u32::from(rule.status), &mut family) };
            assert_eq!(s, tcm_status::Ok);
            assert_eq!(family as u8, rule.family as u8, "{}", rule.code);
        }
    }

    #[test]
    fn other_statuses_are_refused() {
        for status in [0, 1, 102, 299, 343, 400, 900, u32::MAX] {
            let mut name: *const c_char = c"x".as_ptr();
            // SAFETY: a valid out-pointer.
            let s = unsafe { tcm_status_code(status, &mut name) };
            assert_eq!(s, tcm_status::InvalidArgument);
            assert!(name.is_null());
            let mut family = tcm_rule_family::Range;
            // SAFETY: a valid out-pointer.
            let s = unsafe { tcm_status_family(status, &mut family) };
            assert_eq!(s, tcm_status::InvalidArgument);
            assert_eq!(family, tcm_rule_family::Range);
        }
        // SAFETY: NULL out-pointers are refused before any write.
        unsafe {
            assert_eq!(
                tcm_status_code(300, std::ptr::null_mut()),
                tcm_status::NullPointer
            );
            assert_eq!(
                tcm_status_family(300, std::ptr::null_mut()),
                tcm_status::NullPointer
            );
        }
    }
}
