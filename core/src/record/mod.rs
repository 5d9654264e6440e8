//! Record model (being written).
