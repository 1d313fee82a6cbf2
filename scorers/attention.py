"""Scorers for attention heads.

- attention_rule: the head's attention mass on its stored rule's targets on held-out
  texts, as a percentile among every head (exact, no LLM; the `attention_rule` tool measures it).
- attention_simulation: an LLM reads only the description and, per query position of a
  held-out text, picks the position the head attends to most; accuracy against the head's
  real argmax (queries whose argmax is the first token, the usual sink, are left out).
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import Field, create_model

from sleuth.predicates.fit import percentile_rank
from sleuth.prompts import render
from sleuth.scorers.registry import ScorerError, ScoringInput, scorer


@scorer("attention_rule", "Percentile among all heads of the head's attention mass on its rule's targets, held-out texts.",
        needs=("rule_value", "rule_population"))
def attention_rule(inp: ScoringInput) -> tuple[float, int, dict]:
    rank, percentile = percentile_rank(inp.rule_value, inp.rule_population)
    return percentile, len(inp.rule_population), {"mass": round(inp.rule_value, 4), "rank": rank}


def keys_model(n: int):
    return create_model("AttendedKeys", keys=(list[int], Field(min_length=n, max_length=n)))


def _listing(tokens: list[str]) -> str:
    return "\n".join(f"{i}: {t!r}" for i, t in enumerate(tokens))


@scorer("attention_simulation", "Accuracy of an LLM picking, from the description alone, the token a head attends to most.",
        needs=("llm", "attention_texts", "attention_queries"), reads_words=True)
def attention_simulation(inp: ScoringInput) -> tuple[float, int, dict]:
    description, attention_texts, llm = inp.description, inp.attention_texts, inp.llm
    by_text: dict[int, list[dict]] = defaultdict(list)
    for q in inp.attention_queries:
        by_text[q["text"]].append(q)
    judged = []
    for text, queries in sorted(by_text.items()):
        positions = [q["query"] for q in queries]
        prompt = render("attention_simulation", description=description, listing=_listing(attention_texts[text]),
                        queries=positions)
        reply = llm.structured([{"role": "user", "content": prompt}], keys_model(len(positions)),
                               max_tokens=16 + 6 * len(positions))
        judged += [{"text": text, "query": q["query"], "key": q["key"], "answer": a}
                   for q, a in zip(queries, reply.keys)]
    if not judged:
        raise ScorerError("could not score: the head attends only to the first token on these texts")
    accuracy = sum(j["answer"] == j["key"] for j in judged) / len(judged)
    return accuracy, len(judged), {"judged": judged}
