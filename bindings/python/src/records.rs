//! The record classes: `Record` (the common base) and one immutable subclass per kind.
//!
//! Each object holds the core record (header and body); attributes are computed on access,
//! so decoding many records is cheap. Keyword constructors and `from_dict` build the JSON
//! view (`tcmcare_core::json`) and let core validate it, so there is one field mapping
//! and one set of rules.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFrozenSet, PyString, PyTuple, PyType};
use serde_json::{Map, Value};

use tcmcare_core::codes::technique::Technique;
use tcmcare_core::constitution::GuidanceSet;
use tcmcare_core::json::{
    derived_fields, field_names, guidance_category_name, record_from_json, record_to_json,
    sex_name, technique_name, CONDITION_NAMES, CONSENT_NAMES,
};
use tcmcare_core::record::{
    Body, ConstitutionRecord, Correction, CorrectionAction, FollowUp, Header, HerbalEvent, Kind,
    Record, ResidentRegistration, Treatment, VitalSigns,
};
use tcmcare_core::wire::MAX_ENVELOPE_LEN;

use crate::constitution::PyConstitutionAssessment;
use crate::convert;
use crate::errors;
use crate::pyobjs;

/// A record body, the large kinds boxed so that every Python object stays small.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BodyBox {
    Resident(ResidentRegistration),
    Vitals(VitalSigns),
    Constitution(Box<ConstitutionRecord>),
    Treatment(Box<Treatment>),
    Herbal(Box<HerbalEvent>),
    FollowUp(Box<FollowUp>),
    Correction(Box<Correction>),
}

impl From<Body> for BodyBox {
    fn from(b: Body) -> Self {
        match b {
            Body::Resident(x) => BodyBox::Resident(x),
            Body::Vitals(x) => BodyBox::Vitals(x),
            Body::Constitution(x) => BodyBox::Constitution(Box::new(x)),
            Body::Treatment(x) => BodyBox::Treatment(Box::new(x)),
            Body::Herbal(x) => BodyBox::Herbal(Box::new(x)),
            Body::FollowUp(x) => BodyBox::FollowUp(Box::new(x)),
            Body::Correction(x) => BodyBox::Correction(Box::new(x)),
        }
    }
}

impl BodyBox {
    fn to_body(&self) -> Body {
        match self {
            BodyBox::Resident(x) => Body::Resident(*x),
            BodyBox::Vitals(x) => Body::Vitals(*x),
            BodyBox::Constitution(x) => Body::Constitution((**x).clone()),
            BodyBox::Treatment(x) => Body::Treatment((**x).clone()),
            BodyBox::Herbal(x) => Body::Herbal((**x).clone()),
            BodyBox::FollowUp(x) => Body::FollowUp((**x).clone()),
            BodyBox::Correction(x) => Body::Correction((**x).clone()),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            BodyBox::Resident(_) => Kind::Resident,
            BodyBox::Vitals(_) => Kind::Vitals,
            BodyBox::Constitution(_) => Kind::Constitution,
            BodyBox::Treatment(_) => Kind::Treatment,
            BodyBox::Herbal(_) => Kind::Herbal,
            BodyBox::FollowUp(_) => Kind::FollowUp,
            BodyBox::Correction(_) => Kind::Correction,
        }
    }
}

/// A care-home TCM service record (base class of the seven kinds).
#[pyclass(subclass, frozen, module = "tcmcare", name = "Record")]
pub struct PyRecord {
    pub header: Header,
    pub body: BodyBox,
}

impl PyRecord {
    pub fn to_record(&self) -> Record {
        Record {
            header: self.header,
            body: self.body.to_body(),
        }
    }

    /// The validated envelope bytes.
    pub fn envelope(&self, py: Python<'_>) -> PyResult<Vec<u8>> {
        let r = self.to_record();
        let mut buf = [0u8; MAX_ENVELOPE_LEN];
        let n = r
            .encode(&mut buf)
            .map_err(|e| errors::from_record(py, &e, &[]))?;
        Ok(buf[..n].to_vec())
    }
}

