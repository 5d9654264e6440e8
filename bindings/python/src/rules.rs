//! Core's rules as data for Python: the validation rule table (code, field, family, C
//! status, message), the vital-sign alert flags and their thresholds, and the care homes'
//! UTC offset. The package derives its labels and time zone from these; none is
//! restated in Python.

use pyo3::prelude::*;

use tcmcare_core::codes::rule::{RuleFamily, RULES};
use tcmcare_core::record::{self as vitals, VitalAlerts};

use crate::errors;

/// One rule of core's table as Python sees it: `(code, field, family, status, message)`.
pub type RuleTuple = (
    &'static str,
    Option<&'static str>,
    &'static str,
    u16,
    &'static str,
);

/// Core's validation rules (`tcmcare_core::codes::rule::RULES`), in status order: `(code,
/// field, family, status, message)` per rule. `field` is the JSON field the rule is
/// about (`""` for the record as a whole; `None` when the error names it: texts, lists,
/// staff signatures), `family` the name of its family (`"range"`, `"missing"`...; it
/// picks the exception class), `status` its `tcm_status` number in the C ABI, `message`
/// one sentence without the values.
#[pyfunction]
pub fn validation_rules() -> Vec<RuleTuple> {
    RULES
        .iter()
        .map(|r| (r.code, r.field, r.family.name(), r.status, r.message))
        .collect()
}

/// The families of rules (`RuleFamily`) in number order: `(number, name)` per family.
#[pyfunction]
pub fn rule_families() -> Vec<(u8, &'static str)> {
    RuleFamily::ALL
        .iter()
        .map(|f| (*f as u8, f.name()))
        .collect()
}

/// The family name of an error code (a rule's, the JSON view's or the bindings' own),
/// `None` for a code of no family.
#[pyfunction]
pub fn error_code_family(code: &str) -> Option<&'static str> {
    errors::family_of(code).map(RuleFamily::name)
}

/// Adds the rule table, the alert thresholds and the care homes' UTC offset to the native
/// module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(validation_rules, m)?)?;
    m.add_function(wrap_pyfunction!(rule_families, m)?)?;
    m.add_function(wrap_pyfunction!(error_code_family, m)?)?;
    // The vital-sign alerts: flag names in bit order and the thresholds they use.
    m.add("ALERT_FLAGS", VitalAlerts::NAMES)?;
    m.add(
        "HYPERTENSION_SYSTOLIC_MMHG",
        vitals::HYPERTENSION_SYSTOLIC_MMHG,
    )?;
    m.add(
        "HYPERTENSION_DIASTOLIC_MMHG",
        vitals::HYPERTENSION_DIASTOLIC_MMHG,
    )?;
    m.add(
        "HYPOTENSION_SYSTOLIC_BELOW_MMHG",
        vitals::HYPOTENSION_SYSTOLIC_BELOW_MMHG,
    )?;
    m.add("FEVER_CENTI_C", vitals::FEVER_CENTI_C)?;
    m.add("LOW_SPO2_BELOW_PERCENT", vitals::LOW_SPO2_BELOW_PERCENT)?;
    m.add(
        "TACHYCARDIA_ABOVE_PER_MIN",
        vitals::TACHYCARDIA_ABOVE_PER_MIN,
    )?;
    m.add(
        "BRADYCARDIA_BELOW_PER_MIN",
        vitals::BRADYCARDIA_BELOW_PER_MIN,
    )?;
    m.add(
        "FASTING_GLUCOSE_HIGH_UMOL_L",
        vitals::FASTING_GLUCOSE_HIGH_UMOL_L,
    )?;
    m.add(
        "RANDOM_GLUCOSE_HIGH_UMOL_L",
        vitals::RANDOM_GLUCOSE_HIGH_UMOL_L,
    )?;
    m.add(
        "HYPOGLYCEMIA_BELOW_UMOL_L",
        vitals::HYPOGLYCEMIA_BELOW_UMOL_L,
    )?;
    // China Standard Time, the care homes' clock and the KPI reporting year.
    m.add(
        "CHINA_STANDARD_TIME_OFFSET_S",
        tcmcare_core::time::CHINA_STANDARD_TIME_OFFSET_S,
    )?;
    Ok(())
}
