"""Evidence, hypotheses and versioned descriptions: the records the store keeps.

Ids derive from content, so replaying a run after a crash writes no duplicates.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1
RecordKind = Literal["evidence", "hypothesis", "description"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def content_id(prefix: str, *parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return f"{prefix}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


class _Record(BaseModel):
    """What every record has; its id derives from its content (`id_parts`), so a replay stores nothing twice."""

    ID_PREFIX: ClassVar[str]
    schema_version: int = SCHEMA_VERSION
    id: str = ""
    model: str
    component: str  # a Site string
    created: str = Field(default_factory=_now)

    def id_parts(self) -> tuple:
        raise NotImplementedError

    def model_post_init(self, _context) -> None:
        if not self.id:
            self.id = content_id(self.ID_PREFIX, *self.id_parts())


class Evidence(_Record):
    ID_PREFIX = "ev"
    run_id: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None  # the numbers (small results)
    result_path: str | None = None  # or a path to a large array
    summary: str
    hypothesis_ids: list[str] = Field(default_factory=list)
    corpus: str | None = None  # the checksum of the corpus the tool read, where it read one

    def id_parts(self) -> tuple:
        return self.run_id, self.model, self.component, self.tool, self.args, self.corpus


class Hypothesis(_Record):
    ID_PREFIX = "hy"
    statement: str
    rule: dict | None = None  # the statement as an executable predicate, where there is one
    fit: dict | None = None  # the rule's precision, recall, F1, correlation on the explain windows and test texts
    status: Literal["open", "supported", "refuted"] = "open"
    source: Literal["llm", "induced", "class"] = "llm"  # who proposed it: the LLM, code's rule search on the measured
    # windows, or the class step (a listing rule grown by LLM-proposed members the unit fired on; agent.generalize)
    evidence_for: list[str] = Field(default_factory=list)
    evidence_against: list[str] = Field(default_factory=list)
    run_id: str = ""  # the run that weighed it: another run's verdict is another record

    def id_parts(self) -> tuple:
        return self.model, self.component, self.statement, self.run_id


class Description(_Record):
    ID_PREFIX = "de"
    text: str
    version: int = 0  # assigned by the store: 1, 2, ... per component
    scores: dict[str, float] = Field(default_factory=dict)
    rule: dict | None = None  # the executable rule (predicate language) the text states, where there is one
    written_by: Literal["llm", "code", "human"] | None = None  # who wrote the words (code: a rule said in words)
    rule_syntax: bool = False  # the words carry a regex, JSON or a predicate key
    score_states: list[dict] = Field(default_factory=list)  # every configured scorer: status, value, threshold, reason
    evidence_ids: list[str] = Field(default_factory=list)
    status: Literal["draft", "validated", "rejected", "failed"] = "draft"
    failure_reason: str | None = None
    run_id: str = ""  # the run that wrote and scored it: the same words from another run are a new version

    def id_parts(self) -> tuple:
        return self.model, self.component, self.text, self.run_id


Record = Evidence | Hypothesis | Description
KIND_OF: dict[type, RecordKind] = {Evidence: "evidence", Hypothesis: "hypothesis", Description: "description"}
MODEL_OF: dict[str, type[BaseModel]] = {v: k for k, v in KIND_OF.items()}


def kind_of(record: BaseModel) -> RecordKind:
    return KIND_OF[type(record)]


def searchable_text(record: BaseModel) -> str:
    """What gets embedded for semantic search."""
    if isinstance(record, Evidence):
        return f"{record.component} {record.tool}: {record.summary}"
    if isinstance(record, Hypothesis):
        return f"{record.component} hypothesis: {record.statement}"
    return f"{record.component} description: {record.text}"
