"""``python -m tcmcare``: decode frames, store them, report KPIs, export FHIR.

    python -m tcmcare decode FILE             frames in FILE -> JSON lines on stdout
    python -m tcmcare store DB FILE           add the frames of FILE to the SQLite store DB
    python -m tcmcare report DB [--year Y]    KPI coverage report of DB as Markdown
    python -m tcmcare fhir DB -o bundle.json  FHIR R4 Bundle of the records in DB
    python -m tcmcare summary DB [--year Y]   records per kind and device, alerts,
                                              constitutions, KPI coverage

``-`` as FILE reads standard input. Bad frames are reported on stderr with their position
(and ``decode`` goes on with the next frame); the exit status is 1 when any frame was bad.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from typing import BinaryIO, List, Optional, Sequence

from . import _native
from .errors import DecodeError, UnknownKindError, ValidationError
from .fhir import dumps, to_fhir_bundle
from .carehome import care_home_summary
from .report import coverage_report
from .store import SQLiteStore

__all__ = ["main"]

# China Standard Time: the reporting year of the KPIs (the core's offset).
_CST = datetime.timezone(datetime.timedelta(seconds=_native.CHINA_STANDARD_TIME_OFFSET_S))


def _read(path: str) -> bytes:
    if path == "-":
        stdin: BinaryIO = sys.stdin.buffer
        return stdin.read()
    with open(path, "rb") as f:
        return f.read()


def _decode(args: argparse.Namespace) -> int:
    bad = 0
    dec = _native.FrameDecoder()
    dec.feed(_read(args.file))
    index = 0
    while True:
        index += 1
        try:
            record = next(dec)
        except StopIteration:
            break
        except UnknownKindError as e:
            bad += 1
            line = {"kind": e.kind, "unknown_kind": True, "envelope_hex": e.envelope.hex()}
            print(json.dumps(line))
            print(f"frame {index}: {e}", file=sys.stderr)
            continue
        except (DecodeError, ValidationError) as e:
            bad += 1
            print(f"frame {index}: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        print(json.dumps(record.to_dict(), ensure_ascii=False))
    if dec.buffered:
        bad += 1
        print(f"{dec.buffered} trailing byte(s) without a frame delimiter", file=sys.stderr)
    return 1 if bad else 0


def _store(args: argparse.Namespace) -> int:
    bad = 0
    new = old = 0
    frames = _native.PayloadDecoder().feed(_read(args.file), final=True)
    with SQLiteStore(args.db) as store:
        index = 0
        while True:
            index += 1
            try:
                envelope = next(frames)
                if store.add(envelope):
                    new += 1
                else:
                    old += 1
            except StopIteration:
                break
            except (DecodeError, ValidationError) as e:
                bad += 1
                print(f"frame {index}: {type(e).__name__}: {e}", file=sys.stderr)
    print(f"{new} new, {old} already stored, {bad} rejected")
    return 1 if bad else 0


def _report(args: argparse.Namespace) -> int:
    year = args.year or datetime.datetime.now(_CST).year
    with SQLiteStore(args.db) as store:
        report = coverage_report(store, year)
    sys.stdout.write(report.to_markdown())
    return 0


def _fhir(args: argparse.Namespace) -> int:
    with SQLiteStore(args.db) as store:
        bundle = to_fhir_bundle(store.records(), bundle_type=args.type)
    text = dumps(bundle, indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"{len(bundle['entry'])} resources written to {args.output}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    with SQLiteStore(args.db) as store:
        summary = care_home_summary(store, args.year)
    sys.stdout.write(summary.to_text())
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tcmcare", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("decode", help="frames -> JSON lines")
    p.add_argument("file", help="file of frames, or - for stdin")
    p.set_defaults(run=_decode)

    p = sub.add_parser("store", help="add the frames of a file to a SQLite store")
    p.add_argument("db", help="SQLite database (created when missing)")
    p.add_argument("file", help="file of frames, or - for stdin")
    p.set_defaults(run=_store)

    p = sub.add_parser("report", help="KPI coverage report (Markdown)")
    p.add_argument("db", help="SQLite database of the built-in store")
    p.add_argument("--year", type=int, help="reporting year (default: this year, UTC+8)")
    p.set_defaults(run=_report)

    p = sub.add_parser("fhir", help="FHIR R4 Bundle of the stored records")
    p.add_argument("db", help="SQLite database of the built-in store")
    p.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    p.add_argument("--type", choices=["collection", "transaction"], default="collection")
    p.set_defaults(run=_fhir)

    p = sub.add_parser("summary", help="the care home's records, alerts, constitutions and KPIs")
    p.add_argument("db", help="SQLite database of the built-in store")
    p.add_argument("--year", type=int, help="KPI reporting year (default: the newest record's, UTC+8)")
    p.set_defaults(run=_summary)

    args = parser.parse_args(argv)
    status: int = args.run(args)
    return status


def _entry(argv: Optional[List[str]] = None) -> None:
    raise SystemExit(main(argv))
