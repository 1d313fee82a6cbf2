"""Short views of activation examples: what the LLM reads and what scorers score."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

SPAN = 20  # tokens of a cropped window: the peak, the 16 before it and AFTER after it
BEFORE, AFTER = 16, 3  # tokens the LLM reads around a peak: in a causal model its activation depends
# only on the tokens up to it; the few after show the rest of its word


def crop(tokens: list[str], values: list[float], span: int = SPAN, seed: int = 0) -> tuple[list[str], list[float]]:
    """A window of `span` tokens ending AFTER tokens past the peak (or around a seeded spot when nothing fires)."""
    if len(tokens) <= span:
        return tokens, values
    peak = max(range(len(values)), key=lambda i: values[i])
    if values[peak] <= 0:
        peak = (seed * 7919) % len(tokens)
    start = min(max(0, peak - (span - AFTER - 1)), len(tokens) - span)
    return tokens[start : start + span], values[start : start + span]


def marked(tokens: list[str], values: list[float], before: int = BEFORE, after: int = AFTER) -> str:
    """The text up to the strongest token, marked [[like this]], and `after` tokens past it."""
    peak = max(range(len(values)), key=lambda i: values[i])
    start = max(0, peak - before)
    return "".join(f"[[{t}]]" if i == peak else t for i, t in enumerate(tokens[start:peak + after + 1], start))


def counted(tokens: Iterable[str], limit: int | None = None) -> list[str]:
    """Tokens, stripped, most frequent first, repeats counted ("'such' (2)", "'g'"): the tokens a small
    LLM should name in a rule; without them it copies whole lines."""
    counts = Counter(t.strip() for t in tokens if t.strip())
    return [f"{t!r} ({n})" if n > 1 else repr(t) for t, n in counts.most_common(limit)]
