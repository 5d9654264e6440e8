"""tcmcare: care-home TCM service records for Python integrators.

Read what terminals and kiosks send (:func:`decode`, :func:`decode_frames`,
:class:`FrameDecoder`; frames of any payload: :func:`frame`, :class:`PayloadDecoder`),
build and check records (one class per kind, validated by the Rust core), score the
33-item constitution form (:func:`assess_constitution`), store records
(:class:`tcmcare.store.SQLiteStore`), receive them over the sync protocol
(:class:`Receiver`) or send them on (:class:`Outbox`), over sealed links with per-device
keys (:class:`DeviceKey`, ``Receiver(store, keys=store)``), report the policy KPIs
(:func:`coverage_report`) and hand records on as FHIR R4 (:func:`to_fhir`,
:func:`to_fhir_bundle`).

Every rule (validation, scoring, alert thresholds, KPI definitions) lives in the Rust core
shared with the kiosk firmware and the C library; this package translates.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Optional, Sequence, Union

from . import _native
from ._native import (
    MAX_SYNC_FRAME_LEN,
    SCHEMA_VERSION,
    ConstitutionAssessment,
    ConstitutionRecord,
    Correction,
    DeviceKey,
    FollowUp,
    FrameDecoder,
    HerbalEvent,
    Outbox,
    PayloadDecoder,
    Receiver,
    Record,
    ResidentRegistration,
    Treatment,
    VitalSigns,
    __version__,
    accept_provision,
    accept_provision_confirmed,
    confirm_provision,
    decode,
    decode_frame,
    decode_frames,
    decode_frames_columnar,
    encode,
    encode_frame,
    frame,
    frame_payload,
    open_sealed,
    provision_payload,
    validation_rules,
)
from .errors import (
    BadTagError,
    CounterExhaustedError,
    CrcError,
    DecodeError,
    DownlinkExhaustedError,
    FrameError,
    FrameTooLongError,
    IdConflictError,
    InconsistentError,
    KeyIdNotNewerError,
    MalformedError,
    MalformedSealError,
    MissingValueError,
    NoSessionError,
    NotProvisionedError,
    OutboxError,
    OutboxFullError,
    ProvisionError,
    RangeError,
    RejectedError,
    ReplayedError,
    ReservedIdError,
    RevokedError,
    SchemaError,
    SchemaVersionError,
    SealError,
    StoreConflictError,
    StoreError,
    StoreFailedError,
    StoreFullError,
    StoreThreadError,
    StoreUnavailableError,
    TooLongError,
    TrailingBytesError,
    TruncatedError,
    UnknownCodeError,
    UnknownDeviceError,
    UnknownKeyError,
    UnknownKindError,
    UnsealedRefusedError,
    ValidationError,
    WrongEpochError,
)
from .fhir import to_fhir, to_fhir_bundle
from .report import CareHomeCoverage, CoverageReport, IndicatorCoverage, coverage_report
from .store import (
    KeyStore,
    OutboxStorage,
    ReceiverStore,
    RecordStore,
    SealedReceiverStore,
    SealStore,
    SQLiteOutboxStorage,
    SQLiteStore,
)
from .types import (
    CommitRecord,
    FrameCounter,
    GuidanceGiven,
    HerbDose,
    ReceiverReply,
    RecordId,
    ResidentRef,
    SealHeader,
    UnknownTime,
)

__all__ = [
    "__version__",
    "SCHEMA_VERSION",
    # records
    "Record",
    "ResidentRegistration",
    "VitalSigns",
    "ConstitutionRecord",
    "Treatment",
    "HerbalEvent",
    "FollowUp",
    "Correction",
    "RecordId",
    "ResidentRef",
    "UnknownTime",
    "HerbDose",
    "GuidanceGiven",
    # wire
    "encode",
    "decode",
    "encode_frame",
    "decode_frame",
    "decode_frames",
    "decode_frames_columnar",
    "FrameDecoder",
    "PayloadDecoder",
    # constitution
    "assess_constitution",
    "ConstitutionAssessment",
    # export, reports, storage
    "to_fhir",
    "to_fhir_bundle",
    "coverage_report",
    "CoverageReport",
    "CareHomeCoverage",
    "IndicatorCoverage",
    "RecordStore",
    "SQLiteStore",
    # sync
    "Receiver",
    "Outbox",
    "ReceiverReply",
    "CommitRecord",
    "ReceiverStore",
    "OutboxStorage",
    "SQLiteOutboxStorage",
    # sealed links
    "DeviceKey",
    "provision_payload",
    "frame",
    "frame_payload",
    "MAX_SYNC_FRAME_LEN",
    "accept_provision",
    "accept_provision_confirmed",
    "confirm_provision",
    "open_sealed",
    "FrameCounter",
    "SealHeader",
    "KeyStore",
    "SealedReceiverStore",
    "SealStore",
    # errors
    "ValidationError",
    "validation_rules",
    "SchemaError",
    "RangeError",
    "MissingValueError",
    "InconsistentError",
    "TooLongError",
    "UnknownCodeError",
    "ReservedIdError",
    "DecodeError",
    "TruncatedError",
    "MalformedError",
    "TrailingBytesError",
    "UnknownKindError",
    "FrameError",
    "CrcError",
    "FrameTooLongError",
    "IdConflictError",
    "SchemaVersionError",
    "StoreError",
    "StoreUnavailableError",
    "StoreFullError",
    "StoreConflictError",
    "StoreThreadError",
    "OutboxError",
    "OutboxFullError",
    "SealError",
    "RejectedError",
    "BadTagError",
    "UnknownDeviceError",
    "UnknownKeyError",
    "RevokedError",
    "ReplayedError",
    "WrongEpochError",
    "MalformedSealError",
    "UnsealedRefusedError",
    "StoreFailedError",
    "DownlinkExhaustedError",
    "KeyIdNotNewerError",
    "NoSessionError",
    "CounterExhaustedError",
    "NotProvisionedError",
    "ProvisionError",
]

_Number = Union[int, float, Decimal]


def _fixed_point(value: Optional[_Number], places: int, field: str) -> Optional[int]:
    """``value`` in units of ``10**-places``, rounded half up on its decimal digits."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise SchemaError(f"{field}: expected a number", field=field, code="wrong_type")
    try:
        d = Decimal(str(value)).scaleb(places).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise RangeError(f"{field}: {value!r} is not a finite number", field=field, code="out_of_range") from None
    if not d.is_finite() or d < 0 or d > 65535:
        raise RangeError(f"{field}: {value!r} out of range", field=field, code="out_of_range")
    return int(d)


def assess_constitution(
    answers: Sequence[int],
    *,
    bmi: Optional[_Number] = None,
    waist_cm: Optional[_Number] = None,
) -> ConstitutionAssessment:
    """Scores the 33 answers (1..5 each, item 1 first) of the constitution form.

    ``bmi`` (kg/m², rounded half up to two decimals) and ``waist_cm`` (rounded half up to
    millimetres), when given, replace items 9 and 28 with the bands of the form.
    Raises :class:`RangeError` for an answer outside 1..5 and :class:`SchemaError` for
    anything but 33 integers.
    """
    return _native.assess_answers(
        answers, _fixed_point(bmi, 2, "bmi"), _fixed_point(waist_cm, 1, "waist_cm")
    )
