#!/usr/bin/env python3
"""Hardening tests of the reference terminal (issue #12, items 2, 3, 6, 9, 10 and 11).

Usage: terminal_hardening.py BUILD_DIR   (expects BUILD_DIR/terminal and BUILD_DIR/kiosk_sim)

Everything runs on 127.0.0.1 with fixed counts and timeouts (bounded; a 2-core CI machine):

- connections: 200 idle and slowloris connections, kept open by an attacker that reopens
  whatever the terminal closes, while a genuine sealed kiosk syncs; the handshake timeout
  and the connection cap (eviction of the oldest unauthenticated connection);
- a client that never reads its replies while another kiosk syncs: it is dropped;
- key files: the database, its -wal and -shm and the kiosk's seal file are 0600 under
  umask 022; a retired key (re-provisioned, rotated) is in neither the database nor its WAL;
- a database of a newer schema is refused with exit status 3 and left byte for byte
  (and mtime) unchanged, no -wal or -shm created;
- SIGKILL while the terminal prints a committed batch (its stdout blocked): the JSON-lines
  output of that run and the next contains every committed record; --export reproduces
  the output from the database;
- 5,100 forged sealed frames: the log stays small and its summaries account for every
  refusal; --stats has no entry for a claimed device id, counts them unattributed, and
  keeps the genuine kiosk's counts.

Closes with "C tests (terminal hardening): N passed, M failed".
"""

import fcntl
import hashlib
import json
import os
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

BUILD = sys.argv[1]
TERMINAL = os.path.join(BUILD, "terminal")
KIOSK = os.path.join(BUILD, "kiosk_sim")
WORK = tempfile.mkdtemp(prefix="terminal-hardening-")
passed = 0
failed = 0
children = []


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL terminal hardening: {name}{': ' + detail if detail else ''}", flush=True)


def path(name):
    return os.path.join(WORK, name)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- frames (core/src/wire/frame.rs: COBS(payload | CRC-32C LE) | 0x00) -------------------

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def cobs(data):
    out = bytearray()
    block = bytearray()
    for b in data:
        if b == 0:
            out.append(len(block) + 1)
            out += block
            block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out.append(255)
                out += block
                block = bytearray()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def frame(payload):
    return cobs(payload + crc32c(payload).to_bytes(4, "little")) + b"\x00"


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def forged_sealed(device, key_id=1, epoch=1, counter=1):
    """A sealed payload (core/src/seal.rs) with a made-up body and tag: 0xA1 | key id |
    device | epoch | counter | 10 bytes | 16-byte tag."""
    header = b"\xa1" + varint(key_id) + varint(device) + varint(epoch) + varint(counter)
    return frame(header + bytes(range(1, 11)) + bytes(16))


# ---- processes ------------------------------------------------------------------------------

def start_terminal(db, args, out=None, err_name=None, stdin=subprocess.DEVNULL):
    err = open(path(err_name), "wb") if err_name else subprocess.DEVNULL
    p = subprocess.Popen([TERMINAL, "--db", db, *args], stdin=stdin,
                         stdout=out if out is not None else subprocess.DEVNULL, stderr=err)
    children.append(p)
    return p


def wait_for_text(name, text, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path(name), "rb") as f:
                if text.encode() in f.read():
                    return True
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    return False


def serve(db, port, extra=(), out=None, err_name="t.err"):
    p = start_terminal(db, ["--listen", str(port), *extra], out=out, err_name=err_name)
    ok = wait_for_text(err_name, "listening on")
    return p, ok


def stop(p, sig=signal.SIGINT, timeout=20):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def kiosk(port, args, timeout=20.0):
    """Runs kiosk_sim; (exit status or None on timeout, seconds taken, stderr text)."""
    t0 = time.monotonic()
    try:
        r = subprocess.run([KIOSK, "--connect", str(port), *args], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=timeout)
        return r.returncode, time.monotonic() - t0, r.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return None, time.monotonic() - t0, (e.stderr or b"").decode(errors="replace")


def provision(db, device, seal):
    port = free_port()
    p = start_terminal(db, ["--provision", hex(device), "--listen", str(port), "--timeout", "20"],
                       err_name="prov.err")
    wait_for_text("prov.err", "waiting on")
    rc, _, err = kiosk(port, ["--provision", "--seal-state", seal])
    status = p.wait(30)
    return rc == 0 and status == 0


def rows(db, sql, *args):
    c = sqlite3.connect(db)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def mode(p):
    return os.stat(p).st_mode & 0o777


