"""Typed records a label run passes between stages and writes to DIR (one JSON file per item)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field

from sleuth.label.items import Item
from sleuth.predicates.regex_words import has_rule_syntax
from sleuth.scorers import ScoringExample

RECORD_VERSION = 1
MAX_ATTEMPTS = 3  # tries of an item that keeps failing transiently, over all --resume runs
Status = Literal["validated", "rejected", "failed"]


class Bin(BaseModel):
    """A quantile bin of a unit's activating windows: its index (0 = weakest), the range of its windows'
    peak activations, and its share of the activating windows."""

    index: int
    low: float
    high: float
    share: float


class Window(BaseModel):
    """One example: a corpus window cropped around its peak, with the unit's real activations."""

    window: int  # global window id (ctx.windows)
    document: str
    split: Literal["explain", "heldout", "eval"]  # eval: only when a finished run is scored on the eval split
    kind: Literal["top", "quantile", "random"]
    quantile: int | None = None  # activation quantile bin (0 = weakest) of a quantile sample
    bin: Bin | None = None  # that bin's range and share (absent in records written before it was kept)
    tokens: list[str]
    values: list[float]

    @property
    def max_value(self) -> float:
        return max(self.values) if self.values else 0.0


class Collected(BaseModel):
    item: Item
    fire_threshold: float  # fires at fire_fraction of its strongest explain activation
    frequency: float  # share of explain tokens with activation > 0
    max: float
    explain: list[Window]
    test: list[Window]  # held-out documents only

    def scoring_examples(self) -> list[ScoringExample]:
        source = {"top": "heldout-top", "quantile": "heldout-quantile", "random": "heldout-random"}
        return [ScoringExample(tokens=w.tokens, values=w.values, active=w.max_value >= self.fire_threshold,
                               source=source[w.kind]) for w in self.test]


class Draft(BaseModel):
    label: str
    rule: dict | None = None  # the label as a predicate (plain data), where the preset asks for rules
    by: Literal["explain", "refine", "induced"] = "explain"  # the LLM's explain or refine step, or code's rule search


INDUCED_EXPLAINER = "sleuth-rule-search"  # a label stated by code from its induced rule (no LLM wrote it)


class LabelRecord(BaseModel):
    """The outcome of one item: a failed item has no label, only its reason."""

    version: int = RECORD_VERSION
    item: Item
    status: Status
    label: str | None = None
    rule: dict | None = None
    reason: str | None = None
    scores: list[dict] = Field(default_factory=list)  # every configured scorer's Score, in order
    rounds: list[dict] = Field(default_factory=list)  # refinement: each round's draft and verdict
    fire_threshold: float | None = None
    frequency: float | None = None
    max_activation: float | None = None
    test: list[Window] = Field(default_factory=list)  # the held-out examples it was scored on
    explain_windows: list[int] = Field(default_factory=list)
    llm_tokens: int = 0
    llm_calls: int = 0
    seconds: float = 0.0
    description_id: str | None = None
    evidence_ids: list[str] = Field(default_factory=list)
    explainer: str = ""  # the LLM that wrote the label, or INDUCED_EXPLAINER when code's rule search did
    transient: bool = False  # failed for a reason that may pass (a timeout, a malformed reply, a 5xx, a dead worker)
    attempts: int = 1  # runs that tried this item (a transient failure is tried again by --resume)

    @computed_field
    @property
    def written_by(self) -> str | None:
        """Who wrote the label: code (its rule search's rule said in words) or the LLM."""
        if not self.label:
            return None
        return "code" if self.explainer == INDUCED_EXPLAINER else "llm"

    @computed_field
    @property
    def rule_syntax(self) -> bool:
        """The label's words carry a regex, JSON or a predicate key."""
        return has_rule_syntax(self.label or "")

    @property
    def retried_on_resume(self) -> bool:
        """A transient failure is labeled again by --resume, up to MAX_ATTEMPTS in all; a permanent one (a dead
        latent, a tool's refusal) is kept with its reason."""
        return self.status == "failed" and self.transient and self.attempts < MAX_ATTEMPTS

    def score(self, name: str) -> dict | None:
        return next((s for s in self.scores if s["scorer"] == name), None)
