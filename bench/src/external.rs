//! Parsing the outputs of the other benchmarks and reports that `scripts/bench.sh` runs:
//! the C API decode benchmark (`ffi/benches/decode.rs`), the Python decode benchmark
//! (`bindings/python/benches/bench_decode.py`) and the firmware size report
//! (`tcmcare-qemu-test size`).

/// One measured line of another benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    /// What was measured.
    pub label: String,
    /// Nanoseconds per record.
    pub ns: f64,
    /// Extra text (CPU time...).
    pub note: String,
}

/// A parsed benchmark output: its rates and its header line, or why nothing was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// Rates found.
    pub rates: Vec<Rate>,
    /// Context lines (headline, ratio...).
    pub context: Vec<String>,
}

fn num(s: &str) -> Option<f64> {
    s.trim()
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .replace(',', "")
        .parse()
        .ok()
}

/// The C bench prints
/// `decode 10,000 vitals frames (ns/frame): rust decode_record_frame 95.1, rust in place 60.2, C API 70.3`
/// then a ratio line starting `C API / rust`; the sealed-frame bench
/// (`ffi/benches/sealed.rs`) adds a line starting `sealed frames through`.
pub fn parse_c_bench(text: &str) -> Parsed {
    let mut rates = Vec::new();
    let mut context = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("decode ") && line.contains("(ns/frame):") {
            context.push(line.to_string());
            let Some((_, list)) = line.split_once("(ns/frame):") else {
                continue;
            };
            for item in list.split(',') {
                let item = item.trim();
                if let Some((label, value)) = item.rsplit_once(' ') {
                    if let Some(ns) = num(value) {
                        rates.push(Rate {
                            label: label.trim().to_string(),
                            ns,
                            note: String::new(),
                        });
                    }
                }
            }
        } else if line.starts_with("C API /") || line.starts_with("sealed frames through") {
            context.push(line.to_string());
        }
    }
    Parsed { rates, context }
}

/// The Python bench prints a headline
/// `100000 vitals frames, 2826333 bytes (28.3 B/frame); Python 3.11.7, tcmcare 0.1.0`
/// then one line per way of decoding:
/// `decode_frames -> objects       wall    54.7 ms  1.83 M/s   cpu    44.1 ms  2.27 M/s`.
pub fn parse_python_bench(text: &str) -> Parsed {
    let mut rates = Vec::new();
    let mut context = Vec::new();
    let mut n: Option<f64> = None;
    for line in text.lines() {
        if n.is_none() && line.contains(" vitals frames, ") {
            n = line.split_whitespace().next().and_then(num);
            context.push(line.trim().to_string());
            continue;
        }
        let (Some(w), Some(c)) = (line.find(" wall "), line.find(" cpu ")) else {
            continue;
        };
        if c < w {
            continue;
        }
        let label = line[..w].trim().to_string();
        let wall: Vec<&str> = line[w..c].split_whitespace().collect();
        let cpu: Vec<&str> = line[c..].split_whitespace().collect();
        // ["wall", ms, "ms", rate, "M/s"]
        let (Some(wall_ms), Some(cpu_ms), Some(n)) = (
            wall.get(1).and_then(|s| num(s)),
            cpu.get(1).and_then(|s| num(s)),
            n,
        ) else {
            continue;
        };
        if n <= 0.0 {
            continue;
        }
        rates.push(Rate {
            label,
            ns: wall_ms * 1e6 / n,
            note: format!("CPU time {:.0} ns/record", cpu_ms * 1e6 / n),
        });
    }
    Parsed { rates, context }
}

/// Berkeley sizes of the firmware image and the limits it is checked against.
#[derive(Debug, Clone, PartialEq)]
pub struct FirmwareSize {
    /// `.text` (+ rodata, vectors) bytes.
    pub text: u64,
    /// `.data` bytes (in flash and in RAM).
    pub data: u64,
    /// `.bss` bytes.
    pub bss: u64,
    /// Flash limit checked by the size report.
    pub flash_limit: Option<u64>,
    /// Static RAM limit checked by the size report.
    pub ram_limit: Option<u64>,
}

fn limit_after(line: &str) -> Option<u64> {
    // "check flash: ok (76584 B of 98304 B (77.9 %))"
    let (_, rest) = line.split_once(" of ")?;
    rest.split_whitespace().next()?.parse().ok()
}

/// Parses `tcmcare-qemu-test size` output.
pub fn parse_firmware_size(text: &str) -> Option<FirmwareSize> {
    let mut sizes = None;
    let (mut flash_limit, mut ram_limit) = (None, None);
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        if sizes.is_none() && t.len() >= 3 {
            if let (Ok(a), Ok(b), Ok(c)) = (t[0].parse(), t[1].parse(), t[2].parse()) {
                sizes = Some((a, b, c));
            }
        }
        if line.starts_with("check flash:") {
            flash_limit = limit_after(line);
        } else if line.starts_with("check static-ram:") {
            ram_limit = limit_after(line);
        }
    }
    let (text, data, bss) = sizes?;
    Some(FirmwareSize {
        text,
        data,
        bss,
        flash_limit,
        ram_limit,
    })
}

/// The stack peak line of the last QEMU run's log
/// (`check stack-peak: ok (stack peak 9520 B of 55864 B (painted stack, measured in QEMU))`).
pub fn parse_stack_peak(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.contains("stack peak "))?;
    let (_, rest) = line.split_once("stack peak ")?;
    let t: Vec<&str> = rest.split_whitespace().collect();
    Some((t.first()?.parse().ok()?, t.get(3)?.parse().ok()?))
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// CPU model and logical CPU count from /proc/cpuinfo.
pub fn cpu() -> (String, usize) {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "model name").then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let count = info
        .lines()
        .filter(|l| l.split(':').next().map(str::trim) == Some("processor"))
        .count();
    (model, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_c_bench_summary() {
        let p = parse_c_bench(
            "noise\ndecode 10,000 vitals frames (ns/frame): rust decode_record_frame 95.1, rust in place 60.2, C API 70.3\nC API / rust decode_record_frame = 0.739x\n",
        );
        assert_eq!(p.rates.len(), 3);
        assert_eq!(p.rates[2].label, "C API");
        assert_eq!(p.rates[2].ns, 70.3);
        assert_eq!(p.context.len(), 2);
    }

    #[test]
    fn parses_the_python_bench() {
        let p = parse_python_bench(
            "100000 vitals frames, 2826333 bytes (28.3 B/frame); Python 3.11.7, tcmcare 0.1.0\n\
             decode_frames -> objects       wall    54.7 ms  1.83 M/s   cpu    44.1 ms  2.27 M/s\n",
        );
        assert_eq!(p.rates.len(), 1);
        assert_eq!(p.rates[0].label, "decode_frames -> objects");
        // 54.7 ms / 100,000 records = 547 ns.
        assert!((p.rates[0].ns - 547.0).abs() < 1e-6);
    }

    #[test]
    fn parses_the_firmware_size_report() {
        let f = parse_firmware_size(
            "   text    data     bss  filename\n  76584       0    9672  /x/tcmcare-board\ncheck flash: ok (76584 B of 98304 B (77.9 %))\ncheck static-ram: ok (9672 B of 32768 B (29.5 %))\n",
        )
        .unwrap();
        assert_eq!((f.text, f.data, f.bss), (76584, 0, 9672));
        assert_eq!((f.flash_limit, f.ram_limit), (Some(98304), Some(32768)));
        assert_eq!(
            parse_stack_peak("check stack-peak: ok (stack peak 9520 B of 55864 B (painted))"),
            Some((9520, 55864))
        );
    }
}