# ---- item 2: idle and slowloris connections -----------------------------------------------

class Attacker:
    """Keeps `idle` idle and `slow` slowloris connections open (a byte of a never-ending
    frame every 200 ms), reopening whatever the terminal closes (at most one reopen per
    socket per 20 ms)."""

    def __init__(self, port, idle, slow):
        self.port = port
        self.kinds = ["idle"] * idle + ["slow"] * slow
        self.socks = [None] * len(self.kinds)
        self.stop = threading.Event()
        self.opened = 0
        self.closed_by_terminal = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open(self, i):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return
        self.socks[i] = s
        self.opened += 1

    def run(self):
        last_trickle = 0.0
        for i in range(len(self.socks)):
            self.open(i)
        while not self.stop.is_set():
            live = [s for s in self.socks if s is not None]
            r, _, _ = select.select(live, [], [], 0.02)
            for s in r:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    i = self.socks.index(s)
                    s.close()
                    self.socks[i] = None
                    self.closed_by_terminal += 1
            now = time.monotonic()
            if now - last_trickle >= 0.2:
                last_trickle = now
                for i, s in enumerate(self.socks):
                    if s is not None and self.kinds[i] == "slow":
                        try:
                            s.send(b"\x05")
                        except OSError:
                            pass
            for i, s in enumerate(self.socks):
                if s is None:
                    self.open(i)
        for s in self.socks:
            if s is not None:
                s.close()

    def __enter__(self):
        self.thread.start()
        time.sleep(1.0)  # all 200 opened and the terminal busy with them
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


def closed_within(sock, seconds):
    """Whether the terminal closes `sock` within `seconds` (EOF or reset)."""
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_connections(kiosk_db, seal):
    port = free_port()
    t, ok = serve(kiosk_db, port, err_name="conn.err")
    check("connections: terminal listens", ok)
    with Attacker(port, idle=100, slow=100) as a:
        rc, took, err = kiosk(port, ["--records", "30", "--seal-state", seal], timeout=20)
        check("connections: a genuine kiosk syncs while 200 idle/slowloris connections are open",
              rc == 0, f"status {rc} after {took:.1f} s: {err.strip()[-200:]}")
        check("connections: ... within 10 s", rc == 0 and took < 10.0, f"{took:.1f} s")
        print(f"connections: the kiosk synced in {took:.2f} s while the attacker opened "
              f"{a.opened} connections ({a.closed_by_terminal} closed by the terminal)", flush=True)
        time.sleep(0.5)
        check("connections: the terminal kept accepting (closed attacker connections to make room)",
              a.closed_by_terminal > 0, f"{a.opened} opened, {a.closed_by_terminal} closed")
    check("connections: the terminal is still serving", t.poll() is None)
    stop(t)
    stored = rows(kiosk_db, "SELECT COUNT(*) FROM records")[0][0]
    check("connections: the kiosk's 30 records stored", stored == 30, f"{stored}")
    size = os.path.getsize(path("conn.err"))
    check("connections: closing attacker connections does not flood the log", size < 32768,
          f"{size} bytes of log")

    # The handshake timeout, and the cap: the oldest unauthenticated connection makes room.
    port = free_port()
    t, ok = serve(kiosk_db, port, ["--handshake-timeout", "1", "--max-connections", "4"],
                  err_name="cap.err")
    check("connections: --handshake-timeout and --max-connections accepted", ok)
    if ok:
        idle = socket.create_connection(("127.0.0.1", port))
        t0 = time.monotonic()
        closed = closed_within(idle, 4.0)
        took = time.monotonic() - t0
        check("connections: a connection that never says hello is closed after the handshake timeout",
              closed and 0.8 <= took <= 3.0, f"closed={closed} after {took:.1f} s")
        idle.close()
        socks = []
        for _ in range(4):
            socks.append(socket.create_connection(("127.0.0.1", port)))
            time.sleep(0.05)
        fifth = socket.create_connection(("127.0.0.1", port))
        check("connections: at the cap, the oldest unauthenticated connection is evicted",
              closed_within(socks[0], 0.8))
        check("connections: ... and the others stay", not closed_within(socks[1], 0.2))
        for s in socks + [fifth]:
            s.close()
    stop(t)


# ---- item 3: a client that never reads its replies ---------------------------------------

