#!/usr/bin/env python3
"""A fault-injecting TCP relay for the care-home demo: a flaky link between each kiosk and
the terminal.

    relay.py --upstream 127.0.0.1:TERMINAL_PORT --route kiosk-a=PORT_A --route kiosk-b=PORT_B
             [--seed N] [--drop P] [--duplicate P] [--corrupt P] [--tamper P]
             [--first-batches FATES]
             [--stats FILE] [--log FILE]

Each route listens on 127.0.0.1:PORT; every connection accepted there gets its own
connection to the upstream (the terminal). The bytes of each direction go through the
tcmcare package's frame decoder (:class:`tcmcare.PayloadDecoder`, core's decoder) and
each frame is framed again with :func:`tcmcare.frame` (the same bytes: both ends frame with
core) and passed on, dropped, sent twice, sent with one bit flipped (the receiver's
CRC-32C must reject it), or **tampered**: one bit of the payload flipped and framed again,
so with a valid CRC, as someone with access to the cable would do (only the seal's
authentication tag can catch it), with the given probabilities, drawn from a random
generator seeded per route and direction: the same seed gives the same sequence of
faults. Bytes that are not a valid frame are not passed on (the receiver would refuse
them); they are counted as ``invalid``. ``--first-batches
corrupt,duplicate,drop`` makes sure each fault happens: the first frames of at least
``BATCH_MIN_LEN`` bytes (record batches, not hellos or acks) sent on each route get those
fates in that order, before the random ones.

Commands on standard input, one per line: ``cut NAME`` (the route's cable is pulled:
every byte both ways is lost), ``mend NAME``, ``quit``. The relay also quits at the end
of its input, after ``--max-seconds``, or on SIGTERM, and then writes per-route counts as
JSON to ``--stats``. Only 127.0.0.1 is used. Needs the tcmcare package (framing is
core's): run it with the package's virtualenv, ``bindings/python/.venv/bin/python``, which
``make demo`` builds and uses.
"""

from __future__ import annotations

import argparse
import json
import random
import selectors
import signal
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, TextIO, Tuple

try:
    import tcmcare
except ImportError as e:  # not the package's interpreter
    raise SystemExit(
        f"relay.py needs the tcmcare package ({e}): run it with bindings/python/.venv/bin/python "
        "(bindings/python/scripts/test.sh or make demo builds it)"
    ) from e

# Frames at least this long are record batches: a sealed hello is 42 bytes framed, a
# sealed ack or time sync shorter; a sealed batch of one vitals record is about 50 bytes
# and the kiosks send two records per visit.
BATCH_MIN_LEN = 56
_FATE_NAMES = {"drop": "dropped", "duplicate": "duplicated", "corrupt": "corrupted", "tamper": "tampered",
               "pass": "passed"}


def tamper(payload: bytes, rng: random.Random) -> Optional[bytes]:
    """The frame of ``payload`` with one payload bit flipped, framed again so that its CRC
    is valid (None for an empty payload, or if the altered frame would be too long)."""
    if not payload:
        return None
    altered = bytearray(payload)
    altered[rng.randrange(len(altered))] ^= 1 << rng.randrange(8)
    try:
        return tcmcare.frame(bytes(altered))
    except tcmcare.FrameTooLongError:
        return None


@dataclass
class DirectionStats:
    """What one direction of one route did to its frames."""

    frames: int = 0
    passed: int = 0
    dropped: int = 0
    duplicated: int = 0
    corrupted: int = 0
    tampered: int = 0
    cut: int = 0
    bytes: int = 0
    invalid: int = 0  # bytes that were not a valid frame: not passed on, not in ``frames``


@dataclass
class RouteStats:
    """Both directions of a route: ``up`` is kiosk -> terminal, ``down`` the replies."""

    connections: int = 0
    up: DirectionStats = field(default_factory=DirectionStats)
    down: DirectionStats = field(default_factory=DirectionStats)


