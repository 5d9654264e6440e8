//! # tcmcare-core
//!
//! The `no_std` core of tcmcare: the record model for care-home Traditional Chinese
//! Medicine (TCM) services, the 33-item constitution identification of the national
//! Basic Public Health Service, code tables (WHO acupoints, techniques, LOINC / UCUM /
//! IEEE 11073), Bluetooth health-measurement parsing, resident ID number validation, the
//! compact wire format (versioned envelope + COBS/CRC frames), the store-and-forward
//! sync protocol, sealed frames (per-device keys, ChaCha20-Poly1305, replay protection)
//! and the SQL schema of the care-home terminal's database (`store`).
//!
//! Features only add: `alloc` (owned helpers such as the in-memory receiver store),
//! `std` (`std::error::Error` impls), `defmt` (`defmt::Format` on public types) and
//! `flash` (the NorFlash outbox backend on `sequential-storage`).
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod codes;
pub mod constitution;
pub mod gatt;
pub mod id_number;
pub mod ids;
pub mod ieee11073;
#[cfg(feature = "json")]
pub mod json;
#[cfg(feature = "alloc")]
pub mod kpi;
pub mod record;
pub mod seal;
pub mod store;
pub mod sync;
pub mod time;
pub mod wire;

/// Version of the record schema carried in the sync hello. Bumped only together with a
/// CHANGELOG entry and new golden vectors.
pub const SCHEMA_VERSION: u16 = 1;

/// The crate version, for `tcm_version()` and friends.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
