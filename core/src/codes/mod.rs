//! Code tables: WHO acupoints, TCM techniques and vital-sign codes (LOINC, UCUM, IEEE 11073).
pub mod acupoint;
pub mod technique;
pub mod vital;
