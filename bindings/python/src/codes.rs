//! The code tables of `tcmcare_core::codes` the FHIR export names things with: techniques,
//! acupoints, and the numeric view of vital signs (LOINC codes, UCUM units).

use pyo3::prelude::*;

use tcmcare_core::codes::acupoint::Acupoint;
use tcmcare_core::codes::technique::Technique;
use tcmcare_core::codes::vital;
use tcmcare_core::record::Body;

use crate::errors;
use crate::records::record_of;

/// `(中文, English)` names of a technique name.
#[pyfunction]
fn technique_names(py: Python<'_>, name: &str) -> PyResult<(&'static str, &'static str)> {
    let t = Technique::from_name(name).ok_or_else(|| {
        errors::validation(
            py,
            "unknown_name",
            "technique",
            &format!("unknown technique {name:?}"),
        )
    })?;
    Ok((t.name_zh(), t.name_en()))
}

/// `(中文, pinyin)` of a common elderly-care acupoint (DOMAIN.md 5), `None` for others.
#[pyfunction]
fn acupoint_names(py: Python<'_>, code: &str) -> PyResult<Option<(&'static str, &'static str)>> {
    let a = Acupoint::parse(code).map_err(|e| {
        errors::validation(
            py,
            "invalid_acupoint",
            "acupoints",
            &format!("acupoints: {e}"),
        )
    })?;
    Ok(a.common_name())
}

/// The numeric view of a vital-signs record for export: `(field, LOINC, display, UCUM,
/// mantissa, exponent)` per value (`tcmcare_core::codes::vital::quantities`).
#[pyfunction]
#[allow(clippy::type_complexity)]
fn vital_quantities(
    record: &Bound<'_, PyAny>,
) -> PyResult<
    Vec<(
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        i64,
        i8,
    )>,
> {
    let r = record_of(record)?;
    let Body::Vitals(v) = &r.body else {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "vital_quantities() needs a VitalSigns record",
        ));
    };
    Ok(vital::quantities(v)
        .map(|q| {
            (
                q.field,
                q.sign.loinc(),
                q.sign.loinc_display(),
                q.sign.ucum(),
                q.mantissa,
                q.exponent,
            )
        })
        .collect())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(technique_names, m)?)?;
    m.add_function(wrap_pyfunction!(acupoint_names, m)?)?;
    m.add_function(wrap_pyfunction!(vital_quantities, m)?)?;
    m.add("VITAL_SIGNS_PANEL_LOINC", vital::VITAL_SIGNS_PANEL_LOINC)?;
    m.add("BP_PANEL_LOINC", vital::BP_PANEL_LOINC)?;
    m.add("SPO2_FHIR_BASE_LOINC", vital::SPO2_FHIR_BASE_LOINC)?;
    m.add("SPO2_FHIR_BASE_DISPLAY", vital::SPO2_FHIR_BASE_DISPLAY)?;
    Ok(())
}
