//! The record model: append-only care-home TCM service records.
//!
//! A record is never edited in place; a correction is a new [`Correction`] record that
//! names the one it voids or amends. Every record carries a [`Header`] (id, resident,
//! time) and one [`Body`] of seven kinds. Bodies validate themselves against the domain
//! rules and reject implausible input with a specific [`ValidationError`].
//!
//! Encoding goes through [`Record::encode`] (into a caller buffer, no allocation) and
//! decoding through [`Record::decode`]; the envelope and frame layers live in
//! [`crate::wire`].

mod assessment;
mod correction;
mod error;
mod followup;
pub(crate) mod frame;
mod herbal;
mod resident;
mod treatment;
mod vitals;

use core::fmt;

pub use assessment::{ConstitutionRecord, GuidanceGiven, MAX_OTHER_GUIDANCE_LEN};
pub use correction::{Correction, CorrectionAction, CorrectionReason};
pub use error::ValidationError;
pub use followup::{ChronicCondition, ConditionControl, FollowUp, MAX_INTERVENTIONS};
pub use herbal::{HerbDose, HerbalEvent, HerbalStage, MAX_HERBS, MAX_HERB_NAME_LEN};
pub use resident::{ChronicConditions, ConsentFlags, ResidencyStatus, ResidentRegistration};
pub use treatment::{AdverseEvent, Treatment, TreatmentOutcome, MAX_ACUPOINTS};
pub use vitals::{
    GlucoseContext, MeasurementSource, TemperatureSite, VitalAlerts, VitalSigns,
    BRADYCARDIA_BELOW_PER_MIN, FASTING_GLUCOSE_HIGH_UMOL_L, FEVER_CENTI_C,
    HYPERTENSION_DIASTOLIC_MMHG, HYPERTENSION_SYSTOLIC_MMHG, HYPOGLYCEMIA_BELOW_UMOL_L,
    HYPOTENSION_SYSTOLIC_BELOW_MMHG, LOW_SPO2_BELOW_PERCENT, RANDOM_GLUCOSE_HIGH_UMOL_L,
    TACHYCARDIA_ABOVE_PER_MIN,
};

use crate::ids::{CareHomeId, DeviceId, Epoch, RecordId, ResidentNumber, ResidentRef, Seq};
use crate::time::{Timestamp, UtcSeconds, MIN_VALID_UTC};
use crate::wire::codec::{DecodeError, EncodeError, Reader, Writer};
use crate::wire::envelope::Envelope;

/// Capacity in UTF-8 bytes of free-text notes (treatment note, correction note...).
pub const MAX_NOTE_LEN: usize = 64;

/// Oldest plausible age in years; a birth date implying more is rejected.
pub const MAX_AGE_YEARS: u16 = 130;

/// Wire number of a record kind. Append-only: numbers are never reused or renumbered;
/// golden vectors in `tests/vectors` pin them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Kind {
    /// Resident registration / update.
    Resident = 1,
    /// Vital signs.
    Vitals = 2,
    /// Constitution assessment (33-item form).
    Constitution = 3,
    /// TCM technique treatment.
    Treatment = 4,
    /// Herbal prescription or decoction delivery event.
    Herbal = 5,
    /// Chronic-disease TCM follow-up.
    FollowUp = 6,
    /// Amend / void of an earlier record.
    Correction = 7,
}

impl Kind {
    /// All kinds in wire-number order.
    pub const ALL: [Kind; 7] = [
        Kind::Resident,
        Kind::Vitals,
        Kind::Constitution,
        Kind::Treatment,
        Kind::Herbal,
        Kind::FollowUp,
        Kind::Correction,
    ];

    /// The kind of a wire number, `None` for numbers this version does not know.
    pub fn from_u8(v: u8) -> Option<Kind> {
        Kind::ALL.get((v as usize).wrapping_sub(1)).copied()
    }