/// The Python object of a core record, of the subclass of its kind.
pub fn record_to_py(py: Python<'_>, r: Record) -> PyResult<Bound<'_, PyAny>> {
    let kind = r.kind();
    let base = PyClassInitializer::from(PyRecord {
        header: r.header,
        body: r.body.into(),
    });
    Ok(match kind {
        Kind::Resident => Bound::new(py, base.add_subclass(PyResidentRegistration))?.into_any(),
        Kind::Vitals => Bound::new(py, base.add_subclass(PyVitalSigns))?.into_any(),
        Kind::Constitution => Bound::new(py, base.add_subclass(PyConstitutionRecord))?.into_any(),
        Kind::Treatment => Bound::new(py, base.add_subclass(PyTreatment))?.into_any(),
        Kind::Herbal => Bound::new(py, base.add_subclass(PyHerbalEvent))?.into_any(),
        Kind::FollowUp => Bound::new(py, base.add_subclass(PyFollowUp))?.into_any(),
        Kind::Correction => Bound::new(py, base.add_subclass(PyCorrection))?.into_any(),
    })
}

/// The record of a Python record object, or a `TypeError`.
pub fn record_of(obj: &Bound<'_, PyAny>) -> PyResult<Record> {
    Ok(record_ref(obj)?.to_record())
}

/// The native part of a Python record object, or a `TypeError`.
pub fn record_ref<'a, 'py>(obj: &'a Bound<'py, PyAny>) -> PyResult<&'a PyRecord> {
    match obj.cast::<PyRecord>() {
        Ok(r) => Ok(r.get()),
        Err(_) => Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "expected a tcmcare record, got {}",
            obj.get_type().name()?
        ))),
    }
}

fn type_of_kind(py: Python<'_>, kind: Kind) -> Bound<'_, PyType> {
    match kind {
        Kind::Resident => py.get_type::<PyResidentRegistration>(),
        Kind::Vitals => py.get_type::<PyVitalSigns>(),
        Kind::Constitution => py.get_type::<PyConstitutionRecord>(),
        Kind::Treatment => py.get_type::<PyTreatment>(),
        Kind::Herbal => py.get_type::<PyHerbalEvent>(),
        Kind::FollowUp => py.get_type::<PyFollowUp>(),
        Kind::Correction => py.get_type::<PyCorrection>(),
    }
}

/// Builds a record from its JSON view and makes the Python object.
fn from_json(py: Python<'_>, v: &Value) -> PyResult<Record> {
    record_from_json(v).map_err(|e| errors::from_json(py, &e))
}

/// The JSON object of the header arguments of a keyword constructor.
fn header_json(
    kind: Kind,
    id: &Bound<'_, PyAny>,
    resident: &Bound<'_, PyAny>,
    time: &Bound<'_, PyAny>,
) -> PyResult<Map<String, Value>> {
    let mut m = Map::new();
    m.insert("kind".into(), Value::String(kind.name().into()));
    m.insert("id".into(), convert::record_id_json(id, "id")?);
    m.insert(
        "resident".into(),
        convert::resident_json(resident, "resident")?,
    );
    m.insert("time".into(), convert::time_json(time, "time")?);
    Ok(m)
}

/// Adds an optional keyword argument (absent when `None`).
fn put(m: &mut Map<String, Value>, key: &str, v: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    if let Some(v) = v {
        if !v.is_none() {
            m.insert(key.into(), convert::from_py(v, key)?);
        }
    }
    Ok(())
}

/// Adds an optional record-id keyword argument.
fn put_id(m: &mut Map<String, Value>, key: &str, v: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    if let Some(v) = v {
        if !v.is_none() {
            m.insert(key.into(), convert::record_id_json(v, key)?);
        }
    }
    Ok(())
}

fn build(py: Python<'_>, m: Map<String, Value>) -> PyResult<PyClassInitializer<PyRecord>> {
    let r = from_json(py, &Value::Object(m))?;
    Ok(PyClassInitializer::from(PyRecord {
        header: r.header,
        body: r.body.into(),
    }))
}

fn names_set<'py>(
    py: Python<'py>,
    names: impl Iterator<Item = &'static str>,
) -> PyResult<Bound<'py, PyFrozenSet>> {
    PyFrozenSet::new(py, names.map(|n| PyString::intern(py, n)))
}

fn flag_names(bits: u8, table: &'static [&'static str]) -> impl Iterator<Item = &'static str> {
    table
        .iter()
        .enumerate()
        .filter(move |(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| *n)
}

fn guidance_names<'py>(py: Python<'py>, g: GuidanceSet) -> PyResult<Bound<'py, PyFrozenSet>> {
    names_set(py, g.iter().map(guidance_category_name))
}

