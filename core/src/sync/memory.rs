//! An in-memory [`ReceiverStore`] (feature `alloc`), for tests and simulations.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::store::{ReceiverStore, RecordStatus, RecordToCommit, SealedReceiverStore, StoreError};
use crate::ids::{DeviceId, Epoch, RecordId};
use crate::record::Header;
use crate::seal::FrameCounter;
use crate::time::UtcSeconds;

/// A committed record as [`MemoryStore`] keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The stream it arrived on: sender device.
    pub stream_device: DeviceId,
    /// The stream's epoch.
    pub stream_epoch: Epoch,
    /// Its position in that stream.
    pub position: u32,
    /// The envelope bytes, unchanged.
    pub envelope: Vec<u8>,
    /// Kind number.
    pub kind: u8,
    /// The header, if readable.
    pub header: Option<Header>,
    /// What the receiver made of it.
    pub status: RecordStatus,
    /// Placed UTC time of a clockless record.
    pub placed_time: Option<UtcSeconds>,
    /// Another record with the same id but different bytes was stored before (an epoch
    /// reused after a wipe): both are kept and this one is flagged.
    pub id_conflict: bool,
}

/// Watermarks and records in memory. Deduplicates by record id: a record whose id is
/// already stored with the same bytes is not stored again.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    watermarks: BTreeMap<(DeviceId, Epoch), u32>,
    records: Vec<StoredRecord>,
    by_id: BTreeMap<RecordId, usize>,
    unavailable: bool,
    duplicates: usize,
    counters: BTreeMap<(DeviceId, Epoch), FrameCounter>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Committed records in commit order.
    pub fn records(&self) -> &[StoredRecord] {
        &self.records
    }

    /// The watermark of a stream (0 if never seen).
    pub fn watermark_of(&self, device: DeviceId, epoch: Epoch) -> u32 {
        self.watermarks.get(&(device, epoch)).copied().unwrap_or(0)
    }

    /// Records not stored again because their id and bytes were already stored.
    pub fn duplicates_skipped(&self) -> usize {
        self.duplicates
    }

    /// The last sealed-frame counter persisted for a stream (the default if none).
    pub fn last_counter_of(&self, device: DeviceId, epoch: Epoch) -> FrameCounter {
        self.counters
            .get(&(device, epoch))
            .copied()
            .unwrap_or_default()
    }

    /// Makes every call fail with [`StoreError::Unavailable`] (to test outages).
    pub fn set_unavailable(&mut self, unavailable: bool) {
        self.unavailable = unavailable;
    }
}

impl ReceiverStore for MemoryStore {
    fn watermark(&mut self, device: DeviceId, epoch: Epoch) -> Result<u32, StoreError> {
        if self.unavailable {
            return Err(StoreError::Unavailable);
        }
        Ok(self.watermark_of(device, epoch))
    }

    fn commit(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        first_position: u32,
        records: &[RecordToCommit<'_>],
        new_watermark: u32,
    ) -> Result<(), StoreError> {
        if self.unavailable {
            return Err(StoreError::Unavailable);
        }
        let current = self.watermark_of(device, epoch);
        let consistent = current.checked_add(1) == Some(first_position)
            && current.checked_add(records.len() as u32) == Some(new_watermark)
            && records
                .iter()
                .enumerate()
                .all(|(i, r)| first_position.checked_add(i as u32) == Some(r.position));
        if !consistent {
            return Err(StoreError::Conflict);
        }
        self.records.reserve(records.len());
        for r in records {
            let mut id_conflict = false;
            if let Some(id) = r.header.map(|h| h.id) {
                if let Some(&i) = self.by_id.get(&id) {
                    if self
                        .records
                        .get(i)
                        .is_some_and(|s| s.envelope == r.envelope)
                    {
                        self.duplicates += 1;
                        continue;
                    }
                    id_conflict = true;
                } else {
                    self.by_id.insert(id, self.records.len());
                }
            }
            self.records.push(StoredRecord {
                stream_device: device,
                stream_epoch: epoch,
                position: r.position,
                envelope: r.envelope.to_vec(),
                kind: r.kind,
                header: r.header,
                status: r.status,
                placed_time: r.placed_time,
                id_conflict,
            });
        }
        self.watermarks.insert((device, epoch), new_watermark);
        Ok(())
    }
}

impl SealedReceiverStore for MemoryStore {
    fn last_counter(&mut self, device: DeviceId, epoch: Epoch) -> Result<FrameCounter, StoreError> {
        if self.unavailable {
            return Err(StoreError::Unavailable);
        }
        Ok(self.last_counter_of(device, epoch))
    }

    fn note_counter(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        counter: FrameCounter,
    ) -> Result<(), StoreError> {
        if self.unavailable {
            return Err(StoreError::Unavailable);
        }
        let c = self.counters.entry((device, epoch)).or_default();
        *c = (*c).max(counter);
        Ok(())
    }

    fn commit_sealed(
        &mut self,
        device: DeviceId,
        epoch: Epoch,
        first_position: u32,
        records: &[RecordToCommit<'_>],
        new_watermark: u32,
        counter: FrameCounter,
    ) -> Result<(), StoreError> {
        // `commit` changes nothing when it fails, so records and counter land together.
        self.commit(device, epoch, first_position, records, new_watermark)?;
        let c = self.counters.entry((device, epoch)).or_default();
        *c = (*c).max(counter);
        Ok(())
    }
}
