"""The exceptions of tcmcare: a hierarchy to catch precisely.

Two families, both :class:`ValueError`:

- :class:`ValidationError` -- a record (or its dict / keyword form) breaks a rule of the
  record model or of its JSON view. ``.field`` names the field (``"systolic_mmhg"``,
  ``"id.device"``, ``"herbs.decigrams"``; ``""`` for the record as a whole) and ``.code``
  the rule (``"systolic_out_of_range"``, ``"staff_missing"``...).
- :class:`DecodeError` -- bytes are not a record: malformed envelope or body
  (``.field`` names the wire field), a record kind this version does not know
  (:class:`UnknownKindError`, which keeps the envelope for forwarding), or a corrupt frame
  (:class:`FrameError`, :class:`CrcError`).

Decoding well-formed bytes of a record that breaks a rule raises the
:class:`ValidationError` of that rule.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

from .types import RecordId

__all__ = [
    "ValidationError",
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
    "IdConflictError",
    "StoreError",
    "StoreUnavailableError",
    "StoreFullError",
    "StoreConflictError",
    "OutboxError",
    "OutboxFullError",
]


class ValidationError(ValueError):
    """A record breaks a rule. ``field`` is the field, ``code`` the rule."""

    field: str
    code: str

    def __init__(self, message: str, *, field: str = "", code: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.code = code


class SchemaError(ValidationError):
    """The input's shape is wrong: a missing or unknown field, a wrong type, a value given
    where the record has no place for it, a dict of another kind."""


class RangeError(ValidationError):
    """A value outside its plausible range (a measurement, an answer, a dose, a date or
    time) or outside the range of its integer type."""


class MissingValueError(ValidationError):
    """Required content is missing: a staff signature, any measurement, herbs, the
    guidance or intervention of a follow-up, the acupoints of a point technique."""


class InconsistentError(ValidationError):
    """Fields contradict each other or the rules: diastolic not below systolic, guidance
    for a constitution not identified, duplicates, a next visit before the visit..."""


class TooLongError(ValidationError):
    """A text or a list longer than its capacity."""


class UnknownCodeError(ValidationError):
    """A name or code this version does not know: an enum value, an acupoint."""


class ReservedIdError(ValidationError):
    """A reserved zero id: device, epoch, sequence, care home or resident number."""


class DecodeError(ValueError):
    """Bytes that are not a record. ``field`` is the wire field being read."""

    field: str
    code: str

    def __init__(self, message: str, *, field: str = "", code: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.code = code


class TruncatedError(DecodeError):
    """The input ended inside a field."""


class MalformedError(DecodeError):
    """A value the schema does not allow: varint overflow or non-canonical form, invalid
    UTF-8, unknown enum tag, a list over capacity, reserved bits."""


class TrailingBytesError(DecodeError):
    """Bytes after a complete envelope or body."""


class UnknownKindError(DecodeError):
    """A well-formed envelope of a record kind this version does not know. Keep
    ``envelope`` and forward it unchanged."""

    kind: int
    envelope: bytes

    def __init__(self, message: str, *, kind: int, envelope: bytes) -> None:
        super().__init__(message, field="envelope.kind", code="unknown_kind")
        self.kind = kind
        self.envelope = envelope


class FrameError(DecodeError):
    """A corrupt frame (``code``: ``"empty"``, ``"cobs"``, ``"too_short"``, ``"crc"``,
    ``"too_long"``). A stream resynchronises at the next delimiter."""


class CrcError(FrameError):
    """The frame's CRC-32C does not match its content."""

    expected: int
    computed: int

    def __init__(self, message: str, *, expected: int, computed: int) -> None:
        super().__init__(message, field="frame", code="crc")
        self.expected = expected
        self.computed = computed


class IdConflictError(ValueError):
    """A store already holds a *different* record under the same id: the origin device
    reused a sequence number within an epoch, which the sync protocol rules out."""

    id: RecordId

    def __init__(self, message: str, *, id: RecordId) -> None:
        super().__init__(message)
        self.id = id


class StoreError(Exception):
    """Raised by a receiver store's ``watermark`` / ``commit`` to refuse a call. The
    receiver answers the sender "store unavailable" and the sender retries later; any other
    exception a store raises is treated like :class:`StoreUnavailableError`."""


class StoreUnavailableError(StoreError):
    """The store cannot be used now (database locked, disk offline)."""


class StoreFullError(StoreError):
    """The store is full."""