fn internal_kind_error() -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err("record object holds a body of another kind")
}

#[pymethods]
impl PyRecord {
    /// The kind name (`"vitals"`...).
    #[getter]
    fn kind(&self) -> &'static str {
        self.body.kind().name()
    }

    /// The record id.
    #[getter]
    fn id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        pyobjs::record_id(py, &self.header.id)
    }

    /// The resident.
    #[getter]
    fn resident<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        pyobjs::resident_ref(py, &self.header.resident)
    }

    /// When the record was made: an aware UTC datetime, or `UnknownTime`.
    #[getter]
    fn time<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        pyobjs::timestamp(py, &self.header.time)
    }

    /// The JSON view (plain dicts, lists, strings and ints), derived fields included.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let kind = self.body.kind();
        let v = record_to_json(&self.to_record());
        let out = PyDict::new(py);
        if let Value::Object(m) = &v {
            for key in field_names(kind).iter().chain(derived_fields(kind)) {
                if let Some(x) = m.get(*key) {
                    out.set_item(*key, convert::to_py(py, x)?)?;
                }
            }
        }
        Ok(out)
    }

    /// The record of a JSON view (the `kind` key selects the class; called on a subclass
    /// the kind must be that subclass's).
    #[classmethod]
    fn from_dict<'py>(
        cls: &Bound<'py, PyType>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let v = convert::from_py(data, convert::RECORD_FIELD)?;
        let r = from_json(py, &v)?;
        let base = py.get_type::<PyRecord>();
        if !cls.is(&base) && !cls.is(type_of_kind(py, r.kind())) {
            return Err(errors::validation(
                py,
                "wrong_kind",
                "kind",
                &format!(
                    "`kind`: {} is not a {} record",
                    r.kind().name(),
                    cls.name()?
                ),
            ));
        }
        record_to_py(py, r)
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        let Ok(o) = other.cast::<PyRecord>() else {
            return py.NotImplemented();
        };
        let o = o.get();
        let eq = self.header == o.header && self.body == o.body;
        match op {
            CompareOp::Eq => PyBool::new(py, eq).to_owned().into_any().unbind(),
            CompareOp::Ne => PyBool::new(py, !eq).to_owned().into_any().unbind(),
            _ => py.NotImplemented(),
        }
    }

    fn __hash__(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.header.hash(&mut h);
        self.body.hash(&mut h);
        h.finish()
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let kind = slf.get().body.kind();
        let mut parts = Vec::new();
        for name in field_names(kind).iter().skip(1) {
            let v = slf.getattr(*name)?;
            parts.push(format!("{name}={}", v.repr()?));
        }
        Ok(format!("{}({})", slf.get_type().name()?, parts.join(", ")))
    }

    /// Pickles as the envelope bytes.
    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let decode = py.import("tcmcare._native")?.getattr("decode")?;
        Ok((decode, (PyBytes::new(py, &self.envelope(py)?),)))
    }
}

macro_rules! body {
    ($slf:expr, $variant:ident) => {
        match &$slf.as_super().body {
            BodyBox::$variant(b) => Ok(b),
            _ => Err(internal_kind_error()),
        }
    };
}

// ----------------------------------------------------------------------------------------

/// Resident registration or update.
#[pyclass(extends = PyRecord, frozen, module = "tcmcare", name = "ResidentRegistration")]
pub struct PyResidentRegistration;

