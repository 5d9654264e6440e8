//! Zero-initialised C structs.

/// A `#[repr(C)]` type made only of integers and arrays, structs or unions of integers.
///
/// # Safety
/// The all-zero bit pattern must be a valid value of the type.
pub(crate) unsafe trait Pod: Copy {}

/// The all-zero value of a [`Pod`] type (integers 0, text fields empty strings).
pub(crate) fn zeroed<T: Pod>() -> T {
    // SAFETY: `T: Pod` promises that all-zero bytes are a valid `T`.
    unsafe { std::mem::zeroed() }
}
