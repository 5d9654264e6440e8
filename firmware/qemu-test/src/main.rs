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
//!    [`open_provision_confirmation`] must accept for that `Provision` (with the salt
//!    passed); the link key it returns is the terminal's key from then on, and the
//!    fingerprint the kiosk logs must equal the confirmed one (exit 0);
//! 4. `--provision` again (fresh entropy) with the same `Provision`: refused as stale
//!    (`0xA2 0x07`), the key stays;
//! 5. the morning from that flash file, the terminal played with core's
//!    [`SealedReceiver`] (sealed links only), an in-memory store and key store: a
//!    `Provision` with another key is sent first (the kiosk must refuse it and keep its
//!    key), one byte of the first batch is corrupted (CRC), one sealed ack altered (the
//!    kiosk must reject it), one ack dropped; the board cuts its own power once; when the
//!    day's last batch is first sent the cable is cut, and QEMU is killed while the kiosk
//!    resends it, then restarted from the flash file.
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

mod elf;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tcmcare_core::ids::{DeviceId, Epoch, ResidentNumber};
use tcmcare_core::record::{Body, MeasurementSource, Record, TemperatureSite};
use tcmcare_core::seal::{
    open_in_place, open_provision_confirmation, DeviceKey, Direction, KeyId, MemoryKeyStore,
    OpenError, Provision, SealHeader, MAX_PROVISION_LEN, PROVISION_SALT_LEN,
};
use tcmcare_core::sync::{
    LinkSecurity, MemoryStore, Message, ReceiverEvent, RecordStatus, SealedReceiver,
    SealedReceiverEvent,
};
use tcmcare_core::time::Timestamp;
use tcmcare_core::wire::{decode_frame, encode_frame, max_frame_len, FrameDecoder};
use tcmcare_device_models::cohort::{self, Cohort};
use tcmcare_device_models::scenario::{self, Expect, MORNING, TERMINAL_UTC_START};
use tcmcare_kiosk::provision::{decode_answer, ProvisionAnswer, ProvisionStatus};

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

/// The key the harness's terminal provisions the kiosk with (a fixed test key; a real
/// terminal draws one from a secure random source). The kiosk mixes its salt into it:
/// both sides seal with the link key of the kiosk's confirmation.
const TEST_KEY: [u8; 32] = *b"tcmcare qemu-test terminal key 1";
/// The key of the `Provision` sent without the button: the kiosk must not take it.
const ROGUE_KEY: [u8; 32] = [0x5A; 32];
/// The epoch and key id the kiosk is provisioned with.
const EPOCH: u32 = 1;
const KEY_ID: u32 = 1;
/// The flash image files, in the run's directory (QEMU's working directory).
const FLASH_FILE: &str = "kiosk.flash";
const BLANK_FLASH_FILE: &str = "blank.flash";

/// How to start QEMU.
struct QemuCommand {
    qemu: String,
    elf: PathBuf,
    dir: PathBuf,
    port: u16,
}

/// A QEMU process and the threads collecting its output (defmt on stdout).
struct Boot {
    child: Child,
    log: Arc<Mutex<Vec<u8>>>,
    out: Option<std::thread::JoinHandle<()>>,
    err: Option<std::thread::JoinHandle<String>>,
}

