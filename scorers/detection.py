"""detection and fuzzing: can an LLM, from the description alone, tell where the component fires?

- detection: judge whole texts (fires / does not fire); balanced accuracy.
- fuzzing: one token per text is marked; judge whether the marked token is where the
  described feature fires (the peak on active texts, a random token otherwise).

When every held-out text fires (a unit on the first token, or on every third position), no text
can be quiet and whole-text detection has nothing to tell apart; detection then judges marked
tokens inside those texts instead: half carry a firing token marked, half a quiet one.

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


def _judged(chosen: list[tuple[int, ScoringExample]], shown: list[str], answers: list[bool],
            marked: dict[int, int] | None = None) -> list[dict]:
    return [{"example": i, "text": text[:200], "active": e.active, "answer": a,
             **({"marked": marked[i]} if marked is not None else {})}
            for (i, e), text, a in zip(chosen, shown, answers)]


def precision_recall(truth: list[bool], guess: list[bool]) -> dict:
    hits = sum(t and g for t, g in zip(truth, guess))
    return {"precision": round(hits / max(1, sum(guess)), 4), "recall": round(hits / max(1, sum(truth)), 4)}


def judge_all(llm, description: str, examples: list[ScoringExample], template: str, limit: int, seed: int,
              show=lambda i, e: e.text, batch: int = BATCH, marked: dict[int, int] | None = None) -> tuple[float, int, dict]:
    """Balanced, shuffled examples judged in batches of `batch`; balanced accuracy, precision, recall
    and the audit trail (with the marked token of each example, where `marked` says which)."""
    _both_kinds(examples)
    chosen = balanced(examples, limit, seed)
    shown = [show(i, e) for i, e in chosen]
    answers = []
    for group in batches(shown, batch):
        answers += _judge(llm, description, group, template)
    truth = [e.active for _, e in chosen]
    return (balanced_accuracy(truth, answers), len(chosen),
            {**precision_recall(truth, answers), "judged": _judged(chosen, shown, answers, marked)})


@scorer("detection", "Balanced accuracy of an LLM judging from the description whether a text fires.",
        needs=("llm", "examples"), reads_words=True)
def detection(inp: ScoringInput) -> tuple[float, int, dict]:
    if inp.examples and all(e.active for e in inp.examples):
        return _marked_tokens(inp)
    return judge_all(inp.llm, inp.description, inp.examples, "detection", inp.limit or 16, inp.seed,
                     batch=inp.batch or BATCH)


def _marked_tokens(inp: ScoringInput) -> tuple[float, int, dict]:
    """Every held-out text fires: judge marked tokens instead, each text once, its peak marked (fires)
    or, in a seeded half of the texts, a quiet token of it marked (does not fire)."""
    threshold = inp.fire_threshold if inp.fire_threshold is not None else min(max(e.values) for e in inp.examples)
    rng = random.Random(inp.seed)
    marks, index = [], {}
    for e in inp.examples:
        quiet = [i for i, v in enumerate(e.values) if v < threshold]
        at = rng.choice(quiet) if quiet and rng.random() < 0.5 else e.peak
        index[len(marks)] = at
        marks.append(e.model_copy(update={"active": e.values[at] >= threshold}))
    score, n, details = judge_all(inp.llm, inp.description, marks, "fuzzing", inp.limit or 16, inp.seed,
                                  show=lambda i, e: _mark(e, index[i]), batch=inp.batch or BATCH, marked=index)
    return score, n, {**details, "form": "marked tokens: every held-out text fires"}


def _mark(example: ScoringExample, index: int) -> str:
    return "".join(f"[[{t}]]" if i == index else t for i, t in enumerate(example.tokens))


@scorer("fuzzing", "Balanced accuracy of an LLM judging whether the marked token is where the feature fires.",
        needs=("llm", "examples"), reads_words=True)
def fuzzing(inp: ScoringInput) -> tuple[float, int, dict]:
    rng = random.Random(inp.seed)
    index = {i: e.peak if e.active else rng.randrange(len(e.tokens)) for i, e in enumerate(inp.examples)}
    return judge_all(inp.llm, inp.description, inp.examples, "fuzzing", inp.limit or 16, inp.seed, batch=inp.batch or BATCH,
                     show=lambda i, e: _mark(e, index[i]), marked=index)
