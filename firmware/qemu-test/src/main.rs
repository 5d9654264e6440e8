//! Host side of the kiosk's QEMU end-to-end test, and the firmware size report.
//!
//! `tcmcare-qemu-test run --elf FIRMWARE [--qemu BIN] [--defmt-print BIN] [--timeout S]`
//! listens on 127.0.0.1, boots the board in QEMU with its UART0 connected to that
//! socket, plays the terminal with core's [`Receiver`] and an in-memory store (acking
//! every batch), corrupts one byte of one frame and drops one ack on the way, then
//! checks that every record of the scripted morning arrived exactly once with the
//! scripted values, and that the decoded defmt log shows the expected transitions.
//!
//! `tcmcare-qemu-test size --elf FIRMWARE --flash-limit BYTES --ram-limit BYTES` prints
//! the Berkeley sizes and fails when the image exceeds the limits.
//!
//! `tcmcare-qemu-test expect --cohort NAME [--device ID]` prints, one JSON object per
//! line, the records a kiosk playing that cohort must create (in stream order, from the
//! cohort's hand-written expectations): what `make demo` checks its database against.
//!
//! Both print `qemu: N passed, M failed` (or `size: ...`) and exit non-zero on failure.

mod elf;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tcmcare_core::ids::ResidentNumber;
use tcmcare_core::record::{Body, MeasurementSource, Record, TemperatureSite};
use tcmcare_core::sync::{MemoryStore, Message, Receiver, ReceiverEvent, RecordStatus};
use tcmcare_core::time::Timestamp;
use tcmcare_core::wire::{decode_frame, encode_frame, FrameDecoder};
use tcmcare_device_models::cohort::{self, Cohort};
use tcmcare_device_models::scenario::{self, Expect, MORNING, TERMINAL_UTC_START};

/// Latency target: a visit's records in the flash outbox within this many ms of the
/// last measurement (simulated time).
const LATENCY_TARGET_MS: u64 = 50;

struct Checks {
    passed: u32,
    failed: u32,
}

