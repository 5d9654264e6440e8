//! Policy KPIs: coverage of TCM health management in a reporting year, per care home and
//! in total (DOMAIN.md 1.1; targets from the district work plan in `seeds/`).
//!
//! Four indicators ([`Indicator`]):
//! - **elderly** (老年人中医药健康管理率): residents aged [`ELDERLY_MIN_AGE_YEARS`] or more
//!   served with a constitution identification *and* health guidance recorded in the
//!   year, over the residents aged 65+ (district target [`ELDERLY_TARGET_PERCENT`] %);
//! - **hypertension**, **diabetes** (高血压、糖尿病中医健康管理率): registered residents
//!   with the condition who had a TCM chronic-disease follow-up of that condition with
//!   guidance or an intervention in the year (target [`CHRONIC_TARGET_PERCENT`] %);
//! - **stroke high-risk** (脑卒中高危人群中医健康管理率): the same for stroke high-risk
//!   residents (target [`STROKE_HIGH_RISK_TARGET_PERCENT`] %).
//!
//! Rules, in the order they apply:
//! 1. **Corrections.** A record targeted by a correction in force (void or amend) is
//!    *superseded* and counts for nothing; an amendment's replacement is an ordinary record
//!    and counts on its own. A correction is in force unless it is itself superseded, so
//!    voiding a void restores its target. (Honest devices only correct earlier records,
//!    so chains end; a cycle in corrupt data is broken deterministically, in record-id
//!    order, without looping.)
//! 2. **Reporting year.** Dates are taken in China Standard Time (UTC+8): a record counts
//!    for year `Y` when its time falls on a date of `Y` there. A record whose time is
//!    unknown cannot be placed in a year and is not counted ([`CoverageReport::unplaced`]
//!    says how many); the receiver places such records first.
//! 3. **Residents.** A resident is described by the *latest registration in force* (by
//!    time, then record id) made on or before the last day of the year; only residents
//!    whose latest registration is [`ResidencyStatus::Active`] are counted. The elderly
//!    denominator takes residents aged 65+ on [`AGE_REFERENCE_MONTH`]/[`AGE_REFERENCE_DAY`]
//!    of the year; the chronic-disease denominators take residents of any age registered
//!    with the condition.
//! 4. **Served** residents are counted once however many services they had, and only when
//!    they are in the indicator's denominator, so a rate never exceeds 100 %.
//!
//! Records are fed one at a time to a [`CoverageBuilder`] that keeps only the few fields
//! it needs, so a whole database can stream through it.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::fmt;

use crate::ids::{CareHomeId, RecordId, ResidentRef};
use crate::record::{Body, ChronicCondition, Record, ResidencyStatus, ResidentRegistration};
use crate::time::{Date, Timestamp, UtcSeconds};

/// Age from which a resident is in the elderly indicator: "65 岁及以上常住居民"
/// (DOMAIN.md 1.1).
pub const ELDERLY_MIN_AGE_YEARS: u16 = 65;

/// Month of the day on which ages are taken for a reporting year: 31 December.
///
/// The national indicator counts "年内辖区内65岁及以上常住居民" (residents aged 65+ in the
/// year) without naming a day. Taking the age at the end of the year counts everybody who
/// reaches 65 during the year, which is when the annual service first falls due for them;
/// an earlier reference day would leave residents who turn 65 in the year out of every
/// year's denominator.
pub const AGE_REFERENCE_MONTH: u8 = 12;
/// Day of [`AGE_REFERENCE_MONTH`] on which ages are taken (31 December, see there).
pub const AGE_REFERENCE_DAY: u8 = 31;

/// District target for the elderly TCM health management rate, percent:
/// "老年人、儿童和妇女中医健康管理率达到70%" (seeds/jingan-2020-tcm-work-plan.txt, item 12,
/// 2020年静安区中医药工作要点).
pub const ELDERLY_TARGET_PERCENT: u8 = 70;

/// District target for the hypertension and the diabetes TCM health management rates,
/// percent: "各社区高血压、糖尿病中医健康管理率达到95%" (seeds/jingan-2020-tcm-work-plan.txt,
/// item 12).
pub const CHRONIC_TARGET_PERCENT: u8 = 95;

/// District target for the stroke high-risk TCM health management rate, percent:
/// "脑卒中高危人群中医健康管理率达到90%" (seeds/jingan-2020-tcm-work-plan.txt, item 12).
pub const STROKE_HIGH_RISK_TARGET_PERCENT: u8 = 90;

/// Number of indicators.
pub const INDICATOR_COUNT: usize = 4;

