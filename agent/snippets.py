"""Short views of activation examples: what the LLM reads and what scorers score."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

SPAN = 20  # tokens of a cropped window: the peak, the 16 before it and AFTER after it
AFTER = 3  # in a causal model a token's activation depends only on the tokens up to it; the few after
# show the rest of its word (a peak near a window's start gets more after, to fill the span)


def crop(tokens: list[str], values: list[float], span: int = SPAN, seed: int = 0) -> tuple[list[str], list[float]]:
    """A window of `span` tokens ending AFTER tokens past the peak (or a seeded spot when nothing fires)."""
    if len(tokens) <= span:
        return tokens, values
    peak = max(range(len(values)), key=lambda i: values[i])
    if values[peak] <= 0:
        peak = (seed * 7919) % len(tokens)
    start = min(max(0, peak - (span - AFTER - 1)), len(tokens) - span)
    return tokens[start : start + span], values[start : start + span]


def marked(tokens: list[str], values: list[float], span: int = SPAN) -> str:
    """Cropped text with the strongest token marked [[like this]]."""
    toks, vals = crop(tokens, values, span)
    peak = max(range(len(vals)), key=lambda i: vals[i])
    return "".join(f"[[{t}]]" if i == peak else t for i, t in enumerate(toks))


def counted(tokens: Iterable[str], limit: int | None = None) -> list[str]:
    """Tokens, stripped, most frequent first, repeats counted ("'such' (2)", "'g'"): the tokens a small
    LLM should name in a rule; without them it copies whole lines."""
    counts = Counter(t.strip() for t in tokens if t.strip())
    return [f"{t!r} ({n})" if n > 1 else repr(t) for t, n in counts.most_common(limit)]
