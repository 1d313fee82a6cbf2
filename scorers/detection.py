"""detection and fuzzing: can an LLM, from the description alone, tell where the component fires?

- detection: judge whole texts (fires / does not fire); balanced accuracy.
- fuzzing: one token per text is marked; judge whether the marked token is where the
  described feature fires (the peak on active texts, a random token otherwise).

Examples reach the judge in a seeded shuffled order; every judged example and the judge's
answer are kept in the score's details, so a score can be audited.
"""

from __future__ import annotations

import random

from pydantic import Field, create_model

from sleuth.prompts import render
from sleuth.scorers.examples import ScoringExample, balanced, balanced_accuracy, batches
from sleuth.scorers.registry import ScorerError, ScoringInput, scorer

BATCH = 8


def judgement_model(n: int):
    """{"answers": [bool × n]}: the length is fixed so a grammar-constrained server cannot miscount."""
    return create_model("Judgements", answers=(list[bool], Field(min_length=n, max_length=n)))


def _judge(llm, description: str, texts: list[str], template: str) -> list[bool]:
    model = judgement_model(len(texts))
    prompt = render(template, description=description, texts=texts)
    # the prompt already asks for the answers and a grammar enforces their count: a brief, not the schema
    brief = f'Reply with one JSON object and nothing else: {{"answers": [{len(texts)} true/false values, in order]}}.'
    reply = llm.structured([{"role": "user", "content": prompt}], model, max_tokens=16 + 8 * len(texts), brief=brief)
    return list(reply.answers)


def _both_kinds(examples: list[ScoringExample]) -> None:
    if not any(e.active for e in examples) or all(e.active for e in examples):
        raise ScorerError("could not score: needs both firing and non-firing examples")


def _judged(chosen: list[tuple[int, ScoringExample]], shown: list[str], answers: list[bool]) -> list[dict]:
    return [{"example": i, "text": text[:200], "active": e.active, "answer": a}
            for (i, e), text, a in zip(chosen, shown, answers)]


def precision_recall(truth: list[bool], guess: list[bool]) -> dict:
    hits = sum(t and g for t, g in zip(truth, guess))
    return {"precision": round(hits / max(1, sum(guess)), 4), "recall": round(hits / max(1, sum(truth)), 4)}


def judge_all(llm, description: str, examples: list[ScoringExample], template: str, limit: int, seed: int,
              show=lambda i, e: e.text, batch: int = BATCH) -> tuple[float, int, dict]:
    """Balanced, shuffled examples judged in batches of `batch`; balanced accuracy, precision, recall
    and the audit trail."""
    _both_kinds(examples)
    chosen = balanced(examples, limit, seed)
    shown = [show(i, e) for i, e in chosen]
    answers = []
    for group in batches(shown, batch):
        answers += _judge(llm, description, group, template)
    truth = [e.active for _, e in chosen]
    return (balanced_accuracy(truth, answers), len(chosen),
            {**precision_recall(truth, answers), "judged": _judged(chosen, shown, answers)})


@scorer("detection", "Balanced accuracy of an LLM judging from the description whether a text fires.",
        needs=("llm", "examples"), reads_words=True)
def detection(inp: ScoringInput) -> tuple[float, int, dict]:
    return judge_all(inp.llm, inp.description, inp.examples, "detection", inp.limit or 16, inp.seed,
                     batch=inp.batch or BATCH)


def _mark(example: ScoringExample, index: int) -> str:
    return "".join(f"[[{t}]]" if i == index else t for i, t in enumerate(example.tokens))


@scorer("fuzzing", "Balanced accuracy of an LLM judging whether the marked token is where the feature fires.",
        needs=("llm", "examples"), reads_words=True)
def fuzzing(inp: ScoringInput) -> tuple[float, int, dict]:
    rng = random.Random(inp.seed)
    return judge_all(inp.llm, inp.description, inp.examples, "fuzzing", inp.limit or 16, inp.seed, batch=inp.batch or BATCH,
                     show=lambda i, e: _mark(e, e.peak if e.active else rng.randrange(len(e.tokens))))
