//! The SQL schema of the care-home terminal's database (`tcmcare_core::store`): the one
//! script the reference terminal and the Python store both run, so their databases are
//! the same.

use std::ffi::{c_char, CStr};

use crate::boundary;
use crate::buffer::{non_null, put};
use crate::status::tcm_status;

/// The store schema version `tcm_store_schema()` creates: the `meta` row
/// `('schema', '2')`. A database with a greater version must be refused before anything
/// is written to it; version 1 is upgraded in place by the script.
pub const TCM_STORE_SCHEMA_VERSION: u32 = 2;

const _: () = assert!(TCM_STORE_SCHEMA_VERSION == tcmcare_core::store::SCHEMA_VERSION);

/// `SCHEMA_SQL` with a terminating NUL, built at compile time.
const SQL_BYTES: [u8; tcmcare_core::store::SCHEMA_SQL.len() + 1] = {
    let src = tcmcare_core::store::SCHEMA_SQL.as_bytes();
    let mut out = [0u8; tcmcare_core::store::SCHEMA_SQL.len() + 1];
    let mut i = 0;
    while i < src.len() {
        out[i] = src[i];
        i += 1;
    }
    out
};

/// The schema as a C string; the build fails if the script holds a NUL byte.
static SQL: &CStr = match CStr::from_bytes_with_nul(&SQL_BYTES) {
    Ok(sql) => sql,
    Err(_) => panic!("the store schema holds a NUL byte"),
};

/// Hands out the SQL script of the terminal's database (the text of `core/sql/store.sql`,
/// also Python's `tcmcare._native.STORE_SCHEMA`): `CREATE TABLE` / `CREATE INDEX ... IF NOT
/// EXISTS` of every table, then the statement that writes the version row
/// (`TCM_STORE_SCHEMA_VERSION`). Run it with `sqlite3_exec()` after reading the stored
/// version without writing (`SELECT value FROM meta WHERE key = 'schema'`, when the table
/// `meta` exists) and refusing one above `tcm_store_schema_version()`.
///
/// `*sql` receives a NUL-terminated string in static storage (valid for the life of the
/// program, never to be freed or modified) and `*len` its length without the NUL.
/// Nothing is written unless both pointers are non-NULL.
///
/// # Safety
/// `sql` points to a writable `const char *`; `len` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_store_schema(sql: *mut *const c_char, len: *mut usize) -> tcm_status {
    boundary(|| {
        non_null(sql, "sql")?;
        non_null(len, "len")?;
        // SAFETY: caller contract of this function; both checked non-NULL.
        unsafe {
            put(sql, SQL.as_ptr(), "sql")?;
            put(len, SQL.count_bytes(), "len")
        }
    })
}

/// Stores the version of the schema `tcm_store_schema()` creates
/// (`TCM_STORE_SCHEMA_VERSION` of the library actually linked) in `*out`.
///
/// # Safety
/// `out` points to a writable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_store_schema_version(out: *mut u32) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        unsafe { put(out, tcmcare_core::store::SCHEMA_VERSION, "out") }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_c_string_is_cores_script() {
        let mut sql: *const c_char = std::ptr::null();
        let mut len = 0usize;
        // SAFETY: valid out-pointers.
        let status = unsafe { tcm_store_schema(&mut sql, &mut len) };
        assert_eq!(status, tcm_status::Ok);
        // SAFETY: the function hands out a static NUL-terminated string.
        let got = unsafe { CStr::from_ptr(sql) };
        assert_eq!(got.to_bytes(), tcmcare_core::store::SCHEMA_SQL.as_bytes());
        assert_eq!(len, tcmcare_core::store::SCHEMA_SQL.len());
    }

    #[test]
    fn null_pointers_are_refused_and_nothing_is_written() {
        let mut len = 7usize;
        // SAFETY: NULL is what is being tested; `len` is valid.
        let status = unsafe { tcm_store_schema(std::ptr::null_mut(), &mut len) };
        assert_eq!(status, tcm_status::NullPointer);
        assert_eq!(len, 7);
        let mut sql: *const c_char = std::ptr::null();
        // SAFETY: as above.
        let status = unsafe { tcm_store_schema(&mut sql, std::ptr::null_mut()) };
        assert_eq!(status, tcm_status::NullPointer);
        assert!(sql.is_null());
        // SAFETY: as above.
        let status = unsafe { tcm_store_schema_version(std::ptr::null_mut()) };
        assert_eq!(status, tcm_status::NullPointer);
        let mut v = 0u32;
        // SAFETY: a valid out-pointer.
        assert_eq!(unsafe { tcm_store_schema_version(&mut v) }, tcm_status::Ok);
        assert_eq!(v, TCM_STORE_SCHEMA_VERSION);
    }
}
