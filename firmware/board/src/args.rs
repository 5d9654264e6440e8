//! The board's command line, read over semihosting (QEMU
//! `-semihosting-config enable=on,target=native,arg=tcmcare-board,arg=--cohort,arg=a,...`):
//!
//! - `--provision`: the provisioning button is held at power-up (provisioning mode: the
//!   kiosk waits for a `Provision` frame on UART0, answers, and exits);
//! - `--cohort NAME`: which day to play (`a`, `b`; default `morning`, the QEMU test's);
//!   accepted and unused in provisioning mode;
//! - `--flash PATH`: mirror the flash (and the world's memory) to the host file `PATH`,
//!   loaded at boot, so the outbox and the seal state survive the QEMU process itself;
//! - `--device N` (optional, decimal or `0x` hex): a check, not a setting. The device id
//!   comes from provisioning; a board told another id refuses to run (exit code 5), and
//!   in provisioning mode refuses a `Provision` for another device;
//! - `--entropy HEX` (QEMU only: `mps2-an386` has no random number generator): 32 hex
//!   digits, 16 fresh random bytes from the host (e.g. `/dev/urandom`), the salt the
//!   kiosk mixes into its key at provisioning. Without it provisioning is refused
//!   (status `0x08`). A real board draws the salt from its TRNG instead.
//!
//! Without arguments the board is the QEMU test's kiosk (cohort `morning`), which must
//! have been provisioned before (in the same QEMU process's RAM or its `--flash` file).

use core::ffi::CStr;

use tcmcare_device_models::cohort::{self, Cohort};

/// Longest command line read, bytes.
const CMDLINE_LEN: usize = 256;
/// Longest flash image path, bytes (NUL included).
pub const PATH_LEN: usize = 128;
/// Bytes of `--entropy` (core's provisioning salt).
pub const ENTROPY_LEN: usize = tcmcare_core::seal::PROVISION_SALT_LEN;

/// What the command line asks for.
pub struct BoardArgs {
    /// The day to play.
    pub cohort: &'static Cohort,
    /// The device id the board must have been provisioned as, if given.
    pub device: Option<u32>,
    /// The provisioning button is held at power-up.
    pub provision: bool,
    /// `--entropy`: the random bytes for the provisioning salt (this board has no TRNG).
    pub entropy: Option<[u8; ENTROPY_LEN]>,
    /// The flash image path, NUL-terminated.
    path: [u8; PATH_LEN],
    has_path: bool,
}

/// A command line the board cannot follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum ArgsError {
    /// An option without its value, or a value that is not UTF-8.
    Missing,
    /// A device id that is not a number in 1..=u32::MAX.
    Device,
    /// No cohort of that name.
    Cohort,
    /// A path of [`PATH_LEN`] bytes or more.
    PathTooLong,
    /// An `--entropy` value that is not exactly 32 hex digits.
    Entropy,
    /// An unknown option.
    Unknown,
}

fn parse_u32(s: &str) -> Option<u32> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => s.parse().ok()?,
    };
    (v != 0).then_some(v)
}

/// Exactly `2 * ENTROPY_LEN` hex digits (either case) as bytes.
fn parse_entropy(s: &str) -> Option<[u8; ENTROPY_LEN]> {
    let digits = s.as_bytes();
    if digits.len() != 2 * ENTROPY_LEN {
        return None;
    }
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let mut out = [0u8; ENTROPY_LEN];
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        if let [hi, lo] = pair {
            *o = (nibble(*hi)? << 4) | nibble(*lo)?;
        }
    }
    Some(out)
}

impl BoardArgs {
    /// Reads the semihosting command line. A host without a command line (or an empty
    /// one) gives the defaults.
    pub fn read() -> Result<Self, ArgsError> {
        let mut out = BoardArgs {
            cohort: &cohort::MORNING_COHORT,
            device: None,
            provision: false,
            entropy: None,
            path: [0; PATH_LEN],
            has_path: false,
        };
        let Ok(args) = semihosting::experimental::env::args::<CMDLINE_LEN>() else {
            return Ok(out);
        };
        let mut it = &args;
        // The first word is the program (or kernel) name.
        let _ = it.next();
        while let Some(arg) = it.next() {
            let arg = arg.map_err(|_| ArgsError::Missing)?;
            let mut value = || -> Result<&str, ArgsError> {
                match it.next() {
                    Some(Ok(v)) => Ok(v),
                    _ => Err(ArgsError::Missing),
                }
            };
            match arg {
                "--device" => out.device = Some(parse_u32(value()?).ok_or(ArgsError::Device)?),
                "--provision" => out.provision = true,
                "--entropy" => {
                    out.entropy = Some(parse_entropy(value()?).ok_or(ArgsError::Entropy)?);
                }
                "--cohort" => {
                    out.cohort = cohort::by_name(value()?).ok_or(ArgsError::Cohort)?;
                }
                "--flash" => {
                    let p = value()?.as_bytes();
                    if p.len() >= PATH_LEN {
                        return Err(ArgsError::PathTooLong);
                    }
                    out.path[..p.len()].copy_from_slice(p);
                    out.has_path = true;
                }
                "" => {}
                _ => return Err(ArgsError::Unknown),
            }
        }
        Ok(out)
    }

    /// The flash image path, if one was given.
    pub fn flash_path(&self) -> Option<&CStr> {
        if !self.has_path {
            return None;
        }
        CStr::from_bytes_until_nul(&self.path).ok()
    }
}
