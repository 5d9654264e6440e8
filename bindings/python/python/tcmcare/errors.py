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

Sealed links have their own family, :class:`SealError` (an :class:`Exception`, ``.code``
says why): :class:`RejectedError` and one subclass per reason a sealed payload is refused
(:class:`BadTagError`, :class:`UnknownDeviceError`, :class:`UnknownKeyError`,
:class:`RevokedError`, :class:`ReplayedError`, :class:`WrongEpochError`,
:class:`MalformedSealError`, :class:`UnsealedRefusedError`, :class:`StoreFailedError`),
and the errors of sealing, key rotation and provisioning. A receiver does not raise them
for what arrives on the link (it returns a ``"rejected"`` event, see
:meth:`tcmcare.ReceiverReply.raise_for_rejection`); the calls that do raise them say so.
No exception text or attribute ever holds key bytes.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Type

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
    "REJECTION_REASONS",
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


class FrameTooLongError(ValueError):
    """:func:`tcmcare.frame` refused a payload: its frame would have ``length`` bytes
    before the delimiter, more than ``limit`` (:data:`tcmcare.MAX_SYNC_FRAME_LEN`), the
    longest frame :meth:`tcmcare.Receiver.receive` and :meth:`tcmcare.Outbox.receive`
    take (they would drop it as ``"too_long"``)."""

    length: int
    limit: int

    def __init__(self, message: str, *, length: int, limit: int) -> None:
        super().__init__(message)
        self.length = length
        self.limit = limit


def _frame_too_long_error(length: int, limit: int) -> FrameTooLongError:
    return FrameTooLongError(
        f"a frame of {length} bytes is longer than the {limit} bytes a decoder takes", length=length, limit=limit
    )


class IdConflictError(ValueError):
    """A store already holds a *different* record under the same id: the origin device
    reused a sequence number within an epoch, which the sync protocol rules out."""

    id: RecordId

    def __init__(self, message: str, *, id: RecordId) -> None:
        super().__init__(message)
        self.id = id


class SchemaVersionError(ValueError):
    """A store's database was written with a schema version this tcmcare does not read
    (a newer tcmcare wrote it). Raised when the store is opened, before anything is
    written to the database. ``found`` is the version stored in the database (as
    stored), ``supported`` the version this tcmcare writes."""

    found: str
    supported: int

    def __init__(self, message: str, *, found: str, supported: int) -> None:
        super().__init__(message)
        self.found = found
        self.supported = supported


class StoreError(Exception):
    """The refusal of a receiver store or key store: raised by one of their methods
    (``watermark``, ``commit``, ``lookup``...) to refuse a call it cannot do now. The
    receiver reports it as an event (``"store_failed"``, or ``"rejected"`` with reason
    ``"store"``), answers the sender "store unavailable" when it can, and the sender
    retries later; :attr:`tcmcare.Receiver.last_store_error` is the exception. Only this
    class and its subclasses are refusals: any other exception a store raises
    (``KeyboardInterrupt``, ``SystemExit``, ``MemoryError``, a bug's ``TypeError``...)
    propagates out of the receiver's ``handle`` / ``receive`` / ``time_sync`` / ``rekey``
    to its caller, and nothing of that frame is committed or acknowledged.
    :class:`tcmcare.SQLiteStore` raises its SQLite busy, locked, full and I/O errors as
    these."""


class StoreUnavailableError(StoreError):
    """The store cannot be used now (database locked, disk offline)."""


class StoreFullError(StoreError):
    """The store is full."""


class StoreConflictError(StoreError):
    """The commit does not continue the stored watermark (another writer got there
    first); nothing was written."""


class StoreThreadError(RuntimeError):
    """An SQLite store (:class:`tcmcare.SQLiteStore`, :class:`tcmcare.SQLiteOutboxStorage`)
    was used from another thread than the one that created it: its connection works only
    there. Open one store per thread (on the same database file). Not a refusal: it
    propagates out of the receiver or outbox that called the store."""


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


class SealError(Exception):
    """Something about a sealed link failed; ``code`` says what (the reason of a rejection,
    ``"key_id_not_newer"``, ``"no_session"``, ``"downlink_exhausted"``,
    ``"counter_exhausted"``, ``"not_provisioned"``, ``"identity_mismatch"``,
    ``"corrupt_state"``, ``"not_sealed"``, ``"malformed"``...)."""

    code: str

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class RejectedError(SealError):
    """A sealed payload was refused; nothing of it was used. ``reason`` (also ``code``) is
    one of :data:`REJECTION_REASONS`; ``device``, ``epoch``, ``key_id`` and ``counter`` are
    those of the payload's seal header when it could be read (``None`` otherwise). The
    header is authenticated only for ``"replayed"``: use these for logs, not decisions."""

    reason: str
    device: Optional[int]
    epoch: Optional[int]
    key_id: Optional[int]
    counter: Optional[int]

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        device: Optional[int] = None,
        epoch: Optional[int] = None,
        key_id: Optional[int] = None,
        counter: Optional[int] = None,
    ) -> None:
        super().__init__(message, code=reason)
        self.reason = reason
        self.device = device
        self.epoch = epoch
        self.key_id = key_id
        self.counter = counter


