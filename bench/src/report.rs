//! The markdown report (BENCHMARKS.md).

use std::fmt::Write as _;

use tcmcare_core::record::Kind;

use crate::external::{cpu, FirmwareSize, Parsed};
use crate::formats::{Format, Row};
use crate::sync::{BatchRow, DrainRow, DRAIN_RECORDS, DRAIN_RUNS};
use crate::timing::{Timing, BATCH, SAMPLES, WARM_UP};

/// What `scripts/bench.sh` gathered outside this process.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Where the FHIR JSON came from (`None`: not available).
    pub fhir_source: Option<String>,
    /// Why FHIR JSON is missing, if it is.
    pub fhir_note: Option<String>,
    /// The C API decode benchmark's output.
    pub c_bench: Option<Parsed>,
    /// Why the C numbers are missing, if they are.
    pub c_note: Option<String>,
    /// `make -C ffi sizes` output.
    pub ffi_sizes: Option<String>,
    /// The Python decode benchmark's output.
    pub python_bench: Option<Parsed>,
    /// Why the Python numbers are missing, if they are.
    pub python_note: Option<String>,
    /// The firmware size report (`None` inside: unparsable).
    pub firmware: Option<Option<FirmwareSize>>,
    /// Where the firmware came from, or why it is missing.
    pub firmware_note: Option<String>,
    /// Stack peak and stack size from the last QEMU run's log.
    pub stack_peak: Option<(u64, u64)>,
    /// `rustc --version`.
    pub rustc: String,
    /// When the run started.
    pub date: String,
    /// Git commit (and whether the tree was dirty).
    pub commit: String,
    /// Versions of the comparison libraries.
    pub libraries: String,
    /// Load average when the measurements started.
    pub load_before: String,
}

fn ns(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.1}")
    } else {
        thousands(v.round() as u64)
    }
}

fn thousands(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(a: f64, b: f64) -> String {
    if b <= 0.0 {
        return "n/a".into();
    }
    let r = a / b;
    if r < 10.0 {
        format!("{r:.2}×")
    } else {
        format!("{r:.1}×")
    }
}

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "n/a".into())
}

/// A table head; columns from `right_from` on are right-aligned, except those in `left`.
fn table_head_with(md: &mut String, cols: &[&str], right_from: usize, left: &[usize]) {
    md.push('|');
    for c in cols {
        let _ = write!(md, " {c} |");
    }
    md.push_str("\n|");
    for i in 0..cols.len() {
        md.push_str(if i >= right_from && !left.contains(&i) {
            "---:|"
        } else {
            "---|"
        });
    }
    md.push('\n');
}

fn table_head(md: &mut String, cols: &[&str], right_from: usize) {
    table_head_with(md, cols, right_from, &[]);
}

fn table_row(md: &mut String, cells: &[String]) {
    md.push('|');
    for c in cells {
        let _ = write!(md, " {c} |");
    }
    md.push('\n');
}

