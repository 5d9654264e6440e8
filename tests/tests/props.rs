//! Property tests of the record decoders: valid records round-trip byte-exact; any byte
//! string decodes to a record or a specific error, never a panic.

use proptest::prelude::*;
use tcmcare_conformance::canonical_records;
use tcmcare_core::codes::acupoint::Acupoint;
use tcmcare_core::codes::technique::Technique;
use tcmcare_core::constitution::{assess, GuidanceSet};
use tcmcare_core::ids::{CareHomeId, DeviceId, Epoch, RecordId, ResidentNumber, ResidentRef, Seq};
use tcmcare_core::record::{
    AdverseEvent, Body, ConstitutionRecord, GlucoseContext, GuidanceGiven, Header,
    MeasurementSource, Record, TemperatureSite, Treatment, TreatmentOutcome, VitalSigns,
};
use tcmcare_core::time::{Timestamp, UtcSeconds, MAX_VALID_UTC, MIN_VALID_UTC};
use tcmcare_core::wire::{
    decode_record_frame, encode_record_frame, Envelope, FrameDecoder, MAX_ENVELOPE_LEN,
    MAX_RECORD_FRAME_LEN,
};

fn header() -> impl Strategy<Value = Header> {
    (
        1..=u32::MAX,
        1..=u32::MAX,
        1..=u32::MAX,
        1..=u32::MAX,
        1..=u32::MAX,
        prop_oneof![
            (MIN_VALID_UTC..MAX_VALID_UTC)
                .prop_map(|t| Timestamp::Utc(UtcSeconds::new(t).unwrap())),
            (any::<u32>(), any::<u32>())
                .prop_map(|(boot, uptime_s)| Timestamp::Unknown { boot, uptime_s }),
        ],
    )
        .prop_map(|(d, e, s, h, r, time)| Header {
            id: RecordId {
                device: DeviceId(d),
                epoch: Epoch(e),
                seq: Seq(s),
            },
            resident: ResidentRef {
                care_home: CareHomeId(h),
                number: ResidentNumber(r),
            },
            time,
        })
}

fn vitals() -> impl Strategy<Value = VitalSigns> {
    (
        proptest::option::of((50u16..=300, 30u16..=200)),
        proptest::option::of(20u16..=250),
        proptest::option::of(50u8..=100),
        proptest::option::of(3000i16..=4500),
        proptest::option::of(20_000u32..=300_000),
        proptest::option::of(1000u16..=2200),
        proptest::option::of(400u16..=1800),
        proptest::option::of(1_100u32..=33_300),
        0u8..5,
        0u8..3,
        0u8..3,
    )
        .prop_filter_map(
            "needs a measurement and dia < sys",
            |(bp, pulse, spo2, temp, weight, height, waist, glu, site, ctx, src)| {
                if let Some((s, d)) = bp {
                    if d >= s {
                        return None;
                    }
                }
                let v = VitalSigns {
                    systolic_mmhg: bp.map(|b| b.0),
                    diastolic_mmhg: bp.map(|b| b.1),
                    pulse_per_min: pulse,
                    spo2_percent: spo2,
                    temperature_centi_c: temp,
                    temperature_site: if temp.is_some() {
                        TemperatureSite::from_u8(site).unwrap()
                    } else {
                        TemperatureSite::default()
                    },
                    weight_g: weight,
                    height_mm: height,
                    waist_mm: waist,
                    glucose_umol_l: glu,
                    glucose_context: if glu.is_some() {
                        GlucoseContext::from_u8(ctx).unwrap()
                    } else {
                        GlucoseContext::default()
                    },
                    source: MeasurementSource::from_u8(src).unwrap(),
                };
                v.validate().is_ok().then_some(v)
            },
        )
}

