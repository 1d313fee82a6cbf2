"""kind: diff: the same measurements on the job's model and on a second checkpoint (model diffing).

Each measurement is a registry tool run on both; for ranked outputs (labels with scores, e.g. head
scans) the components whose score changed most are reported, with both values and a heatmap of the change.
"""

from __future__ import annotations

from dataclasses import replace

from sleuth.audit.runlog import Plot
from sleuth.audit.tasks import task_kind


def _title(task) -> str:
    edits = f" with {', '.join(task.other.zero_heads)} zeroed" if task.other.zero_heads else ""
    return f"diff against {task.other.model}{edits}: {', '.join(m.tool for m in task.measure)}"


def open_other(job, ref):
    from sleuth.target import load_target

    other = load_target(ref.model, job.settings.home)
    if ref.zero_heads:
        other.zero_heads(ref.zero_heads)
    if other.shape.model_dump(exclude={"vocab_size"}) != job.target.shape.model_dump(exclude={"vocab_size"}):
        raise ValueError(f"{ref.model} has a different shape from {job.target.name}; diff checkpoints of one architecture")
    return other


def ranked_changes(a: dict, b: dict) -> list[dict] | None:
    """Per-label score changes, largest first (None when the output is not labels with scores)."""
    labels, first, second = a.get("labels"), a.get("scores"), b.get("scores")
    if not labels or not first or not second or len(first) != len(labels) or b.get("labels") != labels:
        return None
    changes = [{"label": lbl, "a": round(x, 4), "b": round(y, 4)} for lbl, x, y in zip(labels, first, second)]
    return sorted(changes, key=lambda c: -abs(c["b"] - c["a"]))


def _check(task, target) -> None:
    from sleuth.tools.registry import get_tool, validate_args

    for m in task.measure:
        validate_args(get_tool(m.tool), m.args)
    for head in task.other.zero_heads:
        target.check_site(head)


@task_kind("diff", title=_title, check=_check)
def run_diff(task, record, job) -> None:
    other = open_other(job, task.other)
    other_ctx = replace(job.tools, target=other, _windows=None)
    record.notes, record.plots, record.progress = [], [], {}
    for m in task.measure:
        mine, _ = job.tool(record, m.tool, m.args)
        theirs, _ = job.tool(record, m.tool, m.args, ctx=other_ctx)
        changes = ranked_changes(mine.data, theirs.data)
        if changes is None:
            record.notes.append(f"{m.tool}: {mine.summary} | {other.name}: {theirs.summary}")
            continue
        top = changes[: task.top]
        record.notes.append(f"{m.tool} {m.args}: largest changes " + "; ".join(
            f"{c['label']} {c['a']:.3f} -> {c['b']:.3f} ({c['b'] - c['a']:+.3f})" for c in top))
        record.progress.setdefault("changes", {})[m.tool + (f":{m.args.get('kind')}" if m.args.get("kind") else "")] = top
        shape = mine.data.get("grid_shape")
        if shape and len(shape) == 2 and shape[0] * shape[1] == len(mine.data["scores"]):
            rows, cols = shape
            delta = [b - a for a, b in zip(mine.data["scores"], theirs.data["scores"])]
            record.plots.append(Plot(kind="heatmap", title=f"{m.tool} {m.args.get('kind', '')}: {other.name} minus {job.target.name}",
                                     rows=[f"L{r}" for r in range(rows)], cols=[f"H{c}" for c in range(cols)],
                                     grid=[[round(delta[r * cols + c], 4) for c in range(cols)] for r in range(rows)]))
    firsts = [f"{name}: {top[0]['label']} ({top[0]['a']:.3f} -> {top[0]['b']:.3f})"
              for name, top in record.progress.get("changes", {}).items() if top]
    record.answer = "Largest change per measurement: " + "; ".join(firsts) if firsts else "No ranked measurement to compare."
