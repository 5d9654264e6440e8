//! Conversions between Python objects and the JSON view of `tcmcare_core::json`.
//!
//! `to_py` turns a JSON value into plain Python (`dict`, `list`, `str`, `int`, `bool`,
//! `None`): what `to_dict()` returns. `from_py` turns Python values into JSON for
//! `from_dict()` and the keyword constructors, accepting the Python types the record
//! classes return (aware `datetime`, `date`, the named tuples of `tcmcare.types`, sets) so
//! that `Cls(**fields)` round-trips.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::errors;
use crate::pyobjs;

/// A JSON value as plain Python objects.
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

fn wrong_type(py: Python<'_>, field: &str, what: &str) -> PyErr {
    errors::validation(
        py,
        "wrong_type",
        field,
        &format!("`{field}`: cannot use {what} here"),
    )
}

/// The field name `from_dict` gives a whole record: the values of its dict are named by
/// their keys (`"note"`), those of nested dicts by their path (`"id.device"`).
pub const RECORD_FIELD: &str = "record";

/// A `str` as text. A `str` that is not valid Unicode (a lone surrogate such as
/// `"\ud800"`, which UTF-8 cannot encode) is a `SchemaError` naming `field`.
fn text(s: &Bound<'_, PyString>, field: &str) -> PyResult<String> {
    match s.to_cow() {
        Ok(t) => Ok(t.into_owned()),
        Err(_) => {
            let at = s
                .to_string_lossy()
                .chars()
                .position(|c| c == char::REPLACEMENT_CHARACTER)
                .unwrap_or(0);
            Err(wrong_type(
                s.py(),
                field,
                &format!("a str with a lone surrogate (at {at}), which is not text"),
            ))
        }
    }
}

/// A Python value as JSON. `field` names the value in errors.
pub fn from_py(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Value> {
    let py = obj.py();
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if obj.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.extract::<bool>()?));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        return Err(errors::validation(
            py,
            "out_of_range",
            field,
            &format!("`{field}` is outside the range of its type"),
        ));
    }
    if obj.is_instance_of::<PyFloat>() {
        let f = obj.extract::<f64>()?;
        return Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| wrong_type(py, field, "a non-finite float"));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return text(s, field).map(Value::String);
    }
    // datetime before date: a datetime is a date.
    if obj.is_instance(pyobjs::datetime_type(py)?)? {
        return datetime_json(obj, field);
    }
    if obj.is_instance(pyobjs::date_type(py)?)? {
        return Ok(Value::String(obj.call_method0("isoformat")?.extract()?));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let key: String = k
                .extract()
                .map_err(|_| wrong_type(py, field, "a dict with non-string keys"))?;
            let child = if field == RECORD_FIELD {
                key.clone()
            } else {
                format!("{field}.{key}")
            };
            let x = from_py(&v, &child)?;
            m.insert(key, x);
        }
        return Ok(Value::Object(m));
    }
    if obj.is_instance_of::<PyTuple>() && obj.hasattr("_asdict")? {
        // A named tuple of tcmcare.types (RecordId, HerbDose...): its fields by name.
        return from_py(&obj.call_method0("_asdict")?, field);
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for item in obj.try_iter()? {
            out.push(from_py(&item?, field)?);
        }
        return Ok(Value::Array(out));
    }
    if obj.is_instance_of::<PySet>() || obj.is_instance_of::<PyFrozenSet>() {
        // Sets of names (flags, guidance categories): order does not matter; sorted for a
        // deterministic view.
        let mut out = Vec::new();
        for item in obj.try_iter()? {
            out.push(from_py(&item?, field)?);
        }
        out.sort_by_key(|v| v.to_string());
        return Ok(Value::Array(out));
    }
    let type_name = obj.get_type().name()?.to_string();
    Err(wrong_type(py, field, &format!("a {type_name}")))
}

/// `{"utc": seconds}` of an aware datetime (the sub-second part is dropped: records
/// carry whole seconds).
fn datetime_json(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Value> {
    let py = obj.py();
    if obj.call_method0("utcoffset")?.is_none() {
        return Err(errors::validation(
            py,
            "wrong_type",
            field,
            &format!("`{field}`: a naive datetime is ambiguous; give it a tzinfo"),
        ));
    }
    let ts: f64 = obj.call_method0("timestamp")?.extract()?;
    let secs = ts.floor();
    if !(0.0..=u64::MAX as f64).contains(&secs) {
        return Err(errors::validation(
            py,
            "invalid_time",
            field,
            &format!("`{field}`: time before 1970"),
        ));
    }
    let mut m = Map::new();
    m.insert("utc".into(), Value::Number((secs as u64).into()));
    Ok(Value::Object(m))
}

/// A record id given as `RecordId`, a `(device, epoch, seq)` tuple or a dict.
pub fn record_id_json(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Value> {
    positional(obj, field, &["device", "epoch", "seq"])
}

/// A resident given as `ResidentRef`, a `(care_home, number)` tuple or a dict.
pub fn resident_json(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Value> {
    positional(obj, field, &["care_home", "number"])
}

/// A plain tuple or list of `names.len()` items as an object with those keys; anything
/// else converted as it is.
fn positional(obj: &Bound<'_, PyAny>, field: &str, names: &[&str]) -> PyResult<Value> {
    let plain_sequence = (obj.is_instance_of::<PyTuple>() && !obj.hasattr("_asdict")?)
        || obj.is_instance_of::<PyList>();
    if plain_sequence {
        let items: Vec<Bound<'_, PyAny>> = obj.try_iter()?.collect::<PyResult<_>>()?;
        if items.len() == names.len() {
            let mut m = Map::new();
            for (name, item) in names.iter().zip(items) {
                m.insert((*name).into(), from_py(&item, field)?);
            }
            return Ok(Value::Object(m));
        }
    }
    from_py(obj, field)
}

/// A time given as an aware datetime, Unix seconds, `UnknownTime` or a dict.
pub fn time_json(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Value> {
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        let mut m = Map::new();
        m.insert("utc".into(), from_py(obj, field)?);
        return Ok(Value::Object(m));
    }
    from_py(obj, field)
}

/// A list of objects given as named tuples, dicts or plain tuples of the fields `names`
/// in order (trailing ones may be left out).
pub fn list_of_records(obj: &Bound<'_, PyAny>, field: &str, names: &[&str]) -> PyResult<Value> {
    if !(obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>()) {
        return from_py(obj, field);
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        let item = item?;
        let plain = (item.is_instance_of::<PyTuple>() && !item.hasattr("_asdict")?)
            || item.is_instance_of::<PyList>();
        if plain {
            let parts: Vec<Bound<'_, PyAny>> = item.try_iter()?.collect::<PyResult<_>>()?;
            if parts.len() > names.len() {
                return Err(wrong_type(obj.py(), field, "a tuple with too many items"));
            }
            let mut m = Map::new();
            for (name, part) in names.iter().zip(parts) {
                m.insert((*name).into(), from_py(&part, field)?);
            }
            out.push(Value::Object(m));
        } else {
            out.push(from_py(&item, field)?);
        }
    }
    Ok(Value::Array(out))
}
