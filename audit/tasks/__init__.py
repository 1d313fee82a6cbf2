"""Task kinds, one module each, registered by name: the runner looks a kind up, never branches on it."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskKind:
    run: Callable  # (task spec, TaskRecord, JobContext) -> None; raises to fail the task
    title: Callable  # (task spec) -> its one-line heading in the log and the report
    check: Callable  # (task spec, target) -> None; raises SleuthError when the task names what the model lacks


TASK_KINDS: dict[str, TaskKind] = {}


def task_kind(name: str, title: Callable, check: Callable = lambda task, target: None):
    """Register a runner for `kind: name`."""
    def decorate(fn):
        if name in TASK_KINDS:
            raise ValueError(f"task kind '{name}' registered twice")
        TASK_KINDS[name] = TaskKind(run=fn, title=title, check=check)
        return fn
    return decorate


def load_kinds() -> dict[str, TaskKind]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return TASK_KINDS
