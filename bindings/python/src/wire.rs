//! The wire format: envelopes, frames, the streaming `FrameDecoder` and `PayloadDecoder`
//! and columnar decoding.
//!
//! Every byte stream or buffer of frames is split by core's [`FrameDecoder`] (COBS, CRC,
//! limits and error kinds are core's): the buffer functions here, the two streaming
//! classes and the sync endpoints (`Receiver.receive`, `Outbox.receive`, through
//! [`SyncFrameDecoder`] and [`feed_frames`]).

use std::hash::{Hash, Hasher};

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyString};

use tcmcare_core::record::{
    Body, GlucoseContext, Kind, MeasurementSource, Record, RecordError, TemperatureSite,
};
use tcmcare_core::sync::MAX_SYNC_FRAME_LEN;
use tcmcare_core::time::Timestamp;
use tcmcare_core::wire::{
    decode_frame as core_decode_frame, decode_frame_mut as core_decode_frame_mut,
    encode_frame as core_encode_frame, max_frame_len, Envelope, FrameDecoder, FrameError,
    FRAME_DELIMITER, MAX_RECORD_FRAME_LEN,
};

use crate::errors;
use crate::pyobjs;
use crate::records::{record_ref, record_to_py};

/// The envelope bytes of a record (validated first).
#[pyfunction]
fn encode<'py>(py: Python<'py>, record: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let env = record_ref(record)?.envelope(py)?;
    Ok(PyBytes::new(py, &env))
}

/// The record of one envelope spanning all of `data`.
#[pyfunction]
fn decode<'py>(py: Python<'py>, data: PyBackedBytes) -> PyResult<Bound<'py, PyAny>> {
    match Record::decode(&data) {
        Ok(r) => record_to_py(py, r),
        Err(e) => Err(errors::from_record(py, &e, &data)),
    }
}

/// The frame bytes (`COBS(envelope | CRC-32C) 00`) of a record.
#[pyfunction]
fn encode_frame<'py>(py: Python<'py>, record: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let env = record_ref(record)?.envelope(py)?;
    let mut out = vec![0u8; max_frame_len(env.len())];
    let n = core_encode_frame(&env, &mut out)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    Ok(PyBytes::new(py, &out[..n]))
}

/// Why a frame gave no record: the frame layer, or the record inside (with its envelope,
/// which an `UnknownKindError` keeps).
enum FrameFailure {
    Frame(FrameError),
    Record(RecordError, Vec<u8>),
}

impl FrameFailure {
    fn into_py_err(self, py: Python<'_>) -> PyErr {
        match self {
            FrameFailure::Frame(f) => errors::from_frame(py, &f),
            FrameFailure::Record(r, envelope) => errors::from_record(py, &r, &envelope),
        }
    }
}

/// Decodes one frame (with or without its trailing delimiter) into a record.
fn frame_to_record(frame: &[u8]) -> Result<Record, FrameFailure> {
    let mut scratch = frame.to_vec();
    let mut out = Record::placeholder();
    payload_into_record(core_decode_frame_mut(&mut scratch), &mut out)?;
    Ok(out)
}

/// The record of a payload split and checked by a [`FrameDecoder`], decoded into `out`.
fn payload_into_record(
    frame: Result<&mut [u8], FrameError>,
    out: &mut Record,
) -> Result<(), FrameFailure> {
    let payload = frame.map_err(FrameFailure::Frame)?;
    Record::decode_into(payload, out).map_err(|e| FrameFailure::Record(e, payload.to_vec()))
}

/// The record of one frame.
#[pyfunction]
fn decode_frame<'py>(py: Python<'py>, frame: PyBackedBytes) -> PyResult<Bound<'py, PyAny>> {
    match frame_to_record(&frame) {
        Ok(r) => record_to_py(py, r),
        Err(e) => Err(e.into_py_err(py)),
    }
}