def test_slow_reader():
    db = path("slow.db")
    port = free_port()
    t, ok = serve(db, port, ["--trusted-link"], err_name="slow.err")
    check("slow reader: terminal listens", ok)
    rc, _, _ = kiosk(port, ["--records", "5", "--device", "21", "--capture", path("plain.bin")])
    check("slow reader: a first kiosk syncs", rc == 0)
    with open(path("plain.bin"), "rb") as f:
        line = f.read()
    hello = line[: line.index(b"\x00") + 1]  # the kiosk's first frame: its hello

    # The non-reader: a tiny receive window, hellos (each answered) as fast as it can.
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    burst = hello * 256
    state = {"sent": 0, "dropped": False, "progress": time.monotonic()}

    def flood():
        deadline = time.monotonic() + 40.0
        while time.monotonic() < deadline:
            _, w, _ = select.select([], [s], [], 0.1)
            if not w:
                continue
            try:
                state["sent"] += s.send(burst)
                state["progress"] = time.monotonic()
            except (BrokenPipeError, ConnectionResetError):
                state["dropped"] = True
                return
            except BlockingIOError:
                continue

    th = threading.Thread(target=flood, daemon=True)
    th.start()
    # Until the terminal drops the client or stops taking its bytes (1.5 s without
    # progress): by then its replies have filled every buffer on the way.
    deadline = time.monotonic() + 25.0
    while (time.monotonic() < deadline and not state["dropped"]
           and time.monotonic() - state["progress"] < 1.5):
        time.sleep(0.1)
    rc, took, err = kiosk(port, ["--records", "20", "--device", "22"], timeout=15)
    check("slow reader: another kiosk syncs while a client never reads its replies",
          rc == 0 and took < 10.0, f"status {rc} after {took:.1f} s: {err.strip()[-200:]}")
    th.join(5)
    check("slow reader: the client that does not read is dropped", state["dropped"],
          f"{state['sent']} bytes sent")
    s.close()
    check("slow reader: the terminal is still serving", t.poll() is None)
    stop(t)
    stored = rows(db, "SELECT COUNT(*) FROM records WHERE device = 22")[0][0]
    check("slow reader: the other kiosk's 20 records stored", stored == 20, f"{stored}")
    with open(path("slow.err"), "rb") as f:
        log = f.read().decode(errors="replace")
    check("slow reader: the drop is logged", "not reading its replies" in log)


# ---- item 6: file modes, retired keys ----------------------------------------------------

def test_key_files():
    db = path("keys.db")
    seal = path("keys.seal")
    device = 0x2001
    ok = provision(db, device, seal)
    check("key files: kiosk provisioned", ok)
    check("key files: the database is 0600 from creation", mode(db) == 0o600, oct(mode(db)))
    check("key files: the kiosk's seal file is 0600", mode(seal) == 0o600, oct(mode(seal)))
    key1 = rows(db, "SELECT key FROM device_keys WHERE device = ?", device)[0][0]
    ok = provision(db, device, seal)
    check("key files: kiosk provisioned again", ok)
    with open(db, "rb") as f:
        data = f.read()
    check("key files: the key retired by a new provisioning is not in the database file",
          key1 not in data)
    check("key files: no WAL left behind", not os.path.exists(db + "-wal"))
    key2 = rows(db, "SELECT key FROM device_keys WHERE device = ?", device)[0][0]
    r = subprocess.run([TERMINAL, "--db", db, "--rotate", hex(device)], stderr=subprocess.DEVNULL)
    check("key files: rotation prepared", r.returncode == 0)

    port = free_port()
    t, ok = serve(db, port, err_name="keys.err")
    rc, _, _ = kiosk(port, ["--records", "30", "--mtu", "128", "--seal-state", seal])
    check("key files: kiosk syncs and takes the new key", rc == 0)
    time.sleep(0.3)
    keys = rows(db, "SELECT key_id FROM device_keys WHERE device = ?", device)
    check("key files: rotation done (only key id 3 left)", keys == [(3,)], f"{keys}")
    for suffix in ("", "-wal", "-shm"):
        p = db + suffix
        check(f"key files: {os.path.basename(p)} is 0600 while serving",
              os.path.exists(p) and mode(p) == 0o600,
              oct(mode(p)) if os.path.exists(p) else "missing")
    with open(db, "rb") as f:
        data = f.read()
    wal = b""
    if os.path.exists(db + "-wal"):
        with open(db + "-wal", "rb") as f:
            wal = f.read()
    check("key files: the rotated-out key is not in the database file", key2 not in data)
    check("key files: ... nor in its WAL", key2 not in wal)
    check("key files: the seal file is still 0600 after the rekey", mode(seal) == 0o600,
          oct(mode(seal)))
    check("key files: no temporary seal file left", not os.path.exists(seal + ".tmp"))
    stop(t)
    return db, seal, device


