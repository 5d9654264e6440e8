"""Type stubs of the native module (PyO3 over tcmcare-core)."""

import datetime
from typing import (
    Any,
    ClassVar,
    Literal,
    NoReturn,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
    final,
)

from typing_extensions import Self, disjoint_base

from .types import (
    ConstitutionGuidance,
    ReceiverReply,
    SealHeader,
    GuidanceGiven,
    HerbDose,
    RecordId,
    ResidentRef,
    UnknownTime,
)

__all__ = [
    "__version__",
    "SCHEMA_VERSION",
    "MAX_ENVELOPE_LEN",
    "MAX_RECORD_FRAME_LEN",
    "Record",
    "ResidentRegistration",
    "VitalSigns",
    "ConstitutionRecord",
    "Treatment",
    "HerbalEvent",
    "FollowUp",
    "Correction",
    "record_fields",
    "encode",
    "decode",
    "encode_frame",
    "decode_frame",
    "decode_frames",
    "decode_frames_columnar",
    "read_envelope_header",
    "frame_payload",
    "FrameDecoder",
    "PayloadDecoder",
    "COLUMNS",
    "ConstitutionAssessment",
    "assess_answers",
    "constitution_names",
    "technique_names",
    "guidance_category_names",
    "acupoint_names",
    "vital_quantities",
    "CONSTITUTIONS",
    "GUIDANCE_CATEGORIES",
    "VITAL_SIGNS_PANEL_LOINC",
    "BP_PANEL_LOINC",
    "SPO2_FHIR_BASE_LOINC",
    "SPO2_FHIR_BASE_DISPLAY",
    "coverage",
    "indicators",
    "superseded",
    "ELDERLY_MIN_AGE_YEARS",
    "Receiver",
    "Outbox",
    "frame",
    "MAX_SYNC_FRAME_LEN",
    "STORE_SCHEMA",
    "STORE_SCHEMA_VERSION",
    "validation_rules",
    "rule_families",
    "error_code_family",
    "ALERT_FLAGS",
    "HYPERTENSION_SYSTOLIC_MMHG",
    "HYPERTENSION_DIASTOLIC_MMHG",
    "HYPOTENSION_SYSTOLIC_BELOW_MMHG",
    "FEVER_CENTI_C",
    "LOW_SPO2_BELOW_PERCENT",
    "TACHYCARDIA_ABOVE_PER_MIN",
    "BRADYCARDIA_BELOW_PER_MIN",
    "FASTING_GLUCOSE_HIGH_UMOL_L",
    "RANDOM_GLUCOSE_HIGH_UMOL_L",
    "HYPOGLYCEMIA_BELOW_UMOL_L",
    "CHINA_STANDARD_TIME_OFFSET_S",
    "DeviceKey",
    "provision_payload",
    "accept_provision",
    "accept_provision_confirmed",
    "confirm_provision",
    "open_sealed",
    "DEVICE_KEY_LEN",
    "SEAL_TAG_LEN",
]
__version__: str
SCHEMA_VERSION: int
MAX_ENVELOPE_LEN: int
MAX_RECORD_FRAME_LEN: int
COLUMNS: List[str]
CONSTITUTIONS: List[str]
GUIDANCE_CATEGORIES: List[str]
VITAL_SIGNS_PANEL_LOINC: str
BP_PANEL_LOINC: str
SPO2_FHIR_BASE_LOINC: str
SPO2_FHIR_BASE_DISPLAY: str
ELDERLY_MIN_AGE_YEARS: int
MAX_SYNC_FRAME_LEN: int
STORE_SCHEMA: str
"""The SQLite script of the terminal's database (``core/sql/store.sql``, the C ABI's
``tcm_store_schema()``): every table ``IF NOT EXISTS``, then the version row."""
STORE_SCHEMA_VERSION: int
"""The version :data:`STORE_SCHEMA` writes (``meta`` row ``'schema'``)."""
ALERT_FLAGS: List[str]
"""The vital-sign alert flags in bit order (``VitalSigns.alerts`` holds these names)."""
HYPERTENSION_SYSTOLIC_MMHG: int
"""Alert ``hypertension``: systolic at or above this (mmHg)..."""
HYPERTENSION_DIASTOLIC_MMHG: int
"""...or diastolic at or above this (mmHg)."""
HYPOTENSION_SYSTOLIC_BELOW_MMHG: int
"""Alert ``hypotension``: systolic below this (mmHg)."""
FEVER_CENTI_C: int
"""Alert ``fever``: temperature at or above this (0.01 °C)."""
LOW_SPO2_BELOW_PERCENT: int
"""Alert ``low_spo2``: SpO2 below this (%)."""
TACHYCARDIA_ABOVE_PER_MIN: int
"""Alert ``tachycardia``: pulse above this (/min)."""
BRADYCARDIA_BELOW_PER_MIN: int
"""Alert ``bradycardia``: pulse below this (/min)."""
FASTING_GLUCOSE_HIGH_UMOL_L: int
"""Alert ``high_glucose`` of a fasting value: at or above this (µmol/L)."""
RANDOM_GLUCOSE_HIGH_UMOL_L: int
"""Alert ``high_glucose`` of any other value: at or above this (µmol/L)."""
HYPOGLYCEMIA_BELOW_UMOL_L: int
"""Alert ``low_glucose``: glucose below this (µmol/L)."""
CHINA_STANDARD_TIME_OFFSET_S: int
"""The care homes' clock, UTC+8, in seconds east of UTC (reporting years, local times)."""

