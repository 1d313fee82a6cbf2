"""JSONL export and import of a whole store (lossless round trip)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from sleuth.memory.records import MODEL_OF, kind_of
from sleuth.memory.store import StoreError


def export_jsonl(store, path: Path) -> int:
    if not path.parent.is_dir():
        raise StoreError(f"cannot export to {path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise StoreError(f"cannot export to {path}: it is a folder; give a file name such as {path / 'memory.jsonl'}")
    records = store.all()
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as f:
        for record in records:
            f.write(json.dumps({"kind": kind_of(record), "record": record.model_dump(mode="json")}, sort_keys=True) + "\n")
    tmp.replace(path)
    return len(records)


IMPORT_BATCH = 32  # records per write: each batch is stored whole or not at all


def import_jsonl(store, path: Path, on_batch=lambda done, total: None) -> int:
    if not path.is_file():
        raise StoreError(f"no such file: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise StoreError(f"{path} is not UTF-8 text; a memory export is JSONL written by `sleuth memory export`") from None
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            records.append(MODEL_OF[row["kind"]].model_validate(row["record"]))
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise StoreError(f"{path}:{n}: not a sleuth record ({type(exc).__name__})") from None
    for start in range(0, len(records), IMPORT_BATCH):  # a kill keeps the batches already stored; a rerun writes them again, unchanged
        store.put(records[start : start + IMPORT_BATCH], keep_versions=True)
        on_batch(min(start + IMPORT_BATCH, len(records)), len(records))
    return len(records)