impl Checks {
    fn check(&mut self, name: &str, ok: bool, detail: impl std::fmt::Display) {
        if ok {
            self.passed += 1;
            println!("check {name}: ok ({detail})");
        } else {
            self.failed += 1;
            println!("check {name}: FAILED ({detail})");
        }
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("run") => run(&args),
        Some("size") => size(&args),
        Some("expect") => expect(&args),
        _ => Err(
            "usage: tcmcare-qemu-test run|size --elf FIRMWARE [options] | expect --cohort NAME"
                .into(),
        ),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn size(args: &[String]) -> Result<bool, String> {
    let elf = arg(args, "--elf").ok_or("--elf missing")?;
    let bytes = std::fs::read(&elf).map_err(|e| format!("{elf}: {e}"))?;
    let s = elf::sizes(&bytes)?;
    let flash_limit: u64 = arg(args, "--flash-limit")
        .map(|v| v.parse().map_err(|_| "bad --flash-limit"))
        .transpose()?
        .unwrap_or(96 * 1024);
    let ram_limit: u64 = arg(args, "--ram-limit")
        .map(|v| v.parse().map_err(|_| "bad --ram-limit"))
        .transpose()?
        .unwrap_or(32 * 1024);
    println!("   text    data     bss  filename");
    println!("{:7} {:7} {:7}  {elf}", s.text, s.data, s.bss);
    let mut c = Checks {
        passed: 0,
        failed: 0,
    };
    c.check(
        "flash",
        s.flash() <= flash_limit,
        format_args!(
            "{} B of {} B ({:.1} %)",
            s.flash(),
            flash_limit,
            100.0 * s.flash() as f64 / flash_limit as f64
        ),
    );
    c.check(
        "static-ram",
        s.static_ram() <= ram_limit,
        format_args!(
            "{} B of {} B ({:.1} %)",
            s.static_ram(),
            ram_limit,
            100.0 * s.static_ram() as f64 / ram_limit as f64
        ),
    );
    println!("size: {} passed, {} failed", c.passed, c.failed);
    Ok(c.failed == 0)
}

/// Kills QEMU if the test bails out early.
struct Qemu(Child);
impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the terminal saw on the link.
#[derive(Default)]
struct LinkStats {
    frames: u32,
    corrupted_injected: u32,
    bad_frames: u32,
    acks_dropped: u32,
    commits: u32,
    duplicates: u32,
    hellos: u32,
}

fn run(args: &[String]) -> Result<bool, String> {
    let elf = PathBuf::from(arg(args, "--elf").ok_or("--elf missing")?);
    let qemu = arg(args, "--qemu").unwrap_or_else(|| "qemu-system-arm".into());
    let defmt_print = arg(args, "--defmt-print").unwrap_or_else(|| "defmt-print".into());
    let timeout = Duration::from_secs(
        arg(args, "--timeout")
            .map(|v| v.parse().map_err(|_| "bad --timeout"))
            .transpose()?
            .unwrap_or(300),
    );
    let log_out = arg(args, "--log").map(PathBuf::from);

    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;

    // -icount: simulated time advances with the instructions executed (and jumps over
    // idle periods), so timings are those of the emulated 25 MHz-class core, not of
    // this (shared, loaded) host.
    let mut child = Command::new(&qemu)
        .args([
            "-machine",
            "mps2-an386",
            "-cpu",
            "cortex-m4",
            "-nographic",
            "-monitor",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
            "-icount",
            "shift=5,sleep=off",
            "-serial",
            &format!("tcp:127.0.0.1:{port}"),
            "-kernel",
        ])
        .arg(&elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{qemu}: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut qemu_child = Qemu(child);
    let log = Arc::new(Mutex::new(Vec::new()));
    let log_w = log.clone();
    let reader = std::thread::spawn(move || {
        let mut stdout = stdout;
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut l) = log_w.lock() {
                l.extend_from_slice(&buf[..n]);
            }
        }
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let mut stderr = stderr;
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let start = Instant::now();
    let mut stream: Option<TcpStream> = None;
    while stream.is_none() {
        match listener.accept() {
            Ok((s, _)) => stream = Some(s),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if start.elapsed() > Duration::from_secs(20) {
                    return Err("QEMU did not connect its UART".into());
                }
                if let Ok(Some(st)) = qemu_child.0.try_wait() {
                    return Err(format!("QEMU exited early: {st}"));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(format!("accept: {e}")),
        }
    }
    let mut stream = stream.ok_or("no connection")?;
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;

    let mut receiver = Receiver::new(MemoryStore::new());
    let mut decoder = FrameDecoder::<4096>::new();
    let mut stats = LinkStats::default();
    let mut raw = Vec::new();
    let mut buf = [0u8; 1024];
    let exit_status;
    loop {
        if let Ok(Some(st)) = qemu_child.0.try_wait() {
            exit_status = Some(st);
            break;
        }
        if start.elapsed() > timeout {
            exit_status = None;
            break;
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => {
                std::thread::sleep(Duration::from_millis(5));
                0
            }
            Ok(n) => n,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                0
            }
            Err(_) => {
                std::thread::sleep(Duration::from_millis(5));
                0
            }
        };
        for &b in &buf[..n] {
            raw.push(b);
            if b != 0 {
                continue;
            }
            let mut frame = std::mem::take(&mut raw);
            stats.frames += 1;
            // Fault 1: one byte of the first record batch is corrupted on the wire.
            if stats.corrupted_injected == 0 && is_batch(&frame) && frame.len() > 8 {
                let i = frame.len() / 2;
                frame[i] = if frame[i] == 0x01 {
                    0x02
                } else {
                    frame[i] ^ 0x01
                };
                stats.corrupted_injected += 1;
            }
            let mut input = &frame[..];
            while let Some(r) = decoder.feed(&mut input) {
                let payload = match r {
                    Ok(p) => p.to_vec(),
                    Err(_) => {
                        stats.bad_frames += 1;
                        continue;
                    }
                };
                let utc = TERMINAL_UTC_START + start.elapsed().as_secs();
                let mut out = [0u8; 128];
                let o = receiver
                    .handle(Some(utc), &payload, &mut out)
                    .map_err(|e| format!("receiver: {e}"))?;
                let is_ack = match o.event {
                    ReceiverEvent::Committed { .. } => {
                        stats.commits += 1;
                        true
                    }
                    ReceiverEvent::Duplicate { .. } => {
                        stats.duplicates += 1;
                        true
                    }
                    ReceiverEvent::Introduced { .. } => {
                        stats.hellos += 1;
                        false
                    }
                    _ => false,
                };
                // Fault 2: the ack of the second committed batch is lost.
                if is_ack && stats.commits == 2 && stats.acks_dropped == 0 {
                    stats.acks_dropped += 1;
                    continue;
                }
                if o.reply_len > 0 {
                    let mut f = [0u8; 256];
                    let m = encode_frame(&out[..o.reply_len], &mut f)
                        .map_err(|e| format!("encode: {e}"))?;
                    stream
                        .write_all(&f[..m])
                        .map_err(|e| format!("write: {e}"))?;
                }
            }
        }
    }
    let timed_out = exit_status.is_none();
    drop(qemu_child); // kills QEMU if still running
    let _ = reader.join();
    let qemu_stderr = err_reader.join().unwrap_or_default();
    let log_bytes = log.lock().map(|l| l.clone()).unwrap_or_default();

    let mut c = Checks {
        passed: 0,
        failed: 0,
    };
    c.check(
        "qemu-exit",
        exit_status.is_some_and(|s| s.success()),
        match exit_status {
            Some(s) => format!("QEMU {s}, {:.1} s", start.elapsed().as_secs_f64()),
            None => format!("timed out after {} s", timeout.as_secs()),
        },
    );
    if !qemu_stderr.trim().is_empty() {
        println!("qemu stderr: {}", qemu_stderr.trim());
    }
    let _ = timed_out;

    check_records(&mut c, receiver.store());
    c.check(
        "corrupted-frame-rejected",
        stats.corrupted_injected == 1 && stats.bad_frames >= 1,
        format_args!(
            "{} injected, {} rejected by CRC",
            stats.corrupted_injected, stats.bad_frames
        ),
    );
    c.check(
        "dropped-ack-recovered",
        stats.acks_dropped == 1 && stats.duplicates >= 1,
        format_args!(
            "{} ack dropped, {} duplicate batch(es) re-acked",
            stats.acks_dropped, stats.duplicates
        ),
    );
    println!(
        "link: {} frames, {} hello(s), {} committed batch(es), {} duplicate(s)",
        stats.frames, stats.hellos, stats.commits, stats.duplicates
    );

    // The defmt log.
    let text = decode_defmt(&defmt_print, &elf, &log_bytes);
    match &text {
        Ok(t) => {
            if let Some(p) = &log_out {
                let _ = std::fs::write(p, t);
            }
            check_log(&mut c, t);
        }
        Err(e) => c.check("defmt-decode", false, e),
    }
    println!("qemu: {} passed, {} failed", c.passed, c.failed);
    Ok(c.failed == 0)
}

/// `expect`: the cohort's records as JSON lines (seq = position in the kiosk's stream).
fn expect(args: &[String]) -> Result<bool, String> {
    let name = arg(args, "--cohort").ok_or("--cohort missing")?;
    let c = cohort::by_name(&name).ok_or_else(|| format!("no cohort {name:?}"))?;
    let device = match arg(args, "--device") {
        Some(d) => match d.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16),
            None => d.parse(),
        }
        .map_err(|_| format!("bad --device {d:?}"))?,
        None => c.device,
    };
    fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
        v.map_or_else(|| "null".to_string(), |x| x.to_string())
    }
    for (i, (resident, source, e)) in expected_of(c).iter().enumerate() {
        let (bp, sensor) = match source {
            MeasurementSource::Bluetooth => (e.bp, false),
            _ => (None, true),
        };
        println!(
            "{{\"cohort\":\"{}\",\"device\":{},\"seq\":{},\"care_home\":{},\"resident\":{},\
             \"source\":\"{}\",\"temperature_centi_c\":{},\"spo2_percent\":{},\
             \"pulse_per_min\":{},\"weight_g\":{},\"systolic_mmhg\":{},\
             \"diastolic_mmhg\":{}}}",
            c.name,
            device,
            i + 1,
            scenario::CARE_HOME,
            resident,
            if sensor { "kiosk_sensor" } else { "bluetooth" },
            opt(e.temperature_centi_c.filter(|_| sensor)),
            opt(e.spo2_percent.filter(|_| sensor)),
            opt(if sensor {
                e.pulse_per_min
            } else {
                bp.map(|b| b.2)
            }),
            opt(e.weight_g.filter(|_| sensor)),
            opt(bp.map(|b| b.0)),
            opt(bp.map(|b| b.1)),
        );
    }
    Ok(true)
}

