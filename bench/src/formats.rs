//! Size, encode and decode time of every canonical record in tcmcare and the other
//! formats.

use std::collections::BTreeMap;

use prost::Message as _;
use tcmcare_core::record::{Kind, Record};
use tcmcare_core::wire::{
    decode_frame, encode_record_frame, MAX_ENVELOPE_LEN, MAX_RECORD_FRAME_LEN,
};

use crate::mirror::{pb, to_proto, to_serde, SRecord};
use crate::timing::{measure, Timing};

/// The formats compared, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// tcmcare envelope (`Record::encode` / `Record::decode_into`).
    Envelope,
    /// tcmcare frame: envelope + CRC-32C + COBS + delimiter.
    Frame,
    /// Protocol Buffers (prost).
    Proto,
    /// MessagePack (rmp-serde defaults: structs as arrays).
    MsgPack,
    /// CBOR (ciborium: structs as maps keyed by field name).
    Cbor,
    /// Plain JSON of the same structs (serde_json).
    Json,
    /// FHIR R4 JSON (the Python package's `to_fhir`).
    Fhir,
}

impl Format {
    /// All formats in table order.
    pub const ALL: [Format; 7] = [
        Format::Envelope,
        Format::Frame,
        Format::Proto,
        Format::MsgPack,
        Format::Cbor,
        Format::Json,
        Format::Fhir,
    ];

    /// Column title.
    pub fn title(self) -> &'static str {
        match self {
            Format::Envelope => "tcmcare envelope",
            Format::Frame => "tcmcare frame",
            Format::Proto => "Protobuf",
            Format::MsgPack => "MessagePack",
            Format::Cbor => "CBOR",
            Format::Json => "JSON (same structs)",
            Format::Fhir => "FHIR R4 JSON",
        }
    }

    /// Index in [`Format::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Measurements of one canonical record.
#[derive(Debug, Clone)]
pub struct Row {
    /// Vector name.
    pub name: &'static str,
    /// Record kind.
    pub kind: Kind,
    /// Encoded bytes per format (`None`: no encoding, e.g. FHIR of a correction).
    pub size: [Option<usize>; 7],
    /// Encode time per format.
    pub encode: [Option<Timing>; 7],
    /// Decode time per format (tcmcare: `Record::decode_into`; frame: deframe +
    /// `decode_into`).
    pub decode: [Option<Timing>; 7],
    /// `Record::decode` (returns the record by value).
    pub decode_by_value: Timing,
}

/// FHIR JSON of the canonical records, by vector name (`None`: the record has no FHIR
/// resource of its own).
pub type FhirTexts = BTreeMap<String, Option<String>>;

fn err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> String {
    move |e| format!("{what}: {e}")
}

/// Measures every canonical record. `fhir` holds the FHIR JSON texts when available.
/// `progress` is told each record's name.
pub fn measure_all(
    fhir: Option<&FhirTexts>,
    mut progress: impl FnMut(&str),
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for c in tcmcare_conformance::canonical_records() {
        progress(c.name);
        rows.push(measure_record(c.name, &c.record, fhir)?);
    }
    Ok(rows)
}

