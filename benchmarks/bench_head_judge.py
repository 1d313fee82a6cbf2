"""The words check for heads (`attention_simulation`) with the embedded 1.5B as judge, on real SmolLM2 heads.

For L18H6 (induction) and L16H0 (previous token), held-out texts and query positions come from the
`attention_rule` tool; each head gets its right description and a wrong one. Three forms of the check, in
the same run: `relation` (the scorer: the LLM names the position the words describe, code checks it on
every query), `options` (the scorer's fallback for words that name a kind of token: per query, choose among
four tokens with their relations written by code) and `listing` (the first form, reproduced here as the
baseline: name a position number from a numbered token listing). A useful check passes the right words
(>= 0.5) and fails the wrong ones; `separation` is right minus wrong.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import Field, create_model

from sleuth.config import load_settings
from sleuth.llm import LLMClient, LLMConfig, local_server
from sleuth.scorers.attention import _options_form
from sleuth.scorers.registry import ScoringInput, run_scorer
from sleuth.target import load_target
from sleuth.tools import ToolContext, run_tool

HEADS = {
    "L18H6": ({"attends_to": "after_previous_occurrence"},
              "L18H6 is an induction head: each token attends to the token right after an earlier copy of itself.",
              "L18H6 attends to the token just before the current one (a previous-token head)."),
    "L16H0": ({"attends_to": "previous_token"},
              "L16H0 is a previous-token head: each token attends to the token just before it.",
              "L16H0 is an induction head: each token attends to the token right after an earlier copy of itself."),
}
N_TEXTS, N_QUERIES = 4, 8

BASELINE_PROMPT = """An attention head of a language model is described as follows:
<<<DATA description
{description}
DATA>>>

Below is a text split into numbered tokens. For each query position listed, say which position
(a number from 0 up to the query position itself) this head would attend to most, following only the description.
<<<DATA tokens
{listing}
DATA>>>

Query positions: {queries}

Reply with {{"keys": [...]}}: exactly {n} position numbers, in the order of the query positions."""


def _numbered_listing_form(llm: LLMClient, description: str, texts: list[list[str]], queries: list[dict]) -> float:
    """The first form of the scorer: the judge names a position from a numbered listing."""
    by_text: dict[int, list[dict]] = defaultdict(list)
    for q in queries:
        by_text[q["text"]].append(q)
    right = total = 0
    for text, group in sorted(by_text.items()):
        positions = [q["query"] for q in group]
        keys = create_model("AttendedKeys", keys=(list[int], Field(min_length=len(group), max_length=len(group))))
        prompt = BASELINE_PROMPT.format(description=description, n=len(group), queries=", ".join(map(str, positions)),
                                        listing="\n".join(f"{i}: {t!r}" for i, t in enumerate(texts[text])))
        reply = llm.structured([{"role": "user", "content": prompt}], keys, max_tokens=16 + 6 * len(group))
        right += sum(a == q["key"] for a, q in zip(reply.keys, group))
        total += len(group)
    return right / total


def run() -> dict:
    settings = load_settings()
    target = load_target("smollm2-135m", settings.home)
    ctx = ToolContext(target=target, home=settings.home, seed=1000)
    state = local_server.acquire(settings.home, "qwen2.5-coder-1.5b")
    results: dict = {}
    try:
        llm = LLMClient(LLMConfig(base_url=state["base_url"], model=state["model"], timeout_s=600))
        for head, (rule, right, wrong) in HEADS.items():
            layer, index = int(head[1:head.index("H")]), int(head[head.index("H") + 1:])
            data = run_tool("attention_rule", {"layer": layer, "head": index, "rule": rule, "split": "heldout",
                                               "n_texts": N_TEXTS, "n_queries": N_QUERIES}, ctx).data
            inputs = {"attention_texts": data["texts"], "attention_queries": data["queries"], "llm": llm}
            row = {"queries": len(data["queries"])}
            for name, words in (("right", right), ("wrong", wrong)):
                forms = {"relation": lambda: run_scorer("attention_simulation", 0.5, description=words, **inputs).value,
                         "options": lambda: _options_form(ScoringInput(description=words, **inputs))[0],
                         "listing": lambda: _numbered_listing_form(llm, words, data["texts"], data["queries"])}
                for form, score in forms.items():
                    before = llm.ledger.tokens()
                    row[f"{form}_{name}"] = round(score(), 3)
                    row[f"{form}_{name}_tokens"] = llm.ledger.tokens() - before
            for form in ("relation", "options", "listing"):
                row[f"{form}_separation"] = round(row[f"{form}_right"] - row[f"{form}_wrong"], 3)
                row[f"{form}_verdict_right"] = row[f"{form}_right"] >= 0.5 > row[f"{form}_wrong"]
            results[head] = row
    finally:
        local_server.release(settings.home, state["lease"])
    results["chance_options"] = 0.25
    return results