/// The delimiter fed after the end of an input that is complete, so that a last frame
/// without its delimiter is decoded too (and fails its check if cut short).
const END_OF_INPUT: [u8; 1] = [FRAME_DELIMITER];

/// The stream decoder of the sync endpoints (`Receiver.receive`, `Outbox.receive`) and of
/// `PayloadDecoder`: core's decoder with core's sync frame limit (a longer frame is
/// reported as too long, however the input is chunked). Boxed: it holds 64 KiB.
pub(crate) type SyncFrameDecoder = FrameDecoder<MAX_SYNC_FRAME_LEN>;

/// Feeds `data` to `dec`: the payload (CRC checked) or the error of every frame it
/// completes, in order; a partial frame at the end stays buffered for the next call.
pub(crate) fn feed_frames<const N: usize>(
    dec: &mut FrameDecoder<N>,
    data: &[u8],
) -> Vec<Result<Vec<u8>, FrameError>> {
    let mut out = Vec::new();
    let mut input = data;
    // The call that returns `None` also wipes the last frame out of the decoder.
    while let Some(frame) = dec.feed(&mut input) {
        out.push(frame.map(<[u8]>::to_vec));
    }
    out
}

/// Calls `each` with every frame of the complete buffer `buf` in order, as core's decoder
/// (frames of up to `N` bytes) splits and checks it: idle delimiters skipped, a last frame
/// without its delimiter decoded too. Stops at the first error `each` returns.
fn for_each_frame<const N: usize, E>(
    buf: &[u8],
    mut each: impl FnMut(Result<&mut [u8], FrameError>) -> Result<(), E>,
) -> Result<(), E> {
    let mut dec = Box::new(FrameDecoder::<N>::new());
    let mut input = buf;
    let mut end: &[u8] = &END_OF_INPUT;
    loop {
        let next = if input.is_empty() {
            dec.feed_mut(&mut end)
        } else {
            dec.feed_mut(&mut input)
        };
        match next {
            Some(frame) => each(frame)?,
            None if input.is_empty() && end.is_empty() => return Ok(()),
            None => {}
        }
    }
}

/// The records of a buffer of frames. Raises at the first bad frame unless
/// `skip_invalid`, which skips bad frames.
#[pyfunction]
#[pyo3(signature = (buf, *, skip_invalid=false))]
fn decode_frames<'py>(
    py: Python<'py>,
    buf: PyBackedBytes,
    skip_invalid: bool,
) -> PyResult<Bound<'py, PyList>> {
    let mut out = Vec::new();
    for_each_frame::<MAX_RECORD_FRAME_LEN, PyErr>(&buf, |frame| {
        let mut record = Record::placeholder();
        match payload_into_record(frame, &mut record) {
            Ok(()) => out.push(record_to_py(py, record)?),
            Err(_) if skip_invalid => {}
            Err(e) => return Err(e.into_py_err(py)),
        }
        Ok(())
    })?;
    PyList::new(py, out)
}

/// Column names of `decode_frames_columnar`, in order.
const COLUMNS: [&str; 20] = [
    "kind",
    "device",
    "epoch",
    "seq",
    "care_home",
    "resident",
    "time_utc",
    "systolic_mmhg",
    "diastolic_mmhg",
    "pulse_per_min",
    "spo2_percent",
    "temperature_centi_c",
    "temperature_site",
    "weight_g",
    "height_mm",
    "waist_mm",
    "glucose_umol_l",
    "glucose_context",
    "source",
    "bmi_centi",
];

