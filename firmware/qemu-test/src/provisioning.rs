//! The provisioning boots: unprovisioned, without entropy, provisioned and confirmed,
//! stale.

use std::io::Read;
use std::net::TcpListener;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use tcmcare_core::ids::{DeviceId, Epoch};
use tcmcare_core::seal::{
    open_provision_confirmation, DeviceKey, KeyId, Provision, MAX_PROVISION_LEN, PROVISION_SALT_LEN,
};
use tcmcare_core::wire::decode_frame;
use tcmcare_kiosk::provision::{decode_answer, ProvisionAnswer, ProvisionStatus};

use crate::checks::{decode_defmt, in_order, Checks};
use crate::qemu::{Boot, QemuCommand, BLANK_FLASH_FILE, FLASH_FILE};
use crate::terminal::{read_some, send_frame, EPOCH, KEY_ID, TEST_KEY};

fn provision_of(device: u32, key_id: u32, key: [u8; 32]) -> Provision {
    Provision {
        device: DeviceId(device),
        epoch: Epoch(EPOCH),
        key_id: KeyId(key_id),
        key: DeviceKey::from_bytes(key),
    }
}

pub(crate) fn provision_payload(device: u32, key_id: u32, key: [u8; 32]) -> Vec<u8> {
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

/// Boots a kiosk that was never provisioned: it must refuse to run (exit code 3).
pub(crate) fn unprovisioned_boot(
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
pub(crate) fn no_entropy_boot(
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
pub(crate) fn provisioning_boot(
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
pub(crate) fn stale_boot(
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