    /// Stable snake_case name used in JSON, Python and reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Resident => "resident",
            Kind::Vitals => "vitals",
            Kind::Constitution => "constitution",
            Kind::Treatment => "treatment",
            Kind::Herbal => "herbal",
            Kind::FollowUp => "follow_up",
            Kind::Correction => "correction",
        }
    }

    /// Upper bound of the encoded body length (header included) of this kind.
    pub const fn max_body_len(self) -> usize {
        match self {
            Kind::Resident => resident::MAX_FIELDS_LEN + Header::MAX_LEN,
            Kind::Vitals => vitals::MAX_FIELDS_LEN + Header::MAX_LEN,
            Kind::Constitution => assessment::MAX_FIELDS_LEN + Header::MAX_LEN,
            Kind::Treatment => treatment::MAX_FIELDS_LEN + Header::MAX_LEN,
            Kind::Herbal => herbal::MAX_FIELDS_LEN + Header::MAX_LEN,
            Kind::FollowUp => followup::MAX_FIELDS_LEN + Header::MAX_LEN,
            Kind::Correction => correction::MAX_FIELDS_LEN + Header::MAX_LEN,
        }
    }
}

/// What every record carries in front of its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// Unique id: origin device, epoch, sequence.
    pub id: RecordId,
    /// The resident the record is about.
    pub resident: ResidentRef,
    /// When the record was made.
    pub time: Timestamp,
}

impl Header {
    /// Maximum encoded length: five u32 varints and the longest time form.
    pub const MAX_LEN: usize = 5 * 5 + 1 + 5 + 5;

    /// Checks the reserved zero values.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.id.device.0 == 0 {
            return Err(ValidationError::DeviceIdZero);
        }
        if self.id.epoch.0 == 0 {
            return Err(ValidationError::EpochZero);
        }
        if self.id.seq.0 == 0 {
            return Err(ValidationError::SeqZero);
        }
        if self.resident.care_home.0 == 0 {
            return Err(ValidationError::CareHomeZero);
        }
        if self.resident.number.0 == 0 {
            return Err(ValidationError::ResidentNumberZero);
        }
        Ok(())
    }

    /// Writes the header: device, epoch, seq, care home, resident (varints), then time as
    /// a varint `t` where 0 = unknown (followed by boot and uptime varints) and otherwise
    /// `t - 1` = seconds since 2024-01-01T00:00:00Z.
    pub fn encode(&self, w: &mut Writer<'_>) {
        w.varint(self.id.device.0 as u64);
        w.varint(self.id.epoch.0 as u64);
        w.varint(self.id.seq.0 as u64);
        w.varint(self.resident.care_home.0 as u64);
        w.varint(self.resident.number.0 as u64);
        match self.time {
            Timestamp::Utc(t) => w.varint(t.unix() - MIN_VALID_UTC + 1),
            Timestamp::Unknown { boot, uptime_s } => {
                w.u8(0);
                w.varint(boot as u64);
                w.varint(uptime_s as u64);
            }
        }
    }

    /// Reads a header written by [`Header::encode`].
    pub fn decode(r: &mut Reader<'_>) -> Result<Header, DecodeError> {
        let device = DeviceId(r.varint_u32("header.device")?);
        let epoch = Epoch(r.varint_u32("header.epoch")?);
        let seq = Seq(r.varint_u32("header.seq")?);
        let care_home = CareHomeId(r.varint_u32("header.care_home")?);
        let number = ResidentNumber(r.varint_u32("header.resident")?);
        let t = r.varint_u64("header.time")?;
        let time = if t == 0 {
            Timestamp::Unknown {
                boot: r.varint_u32("header.boot")?,
                uptime_s: r.varint_u32("header.uptime")?,
            }
        } else {
            let unix = (t - 1)
                .checked_add(MIN_VALID_UTC)
                .ok_or(DecodeError::InvalidValue {
                    field: "header.time",
                })?;
            Timestamp::Utc(
                UtcSeconds::new(unix).map_err(|_| DecodeError::InvalidValue {
                    field: "header.time",
                })?,
            )
        };
        Ok(Header {
            id: RecordId { device, epoch, seq },
            resident: ResidentRef { care_home, number },
            time,
        })
    }
}

/// The body of a record: one of seven kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[allow(clippy::large_enum_variant)]
pub enum Body {
    /// Resident registration / update.
    Resident(ResidentRegistration),
    /// Vital signs.
    Vitals(VitalSigns),
    /// Constitution assessment.
    Constitution(ConstitutionRecord),
    /// TCM technique treatment.
    Treatment(Treatment),
    /// Herbal prescription / decoction delivery event.
    Herbal(HerbalEvent),
    /// Chronic-disease TCM follow-up.
    FollowUp(FollowUp),
    /// Amend / void of an earlier record.
    Correction(Correction),
}