/// Columns under construction (no Python objects: filled with the interpreter released).
/// Enum columns hold wire values.
#[derive(Default)]
struct Columns {
    kind: Vec<u8>,
    device: Vec<u32>,
    epoch: Vec<u32>,
    seq: Vec<u32>,
    care_home: Vec<u32>,
    resident: Vec<u32>,
    time_utc: Vec<Option<u64>>,
    systolic: Vec<Option<u16>>,
    diastolic: Vec<Option<u16>>,
    pulse: Vec<Option<u16>>,
    spo2: Vec<Option<u8>>,
    temperature: Vec<Option<i16>>,
    site: Vec<Option<u8>>,
    weight: Vec<Option<u32>>,
    height: Vec<Option<u16>>,
    waist: Vec<Option<u16>>,
    glucose: Vec<Option<u32>>,
    context: Vec<Option<u8>>,
    source: Vec<Option<u8>>,
    bmi: Vec<Option<u32>>,
}

/// Applies `$m!($a, $b, field...)` to every field of [`Columns`].
macro_rules! each_column {
    ($m:ident, $a:expr, $b:expr) => {
        $m!(
            $a,
            $b,
            kind,
            device,
            epoch,
            seq,
            care_home,
            resident,
            time_utc,
            systolic,
            diastolic,
            pulse,
            spo2,
            temperature,
            site,
            weight,
            height,
            waist,
            glucose,
            context,
            source,
            bmi
        )
    };
}

macro_rules! reserve_all {
    ($c:expr, $n:expr, $($f:ident),*) => { $($c.$f.reserve($n);)* };
}

impl Columns {
    fn with_capacity(n: usize) -> Self {
        let mut c = Columns::default();
        each_column!(reserve_all, c, n);
        c
    }

    fn push(&mut self, r: &Record) {
        let h = &r.header;
        self.kind.push(r.kind() as u8);
        self.device.push(h.id.device.0);
        self.epoch.push(h.id.epoch.0);
        self.seq.push(h.id.seq.0);
        self.care_home.push(h.resident.care_home.0);
        self.resident.push(h.resident.number.0);
        self.time_utc.push(match h.time {
            Timestamp::Utc(t) => Some(t.unix()),
            Timestamp::Unknown { .. } => None,
        });
        let v = match &r.body {
            Body::Vitals(v) => Some(v),
            _ => None,
        };
        self.systolic.push(v.and_then(|v| v.systolic_mmhg));
        self.diastolic.push(v.and_then(|v| v.diastolic_mmhg));
        self.pulse.push(v.and_then(|v| v.pulse_per_min));
        self.spo2.push(v.and_then(|v| v.spo2_percent));
        self.temperature.push(v.and_then(|v| v.temperature_centi_c));
        self.site
            .push(v.and_then(|v| v.temperature_centi_c.map(|_| v.temperature_site as u8)));
        self.weight.push(v.and_then(|v| v.weight_g));
        self.height.push(v.and_then(|v| v.height_mm));
        self.waist.push(v.and_then(|v| v.waist_mm));
        self.glucose.push(v.and_then(|v| v.glucose_umol_l));
        self.context
            .push(v.and_then(|v| v.glucose_umol_l.map(|_| v.glucose_context as u8)));
        self.source.push(v.map(|v| v.source as u8));
        self.bmi.push(v.and_then(|v| v.bmi_centi()));
    }
}

/// Parses the frames of one slice of the buffer (a whole number of frames).
fn parse_chunk(buf: &[u8], skip_invalid: bool) -> Result<Columns, FrameFailure> {
    // One frame per delimiter at most: size the columns once.
    let frames_max = buf.iter().filter(|b| **b == FRAME_DELIMITER).count() + 1;
    let mut cols = Columns::with_capacity(frames_max);
    let mut record = Record::placeholder();
    for_each_frame::<MAX_RECORD_FRAME_LEN, FrameFailure>(buf, |frame| {
        match payload_into_record(frame, &mut record) {
            Ok(()) => cols.push(&record),
            Err(_) if skip_invalid => {}
            Err(e) => return Err(e),
        }
        Ok(())
    })?;
    Ok(cols)
}

/// Buffers below this size are parsed on the calling thread.
const PARALLEL_MIN_BYTES: usize = 1 << 20;
/// Most threads one call parses with.
const MAX_PARSE_THREADS: usize = 8;

