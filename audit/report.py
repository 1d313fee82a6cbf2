"""report.html (self-contained: inline CSS and SVG, no scripts, no outside files) and report.md from run.json."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader

from sleuth.audit import plots
from sleuth.audit.runlog import RunLog

ORDER = {"validated": 0, "rejected": 1, "unscored": 2, "failed": 3}


def _env() -> Environment:
    env = Environment(loader=PackageLoader("sleuth.audit", "templates"), autoescape=_is_html,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["svg"] = plots.render
    env.filters["score"] = _score
    return env


def _is_html(name: str | None) -> bool:
    """Escape every value in an HTML page. (jinja2's select_autoescape(["html"]) looks only at the last suffix,
    so it left `report.html.j2` unescaped: corpus text and LLM output ran as markup in the reader's browser.)"""
    return bool(name) and ".html" in Path(name).suffixes


def _score(s: dict) -> str:
    if s.get("status") == "scored" and s.get("value") is not None:
        return f"{s['scorer']} {s['value']:.2f} (needs {s.get('threshold')})"
    return f"{s['scorer']}: {s.get('status')}" + (f" ({s['reason']})" if s.get("reason") else "")


def view(log: RunLog) -> dict:
    """What the templates read: tasks with findings ranked validated first, every evidence id with its call."""
    tasks = []
    for t in log.tasks:
        findings = sorted(t.findings, key=lambda f: ORDER.get(f.status, 9))
        tasks.append({"record": t, "findings": findings,
                      "validated": sum(f.status == "validated" for f in findings)})
    evidence = {c.evidence_id: c for t in log.tasks for c in t.tool_calls}
    scores = {}
    for t in log.tasks:
        for f in t.findings:
            for s in f.scores:
                if s.get("status") == "scored" and s.get("value") is not None:
                    scores.setdefault(s["scorer"], []).append(s["value"])
    distributions = [plots.histogram(v, bounds=(0.0, 1.0)) for v in scores.values()]  # scores: a 0..1 axis when they fit
    return {"log": log, "totals": log.totals(), "tasks": tasks, "evidence": evidence,
            "distributions": list(zip(scores, distributions)), "spec": log.spec}


def write_reports(out: Path, log: RunLog) -> None:
    env, data = _env(), view(log)
    for name in ("report.html", "report.md"):
        text = env.get_template(f"{name}.j2").render(**data)
        tmp = out / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(out / name)
