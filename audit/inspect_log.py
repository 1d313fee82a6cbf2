"""audit.eval: an audit run as an Inspect eval log, built from run.json with inspect-ai's own types and written
with its own writer (the optional `exports` extra), so that `inspect view` shows it beside other auditing agents'
logs (Inspect Scout and Docent read the same format).

One sample per task: its question (the task's title) as input, its answer as output; each tool call as a
tool event (its evidence id in the metadata), each note as an info event and each error as an error event;
each finding as a score (its scorers' values, its status, its words); its tokens as model usage; a task its
budget stopped carries the limit Inspect keeps for it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sleuth import __version__
from sleuth.atomic_files import temporary_beside
from sleuth.audit.runlog import Finding, RunLog, TaskRecord

LOG_FILE = "audit.eval"
BUDGETS = {"steps": "turn", "llm tokens": "token", "wall time": "time"}  # how a budget stop is said -> Inspect's limit


def available() -> bool:
    try:
        import inspect_ai.log  # noqa: F401
    except ImportError:
        return False
    return True


def _time(text: str | None) -> datetime:
    return datetime.fromisoformat(text) if text else datetime.now(timezone.utc)


def _model(log: RunLog) -> str:
    """Inspect names a model provider/name; the LLM sleuth talked to is an OpenAI-compatible endpoint."""
    name = log.resolved.llm_model if log.resolved and log.resolved.llm_model else "none"
    return f"openai-api/{name}"


def _score(finding: Finding):
    from inspect_ai.scorer import Score

    values = {s["scorer"]: s["value"] for s in finding.scores if s.get("status") == "scored"}
    why = "; ".join(f"{s['scorer']}: {s.get('reason') or s.get('status')}" for s in finding.scores
                    if s.get("status") != "scored" or s.get("reason"))
    return Score(value={**values, "validated": finding.status == "validated"}, answer=finding.text,
                 explanation=f"{finding.status}" + (f" ({why})" if why else "") + (f"; {finding.reason}" if finding.reason else ""),
                 metadata={"component": finding.component, "status": finding.status, "written_by": finding.written_by,
                           "rule": finding.rule, "description_id": finding.description_id,
                           "evidence_ids": finding.evidence_ids, "scores": finding.scores})


def _limit(record: TaskRecord, budget: dict):
    """The budget that stopped a task, as Inspect's sample limit (None for a task that was not stopped)."""
    from inspect_ai.log import EvalSampleLimit

    if record.status not in ("unfinished", "skipped"):
        return None
    said = " ".join([*record.notes, *record.errors])
    for words, kind in BUDGETS.items():
        if words in said:
            key = words.replace(" ", "_")
            value = (budget.get("per_task") or {}).get(key) or (budget.get("total") or {}).get(key) or 0
            return EvalSampleLimit(type=kind, limit=float(value), reason=said)
    return EvalSampleLimit(type="custom", limit=0.0, reason=said or record.status)


def _events(record: TaskRecord, at: datetime) -> list:
    from inspect_ai._util.error import EvalError
    from inspect_ai.event import ErrorEvent, InfoEvent, ToolEvent

    events = [ToolEvent(id=call.evidence_id, function=call.tool, arguments={"component": call.component},
                        result=call.summary, timestamp=at, metadata={"evidence_id": call.evidence_id})
              for call in record.tool_calls]
    events += [InfoEvent(source="sleuth", data=note, timestamp=at) for note in record.notes]
    events += [ErrorEvent(error=EvalError(message=e, traceback="", traceback_ansi=""), timestamp=at) for e in record.errors]
    return events


def _sample(record: TaskRecord, log: RunLog, model: str):
    from inspect_ai._util.error import EvalError
    from inspect_ai.log import EvalSample
    from inspect_ai.model import ChatMessageAssistant, ChatMessageUser, ModelOutput, ModelUsage

    at = _time(log.started)
    answer = record.answer or ""
    scores = {}
    for finding in record.findings:  # a component described twice keeps both, the second as component#2
        key = finding.component if finding.component not in scores else f"{finding.component}#{len(scores) + 1}"
        scores[key] = _score(finding)
    return EvalSample(
        id=record.id, epoch=1, input=record.title, target="",
        messages=[ChatMessageUser(content=record.title), *([ChatMessageAssistant(content=answer)] if answer else [])],
        output=ModelOutput.from_content(model, answer), scores=scores or None, events=_events(record, at),
        metadata={"kind": record.kind, "status": record.status, "steps": record.steps,
                  "evidence_ids": record.evidence_ids, "findings": len(record.findings),
                  "validated": sum(f.status == "validated" for f in record.findings)},
        model_usage={model: ModelUsage(total_tokens=record.llm_tokens)} if record.llm_tokens else {},
        total_time=record.seconds, working_time=record.seconds,
        error=EvalError(message="; ".join(record.errors), traceback="", traceback_ansi="") if record.status == "failed" else None,
        limit=_limit(record, log.spec.get("budget") or {}))


def _status(log: RunLog) -> str:
    """Inspect's status: started while running, success when every task is done, error when one failed,
    cancelled when a budget stopped the rest (they continue with --resume)."""
    if log.status != "partial":
        return {"running": "started", "done": "success"}[log.status]
    return "error" if any(t.status == "failed" for t in log.tasks) else "cancelled"


def eval_log(log: RunLog, name: str):
    """run.json's RunLog as an inspect_ai EvalLog."""
    from inspect_ai.log import (EvalConfig, EvalDataset, EvalLog, EvalMetric, EvalResults, EvalScore, EvalSpec,
                                EvalStats)
    from inspect_ai.model import ModelUsage

    model = _model(log)
    samples = [_sample(t, log, model) for t in log.tasks]
    totals = log.totals()
    spec = EvalSpec(
        created=log.started, task=f"sleuth-audit/{name}", task_id=log.fingerprint, run_id=log.fingerprint,
        eval_id=f"{log.fingerprint}-{log.attempts}", dataset=EvalDataset(name=name, samples=len(samples),
                                                                          sample_ids=[t.id for t in log.tasks]),
        model=model, model_base_url=log.resolved.llm_base_url if log.resolved else None,
        config=EvalConfig(), task_args={"budget": log.spec.get("budget")}, packages={"sleuth": __version__},
        metadata={"target": log.resolved.model_dump() if log.resolved else None, "attempts": log.attempts,
                  "sleuth_run": "run.json"})
    share = totals["validated"] / totals["findings"] if totals["findings"] else 0.0
    results = EvalResults(total_samples=len(samples), completed_samples=totals["done"],
                          scores=[EvalScore(name="findings", scorer="sleuth",
                                            metrics={"validated_share": EvalMetric(name="validated_share", value=share),
                                                     "findings": EvalMetric(name="findings", value=totals["findings"])})])
    stats = EvalStats(started_at=log.started, completed_at=log.finished or "",
                      model_usage={model: ModelUsage(total_tokens=totals["llm_tokens"])} if totals["llm_tokens"] else {})
    return EvalLog(status=_status(log), eval=spec, results=results, stats=stats, samples=samples)


def write(out: Path, log: RunLog, name: str) -> Path | None:
    """out/audit.eval through a temporary name (a kill leaves the old log or the new); None without inspect-ai."""
    if not available():
        return None
    from inspect_ai.log import write_eval_log

    path = out / LOG_FILE
    with temporary_beside(path) as tmp:
        write_eval_log(eval_log(log, name), tmp, format="eval")
    return path