class BadTagError(RejectedError):
    """The tag does not authenticate header and body: altered on the way, or sealed under
    another key."""


class UnknownDeviceError(RejectedError):
    """The key store does not know the device (or a kiosk got a frame for another
    device)."""


class UnknownKeyError(RejectedError):
    """The device has no key with this id (never had, or retired by a rotation), or the
    key is older than one the device has already used."""


class RevokedError(RejectedError):
    """The device is revoked: every frame of it is refused."""


class ReplayedError(RejectedError):
    """The frame counter is not greater than the last one accepted under the same key: a
    replayed or old frame. ``last`` is the last accepted counter, ``got`` the frame's."""

    last: int
    got: int

    def __init__(
        self,
        message: str,
        *,
        last: int,
        got: int,
        device: Optional[int] = None,
        epoch: Optional[int] = None,
        key_id: Optional[int] = None,
        counter: Optional[int] = None,
    ) -> None:
        super().__init__(
            message, reason="replayed", device=device, epoch=epoch, key_id=key_id, counter=counter
        )
        self.last = last
        self.got = got


class WrongEpochError(RejectedError):
    """A kiosk got a frame for another epoch of its own device (``expected`` is the
    kiosk's, ``got`` the frame's)."""

    expected: int
    got: int

    def __init__(
        self,
        message: str,
        *,
        expected: int,
        got: int,
        device: Optional[int] = None,
        epoch: Optional[int] = None,
        key_id: Optional[int] = None,
        counter: Optional[int] = None,
    ) -> None:
        super().__init__(
            message, reason="wrong_epoch", device=device, epoch=epoch, key_id=key_id, counter=counter
        )
        self.expected = expected
        self.got = got


class MalformedSealError(RejectedError):
    """Not a well-formed sealed payload (marker, header, truncated tag, counter 0), or the
    sealed message names another device or epoch than its seal header."""


class UnsealedRefusedError(RejectedError):
    """A plain payload on a link that requires sealing (see the ``security`` of
    :class:`tcmcare.Receiver`)."""


class StoreFailedError(RejectedError):
    """The key store (or the replay counters) failed, so the frame was not processed; the
    sender resends. ``error`` is ``"unavailable"``, ``"full"`` or ``"conflict"``."""

    error: str

    def __init__(
        self,
        message: str,
        *,
        error: str,
        device: Optional[int] = None,
        epoch: Optional[int] = None,
        key_id: Optional[int] = None,
        counter: Optional[int] = None,
    ) -> None:
        super().__init__(message, reason="store", device=device, epoch=epoch, key_id=key_id, counter=counter)
        self.error = error


class DownlinkExhaustedError(SealError):
    """The terminal's reply counters of this device's key are used up: it cannot answer
    (and does not take frames) until the key is rotated."""


class KeyIdNotNewerError(SealError):
    """A key rotation must name a key id greater than the current one."""


class NoSessionError(SealError):
    """No device has said hello on this receiver: there is nobody to seal a message
    for."""


class CounterExhaustedError(SealError):
    """The kiosk's 32-bit frame counters of this key and epoch are used up (they never
    wrap): rotate the key or provision a new epoch."""


class NotProvisionedError(SealError):
    """The seal store holds no key: provision the kiosk first
    (:func:`tcmcare.accept_provision_confirmed`)."""


class ProvisionError(SealError):
    """A provisioning payload was refused: ``code`` ``"malformed"``,
    ``"not_in_provisioning_mode"``, ``"stale"`` (an older epoch, or a key id not greater
    than the current one), ``"weak_salt"`` (the random source failed) or
    ``"unconfirmed"`` (the withdrawn :func:`tcmcare.accept_provision`: use
    :func:`tcmcare.accept_provision_confirmed`)."""


REJECTION_REASONS = (
    "bad_tag",
    "unknown_device",
    "unknown_key",
    "revoked",
    "replayed",
    "wrong_epoch",
    "malformed",
    "unsealed_refused",
    "store",
)
"""The reasons of a ``"rejected"`` receiver event and of :class:`RejectedError`."""

_REJECTED_CLASSES: Dict[str, Type[RejectedError]] = {
    "bad_tag": BadTagError,
    "unknown_device": UnknownDeviceError,
    "unknown_key": UnknownKeyError,
    "revoked": RevokedError,
    "malformed": MalformedSealError,
    "unsealed_refused": UnsealedRefusedError,
}

