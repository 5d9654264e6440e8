#!/usr/bin/env python3
"""The main job of `make demo`: a care home's day, end to end.

Run by demo/demo.sh (which builds everything and runs this inside the Python package's
virtualenv). What happens:

0. the terminal provisions both kiosks: each boots once in QEMU in provisioning mode
   (its provisioning button held at power-up), the terminal generates a 256-bit key and
   an epoch for it, keeps them in the database and hands them over the cable; from then
   on every frame both ways is sealed (ChaCha20-Poly1305, replay-protected);
1. the reference C terminal (ffi/examples/terminal.c) listens on 127.0.0.1 with a
   simulated clock that runs a day of 3 March 2025 fast, and records the staff's entries
   of demo/terminal-script.txt (registrations, constitution assessments, treatments,
   herbal prescriptions and deliveries, follow-ups) as its own records;
2. demo/relay.py sits between the kiosks and the terminal and drops, duplicates and
   corrupts frames, and tampers with some (a payload bit flipped and the CRC recomputed,
   as someone at the cable would: only the seal catches those) (seeded);
3. two kiosk firmware images boot in QEMU (mps2-an386) as kiosk A (device 0x4B01) and
   kiosk B (0x4B02), each playing its residents' visits (firmware/device-models
   cohort.rs); their flash is mirrored to out/kiosk-*.flash;
4. kiosk B's cable is cut during its visit 2; while it waits for its uplink before visit
   4 its QEMU process is killed (records in its outbox, not acknowledged); the cable is
   mended and it restarts from its flash file and delivers them;
5. the terminal stops; the Python package prints the care-home report and writes a FHIR
   R4 bundle; the run ends by checking that every record the kiosks and the terminal
   made is in the database exactly once.

Every process is bounded by timeouts and killed on exit; only 127.0.0.1 ports are used.
Exit status 0 when every check passed.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("DEMO_OUT", ROOT / "out")).resolve()
FIRMWARE = ROOT / "firmware"
ELF = FIRMWARE / "target/thumbv7em-none-eabihf/release/tcmcare-board"
HARNESS_DIR = FIRMWARE / "target"
TERMINAL = ROOT / "ffi/build/terminal"
SCRIPT = ROOT / "demo/terminal-script.txt"
DB = OUT / "carehome.db"

TERMINAL_DEVICE = 0x7E01
CLOCK_START = "2025-03-03T07:30:00+08:00"
CLOCK_RATE = 600  # one real second is ten minutes of the care home's day
YEAR = 2025
SEED = int(os.environ.get("DEMO_SEED", "2025"))
DROP, DUPLICATE, CORRUPT, TAMPER = 0.05, 0.05, 0.04, 0.02
KIOSKS_TIMEOUT_S = 150  # both kiosks done (QEMU exit) within this, real time
CUT_AT = "world: visit 2 presents card"  # kiosk B's cable is cut here
PAUSE = "world: waiting for the uplink before visit"  # ... and it is killed here

T0 = time.monotonic()


def rel(p: Path) -> str:
    """A path as the user typed it: relative to the repository when inside it."""
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


def say(text: str) -> None:
    print(f"[{time.monotonic() - T0:5.1f} s] {text}", flush=True)


def _die_with_parent(sig: int) -> Any:
    """A preexec_fn: the child gets `sig` when this process dies, however it dies (Linux
    prctl PR_SET_PDEATHSIG), so nothing outlives the demo."""

    def set_signal() -> None:
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, sig, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    return set_signal


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Kiosk:
    """One QEMU kiosk and its decoded defmt log."""

    name: str  # "A"
    cohort: str  # "a"
    device: int
    port: int = 0
    qemu: Optional[subprocess.Popen[bytes]] = None
    decoder: Optional[subprocess.Popen[bytes]] = None
    boots: int = 0
    exit_codes: List[int] = field(default_factory=list)

    @property
    def log(self) -> Path:
        return OUT / f"kiosk-{self.cohort}.log"

    @property
    def flash(self) -> Path:
        return OUT / f"kiosk-{self.cohort}.flash"

    @property
    def route(self) -> str:
        return f"kiosk-{self.cohort}"

    def text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def boot(self, provision: bool = False) -> None:
        """Boots the kiosk; with `provision`, its provisioning button is held at power-up."""
        argv = ["tcmcare-board", "--cohort", self.cohort, "--flash", self.flash.name]
        if provision:
            # The QEMU board has no TRNG: 16 fresh random bytes for its provisioning salt.
            argv += ["--provision", "--entropy", os.urandom(16).hex()]
        args = ",".join(f"arg={a}" for a in argv)
        qemu_err = open(OUT / f"kiosk-{self.cohort}.qemu.log", "ab")
        # -icount: simulated time follows the instructions executed (and skips idle
        # time), as in the firmware's QEMU test.
        self.qemu = subprocess.Popen(
            [
                "qemu-system-arm", "-machine", "mps2-an386", "-cpu", "cortex-m4",
                "-nographic", "-monitor", "none",
                "-semihosting-config", f"enable=on,target=native,{args}",
                "-icount", "shift=5,sleep=off",
                "-serial", f"tcp:127.0.0.1:{self.port}",
                "-kernel", str(ELF),
            ],
            cwd=OUT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=qemu_err,
            preexec_fn=_die_with_parent(signal.SIGKILL),
        )
        qemu_err.close()
        log = open(self.log, "ab")
        self.decoder = subprocess.Popen(
            ["defmt-print", "-e", str(ELF)], stdin=self.qemu.stdout, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent(signal.SIGKILL),
        )
        log.close()
        assert self.qemu.stdout is not None
        self.qemu.stdout.close()  # the decoder holds the pipe now
        self.boots += 1

    def running(self) -> bool:
        if self.qemu is None:
            return False
        code = self.qemu.poll()
        if code is None:
            return True
        self.reap(code)
        return False

    def reap(self, code: int) -> None:
        self.exit_codes.append(code)
        self.qemu = None
        if self.decoder is not None:
            try:
                self.decoder.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.decoder.kill()
            self.decoder = None

    def kill(self) -> None:
        if self.qemu is not None:
            self.qemu.kill()
            self.reap(self.qemu.wait())


def log_ids(text: str, device: int) -> Tuple[Set[Tuple[int, int, int]], int, List[int]]:
    """The record ids a kiosk's log says it stored, the highest acknowledged position and
    the positions not acknowledged."""
    epoch = 0
    stored: Set[Tuple[int, int, int]] = set()
    acked = 0
    for line in text.splitlines():
        m = re.search(r"board: outbox epoch (\d+)", line)
        if m:
            epoch = int(m.group(1))
        m = re.search(r"kiosk: Stored \{ position: (\d+)", line)
        if m:
            stored.add((device, epoch, int(m.group(1))))
        m = re.search(r"kiosk: (?:Acked|Welcomed) \{ watermark: (\d+)", line)
        if m:
            acked = max(acked, int(m.group(1)))
    pending = sorted(p for (_, _, p) in stored if p > acked)
    return stored, acked, pending


class Demo:
    def __init__(self) -> None:
        self.kiosks = [Kiosk("A", "a", 0x4B01), Kiosk("B", "b", 0x4B02)]
        self.terminal: Optional[subprocess.Popen[bytes]] = None
        self.relay: Optional[subprocess.Popen[str]] = None
        self.failures: List[str] = []
        self.killed_pending: List[int] = []
        self.checks_passed = 0
        self.checks_failed = 0

    # ------------------------------------------------------------------ processes

    def start(self) -> None:
        OUT.mkdir(exist_ok=True)
        for p in list(OUT.glob("carehome.db*")) + list(OUT.glob("kiosk-*")) + [
            OUT / n for n in ("terminal.log", "terminal-records.jsonl", "terminal-stats.json",
                              "relay-stats.json", "relay-faults.log", "fhir-bundle.json", "report.txt")
        ]:
            p.unlink(missing_ok=True)
        self.provision()
        tport = free_port()
        for k in self.kiosks:
            k.port = free_port()
        records = open(OUT / "terminal-records.jsonl", "wb")
        tlog = open(OUT / "terminal.log", "wb")
        self.terminal = subprocess.Popen(
            [
                str(TERMINAL), "--db", str(DB), "--listen", str(tport),
                "--device", str(TERMINAL_DEVICE), "--script", str(SCRIPT),
                "--clock", CLOCK_START, "--clock-rate", str(CLOCK_RATE), "--time-sync", "1",
                "--stats", str(OUT / "terminal-stats.json"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=records,
            stderr=tlog,
            preexec_fn=_die_with_parent(signal.SIGTERM),
        )
        records.close()
        tlog.close()
        wait_for(lambda: "listening on" in (OUT / "terminal.log").read_text(errors="replace")
                 or self.terminal is None or self.terminal.poll() is not None, 20, "the terminal")
        if self.terminal.poll() is not None:
            raise RuntimeError("the terminal did not start:\n" + (OUT / "terminal.log").read_text())
        say(f"terminal (device {TERMINAL_DEVICE:#x}) listens on 127.0.0.1:{tport}; its clock runs "
            f"{CLOCK_START[11:16]} on {CLOCK_START[:10]} at {CLOCK_RATE}x; staff entries from "
            f"{SCRIPT.relative_to(ROOT)}")
        self.relay = subprocess.Popen(
            [
                sys.executable, str(ROOT / "demo/relay.py"), "--upstream", f"127.0.0.1:{tport}",
                *[a for k in self.kiosks for a in ("--route", f"{k.route}={k.port}")],
                "--seed", str(SEED), "--drop", str(DROP), "--duplicate", str(DUPLICATE),
                "--corrupt", str(CORRUPT), "--tamper", str(TAMPER),
                "--first-batches", "corrupt,tamper,duplicate,drop",
                "--stats", str(OUT / "relay-stats.json"),
                "--log", str(OUT / "relay-faults.log"), "--max-seconds", "300",
            ],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            preexec_fn=_die_with_parent(signal.SIGTERM),
        )
        assert self.relay.stdout is not None
        if self.relay.stdout.readline().strip() != "relay: ready":
            raise RuntimeError("the relay did not start")
        say(f"relay: kiosks -> terminal through a flaky line (seed {SEED}: frames dropped {DROP:.0%}, "
            f"duplicated {DUPLICATE:.0%}, corrupted {CORRUPT:.0%}, tampered {TAMPER:.0%} (bit flipped, CRC "
            "recomputed), both ways; each kiosk's first four batches corrupted, tampered, duplicated, dropped)")
        for k in self.kiosks:
            k.boot()
        say("kiosk A (0x4b01) and kiosk B (0x4b02) boot in QEMU mps2-an386 (Cortex-M4F), "
            f"flash mirrored to {rel(OUT)}/kiosk-{{a,b}}.flash")

    def provision(self) -> None:
        """Each kiosk boots once in provisioning mode, straight on the terminal's cable;
        the terminal makes its key and epoch and hands them over."""
        for k in self.kiosks:
            k.port = free_port()
            tlog = open(OUT / "terminal.log", "ab")
            term = subprocess.Popen(
                [str(TERMINAL), "--db", str(DB), "--provision", str(k.device), "--listen", str(k.port),
                 "--timeout", "60"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=tlog,
                preexec_fn=_die_with_parent(signal.SIGTERM),
            )
            tlog.close()
            wait_for(lambda: f"127.0.0.1:{k.port}" in (OUT / "terminal.log").read_text(errors="replace")
                     or term.poll() is not None, 20, "the terminal's provisioning")
            k.boot(provision=True)
            try:
                code = term.wait(timeout=90)
            except subprocess.TimeoutExpired:
                term.kill()
                code = term.wait()
            wait_for(lambda: not k.running(), 30, f"kiosk {k.name}'s provisioning boot to end")
            if code != 0 or k.exit_codes[-1:] != [0]:
                raise RuntimeError(f"kiosk {k.name}: provisioning failed (terminal {code}, QEMU {k.exit_codes}); "
                                   f"see {rel(OUT)}/terminal.log and {rel(k.log)}")
            m = re.findall(r"kiosk {} provisioned: epoch (\d+), key id (\d+)".format(k.device),
                           (OUT / "terminal.log").read_text(errors="replace"))
            epoch, key_id = m[-1] if m else ("?", "?")
            say(f"kiosk {k.name} ({k.device:#x}) provisioned: button held at power-up, the terminal generated "
                f"a 256-bit key (key id {key_id}) and epoch {epoch}, kept them in {rel(DB)} and sent them over "
                "the cable; the key is in no log")

    def relay_command(self, cmd: str) -> None:
        if self.relay is not None and self.relay.stdin is not None:
            self.relay.stdin.write(cmd + "\n")
            self.relay.stdin.flush()

    def run_day(self) -> None:
        a, b = self.kiosks
        phase = "before cut"
        dead_since = 0.0
        reported: Set[str] = set()
        deadline = time.monotonic() + KIOSKS_TIMEOUT_S
        while True:
            if time.monotonic() > deadline:
                self.failures.append(f"the kiosks did not finish within {KIOSKS_TIMEOUT_S} s")
                break
            if self.terminal is not None and self.terminal.poll() is not None:
                self.failures.append("the terminal stopped during the day")
                break
            for k in self.kiosks:
                was = k.qemu is not None
                if was and not k.running():
                    code = k.exit_codes[-1]
                    if not (k is b and phase == "killed"):
                        n = len(log_ids(k.text(), k.device)[0])
                        say(f"kiosk {k.name}: day done, {n} records made, all acknowledged; "
                            f"QEMU exit status {code}" if code == 0 else
                            f"kiosk {k.name}: QEMU exit status {code}")
            text_b = b.text()
            if phase == "before cut" and CUT_AT in text_b:
                self.relay_command(f"cut {b.route}")
                phase = "cut"
                say("kiosk B: its cable is pulled during visit 2 (the relay drops every byte)")
            elif phase == "cut" and PAUSE in text_b:
                _, acked, pending = log_ids(text_b, b.device)
                b.kill()
                self.killed_pending = pending
                phase = "killed"
                dead_since = time.monotonic()
                say(f"kiosk B: waits for its uplink before visit 4 with {len(pending)} record(s) "
                    f"(positions {pending[0] if pending else '-'}..{pending[-1] if pending else '-'}) "
                    f"in its flash outbox, acknowledged through {acked}; its QEMU process is killed")
            elif phase == "killed" and time.monotonic() - dead_since > 1.0:
                self.relay_command(f"mend {b.route}")
                b.boot()
                phase = "restarted"
                say(f"kiosk B: cable mended; QEMU restarted from {rel(b.flash)}")
            elif phase == "restarted" and "flash image loaded" in text_b:
                m = re.findall(r"board: boot (\d+) \(([^)]*)\).*\n.*outbox epoch (\d+), (\d+) record\(s\) waiting",
                               text_b)
                if m and "boot" not in reported:
                    reported.add("boot")
                    boot, why, epoch, waiting = m[-1]
                    say(f"kiosk B: boot {boot} ({why}): flash image loaded, outbox epoch {epoch} "
                        f"with {waiting} record(s) waiting; they are sent again")
            if a.qemu is None and b.qemu is None and phase != "killed":
                break
            time.sleep(0.05)
        if phase != "restarted":
            self.failures.append(f"kiosk B's kill and restart did not happen (phase: {phase})")
        for k in self.kiosks:
            if not k.exit_codes or k.exit_codes[-1] != 0:
                self.failures.append(f"kiosk {k.name}: QEMU exit status {k.exit_codes}")

    def stop(self) -> None:
        if self.terminal is not None and self.terminal.poll() is None:
            self.terminal.send_signal(signal.SIGTERM)
            try:
                code = self.terminal.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.terminal.kill()
                code = self.terminal.wait()
            if code != 0:
                self.failures.append(f"terminal exit status {code}")
        if self.relay is not None and self.relay.poll() is None:
            self.relay_command("quit")
            try:
                self.relay.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.relay.kill()
                self.relay.wait()

    def cleanup(self) -> None:
        for k in self.kiosks:
            k.kill()
        for p in (self.terminal, self.relay):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()

    # ------------------------------------------------------------------ the report

    def report(self) -> None:
        import tcmcare
        from tcmcare.carehome import care_home_summary
        from tcmcare.fhir import dumps
        from tcmcare.store import SQLiteStore

        names = {0x4B01: "kiosk A", 0x4B02: "kiosk B", TERMINAL_DEVICE: "terminal"}
        relay = json.loads((OUT / "relay-stats.json").read_text())
        term = json.loads((OUT / "terminal-stats.json").read_text())
        streams = {s["device"]: s for s in term["streams"]}

        print("\n" + "=" * 78)
        print(f"Care home 31, {CLOCK_START[:10]}: the report")
        print("=" * 78)
        print("\nThe links (relay faults injected -> what the terminal's receiver did):")
        for k in self.kiosks:
            r = relay["routes"][k.route]
            s = streams.get(k.device, {})
            up, down = r["up"], r["down"]
            print(f"  {names[k.device]}: {up['frames']} frames up, {down['frames']} down over "
                  f"{r['connections']} connection(s); injected: {up['dropped'] + down['dropped']} dropped, "
                  f"{up['duplicated'] + down['duplicated']} duplicated, {up['corrupted'] + down['corrupted']} "
                  f"corrupted, {up['tampered'] + down['tampered']} tampered, {up['cut'] + down['cut']} lost to "
                  "the cut cable")
            reasons = ", ".join(f"{n} {why.replace('_', ' ')}" for why, n in s.get("rejected_by_reason", {}).items())
            print(f"    seal: {s.get('rejected', 0)} frame(s) refused by the terminal ({reasons or 'none'}): "
                  "tampered frames fail the tag, duplicated frames are replays; nothing of them stored")
            print(f"    terminal: {s.get('bad_frames', 0)} frame(s) rejected by CRC, {s.get('hellos', 0)} hello(s), "
                  f"{s.get('batches', 0)} batch(es) stored ({s.get('records', 0)} records), "
                  f"{s.get('duplicate_batches', 0)} duplicate batch(es) suppressed and re-acknowledged, "
                  f"{s.get('gaps', 0)} gap(s) asked to resend, {s.get('already_stored', 0)} record(s) already stored")
            refused = sum(int(n) for n in re.findall(r"board: (\d+) sealed frame\(s\) rejected", k.text()))
            print(f"    kiosk: {refused} sealed reply frame(s) refused (tampered or replayed), "
                  f"{k.text().count('kiosk: BadFrame')} reply frame(s) rejected by CRC/COBS, "
                  f"{k.text().count('kiosk: AckTimeout')} ack wait(s) given up (records kept, sent again)")
        dup_total = sum(s.get("duplicate_batches", 0) for s in streams.values())
        print(f"  duplicates suppressed in total: {dup_total} batch(es) (relay duplicates and resends after "
              f"lost acks); no record stored twice (checked below)")
        if term["unattributed"]["bad_frames"]:
            print(f"  {term['unattributed']['bad_frames']} corrupted frame(s) arrived before a kiosk said hello")

        with SQLiteStore(DB) as store:
            summary = care_home_summary(store, YEAR)
            print()
            print(summary.to_text(names), end="")
            bundle = tcmcare.to_fhir_bundle(store.records())
        (OUT / "fhir-bundle.json").write_text(dumps(bundle, indent=2) + "\n", encoding="utf-8")
        kinds: Dict[str, int] = {}
        for e in bundle["entry"]:
            rt = e["resource"]["resourceType"]
            kinds[rt] = kinds.get(rt, 0) + 1
        print(f"\nFHIR R4 bundle: {len(bundle['entry'])} resources "
              f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}) -> {rel(OUT)}/fhir-bundle.json")

    # ------------------------------------------------------------------ checks

    def check(self) -> None:
        import tcmcare
        from tcmcare.store import SQLiteStore

        print("\nChecks:")
        db = sqlite3.connect(DB)

        def ok(cond: bool, text: str) -> None:
            print(f"  {'ok  ' if cond else 'FAIL'} {text}")
            if cond:
                self.checks_passed += 1
            else:
                self.checks_failed += 1
                self.failures.append(text)

        # One schema: the terminal's tables are the Python store's, statement for statement.
        with SQLiteStore(":memory:") as fresh:
            want = fresh._db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        got = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        ok(got == want, "the C terminal's database has the schema of tcmcare.store.SQLiteStore (version "
           f"{db.execute('SELECT value FROM meta WHERE key = ?', ('schema',)).fetchone()[0]})")

        # Sealing: each kiosk has its key, every tampered frame was refused, no key leaked.
        term = json.loads((OUT / "terminal-stats.json").read_text())
        relay = json.loads((OUT / "relay-stats.json").read_text())
        keys = {d: bytes(k) for d, k in db.execute("SELECT device, key FROM device_keys")}
        ok(sorted(keys) == sorted(k.device for k in self.kiosks) and all(len(v) == 32 for v in keys.values()),
           f"the terminal holds one 256-bit key per kiosk ({len(keys)} key(s)); it ran without --trusted-link")
        streams = [term["unattributed"], *term["streams"]]
        reasons: Dict[str, int] = {}
        for st in streams:
            for why, n in st.get("rejected_by_reason", {}).items():
                reasons[why] = reasons.get(why, 0) + n
        tampered_up = sum(r["up"]["tampered"] for r in relay["routes"].values())
        not_replays = sum(n for why, n in reasons.items() if why != "replayed")
        # A tampered frame fails the tag, or, when the flipped bit hit the seal header, is
        # refused for the device, key or marker it then names (an altered marker reads as
        # an unsealed frame): every one is refused, and nothing else is refused but replays.
        why = ", ".join(f"{n} {w.replace('_', ' ')}" for w, n in sorted(reasons.items()) if w != "replayed")
        ok(tampered_up > 0 and not_replays == tampered_up,
           f"the {tampered_up} frame(s) tampered on the way to the terminal (CRC made valid) were each refused by "
           f"the seal ({why or 'none'}); the other refusals were replays of duplicated frames")
        leaked = []
        for f in sorted(OUT.iterdir()):
            if f.name.startswith("carehome.db") or f.suffix == ".flash" or not f.is_file():
                continue  # the key stores: the terminal's database and the kiosks' flash
            data = f.read_bytes()
            for key in keys.values():
                if key in data or key.hex().encode() in data.lower() or key.hex(" ").encode() in data.lower():
                    leaked.append(f.name)
        ok(not leaked, f"no key appears in any log or output file (checked {rel(OUT)}/*: "
           f"{', '.join(sorted(set(leaked))) or 'none found'})")

        bad = db.execute("SELECT COUNT(*) FROM records WHERE status != 'valid' OR id_conflict != 0").fetchone()[0]
        ok(bad == 0, f"every stored record is valid and has its own id ({bad} not)")

        total_kiosk = 0
        for k in self.kiosks:
            created, _, pending = log_ids(k.text(), k.device)
            total_kiosk += len(created)
            rows = db.execute(
                "SELECT epoch, seq, COUNT(*) FROM records WHERE device = ? GROUP BY epoch, seq", (k.device,)
            ).fetchall()
            stored = {(k.device, e, s): n for e, s, n in rows}
            missing = sorted(created - set(stored))
            extra = sorted(set(stored) - created)
            twice = sorted(i for i, n in stored.items() if n != 1)
            ok(not missing and not extra and not twice and len(created) > 0,
               f"kiosk {k.name}: the {len(created)} records its log says it made are each in the database "
               f"exactly once (missing {missing or 'none'}, extra {extra or 'none'}, twice {twice or 'none'})")
            # The values: what the cohort's visits must have measured, record by record.
            expect = self.expected(k)
            mismatches = []
            for e in expect:
                row = db.execute("SELECT envelope FROM records WHERE device = ? AND seq = ?",
                                 (k.device, e["seq"])).fetchone()
                if row is None:
                    mismatches.append(f"seq {e['seq']} missing")
                    continue
                r = tcmcare.decode(bytes(row[0]))
                fields = ["resident", "source", "temperature_centi_c", "spo2_percent", "pulse_per_min",
                          "weight_g", "systolic_mmhg", "diastolic_mmhg"]
                have = {f: (r.resident.number if f == "resident" else getattr(r, f)) for f in fields}
                if any(have[f] != e[f] for f in fields) or r.resident.care_home != e["care_home"]:
                    mismatches.append(f"seq {e['seq']}: expected {e}, stored {have}")
            ok(not mismatches and len(expect) == len(created),
               f"kiosk {k.name}: the {len(expect)} records hold the values its residents' visits scripted"
               + (f" ({'; '.join(mismatches)})" if mismatches else ""))
        b = self.kiosks[1]
        ok(bool(self.killed_pending) and all(
            db.execute("SELECT COUNT(*) FROM records WHERE device = ? AND seq = ?", (b.device, p)).fetchone()[0] == 1
            for p in self.killed_pending),
           f"kiosk B: the {len(self.killed_pending)} record(s) in its outbox when QEMU was killed arrived after "
           "the restart, once each")

        entries = sum(1 for line in SCRIPT.read_text(encoding="utf-8").splitlines()
                      if re.match(r"\d\d:\d\d\s", line))
        own = db.execute("SELECT COUNT(*), COUNT(DISTINCT seq) FROM records WHERE device = ?",
                         (TERMINAL_DEVICE,)).fetchone()
        ok(own[0] == own[1] == entries,
           f"terminal: the {entries} entries of the staff's script are {own[0]} records, each once")
        self.total = (total_kiosk, entries)
        db.close()

    def expected(self, k: Kiosk) -> List[Dict[str, Any]]:
        harness = HARNESS_DIR / os.environ.get("HOST_TRIPLE", "x86_64-unknown-linux-gnu") / "debug/tcmcare-qemu-test"
        out = subprocess.run([str(harness), "expect", "--cohort", k.cohort, "--device", str(k.device)],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]


def main() -> int:
    demo = Demo()

    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        demo.start()
        demo.run_day()
        demo.stop()
        say("terminal stopped (the staff's remaining entries of the day recorded), relay stopped")
        demo.report()
        demo.check()
    except KeyboardInterrupt:
        demo.failures.append("interrupted")
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as e:
        demo.failures.append(str(e))
    finally:
        demo.cleanup()
    wall = time.monotonic() - T0
    print()
    # One summary line for scripts/test.sh (the checks, and any failure before them).
    print(f"demo: {demo.checks_passed} passed, {len(demo.failures)} failed")
    if demo.failures:
        print(f"DEMO FAILED after {wall:.0f} s:")
        for f in demo.failures:
            print(f"  - {f}")
        print(f"logs: {rel(OUT)}/ (terminal.log, kiosk-a.log, kiosk-b.log, relay-faults.log)")
        return 1
    kiosk_records, terminal_records = demo.total
    print(f"Every record is in the database exactly once: {kiosk_records} from the two kiosks "
          f"(across a killed and restarted kiosk and a faulty line) and {terminal_records} from the terminal.")
    print(f"Done in {wall:.0f} s. Outputs in {rel(OUT)}/:")
    for name, what in [
        ("carehome.db", f"the SQLite database (tcmcare.store schema): python -m tcmcare summary {rel(DB)}"),
        ("fhir-bundle.json", "the FHIR R4 bundle of every record"),
        ("kiosk-a.log, kiosk-b.log", "the kiosks' decoded defmt logs"),
        ("kiosk-a.flash, kiosk-b.flash", "the kiosks' flash images"),
        ("terminal.log, terminal-records.jsonl", "the terminal's log and every record it stored, as JSON lines"),
        ("relay-faults.log", "every fault the relay injected"),
    ]:
        print(f"  {name:<38} {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