/// Just after the first frame that core's decoder ends at or after `from` (its delimiter
/// included), `buf.len()` if none does: a chunk cut there holds whole frames.
fn frame_end_from(buf: &[u8], from: usize) -> usize {
    let mut input = buf.get(from..).unwrap_or(&[]);
    let mut dec = Box::new(FrameDecoder::<MAX_RECORD_FRAME_LEN>::new());
    match dec.feed(&mut input) {
        Some(_) => buf.len() - input.len(),
        None => buf.len(),
    }
}

/// Parses every frame of `buf` into columns, in frame order; the first bad frame's error
/// unless `skip_invalid`. Large buffers are split at frame delimiters and parsed on
/// several threads (frames are independent).
fn parse_columns(buf: &[u8], skip_invalid: bool) -> Result<Vec<Columns>, FrameFailure> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_PARSE_THREADS)
        .min(buf.len() / PARALLEL_MIN_BYTES * 2)
        .max(1);
    if threads == 1 {
        return parse_chunk(buf, skip_invalid).map(|c| vec![c]);
    }
    // Chunk boundaries where a frame ends, so that no frame is split.
    let mut bounds = vec![0];
    for i in 1..threads {
        let prev = bounds.last().copied().unwrap_or(0);
        let target = (buf.len() / threads * i).max(prev);
        bounds.push(frame_end_from(buf, target));
    }
    bounds.push(buf.len());
    let results: Vec<Result<Columns, FrameFailure>> = std::thread::scope(|s| {
        let handles: Vec<_> = bounds
            .windows(2)
            .map(|w| {
                let chunk = match w {
                    [a, b] => buf.get(*a..*b).unwrap_or(&[]),
                    _ => &[],
                };
                s.spawn(move || parse_chunk(chunk, skip_invalid))
            })
            .collect();
        handles
            .into_iter()
            // parse_chunk does not panic; a thread that did anyway yields an error
            // rather than a partial result.
            .map(|h| {
                h.join()
                    .unwrap_or(Err(FrameFailure::Frame(FrameError::Cobs)))
            })
            .collect()
    });
    results.into_iter().collect()
}

/// A Python int (or `None`) of a value that converts without error.
fn int_obj<'py, T>(py: Python<'py>, v: Option<T>) -> Bound<'py, PyAny>
where
    T: IntoPyObject<'py, Output = Bound<'py, PyInt>, Error = std::convert::Infallible>,
{
    match v.map(|x| x.into_pyobject(py)) {
        Some(Ok(b)) => b.into_any(),
        Some(Err(never)) => match never {},
        None => py.None().into_bound(py),
    }
}

/// Slots of the per-column object cache of [`column`].
const CACHE_SLOTS: usize = 1024;

/// A fast multiplicative hasher for the small integer keys of [`column`]'s cache.
struct SlotHasher(u64);

impl SlotHasher {
    fn mix(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Hasher for SlotHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.mix(u64::from(*b));
        }
    }
    // The keys are integers and options of integers: one step per value.
    fn write_u8(&mut self, v: u8) {
        self.mix(u64::from(v));
    }
    fn write_u16(&mut self, v: u16) {
        self.mix(u64::from(v));
    }
    fn write_u32(&mut self, v: u32) {
        self.mix(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.mix(v);
    }
    fn write_i16(&mut self, v: i16) {
        self.mix(v as u64);
    }
    fn write_usize(&mut self, v: usize) {
        self.mix(v as u64);
    }
    fn write_isize(&mut self, v: isize) {
        self.mix(v as u64);
    }

    fn finish(&self) -> u64 {
        self.0 >> 32
    }
}

/// An iterator that knows its exact length (chained column chunks).
struct Exact<I> {
    inner: I,
    remaining: usize,
}