class Direction:
    """One direction of one connection: buffers bytes, decides each frame's fate."""

    def __init__(self, route: "Route", name: str, out: socket.socket, stats: DirectionStats) -> None:
        self.route = route
        self.name = name
        self.out = out
        self.stats = stats
        self.frames = tcmcare.PayloadDecoder()

    def feed(self, data: bytes) -> None:
        self.frames.feed(data)
        while True:
            try:
                payload = next(self.frames)
            except StopIteration:
                return
            except tcmcare.FrameError as e:
                self.stats.invalid += 1
                self.route.relay.log(f"{self.route.name} {self.name}: not a valid frame ({e}): not passed on")
                continue
            self.frame(payload)

    def frame(self, payload: bytes) -> None:
        frame = tcmcare.frame(payload)
        s = self.stats
        s.frames += 1
        s.bytes += len(frame)
        if self.route.cut:
            s.cut += 1
            self.route.relay.log(f"{self.route.name} {self.name} frame {s.frames} ({len(frame)} B): lost (cable cut)")
            return
        rng = self.route.rngs[self.name]
        cfg = self.route.relay
        x = rng.random()
        forced = self.route.forced
        if self.name == "up" and forced and len(frame) >= BATCH_MIN_LEN:
            fate = forced.pop(0)
        elif x < cfg.p_drop:
            fate = "dropped"
        elif x < cfg.p_drop + cfg.p_duplicate:
            fate = "duplicated"
        elif x < cfg.p_drop + cfg.p_duplicate + cfg.p_corrupt and len(frame) > 1:
            fate = "corrupted"
        elif x < cfg.p_drop + cfg.p_duplicate + cfg.p_corrupt + cfg.p_tamper and len(frame) > 1:
            fate = "tampered"
        else:
            fate = "passed"
        setattr(s, fate, getattr(s, fate) + 1)
        if fate != "passed":
            self.route.relay.log(f"{self.route.name} {self.name} frame {s.frames} ({len(frame)} B): {fate}")
        if fate == "dropped":
            return
        if fate == "corrupted":
            body = bytearray(frame)
            i = rng.randrange(len(body) - 1)  # never the delimiter
            bit = 1 << rng.randrange(8)
            if body[i] ^ bit == 0:  # keep the frame one frame
                bit = 1 if bit != 1 else 2
            body[i] ^= bit
            frame = bytes(body)
        if fate == "tampered":
            frame = tamper(payload, rng) or frame
        self.send(frame)
        if fate == "duplicated":
            self.send(frame)

    def send(self, data: bytes) -> None:
        try:
            self.out.sendall(data)
        except OSError:
            pass  # the other side is gone; the connection is closed on its next read


class Route:
    """A listening port on 127.0.0.1 whose connections are relayed upstream."""

    def __init__(self, relay: "Relay", name: str, port: int) -> None:
        self.relay = relay
        self.name = name
        self.cut = False
        self.stats = RouteStats()
        self.rngs = {d: random.Random(f"{relay.seed}:{name}:{d}") for d in ("up", "down")}
        self.forced: List[str] = list(relay.first_batches)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(4)
        self.listener.setblocking(False)


