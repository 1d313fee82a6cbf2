"""The output folder of a label run: a manifest that says it is one, one JSON file per finished item.

Files are written to a temporary name and renamed, so a kill leaves either the old file or the new.
An existing folder that is not a label run is never written to.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sleuth import run_folder
from sleuth.atomic_files import write_atomically
from sleuth.label.items import LabelInputError
from sleuth.label.records import LabelRecord
from sleuth.label.spec import LabelSpec

MANIFEST = "label_run.json"
KIND = "sleuth-label-run"


def check(out: Path, spec: LabelSpec | None, resume: bool) -> None:
    """Refuse, with one line, an --out that is not this run's (before anything is written).
    Without a spec (before the target is loaded) only the folder's kind is checked."""
    saved = run_folder.claim(out, MANIFEST, "a label run", resume, LabelInputError)
    if saved is not None and spec is not None:
        run_folder.same_settings(saved, spec, out, LabelInputError)


@contextmanager
def held(out: Path, spec: LabelSpec, resume: bool):
    """This process is the folder's one writer for the whole run, checked under its lock."""
    with run_folder.held(out, MANIFEST, "a label run", resume, LabelInputError) as saved:
        if saved is not None:
            run_folder.same_settings(saved, spec, out, LabelInputError)
        yield


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
    return {record.item.key: record for record in run_folder.saved_records(out / "items", LabelRecord)}


@dataclass
class FinishedRun:
    """A label run's folder as its exports read it: its settings, its finished items in unit order, and
    the Neuronpedia explanation lines its last finish wrote."""

    spec: LabelSpec
    records: list[LabelRecord]
    explanation_lines: list[dict]


def read_run(out: Path) -> FinishedRun:
    """One line (exit 2) for a folder that is not a label run."""
    try:
        manifest = json.loads((out / MANIFEST).read_text())
        spec = LabelSpec.model_validate(manifest["spec"])
    except (OSError, ValueError, KeyError, TypeError):
        raise LabelInputError(f"{out} is not a label run folder (no readable {MANIFEST})") from None
    done = finished(out)
    order = {u: i for i, u in enumerate(spec.units)}
    records = sorted(done.values(), key=lambda r: order.get(r.item.index, len(order)))
    lines_file = out / "neuronpedia.jsonl"
    lines = [json.loads(line) for line in lines_file.read_text().splitlines() if line.strip()] if lines_file.is_file() else []
    return FinishedRun(spec=spec, records=records, explanation_lines=lines)