impl<I: Iterator> Iterator for Exact<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        if self.remaining == 0 {
            return None;
        }
        let item = self.inner.next()?;
        self.remaining -= 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<I: Iterator> ExactSizeIterator for Exact<I> {}

/// One list of the values of a column across the parsed chunks, converted by `to_py`. A
/// column of one repeated value (a single kiosk's device id, `None` for a vital sign it
/// does not measure) is built as `[x] * n`; otherwise a run of equal values shares one
/// object.
fn column<'py, T, F>(
    py: Python<'py>,
    parts: &[Columns],
    field: fn(&Columns) -> &[T],
    to_py: F,
) -> PyResult<Bound<'py, PyList>>
where
    T: Copy + PartialEq + Hash,
    F: Fn(T) -> Bound<'py, PyAny>,
{
    let total: usize = parts.iter().map(|p| field(p).len()).sum();
    let mut values = parts.iter().flat_map(|p| field(p).iter().copied());
    let Some(first) = values.next() else {
        return Ok(PyList::empty(py));
    };
    if values.all(|v| v == first) {
        let one = PyList::new(py, [to_py(first)])?;
        return Ok(one.as_sequence().repeat(total)?.cast_into::<PyList>()?);
    }
    // Values repeat (residents, temperatures, care homes): a small direct-mapped cache
    // shares one object per recent value instead of allocating one per row.
    let mut cache: Vec<Option<(T, Bound<'py, PyAny>)>> =
        std::iter::repeat_with(|| None).take(CACHE_SLOTS).collect();
    let items = parts
        .iter()
        .flat_map(|p| field(p).iter().copied())
        .map(|v| {
            let mut h = SlotHasher(0);
            v.hash(&mut h);
            let slot = (h.finish() as usize) % CACHE_SLOTS;
            match cache.get(slot) {
                Some(Some((p, obj))) if *p == v => obj.clone(),
                _ => {
                    let obj = to_py(v);
                    if let Some(entry) = cache.get_mut(slot) {
                        *entry = Some((v, obj.clone()));
                    }
                    obj
                }
            }
        });
    PyList::new(
        py,
        Exact {
            inner: items,
            remaining: total,
        },
    )
}

/// Interned Python strings of names, indexed by wire value.
fn names<'py>(
    py: Python<'py>,
    names: impl Iterator<Item = &'static str>,
) -> Vec<Bound<'py, PyAny>> {
    names.map(|n| PyString::intern(py, n).into_any()).collect()
}

