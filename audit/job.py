"""What every task runner gets: the loaded target and its tool context, the store, the LLM, the settings,
the task's budget, and `checkpoint()` to save progress inside a task (a sweep after each component)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sleuth.audit.runlog import TaskRecord, ToolCall
from sleuth.audit.spec import JobSpec, Limits
from sleuth.config import Settings


@dataclass
class JobContext:
    spec: JobSpec
    out: Path
    settings: Settings
    target: object  # sleuth.target.Target
    tools: object  # sleuth.tools.ToolContext
    store: object  # an EvidenceStore
    llm: object | None  # sleuth.llm.LLMClient (None until a task needs it)
    run_id: str
    checkpoint: Callable[[], None] = lambda: None
    on_event: Callable[[str, dict], None] = lambda kind, data: None
    limits: Limits = field(default_factory=Limits)  # this task's budget (the job's remaining total applied)
    open_llm: Callable[[], object] | None = None  # starts the LLM endpoint on first use

    def need_llm(self):
        if self.llm is None and self.open_llm is not None:
            self.llm = self.open_llm()
        return self.llm

    def tool(self, record: TaskRecord, name: str, args: dict, ctx=None):
        """Run a registry tool, keep its evidence in memory and its calls in the task record."""
        from sleuth.memory.from_results import evidence_from
        from sleuth.tools import run_tool

        self.on_event("tool", {"task": record.id, "tool": name})
        result = run_tool(name, args, ctx or self.tools)
        evidence = evidence_from(result, self.run_id)
        self.store.put(evidence)
        record.steps += 1
        for e in evidence:
            remember(record, e.id, ToolCall(tool=e.tool, component=e.component, summary=e.summary, evidence_id=e.id))
        return result, [e.id for e in evidence]


def loaded_sae(target, spec: str) -> str:
    """The name an SAE of the job's `saes` was loaded under (a registry name is itself; a folder loads under
    its folder's name)."""
    from sleuth.errors import SleuthError

    if spec in target.saes:
        return spec
    folder = str(Path(spec).expanduser().resolve())
    for name, source in target.sae_sources.items():
        if source in (spec, folder):
            return name
    raise SleuthError(f"SAE '{spec}' is not loaded; list it under the job's saes")


def remember_stored(record: TaskRecord, store, evidence_id: str) -> None:
    """Add an evidence id that another part (the agent, the labeler) stored, with its tool call from memory."""
    found = store.get(evidence_id)
    call = ToolCall(tool=found.tool, component=found.component, summary=found.summary, evidence_id=evidence_id) \
        if found is not None and hasattr(found, "tool") else None
    remember(record, evidence_id, call)


def remember(record: TaskRecord, evidence_id: str, call: ToolCall | None = None) -> None:
    """Add an evidence id (and its tool call) once: a resumed task that redoes a step adds nothing twice."""
    if evidence_id not in record.evidence_ids:
        record.evidence_ids.append(evidence_id)
        if call is not None:
            record.tool_calls.append(call)
