//! C ABI of tcmcare (being written).
