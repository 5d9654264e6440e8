//! `tcm_status`: the one result type of every function, its messages, and the per-thread
//! detail of the last failure.
//!
//! Numbers are grouped by origin and pinned: a number is never reused or renumbered, new
//! statuses take the next free number of their group.
//!
//! | Range | Group |
//! |-------|-------|
//! | 0..=99 | success and "no result yet" |
//! | 100..=199 | call errors: null pointer, short buffer, bad argument, panic |
//! | 200..=299 | malformed bytes: envelope / body decoding, frames |
//! | 300..=399 | record validation, one per rule |
//! | 400..=499 | IEEE 11073 special values and Bluetooth GATT parsing |
//! | 500..=599 | sync: outbox and sender |
//! | 600..=699 | resident ID numbers |
//! | 700..=799 | times and dates |
//! | 800..=899 | sealed frames: keys, authentication, replay, provisioning |
//! | 900..=999 | misuse of the API: handles re-entered, of the wrong type, not live |

use std::cell::RefCell;
use std::fmt::{self, Write as _};

use tcmcare_core::codes::acupoint::AcupointError;
use tcmcare_core::codes::rule::{Rule, BMI_OUT_OF_RANGE, FIRST_RULE_STATUS, RULES};
use tcmcare_core::constitution::MeasurementError;
use tcmcare_core::gatt::GattError;
use tcmcare_core::id_number::IdNumberError;
use tcmcare_core::ieee11073::Special;
use tcmcare_core::record::{RecordError, ValidationError};
use tcmcare_core::time::TimeError;
use tcmcare_core::wire::{DecodeError, EncodeError, FrameError};

use crate::buffer;

