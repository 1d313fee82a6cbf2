"""The scorer registry: one decorator, one typed result, "failed" and "unscored" as real states."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from sleuth.errors import SleuthError

NOT_SCORERS = {"registry", "examples"}  # every other module of this package registers scorers


class ScorerError(SleuthError):
    """A scorer could not produce a score (the reason is recorded, never a made-up value)."""


class Score(BaseModel):
    scorer: str
    status: Literal["scored", "failed", "unscored", "not_applicable"]
    value: float | None = None
    threshold: float | None = None
    passed: bool | None = None
    reason: str | None = None
    n: int = 0
    details: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class ScorerSpec:
    name: str
    description: str
    needs: tuple[str, ...]  # inputs that must be given (not None, not empty), else the score is "unscored"
    fn: Callable[..., tuple[float, int, dict]]  # -> (value, n, details); raises ScorerError
    reads_words: bool = False  # scores the description's text (a judge or an embedding), not only its rule

    @property
    def needs_llm(self) -> bool:
        return "llm" in self.needs


SCORERS: dict[str, ScorerSpec] = {}


def scorer(name: str, description: str, needs: tuple[str, ...] = (), reads_words: bool = False):
    def decorate(fn):
        if name in SCORERS:
            raise ValueError(f"scorer '{name}' is already registered")
        SCORERS[name] = ScorerSpec(name, description, tuple(needs), fn, reads_words)
        return fn

    return decorate


def load_all() -> None:
    import sleuth.scorers as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in NOT_SCORERS:
            importlib.import_module(f"sleuth.scorers.{module.name}")


def get_scorer(name: str) -> ScorerSpec:
    load_all()
    if name not in SCORERS:
        raise ScorerError(f"unknown scorer '{name}'; available: {', '.join(sorted(SCORERS))}")
    return SCORERS[name]


def not_applicable(name: str, threshold: float, why: str) -> Score:
    """A configured scorer that does not apply to this description (the reason is stored with it)."""
    return Score(scorer=name, status="not_applicable", threshold=threshold, reason=why)


def run_scorer(name: str, threshold: float, **inputs) -> Score:
    """Run one scorer; its failure becomes a Score with status "failed" and the reason."""
    from sleuth.llm.errors import LLMError

    spec = get_scorer(name)
    missing = [need for need in spec.needs if inputs.get(need) is None or inputs.get(need) == []]
    if missing:
        return Score(scorer=name, status="unscored", threshold=threshold, reason=f"needs {', '.join(missing)}")
    try:
        value, n, details = spec.fn(**inputs)
    except ScorerError as exc:
        return Score(scorer=name, status="failed", threshold=threshold, reason=str(exc))
    except LLMError as exc:
        return Score(scorer=name, status="failed", threshold=threshold, reason=f"LLM: {exc}")
    return Score(scorer=name, status="scored", value=round(value, 4), threshold=threshold, passed=value >= threshold,
                 n=n, details=details)