_Bytes = Union[bytes, bytearray]
_IdLike = Union[RecordId, Tuple[int, int, int], Mapping[str, int]]
_ResidentLike = Union[ResidentRef, Tuple[int, int], Mapping[str, int]]
_TimeLike = Union[datetime.datetime, int, UnknownTime, Mapping[str, int]]
_DateLike = Union[datetime.date, str]
_Names = Union[FrozenSet[str], Iterable[str]]

@disjoint_base
class Record:
    """A care-home TCM service record (base class of the seven kinds)."""

    @property
    def kind(self) -> str: ...
    @property
    def id(self) -> RecordId: ...
    @property
    def resident(self) -> ResidentRef: ...
    @property
    def time(self) -> Union[datetime.datetime, UnknownTime]: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> Tuple[Any, Tuple[bytes]]: ...

@final
class ResidentRegistration(Record):
    def __new__(
        cls,
        *,
        id: _IdLike,
        resident: _ResidentLike,
        time: _TimeLike,
        birth_date: _DateLike,
        sex: str,
        conditions: Optional[_Names] = None,
        consent: Optional[_Names] = None,
        status: Optional[str] = None,
    ) -> ResidentRegistration: ...
    @property
    def birth_date(self) -> datetime.date: ...
    @property
    def sex(self) -> str: ...
    @property
    def conditions(self) -> FrozenSet[str]: ...
    @property
    def consent(self) -> FrozenSet[str]: ...
    @property
    def status(self) -> str: ...

@final
class VitalSigns(Record):
    def __new__(
        cls,
        *,
        id: _IdLike,
        resident: _ResidentLike,
        time: _TimeLike,
        systolic_mmhg: Optional[int] = None,
        diastolic_mmhg: Optional[int] = None,
        pulse_per_min: Optional[int] = None,
        spo2_percent: Optional[int] = None,
        temperature_centi_c: Optional[int] = None,
        temperature_site: Optional[str] = None,
        weight_g: Optional[int] = None,
        height_mm: Optional[int] = None,
        waist_mm: Optional[int] = None,
        glucose_umol_l: Optional[int] = None,
        glucose_context: Optional[str] = None,
        source: Optional[str] = None,
    ) -> VitalSigns: ...
    @property
    def systolic_mmhg(self) -> Optional[int]: ...
    @property
    def diastolic_mmhg(self) -> Optional[int]: ...
    @property
    def pulse_per_min(self) -> Optional[int]: ...
    @property
    def spo2_percent(self) -> Optional[int]: ...
    @property
    def temperature_centi_c(self) -> Optional[int]: ...
    @property
    def temperature_site(self) -> Optional[str]: ...
    @property
    def weight_g(self) -> Optional[int]: ...
    @property
    def height_mm(self) -> Optional[int]: ...
    @property
    def waist_mm(self) -> Optional[int]: ...
    @property
    def glucose_umol_l(self) -> Optional[int]: ...
    @property
    def glucose_context(self) -> Optional[str]: ...
    @property
    def source(self) -> str: ...
    @property
    def alerts(self) -> FrozenSet[str]: ...
    @property
    def bmi_centi(self) -> Optional[int]: ...

