//! Logging macros: defmt when the `defmt` feature is on (the board), nothing otherwise
//! (host tests observe the state machine through its queued events instead).

macro_rules! log_info {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{
        #[cfg(feature = "defmt")]
        defmt::info!($fmt $(, $arg)*);
        #[cfg(not(feature = "defmt"))]
        {
            $( let _ = &$arg; )*
        }
    }};
}

macro_rules! log_warn {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{
        #[cfg(feature = "defmt")]
        defmt::warn!($fmt $(, $arg)*);
        #[cfg(not(feature = "defmt"))]
        {
            $( let _ = &$arg; )*
        }
    }};
}

pub(crate) use {log_info, log_warn};