fn measure_record(
    name: &'static str,
    record: &Record,
    fhir: Option<&FhirTexts>,
) -> Result<Row, String> {
    let mut size = [None; 7];
    let mut encode = [None; 7];
    let mut decode = [None; 7];

    // tcmcare envelope.
    let mut env_buf = [0u8; MAX_ENVELOPE_LEN];
    let n = record.encode(&mut env_buf).map_err(err("tcmcare encode"))?;
    let env = env_buf[..n].to_vec();
    if Record::decode(&env).map_err(err("tcmcare decode"))? != *record {
        return Err(format!("{name}: tcmcare round trip differs"));
    }
    size[Format::Envelope.index()] = Some(env.len());
    encode[Format::Envelope.index()] = Some(measure(|| record.encode(&mut env_buf)));
    let mut out = Record::placeholder();
    decode[Format::Envelope.index()] = Some(measure(|| Record::decode_into(&env, &mut out)));
    let decode_by_value = measure(|| Record::decode(&env));

    // tcmcare frame.
    let mut frame_buf = [0u8; MAX_RECORD_FRAME_LEN];
    let n = encode_record_frame(record, &mut frame_buf).map_err(err("frame encode"))?;
    let frame = frame_buf[..n].to_vec();
    let mut scratch = frame.clone();
    size[Format::Frame.index()] = Some(frame.len());
    encode[Format::Frame.index()] = Some(measure(|| encode_record_frame(record, &mut frame_buf)));
    let deframe = |scratch: &mut Vec<u8>, out: &mut Record| -> Result<(), String> {
        scratch.copy_from_slice(&frame);
        let payload = decode_frame(scratch).map_err(err("deframe"))?;
        Record::decode_into(payload, out).map_err(err("frame record"))
    };
    deframe(&mut scratch, &mut out)?;
    if out != *record {
        return Err(format!("{name}: frame round trip differs"));
    }
    decode[Format::Frame.index()] = Some(measure(|| deframe(&mut scratch, &mut out)));

    let s = to_serde(record);
    let p = to_proto(record);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);

    // Protocol Buffers.
    p.encode(&mut buf).map_err(err("prost encode"))?;
    let bytes = buf.clone();
    if pb::Record::decode(bytes.as_slice()).map_err(err("prost decode"))? != p {
        return Err(format!("{name}: protobuf round trip differs"));
    }
    size[Format::Proto.index()] = Some(bytes.len());
    encode[Format::Proto.index()] = Some(measure(|| {
        buf.clear();
        p.encode(&mut buf)
    }));
    decode[Format::Proto.index()] = Some(measure(|| pb::Record::decode(bytes.as_slice())));

    // MessagePack.
    buf.clear();
    rmp_serde::encode::write(&mut buf, &s).map_err(err("rmp encode"))?;
    let bytes = buf.clone();
    if rmp_serde::from_slice::<SRecord>(&bytes).map_err(err("rmp decode"))? != s {
        return Err(format!("{name}: MessagePack round trip differs"));
    }
    size[Format::MsgPack.index()] = Some(bytes.len());
    encode[Format::MsgPack.index()] = Some(measure(|| {
        buf.clear();
        rmp_serde::encode::write(&mut buf, &s)
    }));
    decode[Format::MsgPack.index()] = Some(measure(|| rmp_serde::from_slice::<SRecord>(&bytes)));

    // CBOR.
    buf.clear();
    ciborium::into_writer(&s, &mut buf).map_err(err("cbor encode"))?;
    let bytes = buf.clone();
    if ciborium::from_reader::<SRecord, _>(bytes.as_slice()).map_err(err("cbor decode"))? != s {
        return Err(format!("{name}: CBOR round trip differs"));
    }
    size[Format::Cbor.index()] = Some(bytes.len());
    encode[Format::Cbor.index()] = Some(measure(|| {
        buf.clear();
        ciborium::into_writer(&s, &mut buf)
    }));
    decode[Format::Cbor.index()] = Some(measure(|| {
        ciborium::from_reader::<SRecord, _>(bytes.as_slice())
    }));

    // Plain JSON of the same structs.
    buf.clear();
    serde_json::to_writer(&mut buf, &s).map_err(err("json encode"))?;
    let bytes = buf.clone();
    if serde_json::from_slice::<SRecord>(&bytes).map_err(err("json decode"))? != s {
        return Err(format!("{name}: JSON round trip differs"));
    }
    size[Format::Json.index()] = Some(bytes.len());
    encode[Format::Json.index()] = Some(measure(|| {
        buf.clear();
        serde_json::to_writer(&mut buf, &s)
    }));
    decode[Format::Json.index()] = Some(measure(|| serde_json::from_slice::<SRecord>(&bytes)));

    // FHIR R4 JSON, as a generic JSON tree.
    if let Some(Some(text)) = fhir.and_then(|f| f.get(name)) {
        let bytes = text.as_bytes();
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(err("FHIR JSON parse"))?;
        size[Format::Fhir.index()] = Some(bytes.len());
        encode[Format::Fhir.index()] = Some(measure(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, &value)
        }));
        decode[Format::Fhir.index()] = Some(measure(|| {
            serde_json::from_slice::<serde_json::Value>(bytes)
        }));
    }

    Ok(Row {
        name,
        kind: record.kind(),
        size,
        encode,
        decode,
        decode_by_value,
    })
}