/// Result of every `tcm_*` function. `TCM_STATUS_OK` (0) is success; every other value
/// says what went wrong. Numbers are stable across versions and never reused.
/// `tcm_status_message()` writes the message of a status.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum tcm_status {
    /// Success.
    Ok = 0,
    /// The input ended without completing a frame; every byte was consumed and buffered.
    /// Feed more input (not an error).
    NeedMoreInput = 1,

    /// A required pointer argument is NULL.
    NullPointer = 100,
    /// The caller's output buffer is too small; the length out-parameter holds the size
    /// needed.
    BufferTooSmall = 101,
    /// An argument is outside its allowed values (an unknown enum code, a kind that is
    /// not 1..=7...). `tcm_last_error_detail()` names it.
    InvalidArgument = 102,
    /// The library hit an internal bug and recovered; please report it.
    Panic = 103,
    /// A text field of an input struct has no NUL terminator within its array.
    TextNotTerminated = 104,
    /// A text field or argument is not valid UTF-8.
    TextNotUtf8 = 105,
    /// Decoded text contains a NUL byte, which a NUL-terminated C string cannot hold
    /// (the record is refused rather than truncated; keep its bytes).
    TextContainsNul = 106,

    /// The bytes end inside a field.
    DecodeTruncated = 200,
    /// A varint is longer than its type allows.
    DecodeVarintOverflow = 201,
    /// A varint has redundant continuation bytes (not the shortest form).
    DecodeNonCanonicalVarint = 202,
    /// A string field on the wire is not valid UTF-8.
    DecodeInvalidUtf8 = 203,
    /// A length, count or code on the wire is outside what the schema allows.
    DecodeInvalidValue = 204,
    /// Bytes left over after a complete structure (for a longer body of a known kind,
    /// see `tcm_record_decode_lenient()`).
    DecodeTrailingBytes = 205,
    /// A well-formed envelope of a record kind this version does not know. The header is
    /// filled in; store and forward the envelope bytes unchanged.
    UnknownKind = 206,
    /// An empty frame (two delimiters in a row).
    FrameEmpty = 220,
    /// Not valid COBS.
    FrameCobs = 221,
    /// A frame shorter than its CRC.
    FrameTooShort = 222,
    /// The frame CRC does not match: the frame was corrupted.
    FrameCrc = 223,
    /// A frame longer than the decoder's buffer; it was skipped up to the next delimiter.
    FrameTooLong = 224,

    /// Device id 0 is reserved.
    DeviceIdZero = 300,
    /// Epoch 0 is reserved.
    EpochZero = 301,
    /// Sequence number 0 is reserved.
    SeqZero = 302,
    /// Care home id 0 is reserved.
    CareHomeZero = 303,
    /// Resident number 0 is reserved.
    ResidentNumberZero = 304,
    /// A staff signature (assessor, practitioner, clinician, actor) is missing.
    StaffMissing = 305,
    /// A text field is longer than its capacity.
    TextTooLong = 306,
    /// A text field that must not be empty is empty.
    TextEmpty = 307,
    /// A list has more entries than its capacity.
    TooMany = 308,
    /// Birth date after the record date or implying an age over 130.
    BirthDateImplausible = 309,
    /// A vital-signs record without any measurement.
    NoMeasurement = 310,
    /// Only one of systolic / diastolic given.
    BloodPressureIncomplete = 311,
    /// Systolic pressure out of range.
    SystolicOutOfRange = 312,
    /// Diastolic pressure out of range.
    DiastolicOutOfRange = 313,
    /// Diastolic pressure not below systolic.
    DiastolicNotBelowSystolic = 314,
    /// Pulse rate out of range.
    PulseOutOfRange = 315,
    /// SpO2 out of range.
    Spo2OutOfRange = 316,
    /// Body temperature out of range.
    TemperatureOutOfRange = 317,
    /// Body weight out of range.
    WeightOutOfRange = 318,
    /// Body height out of range.
    HeightOutOfRange = 319,
    /// Waist circumference out of range.
    WaistOutOfRange = 320,
    /// Blood glucose out of range.
    GlucoseOutOfRange = 321,
    /// A constitution answer outside 1..=5.
    AnswerOutOfRange = 322,
    /// Guidance recorded for a constitution the assessment did not identify.
    GuidanceForUnidentified = 323,
    /// The same constitution twice in the guidance list.
    DuplicateGuidance = 324,
    /// A guidance entry with no category ticked.
    GuidanceEmpty = 325,
    /// "Other" guidance ticked without its text, or text without "other".
    OtherGuidanceText = 326,
    /// An acupoint code that is not a valid WHO code.
    InvalidAcupoint = 327,
    /// The same acupoint listed twice.
    DuplicateAcupoint = 328,
    /// The technique requires at least one acupoint.
    AcupointsRequired = 329,
    /// Acupoints recorded for a technique that does not use them.
    AcupointsNotApplicable = 330,
    /// Treatment duration out of range (or non-zero for a refused treatment).
    DurationOutOfRange = 331,
    /// A prescription without herbs.
    NoHerbs = 332,
    /// A herb listed twice in one prescription.
    DuplicateHerb = 333,
    /// A herb dose out of range.
    HerbDoseOutOfRange = 334,
    /// Number of doses out of range.
    DoseCountOutOfRange = 335,
    /// Herb list / prescription reference inconsistent with the herbal stage.
    HerbalStageMismatch = 336,
    /// A follow-up with neither guidance nor intervention.
    FollowUpEmpty = 337,
    /// The same intervention listed twice.
    DuplicateIntervention = 338,
    /// Next visit not after the follow-up's date.
    NextVisitNotAfterVisit = 339,
    /// A correction that names its own record.
    CorrectionTargetsItself = 340,
    /// An amendment whose replacement is its target.
    AmendmentReplacementInvalid = 341,
    /// A BMI outside 4.13..=300.00 kg/m² (the BMIs of the plausible weight and height
    /// extremes).
    BmiOutOfRange = 342,

    /// IEEE 11073 NaN (not a number): the device has no valid value.
    NumberNan = 400,
    /// IEEE 11073 NRes (not at this resolution).
    NumberNres = 401,
    /// IEEE 11073 +INFINITY: above the device's measuring range.
    NumberPositiveInfinity = 402,
    /// IEEE 11073 -INFINITY: below the device's measuring range.
    NumberNegativeInfinity = 403,
    /// The IEEE 11073 reserved special value.
    NumberReserved = 404,
    /// A GATT measurement shorter than its flags require.
    GattTruncated = 410,
    /// A GATT measurement longer than its flags announce.
    GattTrailingBytes = 411,
    /// Reserved GATT flag bits are set.
    GattReservedFlags = 412,
    /// A GATT value negative where unsigned, or out of range after unit conversion.
    GattValueOutOfRange = 413,
    /// The device reported the measurement as unsuccessful.
    GattMeasurementUnsuccessful = 414,
    /// A GATT time stamp that is not a valid date and time.
    GattInvalidTimestamp = 415,
    /// A mandatory GATT time stamp with unknown year, month or day.
    GattTimestampNotKnown = 416,
    /// A temperature type code outside 1..=9.
    GattUnknownTemperatureType = 417,
    /// A characteristic UUID that is not a supported measurement.
    GattUnknownCharacteristic = 418,

    /// The outbox is full: the record was not stored and nothing was overwritten. Retry
    /// after the receiver acknowledges, or decide what to do with the record.
    OutboxFull = 500,
    /// An envelope longer than an outbox entry may be.
    EntryTooLarge = 501,
    /// An envelope that could never be sent in a batch within the sender's MTU.
    EntryExceedsMtu = 502,
    /// A record of this device must carry the outbox's epoch and next sequence number
    /// (`tcm_sender_next_seq()`).
    SeqMismatch = 503,
    /// The 32-bit position space of this epoch is used up: start a new epoch.
    PositionsExhausted = 504,
    /// Device id 0 or epoch 0 given to a sender.
    InvalidIdentity = 505,
    /// The outbox storage belongs to another device.
    DeviceMismatch = 506,
    /// The outbox storage cannot be resumed safely (entries without meta, or not
    /// consecutive): wipe it and start a new epoch.
    OutboxCorrupt = 507,
    /// The receiver acknowledged a position never assigned.
    AckBeyondLast = 508,
    /// A storage callback reported a failure.
    StorageFailed = 509,
    /// The sender configuration breaks a rule (MTU below 64, window 0, timeouts).
    InvalidConfig = 510,

    /// An ID number that is not 18 (or legacy 15) characters long.
    IdWrongLength = 600,
    /// An ID number character that is not a digit (or X in the last place).
    IdNonDigit = 601,
    /// The ID number check character does not match.
    IdBadCheckChar = 602,
    /// The ID number birth date is not a valid date.
    IdInvalidBirthDate = 603,
    /// The ID number birth date is after today.
    IdBirthDateInFuture = 604,
    /// The ID number's province code is unknown.
    IdUnknownRegion = 605,

    /// A UTC time outside 2024-01-01..2100-01-01 (clock not set?).
    TimeUtcOutOfRange = 700,
    /// Year, month and day do not name a real date in 1900..=2099.
    TimeInvalidDate = 701,

    /// A sealed frame fails authentication: altered on the way, or sealed under another
    /// key.
    SealBadTag = 800,
    /// A sealed frame from a device the key store does not know (or, at a kiosk, for
    /// another device).
    SealUnknownDevice = 801,
    /// A sealed frame under a key id the device does not have (never had, or retired by a
    /// rotation).
    SealUnknownKey = 802,
    /// A sealed frame from a revoked device.
    SealRevoked = 803,
    /// A sealed frame whose counter is not greater than the last one accepted: replayed or
    /// old.
    SealReplayed = 804,
    /// A kiosk got a sealed frame for another epoch of its device.
    SealWrongEpoch = 805,
    /// Not a well-formed sealed payload (marker, header, truncated tag, counter 0), or its
    /// message names another device or epoch than its seal.
    SealMalformed = 806,
    /// A plain (unsealed) payload on a link that requires sealing.
    SealUnsealedRefused = 807,
    /// The key store or the replay-counter callbacks failed; the frame was not processed.
    SealKeyStoreFailed = 808,
    /// The 32-bit frame counter space of this key is used up (counters never wrap): rotate
    /// the key or provision a new epoch.
    SealCounterExhausted = 809,
    /// The seal store holds no credentials: provision the device first.
    SealNotProvisioned = 810,
    /// A provisioning payload outside provisioning mode (the physical action was not
    /// taken).
    SealNotInProvisioningMode = 811,
    /// Not a well-formed provisioning payload (or device / epoch 0).
    SealProvisionMalformed = 812,
    /// The seal state store callback failed, or the state it loaded is unreadable.
    SealStoreFailed = 813,
    /// No device has said hello to this receiver: nobody to seal a message for.
    SealNoSession = 814,
    /// The terminal's counters for this device's key are used up: rotate the key.
    SealDownlinkExhausted = 815,
    /// A key rotation must name a key id greater than the current one.
    SealKeyIdNotNewer = 816,
    /// The seal credentials' device or epoch differ from the outbox's.
    SealIdentityMismatch = 817,
    /// A device key must be exactly 32 bytes.
    SealKeyWrongLength = 818,
    /// The operating system's random number generator failed.
    SealRandomUnavailable = 819,
    /// The call needs a sealed receiver or sender, and this one is plain.
    SealNotSealed = 820,
    /// A provisioning payload that does not move the device forward: its current device
    /// with an older epoch, or its current epoch with a key id not greater than the
    /// current one (replayed or out of date). Nothing stored.
    SealProvisionStale = 821,
    /// The device's provisioning salt is not random (its bytes are all equal): the
    /// random number generator failed. Nothing stored.
    SealWeakSalt = 822,
    /// `tcm_seal_provision()` is withdrawn: a provisioning must be confirmed to the
    /// terminal, use `tcm_seal_accept_provision()`. Nothing stored.
    SealProvisionUnconfirmed = 823,

    /// The handle is in use by a call that has not returned: a callback called back
    /// into its own receiver or sender (or another thread uses it at the same time).
    /// Nothing was done; return from the callback first.
    Reentered = 900,
    /// The pointer is a live handle of another type (a decoder passed as a receiver...).
    /// Nothing was done and the handle is untouched.
    WrongHandle = 901,
    /// The pointer is not a live handle: already freed, or never returned by a
    /// `tcm_*_new()` function. Nothing was done and its memory was not read.
    UnknownHandle = 902,
}

