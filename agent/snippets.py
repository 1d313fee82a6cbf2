"""Short views of activation examples: what the LLM reads and what scorers score."""

from __future__ import annotations

SPAN = 24  # tokens around the peak


def crop(tokens: list[str], values: list[float], span: int = SPAN, seed: int = 0) -> tuple[list[str], list[float]]:
    """A window of `span` tokens around the peak (or a seeded spot when nothing fires)."""
    if len(tokens) <= span:
        return tokens, values
    peak = max(range(len(values)), key=lambda i: values[i])
    if values[peak] <= 0:
        peak = (seed * 7919) % len(tokens)
    start = min(max(0, peak - span * 2 // 3), len(tokens) - span)
    return tokens[start : start + span], values[start : start + span]


def marked(tokens: list[str], values: list[float], span: int = SPAN) -> str:
    """Cropped text with the strongest token marked [[like this]]."""
    toks, vals = crop(tokens, values, span)
    peak = max(range(len(vals)), key=lambda i: vals[i])
    return "".join(f"[[{t}]]" if i == peak else t for i, t in enumerate(toks))
