//! The same field values as a tcmcare record, in the shapes the other formats encode.
//!
//! One set of plain serde structs serves CBOR (ciborium), MessagePack (rmp-serde) and a
//! plain JSON baseline (serde_json); one set of hand-written `prost::Message` structs serves
//! Protocol Buffers. Both mirror the record model field by field (ids, time, values) with
//! no cleverness the libraries do not do by default:
//!
//! - ids, staff numbers and quantities are integers in the record's own units (mmHg,
//!   centi-degrees Celsius, grams, millimetres, µmol/L, decigrams);
//! - coded values (sex, temperature site, technique, outcome...) are their small wire
//!   numbers and flag sets their bits, as in tcmcare;
//! - times are Unix seconds, dates days since 1970-01-01; acupoints are their WHO codes
//!   (`"ST36"`); text is UTF-8;
//! - a record is a header and a body whose variant names the kind (serde's default
//!   externally tagged enum; a protobuf `oneof`), so every format says what it carries, as
//!   the tcmcare envelope's kind byte does.

use serde::{Deserialize, Serialize};
use tcmcare_core::record::{Body, CorrectionAction, Record};
use tcmcare_core::time::{Date, Timestamp};

// ------------------------------------------------------------------ serde

/// Origin device, epoch and sequence of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SRecordId {
    pub device: u32,
    pub epoch: u32,
    pub seq: u32,
}

/// When a record was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum STime {
    /// Unix seconds.
    Utc(u64),
    /// Clock not set: boot counter and seconds since that boot.
    Unknown { boot: u32, uptime_s: u32 },
}