/// Every status, in number order (for lookups and tests).
pub(crate) const ALL_STATUSES: [tcm_status; 124] = {
    use tcm_status::*;
    [
        Ok,
        NeedMoreInput,
        NullPointer,
        BufferTooSmall,
        InvalidArgument,
        Panic,
        TextNotTerminated,
        TextNotUtf8,
        TextContainsNul,
        DecodeTruncated,
        DecodeVarintOverflow,
        DecodeNonCanonicalVarint,
        DecodeInvalidUtf8,
        DecodeInvalidValue,
        DecodeTrailingBytes,
        UnknownKind,
        FrameEmpty,
        FrameCobs,
        FrameTooShort,
        FrameCrc,
        FrameTooLong,
        DeviceIdZero,
        EpochZero,
        SeqZero,
        CareHomeZero,
        ResidentNumberZero,
        StaffMissing,
        TextTooLong,
        TextEmpty,
        TooMany,
        BirthDateImplausible,
        NoMeasurement,
        BloodPressureIncomplete,
        SystolicOutOfRange,
        DiastolicOutOfRange,
        DiastolicNotBelowSystolic,
        PulseOutOfRange,
        Spo2OutOfRange,
        TemperatureOutOfRange,
        WeightOutOfRange,
        HeightOutOfRange,
        WaistOutOfRange,
        GlucoseOutOfRange,
        AnswerOutOfRange,
        GuidanceForUnidentified,
        DuplicateGuidance,
        GuidanceEmpty,
        OtherGuidanceText,
        InvalidAcupoint,
        DuplicateAcupoint,
        AcupointsRequired,
        AcupointsNotApplicable,
        DurationOutOfRange,
        NoHerbs,
        DuplicateHerb,
        HerbDoseOutOfRange,
        DoseCountOutOfRange,
        HerbalStageMismatch,
        FollowUpEmpty,
        DuplicateIntervention,
        NextVisitNotAfterVisit,
        CorrectionTargetsItself,
        AmendmentReplacementInvalid,
        BmiOutOfRange,
        NumberNan,
        NumberNres,
        NumberPositiveInfinity,
        NumberNegativeInfinity,
        NumberReserved,
        GattTruncated,
        GattTrailingBytes,
        GattReservedFlags,
        GattValueOutOfRange,
        GattMeasurementUnsuccessful,
        GattInvalidTimestamp,
        GattTimestampNotKnown,
        GattUnknownTemperatureType,
        GattUnknownCharacteristic,
        OutboxFull,
        EntryTooLarge,
        EntryExceedsMtu,
        SeqMismatch,
        PositionsExhausted,
        InvalidIdentity,
        DeviceMismatch,
        OutboxCorrupt,
        AckBeyondLast,
        StorageFailed,
        InvalidConfig,
        IdWrongLength,
        IdNonDigit,
        IdBadCheckChar,
        IdInvalidBirthDate,
        IdBirthDateInFuture,
        IdUnknownRegion,
        TimeUtcOutOfRange,
        TimeInvalidDate,
        SealBadTag,
        SealUnknownDevice,
        SealUnknownKey,
        SealRevoked,
        SealReplayed,
        SealWrongEpoch,
        SealMalformed,
        SealUnsealedRefused,
        SealKeyStoreFailed,
        SealCounterExhausted,
        SealNotProvisioned,
        SealNotInProvisioningMode,
        SealProvisionMalformed,
        SealStoreFailed,
        SealNoSession,
        SealDownlinkExhausted,
        SealKeyIdNotNewer,
        SealIdentityMismatch,
        SealKeyWrongLength,
        SealRandomUnavailable,
        SealNotSealed,
        SealProvisionStale,
        SealWeakSalt,
        SealProvisionUnconfirmed,
        Reentered,
        WrongHandle,
        UnknownHandle,
    ]
};

