//! KPI coverage rules (being written).