#[pymethods]
impl PyResidentRegistration {
    #[new]
    #[pyo3(signature = (*, id, resident, time, birth_date, sex, conditions=None, consent=None, status=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        resident: &Bound<'_, PyAny>,
        time: &Bound<'_, PyAny>,
        birth_date: &Bound<'_, PyAny>,
        sex: &Bound<'_, PyAny>,
        conditions: Option<&Bound<'_, PyAny>>,
        consent: Option<&Bound<'_, PyAny>>,
        status: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut m = header_json(Kind::Resident, id, resident, time)?;
        put(&mut m, "birth_date", Some(birth_date))?;
        put(&mut m, "sex", Some(sex))?;
        put(&mut m, "conditions", conditions)?;
        put(&mut m, "consent", consent)?;
        put(&mut m, "status", status)?;
        Ok(build(py, m)?.add_subclass(PyResidentRegistration))
    }

    /// Date of birth.
    #[getter]
    fn birth_date<'py>(slf: PyRef<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let b = body!(slf, Resident)?;
        pyobjs::date(slf.py(), b.birth_date)
    }

    /// `"unknown"`, `"male"` or `"female"`.
    #[getter]
    fn sex(slf: PyRef<'_, Self>) -> PyResult<&'static str> {
        Ok(sex_name(body!(slf, Resident)?.sex))
    }

    /// Chronic conditions under management.
    #[getter]
    fn conditions<'py>(slf: PyRef<'py, Self>) -> PyResult<Bound<'py, PyFrozenSet>> {
        let bits = body!(slf, Resident)?.conditions.bits();
        names_set(slf.py(), flag_names(bits, &CONDITION_NAMES))
    }

    /// Consents given.
    #[getter]
    fn consent<'py>(slf: PyRef<'py, Self>) -> PyResult<Bound<'py, PyFrozenSet>> {
        let bits = body!(slf, Resident)?.consent.bits();
        names_set(slf.py(), flag_names(bits, &CONSENT_NAMES))
    }

    /// `"active"`, `"discharged"` or `"deceased"`.
    #[getter]
    fn status(slf: PyRef<'_, Self>) -> PyResult<&'static str> {
        Ok(body!(slf, Resident)?.status.name())
    }
}

// ----------------------------------------------------------------------------------------

/// Vital signs.
#[pyclass(extends = PyRecord, frozen, module = "tcmcare", name = "VitalSigns")]
pub struct PyVitalSigns;

#[pymethods]
impl PyVitalSigns {
    #[new]
    #[pyo3(signature = (*, id, resident, time, systolic_mmhg=None, diastolic_mmhg=None, pulse_per_min=None, spo2_percent=None, temperature_centi_c=None, temperature_site=None, weight_g=None, height_mm=None, waist_mm=None, glucose_umol_l=None, glucose_context=None, source=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        resident: &Bound<'_, PyAny>,
        time: &Bound<'_, PyAny>,
        systolic_mmhg: Option<&Bound<'_, PyAny>>,
        diastolic_mmhg: Option<&Bound<'_, PyAny>>,
        pulse_per_min: Option<&Bound<'_, PyAny>>,
        spo2_percent: Option<&Bound<'_, PyAny>>,
        temperature_centi_c: Option<&Bound<'_, PyAny>>,
        temperature_site: Option<&Bound<'_, PyAny>>,
        weight_g: Option<&Bound<'_, PyAny>>,
        height_mm: Option<&Bound<'_, PyAny>>,
        waist_mm: Option<&Bound<'_, PyAny>>,
        glucose_umol_l: Option<&Bound<'_, PyAny>>,
        glucose_context: Option<&Bound<'_, PyAny>>,
        source: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut m = header_json(Kind::Vitals, id, resident, time)?;
        put(&mut m, "systolic_mmhg", systolic_mmhg)?;
        put(&mut m, "diastolic_mmhg", diastolic_mmhg)?;
        put(&mut m, "pulse_per_min", pulse_per_min)?;
        put(&mut m, "spo2_percent", spo2_percent)?;
        put(&mut m, "temperature_centi_c", temperature_centi_c)?;
        put(&mut m, "temperature_site", temperature_site)?;
        put(&mut m, "weight_g", weight_g)?;
        put(&mut m, "height_mm", height_mm)?;
        put(&mut m, "waist_mm", waist_mm)?;
        put(&mut m, "glucose_umol_l", glucose_umol_l)?;
        put(&mut m, "glucose_context", glucose_context)?;
        put(&mut m, "source", source)?;
        Ok(build(py, m)?.add_subclass(PyVitalSigns))
    }

    /// Systolic blood pressure, mmHg.
    #[getter]
    fn systolic_mmhg(slf: PyRef<'_, Self>) -> PyResult<Option<u16>> {
        Ok(body!(slf, Vitals)?.systolic_mmhg)
    }
    /// Diastolic blood pressure, mmHg.
    #[getter]
    fn diastolic_mmhg(slf: PyRef<'_, Self>) -> PyResult<Option<u16>> {
        Ok(body!(slf, Vitals)?.diastolic_mmhg)
    }
    /// Pulse rate, /min.
    #[getter]
    fn pulse_per_min(slf: PyRef<'_, Self>) -> PyResult<Option<u16>> {
        Ok(body!(slf, Vitals)?.pulse_per_min)
    }
    /// Oxygen saturation, whole %.
    #[getter]
    fn spo2_percent(slf: PyRef<'_, Self>) -> PyResult<Option<u8>> {
        Ok(body!(slf, Vitals)?.spo2_percent)
    }
    /// Body temperature, 0.01 °C.
    #[getter]
    fn temperature_centi_c(slf: PyRef<'_, Self>) -> PyResult<Option<i16>> {
        Ok(body!(slf, Vitals)?.temperature_centi_c)
    }
    /// Where the temperature was taken (`None` without a temperature).
    #[getter]
    fn temperature_site(slf: PyRef<'_, Self>) -> PyResult<Option<&'static str>> {
        let v = body!(slf, Vitals)?;
        Ok(v.temperature_centi_c.map(|_| v.temperature_site.name()))
    }
    /// Body weight, g.
    #[getter]
    fn weight_g(slf: PyRef<'_, Self>) -> PyResult<Option<u32>> {
        Ok(body!(slf, Vitals)?.weight_g)
    }
    /// Body height, mm.
    #[getter]
    fn height_mm(slf: PyRef<'_, Self>) -> PyResult<Option<u16>> {
        Ok(body!(slf, Vitals)?.height_mm)
    }
    /// Waist circumference, mm.
    #[getter]
    fn waist_mm(slf: PyRef<'_, Self>) -> PyResult<Option<u16>> {
        Ok(body!(slf, Vitals)?.waist_mm)
    }
    /// Blood glucose, µmol/L.
    #[getter]
    fn glucose_umol_l(slf: PyRef<'_, Self>) -> PyResult<Option<u32>> {
        Ok(body!(slf, Vitals)?.glucose_umol_l)
    }
    /// Meal context of the glucose sample (`None` without a glucose value).
    #[getter]
    fn glucose_context(slf: PyRef<'_, Self>) -> PyResult<Option<&'static str>> {
        let v = body!(slf, Vitals)?;
        Ok(v.glucose_umol_l.map(|_| v.glucose_context.name()))
    }
    /// How the values were obtained.
    #[getter]
    fn source(slf: PyRef<'_, Self>) -> PyResult<&'static str> {
        Ok(body!(slf, Vitals)?.source.name())
    }
    /// Alert flags derived by core from its named thresholds.
    #[getter]
    fn alerts<'py>(slf: PyRef<'py, Self>) -> PyResult<Bound<'py, PyFrozenSet>> {
        let a = body!(slf, Vitals)?.alerts();
        names_set(slf.py(), a.names())
    }
    /// Body-mass index × 100 when weight and height are present.
    #[getter]
    fn bmi_centi(slf: PyRef<'_, Self>) -> PyResult<Option<u32>> {
        Ok(body!(slf, Vitals)?.bmi_centi())
    }
}

