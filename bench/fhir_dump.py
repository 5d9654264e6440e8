"""FHIR R4 JSON of the canonical records, for the benchmark's size and JSON timing columns.

    python bench/fhir_dump.py CANONICAL.json OUT.json

Reads the canonical envelopes written by ``tcmcare-bench canonical``, decodes each with
the tcmcare Python package, exports it with ``tcmcare.to_fhir`` and writes the compact
JSON text (no whitespace; decimals exact, as ``tcmcare.fhir.dumps`` writes them) as
``{"source": ..., "records": {name: text or null}}``. A record without a FHIR resource of
its own (a correction) maps to null.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any, Dict, Optional

import tcmcare
from tcmcare import fhir


def compact(obj: Any) -> str:
    """JSON text without whitespace, decimals written exactly (36.60 stays 36.60)."""
    if isinstance(obj, Decimal):
        text = str(obj)
        return text if "E" not in text else format(obj, "f")
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(str(k), ensure_ascii=False) + ":" + compact(v) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(compact(v) for v in obj) + "]"
    return json.dumps(obj, ensure_ascii=False)


def main() -> None:
    src, out = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        canonical = json.load(f)
    records: Dict[str, Optional[str]] = {}
    for c in canonical:
        record = tcmcare.decode(bytes.fromhex(c["envelope_hex"]))
        if record.kind == "correction":
            records[c["name"]] = None
            continue
        bundle = tcmcare.to_fhir(record)
        text = compact(bundle)
        # Same document as the package's own writer, only without the spaces.
        assert json.loads(text) == json.loads(fhir.dumps(bundle)), c["name"]
        records[c["name"]] = text
    doc = {
        "source": f"exported by the tcmcare Python package {tcmcare.__version__} "
        "(`tcmcare.to_fhir`), written as compact JSON",
        "records": records,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
