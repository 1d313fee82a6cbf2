"""What activation scorers score on: texts with real per-token activations."""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel

Source = Literal["heldout-top", "heldout-quantile", "heldout-random"]  # validation rests on held-out documents only


class ScoringExample(BaseModel):
    tokens: list[str]
    values: list[float]
    active: bool  # the real label: did the component fire on this text
    source: Source

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def peak(self) -> int:
        return max(range(len(self.values)), key=lambda i: self.values[i])


def balanced(examples: list[ScoringExample], limit: int, seed: int = 0) -> list[tuple[int, ScoringExample]]:
    """Up to limit/2 active and limit/2 inactive examples with their indices, in a seeded shuffled order:
    no fixed pattern (firing, quiet, firing, ...) for a judge to follow, and the share of firing
    examples differs from batch to batch."""
    indexed = list(enumerate(examples))
    pos = [(i, e) for i, e in indexed if e.active][: limit // 2]
    neg = [(i, e) for i, e in indexed if not e.active][: limit - len(pos)]
    mixed = pos + neg
    random.Random(seed).shuffle(mixed)
    return mixed


def balanced_accuracy(truth: list[bool], guess: list[bool]) -> float:
    pos = [g for t, g in zip(truth, guess) if t]
    neg = [not g for t, g in zip(truth, guess) if not t]
    return (sum(pos) / len(pos) + sum(neg) / len(neg)) / 2


def batches(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class SteeredText(BaseModel):
    """One held-out prompt continued twice by the target: as it is, and with the unit pushed up."""

    prompt: str
    baseline: str
    steered: str

    @property
    def changed(self) -> bool:
        return self.steered != self.baseline