fn is_batch(frame: &[u8]) -> bool {
    let mut copy = frame.to_vec();
    match decode_frame(&mut copy) {
        Ok(p) => matches!(Message::decode(p), Ok(Message::Batch(_))),
        Err(_) => false,
    }
}

/// The records the morning must produce, in order: per visit, the kiosk-sensor record
/// (if anything was measured) then the Bluetooth record.
fn expected() -> Vec<(u32, MeasurementSource, Expect)> {
    expected_of(&cohort::MORNING_COHORT)
}

/// The records a cohort must produce, in stream order (see [`expected`]).
fn expected_of(c: &Cohort) -> Vec<(u32, MeasurementSource, Expect)> {
    let mut v = Vec::new();
    for visit in c.visits.iter() {
        let Some(e) = visit.expect else { continue };
        let resident = c.resident_of(visit.card).unwrap_or(0);
        if e.temperature_centi_c.is_some()
            || e.spo2_percent.is_some()
            || e.pulse_per_min.is_some()
            || e.weight_g.is_some()
        {
            v.push((resident, MeasurementSource::KioskSensor, e));
        }
        if e.bp.is_some() {
            v.push((resident, MeasurementSource::Bluetooth, e));
        }
    }
    v
}

fn check_records(c: &mut Checks, store: &MemoryStore) {
    let stored = store.records();
    let want = expected();
    c.check(
        "record-count",
        stored.len() == want.len(),
        format_args!("{} stored, {} expected", stored.len(), want.len()),
    );
    let all_valid = stored.iter().all(|r| r.status == RecordStatus::Valid);
    c.check("records-valid", all_valid, "every record valid in core");
    // Exactly once: distinct ids, positions 1..=n of one stream in order.
    let mut ids: Vec<_> = stored
        .iter()
        .filter_map(|r| r.header.map(|h| h.id))
        .collect();
    let n_ids = ids.len();
    ids.sort();
    ids.dedup();
    let positions: Vec<u32> = stored.iter().map(|r| r.position).collect();
    let contiguous = positions
        .iter()
        .enumerate()
        .all(|(i, &p)| p == i as u32 + 1);
    let one_stream = stored.windows(2).all(|w| {
        (w[0].stream_device, w[0].stream_epoch) == (w[1].stream_device, w[1].stream_epoch)
    });
    c.check(
        "exactly-once",
        ids.len() == n_ids && n_ids == stored.len() && contiguous && one_stream,
        format_args!(
            "{} distinct ids, positions {:?}, one stream across the power cut: {}",
            ids.len(),
            positions,
            one_stream
        ),
    );
    let mut mismatches = Vec::new();
    for (i, (resident, source, e)) in want.iter().enumerate() {
        let Some(s) = stored.get(i) else {
            mismatches.push(format!("#{i}: missing"));
            continue;
        };
        let rec = match Record::decode(&s.envelope) {
            Ok(r) => r,
            Err(err) => {
                mismatches.push(format!("#{i}: {err}"));
                continue;
            }
        };
        let Body::Vitals(v) = rec.body else {
            mismatches.push(format!("#{i}: not vitals"));
            continue;
        };
        let got_ok = rec.header.resident.number == ResidentNumber(*resident)
            && rec.header.resident.care_home.0 == scenario::CARE_HOME
            && rec.header.id.device.0 == scenario::DEVICE_ID
            && v.source == *source
            && match source {
                MeasurementSource::Bluetooth => {
                    e.bp == v
                        .systolic_mmhg
                        .zip(v.diastolic_mmhg)
                        .zip(v.pulse_per_min)
                        .map(|((s, d), p)| (s, d, p))
                        && v.temperature_centi_c.is_none()
                        && v.weight_g.is_none()
                }
                _ => {
                    v.temperature_centi_c == e.temperature_centi_c
                        && (v.temperature_centi_c.is_none()
                            || v.temperature_site == TemperatureSite::Forehead)
                        && v.spo2_percent == e.spo2_percent
                        && v.pulse_per_min == e.pulse_per_min
                        && v.weight_g == e.weight_g
                        && v.systolic_mmhg.is_none()
                }
            };
        let time_ok = match rec.header.time {
            Timestamp::Utc(t) => {
                (TERMINAL_UTC_START..TERMINAL_UTC_START + 3600).contains(&t.unix())
            }
            Timestamp::Unknown { .. } => true,
        };
        if !got_ok || !time_ok {
            mismatches.push(format!(
                "#{i}: expected resident {resident} {source:?} {e:?}, got {} {:?} {v:?} at {:?}",
                rec.header.resident, v.source, rec.header.time
            ));
        }
    }
    c.check(
        "scripted-values",
        mismatches.is_empty(),
        if mismatches.is_empty() {
            format!("{} records match the script", want.len())
        } else {
            mismatches.join("; ")
        },
    );
}

