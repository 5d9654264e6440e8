//! Python bindings of tcmcare (being written).
