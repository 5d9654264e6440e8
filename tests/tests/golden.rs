//! Golden wire vectors: `tests/vectors/manifest.json` pins the bytes of every record kind,
//! an unknown kind, a newer (longer) body and corrupted frames. Every part (Rust, C,
//! Python, firmware) decodes the same bytes the same way.
//!
//! The manifest is written only deliberately, with `TCMCARE_REGEN_VECTORS=1 cargo test
//! -p tcmcare-conformance --test golden`, together with a schema-version bump and a
//! CHANGELOG entry.

use serde_json::{json, Value};
use tcmcare_conformance::{canonical_records, header, hex, unhex, T_2026_03_15_0830Z};
use tcmcare_core::record::{Record, RecordError};
use tcmcare_core::wire::{
    decode_frame, decode_record_frame, encode_frame, encode_record_frame, max_frame_len,
    DecodeError, Envelope, FrameError, RecordFrameError, Writer, MAX_ENVELOPE_LEN,
    MAX_RECORD_FRAME_LEN,
};

const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/manifest.json");

fn frame_of(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; max_frame_len(payload.len())];
    let n = encode_frame(payload, &mut out).unwrap();
    out.truncate(n);
    out
}

/// The unknown-kind vector: kind 200, a valid header, then bytes this version cannot read.
fn unknown_kind_envelope() -> Vec<u8> {
    let mut body = [0u8; 64];
    let mut w = Writer::new(&mut body);
    header(7, 44, 1234, T_2026_03_15_0830Z).encode(&mut w);
    w.raw(&[0x01, 0x02, 0x03]);
    let n = w.finish().unwrap();
    let mut env = vec![200u8, n as u8];
    env.extend_from_slice(&body[..n]);
    env
}

fn build_manifest() -> Value {
    let mut vectors = Vec::new();
    for c in canonical_records() {
        let mut env = [0u8; MAX_ENVELOPE_LEN];
        let n = c
            .record
            .encode(&mut env)
            .expect("canonical records are valid");
        vectors.push(json!({
            "name": c.name,
            "kind": c.record.kind() as u8,
            "kind_name": c.record.kind().name(),
            "description": c.description,
            "envelope_hex": hex(&env[..n]),
            "frame_hex": hex(&frame_of(&env[..n])),
            "expect": "ok",
        }));
    }
    let unknown = unknown_kind_envelope();
    vectors.push(json!({
        "name": "unknown-kind-200",
        "kind": 200,
        "kind_name": null,
        "description": "kind 200 (unknown to schema 1): header of device 7 epoch 1 seq 44, resident 3101:1234, 2026-03-15T08:30:00Z, then bytes 01 02 03. Readers keep and forward the envelope unchanged.",
        "envelope_hex": hex(&unknown),
        "frame_hex": hex(&frame_of(&unknown)),
        "expect": "unknown_kind",
    }));
    // A newer writer appended two bytes to the vitals body.
    let vitals = canonical_records()
        .into_iter()
        .find(|c| c.name == "vitals-bp-pulse-spo2-temp")
        .unwrap();
    let mut env = [0u8; MAX_ENVELOPE_LEN];
    let n = vitals.record.encode(&mut env).unwrap();
    let mut longer = vec![env[0], env[1] + 2];
    longer.extend_from_slice(&env[2..n]);
    longer.extend_from_slice(&[0xAA, 0x55]);
    vectors.push(json!({
        "name": "vitals-longer-body",
        "kind": 2,
        "kind_name": "vitals",
        "description": "vitals-bp-pulse-spo2-temp with two extension bytes AA 55 appended by a newer writer (body_len + 2). Lenient readers decode the known fields and keep the extension; strict decode reports trailing bytes.",
        "envelope_hex": hex(&longer),
        "frame_hex": hex(&frame_of(&longer)),
        "expect": "extension",
    }));
    let mut corrupt = frame_of(&env[..n]);
    corrupt[6] ^= 0x04;
    vectors.push(json!({
        "name": "vitals-corrupted-crc",
        "kind": 2,
        "kind_name": "vitals",
        "description": "frame of vitals-bp-pulse-spo2-temp with bit 2 of byte 6 flipped: the CRC-32C no longer matches.",
        "envelope_hex": null,
        "frame_hex": hex(&corrupt),
        "expect": "crc_error",
    }));
    let mut truncated = frame_of(&env[..n]);
    truncated.drain(10..truncated.len() - 1);
    vectors.push(json!({
        "name": "vitals-truncated-frame",
        "kind": 2,
        "kind_name": "vitals",
        "description": "frame of vitals-bp-pulse-spo2-temp with bytes 10.. cut before the delimiter: COBS or CRC check fails.",
        "envelope_hex": null,
        "frame_hex": hex(&truncated),
        "expect": "frame_error",
    }));
    json!({
        "schema_version": tcmcare_core::SCHEMA_VERSION,
        "format": "frame = COBS(envelope | CRC-32C(envelope) u32 LE) 00; envelope = kind u8 | body_len varint | body; body = header | fields (see core/src/wire/mod.rs)",
        "vectors": vectors,
    })
}