impl tcm_status {
    /// The status with this number, if any.
    pub fn from_u32(n: u32) -> Option<tcm_status> {
        ALL_STATUSES.into_iter().find(|s| *s as u32 == n)
    }

    /// The message of this status: one sentence, no trailing period.
    pub const fn message(self) -> &'static str {
        use tcm_status::*;
        match self {
            Ok => "success",
            NeedMoreInput => "no complete frame yet: feed more input",
            NullPointer => "a required pointer argument is NULL",
            BufferTooSmall => {
                "output buffer too small (the length out-parameter holds the size needed)"
            }
            InvalidArgument => "argument outside its allowed values",
            Panic => "internal error in libtcmcare (recovered); please report it",
            TextNotTerminated => "text field has no NUL terminator within its array",
            TextNotUtf8 => "text is not valid UTF-8",
            TextContainsNul => "text contains a NUL byte, which a C string cannot hold",
            DecodeTruncated => "malformed record: input ends inside a field",
            DecodeVarintOverflow => "malformed record: varint overflow",
            DecodeNonCanonicalVarint => "malformed record: non-canonical varint",
            DecodeInvalidUtf8 => "malformed record: string field is not valid UTF-8",
            DecodeInvalidValue => "malformed record: value outside the schema",
            DecodeTrailingBytes => "malformed record: trailing bytes after a complete structure",
            UnknownKind => {
                "record kind unknown to this version (header filled; keep and forward the bytes)"
            }
            FrameEmpty => "empty frame",
            FrameCobs => "invalid COBS encoding in frame",
            FrameTooShort => "frame shorter than its CRC",
            FrameCrc => "frame CRC mismatch: the frame was corrupted",
            FrameTooLong => "frame longer than the receive buffer (skipped)",
            // The validation rules: the messages of core's rule table.
            DeviceIdZero
            | EpochZero
            | SeqZero
            | CareHomeZero
            | ResidentNumberZero
            | StaffMissing
            | TextTooLong
            | TextEmpty
            | TooMany
            | BirthDateImplausible
            | NoMeasurement
            | BloodPressureIncomplete
            | SystolicOutOfRange
            | DiastolicOutOfRange
            | DiastolicNotBelowSystolic
            | PulseOutOfRange
            | Spo2OutOfRange
            | TemperatureOutOfRange
            | WeightOutOfRange
            | HeightOutOfRange
            | WaistOutOfRange
            | GlucoseOutOfRange
            | AnswerOutOfRange
            | GuidanceForUnidentified
            | DuplicateGuidance
            | GuidanceEmpty
            | OtherGuidanceText
            | InvalidAcupoint
            | DuplicateAcupoint
            | AcupointsRequired
            | AcupointsNotApplicable
            | DurationOutOfRange
            | NoHerbs
            | DuplicateHerb
            | HerbDoseOutOfRange
            | DoseCountOutOfRange
            | HerbalStageMismatch
            | FollowUpEmpty
            | DuplicateIntervention
            | NextVisitNotAfterVisit
            | CorrectionTargetsItself
            | AmendmentReplacementInvalid
            | BmiOutOfRange => rule_message(self),
            NumberNan => "NaN (not a number): the device has no valid value",
            NumberNres => "NRes (not at this resolution)",
            NumberPositiveInfinity => "+INFINITY: above the device's measuring range",
            NumberNegativeInfinity => "-INFINITY: below the device's measuring range",
            NumberReserved => "reserved IEEE 11073 special value",
            GattTruncated => "GATT measurement truncated",
            GattTrailingBytes => "GATT measurement longer than its flags announce",
            GattReservedFlags => "reserved GATT flag bits set",
            GattValueOutOfRange => "GATT value negative or out of range after conversion",
            GattMeasurementUnsuccessful => "device reports the measurement as unsuccessful",
            GattInvalidTimestamp => "GATT time stamp is not a valid date and time",
            GattTimestampNotKnown => "mandatory GATT time stamp has unknown year, month or day",
            GattUnknownTemperatureType => "temperature type is not defined (1..=9)",
            GattUnknownCharacteristic => "characteristic is not a supported measurement",
            OutboxFull => "outbox full: record not stored, nothing overwritten",
            EntryTooLarge => "envelope longer than an outbox entry may be",
            EntryExceedsMtu => "envelope cannot be sent within the sender's MTU",
            SeqMismatch => "record does not carry the outbox's epoch and next sequence number",
            PositionsExhausted => "positions of this epoch used up: start a new epoch",
            InvalidIdentity => "device id and epoch must not be 0",
            DeviceMismatch => "outbox storage belongs to another device",
            OutboxCorrupt => "outbox storage cannot be resumed safely: wipe it, start a new epoch",
            AckBeyondLast => "acknowledgement of a position never assigned",
            StorageFailed => "a storage callback failed",
            InvalidConfig => "sender configuration breaks a rule",
            IdWrongLength => "ID number must have 18 (or legacy 15) characters",
            IdNonDigit => "ID number character is not a digit",
            IdBadCheckChar => "ID number check character does not match",
            IdInvalidBirthDate => "ID number birth date is not a valid date",
            IdBirthDateInFuture => "ID number birth date is in the future",
            IdUnknownRegion => "ID number address code has an unknown province",
            TimeUtcOutOfRange => "UTC time outside 2024-01-01..2100-01-01 (clock not set?)",
            TimeInvalidDate => "not a valid calendar date in 1900..=2099",
            SealBadTag => "sealed frame fails authentication (altered, or another key)",
            SealUnknownDevice => "sealed frame from an unknown device",
            SealUnknownKey => "sealed frame under an unknown or retired key id",
            SealRevoked => "sealed frame from a revoked device",
            SealReplayed => "replayed or old sealed frame (counter not above the last accepted)",
            SealWrongEpoch => "sealed frame for another epoch of this device",
            SealMalformed => "malformed sealed frame",
            SealUnsealedRefused => "unsealed frame refused on a sealed link",
            SealKeyStoreFailed => "key store or replay counter callback failed",
            SealCounterExhausted => {
                "frame counters of this key used up: rotate the key or provision a new epoch"
            }
            SealNotProvisioned => "device not provisioned: no key",
            SealNotInProvisioningMode => "provisioning refused: not in provisioning mode",
            SealProvisionMalformed => "malformed provisioning payload",
            SealStoreFailed => "seal state store failed or holds unreadable state",
            SealNoSession => "no session to seal a message for",
            SealDownlinkExhausted => {
                "terminal frame counters of this key used up: rotate the key or provision again"
            }
            SealKeyIdNotNewer => "a key rotation must name a greater key id",
            SealIdentityMismatch => {
                "seal credentials and outbox belong to different devices or epochs"
            }
            SealKeyWrongLength => "a device key must be exactly 32 bytes",
            SealRandomUnavailable => "the operating system's random number generator failed",
            SealNotSealed => "this receiver or sender is not sealed",
            SealProvisionStale => {
                "provisioning refused: older epoch, or a key id not greater than the current one"
            }
            SealWeakSalt => "provisioning refused: the salt is not random",
            SealProvisionUnconfirmed => {
                "tcm_seal_provision() is withdrawn: use tcm_seal_accept_provision()"
            }
            Reentered => {
                "handle in use by a call that has not returned (re-entered from a callback?)"
            }
            WrongHandle => "handle of another type",
            UnknownHandle => "not a live handle (already freed, or not from this library)",
        }
    }
}