/// A coverage indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Indicator {
    /// 老年人中医药健康管理率.
    Elderly = 0,
    /// 高血压患者中医健康管理率.
    Hypertension = 1,
    /// 糖尿病患者中医健康管理率.
    Diabetes = 2,
    /// 脑卒中高危人群中医健康管理率.
    StrokeHighRisk = 3,
}

impl Indicator {
    /// All indicators in report order.
    pub const ALL: [Indicator; INDICATOR_COUNT] = [
        Indicator::Elderly,
        Indicator::Hypertension,
        Indicator::Diabetes,
        Indicator::StrokeHighRisk,
    ];

    /// Stable snake_case name: `"elderly"`, `"hypertension"`, `"diabetes"`,
    /// `"stroke_high_risk"`.
    pub const fn name(self) -> &'static str {
        match self {
            Indicator::Elderly => "elderly",
            Indicator::Hypertension => "hypertension",
            Indicator::Diabetes => "diabetes",
            Indicator::StrokeHighRisk => "stroke_high_risk",
        }
    }

    /// The indicator's Chinese name.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Indicator::Elderly => "老年人中医药健康管理率",
            Indicator::Hypertension => "高血压患者中医健康管理率",
            Indicator::Diabetes => "糖尿病患者中医健康管理率",
            Indicator::StrokeHighRisk => "脑卒中高危人群中医健康管理率",
        }
    }

    /// The indicator's English name.
    pub const fn name_en(self) -> &'static str {
        match self {
            Indicator::Elderly => "TCM health management rate, residents aged 65+",
            Indicator::Hypertension => "TCM health management rate, hypertension",
            Indicator::Diabetes => "TCM health management rate, diabetes",
            Indicator::StrokeHighRisk => "TCM health management rate, stroke high-risk",
        }
    }

    /// The district target in percent.
    pub const fn target_percent(self) -> u8 {
        match self {
            Indicator::Elderly => ELDERLY_TARGET_PERCENT,
            Indicator::Hypertension | Indicator::Diabetes => CHRONIC_TARGET_PERCENT,
            Indicator::StrokeHighRisk => STROKE_HIGH_RISK_TARGET_PERCENT,
        }
    }

    /// The chronic condition of a chronic-disease indicator; `None` for the elderly one.
    pub const fn condition(self) -> Option<ChronicCondition> {
        match self {
            Indicator::Elderly => None,
            Indicator::Hypertension => Some(ChronicCondition::Hypertension),
            Indicator::Diabetes => Some(ChronicCondition::Diabetes),
            Indicator::StrokeHighRisk => Some(ChronicCondition::StrokeHighRisk),
        }
    }

    /// The indicator of a chronic condition.
    pub const fn of_condition(c: ChronicCondition) -> Indicator {
        match c {
            ChronicCondition::Hypertension => Indicator::Hypertension,
            ChronicCondition::Diabetes => Indicator::Diabetes,
            ChronicCondition::StrokeHighRisk => Indicator::StrokeHighRisk,
        }
    }
}

/// Residents eligible for an indicator and those of them served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Coverage {
    /// Residents in the denominator.
    pub eligible: u32,
    /// Residents of the denominator served in the year (never more than `eligible`).
    pub served: u32,
}

impl Coverage {
    /// `served / eligible` in basis points (1/100 of a percent), rounded half up;
    /// `None` when nobody is eligible.
    pub fn rate_basis_points(&self) -> Option<u32> {
        let e = u64::from(self.eligible);
        if e == 0 {
            return None;
        }
        let r = (u64::from(self.served) * 20_000 + e) / (2 * e);
        u32::try_from(r).ok()
    }

    /// Whether the rate reaches `target_percent` (exactly, without rounding); `None` when
    /// nobody is eligible.
    pub fn meets(&self, target_percent: u8) -> Option<bool> {
        (self.eligible > 0).then(|| {
            u64::from(self.served) * 100 >= u64::from(target_percent) * u64::from(self.eligible)
        })
    }

    fn add(&mut self, other: Coverage) {
        self.eligible = self.eligible.saturating_add(other.eligible);
        self.served = self.served.saturating_add(other.served);
    }
}

/// The four indicators of one care home (or of all together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IndicatorSet(pub [Coverage; INDICATOR_COUNT]);

impl IndicatorSet {
    /// The coverage of one indicator.
    pub fn get(&self, i: Indicator) -> Coverage {
        self.0.get(i as usize).copied().unwrap_or_default()
    }