@final
class ConstitutionRecord(Record):
    def __new__(
        cls,
        *,
        id: _IdLike,
        resident: _ResidentLike,
        time: _TimeLike,
        answers: Sequence[int],
        assessor: int,
        guidance: Optional[Iterable[Union[GuidanceGiven, Mapping[str, Any], Tuple[Any, ...]]]] = None,
    ) -> ConstitutionRecord: ...
    @property
    def answers(self) -> Tuple[int, ...]: ...
    @property
    def assessor(self) -> int: ...
    @property
    def guidance(self) -> Tuple[GuidanceGiven, ...]: ...
    @property
    def assessment(self) -> ConstitutionAssessment: ...

@final
class Treatment(Record):
    def __new__(
        cls,
        *,
        id: _IdLike,
        resident: _ResidentLike,
        time: _TimeLike,
        technique: str,
        duration_min: int,
        practitioner: int,
        acupoints: Optional[Iterable[str]] = None,
        outcome: Optional[str] = None,
        adverse_event: Optional[str] = None,
        note: Optional[str] = None,
    ) -> Treatment: ...
    @property
    def technique(self) -> str: ...
    @property
    def acupoints(self) -> Tuple[str, ...]: ...
    @property
    def duration_min(self) -> int: ...
    @property
    def practitioner(self) -> int: ...
    @property
    def outcome(self) -> str: ...
    @property
    def adverse_event(self) -> str: ...
    @property
    def note(self) -> str: ...

@final
class HerbalEvent(Record):
    def __new__(
        cls,
        *,
        id: _IdLike,
        resident: _ResidentLike,
        time: _TimeLike,
        stage: str,
        actor: int,
        prescription: Optional[_IdLike] = None,
        doses: Optional[int] = None,
        herbs: Optional[Iterable[Union[HerbDose, Mapping[str, Any], Tuple[str, int]]]] = None,
        note: Optional[str] = None,
    ) -> HerbalEvent: ...
    @property
    def stage(self) -> str: ...
    @property
    def prescription(self) -> Optional[RecordId]: ...
    @property
    def doses(self) -> int: ...
    @property
    def herbs(self) -> Tuple[HerbDose, ...]: ...
    @property
    def actor(self) -> int: ...
    @property
    def note(self) -> str: ...

@final
class FollowUp(Record):
    def __new__(
        cls,
        *,
        id: _IdLike,
        resident: _ResidentLike,
        time: _TimeLike,
        condition: str,
        clinician: int,
        control: Optional[str] = None,
        guidance: Optional[_Names] = None,
        interventions: Optional[Iterable[str]] = None,
        next_visit: Optional[_DateLike] = None,
    ) -> FollowUp: ...
    @property
    def condition(self) -> str: ...
    @property
    def control(self) -> str: ...
    @property
    def guidance(self) -> FrozenSet[str]: ...
    @property
    def interventions(self) -> Tuple[str, ...]: ...
    @property
    def next_visit(self) -> Optional[datetime.date]: ...
    @property
    def clinician(self) -> int: ...

@final
class Correction(Record):
    def __new__(
        cls,
        *,
        id: _IdLike,
        resident: _ResidentLike,
        time: _TimeLike,
        target: _IdLike,
        action: str,
        replacement: Optional[_IdLike] = None,
        reason: Optional[str] = None,
        note: Optional[str] = None,
    ) -> Correction: ...
    @property
    def target(self) -> RecordId: ...
    @property
    def action(self) -> str: ...
    @property
    def replacement(self) -> Optional[RecordId]: ...
    @property
    def reason(self) -> str: ...
    @property
    def note(self) -> str: ...

