//! The card table: which card UID belongs to which resident.
//!
//! The terminal provisions it (names stay on the terminal; the kiosk only learns the
//! pseudonymous resident number of each card). Capacity is fixed; a full table refuses
//! new cards with an error instead of dropping old ones.

use crate::drivers::mfrc522::CardUid;
use tcmcare_core::ids::{CareHomeId, ResidentNumber, ResidentRef};

/// Cards one kiosk can know (a care home of a few hundred residents).
pub const MAX_CARDS: usize = 256;

/// Why the table refused a provisioning step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TableError {
    /// [`MAX_CARDS`] cards are already known.
    Full,
    /// Resident number 0 is reserved.
    ResidentZero,
}

/// Card UID -> resident number, for one care home.
#[derive(Debug, Clone)]
pub struct ResidentTable {
    care_home: CareHomeId,
    cards: [Option<(CardUid, ResidentNumber)>; MAX_CARDS],
    len: usize,
}

impl ResidentTable {
    /// An empty table for `care_home`.
    pub const fn new(care_home: CareHomeId) -> Self {
        ResidentTable {
            care_home,
            cards: [None; MAX_CARDS],
            len: 0,
        }
    }

    /// An empty table of no care home yet (all zero, so a static of it costs no flash
    /// for initial values); [`ResidentTable::set_care_home`] assigns it.
    pub const fn unassigned() -> Self {
        Self::new(CareHomeId(0))
    }

    /// Assigns the table to `care_home`. Resident numbers are scoped to a care home, so
    /// a change of care home forgets every card.
    pub fn set_care_home(&mut self, care_home: CareHomeId) {
        if care_home != self.care_home {
            self.cards = [None; MAX_CARDS];
            self.len = 0;
            self.care_home = care_home;
        }
    }

    /// The care home the numbers belong to.
    pub fn care_home(&self) -> CareHomeId {
        self.care_home
    }

    /// Cards known.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no card is known.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Maps `uid` to `resident`, replacing an earlier mapping of the same card (a card
    /// handed to another resident).
    pub fn provision(&mut self, uid: CardUid, resident: ResidentNumber) -> Result<(), TableError> {
        if resident.0 == 0 {
            return Err(TableError::ResidentZero);
        }
        for (u, r) in self.cards[..self.len].iter_mut().flatten() {
            if *u == uid {
                *r = resident;
                return Ok(());
            }
        }
        let slot = self.cards.get_mut(self.len).ok_or(TableError::Full)?;
        *slot = Some((uid, resident));
        self.len += 1;
        Ok(())
    }

    /// Forgets a card (lost, returned). Returns whether it was known.
    pub fn revoke(&mut self, uid: &CardUid) -> bool {
        let Some(pos) = self.cards[..self.len]
            .iter()
            .position(|e| e.is_some_and(|(u, _)| u == *uid))
        else {
            return false;
        };
        self.cards[pos..self.len].rotate_left(1);
        self.len -= 1;
        self.cards[self.len] = None;
        true
    }

    /// The resident holding `uid`, if the card is known.
    pub fn lookup(&self, uid: &CardUid) -> Option<ResidentRef> {
        self.cards[..self.len]
            .iter()
            .flatten()
            .find(|(u, _)| u == uid)
            .map(|&(_, number)| ResidentRef {
                care_home: self.care_home,
                number,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(b: u8) -> CardUid {
        CardUid::new(&[b, 1, 2, 3]).unwrap()
    }

    #[test]
    fn provision_lookup_reassign_revoke() {
        let mut t = ResidentTable::new(CareHomeId(7));
        t.provision(uid(1), ResidentNumber(101)).unwrap();
        t.provision(uid(2), ResidentNumber(102)).unwrap();
        assert_eq!(
            t.lookup(&uid(2)),
            Some(ResidentRef {
                care_home: CareHomeId(7),
                number: ResidentNumber(102)
            })
        );
        assert_eq!(t.lookup(&uid(3)), None);
        t.provision(uid(2), ResidentNumber(103)).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.lookup(&uid(2)).unwrap().number, ResidentNumber(103));
        assert!(t.revoke(&uid(1)));
        assert!(!t.revoke(&uid(1)));
        assert_eq!(t.lookup(&uid(1)), None);
        assert_eq!(t.lookup(&uid(2)).unwrap().number, ResidentNumber(103));
    }

    #[test]
    fn moving_to_another_care_home_forgets_the_cards() {
        let mut t = ResidentTable::unassigned();
        t.set_care_home(CareHomeId(7));
        t.provision(uid(1), ResidentNumber(101)).unwrap();
        t.set_care_home(CareHomeId(7));
        assert_eq!(t.len(), 1);
        t.set_care_home(CareHomeId(8));
        assert!(t.is_empty());
        assert_eq!(t.lookup(&uid(1)), None);
    }

    #[test]
    fn full_table_refuses() {
        let mut t = ResidentTable::new(CareHomeId(1));
        for i in 0..MAX_CARDS as u32 {
            let b = i.to_le_bytes();
            t.provision(CardUid::new(&b).unwrap(), ResidentNumber(i + 1))
                .unwrap();
        }
        assert_eq!(
            t.provision(
                CardUid::new(&[9, 9, 9, 9, 9, 9, 9]).unwrap(),
                ResidentNumber(1)
            ),
            Err(TableError::Full)
        );
        assert_eq!(
            t.provision(uid(1), ResidentNumber(0)),
            Err(TableError::ResidentZero)
        );
    }

    #[test]
    fn seven_byte_uid_is_not_a_prefix_match() {
        let mut t = ResidentTable::new(CareHomeId(1));
        let short = CardUid::new(&[1, 2, 3, 4]).unwrap();
        let long = CardUid::new(&[1, 2, 3, 4, 0, 0, 0]).unwrap();
        t.provision(long, ResidentNumber(5)).unwrap();
        assert_eq!(t.lookup(&short), None);
    }
}
