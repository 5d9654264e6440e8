//! Encode / decode of each record kind, frame decode, and constitution scoring.
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tcmcare_core::constitution::assess;
use tcmcare_core::ids::*;
use tcmcare_core::record::*;
use tcmcare_core::time::{Timestamp, UtcSeconds};
use tcmcare_core::wire::{decode_frame, encode_frame, max_frame_len, MAX_ENVELOPE_LEN};

fn header() -> Header {
    Header {
        id: RecordId {
            device: DeviceId(7),
            epoch: Epoch(1),
            seq: Seq(42),
        },
        resident: ResidentRef {
            care_home: CareHomeId(3101),
            number: ResidentNumber(1234),
        },
        time: Timestamp::Utc(UtcSeconds::new(1_773_563_400).unwrap()),
    }
}

fn records() -> Vec<(&'static str, Record)> {
    let vitals = Record {
        header: header(),
        body: Body::Vitals(VitalSigns {
            systolic_mmhg: Some(128),
            diastolic_mmhg: Some(82),
            pulse_per_min: Some(76),
            spo2_percent: Some(97),
            temperature_centi_c: Some(3660),
            ..Default::default()
        }),
    };
    let mut answers = [1u8; 33];
    for i in [1, 2, 3, 13] {
        answers[i] = 3;
    }
    let constitution = Record {
        header: header(),
        body: Body::Constitution(ConstitutionRecord {
            answers,
            assessor: StaffId(5),
            guidance: heapless::Vec::new(),
        }),
    };
    let resident = Record {
        header: header(),
        body: Body::Resident(ResidentRegistration {
            birth_date: tcmcare_core::time::Date::new(1948, 5, 20).unwrap(),
            sex: Sex::Female,
            conditions: ChronicConditions::from_bits(1).unwrap(),
            consent: ConsentFlags::from_bits(3).unwrap(),
            status: ResidencyStatus::Active,
        }),
    };
    let treatment = Record {
        header: header(),
        body: Body::Treatment(Treatment {
            technique: tcmcare_core::codes::technique::Technique::Moxibustion,
            acupoints: ["ST36", "CV4", "CV6"]
                .iter()
                .map(|c| tcmcare_core::codes::acupoint::Acupoint::parse(c).unwrap())
                .collect(),
            duration_min: 20,
            practitioner: StaffId(9),
            outcome: TreatmentOutcome::Completed,
            adverse_event: AdverseEvent::None,
            note: heapless::String::new(),
        }),
    };
    let herbal = Record {
        header: header(),
        body: Body::Herbal(HerbalEvent {
            stage: HerbalStage::Prescribed,
            prescription: None,
            doses: 7,
            herbs: ["黄芪", "党参", "白术", "茯苓", "炙甘草"]
                .iter()
                .map(|n| HerbDose {
                    name: bounded_str(n, "herb").unwrap(),
                    decigrams: 150,
                })
                .collect(),
            actor: StaffId(5),
            note: heapless::String::new(),
        }),
    };
    let followup = Record {
        header: header(),
        body: Body::FollowUp(FollowUp {
            condition: ChronicCondition::Hypertension,
            control: ConditionControl::Satisfactory,
            guidance: tcmcare_core::constitution::GuidanceSet::from_bits(0b111).unwrap(),
            interventions: heapless::Vec::new(),
            next_visit: None,
            clinician: StaffId(5),
        }),
    };
    let correction = Record {
        header: header(),
        body: Body::Correction(Correction {
            target: RecordId {
                device: DeviceId(7),
                epoch: Epoch(1),
                seq: Seq(41),
            },
            action: CorrectionAction::Void,
            reason: CorrectionReason::Duplicate,
            note: heapless::String::new(),
        }),
    };
    vec![
        ("resident", resident),
        ("vitals", vitals),
        ("constitution", constitution),
        ("treatment", treatment),
        ("herbal", herbal),
        ("follow_up", followup),
        ("correction", correction),
    ]
}

fn bench_records(c: &mut Criterion) {
    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Elements(1));
    for (name, r) in records() {
        let mut buf = [0u8; MAX_ENVELOPE_LEN];
        let n = r.encode(&mut buf).unwrap();
        g.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| black_box(&r).encode(black_box(&mut buf)).unwrap())
        });
        let env = buf[..n].to_vec();
        g.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| Record::decode(black_box(&env)).unwrap())
        });
        let mut rec = Record::placeholder();
        g.bench_function(format!("decode_into/{name}"), |b| {
            b.iter(|| Record::decode_into(black_box(&env), &mut rec).unwrap())
        });
    }
    g.finish();
}

fn bench_frames(c: &mut Criterion) {
    let (_, vitals) = records().into_iter().nth(1).unwrap();
    let mut env = [0u8; MAX_ENVELOPE_LEN];
    let n = vitals.encode(&mut env).unwrap();
    let mut frame = vec![0u8; max_frame_len(n)];
    let m = encode_frame(&env[..n], &mut frame).unwrap();
    frame.truncate(m);
    let mut g = c.benchmark_group("frame");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_vitals_frame_and_record", |b| {
        let mut scratch = frame.clone();
        let mut rec = Record::placeholder();
        b.iter(|| {
            scratch.copy_from_slice(&frame);
            let p = decode_frame(black_box(&mut scratch)).unwrap();
            Record::decode_into(p, &mut rec).unwrap();
            black_box(&rec);
        })
    });
    g.bench_function("encode_vitals_frame", |b| {
        let mut out = [0u8; 64];
        b.iter(|| encode_frame(black_box(&env[..n]), &mut out).unwrap())
    });
    g.finish();
}

fn bench_constitution(c: &mut Criterion) {
    let mut answers = [0u8; 33];
    for (i, a) in answers.iter_mut().enumerate() {
        *a = (i % 5) as u8 + 1;
    }
    let mut g = c.benchmark_group("constitution");
    g.throughput(Throughput::Elements(1));
    g.bench_function("assess", |b| {
        b.iter(|| assess(black_box(&answers)).unwrap())
    });
    g.bench_function("assess_and_primary", |b| {
        b.iter(|| assess(black_box(&answers)).unwrap().primary())
    });
    g.finish();
}

criterion_group!(benches, bench_records, bench_frames, bench_constitution);
criterion_main!(benches);