class StoreConflictError(StoreError):
    """The commit does not continue the stored watermark (another writer got there
    first); nothing was written."""


class OutboxError(Exception):
    """An outbox operation failed; ``code`` says why (``"full"``, ``"seq_mismatch"``,
    ``"too_large"``, ``"entry_exceeds_mtu"``, ``"device_mismatch"``, ``"corrupt"``...)."""

    code: str

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class OutboxFullError(OutboxError):
    """The outbox is full: the record was refused and nothing was overwritten. Retry after
    the receiver acknowledges, or decide what to do with the record."""


# Which class each core rule raises. Codes come from tcmcare-core (json::validation_code
# and the JSON view's own errors); unknown codes raise the base class.
_VALIDATION_CLASSES: Dict[str, Type[ValidationError]] = {
    # the JSON view / keyword arguments
    "missing": SchemaError,
    "wrong_type": SchemaError,
    "unknown_field": SchemaError,
    "not_applicable": SchemaError,
    "wrong_kind": SchemaError,
    "out_of_range": RangeError,
    "invalid_date": RangeError,
    "invalid_time": RangeError,
    "invalid_year": RangeError,
    "unknown_name": UnknownCodeError,
    # record rules
    "device_id_zero": ReservedIdError,
    "epoch_zero": ReservedIdError,
    "seq_zero": ReservedIdError,
    "care_home_zero": ReservedIdError,
    "resident_number_zero": ReservedIdError,
    "staff_missing": MissingValueError,
    "text_empty": MissingValueError,
    "no_measurement": MissingValueError,
    "blood_pressure_incomplete": MissingValueError,
    "no_herbs": MissingValueError,
    "follow_up_empty": MissingValueError,
    "acupoints_required": MissingValueError,
    "text_too_long": TooLongError,
    "too_many": TooLongError,
    "birth_date_implausible": RangeError,
    "systolic_out_of_range": RangeError,
    "diastolic_out_of_range": RangeError,
    "pulse_out_of_range": RangeError,
    "spo2_out_of_range": RangeError,
    "temperature_out_of_range": RangeError,
    "weight_out_of_range": RangeError,
    "height_out_of_range": RangeError,
    "waist_out_of_range": RangeError,
    "glucose_out_of_range": RangeError,
    "answer_out_of_range": RangeError,
    "duration_out_of_range": RangeError,
    "herb_dose_out_of_range": RangeError,
    "dose_count_out_of_range": RangeError,
    "invalid_acupoint": UnknownCodeError,
    "diastolic_not_below_systolic": InconsistentError,
    "guidance_for_unidentified": InconsistentError,
    "duplicate_guidance": InconsistentError,
    "guidance_empty": InconsistentError,
    "other_guidance_text": InconsistentError,
    "duplicate_acupoint": InconsistentError,
    "acupoints_not_applicable": InconsistentError,
    "duplicate_herb": InconsistentError,
    "herbal_stage_mismatch": InconsistentError,
    "duplicate_intervention": InconsistentError,
    "next_visit_not_after_visit": InconsistentError,
    "correction_targets_itself": InconsistentError,
    "amendment_replacement_invalid": InconsistentError,
}

_DECODE_CLASSES: Dict[str, Type[DecodeError]] = {
    "truncated": TruncatedError,
    "varint_overflow": MalformedError,
    "non_canonical_varint": MalformedError,
    "invalid_utf8": MalformedError,
    "invalid_value": MalformedError,
    "trailing_bytes": TrailingBytesError,
}


def _validation_error(code: str, field: str, message: str) -> ValidationError:
    cls = _VALIDATION_CLASSES.get(code, ValidationError)
    return cls(message, field=field, code=code)


def _decode_error(code: str, field: str, message: str) -> DecodeError:
    cls = _DECODE_CLASSES.get(code, DecodeError)
    return cls(message, field=field, code=code)


def _unknown_kind_error(kind: int, envelope: bytes, message: str) -> UnknownKindError:
    return UnknownKindError(message, kind=kind, envelope=envelope)


def _frame_error(
    code: str, message: str, expected: Optional[int], computed: Optional[int]
) -> FrameError:
    if code == "crc" and expected is not None and computed is not None:
        return CrcError(message, expected=expected, computed=computed)
    return FrameError(message, field="frame", code=code)


def _outbox_error(code: str, message: str) -> OutboxError:
    if code == "full":
        return OutboxFullError(message, code=code)
    return OutboxError(message, code=code)