impl Body {
    /// The wire kind of this body.
    pub fn kind(&self) -> Kind {
        match self {
            Body::Resident(_) => Kind::Resident,
            Body::Vitals(_) => Kind::Vitals,
            Body::Constitution(_) => Kind::Constitution,
            Body::Treatment(_) => Kind::Treatment,
            Body::Herbal(_) => Kind::Herbal,
            Body::FollowUp(_) => Kind::FollowUp,
            Body::Correction(_) => Kind::Correction,
        }
    }
}

/// Why a record could not be encoded or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RecordError {
    /// The bytes are malformed.
    Decode(DecodeError),
    /// The record breaks a domain rule.
    Invalid(ValidationError),
    /// The output buffer is too small.
    Encode(EncodeError),
    /// A well-formed envelope of a kind this version does not know; keep its bytes and
    /// forward them unchanged.
    UnknownKind(u8),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Decode(e) => write!(f, "malformed record: {e}"),
            RecordError::Invalid(e) => write!(f, "invalid record: {e}"),
            RecordError::Encode(e) => write!(f, "cannot encode record: {e}"),
            RecordError::UnknownKind(k) => write!(f, "unknown record kind {k}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RecordError {}

impl From<DecodeError> for RecordError {
    fn from(e: DecodeError) -> Self {
        RecordError::Decode(e)
    }
}
impl From<ValidationError> for RecordError {
    fn from(e: ValidationError) -> Self {
        RecordError::Invalid(e)
    }
}
impl From<EncodeError> for RecordError {
    fn from(e: EncodeError) -> Self {
        RecordError::Encode(e)
    }
}

/// A complete record: header and body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Record {
    /// Id, resident and time.
    pub header: Header,
    /// The kind-specific content.
    pub body: Body,
}

/// A decoded record and the bytes a newer writer appended to its body, which this
/// version does not understand but keeps for forwarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The record as this version understands it.
    pub record: Record,
    /// Body bytes after the fields this version knows (empty for same-version writers).
    pub extension: &'a [u8],
}

impl Record {
    /// The record's kind.
    pub fn kind(&self) -> Kind {
        self.body.kind()
    }

