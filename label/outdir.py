"""The output folder of a label run: a manifest that says it is one, one JSON file per finished item.

Files are written to a temporary name and renamed, so a kill leaves either the old file or the new.
An existing folder that is not a label run is never written to.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from sleuth.atomic_files import write_atomically
from sleuth.label.items import LabelInputError
from sleuth.label.records import LabelRecord
from sleuth.label.spec import LabelSpec

MANIFEST = "label_run.json"
KIND = "sleuth-label-run"


def check(out: Path, spec: LabelSpec | None, resume: bool) -> None:
    """Refuse, with one line, an --out that is not this run's (before anything is written).
    Without a spec (before the target is loaded) only the folder's kind is checked."""
    manifest = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise LabelInputError(f"--out {out} is a file, not a folder")
    if manifest.is_file():
        try:
            saved = json.loads(manifest.read_text())
        except json.JSONDecodeError:
            raise LabelInputError(f"{manifest} is unreadable; not continuing a run it cannot identify") from None
        if not resume:
            raise LabelInputError(f"{out} already holds a label run; pass --resume to continue it, or choose another --out")
        if spec is not None and saved.get("fingerprint") != spec.fingerprint():
            old = saved.get("spec", {})
            changed = sorted(k for k in set(old) | set(spec.model_dump()) if old.get(k) != spec.model_dump().get(k))
            raise LabelInputError(f"--resume with different settings than the run in {out} (changed: {', '.join(changed)})")
        return
    if resume:
        raise LabelInputError(f"--resume: {out} holds no label run to continue")
    if out.is_dir() and any(out.iterdir()):
        raise LabelInputError(f"--out {out} exists and is not a label run; it is never overwritten (choose an empty folder)")


def start(out: Path, spec: LabelSpec) -> None:
    if not (out / MANIFEST).is_file():
        write_atomically(out / MANIFEST, json.dumps({"kind": KIND, "version": 1, "fingerprint": spec.fingerprint(),
                                                     "spec": spec.model_dump()}, indent=2))


def item_path(out: Path, key: str) -> Path:
    return out / "items" / f"{key}.json"


def save(out: Path, record: LabelRecord) -> None:
    write_atomically(item_path(out, record.item.key), record.model_dump_json(indent=1))


def finished(out: Path) -> dict[str, LabelRecord]:
    """Items already done (a file that does not parse is treated as not done)."""
    done = {}
    for path in sorted((out / "items").glob("*.json")):
        try:
            record = LabelRecord.model_validate_json(path.read_text())
        except (ValidationError, ValueError):
            continue
        done[record.item.key] = record
    return done
