"""Decoding throughput of a buffer of vital-signs frames (a benchmark, not a test).

    .venv/bin/python benches/bench_decode.py [--records N] [--repeat R]

Builds N distinct vitals frames (blood pressure, pulse, SpO2, temperature; a kiosk's
typical record), then reports the best of R runs of:

- ``decode_frames``: records as Python objects (``VitalSigns``);
- ``decode_frames`` + reading three attributes of every record;
- ``FrameDecoder``: the same buffer through the streaming decoder;
- ``decode_frames_columnar``: a dict of lists, one row per record.
"""

from __future__ import annotations

import argparse
import gc
import datetime
import platform
import random
import time
from typing import Any, Callable, Dict, List, Tuple

import tcmcare

T0 = datetime.datetime(2026, 3, 15, 8, 30, tzinfo=datetime.timezone.utc)


def build(n: int) -> bytes:
    rng = random.Random(7)
    frames: List[bytes] = []
    for i in range(n):
        systolic = rng.randrange(100, 180)
        record = tcmcare.VitalSigns(
            id=(7, 1, i + 1),
            resident=(3101, 1000 + i % 500),
            time=T0 + datetime.timedelta(seconds=37 * i),
            systolic_mmhg=systolic,
            diastolic_mmhg=systolic - rng.randrange(30, 60),
            pulse_per_min=rng.randrange(55, 110),
            spo2_percent=rng.randrange(90, 100),
            temperature_centi_c=rng.randrange(3580, 3800),
        )
        frames.append(tcmcare.encode_frame(record))
    return b"".join(frames)


def best(fn: Callable[[], Any], repeat: int) -> Tuple[float, float]:
    """Best wall-clock and best CPU time of ``repeat`` calls. The result is kept alive
    until the clocks stop, so freeing it is not counted (the caller pays that when it
    drops the data). CPU time is the steadier figure on a shared machine."""
    walls, cpus = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        del result
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-gc", action="store_true", help="disable the cyclic GC while timing")
    args = parser.parse_args()
    n = args.records
    buf = build(n)
    if args.no_gc:
        gc.disable()
    print(f"{n} vitals frames, {len(buf)} bytes ({len(buf) / n:.1f} B/frame); "
          f"Python {platform.python_version()}, tcmcare {tcmcare.__version__}")

    def objects() -> List[tcmcare.Record]:
        return tcmcare.decode_frames(buf)

    def objects_and_attributes() -> int:
        total = 0
        for r in tcmcare.decode_frames(buf):
            assert isinstance(r, tcmcare.VitalSigns)
            total += (r.systolic_mmhg or 0) + (r.pulse_per_min or 0) + (r.spo2_percent or 0)
        return total

    def streaming() -> List[tcmcare.Record]:
        return list(tcmcare.FrameDecoder().feed(buf))

    def columns() -> Dict[str, List[Any]]:
        return tcmcare.decode_frames_columnar(buf)

    assert len(objects()) == len(streaming()) == len(columns()["seq"]) == n

    for name, fn in [
        ("decode_frames -> objects", objects),
        ("decode_frames + 3 attributes", objects_and_attributes),
        ("FrameDecoder -> objects", streaming),
        ("decode_frames_columnar", columns),
    ]:
        wall, cpu = best(fn, args.repeat)
        print(
            f"{name:30s} wall {wall * 1000:7.1f} ms {n / wall / 1e6:5.2f} M/s"
            f"   cpu {cpu * 1000:7.1f} ms {n / cpu / 1e6:5.2f} M/s"
        )


if __name__ == "__main__":
    main()