// ----------------------------------------------------------------------------------------

/// Constitution assessment (the 33-item form).
#[pyclass(extends = PyRecord, frozen, module = "tcmcare", name = "ConstitutionRecord")]
pub struct PyConstitutionRecord;

#[pymethods]
impl PyConstitutionRecord {
    #[new]
    #[pyo3(signature = (*, id, resident, time, answers, assessor, guidance=None))]
    fn new(
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        resident: &Bound<'_, PyAny>,
        time: &Bound<'_, PyAny>,
        answers: &Bound<'_, PyAny>,
        assessor: &Bound<'_, PyAny>,
        guidance: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut m = header_json(Kind::Constitution, id, resident, time)?;
        let mut list = Vec::new();
        for a in answers.try_iter()? {
            list.push(convert::from_py(&a?, "answers")?);
        }
        m.insert("answers".into(), Value::Array(list));
        put(&mut m, "assessor", Some(assessor))?;
        if let Some(g) = guidance.filter(|g| !g.is_none()) {
            m.insert(
                "guidance".into(),
                convert::list_of_records(g, "guidance", &["constitution", "categories", "other"])?,
            );
        }
        Ok(build(py, m)?.add_subclass(PyConstitutionRecord))
    }

    /// Answers to items 1..=33.
    #[getter]
    fn answers<'py>(slf: PyRef<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let c = body!(slf, Constitution)?;
        PyTuple::new(slf.py(), c.answers.iter().copied())
    }
    /// The doctor who signed the form.
    #[getter]
    fn assessor(slf: PyRef<'_, Self>) -> PyResult<u32> {
        Ok(body!(slf, Constitution)?.assessor.0)
    }
    /// Guidance given, one entry per constitution.
    #[getter]
    fn guidance<'py>(slf: PyRef<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let c = body!(slf, Constitution)?;
        let ty = pyobjs::guidance_given_type(py)?;
        let items = c
            .guidance
            .iter()
            .map(|g| {
                ty.call1((
                    g.constitution.pinyin(),
                    guidance_names(py, g.categories)?,
                    g.other.as_str(),
                ))
            })
            .collect::<PyResult<Vec<_>>>()?;
        pyobjs::tuple(py, items)
    }
    /// Scores, verdicts and the rest computed by core from the answers.
    #[getter]
    fn assessment(slf: PyRef<'_, Self>) -> PyResult<PyConstitutionAssessment> {
        let c = body!(slf, Constitution)?;
        let a = c.assessment().map_err(|_| internal_kind_error())?;
        Ok(PyConstitutionAssessment::new(a))
    }
}