class Relay:
    def __init__(self, args: argparse.Namespace) -> None:
        self.seed: int = args.seed
        self.p_drop: float = args.drop
        self.p_duplicate: float = args.duplicate
        self.p_corrupt: float = args.corrupt
        self.p_tamper: float = args.tamper
        self.first_batches: List[str] = [
            _FATE_NAMES[f] for f in args.first_batches.split(",") if f
        ] if args.first_batches else []
        host, _, port = args.upstream.rpartition(":")
        if host not in ("127.0.0.1", "localhost"):
            raise SystemExit("relay: the upstream must be on 127.0.0.1")
        self.upstream = ("127.0.0.1", int(port))
        self.log_file: Optional[TextIO] = open(args.log, "a", encoding="utf-8") if args.log else None
        self.sel = selectors.DefaultSelector()
        self.routes: Dict[str, Route] = {}
        for spec in args.route:
            name, _, p = spec.partition("=")
            route = Route(self, name, int(p))
            self.routes[name] = route
            self.sel.register(route.listener, selectors.EVENT_READ, ("accept", route))
        self.sel.register(sys.stdin, selectors.EVENT_READ, ("command", None))
        # socket -> (its direction's handler, the peer socket)
        self.pairs: Dict[socket.socket, Tuple[Direction, socket.socket]] = {}
        self.running = True

    def log(self, text: str) -> None:
        if self.log_file is not None:
            self.log_file.write(f"{time.monotonic():.3f} {text}\n")
            self.log_file.flush()

    def accept(self, route: Route) -> None:
        try:
            kiosk, _ = route.listener.accept()
        except OSError:
            return
        try:
            term = socket.create_connection(self.upstream, timeout=5)
        except OSError as e:
            self.log(f"{route.name}: upstream unreachable: {e}")
            kiosk.close()
            return
        for s in (kiosk, term):
            s.setblocking(True)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        route.stats.connections += 1
        self.log(f"{route.name}: connection {route.stats.connections} opened")
        self.pairs[kiosk] = (Direction(route, "up", term, route.stats.up), term)
        self.pairs[term] = (Direction(route, "down", kiosk, route.stats.down), kiosk)
        self.sel.register(kiosk, selectors.EVENT_READ, ("data", None))
        self.sel.register(term, selectors.EVENT_READ, ("data", None))

    def close_pair(self, s: socket.socket) -> None:
        entry = self.pairs.pop(s, None)
        if entry is None:
            return
        direction, peer = entry
        self.log(f"{direction.route.name}: connection closed")
        self.pairs.pop(peer, None)
        for x in (s, peer):
            try:
                self.sel.unregister(x)
            except (KeyError, ValueError):
                pass
            x.close()

    def command(self) -> None:
        line = sys.stdin.readline()
        if not line:
            self.running = False
            return
        words = line.split()
        if words == ["quit"]:
            self.running = False
        elif len(words) == 2 and words[0] in ("cut", "mend") and words[1] in self.routes:
            self.routes[words[1]].cut = words[0] == "cut"
            self.log(f"{words[1]}: cable {'cut' if words[0] == 'cut' else 'mended'}")
        else:
            print(f"relay: unknown command {line.strip()!r}", file=sys.stderr)

    def run(self, max_seconds: float) -> None:
        deadline = time.monotonic() + max_seconds
        while self.running and time.monotonic() < deadline:
            for key, _ in self.sel.select(timeout=0.2):
                what, route = key.data
                if what == "accept":
                    self.accept(route)
                elif what == "command":
                    self.command()
                else:
                    s = key.fileobj
                    assert isinstance(s, socket.socket)
                    try:
                        data = s.recv(4096)
                    except OSError:
                        data = b""
                    if not data:
                        self.close_pair(s)
                    elif s in self.pairs:
                        self.pairs[s][0].feed(data)
        for s in list(self.pairs):
            self.close_pair(s)

    def stats(self) -> Dict[str, object]:
        return {
            "seed": self.seed,
            "probabilities": {"drop": self.p_drop, "duplicate": self.p_duplicate, "corrupt": self.p_corrupt,
                              "tamper": self.p_tamper},
            "routes": {name: asdict(r.stats) for name, r in self.routes.items()},
        }


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True, help="127.0.0.1:PORT of the terminal")
    p.add_argument("--route", action="append", required=True, help="NAME=LISTEN_PORT")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--drop", type=float, default=0.05)
    p.add_argument("--duplicate", type=float, default=0.05)
    p.add_argument("--corrupt", type=float, default=0.05)
    p.add_argument("--tamper", type=float, default=0.0,
                   help="payload bit flipped with a recomputed CRC (caught only by the seal)")
    p.add_argument("--first-batches", default="", help="fates of each route's first batches: "
                   "comma-separated drop, duplicate, corrupt, tamper, pass")
    p.add_argument("--stats", help="write per-route counts here (JSON) on exit")
    p.add_argument("--log", help="append one line per fault here")
    p.add_argument("--max-seconds", type=float, default=600)
    args = p.parse_args(argv)
    relay = Relay(args)

    def on_term(signum: int, frame: object) -> None:
        relay.running = False

    signal.signal(signal.SIGTERM, on_term)
    print("relay: ready", flush=True)
    relay.run(args.max_seconds)
    if args.stats:
        with open(args.stats, "w", encoding="utf-8") as f:
            json.dump(relay.stats(), f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
