//! JSON view of records (being written).