_REJECTED_MESSAGES: Dict[str, str] = {
    "bad_tag": "sealed frame fails authentication",
    "unknown_device": "sealed frame from an unknown device",
    "unknown_key": "sealed frame under an unknown key id",
    "revoked": "sealed frame from a revoked device",
    "malformed": "malformed sealed frame",
    "unsealed_refused": "unsealed frame refused on a sealed link",
}

_SEAL_CLASSES: Dict[str, Type[SealError]] = {
    "downlink_exhausted": DownlinkExhaustedError,
    "key_id_not_newer": KeyIdNotNewerError,
    "no_session": NoSessionError,
    "counter_exhausted": CounterExhaustedError,
    "not_provisioned": NotProvisionedError,
}


def _int_or_none(details: Mapping[str, Any], key: str) -> Optional[int]:
    v = details.get(key)
    return None if v is None else int(v)


# What the key store's answers mean for an operation of the terminal's own (a key rotation,
# a time sync) rather than for a received frame.
_REFUSED_MESSAGES: Dict[str, str] = {
    "unknown_device": "device {device} has no keys in the key store",
    "unknown_key": "device {device} has no key {key_id}",
    "revoked": "device {device} is revoked",
    "store": "the key store failed ({error})",
}


def _rejected_error(reason: str, details: Mapping[str, Any], action: Optional[str] = None) -> RejectedError:
    """The exception of a rejection: ``details`` as in a ``"rejected"`` receiver event.
    With ``action`` (``"rekey"``, ``"time sync"``), the key store refused an operation of
    the terminal's own: the message says so ("rekey refused: device 9 has no keys...")."""
    device = _int_or_none(details, "device")
    epoch = _int_or_none(details, "epoch")
    key_id = _int_or_none(details, "key_id")
    counter = _int_or_none(details, "counter")
    if action is not None:
        text = _REFUSED_MESSAGES.get(reason, reason.replace("_", " ")).format(
            device=device, key_id=key_id, error=details.get("error", "unavailable")
        )
        message = f"{action} refused: {text}"
        if reason == "store":
            return StoreFailedError(
                message,
                error=str(details.get("error", "unavailable")),
                device=device,
                epoch=epoch,
                key_id=key_id,
                counter=counter,
            )
        cls = _REJECTED_CLASSES.get(reason, RejectedError)
        return cls(message, reason=reason, device=device, epoch=epoch, key_id=key_id, counter=counter)
    where = "" if device is None else f" (device {device}, epoch {epoch}, key {key_id})"
    if reason == "replayed":
        last, got = int(details["last"]), int(details["got"])
        return ReplayedError(
            f"replayed sealed frame: counter {got}, last accepted {last}{where}",
            last=last,
            got=got,
            device=device,
            epoch=epoch,
            key_id=key_id,
            counter=counter,
        )
    if reason == "wrong_epoch":
        expected, got = int(details["expected"]), int(details["got"])
        return WrongEpochError(
            f"sealed frame for epoch {got}, this device is at {expected}{where}",
            expected=expected,
            got=got,
            device=device,
            epoch=epoch,
            key_id=key_id,
            counter=counter,
        )
    if reason == "store":
        error = str(details.get("error", "unavailable"))
        return StoreFailedError(
            f"key or replay store failed: {error}{where}",
            error=error,
            device=device,
            epoch=epoch,
            key_id=key_id,
            counter=counter,
        )
    cls = _REJECTED_CLASSES.get(reason, RejectedError)
    message = _REJECTED_MESSAGES.get(reason, f"sealed frame rejected: {reason}")
    return cls(message + where, reason=reason, device=device, epoch=epoch, key_id=key_id, counter=counter)


def _seal_error(code: str, message: str) -> SealError:
    cls = _SEAL_CLASSES.get(code, SealError)
    return cls(message, code=code)


def _provision_error(code: str, message: str) -> ProvisionError:
    return ProvisionError(message, code=code)


# Which class each family of rules raises. The families, and which rule belongs to which,
# are tcmcare-core's (``codes::rule``: see ``tcmcare._native.validation_rules()``); the
# bindings hand each error its family. A code of no family raises the base class.
_FAMILY_CLASSES: Dict[str, Type[ValidationError]] = {
    "schema": SchemaError,
    "reserved_id": ReservedIdError,
    "missing": MissingValueError,
    "too_long": TooLongError,
    "range": RangeError,
    "inconsistent": InconsistentError,
    "unknown_code": UnknownCodeError,
}

_DECODE_CLASSES: Dict[str, Type[DecodeError]] = {
    "truncated": TruncatedError,
    "varint_overflow": MalformedError,
    "non_canonical_varint": MalformedError,
    "invalid_utf8": MalformedError,
    "invalid_value": MalformedError,
    "trailing_bytes": TrailingBytesError,
}


def _validation_error(code: str, field: str, message: str, family: Optional[str] = None) -> ValidationError:
    cls = ValidationError if family is None else _FAMILY_CLASSES.get(family, ValidationError)
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
