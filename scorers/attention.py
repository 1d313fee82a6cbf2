"""Scorers for attention heads.

- attention_rule: the head's attention mass on its stored rule's targets on held-out
  texts, as a percentile among every head (exact, no LLM; the `attention_rule` tool measures it).
- attention_simulation: the words, checked on held-out queries. An LLM reads only the description
  and names the position it says the head attends to (previous token, first token, itself, an
  earlier copy, the token after an earlier copy); code then checks, per held-out query, whether
  the head's real argmax is at a position of that kind. Words that name a kind of token instead
  ("something_else") go to the options form: per query, the LLM chooses among four tokens, the
  real argmax and three distractors, each shown with its relation to the query in words written
  by code (chance 0.25). Queries whose argmax is the first token (the usual sink) are left out, and
  so is a query where the named relation names no position (no earlier copy for an induction claim).
  Measured with the embedded 1.5B (`python -m benchmarks head_judge`): picking a position number
  from a numbered listing scored 0.00 even on right words (it answered the query's own position);
  the options form alone scored at chance; naming the relation is one short classification.
  Words that code wrote from a named relation (`stated_relation`) skip the reading: the same
  per-query check runs on that relation, so a code-stated description meets the same bar.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Literal

from pydantic import BaseModel, Field, create_model

from sleuth.predicates.attention import NAMED_MEANING, AttentionRule, Named, targets

from sleuth.predicates.fit import percentile_rank, standing
from sleuth.prompts import render
from sleuth.scorers.registry import ScorerError, ScoringInput, scorer

MIN_JUDGED = 4  # fewer judged queries than this is "could not score", not a pass or a fail


@scorer("attention_rule", "Standing among all heads of the head's attention mass on its rule's targets, held-out texts.",
        needs=("rule_value", "rule_population"))
def attention_rule(inp: ScoringInput) -> tuple[float, int, dict]:
    rank, _ = percentile_rank(inp.rule_value, inp.rule_population)
    return standing(inp.rule_value, inp.rule_population), len(inp.rule_population), \
        {"mass": round(inp.rule_value, 4), "rank": rank}


class RelationChoice(BaseModel):
    relation: Named | Literal["something_else"]


LETTERS = "ABCD"
CONTEXT_TOKENS = 12  # tokens of context shown before each query


def choices_model(n: int):
    return create_model("AttentionChoices",
                        choices=(list[Literal["A", "B", "C", "D"]], Field(min_length=n, max_length=n)))


RELATION_WORDS = {"self": "the query token itself", "previous_token": "the token just before the query",
                  "first_token": "the first token of the text", "same_token_earlier": "an earlier copy of the query token",
                  "after_previous_occurrence": "the token right after an earlier copy of the query token"}


def relations(tokens: list[str], query: int, position: int) -> list[str]:
    """How `position` stands to `query`, in words that attention-head descriptions use: the named attention
    rules whose targets (predicates.attention) include it."""
    found = [words for name, words in RELATION_WORDS.items()
             if position in targets(AttentionRule(attends_to=name), tokens)[query]]
    return found or [f"an earlier token, {query - position} back"]


def options(tokens: list[str], query: int, key: int) -> list[int]:
    """The real key and up to three distractors (the positions other behaviours would pick, then random
    earlier ones), in an order seeded by the query alone: the answer's letter carries no information."""
    rng = random.Random(f"{query}:{len(tokens)}")
    copies = [p for p in range(query) if tokens[p].strip() == tokens[query].strip()]
    structural = {query, query - 1, 0, *copies[-1:], *[c + 1 for c in copies[-1:] if c + 1 < query]} - {key, -1}
    picked = rng.sample(sorted(structural), min(3, len(structural)))
    rest = [p for p in range(1, query) if p != key and p not in picked]
    picked += rng.sample(rest, min(3 - len(picked), len(rest)))
    shown = [key, *picked]
    rng.shuffle(shown)
    return shown


def _query_block(tokens: list[str], query: int, shown: list[int]) -> str:
    start = max(0, query - CONTEXT_TOKENS)
    context = "".join(tokens[start:query]) + f"[[{tokens[query]}]]"
    lines = [f"...{context}" if start else context]
    lines += [f"{LETTERS[i]}) {tokens[p]!r}: {'; '.join(relations(tokens, query, p))}" for i, p in enumerate(shown)]
    return "\n".join(lines)


