//! Opaque handles: the one place where Rust objects become C pointers and back.
//!
//! A handle type is a plain Rust struct (not `#[repr(C)]`, so the header declares it
//! only as `typedef struct tcm_x tcm_x;`). `tcm_x_new` boxes it with [`hand_out`];
//! every other function reaches it through [`borrow`] / [`borrow_mut`]; `tcm_x_free`
//! gives it back with [`free`], where NULL is a no-op. No other code casts handle
//! pointers.
//!
//! Misuse the C documentation forbids is detected here where it is cheap, as rustls-ffi
//! checks handle types:
//! - every handle handed out is entered, with its type, in a registry of live handles
//!   (address → type and use). A pointer is dereferenced only after the registry says it
//!   is a live handle of the expected type, so a handle of another type gives
//!   `TCM_STATUS_WRONG_HANDLE` and a pointer that is no live handle (freed, or never
//!   handed out) `TCM_STATUS_UNKNOWN_HANDLE`, without the memory behind it being read
//!   or written;
//! - a handle in use by a call that has not returned (a store callback calling back into
//!   its own receiver or sender, or a second thread at the same time) gives
//!   `TCM_STATUS_REENTERED`: [`borrow_mut`] needs the handle unused, [`borrow`] needs it
//!   not borrowed mutably, [`free`] needs it unused. Uses are released when the entry
//!   point returns ([`release_uses_from`], called by `boundary()`).
//!
//! What is not guaranteed: once a handle is freed the allocator may give its address to
//! a new handle. A stale pointer then names the new handle: of another type it gives
//! `TCM_STATUS_WRONG_HANDLE`, of the same type it is used as that handle.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::buffer::non_null;
use crate::status::{fail, tcm_status};

/// A Rust type handed to C as an opaque, `Box`-owned pointer.
pub(crate) trait Handle: Sized + 'static {
    /// Name used in error details, e.g. `"tcm_frame_decoder"`.
    const NAME: &'static str;
}

/// A live handle in the registry.
struct Live {
    /// `TypeId` of the boxed Rust type.
    type_id: TypeId,
    /// Its [`Handle::NAME`], for error details.
    name: &'static str,
    /// Shared borrows by calls that have not returned.
    shared: u32,
    /// Borrowed exclusively by a call that has not returned.
    exclusive: bool,
}

/// How a call uses a handle (to release it when the call returns).
#[derive(Clone, Copy)]
enum Use {
    Shared,
    Exclusive,
}

/// Every live handle by address.
static LIVE: Mutex<BTreeMap<usize, Live>> = Mutex::new(BTreeMap::new());

thread_local! {
    /// The handles this thread's running entry points use, innermost last.
    static IN_USE: RefCell<Vec<(usize, Use)>> = const { RefCell::new(Vec::new()) };
}

/// The registry. Nothing panics while it is locked, but a poisoned lock is still usable.
fn live() -> MutexGuard<'static, BTreeMap<usize, Live>> {
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The registry entry of `p` if it is a live `T`, else the status saying why not.
fn entry<T: Handle>(map: &mut BTreeMap<usize, Live>, p: *const T) -> Result<&mut Live, tcm_status> {
    match map.get_mut(&(p as usize)) {
        None => Err(fail(
            tcm_status::UnknownHandle,
            format_args!(
                "{}: not a live handle (already freed, or not from this library)",
                T::NAME
            ),
        )),
        Some(e) if e.type_id != TypeId::of::<T>() => Err(fail(
            tcm_status::WrongHandle,
            format_args!("{}: got a {} handle", T::NAME, e.name),
        )),
        Some(e) => Ok(e),
    }
}

fn reentered<T: Handle>() -> tcm_status {
    fail(
        tcm_status::Reentered,
        format_args!(
            "{}: in use by a call that has not returned (called from its own callback?)",
            T::NAME
        ),
    )
}

/// Notes that the running entry point uses the handle at `addr` until it returns.
fn note_use(addr: usize, how: Use) {
    IN_USE.with(|u| u.borrow_mut().push((addr, how)));
}

