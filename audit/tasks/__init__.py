"""Task kinds, one module each, registered by name: the runner looks a kind up, never branches on it."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

TaskRunner = Callable  # (task spec, TaskRecord, JobContext) -> None; raises to fail the task
TASK_KINDS: dict[str, TaskRunner] = {}
TITLES: dict[str, Callable] = {}


def task_kind(name: str, title: Callable):
    """Register a runner for `kind: name`; `title(task)` is its one-line heading in the log and report."""
    def decorate(fn):
        if name in TASK_KINDS:
            raise ValueError(f"task kind '{name}' registered twice")
        TASK_KINDS[name] = fn
        TITLES[name] = title
        return fn
    return decorate


def load_kinds() -> dict[str, TaskRunner]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return TASK_KINDS