/// The message of a validation status, from core's rule table.
const fn rule_message(s: tcm_status) -> &'static str {
    match Rule::by_status(s as u32) {
        Some(rule) => rule.message,
        None => "",
    }
}

/// The status of each rule of core's rule table, in table order: every rule's number is
/// a variant of `tcm_status` (the build fails otherwise).
const RULE_STATUSES: [tcm_status; RULES.len()] = {
    let mut out = [tcm_status::Ok; RULES.len()];
    let mut i = 0;
    while i < RULES.len() {
        let mut j = 0;
        let mut found = false;
        while j < ALL_STATUSES.len() {
            if ALL_STATUSES[j] as u32 == RULES[i].status as u32 {
                out[i] = ALL_STATUSES[j];
                found = true;
            }
            j += 1;
        }
        assert!(found, "a rule of core's table has no tcm_status");
        i += 1;
    }
    out
};

thread_local! {
    /// Detail of the most recent failure on this thread (the field, the value...).
    static LAST_DETAIL: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Records `detail` as this thread's last error detail and returns `status`, so error
/// paths read `return Err(fail(status, detail))`.
pub(crate) fn fail(status: tcm_status, detail: impl fmt::Display) -> tcm_status {
    LAST_DETAIL.with(|d| {
        if let Ok(mut d) = d.try_borrow_mut() {
            d.clear();
            let _ = write!(d, "{detail}");
        }
    });
    status
}

/// Copies this thread's last error detail out (for `tcm_last_error_detail`).
pub(crate) fn last_detail(
    out: impl FnOnce(&str) -> Result<(), tcm_status>,
) -> Result<(), tcm_status> {
    LAST_DETAIL.with(|d| match d.try_borrow() {
        Ok(d) => out(&d),
        Err(_) => out(""),
    })
}

/// The status of a wire decoding error (the detail names the field).
pub(crate) fn decode_error(e: DecodeError) -> tcm_status {
    fail(decode_status(e), e)
}

/// The status number of a wire decoding error, without recording a detail.
pub(crate) fn decode_status(e: DecodeError) -> tcm_status {
    match e {
        DecodeError::Truncated { .. } => tcm_status::DecodeTruncated,
        DecodeError::VarintOverflow { .. } => tcm_status::DecodeVarintOverflow,
        DecodeError::NonCanonicalVarint { .. } => tcm_status::DecodeNonCanonicalVarint,
        DecodeError::InvalidUtf8 { .. } => tcm_status::DecodeInvalidUtf8,
        DecodeError::InvalidValue { .. } => tcm_status::DecodeInvalidValue,
        DecodeError::TrailingBytes { .. } => tcm_status::DecodeTrailingBytes,
    }
}

/// The status of a frame error.
pub(crate) fn frame_error(e: FrameError) -> tcm_status {
    let status = match e {
        FrameError::Empty => tcm_status::FrameEmpty,
        FrameError::Cobs => tcm_status::FrameCobs,
        FrameError::TooShort => tcm_status::FrameTooShort,
        FrameError::Crc { .. } => tcm_status::FrameCrc,
        FrameError::TooLong => tcm_status::FrameTooLong,
    };
    fail(status, e)
}

/// The status of an encoding error; `needed` receives the size the buffer needs.
pub(crate) fn encode_error(e: EncodeError, needed: &mut usize) -> tcm_status {
    let EncodeError::BufferTooSmall { needed: n } = e;
    *needed = n;
    fail(tcm_status::BufferTooSmall, e)
}

/// The status of a record validation error (the detail carries the values).
pub(crate) fn validation_error(e: ValidationError) -> tcm_status {
    fail(validation_status(e), e)
}

/// The status number of a record validation error, without recording a detail: its
/// rule's number in core's rule table.
pub(crate) fn validation_status(e: ValidationError) -> tcm_status {
    RULE_STATUSES[usize::from(e.status() - FIRST_RULE_STATUS)]
}

/// The status of a measurement that cannot answer a constitution item.
pub(crate) fn measurement_error(e: MeasurementError) -> tcm_status {
    match e {
        MeasurementError::Implausible(v) => validation_error(v),
        MeasurementError::BmiOutOfRange(_) => fail(RULE_STATUSES[BMI_OUT_OF_RANGE], e),
    }
}

/// The status of an acupoint code that does not parse (`field` names the list entry).
pub(crate) fn acupoint_error(e: AcupointError, field: &str) -> tcm_status {
    fail(tcm_status::InvalidAcupoint, format_args!("{field}: {e}"))
}

/// The status of a record error; `needed` receives the size needed on a short buffer.
pub(crate) fn record_error(e: RecordError, needed: &mut usize) -> tcm_status {
    match e {
        RecordError::Decode(d) => decode_error(d),
        RecordError::Invalid(v) => validation_error(v),
        RecordError::Encode(x) => encode_error(x, needed),
        RecordError::UnknownKind(k) => fail(tcm_status::UnknownKind, format_args!("kind {k}")),
    }
}

/// The status of an IEEE 11073 special value.
pub(crate) fn special_status(s: Special) -> tcm_status {
    match s {
        Special::NaN => tcm_status::NumberNan,
        Special::NRes => tcm_status::NumberNres,
        Special::PositiveInfinity => tcm_status::NumberPositiveInfinity,
        Special::NegativeInfinity => tcm_status::NumberNegativeInfinity,
        Special::Reserved => tcm_status::NumberReserved,
    }
}

/// The status of a GATT parsing error.
pub(crate) fn gatt_error(e: GattError) -> tcm_status {
    let status = match e {
        GattError::Truncated { .. } => tcm_status::GattTruncated,
        GattError::TrailingBytes { .. } => tcm_status::GattTrailingBytes,
        GattError::ReservedFlags { .. } => tcm_status::GattReservedFlags,
        GattError::Special { kind, .. } => special_status(kind),
        GattError::ValueOutOfRange { .. } => tcm_status::GattValueOutOfRange,
        GattError::MeasurementUnsuccessful { .. } => tcm_status::GattMeasurementUnsuccessful,
        GattError::InvalidTimestamp => tcm_status::GattInvalidTimestamp,
        GattError::TimestampNotKnown => tcm_status::GattTimestampNotKnown,
        GattError::UnknownTemperatureType(_) => tcm_status::GattUnknownTemperatureType,
        GattError::UnknownCharacteristic(_) => tcm_status::GattUnknownCharacteristic,
    };
    fail(status, e)
}

/// The status of an ID number error.
pub(crate) fn id_number_error(e: IdNumberError) -> tcm_status {
    let status = match e {
        IdNumberError::WrongLength(_) => tcm_status::IdWrongLength,
        IdNumberError::NonDigit { .. } => tcm_status::IdNonDigit,
        IdNumberError::BadCheckChar { .. } => tcm_status::IdBadCheckChar,
        IdNumberError::InvalidBirthDate => tcm_status::IdInvalidBirthDate,
        IdNumberError::BirthDateInFuture => tcm_status::IdBirthDateInFuture,
        IdNumberError::UnknownRegion => tcm_status::IdUnknownRegion,
    };
    fail(status, e)
}

/// The status of a time error (`field` names the argument or struct field).
pub(crate) fn time_error(e: TimeError, field: &str) -> tcm_status {
    let status = match e {
        TimeError::UtcOutOfRange => tcm_status::TimeUtcOutOfRange,
        TimeError::InvalidDate => tcm_status::TimeInvalidDate,
    };
    fail(status, format_args!("{field}: {e}"))
}

/// Writes the message of `status` into `buf` (NUL-terminated).
///
/// On success `*written` is the message length in bytes, NUL excluded. With a buffer
/// shorter than the message plus its NUL, returns `TCM_STATUS_BUFFER_TOO_SMALL`, sets
/// `*written` to the size needed (NUL included) and writes an empty string (if `len > 0`).
/// An unknown status number gives `TCM_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
/// `buf` points to `len` writable bytes; `written` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_status_message(
    status: u32,
    buf: *mut std::ffi::c_char,
    len: usize,
    written: *mut usize,
) -> tcm_status {
    crate::boundary(|| {
        let Some(s) = tcm_status::from_u32(status) else {
            // SAFETY: caller contract of this function.
            unsafe { buffer::write_str("", buf, len, written)? };
            return Err(fail(
                tcm_status::InvalidArgument,
                format_args!("status: {status} is not a tcm_status"),
            ));
        };
        // SAFETY: caller contract of this function.
        unsafe { buffer::write_str(s.message(), buf, len, written) }
    })
}