// ----------------------------------------------------------------------------------------

/// A TCM technique treatment.
#[pyclass(extends = PyRecord, frozen, module = "tcmcare", name = "Treatment")]
pub struct PyTreatment;

#[pymethods]
impl PyTreatment {
    #[new]
    #[pyo3(signature = (*, id, resident, time, technique, duration_min, practitioner, acupoints=None, outcome=None, adverse_event=None, note=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        resident: &Bound<'_, PyAny>,
        time: &Bound<'_, PyAny>,
        technique: &Bound<'_, PyAny>,
        duration_min: &Bound<'_, PyAny>,
        practitioner: &Bound<'_, PyAny>,
        acupoints: Option<&Bound<'_, PyAny>>,
        outcome: Option<&Bound<'_, PyAny>>,
        adverse_event: Option<&Bound<'_, PyAny>>,
        note: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut m = header_json(Kind::Treatment, id, resident, time)?;
        put(&mut m, "technique", Some(technique))?;
        put(&mut m, "acupoints", acupoints)?;
        put(&mut m, "duration_min", Some(duration_min))?;
        put(&mut m, "practitioner", Some(practitioner))?;
        put(&mut m, "outcome", outcome)?;
        put(&mut m, "adverse_event", adverse_event)?;
        put(&mut m, "note", note)?;
        Ok(build(py, m)?.add_subclass(PyTreatment))
    }

    /// The technique (`"moxibustion"`...).
    #[getter]
    fn technique(slf: PyRef<'_, Self>) -> PyResult<&'static str> {
        Ok(technique_name(body!(slf, Treatment)?.technique))
    }
    /// Acupoints as WHO codes, in the order treated.
    #[getter]
    fn acupoints<'py>(slf: PyRef<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let t = body!(slf, Treatment)?;
        PyTuple::new(slf.py(), t.acupoints.iter().map(|a| a.to_string()))
    }
    /// Duration in minutes.
    #[getter]
    fn duration_min(slf: PyRef<'_, Self>) -> PyResult<u16> {
        Ok(body!(slf, Treatment)?.duration_min)
    }
    /// Who gave the treatment.
    #[getter]
    fn practitioner(slf: PyRef<'_, Self>) -> PyResult<u32> {
        Ok(body!(slf, Treatment)?.practitioner.0)
    }
    /// `"completed"`, `"stopped_early"` or `"refused"`.
    #[getter]
    fn outcome(slf: PyRef<'_, Self>) -> PyResult<&'static str> {
        Ok(body!(slf, Treatment)?.outcome.name())
    }
    /// Adverse event (`"none"`...).
    #[getter]
    fn adverse_event(slf: PyRef<'_, Self>) -> PyResult<&'static str> {
        Ok(body!(slf, Treatment)?.adverse_event.name())
    }
    /// Free-text note.
    #[getter]
    fn note(slf: PyRef<'_, Self>) -> PyResult<String> {
        Ok(body!(slf, Treatment)?.note.to_string())
    }
}

// ----------------------------------------------------------------------------------------

/// A herbal prescription or a decoction delivery event.
#[pyclass(extends = PyRecord, frozen, module = "tcmcare", name = "HerbalEvent")]
pub struct PyHerbalEvent;

#[pymethods]
impl PyHerbalEvent {
    #[new]
    #[pyo3(signature = (*, id, resident, time, stage, actor, prescription=None, doses=None, herbs=None, note=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        resident: &Bound<'_, PyAny>,
        time: &Bound<'_, PyAny>,
        stage: &Bound<'_, PyAny>,
        actor: &Bound<'_, PyAny>,
        prescription: Option<&Bound<'_, PyAny>>,
        doses: Option<&Bound<'_, PyAny>>,
        herbs: Option<&Bound<'_, PyAny>>,
        note: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut m = header_json(Kind::Herbal, id, resident, time)?;
        put(&mut m, "stage", Some(stage))?;
        put_id(&mut m, "prescription", prescription)?;
        put(&mut m, "doses", doses)?;
        if let Some(h) = herbs.filter(|h| !h.is_none()) {
            m.insert(
                "herbs".into(),
                convert::list_of_records(h, "herbs", &["name", "decigrams"])?,
            );
        }
        put(&mut m, "actor", Some(actor))?;
        put(&mut m, "note", note)?;
        Ok(build(py, m)?.add_subclass(PyHerbalEvent))
    }

    /// `"prescribed"`, `"decocted"`, `"dispatched"`, `"delivered"` or `"received"`.
    #[getter]
    fn stage(slf: PyRef<'_, Self>) -> PyResult<&'static str> {
        Ok(body!(slf, Herbal)?.stage.name())
    }
    /// The prescription a later stage refers to.
    #[getter]
    fn prescription<'py>(slf: PyRef<'py, Self>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let h = body!(slf, Herbal)?;
        h.prescription
            .as_ref()
            .map(|p| pyobjs::record_id(slf.py(), p))
            .transpose()
    }
    /// Number of doses (剂数) of a prescription; 0 for later stages.
    #[getter]
    fn doses(slf: PyRef<'_, Self>) -> PyResult<u8> {
        Ok(body!(slf, Herbal)?.doses)
    }
    /// The herbs of a prescription.
    #[getter]
    fn herbs<'py>(slf: PyRef<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let h = body!(slf, Herbal)?;
        let ty = pyobjs::herb_dose_type(py)?;
        let items = h
            .herbs
            .iter()
            .map(|d| ty.call1((d.name.as_str(), d.decigrams)))
            .collect::<PyResult<Vec<_>>>()?;
        pyobjs::tuple(py, items)
    }
    /// Who did this step.
    #[getter]
    fn actor(slf: PyRef<'_, Self>) -> PyResult<u32> {
        Ok(body!(slf, Herbal)?.actor.0)
    }
    /// Free-text note.
    #[getter]
    fn note(slf: PyRef<'_, Self>) -> PyResult<String> {
        Ok(body!(slf, Herbal)?.note.to_string())
    }
}

