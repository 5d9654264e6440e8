//! Opaque handles: the one place where Rust objects become C pointers and back.
//!
//! A handle type is a plain Rust struct (not `#[repr(C)]`, so the header declares it
//! only as `typedef struct tcm_x tcm_x;`). `tcm_x_new` boxes it with [`hand_out`];
//! every other function reaches it through [`borrow`] / [`borrow_mut`], which check for
//! NULL; `tcm_x_free` gives it back with [`free`], where NULL is a no-op. No other code
//! casts handle pointers.

use crate::buffer::non_null;
use crate::status::tcm_status;

/// A Rust type handed to C as an opaque, `Box`-owned pointer.
pub(crate) trait Handle: Sized {
    /// Name used in error details, e.g. `"tcm_frame_decoder"`.
    const NAME: &'static str;
}

/// Boxes `value` and stores the owning pointer in `*out`. C must release it with the
/// type's `_free` function.
///
/// # Safety
/// A non-NULL `out` points to writable memory for a pointer.
pub(crate) unsafe fn hand_out<T: Handle>(value: T, out: *mut *mut T) -> Result<(), tcm_status> {
    non_null(out, "out")?;
    let raw = Box::into_raw(Box::new(value));
    // SAFETY: `out` is non-NULL and writable by the caller's contract.
    unsafe { out.write(raw) };
    Ok(())
}

/// Borrows a handle shared.
///
/// # Safety
/// A non-NULL `p` came from [`hand_out`] for this `T`, is not freed, and is not used
/// mutably elsewhere during `'a`.
pub(crate) unsafe fn borrow<'a, T: Handle>(p: *const T) -> Result<&'a T, tcm_status> {
    non_null(p, T::NAME)?;
    // SAFETY: a live `Box<T>` allocation by the caller's contract.
    Ok(unsafe { &*p })
}

/// Borrows a handle exclusively.
///
/// # Safety
/// A non-NULL `p` came from [`hand_out`] for this `T`, is not freed, and is not used
/// elsewhere during `'a` (handles are not thread-safe; one thread at a time).
pub(crate) unsafe fn borrow_mut<'a, T: Handle>(p: *mut T) -> Result<&'a mut T, tcm_status> {
    non_null(p, T::NAME)?;
    // SAFETY: a live, unaliased `Box<T>` allocation by the caller's contract.
    Ok(unsafe { &mut *p })
}

/// Drops a handle; NULL is a no-op.
///
/// # Safety
/// A non-NULL `p` came from [`hand_out`] for this `T` and is not used after this call.
pub(crate) unsafe fn free<T: Handle>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: the pointer came from `Box::into_raw` and ownership returns here once.
        drop(unsafe { Box::from_raw(p) });
    }
}