fn manifest() -> Value {
    if std::env::var("TCMCARE_REGEN_VECTORS").as_deref() == Ok("1") {
        let m = build_manifest();
        std::fs::write(MANIFEST, serde_json::to_string_pretty(&m).unwrap() + "\n").unwrap();
    }
    let text = std::fs::read_to_string(MANIFEST).expect("tests/vectors/manifest.json");
    serde_json::from_str(&text).expect("manifest is JSON")
}

fn vectors() -> Vec<Value> {
    manifest()["vectors"].as_array().unwrap().clone()
}

#[test]
fn manifest_matches_the_canonical_records() {
    // The committed bytes are the contract: a code change that alters them fails here.
    let built = build_manifest();
    let committed = manifest();
    assert_eq!(
        built, committed,
        "wire bytes changed: bump SCHEMA_VERSION, regenerate deliberately, explain in CHANGELOG.md"
    );
}

#[test]
fn every_kind_has_two_vectors() {
    let v = vectors();
    for kind in 1..=7u64 {
        let n = v
            .iter()
            .filter(|x| x["kind"] == kind && x["expect"] == "ok")
            .count();
        assert!(n >= 2, "kind {kind} has {n} vectors");
    }
}

#[test]
fn ok_vectors_decode_and_reencode_byte_exact() {
    let canon = canonical_records();
    for v in vectors().iter().filter(|v| v["expect"] == "ok") {
        let name = v["name"].as_str().unwrap();
        let frame = unhex(v["frame_hex"].as_str().unwrap()).unwrap();
        let record = decode_record_frame(&mut frame.clone()).unwrap();
        let expected = &canon.iter().find(|c| c.name == name).unwrap().record;
        assert_eq!(&record, expected, "{name}");
        let mut out = [0u8; MAX_RECORD_FRAME_LEN];
        let n = encode_record_frame(&record, &mut out).unwrap();
        assert_eq!(hex(&out[..n]), v["frame_hex"].as_str().unwrap(), "{name}");
        let env = unhex(v["envelope_hex"].as_str().unwrap()).unwrap();
        assert_eq!(Record::decode(&env).unwrap(), record);
        assert_eq!(v["kind"].as_u64().unwrap(), env[0] as u64);
    }
}

