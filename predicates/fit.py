"""How well a rule fits measured activations: token-level precision, recall and F1 of "fires",
and the correlation of the rule's per-token values with the real ones (OpenAI's simulation
score, computed exactly, with no LLM). Pure code: the agent, the `rule` scorer and the evals use it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from pydantic import BaseModel, Field

from sleuth.predicates.component import Graded, SyntheticComponent
from sleuth.predicates.tokens import TokenView

SHOWN = 4  # false positives / negatives kept as examples
CONTEXT = 6  # tokens of context before a shown token
AFTER = 2  # ... and after it (the rest of its word)


class Agreement(BaseModel):
    precision: float
    recall: float
    f1: float
    balanced_accuracy: float
    tokens: int
    texts: int


class RuleFit(Agreement):
    correlation: float
    false_positives: list[str] = Field(default_factory=list)  # "...context [[token]] context..."
    false_negatives: list[str] = Field(default_factory=list)


def agreement(truth: Sequence[bool], guess: Sequence[bool], texts: int) -> Agreement:
    """Precision, recall, F1 and balanced accuracy of per-token guesses against the truth."""
    tp = sum(t and g for t, g in zip(truth, guess))
    fp = sum(g and not t for t, g in zip(truth, guess))
    fn = sum(t and not g for t, g in zip(truth, guess))
    tn = len(truth) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    rates = [r for r in (tp / (tp + fn) if tp + fn else None, tn / (tn + fp) if tn + fp else None) if r is not None]
    return Agreement(precision=round(precision, 4), recall=round(recall, 4), f1=round(f1, 4),
                     balanced_accuracy=round(sum(rates) / len(rates), 4) if rates else 0.5,
                     tokens=len(truth), texts=texts)


def correlation(a: Sequence[float], b: Sequence[float]) -> float:
    """Pearson correlation; 0.0 when either side is constant."""
    n = len(a)
    if n < 2:
        return 0.0
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va, vb = sum((x - ma) ** 2 for x in a), sum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb) if va > 0 and vb > 0 else 0.0


def percentile_rank(value: float, population: Sequence[float]) -> tuple[int, float]:
    """(rank, percentile) of a value among its peers: rank 1 and percentile 1.0 = the largest; ties share."""
    below = sum(v < value for v in population) + 0.5 * (sum(v == value for v in population) - 1)
    return 1 + sum(v > value for v in population), round(below / max(len(population) - 1, 1), 4)


TIE = 0.1  # peers within this share of the population's range of a value are level with it


def standing(value: float, population: Sequence[float], tie: float = TIE) -> float:
    """How a value stands among its peers. Clearly above the population's median (by more than `tie` of
    its range): the share of peers not clearly above it (1.0: none is). Otherwise its plain percentile.
    Heads of one kind measure within noise of each other (four induction heads at 0.93-0.95 of 8): rank
    among them is noise, and a plain percentile would pass only the first; a value level with the bulk
    of its peers stays as low as its percentile."""
    if len(population) < 2:
        return 1.0
    margin = tie * (max(population) - min(population))
    if value <= statistics.median(population) + margin:
        return percentile_rank(value, population)[1]
    return round(1 - sum(v > value + margin for v in population) / (len(population) - 1), 4)


def _shown(tokens: list[str], i: int) -> str:
    """The token in its context: CONTEXT tokens before it (what a causal model saw) and AFTER past it."""
    left, right = "".join(tokens[max(0, i - CONTEXT):i]), "".join(tokens[i + 1:i + 1 + AFTER])
    return f"...{left}[[{tokens[i]}]]{right}..."


def rule_values(rule, tokens: list[str], value: float | Graded = 1.0) -> list[float]:
    """The rule's per-token values on a text (its predicate graded as a synthetic component would be)."""
    return SyntheticComponent(fn=rule, value=value).clean(TokenView(list(tokens)))


def fit(rule, windows: Sequence[tuple[Sequence[str], Sequence[float]]], threshold: float,
        value: float | Graded = 1.0) -> RuleFit:
    """The rule against windows of (tokens, real activations); a token fires when its activation >= threshold."""
    truth, guess, predicted, real, fps, fns = [], [], [], [], [], []
    for tokens, values in windows:
        tokens = list(tokens)
        ours = rule_values(rule, tokens, value)
        for i, (mine, theirs) in enumerate(zip(ours, values)):
            fires, holds = theirs >= threshold, mine > 0
            truth.append(fires)
            guess.append(holds)
            predicted.append(mine)
            real.append(float(theirs))
            if holds and not fires and len(fps) < SHOWN:
                fps.append(_shown(tokens, i))
            if fires and not holds and len(fns) < SHOWN:
                fns.append(_shown(tokens, i))
    scores = agreement(truth, guess, len(windows))
    return RuleFit(**scores.model_dump(), correlation=round(correlation(predicted, real), 4),
                   false_positives=fps, false_negatives=fns)


def text_fires(rule, tokens: Sequence[str]) -> bool:
    """Does the rule fire anywhere in the text (the text-level prediction detection is compared with)?"""
    return any(v > 0 for v in rule_values(rule, list(tokens)))
