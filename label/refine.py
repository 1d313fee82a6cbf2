"""refine: an item below threshold goes through the agent's rule refinement, bounded.

One round: the LLM writes its own test texts for the label; sleuth measures the unit on them;
the best rule's false positives and negatives on the explain windows and those texts go back
to the LLM, which revises the label and its rule; code keeps whichever rule fits the non-held-out
data better. The caller re-scores on the same held-out test windows. Nothing the LLM writes runs.
"""

from __future__ import annotations

from sleuth.agent import neuron
from sleuth.agent.schemas import RevisedRule, TestTexts
from sleuth.config import AgentSettings
from sleuth.label.records import Collected, Draft
from sleuth.predicates import predicate_dict
from sleuth.prompts import render
from sleuth.tools import run_tool

SETTINGS = AgentSettings()  # the agent's rule-status thresholds


def _ask(llm, template: str, schema, max_tokens: int, **variables):
    return llm.structured([{"role": "user", "content": render(template, **variables)}], schema, max_tokens=max_tokens,
                          brief=schema.BRIEF)


def refine(collected: Collected, draft: Draft, llm, ctx, forward_lock, induce_rules: bool = False) -> tuple[Draft, dict]:
    """(the revised draft, or the same one when the revision fits worse; a record of the round). With
    induce_rules, code's rule search on the explain windows and the measured test texts competes too."""
    component = collected.item.component
    texts = _ask(llm, "test_texts", TestTexts, 300, component=component, hypotheses=[draft.label], n=6).texts
    texts = [t for t in dict.fromkeys(t.strip() for t in texts) if t][: neuron.MAX_TEST_TEXTS]
    with forward_lock:
        measured = run_tool("activations", {"site": component, "texts": texts}, ctx)
    task = {"windows": [{"tokens": w.tokens, "values": w.values} for w in collected.explain],
            "tests": [{"tokens": r["tokens"], "values": r["values"]} for r in measured.data["per_text"]],
            "fire_threshold": collected.fire_threshold}
    before = neuron.scored({"statement": draft.label, "rule": draft.rule}, task, SETTINGS)
    reply = _ask(llm, "refine_rule", RevisedRule, 300, component=component, statement=draft.label,
                 rule=draft.rule, fit={**before["fit"], **before["misses"]})
    revised = {"statement": reply.statement.strip(), "rule": predicate_dict(reply.rule)}
    after = neuron.scored(revised, task, SETTINGS)
    if induce_rules:  # code's best rule on the same data, in code's words, when it beats the LLM's revision
        found = neuron.with_induced([after], task, SETTINGS.model_copy(update={"induced_rules": 1}))[1:]
        if found and found[0]["fit"]["f1"] > after["fit"]["f1"]:
            revised, after = {"statement": found[0]["statement"], "rule": found[0]["rule"], "by": "induced"}, found[0]
    better = after["fit"]["f1"] > before["fit"]["f1"]
    kept = Draft(label=revised["statement"], rule=revised["rule"], by=revised.get("by", "refine")) if better else draft
    record = {"test_texts": texts, "before": {"label": draft.label, "rule": draft.rule, "fit": before["fit"]},
              "revised": {"label": revised["statement"], "rule": revised["rule"], "fit": after["fit"],
                          "by": revised.get("by", "refine")},
              "kept": "revised" if better else "before", "evidence": measured.summary}
    return kept, record
