"""The registry of investigation protocols, one module per component kind.

A protocol module provides what the graph's nodes ask of it:
- `STAGES`: the task stages its `plan` handles (the graph itself handles describe, score, free, done);
- `plan(task, state, deps) -> {"pending": [...]} | {"task": {...}}` for its own stages;
- `absorb(task, results, state, deps) -> {"task": {...}, "experiments"?: [...]}`;
- `best(task) -> dict | None`: the hypothesis whose rule the description states;
- `scorer_inputs(task, deps) -> (scorer names, ScoringInput)`: what validates it, on held-out data only;
- `measured(task) -> str`: the re-measured effect stated with the description;
- `not_applicable(task, names) -> {scorer: why}`: configured scorers that do not apply;
- `words_draft(task, top) -> (description, claims)`: the best hypothesis stated by code, for a retry
  where the behaviour held and only the LLM's words failed (`rule_words`; only where `retry` sets it)
  and for a search's batch-confirmed candidates beyond max_candidates (`code_written`, heads);
- `retry(task, finding) -> dict | None`: where a rejected or failed description goes back to (the task
  changes, with its stage), or None for no second attempt.
Adding a kind (a direction protocol, say) is one new module plus one line here.
"""

from __future__ import annotations

from types import ModuleType

from sleuth.agent import circuit, head, neuron

PROTOCOLS: dict[str, ModuleType] = {"neuron": neuron, "head": head, "circuit": circuit}


SHARED_STAGES = ("describe", "score", "free", "done")  # handled by the graph's nodes for every kind


def protocol_of(task: dict) -> ModuleType:
    try:
        return PROTOCOLS[task["kind"]]
    except KeyError:
        raise ValueError(f"no protocol for task kind '{task.get('kind')}'; known: {', '.join(PROTOCOLS)}") from None
