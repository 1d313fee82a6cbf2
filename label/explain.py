"""explain: a concise label (and its rule) from the explain windows only.

The LLM writes it; with a preset's `induce`, code's rule search (predicates.induce) runs on the same
windows too, and its best rule, stated by code, replaces the LLM's draft when it fits those windows
better than the LLM's rule. Either way the label then faces the same held-out scorers."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field

from sleuth.agent.schemas import RULE_BRIEF, Words
from sleuth.agent.snippets import counted
from sleuth.label.records import Collected, Draft, Window
from sleuth.predicates import Predicate, parse_predicate, predicate_dict
from sleuth.predicates.fit import fit
from sleuth.predicates.induce import induce
from sleuth.predicates.words import in_words
from sleuth.prompts import render


class LabelText(BaseModel):
    BRIEF: ClassVar[str] = 'Reply with one JSON object and nothing else: {"label": "<what the unit responds to, in words>"}.'

    label: Words = Field(min_length=3, max_length=240, description="what the unit responds to, in one short sentence")


class LabelDraft(LabelText):
    BRIEF: ClassVar[str] = RULE_BRIEF.format(shape='{"label": "<what the unit responds to, in words>", "rule": RULE}')

    rule: Predicate = Field(description="the label as a predicate: which tokens fire")


def highlighted(window: Window, threshold: float) -> str:
    """The window's text with every token at or above the firing threshold marked [[like this]]."""
    return "".join(f"[[{t}]]" if v >= threshold and t.strip() else t for t, v in zip(window.tokens, window.values))


MARKED = 12  # distinct firing tokens listed


def marked_tokens(windows: list[Window], threshold: float) -> list[str]:
    """The firing tokens, most frequent first: what a small LLM should generalise."""
    return counted((t for w in windows for t, v in zip(w.tokens, w.values) if v >= threshold), MARKED)


def prompt(collected: Collected, rules: bool) -> str:
    t = collected.fire_threshold
    firing = sorted((w for w in collected.explain if w.max_value >= t), key=lambda w: -w.max_value)
    quiet = [w for w in collected.explain if w.max_value < t and w.kind == "random"]
    return render("label_explain", component=collected.item.component, rules=rules,
                  examples=[highlighted(w, t) for w in firing], marked=marked_tokens(firing, t),
                  quiet=["".join(w.tokens) for w in quiet])


def explain(collected: Collected, llm, rules: bool, induce_rules: bool = False) -> Draft:
    schema = LabelDraft if rules else LabelText
    reply = llm.structured([{"role": "user", "content": prompt(collected, rules)}], schema, max_tokens=200,
                           brief=schema.BRIEF)
    rule = predicate_dict(reply.rule) if rules else None
    windows = [(w.tokens, w.values) for w in collected.explain]
    found = next(iter(induce(windows, collected.fire_threshold, keep=1)), None) if induce_rules and rule else None
    if found and fit(parse_predicate(rule), windows, collected.fire_threshold).f1 < found.f1:
        return Draft(label=in_words(found.rule), rule=found.rule, by="induced")  # it fits what the LLM read better
    return Draft(label=reply.label.strip(), rule=rule)
