//! Host side of the kiosk's QEMU end-to-end test, and the firmware size report.
//!
//! `tcmcare-qemu-test run --elf FIRMWARE [--qemu BIN] [--defmt-print BIN] [--timeout S]
//! [--log FILE]` listens on 127.0.0.1 and boots the board in QEMU several times with its
//! UART0 connected to that socket and its flash mirrored to a file in a temporary
//! directory:
//!
//! 1. without provisioning (a blank flash file): the board must refuse to run (exit 3);
//! 2. with `--provision` (the provisioning button held) but no `--entropy`: the kiosk
//!    has no salt and refuses the `Provision` (`0xA2 0x08`), saying why;
//! 3. with `--provision --entropy HEX` (16 fresh bytes from `/dev/urandom`): a frame
//!    that is not a `Provision` is ignored, a truncated one refused (`0xA2 0x01`), then
//!    the kiosk is provisioned as the morning's device, epoch 1, key id 1 with a fixed
//!    test key and answers with its confirmation, which core's
//!    [`open_provision_confirmation`](tcmcare_core::seal::open_provision_confirmation)
//!    must accept for that `Provision` (with the salt passed); the link key it returns is
//!    the terminal's key from then on, and the fingerprint the kiosk logs must equal the
//!    confirmed one (exit 0);
//! 4. `--provision` again (fresh entropy) with the same `Provision`: refused as stale
//!    (`0xA2 0x07`), the key stays;
//! 5. the morning from that flash file, the terminal played with core's
//!    [`SealedReceiver`](tcmcare_core::sync::SealedReceiver) (sealed links only), an
//!    in-memory store and key store: a `Provision` with another key is sent first (the
//!    kiosk must refuse it and keep its key), one byte of the first batch is corrupted
//!    (CRC), one sealed ack altered (the kiosk must reject it), one ack dropped; the board
//!    cuts its own power once; when the day's last batch is first sent the cable is cut,
//!    and QEMU is killed while the kiosk resends it, then restarted from the flash file.
//!
//! It then checks that every record arrived exactly once with the scripted values, that
//! every kiosk frame was sealed under the confirmed link key with counters that go on after
//! each restart's persisted lease, that no key appears in any boot's output, and the
//! decoded defmt log.
//!
//! `tcmcare-qemu-test size --elf FIRMWARE --flash-limit BYTES --ram-limit BYTES` prints
//! the Berkeley sizes and fails when the image exceeds the limits.
//!
//! `tcmcare-qemu-test expect --cohort NAME [--device ID]` prints, one JSON object per
//! line, the records a kiosk playing that cohort must create (in stream order, from the
//! cohort's hand-written expectations): what `make demo` checks its database against.
//!
//! Both print `qemu: N passed, M failed` (or `size: ...`) and exit non-zero on failure.
//!
//! Layout: this file parses the arguments and runs the day ([`run`]); [`qemu`] starts and
//! stops the board, [`terminal`] plays the terminal side of the link, [`provisioning`]
//! holds the provisioning boots, [`checks`] checks the stored records and the decoded
//! log against [`expect`]'s records, [`size`] and [`elf`] make the size report.

mod checks;
mod elf;
mod expect;
mod provisioning;
mod qemu;
mod size;
mod terminal;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tcmcare_device_models::scenario;

use crate::checks::{check_log, check_records, check_sealed_log, decode_defmt, Checks};
use crate::expect::{expect, expected};
use crate::provisioning::{
    no_entropy_boot, provision_payload, provisioning_boot, stale_boot, unprovisioned_boot,
};
use crate::qemu::{Boot, QemuCommand, Served, FLASH_FILE};
use crate::size::size;
use crate::terminal::{send_frame, Terminal, KEY_ID, ROGUE_KEY, TEST_KEY};

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

