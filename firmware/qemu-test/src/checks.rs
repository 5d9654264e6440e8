//! The checks of a run: the records the terminal stored, the decoded defmt log and its
//! sealing lines.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tcmcare_core::ids::ResidentNumber;
use tcmcare_core::record::{Body, MeasurementSource, Record, TemperatureSite};
use tcmcare_core::sync::{MemoryStore, RecordStatus};
use tcmcare_core::time::Timestamp;
use tcmcare_device_models::scenario::{self, MORNING, TERMINAL_UTC_START};

use crate::expect::expected;

/// Latency target: a visit's records in the flash outbox within this many ms of the
/// last measurement (simulated time).
const LATENCY_TARGET_MS: u64 = 50;

pub(crate) struct Checks {
    pub(crate) passed: u32,
    pub(crate) failed: u32,
}

impl Checks {
    pub(crate) fn check(&mut self, name: &str, ok: bool, detail: impl std::fmt::Display) {
        if ok {
            self.passed += 1;
            println!("check {name}: ok ({detail})");
        } else {
            self.failed += 1;
            println!("check {name}: FAILED ({detail})");
        }
    }
}

pub(crate) fn check_records(c: &mut Checks, store: &MemoryStore) {
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

pub(crate) fn decode_defmt(
    defmt_print: &str,
    elf: &PathBuf,
    bytes: &[u8],
) -> Result<String, String> {
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
pub(crate) fn in_order<'a>(lines: &[&str], needles: &[&'a str]) -> Result<(), &'a str> {
    let mut i = 0;
    for n in needles {
        match lines[i..].iter().position(|l| l.contains(n)) {
            Some(p) => i += p + 1,
            None => return Err(n),
        }
    }
    Ok(())
}

pub(crate) fn check_log(c: &mut Checks, text: &str) {
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
        // The QEMU process is killed while the last batch is resent, and restarted.
        "board: boot 3 (after power cut)",
        "record(s) waiting",
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

/// The sealing checks of the day's log: the `Provision` sent without the button was
/// refused, the altered reply rejected, and after each restart the frame counters went
/// on after the persisted lease (`next frame counter` of each boot: 1, then one more
/// than a multiple of core's 64-counter lease block), each boot's first counter reaching
/// the terminal.
pub(crate) fn check_sealed_log(c: &mut Checks, text: &str, counters: &[(u32, u32)], tampered: u32) {
    c.check(
        "provision-without-button-refused",
        text.contains("kiosk: provisioning refused: not in provisioning mode"),
        "the kiosk refused the Provision sent without --provision; it synced under key id 1",
    );
    c.check(
        "tampered-reply-rejected",
        tampered == 1 && text.contains("kiosk: sealed frame rejected: bad tag"),
        format_args!("{tampered} reply altered, rejected by the kiosk with a bad tag"),
    );
    let next: Vec<u32> = text
        .lines()
        .filter_map(|l| {
            let i = l.find("next frame counter ")?;
            l[i + 19..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .collect();
    let lease = tcmcare_core::seal::DEFAULT_LEASE_BLOCK;
    let ok = next.len() == 3
        && next[0] == 1
        && next.windows(2).all(|w| w[0] < w[1])
        && next[1..].iter().all(|n| (n - 1) % lease == 0)
        && next.iter().all(|n| counters.iter().any(|(_, c)| c == n));
    c.check(
        "counters-continue-after-lease",
        ok,
        format_args!("first frame counter of each boot {next:?} (power cut, then kill)"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_search() {
        let lines = ["a", "b x", "c", "b y"];
        assert!(in_order(&lines, &["a", "b", "c", "y"]).is_ok());
        assert_eq!(in_order(&lines, &["c", "x"]), Err("x"));
    }
}