/// Decodes a buffer of frames into a dict of equal-length lists (one row per record):
/// header columns for every kind, vital-sign columns (`None` where absent or for other
/// kinds). Raises at the first bad frame unless `skip_invalid`.
#[pyfunction]
#[pyo3(signature = (buf, *, skip_invalid=false))]
fn decode_frames_columnar<'py>(
    py: Python<'py>,
    buf: PyBackedBytes,
    skip_invalid: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let bytes: &[u8] = &buf;
    let c = py
        .detach(|| parse_columns(bytes, skip_invalid))
        .map_err(|e| e.into_py_err(py))?;

    let kinds = names(py, Kind::ALL.iter().map(|k| k.name()));
    let sites = names(
        py,
        (0..=u8::MAX)
            .map_while(TemperatureSite::from_u8)
            .map(TemperatureSite::name),
    );
    let contexts = names(
        py,
        (0..=u8::MAX)
            .map_while(GlucoseContext::from_u8)
            .map(GlucoseContext::name),
    );
    let sources = names(
        py,
        (0..=u8::MAX)
            .map_while(MeasurementSource::from_u8)
            .map(MeasurementSource::name),
    );
    let name = |table: &[Bound<'py, PyAny>], v: Option<u8>| match v
        .and_then(|i| table.get(usize::from(i)))
    {
        Some(s) => s.clone(),
        None => py.None().into_bound(py),
    };

    let d = PyDict::new(py);
    d.set_item(
        COLUMNS[0],
        column(py, &c, |c| &c.kind, |k| name(&kinds, k.checked_sub(1)))?,
    )?;
    d.set_item(
        COLUMNS[1],
        column(py, &c, |c| &c.device, |v| int_obj(py, Some(v)))?,
    )?;
    d.set_item(
        COLUMNS[2],
        column(py, &c, |c| &c.epoch, |v| int_obj(py, Some(v)))?,
    )?;
    d.set_item(
        COLUMNS[3],
        column(py, &c, |c| &c.seq, |v| int_obj(py, Some(v)))?,
    )?;
    d.set_item(
        COLUMNS[4],
        column(py, &c, |c| &c.care_home, |v| int_obj(py, Some(v)))?,
    )?;
    d.set_item(
        COLUMNS[5],
        column(py, &c, |c| &c.resident, |v| int_obj(py, Some(v)))?,
    )?;
    d.set_item(
        COLUMNS[6],
        column(py, &c, |c| &c.time_utc, |v| int_obj(py, v))?,
    )?;
    d.set_item(
        COLUMNS[7],
        column(py, &c, |c| &c.systolic, |v| int_obj(py, v))?,
    )?;
    d.set_item(
        COLUMNS[8],
        column(py, &c, |c| &c.diastolic, |v| int_obj(py, v))?,
    )?;
    d.set_item(
        COLUMNS[9],
        column(py, &c, |c| &c.pulse, |v| int_obj(py, v))?,
    )?;
    d.set_item(
        COLUMNS[10],
        column(py, &c, |c| &c.spo2, |v| int_obj(py, v))?,
    )?;
    d.set_item(
        COLUMNS[11],
        column(py, &c, |c| &c.temperature, |v| int_obj(py, v))?,
    )?;
    d.set_item(
        COLUMNS[12],
        column(py, &c, |c| &c.site, |v| name(&sites, v))?,
    )?;
    d.set_item(
        COLUMNS[13],
        column(py, &c, |c| &c.weight, |v| int_obj(py, v))?,
    )?;
    d.set_item(
        COLUMNS[14],
        column(py, &c, |c| &c.height, |v| int_obj(py, v))?,
    )?;
    d.set_item(
        COLUMNS[15],
        column(py, &c, |c| &c.waist, |v| int_obj(py, v))?,
    )?;
    d.set_item(
        COLUMNS[16],
        column(py, &c, |c| &c.glucose, |v| int_obj(py, v))?,
    )?;
    d.set_item(
        COLUMNS[17],
        column(py, &c, |c| &c.context, |v| name(&contexts, v))?,
    )?;
    d.set_item(
        COLUMNS[18],
        column(py, &c, |c| &c.source, |v| name(&sources, v))?,
    )?;
    d.set_item(COLUMNS[19], column(py, &c, |c| &c.bmi, |v| int_obj(py, v))?)?;
    Ok(d)
}

/// `(kind number, RecordId, ResidentRef, time)`.
type EnvelopeHeader<'py> = (u8, Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>);

/// `(kind number, RecordId, ResidentRef, time)` from the header of any envelope, known
/// kind or not (for stores that keep records of kinds this version does not know).
#[pyfunction]
fn read_envelope_header<'py>(
    py: Python<'py>,
    envelope: PyBackedBytes,
) -> PyResult<EnvelopeHeader<'py>> {
    let env = Envelope::parse_exact(&envelope).map_err(|e| errors::from_decode(py, &e))?;
    let h = env.header().map_err(|e| errors::from_decode(py, &e))?;
    Ok((
        env.kind,
        pyobjs::record_id(py, &h.id)?,
        pyobjs::resident_ref(py, &h.resident)?,
        pyobjs::timestamp(py, &h.time)?,
    ))
}