fn run(args: &[String]) -> Result<bool, String> {
    let elf = PathBuf::from(arg(args, "--elf").ok_or("--elf missing")?);
    let elf = elf
        .canonicalize()
        .map_err(|e| format!("{}: {e}", elf.display()))?;
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
    let dir = std::env::temp_dir().join(format!("tcmcare-qemu-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cmd = QemuCommand {
        qemu,
        elf,
        dir: dir.clone(),
        port,
    };
    let result = run_in(&cmd, &listener, &defmt_print, timeout, log_out.as_deref());
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(
    cmd: &QemuCommand,
    listener: &TcpListener,
    defmt_print: &str,
    timeout: Duration,
    log_out: Option<&std::path::Path>,
) -> Result<bool, String> {
    let mut c = Checks {
        passed: 0,
        failed: 0,
    };
    let start = Instant::now();
    let deadline = start + timeout;
    let device = scenario::DEVICE_ID;
    let mut all_output = unprovisioned_boot(&mut c, cmd, listener, defmt_print)?;
    all_output.extend(no_entropy_boot(&mut c, cmd, listener, defmt_print, device)?);
    let (log, link_key) = provisioning_boot(&mut c, cmd, listener, defmt_print, device)?;
    all_output.extend(log);
    let Some(link_key) = link_key else {
        println!("qemu: {} passed, {} failed", c.passed, c.failed + 1);
        return Err("provisioning was not confirmed: no link key for the day".into());
    };
    all_output.extend(stale_boot(&mut c, cmd, listener, defmt_print, device)?);

    // The day: normal boots from the provisioned flash file, sealed both ways under the
    // confirmed link key.
    let total = expected().len() as u32;
    let mut term = Terminal::new(device, total, link_key.clone());
    let mut texts = Vec::new();
    let mut exit_status = None;
    let mut boots = 0;
    let mut ended = None;
    while ended.is_none() {
        boots += 1;
        let mut boot = Boot::spawn(cmd, &["--cohort", "morning", "--flash", FLASH_FILE])?;
        let mut stream = boot.accept(listener)?;
        if boots == 1 {
            // A Provision with another key, the button not held: the kiosk must refuse it.
            send_frame(
                &mut stream,
                &provision_payload(device, KEY_ID + 1, ROGUE_KEY),
            )?;
        }
        let served = term.serve(&mut boot, &mut stream, deadline)?;
        drop(stream);
        let (log, err) = boot.finish();
        if !err.trim().is_empty() {
            println!("qemu stderr: {}", err.trim());
        }
        match decode_defmt(defmt_print, &cmd.elf, &log) {
            Ok(t) => texts.push(t),
            Err(e) => texts.push(format!("(defmt decode failed: {e})\n")),
        }
        all_output.extend(log);
        match served {
            Served::Killed if boots < 3 => {}
            Served::Killed => ended = Some(Err("killed again".to_string())),
            Served::Exited(st) => {
                exit_status = Some(st);
                ended = Some(Ok(()));
            }
            Served::TimedOut => {
                ended = Some(Err(format!("timed out after {} s", timeout.as_secs())))
            }
        }
    }
    let stats = &term.stats;
    c.check(
        "qemu-exit",
        exit_status.is_some_and(|s| s.success()),
        match (&exit_status, &ended) {
            (Some(s), _) => format!(
                "QEMU {s} after {boots} boot(s) of the day, {:.1} s in all",
                start.elapsed().as_secs_f64()
            ),
            (None, Some(Err(e))) => e.clone(),
            _ => "no exit".into(),
        },
    );

    check_records(&mut c, term.receiver.store());
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
    // Every kiosk frame sealed under key 1, counters strictly increasing across the power
    // cut and the kill, none refused by the terminal.
    let increasing = stats.counters.windows(2).all(|w| w[0].1 < w[1].1);
    let all_key_1 = stats.counters.iter().all(|(k, _)| *k == KEY_ID);
    c.check(
        "sealed-uplink",
        stats.rejected.is_empty()
            && all_key_1
            && increasing
            && stats.counters.len() as u32 + stats.bad_frames >= stats.frames,
        format_args!(
            "{} kiosk frames, all sealed under key id {KEY_ID}: {all_key_1}, counters increasing: {increasing}, refused by the terminal: {:?}",
            stats.counters.len(),
            stats.rejected
        ),
    );
    c.check(
        "kill-restart",
        stats.kills == 1 && boots == 2,
        format_args!(
            "QEMU killed {} time(s) while resending the day's last batch ({} frame(s) held), {boots} boot(s)",
            stats.kills, stats.held
        ),
    );
    println!(
        "link: {} frames, {} hello(s), {} committed batch(es), {} duplicate(s), {} reply altered",
        stats.frames, stats.hellos, stats.commits, stats.duplicates, stats.replies_tampered
    );
    let keys_in_output = [TEST_KEY, ROGUE_KEY, *link_key.as_bytes()]
        .iter()
        .filter(|k| all_output.windows(32).any(|w| w == &k[..]))
        .count();
    c.check(
        "key-not-logged",
        keys_in_output == 0,
        format_args!(
            "{keys_in_output} key(s) (provisioned, rogue, link) found in the raw defmt output of every boot"
        ),
    );

    let text = texts.concat();
    if let Some(p) = log_out {
        let _ = std::fs::write(p, &text);
    }
    check_log(&mut c, &text);
    check_sealed_log(&mut c, &text, &stats.counters, stats.replies_tampered);
    println!("qemu: {} passed, {} failed", c.passed, c.failed);
    Ok(c.failed == 0)
}
