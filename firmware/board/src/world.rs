//! The scripted world around the kiosk: residents arriving with their cards and what
//! each sensor sees, from a `tcmcare_device_models::cohort::Cohort` (the QEMU test's
//! `scenario::MORNING`, or a kiosk's day of `make demo`).

use tcmcare_device_models::cohort::Cohort;
use tcmcare_device_models::scenario::Visit;
use tcmcare_device_models::{BleBpMonitor, Finger, Hx711, Max30102, Mfrc522, Mlx90614};
use tcmcare_kiosk::kiosk::{Event, State};

use crate::hw::{WorldMemory, W_NEXT_VISIT, W_POWER_CUTS};

/// Pause between two residents, ms.
const GAP_MS: u64 = 300;
/// Cuff time of the blood pressure monitor, ms.
const CUFF_MS: u64 = 2_500;
/// Longest wait for the outbox to drain after the last visit, ms.
const DRAIN_TIMEOUT_MS: u64 = 60_000;

/// The sensor models.
pub struct Models<'c> {
    /// Thermometer.
    pub mlx: Mlx90614,
    /// Pulse oximeter.
    pub max: Max30102<'c>,
    /// Load cell ADC.
    pub hx: Hx711<'c>,
    /// Card reader.
    pub rc: Mfrc522,
    /// Blood pressure monitor.
    pub bpm: BleBpMonitor<'c>,
}

/// What the board should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Keep going.
    Continue,
    /// Cut the power now.
    PowerCut,
    /// Every visit is played and uplinked.
    Done,
    /// The outbox did not drain.
    Stuck,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Between,
    InVisit(usize),
    Draining,
}

/// Plays the cohort's visits.
pub struct World {
    cohort: &'static Cohort,
    phase: Phase,
    since_ms: u64,
    waiting_reported: bool,
}

impl World {
    /// Resumes at the visit after the last one played (kept across power cuts).
    pub fn new(now_ms: u64, cohort: &'static Cohort) -> Self {
        World {
            cohort,
            phase: Phase::Between,
            since_ms: now_ms,
            waiting_reported: false,
        }
    }

    fn next_visit() -> usize {
        WorldMemory::get(W_NEXT_VISIT) as usize
    }

    fn start(&mut self, now_ms: u64, i: usize, v: &Visit, m: &Models<'_>) {
        m.mlx.set_object_raw(v.tobj_raw);
        m.mlx.corrupt_next_pec(v.faults.thermometer_pec_errors);
        m.max.set_finger(v.finger);
        m.hx.set_connected(!v.faults.scale_unplugged);
        m.hx.set_load_g(v.load_g);
        m.bpm.prepare(v.bp, CUFF_MS);
        m.rc.remove_cards();
        m.rc.insert_card(0, v.card);
        defmt::info!("world: visit {=usize} presents card {=[u8]:02x}", i, v.card);
        self.phase = Phase::InVisit(i);
        self.since_ms = now_ms;
    }

    fn finish_visit(&mut self, now_ms: u64, i: usize, m: &Models<'_>) {
        m.rc.remove_cards();
        m.max.set_finger(Finger::Absent);
        m.hx.set_load_g(0);
        m.hx.set_connected(true);
        WorldMemory::set(W_NEXT_VISIT, (i + 1) as u32);
        defmt::info!("world: visit {=usize} done", i);
        self.phase = Phase::Between;
        self.since_ms = now_ms;
    }

    /// Advances the script; `outbox_empty` tells whether everything was acknowledged.
    pub fn step(
        &mut self,
        now_ms: u64,
        state: State,
        outbox_empty: bool,
        m: &Models<'_>,
    ) -> Action {
        match self.phase {
            Phase::Between if state == State::Idle && now_ms >= self.since_ms + GAP_MS => {
                let i = Self::next_visit();
                if self.cohort.wait_for_uplink_before == Some(i) && !outbox_empty {
                    // The residents are at lunch: nothing happens until the kiosk's
                    // records are all acknowledged.
                    if !self.waiting_reported {
                        self.waiting_reported = true;
                        defmt::info!("world: waiting for the uplink before visit {=usize}", i);
                    }
                    return Action::Continue;
                }
                match self.cohort.visits.get(i) {
                    Some(v) => self.start(now_ms, i, v, m),
                    None => {
                        self.phase = Phase::Draining;
                        self.since_ms = now_ms;
                    }
                }
                Action::Continue
            }
            Phase::Draining if outbox_empty => {
                defmt::info!(
                    "world: {=str} done, {=u32} power cut(s)",
                    if self.cohort.name == "morning" {
                        "morning"
                    } else {
                        "day"
                    },
                    WorldMemory::get(W_POWER_CUTS)
                );
                Action::Done
            }
            Phase::Draining if now_ms > self.since_ms + DRAIN_TIMEOUT_MS => Action::Stuck,
            _ => Action::Continue,
        }
    }

    /// Whether every visit is played and the board only waits for the outbox to drain.
    pub fn draining(&self) -> bool {
        matches!(self.phase, Phase::Draining)
    }

    /// Reacts to a kiosk event.
    pub fn on_event(&mut self, now_ms: u64, e: &Event, m: &Models<'_>) -> Action {
        let Phase::InVisit(i) = self.phase else {
            return Action::Continue;
        };
        let Some(v) = self.cohort.visits.get(i) else {
            return Action::Continue;
        };
        match e {
            Event::UnknownCard => self.finish_visit(now_ms, i, m),
            // Once the records are stored the resident walks away: whatever happens to
            // the kiosk now (a power cut, its QEMU process killed), the visit is not
            // played again.
            Event::VisitStored { .. } if v.faults.power_cut_after_push => {
                WorldMemory::set(W_NEXT_VISIT, (i + 1) as u32);
                WorldMemory::set(W_POWER_CUTS, WorldMemory::get(W_POWER_CUTS) + 1);
                defmt::warn!("world: power cut after visit {=usize} was stored", i);
                return Action::PowerCut;
            }
            Event::VisitStored { .. } => WorldMemory::set(W_NEXT_VISIT, (i + 1) as u32),
            Event::Transition {
                to: State::Idle, ..
            } => self.finish_visit(now_ms, i, m),
            _ => {}
        }
        Action::Continue
    }
}
