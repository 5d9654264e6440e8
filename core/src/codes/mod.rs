//! Code tables: WHO acupoints, TCM techniques, vital-sign codes (LOINC, UCUM, IEEE 11073)
//! and the validation rules of records.
pub mod acupoint;
pub mod rule;
pub mod technique;
pub mod vital;
