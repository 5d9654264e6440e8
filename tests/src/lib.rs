//! Shared fixtures of the conformance tests: the canonical records behind the golden
//! vectors in `tests/vectors/manifest.json`.
//!
//! Each canonical record is built here from the field values its description states;
//! the golden test checks that encoding it gives exactly the committed frame bytes and
//! that decoding the committed bytes gives it back. Changing a record here or a byte
//! there is a wire-format change: bump the schema version and say why in CHANGELOG.md.

use tcmcare_core::codes::acupoint::Acupoint;
use tcmcare_core::codes::technique::Technique;
use tcmcare_core::constitution::{Constitution, GuidanceCategory, GuidanceSet};
use tcmcare_core::ids::{
    CareHomeId, DeviceId, Epoch, RecordId, ResidentNumber, ResidentRef, Seq, Sex, StaffId,
};
use tcmcare_core::record::{
    AdverseEvent, Body, ChronicCondition, ChronicConditions, ConditionControl, ConsentFlags,
    ConstitutionRecord, Correction, CorrectionAction, CorrectionReason, FollowUp, GlucoseContext,
    GuidanceGiven, Header, HerbDose, HerbalEvent, HerbalStage, MeasurementSource, Record,
    ResidencyStatus, ResidentRegistration, TemperatureSite, Treatment, TreatmentOutcome,
    VitalSigns,
};
use tcmcare_core::time::{Date, Timestamp, UtcSeconds};

/// A canonical record with its vector name and a description of its field values.
pub struct Canonical {
    /// Vector name in the manifest.
    pub name: &'static str,
    /// Human description of the field values.
    pub description: &'static str,
    /// The record.
    pub record: Record,
}

/// 2026-03-15T08:30:00Z as Unix seconds.
pub const T_2026_03_15_0830Z: u64 = 1_773_563_400;

/// A header for golden vectors: device, epoch 1, seq, care home 3101, resident, time.
pub fn header(device: u32, seq: u32, resident: u32, unix: u64) -> Header {
    Header {
        id: RecordId {
            device: DeviceId(device),
            epoch: Epoch(1),
            seq: Seq(seq),
        },
        resident: ResidentRef {
            care_home: CareHomeId(3101),
            number: ResidentNumber(resident),
        },
        time: Timestamp::Utc(UtcSeconds::new(unix).expect("valid fixture time")),
    }
}

fn s<const N: usize>(v: &str) -> heapless::String<N> {
    let mut out = heapless::String::new();
    out.push_str(v).expect("fixture text fits");
    out
}

fn set(cats: &[GuidanceCategory]) -> GuidanceSet {
    let mut g = GuidanceSet::empty();
    for &c in cats {
        g.insert(c);
    }
    g
}

fn points<const N: usize>(codes: &[&str]) -> heapless::Vec<Acupoint, N> {
    codes
        .iter()
        .map(|c| Acupoint::parse(c).expect("fixture acupoint"))
        .collect()
}

/// All-ones answers except the listed (item, answer) pairs.
pub fn answers(overrides: &[(usize, u8)]) -> [u8; 33] {
    let mut a = [1u8; 33];
    for &(item, v) in overrides {
        a[item - 1] = v;
    }
    a
}