/// The envelope inside a frame (CRC checked, record not decoded), for forwarding or
/// storing records of kinds this version does not know.
#[pyfunction]
fn frame_payload<'py>(py: Python<'py>, frame: PyBackedBytes) -> PyResult<Bound<'py, PyBytes>> {
    let mut buf = frame.to_vec();
    let payload = core_decode_frame(&mut buf).map_err(|e| errors::from_frame(py, &e))?;
    Ok(PyBytes::new(py, payload))
}

/// The state shared by `FrameDecoder` and `PayloadDecoder`: core's decoder (frames of up
/// to `N` bytes), the bytes fed and not yet consumed by it, and the rejection counts.
struct FrameStream<const N: usize> {
    dec: Box<FrameDecoder<N>>,
    pending: Vec<u8>,
    pos: usize,
    /// `feed(..., final=True)` was called: once `pending` is consumed, a partial frame is
    /// decoded as if its delimiter followed.
    at_end: bool,
    skip_invalid: bool,
    rejected: u64,
    last_error: Option<Py<PyAny>>,
}

impl<const N: usize> FrameStream<N> {
    fn new(skip_invalid: bool) -> Self {
        FrameStream {
            dec: Box::new(FrameDecoder::new()),
            pending: Vec::new(),
            pos: 0,
            at_end: false,
            skip_invalid,
            rejected: 0,
            last_error: None,
        }
    }

    fn feed(&mut self, data: &[u8], at_end: bool) {
        if self.pos == self.pending.len() {
            self.pending.clear();
            self.pos = 0;
        }
        self.pending.extend_from_slice(data);
        self.at_end |= at_end;
    }

    fn reset(&mut self) {
        self.dec.reset();
        self.pending.clear();
        self.pos = 0;
        self.at_end = false;
    }

    fn buffered(&self) -> usize {
        self.dec.buffered() + self.pending.len() - self.pos
    }

    /// The next frame's value: `decode` turns a payload into it or into the exception of
    /// a rejected frame; rejected frames (corrupt or refused by `decode`) are counted and,
    /// unless `skip_invalid`, raised. `None` when the bytes fed are used up.
    fn next<'py, T>(
        &mut self,
        py: Python<'py>,
        mut decode: impl FnMut(&[u8]) -> Result<T, PyErr>,
    ) -> PyResult<Option<T>> {
        loop {
            let rest = self.pending.get(self.pos..).unwrap_or(&[]);
            let mut input = rest;
            let mut end: &[u8] = &END_OF_INPUT;
            let flushing = rest.is_empty() && self.at_end;
            let res = if flushing {
                self.at_end = false;
                self.dec.feed(&mut end)
            } else {
                self.dec.feed(&mut input)
            };
            let consumed = rest.len() - input.len();
            let err = match res {
                None if !flushing && self.at_end => {
                    self.pos += consumed;
                    continue;
                }
                None => {
                    self.pending.clear();
                    self.pos = 0;
                    return Ok(None);
                }
                Some(Ok(payload)) => match decode(payload) {
                    Ok(v) => {
                        self.pos += consumed;
                        return Ok(Some(v));
                    }
                    Err(e) => e,
                },
                Some(Err(e)) => errors::from_frame(py, &e),
            };
            self.pos += consumed;
            self.rejected += 1;
            self.last_error = Some(err.value(py).clone().into_any().unbind());
            if !self.skip_invalid {
                return Err(err);
            }
        }
    }
}

/// Streaming decoder: `feed()` bytes in chunks of any size, iterate the records of the
/// frames completed so far.
#[pyclass(module = "tcmcare", name = "FrameDecoder")]
pub struct PyFrameDecoder {
    stream: FrameStream<MAX_RECORD_FRAME_LEN>,
}

#[pymethods]
impl PyFrameDecoder {
    #[new]
    #[pyo3(signature = (*, skip_invalid=false))]
    fn new(skip_invalid: bool) -> Self {
        PyFrameDecoder {
            stream: FrameStream::new(skip_invalid),
        }
    }

