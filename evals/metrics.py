"""Scores of a description against a known function: predictive agreement and judge match.

- predictive agreement: an LLM reads only the description and lists the tokens that fire in
  each held-out text; precision, recall and F1 against the clean function, and per-token
  balanced accuracy (a predictor that ignores the description scores 0.5 on it).
- read-back agreement: an LLM reads only the description and restates it as a rule (a schema a
  small model fills well); code marks the tokens that rule fires on; the same metrics.
- judge match: an LLM compares the description with the ground-truth words (match 1,
  partial 0.5, miss 0), and with a decoy (another component's words) the same way, so a
  judge that ignores what it reads gets the same score on both.
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, Field

from sleuth.evals.heldout import HeldoutTexts
from sleuth.predicates import holds, parse_predicate, predicate_dict
from sleuth.predicates.fit import Agreement, agreement
from sleuth.prompts import render
from sleuth.scorers.read_back import read_rule
from sleuth.scorers.simulation import guesses_budget, guesses_model  # the simulation scorer's reply shape

BATCH = 6
VERDICT_SCORE = {"match": 1.0, "partial": 0.5, "miss": 0.0}


class Verdict(BaseModel):
    verdict: Literal["match", "partial", "miss"]
    reason: str = Field("", max_length=300)


def _marks(tokens: list[str], listed: list[str]) -> list[bool]:
    """Each listed token marks one place: the next unmarked equal token after the previous mark, else the
    first unmarked one. Listing a frequent token once marks it once, so guessing earns no extra credit."""
    norm = [t.strip().casefold() for t in tokens]
    marks, cursor = [False] * len(tokens), 0
    for entry in (e.strip().casefold() for e in listed):
        if not entry:
            continue
        order = [*range(cursor, len(tokens)), *range(0, cursor)]
        hit = next((i for i in order if not marks[i] and norm[i] == entry), None)
        if hit is not None:
            marks[hit], cursor = True, hit + 1
    return marks


def predictive_agreement(llm, description: str, held: HeldoutTexts, seed: int = 0) -> Agreement:
    """The LLM marks firing tokens from the description alone; compared with the true function."""
    order = list(range(len(held.views)))
    random.Random(seed).shuffle(order)
    truth, guess = [], []
    for start in range(0, len(order), BATCH):
        group = order[start:start + BATCH]
        prompt = render("eval_predict", description=description, texts=[held.views[i].tokens for i in group])
        reply = llm.structured([{"role": "user", "content": prompt}], guesses_model(len(group)),
                               max_tokens=guesses_budget(len(group)))
        for i, listed in zip(group, reply.tokens):
            truth += held.truth[i]
            guess += _marks(held.views[i].tokens, listed)
    return agreement(truth, guess, len(order))


def rule_agreement(rule, held: HeldoutTexts) -> Agreement:
    """A rule (plain data or parsed) against the true function on the held-out texts: code, no LLM."""
    predicate = parse_predicate(rule) if isinstance(rule, dict) else rule
    truth = [t for per_text in held.truth for t in per_text]
    guess = [g for view in held.views for g in holds(predicate, view)]
    return agreement(truth, guess, len(held.views))


def read_back_agreement(llm, description: str, held: HeldoutTexts) -> tuple[Agreement, dict]:
    """The rule the LLM reads out of the description alone, against the true function; and that rule."""
    reading = read_rule(llm, description)
    return rule_agreement(reading, held), predicate_dict(reading)


def judge(llm, description: str, reference: str) -> Verdict:
    prompt = render("eval_judge", description=description, reference=reference)
    return llm.structured([{"role": "user", "content": prompt}], Verdict, max_tokens=120)