impl Boot {
    /// Starts QEMU with the board's semihosting command line `args`. -icount: simulated
    /// time advances with the instructions executed (and jumps over idle periods), so
    /// timings are those of the emulated 25 MHz-class core, not of this (shared, loaded)
    /// host.
    fn spawn(cmd: &QemuCommand, args: &[&str]) -> Result<Boot, String> {
        let mut semihosting = String::from("enable=on,target=native,arg=tcmcare-board");
        for a in args {
            semihosting.push_str(",arg=");
            semihosting.push_str(a);
        }
        let mut child = Command::new(&cmd.qemu)
            .args([
                "-machine",
                "mps2-an386",
                "-cpu",
                "cortex-m4",
                "-nographic",
                "-monitor",
                "none",
                "-semihosting-config",
                &semihosting,
                "-icount",
                "shift=5,sleep=off",
                "-serial",
                &format!("tcp:127.0.0.1:{}", cmd.port),
                "-kernel",
            ])
            .arg(&cmd.elf)
            .current_dir(&cmd.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", cmd.qemu))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let log_w = log.clone();
        let out = std::thread::spawn(move || {
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
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let mut stderr = stderr;
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Ok(Boot {
            child,
            log,
            out: Some(out),
            err: Some(err),
        })
    }

    fn try_exit(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for QEMU to exit by itself.
    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if let Some(s) = self.try_exit() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Kills QEMU (the kiosk loses power; its flash file stays).
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Ends the run (killing QEMU if it still runs): the defmt bytes and QEMU's stderr.
    fn finish(mut self) -> (Vec<u8>, String) {
        self.kill();
        if let Some(t) = self.out.take() {
            let _ = t.join();
        }
        let err = self
            .err
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        (log, err)
    }

    /// Waits for QEMU's UART to connect to `listener`.
    fn accept(&mut self, listener: &TcpListener) -> Result<TcpStream, String> {
        let start = Instant::now();
        loop {
            match listener.accept() {
                Ok((s, _)) => {
                    s.set_read_timeout(Some(Duration::from_millis(20)))
                        .map_err(|e| e.to_string())?;
                    s.set_nodelay(true).map_err(|e| e.to_string())?;
                    return Ok(s);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if start.elapsed() > Duration::from_secs(20) {
                        return Err("QEMU did not connect its UART".into());
                    }
                    if let Some(st) = self.try_exit() {
                        return Err(format!("QEMU exited early: {st}"));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(format!("accept: {e}")),
            }
        }
    }
}

impl Drop for Boot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads what is there (up to 20 ms), 0 when nothing came.
fn read_some(stream: &mut TcpStream, buf: &mut [u8]) -> usize {
    match stream.read(buf) {
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
    }
}

fn send_frame(stream: &mut TcpStream, payload: &[u8]) -> Result<(), String> {
    let mut f = vec![0u8; max_frame_len(payload.len())];
    let m = encode_frame(payload, &mut f).map_err(|e| format!("encode: {e}"))?;
    stream.write_all(&f[..m]).map_err(|e| format!("write: {e}"))
}

fn provision_of(device: u32, key_id: u32, key: [u8; 32]) -> Provision {
    Provision {
        device: DeviceId(device),
        epoch: Epoch(EPOCH),
        key_id: KeyId(key_id),
        key: DeviceKey::from_bytes(key),
    }
}

fn provision_payload(device: u32, key_id: u32, key: [u8; 32]) -> Vec<u8> {
    let mut b = [0u8; MAX_PROVISION_LEN];
    let n = provision_of(device, key_id, key)
        .encode(&mut b)
        .unwrap_or(0);
    b[..n].to_vec()
}

/// 16 fresh random bytes from the OS, for the board's `--entropy` (the QEMU machine has
/// no random number generator).
fn fresh_entropy() -> Result<[u8; PROVISION_SALT_LEN], String> {
    let mut b = [0u8; PROVISION_SALT_LEN];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(b)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the terminal saw on the link, over every boot of the kiosk.
#[derive(Default)]
struct LinkStats {
    frames: u32,
    corrupted_injected: u32,
    bad_frames: u32,
    acks_dropped: u32,
    replies_tampered: u32,
    commits: u32,
    duplicates: u32,
    hellos: u32,
    /// Kiosk frames the sealed receiver refused.
    rejected: Vec<OpenError>,
    /// (key id, counter) of every kiosk frame, in arrival order.
    counters: Vec<(u32, u32)>,
    /// Frames held back while the cable was cut before the kill.
    held: u32,
    kills: u32,
}

/// How a boot ended.
enum Served {
    Exited(ExitStatus),
    Killed,
    TimedOut,
}

/// The terminal: core's sealed receiver, an in-memory store and key store, and the
/// link faults it injects.
struct Terminal {
    receiver: SealedReceiver<MemoryStore, MemoryKeyStore>,
    key: DeviceKey,
    decoder: FrameDecoder<4096>,
    raw: Vec<u8>,
    stats: LinkStats,
    /// Position of the last record of the day: the batch carrying it is held back
    /// and the kiosk killed while it resends it.
    kill_at_position: Option<u32>,
    cut: bool,
    start: Instant,
}

impl Terminal {
    /// The terminal of a kiosk whose provisioning was confirmed with `link_key`.
    fn new(device: u32, last_position: u32, link_key: DeviceKey) -> Self {
        let mut keys = MemoryKeyStore::new();
        keys.insert(DeviceId(device), KeyId(KEY_ID), link_key.clone());
        Terminal {
            receiver: SealedReceiver::new(MemoryStore::new(), keys, LinkSecurity::Sealed),
            key: link_key,
            decoder: FrameDecoder::new(),
            raw: Vec::new(),
            stats: LinkStats::default(),
            kill_at_position: Some(last_position),
            cut: false,
            start: Instant::now(),
        }
    }

    /// The seal header of a kiosk frame and, for a batch, its first and last position
    /// (the harness knows the key, so it can look inside; the receiver does not use
    /// this).
    fn peek(&self, frame: &[u8]) -> Option<(SealHeader, Option<(u32, u32)>)> {
        let mut copy = frame.to_vec();
        let payload = decode_frame(&mut copy).ok()?;
        let mut sealed = payload.to_vec();
        let (h, plain) = open_in_place(&self.key, Direction::Uplink, &mut sealed).ok()?;
        let batch = match Message::decode(plain) {
            Ok(Message::Batch(b)) => {
                let n = b.count().ok()?;
                Some((b.first_position, b.first_position + n.saturating_sub(1)))
            }
            _ => None,
        };
        Some((h, batch))
    }

    /// Plays the terminal for one boot of the kiosk until QEMU exits, the kill fault
    /// kills it, or `deadline`.
    fn serve(
        &mut self,
        boot: &mut Boot,
        stream: &mut TcpStream,
        deadline: Instant,
    ) -> Result<Served, String> {
        let mut buf = [0u8; 1024];
        loop {
            if let Some(st) = boot.try_exit() {
                return Ok(Served::Exited(st));
            }
            if Instant::now() > deadline {
                return Ok(Served::TimedOut);
            }
            let n = read_some(stream, &mut buf);
            for &b in &buf[..n] {
                self.raw.push(b);
                if b != 0 {
                    continue;
                }
                let mut frame = std::mem::take(&mut self.raw);
                self.stats.frames += 1;
                let peek = self.peek(&frame);
                if let Some((h, _)) = &peek {
                    self.stats.counters.push((h.key_id.0, h.counter));
                }
                let batch = peek.and_then(|p| p.1);
                // Fault 4: the cable is cut when the day's last record is first sent;
                // the kiosk's QEMU process is killed while it resends it.
                if let (Some(last), Some((_, to))) = (self.kill_at_position, batch) {
                    if to >= last {
                        self.cut = true;
                    }
                }
                if self.cut {
                    self.stats.held += 1;
                    if batch.is_some() && self.stats.held >= 2 {
                        boot.kill();
                        self.cut = false;
                        self.kill_at_position = None;
                        self.stats.kills += 1;
                        self.raw.clear();
                        self.decoder = FrameDecoder::new();
                        return Ok(Served::Killed);
                    }
                    continue;
                }
                // Fault 1: one byte of the first record batch is corrupted on the wire.
                if self.stats.corrupted_injected == 0 && batch.is_some() && frame.len() > 8 {
                    let i = frame.len() / 2;
                    frame[i] = if frame[i] == 0x01 {
                        0x02
                    } else {
                        frame[i] ^ 0x01
                    };
                    self.stats.corrupted_injected += 1;
                }
                let mut input = &frame[..];
                while let Some(r) = self.decoder.feed(&mut input) {
                    let mut payload = match r {
                        Ok(p) => p.to_vec(),
                        Err(_) => {
                            self.stats.bad_frames += 1;
                            continue;
                        }
                    };
                    self.handle(&mut payload, stream)?;
                }
            }
        }
    }

    fn handle(&mut self, payload: &mut [u8], stream: &mut TcpStream) -> Result<(), String> {
        let utc = TERMINAL_UTC_START + self.start.elapsed().as_secs();
        let mut out = [0u8; 256];
        let o = self
            .receiver
            .handle(Some(utc), payload, &mut out)
            .map_err(|e| format!("receiver: {e}"))?;
        let ev = match o.event {
            SealedReceiverEvent::Sync(ev) => ev,
            SealedReceiverEvent::Rejected(e) => {
                self.stats.rejected.push(e);
                return Ok(());
            }
            SealedReceiverEvent::DownlinkExhausted => {
                return Err("terminal counters exhausted".into())
            }
        };
        let (is_ack, committed) = match ev {
            ReceiverEvent::Committed { .. } => {
                self.stats.commits += 1;
                (true, true)
            }
            ReceiverEvent::Duplicate { .. } => {
                self.stats.duplicates += 1;
                (true, false)
            }
            ReceiverEvent::Introduced { .. } => {
                self.stats.hellos += 1;
                (false, false)
            }
            _ => (false, false),
        };
        // Fault 2: the ack of the second committed batch is lost.
        if is_ack && committed && self.stats.commits == 2 && self.stats.acks_dropped == 0 {
            self.stats.acks_dropped += 1;
            return Ok(());
        }
        if o.reply_len == 0 {
            return Ok(());
        }
        let reply = &mut out[..o.reply_len];
        // Fault 3: the ack of the first committed batch is altered on the way (a byte
        // of its ciphertext, right after the seal header): the kiosk must refuse it.
        if committed && self.stats.commits == 1 && self.stats.replies_tampered == 0 {
            if let Ok((_, at)) = SealHeader::decode(reply) {
                if let Some(b) = reply.get_mut(at) {
                    *b ^= 0x20;
                    self.stats.replies_tampered += 1;
                }
            }
        }
        send_frame(stream, reply)
    }
}

/// Boots a kiosk that was never provisioned: it must refuse to run (exit code 3).
fn unprovisioned_boot(
    c: &mut Checks,
    cmd: &QemuCommand,
    listener: &TcpListener,
    defmt_print: &str,
) -> Result<Vec<u8>, String> {
    let mut boot = Boot::spawn(cmd, &["--cohort", "morning", "--flash", BLANK_FLASH_FILE])?;
    let stream = boot.accept(listener)?;
    let status = boot.wait_exit(Duration::from_secs(60));
    drop(stream);
    let (log, _) = boot.finish();
    let text = decode_defmt(defmt_print, &cmd.elf, &log).unwrap_or_default();
    c.check(
        "unprovisioned-refused",
        status.and_then(|s| s.code()) == Some(3)
            && text.contains("not provisioned: hold the provisioning button at power-up"),
        format_args!(
            "exit code {:?}, the kiosk logs that it is not provisioned",
            status.and_then(|s| s.code())
        ),
    );
    Ok(log)
}

/// A kiosk's answer to a `Provision`, as the harness saw it.
#[derive(Clone, PartialEq, Eq)]
enum Answer {
    Confirmation(Vec<u8>),
    Refused(ProvisionStatus),
    Other(String),
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Confirmation(b) => write!(f, "Confirmation({})", hex(b)),
            Answer::Refused(s) => write!(f, "Refused({s:?})"),
            Answer::Other(o) => write!(f, "Other({o})"),
        }
    }
}

/// What a provisioning boot gave: the kiosk's answers, its exit status (if it exited by
/// itself) and its defmt bytes.
struct Session {
    answers: Vec<Answer>,
    status: Option<ExitStatus>,
    log: Vec<u8>,
}

/// Boots the board in provisioning mode with `args`, sends `frames` and collects `want`
/// answers (then waits for the board to exit if `exits`, else kills it).
fn provisioning_session(
    cmd: &QemuCommand,
    listener: &TcpListener,
    args: &[&str],
    frames: &[&[u8]],
    want: usize,
    exits: bool,
) -> Result<Session, String> {
    let mut boot = Boot::spawn(cmd, args)?;
    let mut stream = boot.accept(listener)?;
    for f in frames {
        send_frame(&mut stream, f)?;
    }
    let mut answers = Vec::new();
    let mut raw = Vec::new();
    let mut buf = [0u8; 256];
    let until = Instant::now() + Duration::from_secs(60);
    while answers.len() < want && Instant::now() < until {
        let n = read_some(&mut stream, &mut buf);
        for &b in &buf[..n] {
            raw.push(b);
            if b == 0 {
                let mut f = std::mem::take(&mut raw);
                answers.push(match decode_frame(&mut f) {
                    Ok(p) => match decode_answer(p) {
                        Some(ProvisionAnswer::Confirmation(c)) => Answer::Confirmation(c.to_vec()),
                        Some(ProvisionAnswer::Refused(s)) => Answer::Refused(s),
                        None => Answer::Other(format!("{p:02x?}")),
                    },
                    Err(e) => Answer::Other(format!("bad frame: {e}")),
                });
            }
        }
        if boot.try_exit().is_some() && n == 0 {
            break;
        }
    }
    let status = if exits {
        boot.wait_exit(Duration::from_secs(60))
    } else {
        // Still waiting for a corrected frame: a moment for more (unexpected) answers,
        // then the kiosk is switched off.
        std::thread::sleep(Duration::from_millis(300));
        let n = read_some(&mut stream, &mut buf);
        if n > 0 {
            answers.push(Answer::Other(format!("{} more byte(s)", n)));
        }
        boot.try_exit()
    };
    drop(stream);
    let (log, _) = boot.finish();
    Ok(Session {
        answers,
        status,
        log,
    })
}

/// Provisioning mode without `--entropy`: the board has no salt, so the `Provision` is
/// refused with status 0x08 and the board says why; nothing is stored (the next
/// provisioning starts from blank).
fn no_entropy_boot(
    c: &mut Checks,
    cmd: &QemuCommand,
    listener: &TcpListener,
    defmt_print: &str,
    device: u32,
) -> Result<Vec<u8>, String> {
    let good = provision_payload(device, KEY_ID, TEST_KEY);
    let Session {
        answers,
        status,
        log,
    } = provisioning_session(
        cmd,
        listener,
        &["--provision", "--cohort", "morning", "--flash", FLASH_FILE],
        &[&good],
        1,
        false,
    )?;
    let text = decode_defmt(defmt_print, &cmd.elf, &log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let order = [
        "board: no entropy for the provisioning salt",
        "provisioning refused: no random source for the salt",
    ];
    c.check(
        "provision-without-entropy-refused",
        answers == [Answer::Refused(ProvisionStatus::NoEntropy)]
            && status.is_none()
            && in_order(&lines, &order).is_ok(),
        format_args!(
            "answers {answers:?} (0xA2 0x08), still waiting: {}, log: {}",
            status.is_none(),
            match in_order(&lines, &order) {
                Ok(()) => "says no entropy".to_string(),
                Err(m) => format!("missing {m:?}"),
            }
        ),
    );
    Ok(log)
}

/// Provisioning mode (`--provision`: the button held at power-up, `--entropy` fresh
/// bytes): a frame that is not a `Provision` is ignored, a malformed one refused (status
/// 0x01), the good one confirmed under the new link key, then the board exits with code
/// 0. Returns the defmt bytes and the link key the confirmation proves.
fn provisioning_boot(
    c: &mut Checks,
    cmd: &QemuCommand,
    listener: &TcpListener,
    defmt_print: &str,
    device: u32,
) -> Result<(Vec<u8>, Option<DeviceKey>), String> {
    let salt = fresh_entropy()?;
    let salt_hex = hex(&salt);
    let sent = provision_of(device, KEY_ID, TEST_KEY);
    let good = provision_payload(device, KEY_ID, TEST_KEY);
    let Session {
        answers,
        status,
        log,
    } = provisioning_session(
        cmd,
        listener,
        &[
            "--provision",
            "--entropy",
            &salt_hex,
            "--cohort",
            "morning",
            "--flash",
            FLASH_FILE,
        ],
        // Not a Provision (a plain hello-like payload): no answer. A Provision cut
        // short: refused. Then the good one.
        &[&[0x00, 0x01, 0x02], &good[..good.len() - 1], &good],
        2,
        true,
    )?;
    let confirmation = match answers.get(1) {
        Some(Answer::Confirmation(b)) => Some(b.clone()),
        _ => None,
    };
    c.check(
        "provision-answers",
        answers.len() == 2
            && answers[0] == Answer::Refused(ProvisionStatus::Malformed)
            && confirmation.is_some(),
        format_args!(
            "answers {answers:?} (0xA2 0x01, then the confirmation; the non-Provision frame unanswered)"
        ),
    );
    let confirmed = confirmation.map(|b| {
        (
            open_provision_confirmation(&sent, &b),
            b.get(1..17) == Some(&salt),
        )
    });
    c.check(
        "provision-confirmed",
        matches!(confirmed, Some((Ok(_), true))),
        match &confirmed {
            Some((Ok(k), salt_ok)) => format!(
                "open_provision_confirmation accepts it for device {device} epoch {EPOCH} key id {KEY_ID}, fingerprint {}, the salt is the --entropy passed: {salt_ok}",
                k.fingerprint
            ),
            Some((Err(e), _)) => format!("confirmation refused: {e}"),
            None => "no confirmation".into(),
        },
    );
    c.check(
        "provision-exit",
        status.is_some_and(|s| s.success()),
        format_args!(
            "exit code {:?} after the confirmation",
            status.and_then(|s| s.code())
        ),
    );
    let confirmed = confirmed.and_then(|(r, _)| r.ok());
    let text = decode_defmt(defmt_print, &cmd.elf, &log).unwrap_or_default();
    let fingerprint = confirmed
        .as_ref()
        .map_or_else(|| "(none)".to_string(), |k| k.fingerprint.to_string());
    let want = format!(
        "provisioned: device {device} epoch {EPOCH} key id {KEY_ID} fingerprint {fingerprint}"
    );
    let lines: Vec<&str> = text.lines().collect();
    let order = [
        "provisioning mode",
        "frame ignored (not a Provision)",
        "provisioning refused: malformed provisioning payload",
        want.as_str(),
        "provisioning confirmation sent",
    ];
    c.check(
        "provision-log",
        confirmed.is_some() && in_order(&lines, &order).is_ok(),
        match in_order(&lines, &order) {
            Ok(()) => {
                format!("{want:?}: the kiosk's fingerprint is the confirmed one, never the key")
            }
            Err(m) => format!("missing {m:?}"),
        },
    );
    Ok((log, confirmed.map(|k| k.link_key)))
}

/// Provisioning mode again, after the kiosk was provisioned, with fresh entropy and the
/// same `Provision`: refused as stale (status 0x07), nothing changed (the day then syncs
/// under the confirmed link key).
fn stale_boot(
    c: &mut Checks,
    cmd: &QemuCommand,
    listener: &TcpListener,
    defmt_print: &str,
    device: u32,
) -> Result<Vec<u8>, String> {
    let salt_hex = hex(&fresh_entropy()?);
    let good = provision_payload(device, KEY_ID, TEST_KEY);
    let Session {
        answers,
        status,
        log,
    } = provisioning_session(
        cmd,
        listener,
        &[
            "--provision",
            "--entropy",
            &salt_hex,
            "--cohort",
            "morning",
            "--flash",
            FLASH_FILE,
        ],
        &[&good],
        1,
        false,
    )?;
    let text = decode_defmt(defmt_print, &cmd.elf, &log).unwrap_or_default();
    let said = text.contains("provisioning refused: stale payload");
    c.check(
        "provision-stale-refused",
        answers == [Answer::Refused(ProvisionStatus::Stale)] && status.is_none() && said,
        format_args!(
            "the same Provision again: answers {answers:?} (0xA2 0x07), still waiting: {}, logged: {said}",
            status.is_none()
        ),
    );
    Ok(log)
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
fn check_sealed_log(c: &mut Checks, text: &str, counters: &[(u32, u32)], tampered: u32) {
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