@final
class ConstitutionAssessment:
    """The outcome of one constitution identification."""

    @property
    def answers(self) -> Tuple[int, ...]: ...
    @property
    def scores(self) -> Dict[str, int]: ...
    @property
    def verdicts(self) -> Dict[str, str]: ...
    @property
    def identified(self) -> Tuple[str, ...]: ...
    @property
    def primary(self) -> Tuple[str, ...]: ...
    @property
    def needs_recollection(self) -> bool: ...
    @property
    def contradictions(self) -> Tuple[Tuple[str, str], ...]: ...
    @property
    def guidance(self) -> Dict[str, ConstitutionGuidance]: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class FrameDecoder:
    """Streaming decoder: feed bytes in chunks, iterate the records of complete frames.
    ``feed(data, final=True)``: the input ends after ``data``, a last frame without its
    delimiter is decoded too."""

    def __new__(cls, *, skip_invalid: bool = False) -> FrameDecoder: ...
    def feed(self, data: _Bytes, *, final: bool = False) -> Self: ...
    def reset(self) -> None: ...
    @property
    def buffered(self) -> int: ...
    @property
    def rejected(self) -> int: ...
    @property
    def last_error(self) -> Optional[ValueError]: ...
    def __iter__(self) -> Self: ...
    def __next__(self) -> Record: ...

@final
class PayloadDecoder:
    """Streaming frame decoder (core's, as :class:`FrameDecoder`) that yields the payloads
    of complete frames, CRC checked and not decoded: sync messages, sealed frames, records
    of unknown kinds. Frames of up to :data:`MAX_SYNC_FRAME_LEN` bytes (the longest
    :func:`frame` makes); a corrupt frame raises :class:`tcmcare.errors.FrameError` unless
    ``skip_invalid``. ``feed(data, final=True)``: the input ends after ``data``, a last
    frame without its delimiter is decoded too."""

    def __new__(cls, *, skip_invalid: bool = False) -> PayloadDecoder: ...
    def feed(self, data: _Bytes, *, final: bool = False) -> Self: ...
    def reset(self) -> None: ...
    @property
    def buffered(self) -> int: ...
    @property
    def rejected(self) -> int: ...
    @property
    def last_error(self) -> Optional[ValueError]: ...
    def __iter__(self) -> Self: ...
    def __next__(self) -> bytes: ...

def encode(record: Record) -> bytes: ...
def decode(data: _Bytes) -> Record: ...
def encode_frame(record: Record) -> bytes: ...
def decode_frame(frame: _Bytes) -> Record: ...
def decode_frames(buf: _Bytes, *, skip_invalid: bool = False) -> List[Record]: ...
def decode_frames_columnar(buf: _Bytes, *, skip_invalid: bool = False) -> Dict[str, List[Any]]: ...
def read_envelope_header(
    envelope: _Bytes,
) -> Tuple[int, RecordId, ResidentRef, Union[datetime.datetime, UnknownTime]]: ...
def frame_payload(frame: _Bytes) -> bytes: ...
def record_fields(kind: str) -> List[str]: ...
def assess_answers(
    answers: Iterable[int], bmi_centi: Optional[int] = None, waist_mm: Optional[int] = None
) -> ConstitutionAssessment: ...
def constitution_names(pinyin: str) -> Tuple[str, str]: ...
def technique_names(name: str) -> Tuple[str, str]: ...
def guidance_category_names(name: str) -> Tuple[str, str]: ...
def acupoint_names(code: str) -> Optional[Tuple[str, str]]: ...
def validation_rules() -> List[Tuple[str, Optional[str], str, int, str]]:
    """The core's validation rules in status order: ``(code, field, family, status,
    message)``. ``field`` is ``None`` for the rules whose error names its field."""
def rule_families() -> List[Tuple[int, str]]:
    """The families of rules in number order: ``(number, name)``."""
def error_code_family(code: str) -> Optional[str]:
    """The family of an error code (a rule's, the JSON view's or the bindings' own)."""
def vital_quantities(record: Record) -> List[Tuple[str, str, str, str, int, int]]: ...

_Row = Tuple[str, int, int, Optional[int], Optional[bool]]

def coverage(
    items: Iterable[Union[Record, bytes]], year: int
) -> Tuple[int, int, List[_Row], List[Tuple[int, List[_Row]]]]: ...
def indicators() -> List[Tuple[str, str, str, int]]: ...
def superseded(items: Iterable[Union[Record, bytes]]) -> Tuple[RecordId, ...]: ...

_UtcLike = Union[int, datetime.datetime, None]

