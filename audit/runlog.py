"""run.json: the versioned record of an audit job, rewritten atomically after every unit of progress.

It holds the spec, the resolved configuration, and per task its steps, tool calls, evidence ids,
findings (descriptions with scores and statuses), token use and errors; totals are derived from them.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from sleuth import __version__
from sleuth.atomic_files import write_atomically

RUNLOG_VERSION = 1
KIND = "sleuth-audit-run"

TaskStatus = Literal["pending", "running", "done", "unfinished", "failed", "skipped"]  # unfinished: its budget ran out


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ToolCall(BaseModel):
    tool: str
    component: str
    summary: str
    evidence_id: str


class Finding(BaseModel):
    """One component's description: written by the agent, by the labeler, or stated by code from measurements."""

    component: str
    short: str
    text: str
    status: str  # validated | rejected | failed | unscored
    written_by: Literal["llm", "code"] = "llm"
    scores: list[dict] = []  # {scorer, status, value, threshold, reason}
    rule: dict | None = None  # the executable hypothesis (predicate) the words were checked against
    description_id: str | None = None
    evidence_ids: list[str] = []
    reason: str | None = None


class Plot(BaseModel):
    """A figure for the report: a heatmap (grid with row and column labels) or a histogram (values)."""

    kind: Literal["heatmap", "histogram", "bars"]
    title: str
    rows: list[str] = []
    cols: list[str] = []
    grid: list[list[float]] = []
    values: list[float] = []
    labels: list[str] = []
    evidence_id: str | None = None


class TaskRecord(BaseModel):
    id: str
    kind: str
    title: str
    status: TaskStatus = "pending"
    steps: int = 0
    llm_tokens: int = 0
    seconds: float = 0.0
    tool_calls: list[ToolCall] = []
    evidence_ids: list[str] = []
    findings: list[Finding] = []
    plots: list[Plot] = []
    answer: str | None = None
    notes: list[str] = []  # what code measured, in sentences (diffs, budget stops)
    errors: list[str] = []
    progress: dict[str, Any] = {}  # resumable state of a task with several parts (sweep: done components)


class Resolved(BaseModel):
    model: str
    model_source: str
    arch: str
    saes: dict[str, str] = {}  # name -> sha256 of its weights
    corpus: str
    corpus_checksum: str | None = None
    llm_base_url: str | None = None
    llm_model: str | None = None
    sleuth_version: str = __version__
    commit: str | None = None


class RunLog(BaseModel):
    kind: str = KIND
    schema_version: int = RUNLOG_VERSION
    fingerprint: str
    spec: dict
    resolved: Resolved | None = None
    started: str = Field(default_factory=now)
    finished: str | None = None
    attempts: int = 0  # processes that worked on this job (1 + resumes)
    status: Literal["running", "done", "partial"] = "running"
    tasks: list[TaskRecord] = []

    def totals(self) -> dict:
        count = lambda status: sum(t.status == status for t in self.tasks)  # noqa: E731
        findings = [f for t in self.tasks for f in t.findings]
        return {"tasks": len(self.tasks), "done": count("done"), "failed": count("failed"),
                "skipped": count("skipped"), "pending": count("pending") + count("running") + count("unfinished"),
                "steps": sum(t.steps for t in self.tasks), "llm_tokens": sum(t.llm_tokens for t in self.tasks),
                "seconds": round(sum(t.seconds for t in self.tasks), 1),
                "findings": len(findings), "validated": sum(f.status == "validated" for f in findings),
                "evidence": len({e for t in self.tasks for e in t.evidence_ids})}

    def dump(self) -> dict:
        return {**self.model_dump(mode="json"), "totals": self.totals()}


def save(path: Path, log: RunLog) -> None:
    write_atomically(path, json.dumps(log.dump(), indent=1))


def load(path: Path) -> RunLog | None:
    """The saved log, or None when the file is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return parse(data)


def parse(data) -> RunLog | None:
    """A saved log's JSON as a RunLog (its derived totals dropped), or None when it is not one."""
    if not isinstance(data, dict):
        return None
    try:
        return RunLog.model_validate({k: v for k, v in data.items() if k != "totals"})
    except ValueError:
        return None
