//! Store-and-forward sync (being written).
