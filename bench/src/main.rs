//! The comparative benchmark of tcmcare, run by `scripts/bench.sh` (`make bench`).
//!
//! ```text
//! tcmcare-bench canonical OUT.json
//!     writes the canonical records' envelopes (name, kind, hex) for the FHIR export
//! tcmcare-bench report --out BENCHMARKS.md [--fhir FHIR.json] [--c-bench FILE]
//!     [--python-bench FILE] [--firmware-size FILE] [--firmware-note TEXT]
//!     [--stack-peak FILE] [--ffi-sizes FILE] [--rustc TEXT] [--date TEXT] [--commit TEXT] [--libraries TEXT]
//!     measures everything else in this process and writes the markdown report
//! ```

mod external;
mod formats;
mod mirror;
mod report;
mod sync;
mod timing;

use std::collections::BTreeMap;
use std::process::ExitCode;

use tcmcare_core::constitution::assess;
use tcmcare_core::record::Body;
use tcmcare_core::wire::MAX_ENVELOPE_LEN;

use crate::timing::{measure, Timing};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn read_opt(args: &[String], name: &str) -> Result<Option<String>, String> {
    match arg(args, name) {
        None => Ok(None),
        Some(p) => std::fs::read_to_string(&p)
            .map(Some)
            .map_err(|e| format!("{p}: {e}")),
    }
}

/// Writes `[{"name", "kind", "envelope_hex"}]` of the canonical records.
fn canonical(out: &str) -> Result<(), String> {
    let mut list = Vec::new();
    for c in tcmcare_conformance::canonical_records() {
        let mut buf = [0u8; MAX_ENVELOPE_LEN];
        let n = c.record.encode(&mut buf).map_err(|e| e.to_string())?;
        list.push(serde_json::json!({
            "name": c.name,
            "kind": c.record.kind().name(),
            "envelope_hex": tcmcare_conformance::hex(&buf[..n]),
        }));
    }
    let text = serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?;
    std::fs::write(out, text).map_err(|e| format!("{out}: {e}"))
}

/// Parses the FHIR dump: `{"source": ..., "records": {name: text | null}}`.
fn parse_fhir(text: &str) -> Result<(formats::FhirTexts, String), String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("FHIR dump: {e}"))?;
    let source = v["source"].as_str().unwrap_or("unknown").to_string();
    let mut out = BTreeMap::new();
    let records = v["records"]
        .as_object()
        .ok_or("FHIR dump: no \"records\" object")?;
    for (name, t) in records {
        out.insert(name.clone(), t.as_str().map(str::to_string));
    }
    Ok((out, source))
}

/// Answer sets for the scoring rate: the canonical assessments and a few patterns.
fn answer_sets() -> Vec<[u8; 33]> {
    let mut sets: Vec<[u8; 33]> = tcmcare_conformance::canonical_records()
        .into_iter()
        .filter_map(|c| match c.record.body {
            Body::Constitution(a) => Some(a.answers),
            _ => None,
        })
        .collect();
    for k in 0..6u8 {
        let mut a = [1u8; 33];
        for (i, v) in a.iter_mut().enumerate() {
            *v = ((i as u8).wrapping_mul(k + 1).wrapping_add(k) % 5) + 1;
        }
        sets.push(a);
    }
    sets
}

/// Nanoseconds per `assess` over the answer sets (cycled).
fn scoring() -> Result<(Timing, usize), String> {
    let sets = answer_sets();
    for a in &sets {
        assess(a).map_err(|e| format!("assess: {e}"))?;
    }
    let mut i = 0;
    let t = measure(|| {
        i = (i + 1) % sets.len();
        assess(&sets[i]).map(|r| r.primary())
    });
    Ok((t, sets.len()))
}

fn report(args: &[String]) -> Result<(), String> {
    let out = arg(args, "--out").ok_or("--out missing")?;
    let fhir = match read_opt(args, "--fhir")? {
        Some(t) => Some(parse_fhir(&t)?),
        None => None,
    };
    let inputs = report::Inputs {
        fhir_source: fhir.as_ref().map(|(_, s)| s.clone()),
        fhir_note: arg(args, "--fhir-note"),
        c_bench: read_opt(args, "--c-bench")?.map(|t| external::parse_c_bench(&t)),
        c_note: arg(args, "--c-note"),
        ffi_sizes: read_opt(args, "--ffi-sizes")?,
        python_bench: read_opt(args, "--python-bench")?.map(|t| external::parse_python_bench(&t)),
        python_note: arg(args, "--python-note"),
        firmware: read_opt(args, "--firmware-size")?.map(|t| external::parse_firmware_size(&t)),
        firmware_note: arg(args, "--firmware-note"),
        stack_peak: read_opt(args, "--stack-peak")?.and_then(|t| external::parse_stack_peak(&t)),
        rustc: arg(args, "--rustc").unwrap_or_else(|| "unknown".into()),
        date: arg(args, "--date").unwrap_or_else(|| "unknown".into()),
        libraries: arg(args, "--libraries").unwrap_or_else(|| "see bench/Cargo.lock".into()),
        commit: arg(args, "--commit").unwrap_or_else(|| "unknown".into()),
        load_before: external::loadavg(),
    };

    eprintln!("bench: records and formats");
    let rows = formats::measure_all(fhir.as_ref().map(|(f, _)| f), |name| eprintln!("  {name}"))?;
    eprintln!("bench: sync batches and in-memory drain");
    let batches = sync::batches()?;
    let drains = sync::drains()?;
    eprintln!("bench: constitution scoring");
    let scoring = scoring()?;
    let load_after = external::loadavg();

    let md = report::render(&inputs, &rows, &batches, &drains, scoring, load_after);
    std::fs::write(&out, md).map_err(|e| format!("{out}: {e}"))?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("canonical") => match args.get(2) {
            Some(out) => canonical(out),
            None => Err("usage: tcmcare-bench canonical OUT.json".into()),
        },
        Some("report") => report(&args),
        _ => Err("usage: tcmcare-bench canonical OUT.json | report --out FILE [options]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tcmcare-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
