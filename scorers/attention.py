"""Scorers for attention heads.

- attention_rule: the head's attention mass on its stored rule's targets on held-out
  texts, as a percentile among every head (exact, no LLM; the `attention_rule` tool measures it).
- attention_simulation: an LLM reads only the description and, per query position of a
  held-out text, chooses the token the head attends to most among four: the real argmax and
  three distractors (the tokens other behaviours would pick, then random earlier ones), each
  shown with how it stands to the query in words computed by code ("the token just before the
  query", "the token right after an earlier copy of the query token", ...). Accuracy against
  the real argmax; chance is 0.25. Queries whose argmax is the first token (the usual sink)
  are left out. (Picking a position number from a numbered listing, the first form, scored
  0.00 with the embedded 1.5B even on right descriptions: it answered the query's own position.)
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Literal

from pydantic import Field, create_model

from sleuth.predicates.fit import percentile_rank
from sleuth.prompts import render
from sleuth.scorers.registry import ScorerError, ScoringInput, scorer


@scorer("attention_rule", "Percentile among all heads of the head's attention mass on its rule's targets, held-out texts.",
        needs=("rule_value", "rule_population"))
def attention_rule(inp: ScoringInput) -> tuple[float, int, dict]:
    rank, percentile = percentile_rank(inp.rule_value, inp.rule_population)
    return percentile, len(inp.rule_population), {"mass": round(inp.rule_value, 4), "rank": rank}


LETTERS = "ABCD"
CONTEXT_TOKENS = 12  # tokens of context shown before each query


def choices_model(n: int):
    return create_model("AttentionChoices",
                        choices=(list[Literal["A", "B", "C", "D"]], Field(min_length=n, max_length=n)))


def relations(tokens: list[str], query: int, position: int) -> list[str]:
    """How `position` stands to `query`, in words that attention-head descriptions use (computed by code)."""
    found = []
    if position == query:
        found.append("the query token itself")
    if position == query - 1:
        found.append("the token just before the query")
    if position == 0:
        found.append("the first token of the text")
    if position < query and tokens[position].strip() == tokens[query].strip():
        found.append("an earlier copy of the query token")
    if 0 < position <= query and position - 1 < query and tokens[position - 1].strip() == tokens[query].strip():
        found.append("the token right after an earlier copy of the query token")
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


@scorer("attention_simulation", "Accuracy of an LLM choosing, from the description alone, the token a head attends to "
        "most among the real one and three others (chance 0.25).",
        needs=("llm", "attention_texts", "attention_queries"), reads_words=True)
def attention_simulation(inp: ScoringInput) -> tuple[float, int, dict]:
    description, attention_texts, llm = inp.description, inp.attention_texts, inp.llm
    by_text: dict[int, list[dict]] = defaultdict(list)
    for q in inp.attention_queries:
        by_text[q["text"]].append(q)
    judged = []
    for text, queries in sorted(by_text.items()):
        tokens = attention_texts[text]
        shown = [options(tokens, q["query"], q["key"]) for q in queries]
        prompt = render("attention_simulation", description=description,
                        queries=[_query_block(tokens, q["query"], s) for q, s in zip(queries, shown)])
        reply = llm.structured([{"role": "user", "content": prompt}], choices_model(len(queries)),
                               max_tokens=16 + 6 * len(queries))
        for q, s, letter in zip(queries, shown, reply.choices):
            index = LETTERS.index(letter)
            answer = s[index] if index < len(s) else None
            judged.append({"text": text, "query": q["query"], "key": q["key"], "options": s, "answer": answer,
                           "chance": 1 / len(s)})
    if not judged:
        raise ScorerError("could not score: the head attends only to the first token on these texts")
    accuracy = sum(j["answer"] == j["key"] for j in judged) / len(judged)
    chance = sum(j["chance"] for j in judged) / len(judged)
    return accuracy, len(judged), {"judged": judged, "chance": round(chance, 3)}