# ---- item 9: a newer schema is refused without a write -----------------------------------

def test_newer_schema():
    db = path("newer.db")
    c = sqlite3.connect(db)
    c.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
                    "INSERT INTO meta VALUES ('schema', '3');"
                    "CREATE TABLE future (x INTEGER);")
    c.commit()
    c.close()
    os.utime(db, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    with open(db, "rb") as f:
        before = hashlib.sha256(f.read()).hexdigest()
    mtime = os.stat(db).st_mtime_ns
    for args in ([], ["--export"], ["--rotate", "7"], ["--revoke", "7"]):
        r = subprocess.run([TERMINAL, "--db", db, *args], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        err = r.stderr.decode(errors="replace")
        what = " ".join(args) or "(serve stdin)"
        check(f"newer schema {what}: refused with exit status 3", r.returncode == 3,
              f"status {r.returncode}: {err.strip()}")
        check(f"newer schema {what}: says which schema and why",
              "schema 3" in err and "newer than" in err, err.strip())
        with open(db, "rb") as f:
            after = hashlib.sha256(f.read()).hexdigest()
        check(f"newer schema {what}: the file's bytes are unchanged", after == before)
        check(f"newer schema {what}: its mtime is unchanged", os.stat(db).st_mtime_ns == mtime)
        check(f"newer schema {what}: no -wal, -shm or -journal created",
              not any(os.path.exists(db + s) for s in ("-wal", "-shm", "-journal")))
    check("newer schema: still in rollback-journal mode",
          rows(db, "PRAGMA journal_mode")[0][0] == "delete")


# ---- item 10: SIGKILL while a committed batch is printed ---------------------------------

def json_ids(text):
    ids = []
    for ln in text.splitlines():
        try:
            j = json.loads(ln)
        except ValueError:
            continue  # the line cut by the kill
        i = j.get("id")
        if isinstance(i, dict):
            ids.append((i["device"], i["epoch"], i["seq"]))
    return ids


def test_output_across_kill():
    db = path("out.db")
    port = free_port()
    r_fd, w_fd = os.pipe()
    fcntl.fcntl(w_fd, 1031, 4096)  # F_SETPIPE_SZ: the terminal blocks printing soon
    t = start_terminal(db, ["--listen", str(port), "--trusted-link"], out=w_fd,
                       err_name="kill.err")
    os.close(w_fd)
    ok = wait_for_text("kill.err", "listening on")
    check("kill: terminal listens", ok)
    k = subprocess.Popen([KIOSK, "--connect", str(port), "--records", "300", "--device", "31",
                          "--mtu", "200"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children.append(k)
    # Wait until the terminal is stuck writing stdout (nobody reads the pipe) with a
    # batch committed: the count of stored records stops moving.
    last, still_since = -1, time.monotonic()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        n = rows(db, "SELECT COUNT(*) FROM records")[0][0] if os.path.exists(db) else 0
        if n != last:
            last, still_since = n, time.monotonic()
        elif n > 0 and time.monotonic() - still_since > 1.0:
            break
        time.sleep(0.1)
    t.send_signal(signal.SIGKILL)
    t.wait()
    k.kill()
    k.wait()
    first = b""
    while True:
        chunk = os.read(r_fd, 65536)
        if not chunk:
            break
        first += chunk
    os.close(r_fd)
    committed = rows(db, "SELECT device, epoch, seq FROM records ORDER BY record_no")
    check("kill: the terminal was killed with records committed", 0 < len(committed) < 300,
          f"{len(committed)} committed")
    check("kill: ... and not all of them printed yet (the case under test)",
          len(set(json_ids(first.decode(errors="replace")))) < len(committed))

    # Restart; the kiosk (a fresh run of the simulator) syncs the rest.
    with open(path("out2.jsonl"), "wb") as out2:
        t, ok = serve(db, port, ["--trusted-link"], out=out2, err_name="kill2.err")
        rc, _, _ = kiosk(port, ["--records", "300", "--device", "31", "--mtu", "200"])
        check("kill: after the restart the kiosk gets every record acknowledged", rc == 0)
        stop(t)
    with open(path("out2.jsonl"), "rb") as f:
        second = f.read()
    committed = set(rows(db, "SELECT device, epoch, seq FROM records"))
    printed = set(json_ids(first.decode(errors="replace"))) | set(json_ids(second.decode()))
    check("kill: 300 records stored once", len(committed) == 300 and
          rows(db, "SELECT COUNT(*) FROM records")[0][0] == 300)
    missing = committed - printed
    check("kill: the JSON-lines output holds every committed record", not missing,
          f"{len(missing)} committed record(s) never printed")

    # The output reproduced from the database.
    r = subprocess.run([TERMINAL, "--db", db, "--export"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    exported = json_ids(r.stdout.decode())
    order = [tuple(x) for x in rows(db, "SELECT device, epoch, seq FROM records ORDER BY record_no")]
    check("export: exits 0", r.returncode == 0, r.stderr.decode().strip())
    check("export: every record once, in storage order", exported == order,
          f"{len(exported)} exported, {len(order)} stored")
    r2 = subprocess.run([TERMINAL, "--db", db, "--export", "--after", "250"],
                        stdout=subprocess.PIPE, timeout=30)
    check("export --after 250: the records stored after the 250th",
          json_ids(r2.stdout.decode()) == order[250:])


# ---- item 11: forged frames, the log and --stats -----------------------------------------

def test_forged(db, seal, device):
    port = free_port()
    stats = path("stats.json")
    t, ok = serve(db, port, ["--stats", stats], err_name="forged.err")
    check("forged: terminal listens", ok)
    forged = b"".join(forged_sealed(5000 + i) for i in range(100))  # 100 unknown devices
    forged += forged_sealed(device, key_id=3, counter=1000) * 5000  # the kiosk's key, bad tag
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(forged)
    # Wait until the terminal has handled all of it (it never answers a refused frame).
    time.sleep(0.5)
    s.close()
    rc, _, _ = kiosk(port, ["--records", "40", "--seal-state", seal])  # 31..40 are new
    check("forged: the genuine kiosk syncs", rc == 0)
    stop(t)
    with open(path("forged.err"), "rb") as f:
        log = f.read().decode(errors="replace")
    size = len(log.encode())
    check("forged: 5,100 refused frames write less than 16 KiB of log", size < 16384,
          f"{size} bytes")
    one_by_one = log.count("frame refused")
    summarised = sum(int(n) for n in re.findall(r"(\d+) more refused frame\(s\) not logged", log))
    check("forged: the log accounts for every refused frame (lines + summaries)",
          one_by_one + summarised == 5100, f"{one_by_one} logged + {summarised} summarised")
    try:
        with open(stats) as f:
            st = json.load(f)
    except (OSError, ValueError) as e:
        check("forged: --stats written", False, str(e))
        return
    devices = [x["device"] for x in st["streams"]]
    check("forged: --stats has no entry for a device id claimed by an unauthenticated frame",
          not any(5000 <= d < 5100 for d in devices), f"{len(devices)} streams")
    mine = [x for x in st["streams"] if x["device"] == device]
    check("forged: the genuine kiosk has its own entry with its 10 records",
          len(mine) == 1 and mine[0]["records"] == 10,
          json.dumps(mine)[:200])
    check("forged: the genuine kiosk is not charged with the forged frames",
          len(mine) == 1 and mine[0]["rejected"] == 0, json.dumps(mine)[:200])
    un = st.get("unattributed", {})
    check("forged: the refusals are counted apart, unattributed (no kiosk authenticated on "
          "their connection)",
          un.get("rejected") == 5100 and un.get("rejected_by_reason") ==
          {"bad_tag": 5000, "unknown_device": 100}, json.dumps(un))


def main():
    os.umask(0o022)
    try:
        kiosk_db = path("kiosk.db")
        seal = path("kiosk.seal")
        ok = provision(kiosk_db, 0x1001, seal)
        check("setup: a kiosk provisioned", ok)
        test_newer_schema()
        test_connections(kiosk_db, seal)
        test_slow_reader()
        db, kseal, device = test_key_files()
        test_forged(db, kseal, device)
        test_output_across_kill()
    finally:
        for p in children:
            if p.poll() is None:
                p.kill()
                p.wait()
        if os.environ.get("TERMINAL_HARDENING_KEEP"):
            print(f"kept {WORK}")
        else:
            subprocess.run(["rm", "-rf", WORK])
    print(f"C tests (terminal hardening): {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
