//! A fixed-capacity outbox backend in RAM.

use core::fmt;

use super::outbox::{AppendError, EntryBounds, OutboxMeta, OutboxStorage};

/// Bytes in front of each entry in the ring: its length as u16 little-endian.
const ENTRY_HEADER_LEN: usize = 2;

/// [`RamStorage`] cannot fail; this type has no values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RamStorageError {}

impl fmt::Display for RamStorageError {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RamStorageError {}

/// An outbox backend in a fixed array of `BYTES` bytes, no allocation. Entries are stored
/// contiguously (2 bytes of length in front of each): when one does not fit at the end of
/// the array the ring wraps to the start, so at most one entry's worth of the end stays
/// unused. It never overwrites: a full ring refuses the append.
///
/// The state lives as long as this value (keep it in RAM that survives the events you
/// care about, e.g. a retained section across a soft reset).
#[derive(Debug, Clone)]
pub struct RamStorage<const BYTES: usize> {
    buf: [u8; BYTES],
    /// Offset of the oldest entry.
    head: usize,
    /// Offset where the next entry goes.
    tail: usize,
    /// When wrapped: entries run from `head` to `wrap_end`, then from 0 to `tail`.
    wrap_end: usize,
    wrapped: bool,
    count: usize,
    used: usize,
    oldest: u32,
    meta: Option<OutboxMeta>,
}

impl<const BYTES: usize> Default for RamStorage<BYTES> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const BYTES: usize> RamStorage<BYTES> {
    /// An empty ring (no meta: an outbox opened on it starts a new epoch).
    pub const fn new() -> Self {
        RamStorage {
            buf: [0; BYTES],
            head: 0,
            tail: 0,
            wrap_end: 0,
            wrapped: false,
            count: 0,
            used: 0,
            oldest: 0,
            meta: None,
        }
    }

    /// Number of stored entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn entry_len_at(&self, offset: usize) -> Option<usize> {
        let b = self.buf.get(offset..offset + ENTRY_HEADER_LEN)?;
        Some(u16::from_le_bytes([b[0], b[1]]) as usize)
    }

    fn remove_oldest(&mut self) {
        if self.count == 0 {
            return;
        }
        let len = self.entry_len_at(self.head).unwrap_or(0);
        let need = ENTRY_HEADER_LEN + len;
        self.head += need;
        self.used = self.used.saturating_sub(need);
        self.count -= 1;
        self.oldest = self.oldest.wrapping_add(1);
        if self.count == 0 {
            self.head = 0;
            self.tail = 0;
            self.wrapped = false;
            self.used = 0;
        } else if self.wrapped && self.head >= self.wrap_end {
            self.head = 0;
            self.wrapped = false;
        }
    }
}

impl<const BYTES: usize> OutboxStorage for RamStorage<BYTES> {
    type Error = RamStorageError;

    fn load_meta(&mut self) -> Result<Option<OutboxMeta>, Self::Error> {
        Ok(self.meta)
    }

    fn store_meta(&mut self, meta: &OutboxMeta) -> Result<(), Self::Error> {
        self.meta = Some(*meta);
        Ok(())
    }

    fn append(&mut self, position: u32, entry: &[u8]) -> Result<(), AppendError<Self::Error>> {
        let len = u16::try_from(entry.len()).map_err(|_| AppendError::Full)?;
        let need = ENTRY_HEADER_LEN + entry.len();
        let at = if self.count == 0 {
            self.head = 0;
            self.tail = 0;
            self.wrapped = false;
            if need > BYTES {
                return Err(AppendError::Full);
            }
            0
        } else if !self.wrapped {
            if self.tail + need <= BYTES {
                self.tail
            } else if need <= self.head {
                self.wrap_end = self.tail;
                self.wrapped = true;
                0
            } else {
                return Err(AppendError::Full);
            }
        } else if self.tail + need <= self.head {
            self.tail
        } else {
            return Err(AppendError::Full);
        };
        let slot = self.buf.get_mut(at..at + need).ok_or(AppendError::Full)?;
        let (h, body) = slot.split_at_mut(ENTRY_HEADER_LEN);
        h.copy_from_slice(&len.to_le_bytes());
        body.copy_from_slice(entry);
        self.tail = at + need;
        if self.count == 0 {
            self.oldest = position;
        }
        self.count += 1;
        self.used += need;
        Ok(())
    }

