//! `size`: the firmware's Berkeley sizes against the flash and RAM limits.

use crate::checks::Checks;
use crate::{arg, elf};

pub(crate) fn size(args: &[String]) -> Result<bool, String> {
    let elf = arg(args, "--elf").ok_or("--elf missing")?;
    let bytes = std::fs::read(&elf).map_err(|e| format!("{elf}: {e}"))?;
    let s = elf::sizes(&bytes)?;
    let flash_limit: u64 = arg(args, "--flash-limit")
        .map(|v| v.parse().map_err(|_| "bad --flash-limit"))
        .transpose()?
        .unwrap_or(96 * 1024);
    let ram_limit: u64 = arg(args, "--ram-limit")
        .map(|v| v.parse().map_err(|_| "bad --ram-limit"))
        .transpose()?
        .unwrap_or(32 * 1024);
    println!("   text    data     bss  filename");
    println!("{:7} {:7} {:7}  {elf}", s.text, s.data, s.bss);
    let mut c = Checks {
        passed: 0,
        failed: 0,
    };
    c.check(
        "flash",
        s.flash() <= flash_limit,
        format_args!(
            "{} B of {} B ({:.1} %)",
            s.flash(),
            flash_limit,
            100.0 * s.flash() as f64 / flash_limit as f64
        ),
    );
    c.check(
        "static-ram",
        s.static_ram() <= ram_limit,
        format_args!(
            "{} B of {} B ({:.1} %)",
            s.static_ram(),
            ram_limit,
            100.0 * s.static_ram() as f64 / ram_limit as f64
        ),
    );
    println!("size: {} passed, {} failed", c.passed, c.failed);
    Ok(c.failed == 0)
}