    fn get_mut(&mut self, i: Indicator) -> Option<&mut Coverage> {
        self.0.get_mut(i as usize)
    }
}

/// Coverage of one care home.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CareHomeCoverage {
    /// The care home.
    pub care_home: CareHomeId,
    /// Its indicators.
    pub indicators: IndicatorSet,
}

/// The coverage report of a year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageReport {
    /// The reporting year.
    pub year: u16,
    /// All care homes together.
    pub total: IndicatorSet,
    /// Per care home, in care-home id order (homes with at least one registered resident).
    pub care_homes: Vec<CareHomeCoverage>,
    /// Records with an unknown time, which could not be placed in any year.
    pub unplaced: u32,
}

/// Why a report cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KpiError {
    /// The year is outside the calendar this library handles (1900..=2099).
    InvalidYear(u16),
}

impl fmt::Display for KpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KpiError::InvalidYear(y) => write!(f, "reporting year {y} outside 1900..=2099"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for KpiError {}

/// What the builder keeps of a service record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    /// Constitution identification with guidance in the year.
    Elderly,
    /// Chronic-disease follow-up with guidance or intervention in the year.
    FollowUp(ChronicCondition),
}

/// What the builder keeps of a registration.
#[derive(Debug, Clone, Copy)]
struct Registration {
    id: RecordId,
    resident: ResidentRef,
    time: UtcSeconds,
    registration: ResidentRegistration,
}

/// Accumulates the records of a reporting year; [`CoverageBuilder::finish`] applies the
/// rules of the module documentation.
#[derive(Debug, Clone)]
pub struct CoverageBuilder {
    year: u16,
    year_end: Date,
    registrations: Vec<Registration>,
    services: Vec<(RecordId, ResidentRef, Service)>,
    /// Correction id → target id.
    corrections: BTreeMap<RecordId, RecordId>,
    unplaced: u32,
}

impl CoverageBuilder {
    /// A builder for reporting year `year`.
    pub fn new(year: u16) -> Result<CoverageBuilder, KpiError> {
        let year_end = Date::new(year, AGE_REFERENCE_MONTH, AGE_REFERENCE_DAY)
            .map_err(|_| KpiError::InvalidYear(year))?;
        Ok(CoverageBuilder {
            year,
            year_end,
            registrations: Vec::new(),
            services: Vec::new(),
            corrections: BTreeMap::new(),
            unplaced: 0,
        })
    }

    /// Takes one record into account (any kind, any year; duplicates are harmless).
    pub fn add(&mut self, record: &Record) {
        let h = &record.header;
        if let Body::Correction(c) = &record.body {
            // Corrections apply whatever their time.
            self.corrections.insert(h.id, c.target);
            return;
        }
        let time = match h.time {
            Timestamp::Utc(t) => t,
            Timestamp::Unknown { .. } => {
                if matches!(
                    record.body,
                    Body::Resident(_) | Body::Constitution(_) | Body::FollowUp(_)
                ) {
                    self.unplaced = self.unplaced.saturating_add(1);
                }
                return;
            }
        };
        let date = time.china_date();
        match &record.body {
            Body::Resident(r) if date <= self.year_end => self.registrations.push(Registration {
                id: h.id,
                resident: h.resident,
                time,
                registration: *r,
            }),
            Body::Constitution(c) if date.year() == self.year && c.guidance_given() => {
                self.services.push((h.id, h.resident, Service::Elderly));
            }
            Body::FollowUp(f)
                if date.year() == self.year
                    && (!f.guidance.is_empty() || !f.interventions.is_empty()) =>
            {
                self.services
                    .push((h.id, h.resident, Service::FollowUp(f.condition)));
            }
            _ => {}
        }
    }

