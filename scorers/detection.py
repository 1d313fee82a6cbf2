"""detection and fuzzing: can an LLM, from the description alone, tell where the component fires?

- detection: judge whole texts (fires / does not fire); balanced accuracy.
- fuzzing: one token per text is marked; judge whether the marked token is where the
  described feature fires (the peak on active texts, a random token otherwise).
"""

from __future__ import annotations

import random

from pydantic import Field, create_model

from sleuth.prompts import render
from sleuth.scorers.examples import ScoringExample, balanced, balanced_accuracy, batches
from sleuth.scorers.registry import ScorerError, scorer

BATCH = 8


def judgement_model(n: int):
    """{"answers": [bool × n]}: the length is fixed so a grammar-constrained server cannot miscount."""
    return create_model("Judgements", answers=(list[bool], Field(min_length=n, max_length=n)))


def _judge(llm, description: str, texts: list[str], template: str) -> list[bool]:
    model = judgement_model(len(texts))
    prompt = render(template, description=description, texts=texts)
    reply = llm.structured([{"role": "user", "content": prompt}], model, max_tokens=16 + 8 * len(texts))
    return list(reply.answers)


def _require(llm, examples: list[ScoringExample]) -> None:
    if llm is None:
        raise ScorerError("needs an LLM endpoint")
    if not any(e.active for e in examples) or all(e.active for e in examples):
        raise ScorerError("needs both firing and non-firing examples")


@scorer("detection", "Balanced accuracy of an LLM judging from the description whether a text fires.", needs_llm=True)
def detection(description: str, examples: list[ScoringExample], llm=None, limit: int = 16, **_) -> tuple[float, int, dict]:
    _require(llm, examples)
    chosen = balanced(examples, limit)
    guesses = []
    for group in batches(chosen, BATCH):
        guesses += _judge(llm, description, [e.text for e in group], "detection")
    truth = [e.active for e in chosen]
    wrong = [e.text[:80] for e, g in zip(chosen, guesses) if g != e.active][:4]
    return balanced_accuracy(truth, guesses), len(chosen), {"misjudged": wrong}


def _mark(example: ScoringExample, index: int) -> str:
    return "".join(f"[[{t}]]" if i == index else t for i, t in enumerate(example.tokens))


@scorer("fuzzing", "Balanced accuracy of an LLM judging whether the marked token is where the feature fires.", needs_llm=True)
def fuzzing(description: str, examples: list[ScoringExample], llm=None, limit: int = 16, seed: int = 0,
            **_) -> tuple[float, int, dict]:
    _require(llm, examples)
    rng = random.Random(seed)
    chosen = balanced(examples, limit)
    marked = [_mark(e, e.peak if e.active else rng.randrange(len(e.tokens))) for e in chosen]
    guesses = []
    for group in batches(marked, BATCH):
        guesses += _judge(llm, description, group, "fuzzing")
    return balanced_accuracy([e.active for e in chosen], guesses), len(chosen), {}