/// The canonical records, at least two per kind.
#[allow(clippy::vec_init_then_push)]
pub fn canonical_records() -> Vec<Canonical> {
    let t = T_2026_03_15_0830Z;
    let mut v = Vec::new();
    v.push(Canonical {
        name: "resident-female-hypertension",
        description: "resident registration: device 1 seq 1, care home 3101 resident 1234, 2026-03-15T08:30:00Z; born 1948-05-20, female, hypertension, consents TCM services + data sharing, active",
        record: Record {
            header: header(1, 1, 1234, t),
            body: Body::Resident(ResidentRegistration {
                birth_date: Date::new(1948, 5, 20).unwrap(),
                sex: Sex::Female,
                conditions: ChronicConditions::from_bits(ChronicConditions::HYPERTENSION).unwrap(),
                consent: ConsentFlags::from_bits(ConsentFlags::TCM_SERVICES | ConsentFlags::DATA_SHARING).unwrap(),
                status: ResidencyStatus::Active,
            }),
        },
    });
    v.push(Canonical {
        name: "resident-male-diabetes-stroke",
        description: "resident registration: device 1 seq 2, resident 1235; born 1940-02-29, male, diabetes + stroke high-risk, all three consents, active",
        record: Record {
            header: header(1, 2, 1235, t + 60),
            body: Body::Resident(ResidentRegistration {
                birth_date: Date::new(1940, 2, 29).unwrap(),
                sex: Sex::Male,
                conditions: ChronicConditions::from_bits(ChronicConditions::DIABETES | ChronicConditions::STROKE_HIGH_RISK).unwrap(),
                consent: ConsentFlags::from_bits(0b111).unwrap(),
                status: ResidencyStatus::Active,
            }),
        },
    });
    v.push(Canonical {
        name: "vitals-bp-pulse-spo2-temp",
        description: "vital signs from kiosk 7 epoch 1 seq 42, care home 3101 resident 1234, 2026-03-15T08:30:00Z: 128/82 mmHg, pulse 76 /min, SpO2 97 %, 36.6 °C forehead, kiosk sensors",
        record: Record {
            header: header(7, 42, 1234, t),
            body: Body::Vitals(VitalSigns {
                systolic_mmhg: Some(128),
                diastolic_mmhg: Some(82),
                pulse_per_min: Some(76),
                spo2_percent: Some(97),
                temperature_centi_c: Some(3660),
                temperature_site: TemperatureSite::Forehead,
                source: MeasurementSource::KioskSensor,
                ..Default::default()
            }),
        },
    });
    v.push(Canonical {
        name: "vitals-body-glucose-alerts",
        description: "vital signs, kiosk 7 seq 43, resident 1235: 152/94 mmHg (hypertension), weight 68.45 kg, height 1.642 m, waist 93.0 cm, fasting capillary glucose 7.8 mmol/L (high), 37.5 °C axilla (fever), Bluetooth devices",
        record: Record {
            header: header(7, 43, 1235, t + 300),
            body: Body::Vitals(VitalSigns {
                systolic_mmhg: Some(152),
                diastolic_mmhg: Some(94),
                temperature_centi_c: Some(3750),
                temperature_site: TemperatureSite::Axilla,
                weight_g: Some(68_450),
                height_mm: Some(1642),
                waist_mm: Some(930),
                glucose_umol_l: Some(7_800),
                glucose_context: GlucoseContext::Fasting,
                source: MeasurementSource::Bluetooth,
                ..Default::default()
            }),
        },
    });
    v.push(Canonical {
        name: "vitals-clock-unknown-spo2",
        description: "vital signs, kiosk 8 epoch 1 seq 1, resident 1236, time unknown (boot 3, 125 s after boot): SpO2 91 % (low), pulse 58 /min",
        record: Record {
            header: Header {
                time: Timestamp::Unknown { boot: 3, uptime_s: 125 },
                ..header(8, 1, 1236, t)
            },
            body: Body::Vitals(VitalSigns {
                spo2_percent: Some(91),
                pulse_per_min: Some(58),
                ..Default::default()
            }),
        },
    });
    let mut g = heapless::Vec::new();
    g.push(GuidanceGiven {
        constitution: Constitution::Qixu,
        categories: set(&[
            GuidanceCategory::Emotion,
            GuidanceCategory::Diet,
            GuidanceCategory::DailyLife,
            GuidanceCategory::Exercise,
            GuidanceCategory::Acupoint,
        ]),
        other: heapless::String::new(),
    })
    .unwrap();
    v.push(Canonical {
        name: "constitution-qixu",
        description: "constitution assessment, terminal 2 seq 10, resident 1234, assessor 5: items 2,3,4,14 answered 3 (qixu 12 = yes), others 1 except item 1 = 3; guidance for qixu: emotion, diet, daily life, exercise, acupoints",
        record: Record {
            header: header(2, 10, 1234, t + 600),
            body: Body::Constitution(ConstitutionRecord {
                answers: answers(&[(1, 3), (2, 3), (3, 3), (4, 3), (14, 3)]),
                assessor: StaffId(5),
                guidance: g,
            }),
        },
    });
    let mut g = heapless::Vec::new();
    g.push(GuidanceGiven {
        constitution: Constitution::Pinghe,
        categories: set(&[GuidanceCategory::Exercise, GuidanceCategory::Other]),
        other: s("八段锦 每日一次"),
    })
    .unwrap();
    v.push(Canonical {
        name: "constitution-pinghe-other",
        description: "constitution assessment, terminal 2 seq 11, resident 1235, assessor 5: item 1 = 5, all others 1 (pinghe 25 = yes, biased all 4); guidance for pinghe: exercise + other '八段锦 每日一次'",
        record: Record {
            header: header(2, 11, 1235, t + 900),
            body: Body::Constitution(ConstitutionRecord {
                answers: answers(&[(1, 5)]),
                assessor: StaffId(5),
                guidance: g,
            }),
        },
    });
    v.push(Canonical {
        name: "treatment-moxibustion",
        description: "treatment, terminal 2 seq 12, resident 1234: moxibustion at ST36, CV4, CV6 for 20 min by practitioner 9, completed, no adverse event, no note",
        record: Record {
            header: header(2, 12, 1234, t + 1200),
            body: Body::Treatment(Treatment {
                technique: Technique::Moxibustion,
                acupoints: points(&["ST36", "CV4", "CV6"]),
                duration_min: 20,
                practitioner: StaffId(9),
                outcome: TreatmentOutcome::Completed,
                adverse_event: AdverseEvent::None,
                note: heapless::String::new(),
            }),
        },
    });
    v.push(Canonical {
        name: "treatment-baduanjin-refused",
        description: "treatment, terminal 2 seq 13, resident 1235: Baduanjin (no acupoints), refused (0 min), practitioner 9, note '膝痛'",
        record: Record {
            header: header(2, 13, 1235, t + 1500),
            body: Body::Treatment(Treatment {
                technique: Technique::Baduanjin,
                acupoints: heapless::Vec::new(),
                duration_min: 0,
                practitioner: StaffId(9),
                outcome: TreatmentOutcome::Refused,
                adverse_event: AdverseEvent::None,
                note: s("膝痛"),
            }),
        },
    });
    v.push(Canonical {
        name: "herbal-prescribed",
        description: "herbal prescription, terminal 2 seq 14, resident 1234, doctor 5: 7 doses of 黄芪 30 g, 党参 15 g, 白术 12 g, 茯苓 15 g, 炙甘草 6 g; note '水煎服 日一剂'",
        record: Record {
            header: header(2, 14, 1234, t + 1800),
            body: Body::Herbal(HerbalEvent {
                stage: HerbalStage::Prescribed,
                prescription: None,
                doses: 7,
                herbs: [("黄芪", 300), ("党参", 150), ("白术", 120), ("茯苓", 150), ("炙甘草", 60)]
                    .iter()
                    .map(|(n, d)| HerbDose { name: s(n), decigrams: *d })
                    .collect(),
                actor: StaffId(5),
                note: s("水煎服 日一剂"),
            }),
        },
    });
    v.push(Canonical {
        name: "herbal-delivered",
        description: "decoction delivered, platform device 900 seq 3, resident 1234, courier 77: refers to prescription 2/1/14, no note",
        record: Record {
            header: header(900, 3, 1234, t + 86_400),
            body: Body::Herbal(HerbalEvent {
                stage: HerbalStage::Delivered,
                prescription: Some(RecordId { device: DeviceId(2), epoch: Epoch(1), seq: Seq(14) }),
                doses: 0,
                herbs: heapless::Vec::new(),
                actor: StaffId(77),
                note: heapless::String::new(),
            }),
        },
    });
    v.push(Canonical {
        name: "followup-hypertension",
        description: "follow-up, terminal 2 seq 15, resident 1234, clinician 5: hypertension, control unsatisfactory, guidance emotion + diet + exercise, interventions acupoint massage + Baduanjin, next visit 2026-04-15",
        record: Record {
            header: header(2, 15, 1234, t + 2100),
            body: Body::FollowUp(FollowUp {
                condition: ChronicCondition::Hypertension,
                control: ConditionControl::Unsatisfactory,
                guidance: set(&[GuidanceCategory::Emotion, GuidanceCategory::Diet, GuidanceCategory::Exercise]),
                interventions: [Technique::AcupointMassage, Technique::Baduanjin].into_iter().collect(),
                next_visit: Some(Date::new(2026, 4, 15).unwrap()),
                clinician: StaffId(5),
            }),
        },
    });
    v.push(Canonical {
        name: "followup-diabetes-no-next",
        description: "follow-up, terminal 2 seq 16, resident 1235, clinician 6: diabetes, satisfactory, guidance diet only, no intervention, no next visit",
        record: Record {
            header: header(2, 16, 1235, t + 2400),
            body: Body::FollowUp(FollowUp {
                condition: ChronicCondition::Diabetes,
                control: ConditionControl::Satisfactory,
                guidance: set(&[GuidanceCategory::Diet]),
                interventions: heapless::Vec::new(),
                next_visit: None,
                clinician: StaffId(6),
            }),
        },
    });
    v.push(Canonical {
        name: "correction-void",
        description: "correction, terminal 2 seq 17, resident 1235: void record 7/1/43, reason measurement error, note '袖带位置错误'",
        record: Record {
            header: header(2, 17, 1235, t + 2700),
            body: Body::Correction(Correction {
                target: RecordId { device: DeviceId(7), epoch: Epoch(1), seq: Seq(43) },
                action: CorrectionAction::Void,
                reason: CorrectionReason::MeasurementError,
                note: s("袖带位置错误"),
            }),
        },
    });
    v.push(Canonical {
        name: "correction-amend",
        description: "correction, terminal 2 seq 19, resident 1234: amend record 2/1/12 with replacement 2/1/18, reason entry error, no note",
        record: Record {
            header: header(2, 19, 1234, t + 3000),
            body: Body::Correction(Correction {
                target: RecordId { device: DeviceId(2), epoch: Epoch(1), seq: Seq(12) },
                action: CorrectionAction::Amend {
                    replacement: RecordId { device: DeviceId(2), epoch: Epoch(1), seq: Seq(18) },
                },
                reason: CorrectionReason::EntryError,
                note: heapless::String::new(),
            }),
        },
    });
    v
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of lowercase or uppercase hex; `None` if malformed.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
