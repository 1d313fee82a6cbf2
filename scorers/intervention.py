"""intervention: does pushing the unit up change the target's outputs the way the words say?

The caller continues held-out prompts twice with the target, as it is and with the unit (an SAE
latent's decoder row, a neuron) pushed up (`SteeredText`). For each pair that steering changed, an
LLM reads the description and both continuations, in a seeded order with the steered one first in
exactly half the pairs, and picks the one that shows the described feature. The score is the share
of right picks (chance 0.5: a judge that ignores the words, or always picks A, scores about 0.5).
Every pair, its order and the judge's pick are kept in the details ("pairs").
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import Field, create_model

from sleuth.prompts import render
from sleuth.scorers.examples import batches
from sleuth.scorers.registry import ScorerError, ScoringInput, scorer

BATCH = 4
MIN_CHANGED = 2  # fewer changed continuations than this say nothing about the words


def picks_model(n: int):
    """{"picks": ["A"|"B" × n]}: the length is fixed so a grammar-constrained server cannot miscount."""
    return create_model("SteeringPicks", picks=(list[Literal["A", "B"]], Field(min_length=n, max_length=n)))


def _orders(n: int, seed: int) -> list[bool]:
    """Whether the steered continuation is shown as A, per pair: exactly half of them, seeded order."""
    first = [i < n // 2 for i in range(n)]
    if n % 2:
        first[-1] = random.Random(seed).random() < 0.5
    random.Random(seed).shuffle(first)
    return first


def _ask(llm, description: str, pairs: list[dict]) -> list[str]:
    model = picks_model(len(pairs))
    prompt = render("intervention", description=description, pairs=pairs)
    reply = llm.structured([{"role": "user", "content": prompt}], model, max_tokens=16 + 6 * len(pairs))
    return list(reply.picks)


@scorer("intervention", "Share of held-out prompts where an LLM, from the description, picks the continuation "
        "generated with the unit pushed up over the unchanged one.", needs=("llm", "steering"), reads_words=True)
def intervention(inp: ScoringInput) -> tuple[float, int, dict]:
    changed = [s for s in inp.steering if s.changed][: inp.limit or 16]
    if len(changed) < MIN_CHANGED:
        raise ScorerError(f"steering the unit changed {len(changed)} of {len(inp.steering)} continuations; "
                          f"its output effect cannot be judged")
    first = _orders(len(changed), inp.seed)
    pairs = [{"prompt": s.prompt, "a": s.steered if f else s.baseline, "b": s.baseline if f else s.steered}
             for s, f in zip(changed, first)]
    picks = []
    for group in batches(pairs, inp.batch or BATCH):
        picks += _ask(inp.llm, inp.description, group)
    right = [(p == "A") == f for p, f in zip(picks, first)]
    judged = [{**pair, "steered": "A" if f else "B", "pick": p, "correct": r}
              for pair, f, p, r in zip(pairs, first, picks, right)]
    return sum(right) / len(right), len(right), {"changed": len(changed), "prompts": len(inp.steering),
                                                 "pairs": judged}
