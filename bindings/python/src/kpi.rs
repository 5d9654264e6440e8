//! The KPI coverage report of `tcmcare_core::kpi`, and the supersession rule it applies.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyTuple;

use tcmcare_core::kpi::{self, CoverageBuilder, Indicator, IndicatorSet};
use tcmcare_core::record::{Body, Record, RecordError};

use crate::errors;
use crate::pyobjs;
use crate::records::{record_ref, PyRecord};

/// A record of an iterable item: a record object, or envelope bytes. `Ok(None)` for an
/// envelope of a kind this version does not know (it cannot count for anything).
fn item_record(item: &Bound<'_, PyAny>) -> PyResult<Option<Record>> {
    if item.cast::<PyRecord>().is_ok() {
        return Ok(Some(record_ref(item)?.to_record()));
    }
    let bytes: PyBackedBytes = item.extract().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(
            "expected records or envelope bytes (tcmcare.encode output)",
        )
    })?;
    match Record::decode(&bytes) {
        Ok(r) => Ok(Some(r)),
        Err(RecordError::UnknownKind(_)) => Ok(None),
        Err(e) => Err(errors::from_record(item.py(), &e, &bytes)),
    }
}

type Row = (&'static str, u32, u32, Option<u32>, Option<bool>);

fn rows(set: &IndicatorSet) -> Vec<Row> {
    Indicator::ALL
        .iter()
        .map(|i| {
            let c = set.get(*i);
            (
                i.name(),
                c.eligible,
                c.served,
                c.rate_basis_points(),
                c.meets(i.target_percent()),
            )
        })
        .collect()
}

/// `(year, unplaced, total rows, [(care_home, rows)])` where a row is `(indicator,
/// eligible, served, rate in basis points or None, meets target or None)`.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn coverage(
    items: &Bound<'_, PyAny>,
    year: u16,
) -> PyResult<(u16, u32, Vec<Row>, Vec<(u32, Vec<Row>)>)> {
    let py = items.py();
    let mut b = CoverageBuilder::new(year)
        .map_err(|e| errors::validation(py, "invalid_year", "year", &e.to_string()))?;
    for item in items.try_iter()? {
        if let Some(r) = item_record(&item?)? {
            b.add(&r);
        }
    }
    let report = b.finish();
    Ok((
        report.year,
        report.unplaced,
        rows(&report.total),
        report
            .care_homes
            .iter()
            .map(|h| (h.care_home.0, rows(&h.indicators)))
            .collect(),
    ))
}

/// `(name, 中文, English, target percent)` of each indicator, in report order.
#[pyfunction]
fn indicators() -> Vec<(&'static str, &'static str, &'static str, u8)> {
    Indicator::ALL
        .iter()
        .map(|i| (i.name(), i.name_zh(), i.name_en(), i.target_percent()))
        .collect()
}

/// The ids of the records superseded by the corrections among `items` (records or
/// envelopes): what a current view leaves out.
#[pyfunction]
fn superseded<'py>(py: Python<'py>, items: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    let mut corrections = Vec::new();
    for item in items.try_iter()? {
        if let Some(r) = item_record(&item?)? {
            if matches!(r.body, Body::Correction(_)) {
                corrections.push(r);
            }
        }
    }
    let ids = kpi::superseded(&corrections)
        .iter()
        .map(|id| pyobjs::record_id(py, id))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, ids)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(coverage, m)?)?;
    m.add_function(wrap_pyfunction!(indicators, m)?)?;
    m.add_function(wrap_pyfunction!(superseded, m)?)?;
    m.add("ELDERLY_MIN_AGE_YEARS", kpi::ELDERLY_MIN_AGE_YEARS)?;
    Ok(())
}
