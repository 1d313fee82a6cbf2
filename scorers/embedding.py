"""embedding: retrieval AUC of the description against firing vs non-firing texts (MiniLM, no LLM)."""

from __future__ import annotations

import numpy as np

from sleuth.scorers.registry import ScorerError, ScoringInput, scorer


def auc(pos: list[float], neg: list[float]) -> float:
    """P(score of a random positive > random negative), ties count half."""
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return float(wins / (len(pos) * len(neg)))


@scorer("embedding", "AUC of MiniLM similarity between description and texts, firing vs not firing.",
        needs=("embed", "examples"), reads_words=True)
def embedding(inp: ScoringInput) -> tuple[float, int, dict]:
    """`embed(texts) -> unit vectors` comes with the inputs (the agent passes memory's MiniLM)."""
    description, examples, embed = inp.description, inp.examples, inp.embed
    if not any(e.active for e in examples) or all(e.active for e in examples):
        raise ScorerError("could not score: needs both firing and non-firing examples")
    vectors = np.asarray(embed([description] + [e.text for e in examples]))
    sims = vectors[1:] @ vectors[0]
    pos = [float(s) for s, e in zip(sims, examples) if e.active]
    neg = [float(s) for s, e in zip(sims, examples) if not e.active]
    return auc(pos, neg), len(examples), {}
