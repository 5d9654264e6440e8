//! # tcmcare-kiosk
//!
//! The sensor kiosk's firmware library, `no_std` and host-testable: embedded-hal 1.0
//! drivers for the kiosk's sensors ([`drivers`]), SpO2 / pulse estimation from the raw
//! PPG ([`ppg`]), the card-to-resident table ([`residents`]), and the measurement state
//! machine ([`kiosk`]) that validates records in core, persists them in the flash outbox
//! and uplinks them with core's sync protocol over sealed frames; provisioning by a
//! physical action ([`provision`]) and the sealing state on flash ([`seal_store`]).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod log;

pub mod drivers;
pub mod kiosk;
pub mod persist;
pub mod ppg;
pub mod provision;
pub mod residents;
pub mod seal_store;
pub mod sensors;