def _options_form(inp: ScoringInput) -> tuple[float, int, dict]:
    """Per query, the LLM chooses among four tokens (for words that name a kind of token, not a position)."""
    by_text: dict[int, list[dict]] = defaultdict(list)
    for q in inp.attention_queries:
        by_text[q["text"]].append(q)
    judged = []
    for text, queries in sorted(by_text.items()):
        tokens = inp.attention_texts[text]
        shown = [options(tokens, q["query"], q["key"]) for q in queries]
        prompt = render("attention_simulation", description=inp.description,
                        queries=[_query_block(tokens, q["query"], s) for q, s in zip(queries, shown)])
        reply = inp.llm.structured([{"role": "user", "content": prompt}], choices_model(len(queries)),
                                   max_tokens=16 + 6 * len(queries))
        for q, s, letter in zip(queries, shown, reply.choices):
            index = LETTERS.index(letter)
            judged.append({"text": text, "query": q["query"], "key": q["key"], "options": s,
                           "answer": s[index] if index < len(s) else None, "chance": 1 / len(s)})
    accuracy = sum(j["answer"] == j["key"] for j in judged) / len(judged)
    chance = sum(j["chance"] for j in judged) / len(judged)
    return accuracy, len(judged), {"form": "options", "judged": judged, "chance": round(chance, 3)}


def _named_hits(relation: str, texts: list[list[str]], queries: list[dict]) -> list[bool | None]:
    """Per query, whether the head's real argmax is among the positions `relation` names (exact, by code);
    None where the relation names no position there (an induction claim says nothing about a token
    with no earlier copy), so such a query is not judged, as in the head scores and `attention_rule`."""
    rule = AttentionRule(attends_to=relation)
    named = {t: targets(rule, tokens) for t, tokens in enumerate(texts)}
    return [q["key"] in keys if (keys := named[q["text"]][q["query"]]) else None for q in queries]


@scorer("attention_simulation", "Accuracy of the words on held-out queries: an LLM reads only the description and "
        "names the position it says the head attends to; code checks that position against the real argmax.",
        needs=("llm", "attention_texts", "attention_queries"), reads_words=True)
def attention_simulation(inp: ScoringInput) -> tuple[float, int, dict]:
    queries = inp.attention_queries
    if not queries:
        raise ScorerError("could not score: the head attends only to the first token on these texts")
    if inp.stated_relation in NAMED_MEANING:  # code wrote the words from this relation: no reader needed
        relation, read_by = inp.stated_relation, "code"
    else:
        reply = inp.llm.structured([{"role": "user", "content": render("attention_relation", description=inp.description,
                                                                       relations=NAMED_MEANING)}],
                                   RelationChoice, max_tokens=32)
        relation, read_by = reply.relation, "llm"
    if relation == "something_else":
        accuracy, n, details = _options_form(inp)
        return accuracy, n, {**details, "relation": relation}
    rates = {}
    for name in NAMED_MEANING:
        judged_hits = [h for h in _named_hits(name, inp.attention_texts, queries) if h is not None]
        rates[name] = sum(judged_hits) / len(judged_hits) if judged_hits else 0.0
    hits = _named_hits(relation, inp.attention_texts, queries)
    judged = [{"text": q["text"], "query": q["query"], "key": q["key"], "hit": h}
              for q, h in zip(queries, hits) if h is not None]
    if len(judged) < MIN_JUDGED:  # one or two queries would let a lucky guess pass
        raise ScorerError(f"could not score: {len(judged)} held-out queries have {NAMED_MEANING[relation]} "
                          f"(at least {MIN_JUDGED} are needed)")
    chance = sum(rates.values()) / len(rates)  # a relation picked blindly, each on its own queries
    accuracy = sum(j["hit"] for j in judged) / len(judged)
    return accuracy, len(judged), {"form": "relation", "relation": relation, "read_by": read_by, "judged": judged,
                                   "unjudged": len(queries) - len(judged), "chance": round(chance, 3)}