    /// Checks every domain rule of the header and the body.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.header.validate()?;
        match &self.body {
            Body::Resident(b) => b.validate(&self.header),
            Body::Vitals(b) => b.validate(),
            Body::Constitution(b) => b.validate(),
            Body::Treatment(b) => b.validate(),
            Body::Herbal(b) => b.validate(),
            Body::FollowUp(b) => b.validate(&self.header),
            Body::Correction(b) => b.validate(&self.header),
        }
    }

    fn encode_body(&self, w: &mut Writer<'_>) {
        self.header.encode(w);
        match &self.body {
            Body::Resident(b) => b.encode_fields(w),
            Body::Vitals(b) => b.encode_fields(w),
            Body::Constitution(b) => b.encode_fields(w),
            Body::Treatment(b) => b.encode_fields(w),
            Body::Herbal(b) => b.encode_fields(w),
            Body::FollowUp(b) => b.encode_fields(w),
            Body::Correction(b) => b.encode_fields(w),
        }
    }

    /// Validates and encodes the record as an envelope (kind, body length, body) into
    /// `buf`, returning the bytes written. A buffer of [`crate::wire::MAX_ENVELOPE_LEN`]
    /// always suffices; on a shorter one the error says how many bytes are needed.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, RecordError> {
        self.validate()?;
        Ok(self.encode_unchecked(buf)?)
    }

    /// Encodes without validating (used after a validated decode, and by tests that
    /// need deliberately invalid bytes).
    pub fn encode_unchecked(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        // Body first, 3 bytes in (kind + the longest body-length varint), then close
        // the gap if the length varint is shorter.
        const RESERVED: usize = 3;
        let (body_len, rest_ok) = match buf.get_mut(RESERVED..) {
            Some(rest) => {
                let mut w = Writer::new(rest);
                self.encode_body(&mut w);
                match w.finish() {
                    Ok(n) => (n, true),
                    Err(EncodeError::BufferTooSmall { needed }) => (needed, false),
                }
            }
            None => {
                let mut w = Writer::new(&mut []);
                self.encode_body(&mut w);
                match w.finish() {
                    Ok(n) | Err(EncodeError::BufferTooSmall { needed: n }) => (n, false),
                }
            }
        };
        let len_len = crate::wire::codec::varint_len(body_len as u64);
        let total = 1 + len_len + body_len;
        if !rest_ok || total > buf.len() {
            return Err(EncodeError::BufferTooSmall { needed: total });
        }
        buf.copy_within(RESERVED..RESERVED + body_len, 1 + len_len);
        let mut w = Writer::new(&mut buf[..1 + len_len]);
        w.u8(self.kind() as u8);
        w.varint(body_len as u64);
        w.finish()?;
        Ok(total)
    }

    /// A placeholder record (all ids zero, no measurement) used as the target of
    /// [`Record::decode_into`]. It does not validate.
    pub const fn placeholder() -> Record {
        Record {
            header: Header {
                id: RecordId {
                    device: DeviceId(0),
                    epoch: Epoch(0),
                    seq: Seq(0),
                },
                resident: ResidentRef {
                    care_home: CareHomeId(0),
                    number: ResidentNumber(0),
                },
                time: Timestamp::Unknown {
                    boot: 0,
                    uptime_s: 0,
                },
            },
            body: Body::Vitals(VitalSigns {
                systolic_mmhg: None,
                diastolic_mmhg: None,
                pulse_per_min: None,
                spo2_percent: None,
                temperature_centi_c: None,
                temperature_site: vitals::TemperatureSite::Forehead,
                weight_g: None,
                height_mm: None,
                waist_mm: None,
                glucose_umol_l: None,
                glucose_context: vitals::GlucoseContext::Random,
                source: vitals::MeasurementSource::KioskSensor,
            }),
        }
    }

    /// Decodes and validates one envelope that must span all of `bytes`. Body bytes
    /// after the fields this version knows are an error here (see
    /// [`Record::decode_lenient`]), so every accepted input re-encodes byte-exact.
    pub fn decode(bytes: &[u8]) -> Result<Record, RecordError> {
        let mut out = Record::placeholder();
        Record::decode_into(bytes, &mut out)?;
        Ok(out)
    }

    /// Like [`Record::decode`] but writes into an existing record. A record with all its
    /// fixed capacities is large (about 1.4 KB); decoding in place avoids moving it and is
    /// the fast path for bulk decoding. On error `out` holds an unspecified valid value.
    pub fn decode_into(bytes: &[u8], out: &mut Record) -> Result<(), RecordError> {
        let env = Envelope::parse_exact(bytes)?;
        let rest = Record::decode_envelope_into(&env, out)?;
        if !rest.is_empty() {
            return Err(RecordError::Decode(DecodeError::TrailingBytes {
                field: "body",
            }));
        }
        Ok(())
    }

    /// Decodes and validates one envelope spanning all of `bytes`, keeping body bytes
    /// after the known fields as an extension (a newer writer's additions).
    pub fn decode_lenient(bytes: &[u8]) -> Result<Decoded<'_>, RecordError> {
        let env = Envelope::parse_exact(bytes)?;
        Record::from_envelope(&env)
    }

    /// Decodes and validates the body of a parsed envelope (lenient: see
    /// [`Record::decode_lenient`]).
    pub fn from_envelope<'a>(env: &Envelope<'a>) -> Result<Decoded<'a>, RecordError> {
        let mut record = Record::placeholder();
        let extension = Record::decode_envelope_into(env, &mut record)?;
        Ok(Decoded { record, extension })
    }

    /// Decodes the envelope's body into `out`, returning the unread extension bytes.
    fn decode_envelope_into<'a>(
        env: &Envelope<'a>,
        out: &mut Record,
    ) -> Result<&'a [u8], RecordError> {
        let kind = Kind::from_u8(env.kind).ok_or(RecordError::UnknownKind(env.kind))?;
        let mut r = Reader::new(env.body);
        out.header = Header::decode(&mut r)?;
        out.header.validate()?;
        let header = &out.header;
        // Each arm validates the small per-kind value before writing it into the large
        // body enum in place.
        match kind {
            Kind::Resident => {
                let b = ResidentRegistration::decode_fields(&mut r)?;
                b.validate(header)?;
                out.body = Body::Resident(b);
            }
            Kind::Vitals => {
                let b = VitalSigns::decode_fields(&mut r)?;
                b.validate()?;
                out.body = Body::Vitals(b);
            }
            Kind::Constitution => {
                let b = ConstitutionRecord::decode_fields(&mut r)?;
                b.validate()?;
                out.body = Body::Constitution(b);
            }
            Kind::Treatment => {
                let b = Treatment::decode_fields(&mut r)?;
                b.validate()?;
                out.body = Body::Treatment(b);
            }
            Kind::Herbal => {
                let b = HerbalEvent::decode_fields(&mut r)?;
                b.validate()?;
                out.body = Body::Herbal(b);
            }
            Kind::FollowUp => {
                let b = FollowUp::decode_fields(&mut r)?;
                b.validate(header)?;
                out.body = Body::FollowUp(b);
            }
            Kind::Correction => {
                let b = Correction::decode_fields(&mut r)?;
                b.validate(header)?;
                out.body = Body::Correction(b);
            }
        }
        Ok(r.rest())
    }
}