/// Record header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SHeader {
    pub id: SRecordId,
    pub care_home: u32,
    pub resident: u32,
    pub time: STime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SResident {
    pub birth_date: i32,
    pub sex: u8,
    pub conditions: u8,
    pub consent: u8,
    pub status: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SVitals {
    pub systolic_mmhg: Option<u16>,
    pub diastolic_mmhg: Option<u16>,
    pub pulse_per_min: Option<u16>,
    pub spo2_percent: Option<u8>,
    pub temperature_centi_c: Option<i16>,
    pub temperature_site: u8,
    pub weight_g: Option<u32>,
    pub height_mm: Option<u16>,
    pub waist_mm: Option<u16>,
    pub glucose_umol_l: Option<u32>,
    pub glucose_context: u8,
    pub source: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SGuidance {
    pub constitution: u8,
    pub categories: u8,
    pub other: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SConstitution {
    /// The 33 answers, 1..=5 each (serde has no 33-element array, hence a Vec).
    pub answers: Vec<u8>,
    pub assessor: u32,
    pub guidance: Vec<SGuidance>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct STreatment {
    pub technique: u8,
    pub acupoints: Vec<String>,
    pub duration_min: u16,
    pub practitioner: u32,
    pub outcome: u8,
    pub adverse_event: u8,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SHerb {
    pub name: String,
    pub decigrams: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SHerbal {
    pub stage: u8,
    pub prescription: Option<SRecordId>,
    pub doses: u8,
    pub herbs: Vec<SHerb>,
    pub actor: u32,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SFollowUp {
    pub condition: u8,
    pub control: u8,
    pub guidance: u8,
    pub interventions: Vec<u8>,
    pub next_visit: Option<i32>,
    pub clinician: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SCorrection {
    pub target: SRecordId,
    /// 0 = void, 1 = amend.
    pub action: u8,
    pub replacement: Option<SRecordId>,
    pub reason: u8,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SBody {
    Resident(SResident),
    Vitals(SVitals),
    Constitution(SConstitution),
    Treatment(STreatment),
    Herbal(SHerbal),
    FollowUp(SFollowUp),
    Correction(SCorrection),
}

/// A record for the serde formats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SRecord {
    pub header: SHeader,
    pub body: SBody,
}

fn days(d: Date) -> i32 {
    d.days_since_unix_epoch() as i32
}

fn sid(id: &tcmcare_core::ids::RecordId) -> SRecordId {
    SRecordId {
        device: id.device.0,
        epoch: id.epoch.0,
        seq: id.seq.0,
    }
}

/// The serde mirror of `r`.
pub fn to_serde(r: &Record) -> SRecord {
    let h = &r.header;
    let header = SHeader {
        id: sid(&h.id),
        care_home: h.resident.care_home.0,
        resident: h.resident.number.0,
        time: match h.time {
            Timestamp::Utc(t) => STime::Utc(t.unix()),
            Timestamp::Unknown { boot, uptime_s } => STime::Unknown { boot, uptime_s },
        },
    };
    let body = match &r.body {
        Body::Resident(b) => SBody::Resident(SResident {
            birth_date: days(b.birth_date),
            sex: b.sex as u8,
            conditions: b.conditions.bits(),
            consent: b.consent.bits(),
            status: b.status as u8,
        }),
        Body::Vitals(v) => SBody::Vitals(SVitals {
            systolic_mmhg: v.systolic_mmhg,
            diastolic_mmhg: v.diastolic_mmhg,
            pulse_per_min: v.pulse_per_min,
            spo2_percent: v.spo2_percent,
            temperature_centi_c: v.temperature_centi_c,
            temperature_site: v.temperature_site as u8,
            weight_g: v.weight_g,
            height_mm: v.height_mm,
            waist_mm: v.waist_mm,
            glucose_umol_l: v.glucose_umol_l,
            glucose_context: v.glucose_context as u8,
            source: v.source as u8,
        }),
        Body::Constitution(c) => SBody::Constitution(SConstitution {
            answers: c.answers.to_vec(),
            assessor: c.assessor.0,
            guidance: c
                .guidance
                .iter()
                .map(|g| SGuidance {
                    constitution: g.constitution.index() as u8,
                    categories: g.categories.bits(),
                    other: g.other.to_string(),
                })
                .collect(),
        }),
        Body::Treatment(t) => SBody::Treatment(STreatment {
            technique: t.technique as u8,
            acupoints: t.acupoints.iter().map(|a| a.to_string()).collect(),
            duration_min: t.duration_min,
            practitioner: t.practitioner.0,
            outcome: t.outcome as u8,
            adverse_event: t.adverse_event as u8,
            note: t.note.to_string(),
        }),
        Body::Herbal(e) => SBody::Herbal(SHerbal {
            stage: e.stage as u8,
            prescription: e.prescription.as_ref().map(sid),
            doses: e.doses,
            herbs: e
                .herbs
                .iter()
                .map(|h| SHerb {
                    name: h.name.to_string(),
                    decigrams: h.decigrams,
                })
                .collect(),
            actor: e.actor.0,
            note: e.note.to_string(),
        }),
        Body::FollowUp(f) => SBody::FollowUp(SFollowUp {
            condition: f.condition as u8,
            control: f.control as u8,
            guidance: f.guidance.bits(),
            interventions: f.interventions.iter().map(|t| *t as u8).collect(),
            next_visit: f.next_visit.map(days),
            clinician: f.clinician.0,
        }),
        Body::Correction(c) => {
            let (action, replacement) = match c.action {
                CorrectionAction::Void => (0, None),
                CorrectionAction::Amend { replacement } => (1, Some(sid(&replacement))),
            };
            SBody::Correction(SCorrection {
                target: sid(&c.target),
                action,
                replacement,
                reason: c.reason as u8,
                note: c.note.to_string(),
            })
        }
    };
    SRecord { header, body }
}

// ------------------------------------------------------------------ protobuf

/// Protocol Buffers messages, written by hand with `prost::Message` (the `.proto` they
/// stand for is in the comments). proto3: scalar fields equal to zero and absent
/// `optional` fields are not written.
pub mod pb {
    /// `message RecordId { uint32 device = 1; uint32 epoch = 2; uint32 seq = 3; }`
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct RecordId {
        #[prost(uint32, tag = "1")]
        pub device: u32,
        #[prost(uint32, tag = "2")]
        pub epoch: u32,
        #[prost(uint32, tag = "3")]
        pub seq: u32,
    }

    /// `message UnknownTime { uint32 boot = 1; uint32 uptime_s = 2; }`
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct UnknownTime {
        #[prost(uint32, tag = "1")]
        pub boot: u32,
        #[prost(uint32, tag = "2")]
        pub uptime_s: u32,
    }

    /// `oneof time { uint64 utc = 4; UnknownTime unknown = 5; }`
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Time {
        #[prost(uint64, tag = "4")]
        Utc(u64),
        #[prost(message, tag = "5")]
        Unknown(UnknownTime),
    }

    /// `message Header { RecordId id = 1; uint32 care_home = 2; uint32 resident = 3;
    /// oneof time {...} }`
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Header {
        #[prost(message, optional, tag = "1")]
        pub id: Option<RecordId>,
        #[prost(uint32, tag = "2")]
        pub care_home: u32,
        #[prost(uint32, tag = "3")]
        pub resident: u32,
        #[prost(oneof = "Time", tags = "4, 5")]
        pub time: Option<Time>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Resident {
        #[prost(sint32, tag = "1")]
        pub birth_date: i32,
        #[prost(uint32, tag = "2")]
        pub sex: u32,
        #[prost(uint32, tag = "3")]
        pub conditions: u32,
        #[prost(uint32, tag = "4")]
        pub consent: u32,
        #[prost(uint32, tag = "5")]
        pub status: u32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Vitals {
        #[prost(uint32, optional, tag = "1")]
        pub systolic_mmhg: Option<u32>,
        #[prost(uint32, optional, tag = "2")]
        pub diastolic_mmhg: Option<u32>,
        #[prost(uint32, optional, tag = "3")]
        pub pulse_per_min: Option<u32>,
        #[prost(uint32, optional, tag = "4")]
        pub spo2_percent: Option<u32>,
        #[prost(sint32, optional, tag = "5")]
        pub temperature_centi_c: Option<i32>,
        #[prost(uint32, tag = "6")]
        pub temperature_site: u32,
        #[prost(uint32, optional, tag = "7")]
        pub weight_g: Option<u32>,
        #[prost(uint32, optional, tag = "8")]
        pub height_mm: Option<u32>,
        #[prost(uint32, optional, tag = "9")]
        pub waist_mm: Option<u32>,
        #[prost(uint32, optional, tag = "10")]
        pub glucose_umol_l: Option<u32>,
        #[prost(uint32, tag = "11")]
        pub glucose_context: u32,
        #[prost(uint32, tag = "12")]
        pub source: u32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Guidance {
        #[prost(uint32, tag = "1")]
        pub constitution: u32,
        #[prost(uint32, tag = "2")]
        pub categories: u32,
        #[prost(string, tag = "3")]
        pub other: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Constitution {
        /// The 33 answers, one byte each.
        #[prost(bytes = "vec", tag = "1")]
        pub answers: Vec<u8>,
        #[prost(uint32, tag = "2")]
        pub assessor: u32,
        #[prost(message, repeated, tag = "3")]
        pub guidance: Vec<Guidance>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Treatment {
        #[prost(uint32, tag = "1")]
        pub technique: u32,
        #[prost(string, repeated, tag = "2")]
        pub acupoints: Vec<String>,
        #[prost(uint32, tag = "3")]
        pub duration_min: u32,
        #[prost(uint32, tag = "4")]
        pub practitioner: u32,
        #[prost(uint32, tag = "5")]
        pub outcome: u32,
        #[prost(uint32, tag = "6")]
        pub adverse_event: u32,
        #[prost(string, tag = "7")]
        pub note: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Herb {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(uint32, tag = "2")]
        pub decigrams: u32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Herbal {
        #[prost(uint32, tag = "1")]
        pub stage: u32,
        #[prost(message, optional, tag = "2")]
        pub prescription: Option<RecordId>,
        #[prost(uint32, tag = "3")]
        pub doses: u32,
        #[prost(message, repeated, tag = "4")]
        pub herbs: Vec<Herb>,
        #[prost(uint32, tag = "5")]
        pub actor: u32,
        #[prost(string, tag = "6")]
        pub note: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FollowUp {
        #[prost(uint32, tag = "1")]
        pub condition: u32,
        #[prost(uint32, tag = "2")]
        pub control: u32,
        #[prost(uint32, tag = "3")]
        pub guidance: u32,
        #[prost(uint32, repeated, tag = "4")]
        pub interventions: Vec<u32>,
        #[prost(sint32, optional, tag = "5")]
        pub next_visit: Option<i32>,
        #[prost(uint32, tag = "6")]
        pub clinician: u32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Correction {
        #[prost(message, optional, tag = "1")]
        pub target: Option<RecordId>,
        #[prost(uint32, tag = "2")]
        pub action: u32,
        #[prost(message, optional, tag = "3")]
        pub replacement: Option<RecordId>,
        #[prost(uint32, tag = "4")]
        pub reason: u32,
        #[prost(string, tag = "5")]
        pub note: String,
    }

    /// `oneof body { Resident resident = 2; ... Correction correction = 8; }`
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Body {
        #[prost(message, tag = "2")]
        Resident(Resident),
        #[prost(message, tag = "3")]
        Vitals(Vitals),
        #[prost(message, tag = "4")]
        Constitution(Constitution),
        #[prost(message, tag = "5")]
        Treatment(Treatment),
        #[prost(message, tag = "6")]
        Herbal(Herbal),
        #[prost(message, tag = "7")]
        FollowUp(FollowUp),
        #[prost(message, tag = "8")]
        Correction(Correction),
    }

    /// `message Record { Header header = 1; oneof body {...} }`
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Record {
        #[prost(message, optional, tag = "1")]
        pub header: Option<Header>,
        #[prost(oneof = "Body", tags = "2, 3, 4, 5, 6, 7, 8")]
        pub body: Option<Body>,
    }
}

fn pid(id: &SRecordId) -> pb::RecordId {
    pb::RecordId {
        device: id.device,
        epoch: id.epoch,
        seq: id.seq,
    }
}

/// The protobuf mirror of `r` (built from the serde mirror: same values).
pub fn to_proto(r: &Record) -> pb::Record {
    let s = to_serde(r);
    let header = pb::Header {
        id: Some(pid(&s.header.id)),
        care_home: s.header.care_home,
        resident: s.header.resident,
        time: Some(match s.header.time {
            STime::Utc(t) => pb::Time::Utc(t),
            STime::Unknown { boot, uptime_s } => {
                pb::Time::Unknown(pb::UnknownTime { boot, uptime_s })
            }
        }),
    };
    let body = match s.body {
        SBody::Resident(b) => pb::Body::Resident(pb::Resident {
            birth_date: b.birth_date,
            sex: b.sex.into(),
            conditions: b.conditions.into(),
            consent: b.consent.into(),
            status: b.status.into(),
        }),
        SBody::Vitals(v) => pb::Body::Vitals(pb::Vitals {
            systolic_mmhg: v.systolic_mmhg.map(Into::into),
            diastolic_mmhg: v.diastolic_mmhg.map(Into::into),
            pulse_per_min: v.pulse_per_min.map(Into::into),
            spo2_percent: v.spo2_percent.map(Into::into),
            temperature_centi_c: v.temperature_centi_c.map(Into::into),
            temperature_site: v.temperature_site.into(),
            weight_g: v.weight_g,
            height_mm: v.height_mm.map(Into::into),
            waist_mm: v.waist_mm.map(Into::into),
            glucose_umol_l: v.glucose_umol_l,
            glucose_context: v.glucose_context.into(),
            source: v.source.into(),
        }),
        SBody::Constitution(c) => pb::Body::Constitution(pb::Constitution {
            answers: c.answers,
            assessor: c.assessor,
            guidance: c
                .guidance
                .into_iter()
                .map(|g| pb::Guidance {
                    constitution: g.constitution.into(),
                    categories: g.categories.into(),
                    other: g.other,
                })
                .collect(),
        }),
        SBody::Treatment(t) => pb::Body::Treatment(pb::Treatment {
            technique: t.technique.into(),
            acupoints: t.acupoints,
            duration_min: t.duration_min.into(),
            practitioner: t.practitioner,
            outcome: t.outcome.into(),
            adverse_event: t.adverse_event.into(),
            note: t.note,
        }),
        SBody::Herbal(e) => pb::Body::Herbal(pb::Herbal {
            stage: e.stage.into(),
            prescription: e.prescription.as_ref().map(pid),
            doses: e.doses.into(),
            herbs: e
                .herbs
                .into_iter()
                .map(|h| pb::Herb {
                    name: h.name,
                    decigrams: h.decigrams.into(),
                })
                .collect(),
            actor: e.actor,
            note: e.note,
        }),
        SBody::FollowUp(f) => pb::Body::FollowUp(pb::FollowUp {
            condition: f.condition.into(),
            control: f.control.into(),
            guidance: f.guidance.into(),
            interventions: f.interventions.into_iter().map(Into::into).collect(),
            next_visit: f.next_visit,
            clinician: f.clinician,
        }),
        SBody::Correction(c) => pb::Body::Correction(pb::Correction {
            target: Some(pid(&c.target)),
            action: c.action.into(),
            replacement: c.replacement.as_ref().map(pid),
            reason: c.reason.into(),
            note: c.note,
        }),
    };
    pb::Record {
        header: Some(header),
        body: Some(body),
    }
}
