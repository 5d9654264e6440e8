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
    ``receive``) ``"frame_error"``."""
    details: Dict[str, Any]

    def frame(self) -> bytes:
        """The reply as a frame ready to write (``b""`` for none)."""
        if not self.reply:
            return b""
        from . import _native

        return _native.frame(self.reply)


def _utc_from_unix(seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