/// How many handle uses this thread holds (for `boundary()`: the uses to release when
/// the entry point returns are those noted after this mark).
pub(crate) fn uses_mark() -> usize {
    IN_USE.with(|u| u.borrow().len())
}

/// Releases the handle uses noted since `mark` (by the entry point that is returning).
pub(crate) fn release_uses_from(mark: usize) {
    IN_USE.with(|u| {
        let mut u = u.borrow_mut();
        if u.len() <= mark {
            return;
        }
        let mut map = live();
        while u.len() > mark {
            let Some((addr, how)) = u.pop() else { break };
            if let Some(e) = map.get_mut(&addr) {
                match how {
                    Use::Shared => e.shared = e.shared.saturating_sub(1),
                    Use::Exclusive => e.exclusive = false,
                }
            }
        }
    });
}

/// Boxes `value`, registers it as a live `T` and stores the owning pointer in `*out`. C
/// must release it with the type's `_free` function.
///
/// # Safety
/// A non-NULL `out` points to writable memory for a pointer.
pub(crate) unsafe fn hand_out<T: Handle>(value: T, out: *mut *mut T) -> Result<(), tcm_status> {
    non_null(out, "out")?;
    let raw = Box::into_raw(Box::new(value));
    live().insert(
        raw as usize,
        Live {
            type_id: TypeId::of::<T>(),
            name: T::NAME,
            shared: 0,
            exclusive: false,
        },
    );
    // SAFETY: `out` is non-NULL and writable by the caller's contract.
    unsafe { out.write(raw) };
    Ok(())
}

/// Borrows a handle shared, until the entry point returns: NULL, a pointer that is no
/// live `T` and a handle borrowed mutably by a running call are errors.
///
/// # Safety
/// Must be called inside `boundary()` (which ends the borrow), and the result must not
/// outlive the entry point.
pub(crate) unsafe fn borrow<'a, T: Handle>(p: *const T) -> Result<&'a T, tcm_status> {
    non_null(p, T::NAME)?;
    {
        let mut map = live();
        let e = entry(&mut map, p)?;
        if e.exclusive {
            return Err(reentered::<T>());
        }
        e.shared = e.shared.saturating_add(1);
    }
    note_use(p as usize, Use::Shared);
    // SAFETY: the registry says `p` is a live `Box<T>` allocation (freed only through
    // `free`, which refuses handles in use), and no running call borrows it mutably.
    Ok(unsafe { &*p })
}

/// Borrows a handle exclusively, until the entry point returns: NULL, a pointer that is
/// no live `T` and a handle any running call uses are errors.
///
/// # Safety
/// As for [`borrow`].
pub(crate) unsafe fn borrow_mut<'a, T: Handle>(p: *mut T) -> Result<&'a mut T, tcm_status> {
    non_null(p, T::NAME)?;
    {
        let mut map = live();
        let e = entry(&mut map, p)?;
        if e.exclusive || e.shared > 0 {
            return Err(reentered::<T>());
        }
        e.exclusive = true;
    }
    note_use(p as usize, Use::Exclusive);
    // SAFETY: the registry says `p` is a live `Box<T>` allocation, and no running call
    // uses it, so this is the only reference until the entry point returns.
    Ok(unsafe { &mut *p })
}

/// Drops a handle; NULL is a no-op. A pointer that is no live `T` and a handle in use by
/// a running call are errors, and nothing is freed.
///
/// # Safety
/// Must be called inside `boundary()`.
pub(crate) unsafe fn free<T: Handle>(p: *mut T) -> Result<(), tcm_status> {
    if p.is_null() {
        return Ok(());
    }
    {
        let mut map = live();
        let e = entry(&mut map, p)?;
        if e.exclusive || e.shared > 0 {
            return Err(reentered::<T>());
        }
        map.remove(&(p as usize));
    }
    // SAFETY: the registry held `p` as a live `Box<T>` from `Box::into_raw`; it is removed
    // now, so ownership returns here exactly once. Dropped outside the lock: a drop may
    // run code that calls into the library.
    drop(unsafe { Box::from_raw(p) });
    Ok(())
}
