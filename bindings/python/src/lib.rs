//! `tcmcare._native`: the PyO3 layer of the `tcmcare` Python package.
//!
//! A thin translation of `tcmcare-core`: record classes over core records, the JSON view
//! of `tcmcare_core::json` for dicts and keyword constructors, the wire codec and frames,
//! constitution scoring, the KPI coverage report and the numeric view of vital signs for
//! FHIR export, sealed links (device keys, provisioning, sealed receiving and sending),
//! the SQL schema of the terminal's database.
//! No domain rule lives here; exceptions are the classes of
//! `tcmcare/errors.py`, raised with the field and code core reports.

#![forbid(unsafe_code)]

mod codes;
mod constitution;
mod convert;
mod errors;
mod kpi;
mod pyobjs;
mod records;
mod rules;
mod seal;
mod sync;
mod wire;

use pyo3::prelude::*;

/// The native module. Its public names are re-exported by the `tcmcare` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", tcmcare_core::VERSION)?;
    m.add("SCHEMA_VERSION", tcmcare_core::SCHEMA_VERSION)?;
    m.add("MAX_ENVELOPE_LEN", tcmcare_core::wire::MAX_ENVELOPE_LEN)?;
    m.add(
        "MAX_RECORD_FRAME_LEN",
        tcmcare_core::wire::MAX_RECORD_FRAME_LEN,
    )?;
    // The terminal database's SQL (core/sql/store.sql) and its version, which
    // `tcmcare.store.SQLiteStore` runs, as the C terminal does.
    m.add("STORE_SCHEMA", tcmcare_core::store::SCHEMA_SQL)?;
    m.add("STORE_SCHEMA_VERSION", tcmcare_core::store::SCHEMA_VERSION)?;
    records::register(m)?;
    wire::register(m)?;
    constitution::register(m)?;
    codes::register(m)?;
    kpi::register(m)?;
    rules::register(m)?;
    seal::register(m)?;
    sync::register(m)?;
    Ok(())
}