// ----------------------------------------------------------------------------------------

/// A chronic-disease TCM follow-up.
#[pyclass(extends = PyRecord, frozen, module = "tcmcare", name = "FollowUp")]
pub struct PyFollowUp;

#[pymethods]
impl PyFollowUp {
    #[new]
    #[pyo3(signature = (*, id, resident, time, condition, clinician, control=None, guidance=None, interventions=None, next_visit=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        resident: &Bound<'_, PyAny>,
        time: &Bound<'_, PyAny>,
        condition: &Bound<'_, PyAny>,
        clinician: &Bound<'_, PyAny>,
        control: Option<&Bound<'_, PyAny>>,
        guidance: Option<&Bound<'_, PyAny>>,
        interventions: Option<&Bound<'_, PyAny>>,
        next_visit: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut m = header_json(Kind::FollowUp, id, resident, time)?;
        put(&mut m, "condition", Some(condition))?;
        put(&mut m, "control", control)?;
        put(&mut m, "guidance", guidance)?;
        put(&mut m, "interventions", interventions)?;
        put(&mut m, "next_visit", next_visit)?;
        put(&mut m, "clinician", Some(clinician))?;
        Ok(build(py, m)?.add_subclass(PyFollowUp))
    }

    /// `"hypertension"`, `"diabetes"` or `"stroke_high_risk"`.
    #[getter]
    fn condition(slf: PyRef<'_, Self>) -> PyResult<&'static str> {
        Ok(body!(slf, FollowUp)?.condition.name())
    }
    /// How well the condition is controlled.
    #[getter]
    fn control(slf: PyRef<'_, Self>) -> PyResult<&'static str> {
        Ok(body!(slf, FollowUp)?.control.name())
    }
    /// Guidance areas given.
    #[getter]
    fn guidance<'py>(slf: PyRef<'py, Self>) -> PyResult<Bound<'py, PyFrozenSet>> {
        let g = body!(slf, FollowUp)?.guidance;
        guidance_names(slf.py(), g)
    }
    /// Techniques applied or prescribed.
    #[getter]
    fn interventions<'py>(slf: PyRef<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let f = body!(slf, FollowUp)?;
        let names: Vec<&'static str> = f
            .interventions
            .iter()
            .map(|t: &Technique| technique_name(*t))
            .collect();
        PyTuple::new(slf.py(), names)
    }
    /// Next visit, if scheduled.
    #[getter]
    fn next_visit<'py>(slf: PyRef<'py, Self>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let f = body!(slf, FollowUp)?;
        f.next_visit.map(|d| pyobjs::date(slf.py(), d)).transpose()
    }
    /// The clinician.
    #[getter]
    fn clinician(slf: PyRef<'_, Self>) -> PyResult<u32> {
        Ok(body!(slf, FollowUp)?.clinician.0)
    }
}

