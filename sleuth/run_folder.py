"""A run's output folder (`sleuth label`, `sleuth eval find`, `sleuth audit`): a manifest file says which run it holds.

A folder that holds something else is never written to, and a run is continued only with --resume.
One process writes a folder at a time: `held` checks the folder, takes its writer lock for the whole run,
and checks it again under the lock, so two runs started together cannot both pass the check.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ValidationError

from sleuth.errors import SleuthError
from sleuth.locks import file_lock

WRITER_LOCK = ".writer.lock"  # inside the folder; the kernel drops it when its holder dies


def claim(out: Path, manifest: str, what: str, resume: bool, error: type[SleuthError]) -> dict | None:
    """Refuse, with one line, an --out that cannot hold this run (before anything is written).
    Returns the saved manifest when the folder holds a run to continue, None for a new one."""
    if out.exists() and not out.is_dir():
        raise error(f"--out {out} is a file, not a folder")
    path = out / manifest
    if path.is_file():
        try:
            saved = json.loads(path.read_text())
        except json.JSONDecodeError:
            saved = None
        if not isinstance(saved, dict):  # not JSON, or JSON that is no manifest (`null` would read as "no run")
            raise error(f"{path} is unreadable; not continuing a run it cannot identify")
        if not resume:
            raise error(f"{out} already holds {what}; pass --resume to continue it, or choose another --out")
        return saved
    if resume:
        raise error(f"--resume: {out} holds no {what} to continue")
    if out.is_dir() and any(p.name != WRITER_LOCK for p in out.iterdir()):
        raise error(f"--out {out} exists and is not {what}; it is never overwritten (choose an empty folder)")
    return None


@contextmanager
def writer_lock(out: Path, what: str):
    """Be the one process writing `out` (made if absent); a second writer is refused in one line naming
    the holder's pid (LockBusy, exit 2)."""
    out.mkdir(parents=True, exist_ok=True)
    with file_lock(out / WRITER_LOCK, timeout_s=0, what=f"{what} {out}"):
        yield


@contextmanager
def held(out: Path, manifest: str, what: str, resume: bool, error: type[SleuthError]):
    """`claim` and `writer_lock` together, for the whole run: yields what `claim` returns under the lock."""
    claim(out, manifest, what, resume, error)  # a folder that is not ours is refused before a lock file is made in it
    with writer_lock(out, what):
        yield claim(out, manifest, what, resume, error)


def same_settings(saved: dict, spec: BaseModel, out: Path, error: type[SleuthError]) -> None:
    """One line naming what changed when a resumed run's settings differ from the saved ones."""
    if saved.get("fingerprint") == spec.fingerprint():
        return
    old, new = saved.get("spec", {}), spec.model_dump()
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    raise error(f"--resume with different settings than the run in {out} (changed: {', '.join(changed)})")


def saved_records(folder: Path, model: type[BaseModel]) -> list[BaseModel]:
    """The records a run has written to `folder` (one JSON file each); a file that does not parse is not done."""
    records = []
    for path in sorted(folder.glob("*.json")):
        try:
            records.append(model.model_validate_json(path.read_text()))
        except (ValidationError, ValueError):
            continue
    return records