/// Copies `s` into a bounded string, failing instead of truncating (for bindings that
/// build records from host strings).
pub fn bounded_str<const N: usize>(
    s: &str,
    field: &'static str,
) -> Result<heapless::String<N>, ValidationError> {
    let mut out = heapless::String::new();
    out.push_str(s)
        .map_err(|_| ValidationError::TextTooLong { field, max: N })?;
    Ok(out)
}

/// Reads a length-prefixed string into a bounded string.
pub(crate) fn read_bounded_str<const N: usize>(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<heapless::String<N>, DecodeError> {
    let s = r.str(N, field)?;
    let mut out = heapless::String::new();
    out.push_str(s)
        .map_err(|_| DecodeError::InvalidValue { field })?;
    Ok(out)
}

/// Writes an optional date as a varint: 0 = none, otherwise days since 1900-01-01 + 1.
pub(crate) fn write_opt_date(w: &mut Writer<'_>, d: Option<crate::time::Date>) {
    match d {
        None => w.u8(0),
        Some(d) => w.varint((d.days_since_unix_epoch() - DAYS_1900_TO_1970 + 1) as u64),
    }
}

/// Reads a date written by [`write_opt_date`].
pub(crate) fn read_opt_date(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<Option<crate::time::Date>, DecodeError> {
    let v = r.varint_u32(field)?;
    if v == 0 {
        return Ok(None);
    }
    crate::time::Date::from_days_since_unix_epoch(v as i64 - 1 + DAYS_1900_TO_1970)
        .map(Some)
        .ok_or(DecodeError::InvalidValue { field })
}

/// Days from 1970-01-01 back to 1900-01-01 (negative).
const DAYS_1900_TO_1970: i64 = -25_567;

/// Writes a record id as three varints.
pub(crate) fn write_record_id(w: &mut Writer<'_>, id: &RecordId) {
    w.varint(id.device.0 as u64);
    w.varint(id.epoch.0 as u64);
    w.varint(id.seq.0 as u64);
}

/// Reads a record id written by [`write_record_id`].
pub(crate) fn read_record_id(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<RecordId, DecodeError> {
    Ok(RecordId {
        device: DeviceId(r.varint_u32(field)?),
        epoch: Epoch(r.varint_u32(field)?),
        seq: Seq(r.varint_u32(field)?),
    })
}

/// Validation of a record id named inside a body (target of a correction...).
pub(crate) fn validate_ref(id: &RecordId) -> Result<(), ValidationError> {
    if id.device.0 == 0 {
        return Err(ValidationError::DeviceIdZero);
    }
    if id.epoch.0 == 0 {
        return Err(ValidationError::EpochZero);
    }
    if id.seq.0 == 0 {
        return Err(ValidationError::SeqZero);
    }
    Ok(())
}
