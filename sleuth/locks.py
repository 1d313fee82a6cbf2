"""One file lock for every process-shared thing under SLEUTH_HOME or a run folder (flock: released by the
kernel when its holder dies, so a kill -9 never leaves a stale lock behind)."""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

from sleuth.errors import SleuthError


class LockBusy(SleuthError):
    """Another process holds the lock (one line, exit 2)."""


@contextmanager
def file_lock(path: Path, timeout_s: float | None = None, what: str = ""):
    """Hold an exclusive lock on `path`. timeout_s None waits forever; 0 fails at once if it is held."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        began = time.monotonic()
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if timeout_s is None else fcntl.LOCK_NB))
                break
            except BlockingIOError:
                if time.monotonic() - began >= timeout_s:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise LockBusy(f"{what or path} is in use by {holder} (lock {path})") from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def process_alive(pid: int) -> bool:
    """`pid` runs, ours or another user's (a zombie, ours or anyone's, counts as dead; ours is reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child counts as dead (and is reaped)
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False
    except ChildProcessError:
        pass
    try:  # so does someone else's zombie, which its parent (or init) has not reaped yet
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
