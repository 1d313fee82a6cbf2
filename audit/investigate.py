"""One agent investigation inside an audit task: a thread id derived from the job, so a killed run resumes
the checkpointed thread instead of starting over; its findings, evidence and tool calls go to the record."""

from __future__ import annotations

from sleuth.audit.job import JobContext, remember_stored
from sleuth.audit.runlog import Finding, Plot, TaskRecord


MAX_PATTERNS = 4  # attention-pattern heatmaps per investigation (one per head described)
PATTERN_TEXT = "The old man gave the small dog a bone. The old man gave the small dog a bone."


def pattern_plot(job: JobContext, record: TaskRecord, component: str) -> None:
    """A head's attention pattern on a repeated sentence, as a heatmap (induction and previous-token heads show)."""
    from sleuth.target import Site

    site = Site.parse(component)
    if site.hook != "attn.hook_z" or site.index is None or any(p.title.startswith(site.short + " ") for p in record.plots):
        return
    result, ids = job.tool(record, "attention_pattern", {"layer": site.layer, "head": site.index, "texts": [PATTERN_TEXT]})
    head = result.data["per_text"][0]
    tokens = [f"{i}:{t.strip() or '_'}" for i, t in enumerate(head["tokens"])]
    record.plots.append(Plot(kind="heatmap", title=f"{site.short} attention pattern (rows: queries, columns: keys)",
                             rows=tokens, cols=[t.split(":", 1)[0] for t in tokens], grid=head["pattern"],
                             evidence_id=ids[0] if ids else None))


def agent_settings(job: JobContext):
    """The configured agent settings with this task's budget applied."""
    limits, update = job.limits, {}
    if limits.steps:
        update["max_steps"] = limits.steps
    if limits.llm_tokens:
        update["max_llm_tokens"] = limits.llm_tokens
    if limits.wall_time:
        update["max_seconds"] = limits.wall_time
    return job.settings.agent.model_copy(update=update)


def _forget_earlier_try(record: TaskRecord, thread_id: str) -> None:
    """A try of this thread that failed (or was killed) after it was counted: the resumed thread's summary
    holds its steps, tokens and findings again, so they are taken out first and counted once."""
    earlier = record.progress.get("threads", {}).pop(thread_id, None)
    if earlier:
        record.steps -= earlier["steps"]
        record.llm_tokens -= earlier["llm_tokens"]
        counted = {tuple(f) for f in earlier["findings"]}
        record.findings = [f for f in record.findings if (f.component, f.text) not in counted]


def investigate(job: JobContext, record: TaskRecord, question: str, thread_id: str) -> dict:
    """Ask (or resume) one question; add what it found to `record`; return the agent's summary."""
    from sleuth.agent import build
    from sleuth.agent.report import summarize
    from sleuth.agent.session import UnknownThread, saved_thread

    llm = job.need_llm()
    inv = build(job.target, llm, job.store, agent_settings(job), home=job.settings.home, ctx=job.tools,
                on_event=lambda kind, data: job.on_event(kind, {**data, "task": record.id}))
    try:
        try:
            saved_thread(job.settings.home, thread_id)
            state = inv.resume(thread_id)
        except UnknownThread:
            state = inv.ask(question, thread_id=thread_id)
    finally:
        inv.close()
    summary = summarize(state)
    budget = summary["budget"]
    _forget_earlier_try(record, thread_id)
    record.steps += budget.get("steps", 0)
    record.llm_tokens += budget.get("tokens", 0)
    for evidence_id in summary["evidence_ids"]:
        remember_stored(record, job.store, evidence_id)
    for f in summary["findings"]:
        cited = sorted({e for c in f.get("claims", []) for e in c.get("evidence_ids", [])})
        record.findings.append(Finding(component=f["component"], short=f.get("short") or f["component"], text=f["text"],
                                       status=f["status"], written_by=f.get("written_by", "llm"),
                                       scores=f.get("scores", []), rule=f.get("rule"), description_id=f.get("description_id"),
                                       evidence_ids=cited, reason=f.get("reason")))
    record.progress.setdefault("threads", {})[thread_id] = {
        "steps": budget.get("steps", 0), "llm_tokens": budget.get("tokens", 0),
        "findings": [[f.component, f.text] for f in record.findings[-len(summary["findings"]):]] if summary["findings"] else []}
    for f in summary["findings"][:MAX_PATTERNS]:
        pattern_plot(job, record, f["component"])
    if summary["partial"]:
        record.notes.append(f"{question}: stopped early: {summary['partial']}")
    return summary
