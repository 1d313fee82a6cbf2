"""JSONL export and import of a whole store (lossless round trip)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from sleuth.memory.records import MODEL_OF, kind_of
from sleuth.memory.store import StoreError


def export_jsonl(store, path: Path) -> int:
    records = store.all()
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as f:
        for record in records:
            f.write(json.dumps({"kind": kind_of(record), "record": record.model_dump(mode="json")}, sort_keys=True) + "\n")
    tmp.replace(path)
    return len(records)


def import_jsonl(store, path: Path) -> int:
    if not path.is_file():
        raise StoreError(f"no such file: {path}")
    records = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            records.append(MODEL_OF[row["kind"]].model_validate(row["record"]))
        except (ValueError, KeyError, ValidationError) as exc:
            raise StoreError(f"{path}:{n}: not a sleuth record ({type(exc).__name__})") from None
    store.put(records, keep_versions=True)
    return len(records)