    /// Buffers `data`; returns the decoder itself, to iterate. With `final=True` the input
    /// ends after `data`: a last frame without its delimiter is decoded too.
    #[pyo3(signature = (data, *, r#final=false))]
    fn feed(mut slf: PyRefMut<'_, Self>, data: PyBackedBytes, r#final: bool) -> PyRefMut<'_, Self> {
        slf.stream.feed(&data, r#final);
        slf
    }

    /// Drops buffered bytes and any partial frame (after a link reset).
    fn reset(&mut self) {
        self.stream.reset();
    }

    /// Bytes fed but not yet part of a returned record.
    #[getter]
    fn buffered(&self) -> usize {
        self.stream.buffered()
    }

    /// Frames rejected so far (corrupt frames, invalid or unknown records).
    #[getter]
    fn rejected(&self) -> u64 {
        self.stream.rejected
    }

    /// The exception of the last rejected frame.
    #[getter]
    fn last_error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.stream.last_error.as_ref().map(|e| e.clone_ref(py))
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.stream
            .next(py, |payload| {
                Record::decode(payload).map_err(|e| errors::from_record(py, &e, payload))
            })?
            .map(|r| record_to_py(py, r))
            .transpose()
    }
}

/// Streaming frame decoder for payloads that are not (only) records: `feed()` bytes in
/// chunks of any size, iterate the payloads (CRC checked, not decoded) of the frames
/// completed so far. Frames of up to `MAX_SYNC_FRAME_LEN` bytes, the longest `frame()`
/// makes.
#[pyclass(module = "tcmcare", name = "PayloadDecoder")]
pub struct PyPayloadDecoder {
    stream: FrameStream<MAX_SYNC_FRAME_LEN>,
}

#[pymethods]
impl PyPayloadDecoder {
    #[new]
    #[pyo3(signature = (*, skip_invalid=false))]
    fn new(skip_invalid: bool) -> Self {
        PyPayloadDecoder {
            stream: FrameStream::new(skip_invalid),
        }
    }

    /// Buffers `data`; returns the decoder itself, to iterate. With `final=True` the input
    /// ends after `data`: a last frame without its delimiter is decoded too.
    #[pyo3(signature = (data, *, r#final=false))]
    fn feed(mut slf: PyRefMut<'_, Self>, data: PyBackedBytes, r#final: bool) -> PyRefMut<'_, Self> {
        slf.stream.feed(&data, r#final);
        slf
    }

    /// Drops buffered bytes and any partial frame (after a link reset).
    fn reset(&mut self) {
        self.stream.reset();
    }

    /// Bytes fed but not yet part of a returned payload.
    #[getter]
    fn buffered(&self) -> usize {
        self.stream.buffered()
    }

    /// Frames rejected so far (corrupt frames).
    #[getter]
    fn rejected(&self) -> u64 {
        self.stream.rejected
    }

    /// The exception (a `FrameError`) of the last rejected frame.
    #[getter]
    fn last_error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.stream.last_error.as_ref().map(|e| e.clone_ref(py))
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        self.stream
            .next(py, |payload| Ok(PyBytes::new(py, payload)))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(encode, m)?)?;
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add_function(wrap_pyfunction!(encode_frame, m)?)?;
    m.add_function(wrap_pyfunction!(decode_frame, m)?)?;
    m.add_function(wrap_pyfunction!(decode_frames, m)?)?;
    m.add_function(wrap_pyfunction!(decode_frames_columnar, m)?)?;
    m.add_function(wrap_pyfunction!(read_envelope_header, m)?)?;
    m.add_function(wrap_pyfunction!(frame_payload, m)?)?;
    m.add_class::<PyFrameDecoder>()?;
    m.add_class::<PyPayloadDecoder>()?;
    m.add("COLUMNS", COLUMNS.to_vec())?;
    Ok(())
}
