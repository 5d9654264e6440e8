"""Small immutable value types of tcmcare records, and the names they use.

The record classes return these (``record.id`` is a :class:`RecordId`, a herbal
prescription's ``herbs`` a tuple of :class:`HerbDose`...) and their keyword constructors
accept them, as well as plain tuples and dicts of the same fields.
"""

from __future__ import annotations

import datetime
from typing import Any, Dict, FrozenSet, NamedTuple, Optional, Tuple, Union

__all__ = [
    "CommitRecord",
    "ReceiverReply",
    "FrameCounter",
    "SealHeader",
    "RecordId",
    "ResidentRef",
    "UnknownTime",
    "HerbDose",
    "GuidanceGiven",
    "Advice",
    "ConstitutionGuidance",
]

class RecordId(NamedTuple):
    """Globally unique id of a record: origin device, its storage epoch, sequence."""

    device: int
    epoch: int
    seq: int

    def __str__(self) -> str:
        return f"{self.device}/{self.epoch}/{self.seq}"


class ResidentRef(NamedTuple):
    """A resident as records name them: care home and pseudonymous number."""

    care_home: int
    number: int

    def __str__(self) -> str:
        return f"{self.care_home}:{self.number}"


class UnknownTime(NamedTuple):
    """The time of a record made by a device without a valid clock: its boot counter and
    the seconds since that boot (the receiver places it from the hello of that boot)."""

    boot: int
    uptime_s: int


class HerbDose(NamedTuple):
    """One herb of a prescription: its name and the dose per 剂 in 0.1 g."""

    name: str
    decigrams: int


class GuidanceGiven(NamedTuple):
    """Guidance given for one constitution on the assessment form."""

    constitution: str
    categories: FrozenSet[str]
    other: str = ""


class Advice(NamedTuple):
    """One piece of catalogue advice in one guidance area, in Chinese and English."""

    category: str
    zh: str
    en: str


class ConstitutionGuidance(NamedTuple):
    """The catalogue guidance of one constitution (a starting point for the staff member
    giving advice, not a prescription)."""

    constitution: str
    name_zh: str
    name_en: str
    advice: Tuple[Advice, ...]
    acupoints: Tuple[str, ...]


class CommitRecord(NamedTuple):
    """One record of a batch the sync receiver hands to its store's ``commit``. Nothing is
    dropped: records of unknown kinds, invalid or malformed ones are committed too, with
    their ``status``, and their bytes are kept unchanged."""

    position: int
    """Position in the sender's stream."""
    envelope: bytes
    """The envelope bytes, unchanged."""
    kind: int
    """The envelope's kind number."""
    id: Optional[RecordId]
    """The record id, if the header could be read (stores deduplicate by it)."""
    resident: Optional[ResidentRef]
    time: Union[datetime.datetime, UnknownTime, None]
    status: str
    """``"valid"``, ``"unknown_kind"``, ``"invalid:<code>"`` or ``"malformed:<code>"``."""
    placed_time: Optional[datetime.datetime]
    """For a record stamped "time unknown": its UTC time as placed from the sender's hello."""


class ReceiverReply(NamedTuple):
    """What :meth:`tcmcare.Receiver.handle` did with one payload."""

    reply: bytes
    """The reply payload to send back (``b""`` for none); :meth:`frame` frames it."""
    event: str
    """``"introduced"``, ``"committed"``, ``"duplicate"``, ``"gap"``, ``"refused"``,
    ``"not_introduced"``, ``"store_failed"``, ``"malformed"``, ``"ignored"`` or (from
    ``receive``) ``"frame_error"``; and on a receiver with keys ``"rejected"`` (the payload
    was refused and nothing of it used: ``details["reason"]`` is one of
    :data:`tcmcare.errors.REJECTION_REASONS`) or ``"downlink_exhausted"`` (the terminal's
    reply counters of the device's key are used up: rotate the key)."""
    details: Dict[str, Any]
    """The event's data. On a receiver with keys, ``details["sealed"]`` says whether the
    payload was a sealed one, and a rejection carries the seal header's ``device``,
    ``epoch``, ``key_id`` and ``counter`` when readable (unauthenticated: for logs), and
    ``last`` / ``got`` for ``"replayed"``, ``error`` for ``"store"``."""

    def frame(self) -> bytes:
        """The reply as a frame ready to write (``b""`` for none)."""
        if not self.reply:
            return b""
        from . import _native

        return _native.frame(self.reply)

    def raise_for_rejection(self) -> None:
        """Raises the :class:`tcmcare.errors.RejectedError` subclass of a ``"rejected"``
        event (:class:`~tcmcare.errors.BadTagError`, :class:`~tcmcare.errors.ReplayedError`
        ...) or :class:`~tcmcare.errors.DownlinkExhaustedError`; does nothing for any other
        event. For callers that want exceptions rather than events."""
        from . import errors

        if self.event == "rejected":
            raise errors._rejected_error(str(self.details.get("reason", "")), self.details)
        if self.event == "downlink_exhausted":
            raise errors._seal_error(
                "downlink_exhausted", "terminal frame counters of this key exhausted: rotate the key"
            )


class FrameCounter(NamedTuple):
    """Where a kiosk frame stands in its stream's sealing order: frames under a newer key
    come after every frame under an older one, and within a key the counter orders them
    (tuple order). A sealed receiver accepts a frame only if it is greater than the last
    accepted; its store persists the last one (``FrameCounter(0, 0)``: none yet)."""

    key_id: int
    counter: int


class SealHeader(NamedTuple):
    """The authenticated header of a sealed payload (:func:`tcmcare.open_sealed`)."""

    key_id: int
    device: int
    epoch: int
    counter: int
    """The frame counter of the direction (1 or more)."""
    reply_to: int
    """A terminal reply names the counter of the kiosk frame it answers (0: not a
    reply)."""


def _utc_from_unix(seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
