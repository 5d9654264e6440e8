//! Section sizes of an ELF32 little-endian image, summed the way `size` (Berkeley
//! format) does: text = allocated read-only sections (vector table, code, constants),
//! data = allocated writable sections with contents, bss = allocated writable sections
//! without.

/// Section flag: occupies memory at run time.
const SHF_WRITE: u32 = 0x1;
const SHF_ALLOC: u32 = 0x2;
/// Section type: no contents in the file.
const SHT_NOBITS: u32 = 8;

/// Berkeley sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sizes {
    /// Code and constants (flash).
    pub text: u64,
    /// Initialised data (flash for the initial values and RAM).
    pub data: u64,
    /// Zero-initialised data (RAM).
    pub bss: u64,
}

impl Sizes {
    /// Flash used: text + data's initial values.
    pub fn flash(&self) -> u64 {
        self.text + self.data
    }
    /// Static RAM: data + bss.
    pub fn static_ram(&self) -> u64 {
        self.data + self.bss
    }
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

/// Parses the section headers of an ELF32 LE file.
pub fn sizes(elf: &[u8]) -> Result<Sizes, String> {
    if elf.get(..4) != Some(b"\x7fELF") {
        return Err("not an ELF file".into());
    }
    if elf.get(4) != Some(&1) || elf.get(5) != Some(&1) {
        return Err("not a 32-bit little-endian ELF".into());
    }
    let bad = || "truncated ELF header".to_string();
    let shoff = u32_at(elf, 0x20).ok_or_else(bad)? as usize;
    let shentsize = u16_at(elf, 0x2E).ok_or_else(bad)? as usize;
    let shnum = u16_at(elf, 0x30).ok_or_else(bad)? as usize;
    let mut s = Sizes::default();
    for i in 0..shnum {
        let h = shoff + i * shentsize;
        let ty = u32_at(elf, h + 4).ok_or("truncated section header")?;
        let flags = u32_at(elf, h + 8).ok_or("truncated section header")?;
        let size = u64::from(u32_at(elf, h + 20).ok_or("truncated section header")?);
        if flags & SHF_ALLOC == 0 {
            continue;
        }
        if flags & SHF_WRITE == 0 {
            s.text += size;
        } else if ty == SHT_NOBITS {
            s.bss += size;
        } else {
            s.data += size;
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-built ELF32 with three sections: .text (AX, 100 B), .data (WA, 8 B),
    /// .bss (WA, NOBITS, 40 B), plus a non-allocated .comment (16 B).
    fn tiny_elf() -> Vec<u8> {
        let mut e = vec![0u8; 0x34];
        e[..4].copy_from_slice(b"\x7fELF");
        e[4] = 1; // ELFCLASS32
        e[5] = 1; // little-endian
        let shoff = 0x40u32;
        e[0x20..0x24].copy_from_slice(&shoff.to_le_bytes());
        e[0x2E..0x30].copy_from_slice(&40u16.to_le_bytes());
        e[0x30..0x32].copy_from_slice(&5u16.to_le_bytes());
        e.resize(0x40 + 5 * 40, 0);
        let mut sh = |i: usize, ty: u32, flags: u32, size: u32| {
            let h = 0x40 + i * 40;
            e[h + 4..h + 8].copy_from_slice(&ty.to_le_bytes());
            e[h + 8..h + 12].copy_from_slice(&flags.to_le_bytes());
            e[h + 20..h + 24].copy_from_slice(&size.to_le_bytes());
        };
        sh(1, 1, 0x6, 100);
        sh(2, 1, 0x3, 8);
        sh(3, 8, 0x3, 40);
        sh(4, 1, 0x30, 16);
        e
    }

    #[test]
    fn berkeley_sums() {
        let s = sizes(&tiny_elf()).unwrap();
        assert_eq!(
            s,
            Sizes {
                text: 100,
                data: 8,
                bss: 40
            }
        );
        assert_eq!((s.flash(), s.static_ram()), (108, 48));
    }

    #[test]
    fn rejects_other_files() {
        assert!(sizes(b"hello").is_err());
        let mut e = tiny_elf();
        e[4] = 2;
        assert!(sizes(&e).is_err());
    }
}
