//! Constitution identification (`tcmcare_core::constitution`): `ConstitutionAssessment`
//! over core's `Assessment`, the form's scoring, and the names of constitutions and
//! guidance areas.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyTuple};

use tcmcare_core::constitution::{
    apply_measurements, assess, guidance, Assessment, Constitution, ConstitutionError,
    GuidanceCategory, MeasurementError, ITEM_COUNT,
};
use tcmcare_core::json::{guidance_category_from_name, guidance_category_name};

use crate::errors;
use crate::pyobjs;

/// The outcome of one constitution identification (scores and verdicts by core).
#[pyclass(frozen, module = "tcmcare", name = "ConstitutionAssessment")]
pub struct PyConstitutionAssessment {
    inner: Assessment,
}

impl PyConstitutionAssessment {
    pub fn new(inner: Assessment) -> Self {
        PyConstitutionAssessment { inner }
    }
}

fn pinyin_tuple<'py>(
    py: Python<'py>,
    set: impl Iterator<Item = Constitution>,
) -> PyResult<Bound<'py, PyTuple>> {
    let names: Vec<&'static str> = set.map(Constitution::pinyin).collect();
    PyTuple::new(py, names)
}

/// The catalogue guidance of one constitution as a `tcmcare.types.ConstitutionGuidance`.
fn guidance_of<'py>(py: Python<'py>, c: Constitution) -> PyResult<Bound<'py, PyAny>> {
    let g = guidance(c);
    let advice_ty = pyobjs::advice_type(py)?;
    let advice = g
        .advice
        .iter()
        .map(|a| advice_ty.call1((guidance_category_name(a.category), a.zh, a.en)))
        .collect::<PyResult<Vec<_>>>()?;
    pyobjs::constitution_guidance_type(py)?.call1((
        c.pinyin(),
        c.name_zh(),
        c.name_en(),
        PyTuple::new(py, advice)?,
        PyTuple::new(py, g.acupoints.iter().copied())?,
    ))
}

#[pymethods]
impl PyConstitutionAssessment {
    /// The 33 answers assessed (items 9 and 28 as derived from measurements, if given).
    #[getter]
    fn answers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.answers().iter().copied())
    }

    /// Score per constitution, keyed by pinyin id.
    #[getter]
    fn scores<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for c in Constitution::ALL {
            d.set_item(c.pinyin(), self.inner.score(c))?;
        }
        Ok(d)
    }

    /// Verdict per constitution: `"yes"`, `"tendency"`, `"basically_yes"` or `"no"`.
    #[getter]
    fn verdicts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for c in Constitution::ALL {
            d.set_item(c.pinyin(), self.inner.verdict(c).as_str())?;
        }
        Ok(d)
    }

    /// Every constitution whose verdict is not `"no"`.
    #[getter]
    fn identified<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        pinyin_tuple(py, self.inner.identified().iter())
    }

    /// The constitution(s) guidance is primarily based on: the highest-scoring identified
    /// biased type(s) (several when tied: a TCM physician chooses), else `("pinghe",)`,
    /// else empty.
    #[getter]
    fn primary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        pinyin_tuple(py, self.inner.primary().iter())
    }

    /// `True` when no type is determinable (re-collect the answers after two weeks).
    #[getter]
    fn needs_recollection(&self) -> bool {
        self.inner.needs_recollection()
    }

    /// Pairs the form says to re-check (阴虚 and 阳虚 both `"yes"`).
    #[getter]
    fn contradictions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let pairs = self
            .inner
            .contradictions()
            .map(|(a, b)| PyTuple::new(py, [a.pinyin(), b.pinyin()]))
            .collect::<PyResult<Vec<_>>>()?;
        PyTuple::new(py, pairs)
    }

    /// Catalogue guidance for each identified constitution, keyed by pinyin id.
    #[getter]
    fn guidance<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for c in self.inner.identified().iter() {
            d.set_item(c.pinyin(), guidance_of(py, c)?)?;
        }
        Ok(d)
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        let Ok(o) = other.cast::<PyConstitutionAssessment>() else {
            return py.NotImplemented();
        };
        let eq = self.inner == o.get().inner;
        match op {
            CompareOp::Eq => PyBool::new(py, eq).to_owned().into_any().unbind(),
            CompareOp::Ne => PyBool::new(py, !eq).to_owned().into_any().unbind(),
            _ => py.NotImplemented(),
        }
    }

    fn __hash__(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.inner.hash(&mut h);
        h.finish()
    }

    fn __repr__(&self) -> String {
        let scores: Vec<String> = Constitution::ALL
            .iter()
            .map(|c| {
                format!(
                    "{}={}/{}",
                    c.pinyin(),
                    self.inner.score(*c),
                    self.inner.verdict(*c).as_str()
                )
            })
            .collect();
        format!("ConstitutionAssessment({})", scores.join(", "))
    }
}