@final
class DeviceKey:
    """A 256-bit key shared by one kiosk and its terminal: redacted ``repr``/``str``, not
    picklable nor copyable, zeroized when freed; :meth:`expose` is the only way out."""

    def __new__(cls, key: Union[bytes, bytearray]) -> DeviceKey: ...
    @staticmethod
    def generate() -> DeviceKey: ...
    def expose(self) -> bytes: ...
    @property
    def fingerprint(self) -> str: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __reduce__(self) -> NoReturn: ...

DEVICE_KEY_LEN: int
SEAL_TAG_LEN: int

def provision_payload(device: int, epoch: int, key_id: int, key: DeviceKey) -> bytes: ...
def accept_provision(seal_store: Any, payload: _Bytes, *, provisioning_mode: bool) -> Tuple[int, int, int]: ...
def accept_provision_confirmed(
    seal_store: Any, payload: _Bytes, *, provisioning_mode: bool
) -> Tuple[int, int, int, bytes, str]: ...
def confirm_provision(
    device: int, epoch: int, key_id: int, key: DeviceKey, confirmation: _Bytes
) -> Tuple[DeviceKey, str]: ...
def open_sealed(
    payload: _Bytes, key: DeviceKey, *, direction: Literal["uplink", "downlink"] = "uplink"
) -> Tuple[SealHeader, bytes]: ...

_Security = Literal["sealed", "trusted_unsealed"]

@final
class Receiver:
    """The receiving end of the sync protocol, committing into a store; with keys, over
    sealed frames."""

    def __new__(
        cls,
        store: Optional[Any] = None,
        *,
        keys: Optional[Any] = None,
        security: Optional[_Security] = None,
        min_schema: int = 1,
        max_schema: int = ...,
    ) -> Receiver: ...
    @property
    def store(self) -> Any: ...
    @property
    def keys(self) -> Optional[Any]: ...
    @property
    def security(self) -> Optional[_Security]: ...
    @property
    def session(self) -> Optional[Tuple[int, int]]: ...
    @property
    def session_key_id(self) -> Optional[int]: ...
    @property
    def last_store_error(self) -> Optional[BaseException]: ...
    def handle(self, payload: _Bytes, *, now_utc: _UtcLike = None) -> ReceiverReply: ...
    def receive(self, data: _Bytes, *, now_utc: _UtcLike = None) -> List[ReceiverReply]: ...
    def time_sync(self, *, now_utc: _UtcLike = None) -> bytes: ...
    def rekey(self, device: int, epoch: int, from_key_id: int, to_key_id: int, new_key: DeviceKey) -> bytes: ...

@final
class Outbox:
    """The sending end of the sync protocol: a persistent outbox and its sender."""

    def __new__(
        cls,
        storage: Optional[Any] = None,
        *,
        device: int,
        epoch: int,
        boot: int = 0,
        clock_valid: bool = True,
        mtu: int = ...,
        window: int = ...,
        initial_rto_ms: int = ...,
        max_rto_ms: int = ...,
        seal_store: Optional[Any] = None,
        lease_block: int = ...,
    ) -> Outbox: ...
    @property
    def storage(self) -> Any: ...
    @property
    def seal_store(self) -> Optional[Any]: ...
    @property
    def key_id(self) -> Optional[int]: ...
    @property
    def device(self) -> int: ...
    @property
    def epoch(self) -> int: ...
    @property
    def started_new_epoch(self) -> bool: ...
    @property
    def next_seq(self) -> Optional[int]: ...
    @property
    def last_position(self) -> int: ...
    @property
    def acked_through(self) -> int: ...
    @property
    def is_streaming(self) -> bool: ...
    @property
    def stopped(self) -> Optional[Tuple[str, Dict[str, Any]]]: ...
    @property
    def next_timeout(self) -> Optional[int]: ...
    def __len__(self) -> int: ...
    def set_clock_valid(self, valid: bool) -> None: ...
    def push(self, record: Union[Record, _Bytes]) -> int: ...
    def poll(self, now_ms: int) -> Optional[bytes]: ...
    def handle(self, payload: _Bytes, now_ms: int) -> Tuple[str, Dict[str, Any]]: ...
    def receive(self, data: _Bytes, now_ms: int) -> List[Tuple[str, Dict[str, Any]]]: ...

def frame(payload: _Bytes) -> bytes: ...
