"""The agent's typed state. Everything in it is plain JSON, so the SQLite checkpointer can keep it."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from pydantic import BaseModel, ConfigDict, model_validator


def add_unique(left: list[str] | None, right: list[str] | None) -> list[str]:
    """Reducer for evidence ids: append, never repeat (a replayed step adds nothing)."""
    out = list(left or [])
    out += [x for x in (right or []) if x not in out]
    return out


class Task(BaseModel):
    """One component under investigation and where its protocol stands. Every write of a task goes
    through `checked` (agent.nodes.with_task): an unknown field, a wrong type, a kind with no protocol
    or a stage its protocol does not have is an error there, not a silent key in the state."""

    model_config = ConfigDict(extra="forbid")

    component: str
    kind: str  # a key of agent.protocols.PROTOCOLS (neuron: also latents, directions, synthetic units | head | circuit)
    stage: str  # one of the protocol's STAGES or agent.protocols.SHARED_STAGES
    attempts: int = 0
    hypotheses: list[dict] = []  # {id, statement, rule?, kind?, status, accuracy, fit?}
    hypothesize_error: str | None = None  # the LLM gave no usable hypothesis; code's induced rules went on
    examples: list[dict] = []  # top corpus examples shown to the LLM: {text, value}
    quiet: list[str] = []  # non-firing corpus snippets shown to the LLM
    peaks: list[str] = []  # the top examples' strongest tokens, stripped, with counts: what a rule should name
    windows: list[dict] = []  # explain windows a rule is fitted on: {tokens, values}
    stats: str = ""
    fire_threshold: float | None = None
    test_texts: list[str] = []  # the LLM's own test texts (evidence, never validation)
    tests: list[dict] = []  # the unit measured on them: {tokens, values}
    rounds: list[dict] = []  # rule refinement rounds with their numbers
    generalized: bool = False  # the class step ran (agent.generalize): once per task
    class_name: str | None = None  # the LLM's class for the best listing rule's words
    class_texts: list[dict] = []  # proposed members (and controls) put into the unit's own windows: {text, member, ...}
    scan: dict[str, dict] = {}  # head_scan kind -> {value, percentile, rank}
    rule_scan: dict[str, dict] = {}  # attention rule (in words) -> {value, rank, of, percentile}, explain split
    fresh: dict | None = None  # re-measurement for validation (fresh scan / held-out rule / fresh patch)
    heldout: list[dict] = []  # held-out scoring examples (neurons)
    code_written: bool = False  # a batch-confirmed search candidate whose text code states
    searched: str | None = None  # the behaviour a search batch-confirmed this candidate for (no retry)
    rule_words: bool = False  # describe states the best rule in words by code (the LLM's words for it failed)
    estimate: float | None = None  # a behaviour component's recovery estimated by attribution patching
    links: list[str] = []
    draft: dict | None = None  # {description, claims, rule?, rule_fit?}
    feedback: str | None = None
    evidence: dict[str, list[str]] = {}  # basis -> evidence ids
    notes: list[dict] = []  # {basis, summary} of the evidence cited so far
    free_left: int | None = None  # LLM-chosen experiments left (free_steps)

    @model_validator(mode="after")
    def _known_protocol_and_stage(self) -> "Task":
        from sleuth.agent.protocols import PROTOCOLS, SHARED_STAGES

        if self.kind not in PROTOCOLS:
            raise ValueError(f"no protocol for task kind '{self.kind}'; known: {', '.join(PROTOCOLS)}")
        stages = PROTOCOLS[self.kind].STAGES + SHARED_STAGES
        if self.stage not in stages:
            raise ValueError(f"the {self.kind} protocol has no stage '{self.stage}' (its stages: {', '.join(stages)})")
        return self


def checked(task: dict) -> dict:
    """A task dict validated against Task; only the fields it sets are kept, so the state stays plain JSON."""
    return Task.model_validate(task).model_dump(exclude_unset=True)


class AgentState(TypedDict, total=False):
    thread_id: str
    model: str
    saes: list[str]  # --sae specs (registry names or folders) to reload on resume
    settings: dict  # agent settings, corpus, seed, window length: restored on resume
    question: str
    shape: dict  # QuestionShape
    stage: str  # question-level stage: shortlist | investigate | answer | done
    tasks: list[dict]  # Task fields, checked on every write (agent.nodes.with_task)
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
