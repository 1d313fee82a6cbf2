"""Whole-file writes that a kill cannot tear: write a temporary name, fsync, rename. A temporary file left
by a writer that was killed is removed by the next writer of the same file."""

from __future__ import annotations

import os
import zipfile
from contextlib import contextmanager
from pathlib import Path

from sleuth.locks import process_alive


def _remove_stale_temporaries(path: Path) -> None:
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        pid = stale.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not process_alive(int(pid)):
            stale.unlink(missing_ok=True)


@contextmanager
def temporary_beside(path: Path):
    """A temporary path beside `path` (for a writer that takes a file name, such as another library's); on a clean
    exit it is renamed over `path`. Stale temporaries of killed writers are removed first, as for every write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _replacing(path: Path, mode: str):
    """A handle on a temporary beside `path`; on a clean exit it is synced and renamed over `path`."""
    with temporary_beside(path) as tmp:
        with tmp.open(mode, **({"encoding": "utf-8"} if "b" not in mode else {})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


def write_atomically(path: Path, text: str) -> None:
    """A kill leaves the old file or the new one, never half of one."""
    with _replacing(path, "w") as handle:
        handle.write(text)


def write_bytes_atomically(path: Path, data: bytes) -> None:
    with _replacing(path, "wb") as handle:
        handle.write(data)


def save_arrays_atomically(path: Path, **arrays) -> None:
    """np.savez through a temporary name: a kill never leaves a torn .npz behind."""
    import numpy as np  # here, so that light modules (the CLI's --help) can import this file

    with _replacing(path, "wb") as handle:
        np.savez(handle, **arrays)


def load_arrays(path: Path, names: tuple[str, ...]) -> dict | None:
    """The named arrays of an .npz, or None when it is absent or unreadable (an unreadable one is removed,
    so it is rebuilt)."""
    import numpy as np

    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            return {name: data[name] for name in names}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        path.unlink(missing_ok=True)
        return None
