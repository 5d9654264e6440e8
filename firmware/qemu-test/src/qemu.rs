//! The QEMU process: how to start the board, its output threads, how a boot ended.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The flash image files, in the run's directory (QEMU's working directory).
pub(crate) const FLASH_FILE: &str = "kiosk.flash";

pub(crate) const BLANK_FLASH_FILE: &str = "blank.flash";

/// How to start QEMU.
pub(crate) struct QemuCommand {
    pub(crate) qemu: String,
    pub(crate) elf: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) port: u16,
}

/// A QEMU process and the threads collecting its output (defmt on stdout).
pub(crate) struct Boot {
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
    pub(crate) fn spawn(cmd: &QemuCommand, args: &[&str]) -> Result<Boot, String> {
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

    pub(crate) fn try_exit(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for QEMU to exit by itself.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
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
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Ends the run (killing QEMU if it still runs): the defmt bytes and QEMU's stderr.
    pub(crate) fn finish(mut self) -> (Vec<u8>, String) {
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
    pub(crate) fn accept(&mut self, listener: &TcpListener) -> Result<TcpStream, String> {
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

/// How a boot ended.
pub(crate) enum Served {
    Exited(ExitStatus),
    Killed,
    TimedOut,
}
