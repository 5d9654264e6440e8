//! A NOR flash in RAM: erase sets a page to 0xFF, writes can only clear bits.

use embedded_storage::nor_flash::{
    check_erase, check_read, check_write, ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError,
    NorFlashErrorKind, ReadNorFlash,
};

/// Erase page of the modelled flash, bytes.
pub const PAGE_SIZE: usize = 4096;
/// Write granularity, bytes.
pub const WORD_SIZE: usize = 4;

/// Errors of [`RamNorFlash`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RamNorFlashError {
    /// Misaligned or out-of-bounds access.
    Range(NorFlashErrorKind),
    /// The simulated power failed: nothing more is written.
    PowerLost,
}

impl NorFlashError for RamNorFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            RamNorFlashError::Range(k) => *k,
            RamNorFlashError::PowerLost => NorFlashErrorKind::Other,
        }
    }
}

/// `N` bytes of NOR flash (a multiple of [`PAGE_SIZE`]) held in RAM.
#[derive(Debug, Clone)]
pub struct RamNorFlash<const N: usize> {
    mem: [u8; N],
    /// Word writes and page erases still allowed before the power fails.
    budget: Option<u32>,
}

impl<const N: usize> Default for RamNorFlash<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RamNorFlash<N> {
    /// Erased flash.
    pub const fn new() -> Self {
        RamNorFlash {
            mem: [0xFF; N],
            budget: None,
        }
    }

    /// Lets only `ops` more word writes or page erases through; later ones fail with
    /// [`RamNorFlashError::PowerLost`] (a power cut in the middle of an update).
    pub fn fail_after(&mut self, ops: u32) {
        self.budget = Some(ops);
    }

    /// Restores the power.
    pub fn restore_power(&mut self) {
        self.budget = None;
    }

    fn spend(&mut self) -> Result<(), RamNorFlashError> {
        match self.budget.as_mut() {
            Some(0) => Err(RamNorFlashError::PowerLost),
            Some(b) => {
                *b -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl<const N: usize> ErrorType for RamNorFlash<N> {
    type Error = RamNorFlashError;
}

impl<const N: usize> ReadNorFlash for RamNorFlash<N> {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        check_read(self, offset, bytes.len()).map_err(RamNorFlashError::Range)?;
        let o = offset as usize;
        bytes.copy_from_slice(&self.mem[o..o + bytes.len()]);
        Ok(())
    }
    fn capacity(&self) -> usize {
        N
    }
}

impl<const N: usize> NorFlash for RamNorFlash<N> {
    const WRITE_SIZE: usize = WORD_SIZE;
    const ERASE_SIZE: usize = PAGE_SIZE;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        check_erase(self, from, to).map_err(RamNorFlashError::Range)?;
        for page in (from as usize..to as usize).step_by(PAGE_SIZE) {
            self.spend()?;
            self.mem[page..page + PAGE_SIZE].fill(0xFF);
        }
        Ok(())
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        check_write(self, offset, bytes.len()).map_err(RamNorFlashError::Range)?;
        let o = offset as usize;
        for (i, word) in bytes.chunks(WORD_SIZE).enumerate() {
            self.spend()?;
            for (j, b) in word.iter().enumerate() {
                // NOR programming only clears bits.
                self.mem[o + i * WORD_SIZE + j] &= *b;
            }
        }
        Ok(())
    }
}

impl<const N: usize> MultiwriteNorFlash for RamNorFlash<N> {}
