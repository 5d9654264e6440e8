//! Identifiers and identity attributes.
//!
//! Records are identified without UUIDs: `(origin device, epoch, sequence)`. A device
//! numbers its records 1, 2, 3... within an *epoch*; a device whose storage is wiped starts
//! a new epoch so its ids never collide with the ones it issued before.
//!
//! Residents travel only as a pseudonymous number scoped to a care home. Names and
//! national ID numbers stay on the terminal.

use core::fmt;

/// Identifier of an originating device (kiosk, terminal), assigned at provisioning.
/// `0` is reserved for "not provisioned" and never appears in a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DeviceId(pub u32);

/// Storage incarnation of a device. Starts at 1 and grows by one after every wipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Epoch(pub u32);

/// Sequence number of a record within one (device, epoch); the first record is 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Seq(pub u32);

impl Seq {
    /// The first sequence number of an epoch.
    pub const FIRST: Seq = Seq(1);

    /// The next sequence number, or `None` when the 32-bit space is exhausted (the device
    /// must then start a new epoch).
    pub fn next(self) -> Option<Seq> {
        self.0.checked_add(1).map(Seq)
    }
}

/// Globally unique id of a record: origin device, its epoch, and the sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RecordId {
    /// The device that created the record.
    pub device: DeviceId,
    /// The storage incarnation of that device.
    pub epoch: Epoch,
    /// The sequence number within (device, epoch).
    pub seq: Seq,
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.device.0, self.epoch.0, self.seq.0)
    }
}

/// Identifier of a care home (nursing home), assigned by the district platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CareHomeId(pub u32);

/// Pseudonymous resident number, unique within one care home.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ResidentNumber(pub u32);

/// A resident as records name them: care home plus pseudonymous number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ResidentRef {
    /// The care home the number belongs to.
    pub care_home: CareHomeId,
    /// The resident's pseudonymous number within that home.
    pub number: ResidentNumber,
}

impl fmt::Display for ResidentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.care_home.0, self.number.0)
    }
}

/// Staff number of a doctor, nurse or technician (assessor, practitioner), scoped to the
/// care home. `0` means "not recorded" and is rejected where the form requires a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StaffId(pub u32);

/// Sex as recorded at registration (GB/T 2261.1 codes 1 male, 2 female; 0 unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Sex {
    /// Not known / not stated (GB/T 2261.1 code 0).
    Unknown = 0,
    /// Male (code 1).
    Male = 1,
    /// Female (code 2).
    Female = 2,
}

impl Sex {
    /// The wire / GB/T 2261.1 code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Parses a GB/T 2261.1 code (0, 1, 2).
    pub fn from_code(code: u8) -> Option<Sex> {
        match code {
            0 => Some(Sex::Unknown),
            1 => Some(Sex::Male),
            2 => Some(Sex::Female),
            _ => None,
        }
    }
}
