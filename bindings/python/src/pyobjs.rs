//! Python objects the native module builds: the small value types of `tcmcare.types`,
//! dates and UTC datetimes. Imported once and cached.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

use tcmcare_core::ids::{RecordId, ResidentRef};
use tcmcare_core::time::{Date, Timestamp};

macro_rules! cached {
    ($name:ident, $module:literal, $attr:literal) => {
        pub fn $name(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
            static CELL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
            CELL.import(py, $module, $attr)
        }
    };
}

cached!(record_id_type, "tcmcare.types", "RecordId");
cached!(resident_ref_type, "tcmcare.types", "ResidentRef");
cached!(unknown_time_type, "tcmcare.types", "UnknownTime");
cached!(herb_dose_type, "tcmcare.types", "HerbDose");
cached!(guidance_given_type, "tcmcare.types", "GuidanceGiven");
cached!(advice_type, "tcmcare.types", "Advice");
cached!(
    constitution_guidance_type,
    "tcmcare.types",
    "ConstitutionGuidance"
);
cached!(utc_from_unix, "tcmcare.types", "_utc_from_unix");
cached!(commit_record_type, "tcmcare.types", "CommitRecord");
cached!(receiver_reply_type, "tcmcare.types", "ReceiverReply");
cached!(frame_counter_type, "tcmcare.types", "FrameCounter");
cached!(seal_header_type, "tcmcare.types", "SealHeader");
cached!(date_type, "datetime", "date");
cached!(datetime_type, "datetime", "datetime");

/// A `tcmcare.types.RecordId`.
pub fn record_id<'py>(py: Python<'py>, id: &RecordId) -> PyResult<Bound<'py, PyAny>> {
    record_id_type(py)?.call1((id.device.0, id.epoch.0, id.seq.0))
}

/// A `tcmcare.types.ResidentRef`.
pub fn resident_ref<'py>(py: Python<'py>, r: &ResidentRef) -> PyResult<Bound<'py, PyAny>> {
    resident_ref_type(py)?.call1((r.care_home.0, r.number.0))
}

/// A `datetime.date`.
pub fn date<'py>(py: Python<'py>, d: Date) -> PyResult<Bound<'py, PyAny>> {
    date_type(py)?.call1((d.year(), d.month(), d.day()))
}

/// An aware UTC `datetime.datetime`, or a `tcmcare.types.UnknownTime`.
pub fn timestamp<'py>(py: Python<'py>, t: &Timestamp) -> PyResult<Bound<'py, PyAny>> {
    match t {
        Timestamp::Utc(u) => utc_from_unix(py)?.call1((u.unix(),)),
        Timestamp::Unknown { boot, uptime_s } => unknown_time_type(py)?.call1((*boot, *uptime_s)),
    }
}

/// A tuple of Python objects.
pub fn tuple<'py>(py: Python<'py>, items: Vec<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, items)
}