#[test]
fn vitals_envelope_bytes_written_out_by_hand() {
    // Layout of core/src/wire + record/vitals.rs, written out field by field:
    let expected: [u8; 20] = [
        0x02, // kind 2 = vitals
        0x12, // body length 18
        0x07, // device 7
        0x01, // epoch 1
        0x2A, // seq 42
        0x9D, 0x18, // care home 3101 = 24*128 + 29
        0xD2, 0x09, // resident 1234 = 9*128 + 82
        // time: 1_773_563_400 - 1_704_067_200 + 1 = 69_496_201 as LEB128
        0x89, 0xDB, 0x91, 0x21,
        0x1F, // presence: systolic, diastolic, pulse, SpO2, temperature; source 0 (kiosk)
        0x10, // systolic 128 = 120 + 8 -> zigzag 16
        0x04, // diastolic 82 = 80 + 2 -> zigzag 4
        0x08, // pulse 76 = 72 + 4 -> zigzag 8
        0x00, // SpO2 97 = 97 + 0
        0x14, // temperature 36.60 °C = 3650 + 10 -> zigzag 20
        0x00, // site forehead
    ];
    let v = vectors();
    let vitals = v
        .iter()
        .find(|v| v["name"] == "vitals-bp-pulse-spo2-temp")
        .unwrap();
    assert_eq!(
        unhex(vitals["envelope_hex"].as_str().unwrap()).unwrap(),
        expected
    );
    // Targets of the foundation issue: <= 20 B envelope, <= 28 B frame.
    assert!(expected.len() <= 20);
    assert!(unhex(vitals["frame_hex"].as_str().unwrap()).unwrap().len() <= 28);
}

#[test]
fn constitution_envelope_within_28_bytes() {
    for v in vectors().iter().filter(|v| v["kind"] == 3) {
        let env = unhex(v["envelope_hex"].as_str().unwrap()).unwrap();
        if v["name"] == "constitution-qixu" {
            assert!(env.len() <= 28, "{} bytes", env.len());
        }
    }
}

#[test]
fn unknown_kind_is_kept_with_its_header() {
    let v = vectors();
    let u = v.iter().find(|v| v["expect"] == "unknown_kind").unwrap();
    let mut frame = unhex(u["frame_hex"].as_str().unwrap()).unwrap();
    let payload = decode_frame(&mut frame).unwrap().to_vec();
    assert_eq!(payload, unhex(u["envelope_hex"].as_str().unwrap()).unwrap());
    assert_eq!(Record::decode(&payload), Err(RecordError::UnknownKind(200)));
    let env = Envelope::parse_exact(&payload).unwrap();
    let h = env.header().unwrap();
    assert_eq!((h.id.device.0, h.id.epoch.0, h.id.seq.0), (7, 1, 44));
    // Forwarding writes the same bytes.
    let mut out = [0u8; 64];
    let mut w = Writer::new(&mut out);
    env.write(&mut w);
    let n = w.finish().unwrap();
    assert_eq!(&out[..n], &payload[..]);
}

#[test]
fn longer_body_keeps_its_extension() {
    let v = vectors();
    let x = v.iter().find(|v| v["expect"] == "extension").unwrap();
    let env = unhex(x["envelope_hex"].as_str().unwrap()).unwrap();
    let d = Record::decode_lenient(&env).unwrap();
    assert_eq!(d.extension, &[0xAA, 0x55]);
    let canon = canonical_records();
    let vitals = canon
        .iter()
        .find(|c| c.name == "vitals-bp-pulse-spo2-temp")
        .unwrap();
    assert_eq!(d.record, vitals.record);
    assert_eq!(
        Record::decode(&env),
        Err(RecordError::Decode(DecodeError::TrailingBytes {
            field: "body"
        }))
    );
}

#[test]
fn corrupted_frames_are_rejected() {
    let v = vectors();
    let crc = v.iter().find(|v| v["expect"] == "crc_error").unwrap();
    let mut f = unhex(crc["frame_hex"].as_str().unwrap()).unwrap();
    assert!(matches!(
        decode_record_frame(&mut f),
        Err(RecordFrameError::Frame(FrameError::Crc { .. }))
    ));
    let t = v.iter().find(|v| v["expect"] == "frame_error").unwrap();
    let mut f = unhex(t["frame_hex"].as_str().unwrap()).unwrap();
    assert!(matches!(
        decode_record_frame(&mut f),
        Err(RecordFrameError::Frame(_))
    ));
}