/// Writes the detail of the most recent failing call on this thread (for example the
/// field name and the value that broke a rule) into `buf`, NUL-terminated. The detail is
/// meaningful only right after a call returned a status other than `TCM_STATUS_OK`;
/// successful calls do not clear it. Buffer rules as for `tcm_status_message()`.
///
/// # Safety
/// `buf` points to `len` writable bytes; `written` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_last_error_detail(
    buf: *mut std::ffi::c_char,
    len: usize,
    written: *mut usize,
) -> tcm_status {
    crate::boundary(|| {
        // The copy must not overwrite the detail it is reading: write it out first.
        let mut copy = String::new();
        last_detail(|d| {
            copy.push_str(d);
            Ok(())
        })?;
        // SAFETY: caller contract of this function.
        unsafe { buffer::write_str(&copy, buf, len, written) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_sorted_and_round_trip() {
        let numbers: Vec<u32> = ALL_STATUSES.iter().map(|s| *s as u32).collect();
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(numbers, sorted);
        for s in ALL_STATUSES {
            assert_eq!(tcm_status::from_u32(s as u32), Some(s));
            assert!(!s.message().is_empty());
        }
        assert_eq!(tcm_status::from_u32(99), None);
    }

    /// The committed header lists exactly the statuses of `ALL_STATUSES` (so a variant
    /// added to the enum but forgotten in `ALL_STATUSES` fails here).
    #[test]
    fn header_lists_every_status() {
        let header = include_str!("../include/tcmcare.h");
        let mut in_header = Vec::new();
        for line in header.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("TCM_STATUS_") {
                if let Some((_, n)) = rest.split_once(" = ") {
                    in_header.push(n.trim_end_matches(',').parse::<u32>().unwrap());
                }
            }
        }
        let ours: Vec<u32> = ALL_STATUSES.iter().map(|s| *s as u32).collect();
        assert_eq!(in_header, ours);
    }

    /// Every rule of core's table is the status of its number, with its message, and the
    /// header names it `TCM_STATUS_<CODE>`.
    #[test]
    fn every_core_rule_is_its_status() {
        let header = include_str!("../include/tcmcare.h");
        for (i, rule) in RULES.iter().enumerate() {
            let s = tcm_status::from_u32(u32::from(rule.status)).unwrap();
            assert_eq!(RULE_STATUSES[i], s);
            assert_eq!(s.message(), rule.message, "{}", rule.code);
            let line = format!(
                "TCM_STATUS_{} = {},",
                rule.code.to_ascii_uppercase(),
                rule.status
            );
            assert!(
                header.lines().any(|l| l.trim() == line),
                "{line} not in the header"
            );
        }
        // The rules are exactly the statuses 300..=342.
        let in_group: Vec<u32> = ALL_STATUSES
            .iter()
            .map(|s| *s as u32)
            .filter(|n| (300..400).contains(n))
            .collect();
        let rules: Vec<u32> = RULES.iter().map(|r| u32::from(r.status)).collect();
        assert_eq!(in_group, rules);
        assert_eq!(
            measurement_error(tcmcare_core::constitution::MeasurementError::BmiOutOfRange(
                1
            )),
            tcm_status::BmiOutOfRange
        );
        assert_eq!(
            validation_status(ValidationError::AmendmentReplacementInvalid),
            tcm_status::AmendmentReplacementInvalid
        );
        assert_eq!(
            validation_status(ValidationError::DeviceIdZero),
            tcm_status::DeviceIdZero
        );
    }
}
