"""The scorer registry: one decorator, one typed result, "failed" and "unscored" as real states."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sleuth.errors import SleuthError
from sleuth.scorers.examples import ScoringExample, SteeredText

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


class ScoringInput(BaseModel):
    """Everything a scorer may read, typed. A caller fills what it measured; a scorer declares what it needs
    (`needs`), and a need left unset makes the score "unscored" with the reason, never a made-up value."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    description: str | None = None  # the words under test
    examples: list[ScoringExample] | None = None  # held-out examples: tokens, values, active
    llm: Any = None  # a judge: sleuth.llm.LLMClient
    embed: Any = None  # texts -> unit vectors (MiniLM)
    rule: dict | None = None  # the description's executable rule (predicate language)
    fire_threshold: float | None = None  # activation at which the unit counts as firing
    judged: list[dict] | None = None  # a judge's answers, passed on to the scorers that compare with them
    fresh_value: float | None = None  # a re-measurement on fresh prompts ...
    population: list[float] | None = None  # ... and its peers' values
    rule_value: float | None = None  # a head's attention mass on its rule's targets, held-out ...
    rule_population: list[float] | None = None  # ... and every head's
    attention_texts: list[list[str]] | None = None  # held-out token lists ...
    attention_queries: list[dict] | None = None  # ... and the query positions an LLM predicts
    stated_relation: str | None = None  # the attention relation code's own words state (no reader needed)
    steering: list[SteeredText] | None = None  # held-out prompts continued with and without the unit pushed up
    limit: int | None = None  # examples judged (default: the scorer's own)
    batch: int | None = None  # examples per judge prompt
    seed: int = 0

    def lacks(self, need: str) -> bool:
        value = getattr(self, need)
        return value is None or value == []


@dataclass(frozen=True)
class ScorerSpec:
    name: str
    description: str
    needs: tuple[str, ...]  # inputs that must be given (not None, not empty), else the score is "unscored"
    fn: Callable[[ScoringInput], tuple[float, int, dict]]  # -> (value, n, details); raises ScorerError
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


def run_scorer(name: str, threshold: float, inputs: ScoringInput | None = None, **fields) -> Score:
    """Run one scorer on `inputs` (or a ScoringInput made of `fields`); its failure becomes a Score with
    status "failed" and the reason; an unmet need, "unscored"."""
    from sleuth.llm.errors import LLMError

    spec = get_scorer(name)
    inputs = inputs if inputs is not None else ScoringInput(**fields)
    missing = [need for need in spec.needs if inputs.lacks(need)]
    if missing:
        return Score(scorer=name, status="unscored", threshold=threshold, reason=f"needs {', '.join(missing)}")
    try:
        value, n, details = spec.fn(inputs)
    except ScorerError as exc:
        return Score(scorer=name, status="failed", threshold=threshold, reason=str(exc))
    except LLMError as exc:
        return Score(scorer=name, status="failed", threshold=threshold, reason=f"LLM: {exc}")
    return Score(scorer=name, status="scored", value=round(value, 4), threshold=threshold, passed=value >= threshold,
                 n=n, details=details)