/// Scores 33 answers; `bmi_centi` / `waist_mm` replace items 9 and 28 when given.
///
/// `None` is "not measured"; any given value, 0 included, must pass core's plausibility
/// rule (`apply_measurements`: waist as a vital-signs record, BMI within
/// `BMI_RANGE_CENTI`), the same rule the C ABI applies to its non-zero values. A bool is
/// not an answer (`True == 1` in Python).
#[pyfunction]
#[pyo3(signature = (answers, bmi_centi=None, waist_mm=None))]
fn assess_answers(
    py: Python<'_>,
    answers: &Bound<'_, PyAny>,
    bmi_centi: Option<u32>,
    waist_mm: Option<u16>,
) -> PyResult<PyConstitutionAssessment> {
    let mut list = [0u8; ITEM_COUNT];
    let mut n = 0usize;
    for (i, item) in answers.try_iter()?.enumerate() {
        let item = item?;
        let not_integer = || {
            errors::validation(
                py,
                "wrong_type",
                "answers",
                &format!("answers: item {} is not an integer", i + 1),
            )
        };
        if item.is_instance_of::<PyBool>() {
            return Err(not_integer());
        }
        let value: i64 = item.extract().map_err(|_| not_integer())?;
        if let Some(slot) = list.get_mut(i) {
            // Outside 0..=255 is outside 1..=5 as well; core reports the first bad item.
            *slot = u8::try_from(value).map_err(|_| {
                errors::validation(
                    py,
                    "answer_out_of_range",
                    "answers",
                    &format!("answers: answer {value} at item {} outside 1..=5", i + 1),
                )
            })?;
        }
        n = i + 1;
    }
    if n != ITEM_COUNT {
        return Err(errors::validation(
            py,
            "wrong_type",
            "answers",
            &format!("answers: expected {ITEM_COUNT} answers, got {n}"),
        ));
    }
    apply_measurements(&mut list, bmi_centi, waist_mm).map_err(|e| match e {
        MeasurementError::Implausible(v) => errors::from_validation(py, &v),
        MeasurementError::BmiOutOfRange(_) => errors::validation(
            py,
            "bmi_out_of_range",
            "bmi_centi",
            &format!("bmi_centi: {e}"),
        ),
    })?;
    match assess(&list) {
        Ok(a) => Ok(PyConstitutionAssessment::new(a)),
        Err(ConstitutionError::AnswerOutOfRange { item, value }) => Err(errors::validation(
            py,
            "answer_out_of_range",
            "answers",
            &format!("answers: answer {value} at item {item} outside 1..=5"),
        )),
    }
}

/// `(中文, English)` names of a constitution pinyin id.
#[pyfunction]
fn constitution_names(py: Python<'_>, pinyin: &str) -> PyResult<(&'static str, &'static str)> {
    let c = Constitution::from_pinyin(pinyin).ok_or_else(|| {
        errors::validation(
            py,
            "unknown_name",
            "constitution",
            &format!("unknown constitution {pinyin:?}"),
        )
    })?;
    Ok((c.name_zh(), c.name_en()))
}

/// `(中文, English)` names of a guidance area.
#[pyfunction]
fn guidance_category_names(py: Python<'_>, name: &str) -> PyResult<(&'static str, &'static str)> {
    let g = guidance_category_from_name(name).ok_or_else(|| {
        errors::validation(
            py,
            "unknown_name",
            "guidance",
            &format!("unknown guidance area {name:?}"),
        )
    })?;
    Ok((g.name_zh(), g.name_en()))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyConstitutionAssessment>()?;
    m.add_function(wrap_pyfunction!(assess_answers, m)?)?;
    m.add_function(wrap_pyfunction!(constitution_names, m)?)?;
    m.add_function(wrap_pyfunction!(guidance_category_names, m)?)?;
    m.add(
        "CONSTITUTIONS",
        Constitution::ALL.map(Constitution::pinyin).to_vec(),
    )?;
    m.add(
        "GUIDANCE_CATEGORIES",
        GuidanceCategory::ALL
            .iter()
            .map(|c| guidance_category_name(*c))
            .collect::<Vec<_>>(),
    )?;
    Ok(())
}
