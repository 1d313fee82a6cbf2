"""Scores of a description against a known function: predictive agreement and judge match.

- predictive agreement: an LLM reads only the description and lists the tokens that fire in
  each held-out text; precision, recall and F1 against the clean function, and per-token
  balanced accuracy (a predictor that ignores the description scores 0.5 on it).
- read-back agreement: an LLM reads only the description and restates it as a rule (a schema a
  small model fills well); code marks the tokens that rule fires on; the same metrics.
- judge choice: an LLM reads the description and two options, the true words and a decoy
  (another component's), and says of each whether it describes the same tokens; asked twice
  with the order swapped. An ask scores 1 when only the truth matched, 0 when only the decoy
  did, 0.5 for both or neither, so a judge that ignores the description (always the first,
  always both, random) scores 0.5 on average. (Asked to name one option, the 1.5B named the
  first whatever it read, even when the description was the true words verbatim.)
  (An earlier absolute judge, "match / partial / miss", called 94% of decoys a match with the
  embedded 1.5B; this judge has a chance level that a blind judge cannot beat.)
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
CHANCE_CHOICE = 0.5  # a judge_choice that ignores the description scores this on average


class Choice(BaseModel):
    a_matches: bool
    b_matches: bool


class JudgeChoice(BaseModel):
    score: float  # mean over the two asks: 1 the truth alone matched, 0.5 both or neither, 0 the decoy alone
    picks: list[Literal["truth", "decoy", "tie"]]  # per ask, in the order asked


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


def rule_agreement(rule, held: HeldoutTexts, unseen: bool = False) -> Agreement:
    """A rule (plain data or parsed) against the true function on the held-out texts: code, no LLM.
    unseen: only on tokens that are not seen members (generalization to members never shown)."""
    predicate = parse_predicate(rule) if isinstance(rule, dict) else rule
    scope = held.unseen_scope() if unseen else None
    scope = scope or [[True] * len(view) for view in held.views]
    truth = [t for per_text, keep in zip(held.truth, scope) for t, k in zip(per_text, keep) if k]
    guess = [g for view, keep in zip(held.views, scope) for g, k in zip(holds(predicate, view), keep) if k]
    return agreement(truth, guess, len(held.views))


def read_back_agreement(llm, description: str, held: HeldoutTexts) -> tuple[Agreement, dict]:
    """The rule the LLM reads out of the description alone, against the true function; and that rule."""
    reading = read_rule(llm, description)
    return rule_agreement(reading, held), predicate_dict(reading)


def judge_choice(llm, description: str, truth: str, decoy: str, seed: int | str = 0) -> JudgeChoice:
    """The true words and a decoy side by side, the judge saying of each whether it matches the description;
    asked in both orders (position bias cancels), the first order seeded, so a judge that alternates its
    answers cannot follow a fixed pattern."""
    asks = [(1, (truth, decoy)), (2, (decoy, truth))]
    random.Random(seed).shuffle(asks)
    picks, value = [], {"truth": 1.0, "tie": 0.5, "decoy": 0.0}
    for truth_at, (first, second) in asks:
        prompt = render("eval_choice", description=description, first=first, second=second)
        reply = llm.structured([{"role": "user", "content": prompt}], Choice, max_tokens=40)
        truth_says, decoy_says = ((reply.a_matches, reply.b_matches) if truth_at == 1
                                  else (reply.b_matches, reply.a_matches))
        picks.append("tie" if truth_says == decoy_says else "truth" if truth_says else "decoy")
    return JudgeChoice(score=sum(value[p] for p in picks) / len(picks), picks=picks)