// ----------------------------------------------------------------------------------------

/// Amend or void of an earlier record.
#[pyclass(extends = PyRecord, frozen, module = "tcmcare", name = "Correction")]
pub struct PyCorrection;

#[pymethods]
impl PyCorrection {
    #[new]
    #[pyo3(signature = (*, id, resident, time, target, action, replacement=None, reason=None, note=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        resident: &Bound<'_, PyAny>,
        time: &Bound<'_, PyAny>,
        target: &Bound<'_, PyAny>,
        action: &Bound<'_, PyAny>,
        replacement: Option<&Bound<'_, PyAny>>,
        reason: Option<&Bound<'_, PyAny>>,
        note: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut m = header_json(Kind::Correction, id, resident, time)?;
        put_id(&mut m, "target", Some(target))?;
        put(&mut m, "action", Some(action))?;
        put_id(&mut m, "replacement", replacement)?;
        put(&mut m, "reason", reason)?;
        put(&mut m, "note", note)?;
        Ok(build(py, m)?.add_subclass(PyCorrection))
    }

    /// The record corrected.
    #[getter]
    fn target<'py>(slf: PyRef<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let c = body!(slf, Correction)?;
        pyobjs::record_id(slf.py(), &c.target)
    }
    /// `"void"` or `"amend"`.
    #[getter]
    fn action(slf: PyRef<'_, Self>) -> PyResult<&'static str> {
        Ok(match body!(slf, Correction)?.action {
            CorrectionAction::Void => "void",
            CorrectionAction::Amend { .. } => "amend",
        })
    }
    /// The replacement record of an amendment.
    #[getter]
    fn replacement<'py>(slf: PyRef<'py, Self>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match body!(slf, Correction)?.action {
            CorrectionAction::Void => Ok(None),
            CorrectionAction::Amend { replacement } => {
                pyobjs::record_id(slf.py(), &replacement).map(Some)
            }
        }
    }
    /// Why the correction was made.
    #[getter]
    fn reason(slf: PyRef<'_, Self>) -> PyResult<&'static str> {
        Ok(body!(slf, Correction)?.reason.name())
    }
    /// Free-text explanation.
    #[getter]
    fn note(slf: PyRef<'_, Self>) -> PyResult<String> {
        Ok(body!(slf, Correction)?.note.to_string())
    }
}

/// The field names of a kind's keyword constructor (without `kind`).
#[pyfunction]
fn record_fields(py: Python<'_>, kind: &str) -> PyResult<Vec<&'static str>> {
    let k = Kind::ALL
        .into_iter()
        .find(|k| k.name() == kind)
        .ok_or_else(|| {
            errors::validation(
                py,
                "unknown_name",
                "kind",
                &format!("unknown kind {kind:?}"),
            )
        })?;
    Ok(field_names(k).iter().skip(1).copied().collect())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRecord>()?;
    m.add_class::<PyResidentRegistration>()?;
    m.add_class::<PyVitalSigns>()?;
    m.add_class::<PyConstitutionRecord>()?;
    m.add_class::<PyTreatment>()?;
    m.add_class::<PyHerbalEvent>()?;
    m.add_class::<PyFollowUp>()?;
    m.add_class::<PyCorrection>()?;
    m.add_function(wrap_pyfunction!(record_fields, m)?)?;
    Ok(())
}