/// Mean over `rows` of `f`, `None` if no row has a value.
fn mean(rows: &[&Row], f: impl Fn(&Row) -> Option<f64>) -> Option<f64> {
    let v: Vec<f64> = rows.iter().filter_map(|r| f(r)).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Sums of `f` and of the tcmcare reference `g` over the rows where `f` has a value.
fn sums(
    rows: &[&Row],
    f: impl Fn(&Row) -> Option<f64>,
    g: impl Fn(&Row) -> Option<f64>,
) -> Option<(f64, f64, usize)> {
    let mut a = 0.0;
    let mut b = 0.0;
    let mut n = 0;
    for r in rows {
        if let (Some(x), Some(y)) = (f(r), g(r)) {
            a += x;
            b += y;
            n += 1;
        }
    }
    (n > 0).then_some((a, b, n))
}

fn size(r: &Row, f: Format) -> Option<f64> {
    r.size[f.index()].map(|v| v as f64)
}
fn enc(r: &Row, f: Format) -> Option<f64> {
    r.encode[f.index()].map(|t| t.median_ns)
}
fn dec(r: &Row, f: Format) -> Option<f64> {
    r.decode[f.index()].map(|t| t.median_ns)
}

const OTHERS: [Format; 5] = [
    Format::Proto,
    Format::MsgPack,
    Format::Cbor,
    Format::Json,
    Format::Fhir,
];

/// Renders the report.
pub fn render(
    inp: &Inputs,
    rows: &[Row],
    batches: &[BatchRow],
    drains: &[DrainRow],
    scoring: (Timing, usize),
    load_after: String,
) -> String {
    let mut md = String::new();
    let all: Vec<&Row> = rows.iter().collect();
    let (cpu_model, cpus) = cpu();
    let fhir_cell = if inp.fhir_source.is_some() {
        "FHIR R4 JSON"
    } else {
        "FHIR R4 JSON (not available in this run)"
    };

    let _ = writeln!(md, "# tcmcare benchmarks\n");
    let _ = writeln!(
        md,
        "Latest results of `make bench` (`scripts/bench.sh`), all measured in one run on \
         {} at commit {}. The script overwrites this file; compare numbers only between runs \
         on the same machine. Method and caveats are at the end.\n",
        inp.date, inp.commit
    );

    // ------------------------------------------------------------ machine
    let _ = writeln!(md, "## Machine\n");
    let _ = writeln!(md, "- CPU: {cpu_model}, {cpus} logical CPUs");
    let _ = writeln!(
        md,
        "- OS / arch: {} / {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    let _ = writeln!(md, "- Compiler: {} (release profile)", inp.rustc);
    let _ = writeln!(
        md,
        "- Load average (1, 5, 15 min) before the Rust measurements: {}; after: {}\n",
        inp.load_before, load_after
    );

    // ------------------------------------------------------------ summary
    let _ = writeln!(md, "## Summary\n");
    let _ = writeln!(
        md,
        "All {} canonical records of the conformance suite (`tcmcare_conformance::canonical_records()`, \
         at least two per kind). Bytes are totals over all of them; times are the mean over the \
         records of each record's median ns. Ratios are the other format over the tcmcare \
         envelope (above 1× means tcmcare is smaller or faster); decode is compared with \
         `Record::decode_into`.\n",
        rows.len()
    );
    table_head(
        &mut md,
        &[
            "format",
            "bytes, all records",
            "size ratio",
            "encode ns/record",
            "encode ratio",
            "decode ns/record",
            "decode ratio",
        ],
        1,
    );
    for f in Format::ALL {
        let s = sums(&all, |r| size(r, f), |r| size(r, Format::Envelope));
        let e = sums(&all, |r| enc(r, f), |r| enc(r, Format::Envelope));
        let d = sums(&all, |r| dec(r, f), |r| dec(r, Format::Envelope));
        let title = if f == Format::Fhir {
            fhir_cell.to_string()
        } else {
            f.title().to_string()
        };
        let note = match s {
            Some((_, _, n)) if n < rows.len() => format!(" ({n} records¹)"),
            _ => String::new(),
        };
        table_row(
            &mut md,
            &[
                format!("{title}{note}"),
                opt(s, |(a, _, _)| thousands(a as u64)),
                opt(s, |(a, b, _)| ratio(a, b)),
                opt(e, |(a, _, n)| ns(a / n as f64)),
                opt(e, |(a, b, _)| ratio(a, b)),
                opt(d, |(a, _, n)| ns(a / n as f64)),
                opt(d, |(a, b, _)| ratio(a, b)),
            ],
        );
    }
    if rows.iter().any(|r| r.size[Format::Fhir.index()].is_none()) && inp.fhir_source.is_some() {
        let _ = writeln!(
            md,
            "\n¹ A correction has no FHIR resource of its own (the Python exporter applies it \
             to the bundle), so FHIR totals and ratios leave the correction records out (on both \
             sides of the ratio)."
        );
    }
    md.push('\n');

    // ------------------------------------------------------------ sizes
    let _ = writeln!(md, "## 1. Wire size per record (bytes)\n");
    let mut cols = vec!["record", "kind"];
    cols.extend(Format::ALL.iter().map(|f| f.title()));
    table_head(&mut md, &cols, 2);
    for r in rows {
        let mut cells = vec![format!("`{}`", r.name), r.kind.name().to_string()];
        cells.extend(
            Format::ALL
                .iter()
                .map(|f| opt(r.size[f.index()], |v| thousands(v as u64))),
        );
        table_row(&mut md, &cells);
    }
    md.push('\n');
    let _ = writeln!(
        md,
        "Size ratio to the tcmcare envelope per kind (sum over the kind's canonical records):\n"
    );
    let mut cols = vec!["kind", "tcmcare frame"];
    cols.extend(OTHERS.iter().map(|f| f.title()));
    table_head(&mut md, &cols, 1);
    for kind in Kind::ALL {
        let of_kind: Vec<&Row> = rows.iter().filter(|r| r.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        let mut cells = vec![kind.name().to_string()];
        for f in std::iter::once(Format::Frame).chain(OTHERS) {
            let s = sums(&of_kind, |r| size(r, f), |r| size(r, Format::Envelope));
            cells.push(opt(s, |(a, b, _)| ratio(a, b)));
        }
        table_row(&mut md, &cells);
    }
    md.push('\n');

    // ------------------------------------------------------------ times
    let _ = writeln!(md, "## 2. Encode and decode time (ns per record)\n");
    let _ = writeln!(
        md,
        "Median ns per record, mean over the kind's canonical records.\n\n### Encode\n"
    );
    let mut cols = vec!["kind"];
    cols.extend(Format::ALL.iter().map(|f| f.title()));
    table_head(&mut md, &cols, 1);
    for kind in Kind::ALL {
        let of_kind: Vec<&Row> = rows.iter().filter(|r| r.kind == kind).collect();
        let mut cells = vec![kind.name().to_string()];
        for f in Format::ALL {
            cells.push(opt(mean(&of_kind, |r| enc(r, f)), ns));
        }
        table_row(&mut md, &cells);
    }
    let _ = writeln!(md, "\n### Decode\n");
    let mut cols = vec![
        "kind",
        "tcmcare `decode_into`",
        "tcmcare `decode`",
        "tcmcare frame",
    ];
    cols.extend(OTHERS.iter().map(|f| f.title()));
    table_head(&mut md, &cols, 1);
    for kind in Kind::ALL {
        let of_kind: Vec<&Row> = rows.iter().filter(|r| r.kind == kind).collect();
        let mut cells = vec![
            kind.name().to_string(),
            opt(mean(&of_kind, |r| dec(r, Format::Envelope)), ns),
            opt(mean(&of_kind, |r| Some(r.decode_by_value.median_ns)), ns),
            opt(mean(&of_kind, |r| dec(r, Format::Frame)), ns),
        ];
        for f in OTHERS {
            cells.push(opt(mean(&of_kind, |r| dec(r, f)), ns));
        }
        table_row(&mut md, &cells);
    }
    let _ = writeln!(
        md,
        "\n### Time ratios to tcmcare (encode / decode)\n\nOther format's time over the tcmcare \
         envelope's (`Record::encode`, `Record::decode_into`), summed over the kind's records.\n"
    );
    let mut cols = vec!["kind"];
    cols.extend(OTHERS.iter().map(|f| f.title()));
    table_head(&mut md, &cols, 1);
    for kind in Kind::ALL {
        let of_kind: Vec<&Row> = rows.iter().filter(|r| r.kind == kind).collect();
        let mut cells = vec![kind.name().to_string()];
        for f in OTHERS {
            let e = sums(&of_kind, |r| enc(r, f), |r| enc(r, Format::Envelope));
            let d = sums(&of_kind, |r| dec(r, f), |r| dec(r, Format::Envelope));
            cells.push(match (e, d) {
                (Some(e), Some(d)) => format!("{} / {}", ratio(e.0, e.1), ratio(d.0, d.1)),
                _ => "n/a".into(),
            });
        }
        table_row(&mut md, &cells);
    }
    md.push('\n');

    // ------------------------------------------------------------ sync
    let _ = writeln!(md, "## 3. Sync overhead\n");
    let _ = writeln!(
        md,
        "Vitals records as a kiosk makes them (blood pressure, pulse, SpO2, temperature; \
         {} B envelopes). A batch is one `Batch` message built with core's `BatchBuilder` \
         and framed (COBS + CRC-32C + delimiter); here the whole batch is one frame (a sender \
         splits at its MTU, 1024 B by default, so 100 such records go in two frames; the \
         drain below applies the MTU).\n",
        batches
            .first()
            .map(|b| b.envelopes / b.n as usize)
            .unwrap_or_default()
    );
    table_head(
        &mut md,
        &[
            "records per batch",
            "envelopes (B)",
            "batch payload (B)",
            "frame (B)",
            "wire B/record",
            "overhead B/record",
            "build + frame ns/record",
        ],
        0,
    );
    for b in batches {
        let n = b.n as f64;
        table_row(
            &mut md,
            &[
                b.n.to_string(),
                thousands(b.envelopes as u64),
                thousands(b.payload as u64),
                thousands(b.frame as u64),
                format!("{:.1}", b.frame as f64 / n),
                format!("{:.2}", (b.frame - b.envelopes) as f64 / n),
                ns(b.build.median_ns),
            ],
        );
    }
    let _ = writeln!(
        md,
        "\nIn-memory sender → receiver: core's `Sender` drains an outbox (`RamStorage`) of \
         {} vitals records into a `Receiver` with a `MemoryStore`, hello to last ack, every \
         reply handled. \"framed\" adds COBS/CRC framing and streaming deframing both ways; \
         \"protocol\" passes payloads directly. Wire bytes count everything both ways \
         (hello, welcome, batches, acks). Median of {} runs.\n",
        thousands(DRAIN_RECORDS.into()),
        DRAIN_RUNS
    );
    table_head(
        &mut md,
        &[
            "MTU / window",
            "mode",
            "frames up / down",
            "up B/record",
            "down B/record",
            "wire B/record",
            "overhead vs envelope",
            "ns/record",
            "records/s",
        ],
        2,
    );
    for d in drains {
        let n = f64::from(DRAIN_RECORDS);
        let wire = (d.up_bytes + d.down_bytes) as f64 / n;
        let env = d.envelopes as f64 / n;
        table_row(
            &mut md,
            &[
                format!("{} / {}", d.mtu, d.window),
                if d.framed { "framed" } else { "protocol" }.to_string(),
                format!(
                    "{} / {}",
                    thousands(d.up_frames as u64),
                    thousands(d.down_frames as u64)
                ),
                format!("{:.2}", d.up_bytes as f64 / n),
                format!("{:.2}", d.down_bytes as f64 / n),
                format!("{wire:.2}"),
                format!("+{:.2} B ({:.1} %)", wire - env, 100.0 * (wire - env) / env),
                ns(d.time.median_ns),
                thousands((1e9 / d.time.median_ns) as u64),
            ],
        );
    }
    md.push('\n');

    // ------------------------------------------------------------ scoring
    let _ = writeln!(md, "## 4. Constitution scoring\n");
    let (t, sets) = scoring;
    let _ = writeln!(
        md,
        "`constitution::assess` (33 answers → nine scores and verdicts) plus `primary()`, \
         cycling over {sets} answer sets (the canonical assessments and patterned ones): \
         **{} ns per assessment, {} assessments per second** (fastest batch {} ns).\n",
        ns(t.median_ns),
        thousands((1e9 / t.median_ns) as u64),
        ns(t.min_ns)
    );

    // ------------------------------------------------------------ firmware
    let _ = writeln!(md, "## 5. Kiosk firmware flash and RAM\n");
    match &inp.firmware {
        Some(Some(f)) => {
            let flash = f.text + f.data;
            let ram = f.data + f.bss;
            let lim = |v: u64, l: Option<u64>| match l {
                Some(l) => format!(
                    "{} B of {} B ({:.1} %)",
                    thousands(v),
                    thousands(l),
                    100.0 * v as f64 / l as f64
                ),
                None => format!("{} B", thousands(v)),
            };
            table_head(&mut md, &["", "bytes"], 1);
            table_row(&mut md, &["`.text`".into(), thousands(f.text)]);
            table_row(&mut md, &["`.data`".into(), thousands(f.data)]);
            table_row(&mut md, &["`.bss`".into(), thousands(f.bss)]);
            table_row(
                &mut md,
                &["flash (text + data)".into(), lim(flash, f.flash_limit)],
            );
            table_row(
                &mut md,
                &["static RAM (data + bss)".into(), lim(ram, f.ram_limit)],
            );
            if let Some((peak, of)) = inp.stack_peak {
                table_row(
                    &mut md,
                    &[
                        "stack peak²".into(),
                        format!("{} B of {} B", thousands(peak), thousands(of)),
                    ],
                );
            }
            md.push('\n');
            if let Some(n) = &inp.firmware_note {
                let _ = writeln!(md, "{n}\n");
            }
            if inp.stack_peak.is_some() {
                let _ = writeln!(
                    md,
                    "² Painted-stack high-water mark from the last QEMU end-to-end run \
                     (`firmware/scripts/test.sh`), not from this benchmark run.\n"
                );
            }
        }
        Some(None) => {
            let _ = writeln!(
                md,
                "The firmware size report could not be read. {}\n",
                inp.firmware_note.clone().unwrap_or_default()
            );
        }
        None => {
            let _ = writeln!(
                md,
                "Not built. {}\n",
                inp.firmware_note.clone().unwrap_or_default()
            );
        }
    }

    // ------------------------------------------------------------ C and Python
    let _ = writeln!(md, "## 6. C and Python decode rates\n");
    let vitals_frame: Vec<&Row> = rows
        .iter()
        .filter(|r| r.kind == Kind::Vitals)
        .take(1)
        .collect();
    if let Some(r) = vitals_frame.first() {
        let _ = writeln!(
            md,
            "For reference, this run's Rust frame decode of the canonical vitals record \
             `{}` ({} B frame): {} ns.\n",
            r.name,
            opt(r.size[Format::Frame.index()], |v| v.to_string()),
            opt(dec(r, Format::Frame), ns)
        );
    }
    let _ = writeln!(md, "### C API (`ffi/benches/decode.rs`)\n");
    match &inp.c_bench {
        Some(p) if !p.rates.is_empty() => {
            let _ = writeln!(
                md,
                "10,000 distinct vitals frames decoded through the C ABI \
                 (`tcm_frame_decode_record`, called through a function pointer as C code \
                 would) and through the Rust API, interleaved, fastest of 201 passes:\n"
            );
            table_head(&mut md, &["decoder", "ns/frame", "frames/s"], 1);
            for r in &p.rates {
                table_row(
                    &mut md,
                    &[
                        r.label.clone(),
                        ns(r.ns),
                        thousands((1e9 / r.ns.max(1e-9)) as u64),
                    ],
                );
            }
            md.push('\n');
            for c in p.context.iter().skip(1) {
                let _ = writeln!(md, "`{c}`\n");
            }
        }
        Some(_) => {
            let _ = writeln!(
                md,
                "Pending: the benchmark ran but printed no line of the form \
                 `decode 10,000 vitals frames (ns/frame): LABEL NS, LABEL NS, ...`.\n"
            );
        }
        None => {
            let _ = writeln!(md, "Pending. {}\n", inp.c_note.clone().unwrap_or_default());
        }
    }
    if let Some(s) = &inp.ffi_sizes {
        let _ = writeln!(md, "Library sizes (`make -C ffi sizes`):\n\n```text");
        for l in s.lines().filter(|l| !l.trim().is_empty()) {
            let _ = writeln!(md, "{}", l.trim_end());
        }
        let _ = writeln!(md, "```\n");
    }
    let _ = writeln!(
        md,
        "### Python (`bindings/python/benches/bench_decode.py`)\n"
    );
    match &inp.python_bench {
        Some(p) if !p.rates.is_empty() => {
            if let Some(h) = p.context.first() {
                let _ = writeln!(
                    md,
                    "One buffer of distinct vitals frames decoded from Python; best of \
                     the runs (`{h}`):\n"
                );
            }
            table_head_with(
                &mut md,
                &["decoder", "ns/record (wall)", "records/s", "note"],
                1,
                &[3],
            );
            for r in &p.rates {
                table_row(
                    &mut md,
                    &[
                        format!("`{}`", r.label),
                        ns(r.ns),
                        thousands((1e9 / r.ns.max(1e-9)) as u64),
                        r.note.clone(),
                    ],
                );
            }
            md.push('\n');
        }
        Some(_) => {
            let _ = writeln!(
                md,
                "Pending: the benchmark ran but printed no headline `N vitals frames, ...` \
                 followed by lines `NAME wall MS ms RATE M/s cpu MS ms RATE M/s`.\n"
            );
        }
        None => {
            let _ = writeln!(
                md,
                "Pending. {}\n",
                inp.python_note.clone().unwrap_or_default()
            );
        }
    }

    // ------------------------------------------------------------ method
    let iters = rows
        .iter()
        .flat_map(|r| {
            r.encode
                .iter()
                .chain(r.decode.iter())
                .flatten()
                .chain(std::iter::once(&r.decode_by_value))
                .map(|t| t.iters)
        })
        .fold((u64::MAX, 0), |(lo, hi), n| (lo.min(n), hi.max(n)));
    let _ = writeln!(md, "## Method\n");
    let _ = writeln!(
        md,
        "- **One run.** `scripts/bench.sh` builds everything in release mode, runs the C and \
         Python benchmarks and the firmware size report, exports the FHIR JSON, then runs \
         `bench/` (its own cargo workspace, binary `tcmcare-bench`), which measures sections \
         1–4 in one process and writes this file.\n\
         - **Timing loop** (`bench/src/timing.rs`): per measurement, {} ms warm-up (which also \
         estimates the cost), then {} timed batches of about {} ms each (`std::time::Instant` \
         around a loop of N calls, results through `std::hint::black_box`; N calibrated per \
         measurement, from {} to {} calls in this run); the report gives the median batch's ns \
         per call. One record at a time, single thread.\n\
         - **What is timed.** tcmcare encode: `Record::encode` (validates, writes the envelope \
         into a stack buffer); frame encode: `encode_record_frame` (envelope + CRC-32C + COBS). \
         tcmcare decode: `Record::decode_into` (parse and validate into an existing record, \
         no move of the ~1.4 KB record) and `Record::decode` (returns it by value); frame \
         decode: copy the frame, `decode_frame` (COBS + CRC check), `decode_into`. Other \
         formats: encoding the format's own struct into a reused `Vec<u8>` and decoding bytes \
         into a new struct (allocating its strings and vectors). Building the other formats' \
         structs from a `Record` is not timed. tcmcare checks every domain rule on encode and \
         decode; the other formats check only their syntax.\n\
         - **Libraries**: {}.\n\
         - **Protobuf** (prost): hand-written `#[derive(prost::Message)]` structs \
         (`bench/src/mirror.rs`), proto3 (zero and absent optional fields are not written), a \
         `oneof` for the record kind and one for the time. **MessagePack** (rmp-serde, \
         `encode::write`: structs as arrays), **CBOR** (ciborium: structs as maps keyed by field \
         name) and the **plain JSON** baseline (serde_json) share one set of plain serde structs \
         (externally tagged enum for the kind; `None` written as null). All mirror the record \
         field by field: integers in the record's units, coded values as their wire numbers, \
         flag sets as bits, Unix seconds, dates as days since 1970, WHO acupoint codes as text.\n\
         - **FHIR R4 JSON**: {}\n\
         - **Sync**: batches of 1/10/100 records built with `BatchBuilder` and framed; the \
         drain uses core's `Sender`/`Receiver` state machines in memory (no I/O, no clock: \
         time is a counter), as `core/benches/sync.rs` does.\n\
         - **Caveats**: a 2-CPU shared machine; other processes' load shows in the load \
         averages above. Nanosecond figures move between runs (10–20 % on a quiet machine, more \
         under load); sizes are exact and deterministic.",
        WARM_UP.as_millis(),
        SAMPLES,
        BATCH.as_millis(),
        thousands(iters.0),
        thousands(iters.1),
        inp.libraries,
        match &inp.fhir_source {
            Some(s) => format!(
                "{s}. The size is that compact JSON text in UTF-8 (a `collection` Bundle \
                 with the record's resources, as `tcmcare.to_fhir` returns it; vitals are one \
                 Observation per measured value, as FHIR's vital-signs profiles require). \
                 Encode/decode time is serde_json writing/parsing that text as a generic \
                 `serde_json::Value` (no FHIR validation or mapping, which would add to it)."
            ),
            None => format!(
                "not available in this run ({}); the FHIR columns say n/a.",
                inp.fhir_note.clone().unwrap_or_else(|| "no export".into())
            ),
        }
    );
    md
}