    /// Applies corrections, picks each resident's registration and counts.
    pub fn finish(self) -> CoverageReport {
        let superseded = superseded_by(&self.corrections);

        // Latest registration in force per resident, by (time, id).
        let mut latest: BTreeMap<ResidentRef, Registration> = BTreeMap::new();
        for r in self
            .registrations
            .iter()
            .filter(|r| !superseded.contains(&r.id))
        {
            let newer = match latest.get(&r.resident) {
                None => true,
                Some(cur) => (r.time, r.id) > (cur.time, cur.id),
            };
            if newer {
                latest.insert(r.resident, *r);
            }
        }

        // Denominators: resident → set of indicators they are eligible for.
        let mut eligible: BTreeMap<ResidentRef, [bool; INDICATOR_COUNT]> = BTreeMap::new();
        for (resident, r) in &latest {
            let reg = &r.registration;
            if reg.status != ResidencyStatus::Active {
                continue;
            }
            let mut e = [false; INDICATOR_COUNT];
            for (slot, i) in e.iter_mut().zip(Indicator::ALL) {
                *slot = match i.condition() {
                    None => reg.age_on(self.year_end) >= ELDERLY_MIN_AGE_YEARS,
                    Some(c) => reg.conditions.contains(c.flag()),
                };
            }
            eligible.insert(*resident, e);
        }

        // Numerators: distinct (resident, indicator) pairs served.
        let mut served: BTreeSet<(ResidentRef, Indicator)> = BTreeSet::new();
        for (id, resident, service) in &self.services {
            if superseded.contains(id) {
                continue;
            }
            let indicator = match service {
                Service::Elderly => Indicator::Elderly,
                Service::FollowUp(c) => Indicator::of_condition(*c),
            };
            let is_eligible = eligible
                .get(resident)
                .and_then(|e| e.get(indicator as usize))
                .copied()
                .unwrap_or(false);
            if is_eligible {
                served.insert((*resident, indicator));
            }
        }

        let mut homes: BTreeMap<CareHomeId, IndicatorSet> = BTreeMap::new();
        for (resident, e) in &eligible {
            let set = homes.entry(resident.care_home).or_default();
            for (flag, i) in e.iter().zip(Indicator::ALL) {
                if !*flag {
                    continue;
                }
                if let Some(c) = set.get_mut(i) {
                    c.eligible = c.eligible.saturating_add(1);
                    if served.contains(&(*resident, i)) {
                        c.served = c.served.saturating_add(1);
                    }
                }
            }
        }
        let mut total = IndicatorSet::default();
        for set in homes.values() {
            for (t, c) in total.0.iter_mut().zip(set.0) {
                t.add(c);
            }
        }
        CoverageReport {
            year: self.year,
            total,
            care_homes: homes
                .into_iter()
                .map(|(care_home, indicators)| CareHomeCoverage {
                    care_home,
                    indicators,
                })
                .collect(),
            unplaced: self.unplaced,
        }
    }
}

/// The coverage report of `year` over `records` (see the module documentation).
pub fn coverage_report<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    year: u16,
) -> Result<CoverageReport, KpiError> {
    let mut b = CoverageBuilder::new(year)?;
    for r in records {
        b.add(r);
    }
    Ok(b.finish())
}

/// The ids of the records superseded by the corrections in `records` (rule 1 of the
/// module documentation): what a current view of the records leaves out.
pub fn superseded<'a>(records: impl IntoIterator<Item = &'a Record>) -> BTreeSet<RecordId> {
    let corrections: BTreeMap<RecordId, RecordId> = records
        .into_iter()
        .filter_map(|r| match &r.body {
            Body::Correction(c) => Some((r.header.id, c.target)),
            _ => None,
        })
        .collect();
    superseded_by(&corrections)
}

