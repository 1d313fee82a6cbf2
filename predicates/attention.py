"""Attention rules: which earlier token an attention head attends to, as data.

`{attends_to: previous_token | first_token | self | same_token_earlier |
after_previous_occurrence | {matching: PREDICATE} | {offset: -K}}`

`targets(rule, tokens)` gives, per query position, the key positions (<= the query)
the rule names; an empty list means the rule says nothing about that query. A rule is
scored by the attention mass a head puts on its targets (`mass`), never by running
anything the LLM wrote.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sleuth.predicates.evaluate import evaluate
from sleuth.predicates.forms import Predicate
from sleuth.predicates.tokens import TokenView

Named = Literal["previous_token", "first_token", "self", "same_token_earlier", "after_previous_occurrence"]
NAMED_MEANING = {
    "previous_token": "the token just before",
    "first_token": "the first token of the text",
    "self": "the query token itself",
    "same_token_earlier": "earlier copies of the query token",
    "after_previous_occurrence": "the token right after an earlier copy of the query token (induction)",
}


class Matching(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matching: Predicate


class Offset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offset: int = Field(le=-1, ge=-64, description="attend K tokens back: -1 is the previous token")


class AttentionRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attends_to: Named | Matching | Offset


def _earlier_copies(stripped: list[str], q: int) -> list[int]:
    return [k for k in range(q) if stripped[k] == stripped[q]]


def targets(rule: AttentionRule, tokens: list[str]) -> list[list[int]]:
    """Per query position, the key positions the rule names (keys never come after the query)."""
    view = TokenView(list(tokens))
    n, to = len(view), rule.attends_to
    stripped = [t.strip() for t in view.tokens]  # exact token identity, as the head sees it
    if to == "previous_token":
        return [[q - 1] if q > 0 else [] for q in range(n)]
    if to == "first_token":
        return [[0] if q > 0 else [] for q in range(n)]
    if to == "self":
        return [[q] for q in range(n)]
    if to == "same_token_earlier":
        return [_earlier_copies(stripped, q) for q in range(n)]
    if to == "after_previous_occurrence":
        return [[k + 1 for k in _earlier_copies(stripped, q) if k + 1 < q] for q in range(n)]
    if isinstance(to, Offset):
        return [[q + to.offset] if q + to.offset >= 0 else [] for q in range(n)]
    marks = evaluate(to.matching, view)
    return [[k for k in range(q + 1) if marks[k]] for q in range(n)]


def mass(pattern, tokens: list[str], rule: AttentionRule, skip_first: bool = True) -> tuple[float, int]:
    """Mean attention on the rule's targets over queries that have any, and how many queries that was.

    `pattern` is one head's [query, key] attention on `tokens` (a tensor or nested lists).
    The first query is left out by default: it can attend only to itself.
    """
    total, counted = 0.0, 0
    for q, keys in enumerate(targets(rule, tokens)):
        if not keys or (skip_first and q == 0):
            continue
        total += float(sum(pattern[q][k] for k in keys))
        counted += 1
    return (total / counted if counted else 0.0), counted


def describe_rule(rule: AttentionRule) -> str:
    """The rule in words, for prompts and reports."""
    to = rule.attends_to
    if isinstance(to, str):
        return NAMED_MEANING[to]
    if isinstance(to, Offset):
        return f"the token {-to.offset} positions back"
    return f"earlier tokens matching {to.matching.model_dump(exclude_none=True)}"