fn constitution() -> impl Strategy<Value = ConstitutionRecord> {
    (
        proptest::array::uniform32(1u8..=5),
        1u8..=5,
        1u32..100_000,
        0u8..32,
    )
        .prop_map(|(a32, last, assessor, cats)| {
            let mut answers = [0u8; 33];
            answers[..32].copy_from_slice(&a32);
            answers[32] = last;
            let mut guidance = heapless::Vec::new();
            let a = assess(&answers).unwrap();
            // Guidance (without "other") for each identified constitution.
            for c in a.identified().iter() {
                let bits = (cats | 1) & 0x1f;
                let _ = guidance.push(GuidanceGiven {
                    constitution: c,
                    categories: GuidanceSet::from_bits(bits).unwrap(),
                    other: heapless::String::new(),
                });
            }
            ConstitutionRecord {
                answers,
                assessor: tcmcare_core::ids::StaffId(assessor),
                guidance,
            }
        })
}

fn treatment() -> impl Strategy<Value = Treatment> {
    (
        proptest::sample::select(vec![
            Technique::Acupuncture,
            Technique::Moxibustion,
            Technique::AcupointMassage,
            Technique::Electroacupuncture,
        ]),
        proptest::collection::btree_set(101u16..=111, 1..5),
        1u16..=240,
        1u32..1000,
        "[a-z 穴位]{0,10}",
    )
        .prop_map(|(technique, codes, duration_min, p, note)| Treatment {
            technique,
            acupoints: codes
                .into_iter()
                .map(|c| Acupoint::from_wire_code(c).unwrap())
                .collect(),
            duration_min,
            practitioner: tcmcare_core::ids::StaffId(p),
            outcome: TreatmentOutcome::Completed,
            adverse_event: AdverseEvent::None,
            note: tcmcare_core::record::bounded_str(&note, "note").unwrap(),
        })
}

fn record() -> impl Strategy<Value = Record> {
    let body = prop_oneof![
        vitals().prop_map(Body::Vitals),
        constitution().prop_map(Body::Constitution),
        treatment().prop_map(Body::Treatment),
    ];
    (header(), body).prop_map(|(header, body)| Record { header, body })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn valid_records_round_trip(r in record()) {
        let mut env = [0u8; MAX_ENVELOPE_LEN];
        let n = r.encode(&mut env).unwrap();
        prop_assert_eq!(Record::decode(&env[..n]).unwrap(), r.clone());
        let mut frame = [0u8; MAX_RECORD_FRAME_LEN];
        let m = encode_record_frame(&r, &mut frame).unwrap();
        prop_assert_eq!(decode_record_frame(&mut frame[..m].to_vec()).unwrap(), r);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Record::decode(&bytes);
        let _ = Record::decode_lenient(&bytes);
        if let Ok((env, _)) = Envelope::parse(&bytes) {
            let _ = env.header();
        }
        let _ = decode_record_frame(&mut bytes.clone());
        let mut dec = FrameDecoder::<128>::new();
        let mut input = &bytes[..];
        while let Some(r) = dec.feed(&mut input) {
            if let Ok(p) = r {
                let _ = Record::decode(p);
            }
        }
    }

    #[test]
    fn accepted_bytes_reencode_exactly(idx in 0usize..15, pos in 0usize..90, val in any::<u8>()) {
        // Mutate one byte of a golden envelope: whatever still decodes must re-encode to
        // the same bytes (canonical forms only).
        let canon = canonical_records();
        let c = &canon[idx % canon.len()];
        let mut env = [0u8; MAX_ENVELOPE_LEN];
        let n = c.record.encode(&mut env).unwrap();
        let mut bytes = env[..n].to_vec();
        let p = pos % n;
        bytes[p] = val;
        if let Ok(r) = Record::decode(&bytes) {
            let mut again = [0u8; MAX_ENVELOPE_LEN];
            let m = r.encode(&mut again).unwrap();
            prop_assert_eq!(&again[..m], &bytes[..]);
        }
    }
}

#[test]
fn every_truncation_of_every_golden_record_is_an_error() {
    for c in canonical_records() {
        let mut env = [0u8; MAX_ENVELOPE_LEN];
        let n = c.record.encode(&mut env).unwrap();
        for cut in 0..n {
            assert!(Record::decode(&env[..cut]).is_err(), "{} cut {cut}", c.name);
        }
    }
}