/// Resolves corrections (correction id → target id): a correction is in force unless a
/// correction in force targets it; a target of a correction in force is superseded.
fn superseded_by(corrections: &BTreeMap<RecordId, RecordId>) -> BTreeSet<RecordId> {
    let mut targeted_by: BTreeMap<RecordId, Vec<RecordId>> = BTreeMap::new();
    for (c, t) in corrections {
        targeted_by.entry(*t).or_default().push(*c);
    }
    let mut in_force: BTreeMap<RecordId, bool> = BTreeMap::new();
    let mut visiting: BTreeSet<RecordId> = BTreeSet::new();
    let mut stack: Vec<(RecordId, usize)> = Vec::new();
    for root in corrections.keys() {
        if in_force.contains_key(root) {
            continue;
        }
        visiting.insert(*root);
        stack.push((*root, 0));
        while let Some(&(node, i)) = stack.last() {
            let attacker = targeted_by.get(&node).and_then(|a| a.get(i)).copied();
            let resolved = match attacker {
                // Every correction of `node` is resolved and none is in force.
                None => Some(true),
                Some(a) => match in_force.get(&a) {
                    Some(true) => Some(false),
                    Some(false) => None,
                    // A cycle: the correction under evaluation does not defeat `node`.
                    None if visiting.contains(&a) => None,
                    None => {
                        visiting.insert(a);
                        stack.push((a, 0));
                        continue;
                    }
                },
            };
            match resolved {
                Some(value) => {
                    in_force.insert(node, value);
                    visiting.remove(&node);
                    stack.pop();
                }
                None => {
                    if let Some(top) = stack.last_mut() {
                        top.1 += 1;
                    }
                }
            }
        }
    }
    corrections
        .iter()
        .filter(|(c, _)| in_force.get(c).copied().unwrap_or(false))
        .map(|(_, t)| *t)
        .collect()
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::codes::technique::Technique;
    use crate::constitution::{Constitution, GuidanceCategory, GuidanceSet};
    use crate::ids::{DeviceId, Epoch, ResidentNumber, Seq, Sex, StaffId};
    use crate::record::{
        ChronicConditions, ConditionControl, ConsentFlags, ConstitutionRecord, Correction,
        CorrectionAction, CorrectionReason, FollowUp, GuidanceGiven, Header, VitalSigns,
    };
    use crate::time::{UtcSeconds, MIN_VALID_UTC};
    use std::vec::Vec;

    const DAY: u64 = 86_400;
    /// 2026-01-01T00:00:00 China time = 2025-12-31T16:00:00Z.
    /// Days 2024-01-01 → 2026-01-01: 366 + 365 = 731.
    const Y2026_START_CST: u64 = MIN_VALID_UTC + 731 * DAY - 8 * 3600;
    /// 2026-06-01T12:00Z: days from 2026-01-01: 31+28+31+30+31 = 151.
    const MID_2026: u64 = MIN_VALID_UTC + (731 + 151) * DAY + 12 * 3600;
    const MID_2025: u64 = MIN_VALID_UTC + (366 + 151) * DAY;

    struct Cohort {
        records: Vec<Record>,
        seq: u32,
    }

    impl Cohort {
        fn new() -> Self {
            Cohort {
                records: Vec::new(),
                seq: 0,
            }
        }

        fn header(&mut self, home: u32, resident: u32, unix: u64) -> Header {
            self.seq += 1;
            Header {
                id: RecordId {
                    device: DeviceId(1),
                    epoch: Epoch(1),
                    seq: Seq(self.seq),
                },
                resident: ResidentRef {
                    care_home: CareHomeId(home),
                    number: ResidentNumber(resident),
                },
                time: Timestamp::Utc(UtcSeconds::new(unix).unwrap()),
            }
        }

        fn push(&mut self, header: Header, body: Body) -> RecordId {
            let r = Record { header, body };
            r.validate().unwrap();
            self.records.push(r);
            header.id
        }

        fn register_at(
            &mut self,
            home: u32,
            resident: u32,
            born: (u16, u8, u8),
            conditions: u8,
            status: ResidencyStatus,
            unix: u64,
        ) -> RecordId {
            let h = self.header(home, resident, unix);
            self.push(
                h,
                Body::Resident(ResidentRegistration {
                    birth_date: Date::new(born.0, born.1, born.2).unwrap(),
                    sex: Sex::Female,
                    conditions: ChronicConditions::from_bits(conditions).unwrap(),
                    consent: ConsentFlags::from_bits(1).unwrap(),
                    status,
                }),
            )
        }

        fn register(&mut self, home: u32, resident: u32, born: (u16, u8, u8), c: u8) -> RecordId {
            self.register_at(home, resident, born, c, ResidencyStatus::Active, MID_2025)
        }

        /// A 气虚 assessment (items 2, 3, 4, 14 = 3 → 12 → 是) with or without guidance.
        fn assess(&mut self, home: u32, resident: u32, unix: u64, guided: bool) -> RecordId {
            let h = self.header(home, resident, unix);
            let mut answers = [1u8; 33];
            for item in [2, 3, 4, 14] {
                answers[item - 1] = 3;
            }
            let mut guidance = heapless::Vec::new();
            if guided {
                let mut cats = GuidanceSet::empty();
                cats.insert(GuidanceCategory::Diet);
                guidance
                    .push(GuidanceGiven {
                        constitution: Constitution::Qixu,
                        categories: cats,
                        other: heapless::String::new(),
                    })
                    .unwrap();
            }
            self.push(
                h,
                Body::Constitution(ConstitutionRecord {
                    answers,
                    assessor: StaffId(5),
                    guidance,
                }),
            )
        }

        fn follow_up(
            &mut self,
            home: u32,
            resident: u32,
            c: ChronicCondition,
            unix: u64,
        ) -> RecordId {
            let h = self.header(home, resident, unix);
            let mut interventions = heapless::Vec::new();
            interventions.push(Technique::Baduanjin).unwrap();
            self.push(
                h,
                Body::FollowUp(FollowUp {
                    condition: c,
                    control: ConditionControl::Satisfactory,
                    guidance: GuidanceSet::empty(),
                    interventions,
                    next_visit: None,
                    clinician: StaffId(6),
                }),
            )
        }

        fn correct(&mut self, target: RecordId, action: CorrectionAction) -> RecordId {
            let h = self.header(3101, 1, MID_2026);
            self.push(
                h,
                Body::Correction(Correction {
                    target,
                    action,
                    reason: CorrectionReason::EntryError,
                    note: heapless::String::new(),
                }),
            )
        }

        fn report(&self, year: u16) -> CoverageReport {
            coverage_report(&self.records, year).unwrap()
        }
    }

    const HT: u8 = ChronicConditions::HYPERTENSION;
    const DM: u8 = ChronicConditions::DIABETES;
    const ST: u8 = ChronicConditions::STROKE_HIGH_RISK;

    fn cov(eligible: u32, served: u32) -> Coverage {
        Coverage { eligible, served }
    }

    /// The hand-built cohort, reporting year 2026 (ages on 2026-12-31):
    ///
    /// Care home 3101:
    /// - r1 born 1950-01-01 (76), HT: assessed with guidance 2026-06 → elderly served;
    ///   HT follow-up 2026 → HT served.
    /// - r2 born 1961-12-31 (65 on 2026-12-31, counts): assessed *without* guidance →
    ///   not served.
    /// - r3 born 1962-01-01 (64 on 2026-12-31): not elderly; DM with a DM follow-up →
    ///   DM served.
    /// - r4 born 1940-05-05 (86), HT + stroke: assessed with guidance in 2025 only → not
    ///   served in 2026; HT follow-up whose record is voided → HT not served; stroke
    ///   follow-up → stroke served.
    /// - r5 born 1945-03-03 (81), discharged (latest registration) → in no denominator,
    ///   although assessed with guidance.
    /// - r6 born 1950-02-02 (76): assessed with guidance at 2026-01-01T00:30 China time
    ///   (= 2025-12-31T16:30Z) → counts for 2026; a second assessment the same year does
    ///   not count twice.
    ///
    /// Care home 3102:
    /// - r1 born 1955-07-07 (71), DM: served twice (guided assessment, DM follow-up) but
    ///   first registered as HT, then amended: the replacement registration (DM only) is
    ///   in force → HT denominator 0 here, DM 1/1.
    /// - r2 born 1930-10-10 (96): first registered discharged in 2025, re-registered
    ///   active in 2026 → eligible, not served.
    /// - r3 born 1958-08-08 (68), DM: a DM follow-up at 2026-12-31T16:30Z = 2027-01-01
    ///   China time → not 2026; a guided assessment whose void is itself voided → served.
    ///
    /// Elderly: 3101 eligible r1, r2, r4, r6 = 4, served r1, r6 = 2 → 50 %;
    ///          3102 eligible r1, r2, r3 = 3, served r1, r3 = 2 → 66.67 %;
    ///          total 4 of 7 = 57.14 % < 70 %.
    /// Hypertension: 3101 r1, r4 → served r1 → 1/2; 3102 none → total 1/2 = 50 %.
    /// Diabetes: 3101 r3 served → 1/1; 3102 r1 served, r3 not → 1/2; total 2/3 = 66.67 %.
    /// Stroke: 3101 r4 served → 1/1 = 100 % ≥ 90 %.
    fn cohort() -> Cohort {
        let mut c = Cohort::new();
        c.register(3101, 1, (1950, 1, 1), HT);
        c.assess(3101, 1, MID_2026, true);
        c.follow_up(3101, 1, ChronicCondition::Hypertension, MID_2026);

        c.register(3101, 2, (1961, 12, 31), 0);
        c.assess(3101, 2, MID_2026, false);

        c.register(3101, 3, (1962, 1, 1), DM);
        c.assess(3101, 3, MID_2026, true);
        c.follow_up(3101, 3, ChronicCondition::Diabetes, MID_2026);

        c.register(3101, 4, (1940, 5, 5), HT | ST);
        c.assess(3101, 4, MID_2025, true);
        let ht = c.follow_up(3101, 4, ChronicCondition::Hypertension, MID_2026);
        c.correct(ht, CorrectionAction::Void);
        c.follow_up(3101, 4, ChronicCondition::StrokeHighRisk, MID_2026);

        c.register(3101, 5, (1945, 3, 3), 0);
        c.register_at(
            3101,
            5,
            (1945, 3, 3),
            0,
            ResidencyStatus::Discharged,
            MID_2026,
        );
        c.assess(3101, 5, MID_2026 - 100 * DAY, true);

        c.register(3101, 6, (1950, 2, 2), 0);
        c.assess(3101, 6, Y2026_START_CST + 30 * 60, true);
        c.assess(3101, 6, MID_2026, true);

        let wrong = c.register(3102, 1, (1955, 7, 7), HT);
        let right = c.register(3102, 1, (1955, 7, 7), DM);
        c.correct(wrong, CorrectionAction::Amend { replacement: right });
        c.assess(3102, 1, MID_2026, true);
        c.follow_up(3102, 1, ChronicCondition::Diabetes, MID_2026);

        c.register_at(
            3102,
            2,
            (1930, 10, 10),
            0,
            ResidencyStatus::Discharged,
            MID_2025,
        );
        c.register_at(
            3102,
            2,
            (1930, 10, 10),
            0,
            ResidencyStatus::Active,
            MID_2026,
        );

        c.register(3102, 3, (1958, 8, 8), DM);
        c.follow_up(
            3102,
            3,
            ChronicCondition::Diabetes,
            Y2026_START_CST + 365 * DAY + 30 * 60,
        );
        let a = c.assess(3102, 3, MID_2026, true);
        let void = c.correct(a, CorrectionAction::Void);
        c.correct(void, CorrectionAction::Void);
        c
    }

    #[test]
    fn hand_built_cohort_has_the_hand_counted_rates() {
        let r = cohort().report(2026);
        assert_eq!(r.year, 2026);
        assert_eq!(r.care_homes.len(), 2);
        let h1 = r.care_homes[0];
        let h2 = r.care_homes[1];
        assert_eq!(h1.care_home, CareHomeId(3101));
        assert_eq!(h1.indicators.get(Indicator::Elderly), cov(4, 2));
        assert_eq!(h1.indicators.get(Indicator::Hypertension), cov(2, 1));
        assert_eq!(h1.indicators.get(Indicator::Diabetes), cov(1, 1));
        assert_eq!(h1.indicators.get(Indicator::StrokeHighRisk), cov(1, 1));
        assert_eq!(h2.care_home, CareHomeId(3102));
        assert_eq!(h2.indicators.get(Indicator::Elderly), cov(3, 2));
        assert_eq!(h2.indicators.get(Indicator::Hypertension), cov(0, 0));
        assert_eq!(h2.indicators.get(Indicator::Diabetes), cov(2, 1));
        assert_eq!(h2.indicators.get(Indicator::StrokeHighRisk), cov(0, 0));

        let t = r.total;
        assert_eq!(t.get(Indicator::Elderly), cov(7, 4));
        assert_eq!(t.get(Indicator::Hypertension), cov(2, 1));
        assert_eq!(t.get(Indicator::Diabetes), cov(3, 2));
        assert_eq!(t.get(Indicator::StrokeHighRisk), cov(1, 1));

        // 4/7 = 57.142..% → 5714 bp, below 70 %; 2/3 = 66.67 %; 1/1 = 100 % ≥ 90 %.
        assert_eq!(t.get(Indicator::Elderly).rate_basis_points(), Some(5714));
        assert_eq!(t.get(Indicator::Elderly).meets(70), Some(false));
        assert_eq!(t.get(Indicator::Diabetes).rate_basis_points(), Some(6667));
        assert_eq!(
            t.get(Indicator::StrokeHighRisk)
                .meets(Indicator::StrokeHighRisk.target_percent()),
            Some(true)
        );
        assert_eq!(
            h2.indicators
                .get(Indicator::Hypertension)
                .rate_basis_points(),
            None
        );
        assert_eq!(h2.indicators.get(Indicator::Hypertension).meets(95), None);
        assert_eq!(r.unplaced, 0);
    }

    #[test]
    fn the_year_before_counts_other_services() {
        // 2025 (ages on 2025-12-31): registrations made in 2026 are not yet in force, so
        // 3101 r5 is active and 3102 r2 discharged; only 3101 r4 was served (assessed
        // with guidance in 2025).
        // Elderly eligible: 3101 r1 (75), r2 (64: no), r4 (85), r5 (80), r6 (75) = 4;
        // 3102 r1 (70), r3 (67) = 2 (r2 discharged) → 1/6.
        let r = cohort().report(2025);
        assert_eq!(r.total.get(Indicator::Elderly), cov(6, 1));
        // No follow-ups in 2025: HT eligible 3101 r1, r4 (3102 r1's HT registration is
        // amended away) → 0/2.
        assert_eq!(r.total.get(Indicator::Hypertension), cov(2, 0));
    }

    #[test]
    fn targets_come_from_the_work_plan() {
        // seeds/jingan-2020-tcm-work-plan.txt item 12: 高血压、糖尿病 95%; 老年人 70%;
        // 脑卒中高危人群 90%.
        assert_eq!(Indicator::Elderly.target_percent(), 70);
        assert_eq!(Indicator::Hypertension.target_percent(), 95);
        assert_eq!(Indicator::Diabetes.target_percent(), 95);
        assert_eq!(Indicator::StrokeHighRisk.target_percent(), 90);
        assert_eq!(ELDERLY_MIN_AGE_YEARS, 65);
    }

    #[test]
    fn meets_is_exact_at_the_boundary() {
        // 19/20 = 95 % exactly meets 95; 189/200 = 94.5 % does not, although it rounds
        // to 95 % at whole percents.
        assert_eq!(cov(20, 19).meets(95), Some(true));
        assert_eq!(cov(200, 189).meets(95), Some(false));
        assert_eq!(cov(200, 189).rate_basis_points(), Some(9450));
        // 2/3 = 6666.67 bp → 6667; 1/3 → 3333.
        assert_eq!(cov(3, 1).rate_basis_points(), Some(3333));
        assert_eq!(cov(u32::MAX, u32::MAX).rate_basis_points(), Some(10_000));
    }

    #[test]
    fn unknown_times_are_not_placed() {
        let mut c = Cohort::new();
        c.register(3101, 1, (1950, 1, 1), 0);
        let mut h = c.header(3101, 1, MID_2026);
        h.time = Timestamp::Unknown {
            boot: 3,
            uptime_s: 10,
        };
        let a = c.assess(3101, 1, MID_2026, true);
        let rec = c.records.iter_mut().find(|r| r.header.id == a).unwrap();
        rec.header.time = h.time;
        // A vitals record with unknown time is irrelevant to the KPIs and not counted.
        let mut v = c.header(3101, 1, MID_2026);
        v.time = h.time;
        c.records.push(Record {
            header: v,
            body: Body::Vitals(VitalSigns {
                pulse_per_min: Some(70),
                ..VitalSigns::default()
            }),
        });
        let r = c.report(2026);
        assert_eq!(r.total.get(Indicator::Elderly), cov(1, 0));
        assert_eq!(r.unplaced, 1);
    }

    #[test]
    fn correction_cycles_terminate() {
        // Corrupt data: three corrections voiding each other in a ring, and a long chain.
        let mut c = Cohort::new();
        c.register(3101, 1, (1950, 1, 1), 0);
        let a = c.assess(3101, 1, MID_2026, true);
        let id = |seq| RecordId {
            device: DeviceId(9),
            epoch: Epoch(1),
            seq: Seq(seq),
        };
        let mut corrections = BTreeMap::new();
        corrections.insert(id(1), id(2));
        corrections.insert(id(2), id(3));
        corrections.insert(id(3), id(1));
        let s = superseded_by(&corrections);
        // Deterministic, from the lowest id: 9/1/1 is attacked by 9/1/3, which is
        // attacked by 9/1/2, whose attacker 9/1/1 is on the stack: 9/1/2 is in force,
        // so 9/1/3 is not, so 9/1/1 is. The targets of 9/1/1 and 9/1/2 are superseded.
        assert_eq!(s, [id(2), id(3)].into_iter().collect());
        // A chain of 10 000 voids of voids (9/1/n voids 9/1/(n-1), 9/1/1 voids the
        // assessment): 9/1/10000 is in force, 9/1/9999 not, ... every even one in force,
        // so the odd ones 9/1/9999, ..., 9/1/1 are superseded (5 000 of them) and the
        // assessment stands.
        let mut chain = BTreeMap::new();
        chain.insert(id(1), a);
        for n in 2..=10_000 {
            chain.insert(id(n), id(n - 1));
        }
        let s = superseded_by(&chain);
        assert!(!s.contains(&a));
        assert!(s.contains(&id(1)));
        assert!(s.contains(&id(9_999)));
        assert!(!s.contains(&id(10_000)));
        assert_eq!(s.len(), 5_000);
    }

    #[test]
    fn invalid_year_is_an_error() {
        assert_eq!(
            coverage_report(&[], 2100).unwrap_err(),
            KpiError::InvalidYear(2100)
        );
        assert!(coverage_report(&[], 2026).unwrap().care_homes.is_empty());
        let empty: [Record; 0] = [];
        let r = coverage_report(&empty, 2026).unwrap();
        assert_eq!(r.total.get(Indicator::Elderly).rate_basis_points(), None);
    }
}
