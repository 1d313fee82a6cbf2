"""The agent's typed state. Everything in it is plain JSON, so the SQLite checkpointer can keep it."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


def add_unique(left: list[str] | None, right: list[str] | None) -> list[str]:
    """Reducer for evidence ids: append, never repeat (a replayed step adds nothing)."""
    out = list(left or [])
    out += [x for x in (right or []) if x not in out]
    return out


class Task(TypedDict, total=False):
    """One component under investigation and where its protocol stands."""

    component: str
    kind: str  # a key of agent.protocols.PROTOCOLS: neuron (also latents, directions, units) | head | circuit
    stage: str  # protocol stage
    attempts: int
    hypotheses: list[dict]  # {id, statement, kind?, status, accuracy}
    examples: list[dict]  # top corpus examples shown to the LLM: {text, value}
    quiet: list[str]
    stats: str
    fire_threshold: float
    test_texts: list[str]
    predictions: dict[str, list[bool]]  # hypothesis id -> prediction per test text
    scan: dict[str, dict]  # head_scan kind -> {value, percentile, rank}
    rule_scan: dict[str, dict]  # attention rule (in words) -> {value, rank, of, percentile}, explain split
    fresh: dict | None  # re-measurement for validation (fresh scan / held-out rule / fresh patch)
    heldout: list[dict]  # held-out scoring examples (neurons)
    code_written: bool  # a batch-confirmed search candidate whose text code states
    links: list[str]
    draft: dict | None  # {description, claims}
    feedback: str | None
    evidence: dict[str, list[str]]  # basis -> evidence ids


class AgentState(TypedDict, total=False):
    thread_id: str
    model: str
    saes: list[str]  # --sae specs (registry names or folders) to reload on resume
    settings: dict  # agent settings, corpus, seed, window length: restored on resume
    question: str
    shape: dict  # QuestionShape
    stage: str  # question-level stage: shortlist | investigate | answer | done
    tasks: list[Task]
    current: int  # index into tasks
    memory: list[str]  # what memory already knew
    pending: list[dict]  # tool calls planned: {tool, args, purpose}
    shortlist_evidence: list[dict]  # {basis, id, summary} from a shortlist sweep
    results: list[dict]  # results of the last act: {tool, args, summary, data, error, seconds}
    route: str
    evidence_ids: Annotated[list[str], add_unique]
    experiments: Annotated[list[dict], operator.add]  # prediction log
    findings: list[dict]  # per component: {component, text, status, scores, claims, description_id}
    messages: Annotated[list[dict], operator.add]  # {role, content}
    budget: dict[str, Any]  # steps, tokens, seconds, tool_failures
    partial: str | None  # why the run stopped early
    answer: str
    status: str  # running | done | partial