fn decode_defmt(defmt_print: &str, elf: &PathBuf, bytes: &[u8]) -> Result<String, String> {
    let mut child = Command::new(defmt_print)
        .arg("-e")
        .arg(elf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{defmt_print}: {e}"))?;
    {
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        stdin.write_all(bytes).map_err(|e| e.to_string())?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                return Err("defmt-print timed out".into());
            }
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if text.trim().is_empty() {
        return Err(format!(
            "defmt-print printed nothing: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(text)
}

/// Finds `needles` in this order in `lines`; returns the first missing one.
fn in_order<'a>(lines: &[&str], needles: &[&'a str]) -> Result<(), &'a str> {
    let mut i = 0;
    for n in needles {
        match lines[i..].iter().position(|l| l.contains(n)) {
            Some(p) => i += p + 1,
            None => return Err(n),
        }
    }
    Ok(())
}

fn check_log(c: &mut Checks, text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let full_visit = [
        "kiosk: Idle -> Identified",
        "kiosk: Identified -> Measuring(Temperature)",
        "kiosk: Measuring(Temperature) -> Measuring(Oximetry)",
        "kiosk: Measuring(Oximetry) -> Measuring(Weight)",
        "kiosk: Measuring(Weight) -> Measuring(BloodPressure)",
        "kiosk: Measuring(BloodPressure) -> Storing",
        "kiosk: Storing -> Uplinking",
        "kiosk: Uplinking -> Idle",
    ];
    c.check(
        "log-transitions",
        in_order(&lines, &full_visit).is_ok(),
        match in_order(&lines, &full_visit) {
            Ok(()) => "idle -> identified -> measuring x4 -> storing -> uplinking -> idle".into(),
            Err(m) => format!("missing {m:?}"),
        },
    );
    let script = [
        "world: visit 0 presents card",
        "Measured(Oximetry { spo2: 95, pulse: 72 })",
        "Acked",
        "world: visit 1 presents card",
        "UnknownCard",
        "world: visit 2 presents card",
        "failure: Ppg(NoFinger), retry: false",
        "failure: Timeout, retry: false",
        "world: visit 3 presents card",
        "step: Temperature, failure: Checksum, retry: true",
        "step: Temperature, failure: Checksum, retry: true",
        "Measured(Temperature(3621))",
        "step: Weight, failure: Timeout, retry: false",
        "world: power cut after visit 3 was stored",
        "board: boot 2 (after power cut)",
        "record(s) waiting",
        "world: visit 4 presents card",
        "failure: Ppg(Motion)",
        "world: visit 5 presents card",
        "failure: NoLoad",
        "world: morning done, 1 power cut(s)",
        "board: stack peak",
    ];
    c.check(
        "log-script",
        in_order(&lines, &script).is_ok(),
        match in_order(&lines, &script) {
            Ok(()) => "cards, faults, retries, power cut and restart in order".into(),
            Err(m) => format!("missing {m:?}"),
        },
    );
    // Latency: "board: R record(s) in the flash outbox U us after the last measurement".
    let latencies: Vec<u64> = lines
        .iter()
        .filter_map(|l| {
            let i = l.find("in the flash outbox ")?;
            l[i + 20..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .collect();
    let visits = MORNING.iter().filter(|v| v.expect.is_some()).count();
    let worst = latencies.iter().copied().max().unwrap_or(u64::MAX);
    c.check(
        "outbox-latency",
        latencies.len() == visits && worst <= LATENCY_TARGET_MS * 1000,
        format_args!(
            "{} visits stored, {:?} us after the last measurement (target <= {LATENCY_TARGET_MS} ms, simulated)",
            latencies.len(),
            latencies
        ),
    );
    let stack = lines.iter().find_map(|l| {
        let i = l.find("stack peak ")?;
        let rest = &l[i + 11..];
        let mut it = rest.split(' ');
        let used: u64 = it.next()?.parse().ok()?;
        let size: u64 = it.nth(1)?.parse().ok()?;
        Some((used, size))
    });
    c.check(
        "stack-peak",
        stack.is_some_and(|(u, s)| u > 0 && u < s),
        match stack {
            Some((u, s)) => format!("stack peak {u} B of {s} B (painted stack, measured in QEMU)"),
            None => "no stack report in the log".into(),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_records_follow_the_script() {
        // Visits with records: 0 (2), 2 (1: no BP), 3 (2), 4 (2), 5 (2); visit 1 is
        // the unknown card.
        let e = expected();
        assert_eq!(e.len(), 9);
        assert_eq!(e[0].0, 1001);
        assert_eq!(e[2].1, MeasurementSource::KioskSensor);
        assert_eq!(e[2].0, 1002);
    }

    #[test]
    fn demo_cohorts_expect_their_records() {
        // Kiosk A: six residents, two records each; B: seven visits, two each.
        assert_eq!(expected_of(&cohort::KIOSK_A).len(), 12);
        let b = expected_of(&cohort::KIOSK_B);
        assert_eq!(b.len(), 14);
        assert_eq!((b[0].0, b[0].1), (1003, MeasurementSource::KioskSensor));
        assert_eq!((b[1].0, b[1].1), (1003, MeasurementSource::Bluetooth));
    }

    #[test]
    fn order_search() {
        let lines = ["a", "b x", "c", "b y"];
        assert!(in_order(&lines, &["a", "b", "c", "y"]).is_ok());
        assert_eq!(in_order(&lines, &["c", "x"]), Err("x"));
    }
}