    fn bounds(&mut self) -> Result<Option<EntryBounds>, Self::Error> {
        if self.count == 0 {
            return Ok(None);
        }
        // Positions are consecutive: the newest is `count - 1` after the oldest.
        Ok(Some(EntryBounds {
            oldest: self.oldest,
            newest: self.oldest.wrapping_add((self.count - 1) as u32),
            count: self.count,
        }))
    }

    fn remove_through(&mut self, position: u32) -> Result<(), Self::Error> {
        while self.count > 0 && self.oldest <= position {
            self.remove_oldest();
        }
        Ok(())
    }

    fn read_from<F>(&mut self, from: u32, mut visit: F) -> Result<(), Self::Error>
    where
        F: FnMut(u32, &[u8]) -> bool,
    {
        let mut offset = self.head;
        let mut position = self.oldest;
        let mut in_back = self.wrapped;
        for _ in 0..self.count {
            if in_back && offset >= self.wrap_end {
                offset = 0;
                in_back = false;
            }
            let Some(len) = self.entry_len_at(offset) else {
                return Ok(());
            };
            let start = offset + ENTRY_HEADER_LEN;
            if position >= from {
                let Some(entry) = self.buf.get(start..start + len) else {
                    return Ok(());
                };
                if !visit(position, entry) {
                    return Ok(());
                }
            }
            offset = start + len;
            position = position.wrapping_add(1);
        }
        Ok(())
    }

    fn free_bytes(&mut self) -> Result<usize, Self::Error> {
        Ok(BYTES - self.used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect<const N: usize>(s: &mut RamStorage<N>, from: u32) -> std::vec::Vec<(u32, u8)> {
        let mut v = std::vec::Vec::new();
        s.read_from(from, |p, e| {
            v.push((p, e[0]));
            true
        })
        .unwrap();
        v
    }

    #[test]
    fn ring_wraps_without_overwriting() {
        // 32 bytes: entries of 8 bytes take 10 with their header, so three fit.
        let mut s = RamStorage::<32>::new();
        for p in 1..=3u32 {
            s.append(p, &[p as u8; 8]).unwrap();
        }
        assert_eq!(s.append(4, &[4; 8]), Err(AppendError::Full));
        assert_eq!(collect(&mut s, 1), [(1, 1), (2, 2), (3, 3)]);
        // Free the first entry: 10 bytes at the front, the 4th wraps there.
        s.remove_through(1).unwrap();
        s.append(4, &[4; 8]).unwrap();
        assert_eq!(s.append(5, &[5; 8]), Err(AppendError::Full));
        assert_eq!(collect(&mut s, 1), [(2, 2), (3, 3), (4, 4)]);
        assert_eq!(collect(&mut s, 4), [(4, 4)]);
        assert_eq!(
            s.bounds().unwrap(),
            Some(EntryBounds {
                oldest: 2,
                newest: 4,
                count: 3
            })
        );
        s.remove_through(3).unwrap();
        s.append(5, &[5; 8]).unwrap();
        assert_eq!(collect(&mut s, 0), [(4, 4), (5, 5)]);
        s.remove_through(5).unwrap();
        assert!(s.is_empty());
        assert_eq!(s.bounds().unwrap(), None);
        assert_eq!(s.free_bytes().unwrap(), 32);
    }

    #[test]
    fn entry_larger_than_the_ring_is_refused() {
        let mut s = RamStorage::<16>::new();
        assert_eq!(s.append(1, &[0; 15]), Err(AppendError::Full));
        s.append(1, &[0; 14]).unwrap();
    }
}
