"""Audit benchmark: what the runner adds around the experiments (evidence to memory, run.json after every
step, the reports), and what a --resume of a finished job costs. No LLM: a behaviour task and a diff task.

Baseline (same run, same loaded model): the same tool calls made directly with run_tool.
"""

import tempfile
import time
from pathlib import Path

from sleuth.audit.runner import AuditRunner
from sleuth.audit.spec import parse_job
from sleuth.audit.tasks.behaviour import pair_args, split
from sleuth.config import load_settings
from sleuth.target import load_target
from sleuth.tools import run_tool

PAIRS = [("Mary", "John", "store"), ("Anna", "Tom", "park"), ("Sarah", "David", "cafe"), ("Lisa", "Mark", "garden"),
         ("Emma", "James", "school"), ("Kate", "Paul", "zoo")]
JOB = "model: smollm2-135m\noutput: unused\ntasks:\n" + """
  - kind: behaviour
    behaviour: indirect object
    candidates: 5
    senders: 6
    pairs:
""" + "".join(f'      - {{clean: "When {a} and {b} went to the {p}, {b} gave a drink to", corrupt: "When {a} and {b} went '
              f'to the {p}, {a} gave a drink to", answer: " {a}", foil: " {b}"}}\n' for a, b, p in PAIRS) + """
  - kind: diff
    other: {model: smollm2-135m, zero_heads: [L16H0]}
    measure:
      - {tool: head_scan, args: {kind: previous_token}}
"""


def _direct(spec, ctx, home) -> float:
    """The behaviour and diff tasks' tool calls, made directly."""
    from dataclasses import replace

    from sleuth.target import Site

    task = spec.tasks[0]
    explain, held = split(task.pairs, task.heldout_fraction)
    began = time.perf_counter()
    attr = run_tool("attribution_patch", {**pair_args(explain), "sweep": "heads", "top": task.candidates}, ctx).data
    shortlist = [lbl for _, lbl in sorted(zip(attr["scores"], attr["labels"]), key=lambda x: -x[0])[: task.candidates]]
    recovery = dict(zip(shortlist, run_tool("patch", {**pair_args(held), "sweep": "sites", "sites": shortlist}, ctx).data["scores"]))
    for head in shortlist:
        run_tool("ablate", {"components": [head], "texts": [p.clean for p in held], "answers": [p.answer for p in held],
                            "foils": [p.foil for p in held], "method": "mean"}, ctx)
    best = max(shortlist, key=lambda h: recovery[h])
    layer = Site.parse(best).layer
    earlier = sorted(((abs(v), lbl) for v, lbl in zip(attr["scores"], attr["labels"]) if Site.parse(lbl).layer < layer),
                     reverse=True)[: task.senders]
    for _, sender in earlier:
        run_tool("path_patch", {**pair_args(held), "receivers": [best], "senders": [sender]}, ctx)
    run_tool("patch", {**pair_args(held), "sweep": "heads"}, ctx)
    other = load_target("smollm2-135m", home)
    other.zero_heads(["L16H0"])
    run_tool("head_scan", {"kind": "previous_token"}, ctx)
    run_tool("head_scan", {"kind": "previous_token"}, replace(ctx, target=other, _windows=None))
    return time.perf_counter() - began


def run() -> dict:
    settings = load_settings()
    spec = parse_job(JOB)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit"
        runner = AuditRunner(spec=spec, out=out)
        job = runner.prepare(settings)
        direct_s = _direct(spec, job.tools, settings.home)
        began = time.perf_counter()
        log = runner.run(job, open_llm=lambda stack: None)
        audit_s = time.perf_counter() - began
        resumer = AuditRunner(spec=spec, out=out, resume=True)
        again = resumer.prepare(settings)
        began = time.perf_counter()
        resumer.run(again, open_llm=lambda stack: None)
        resume_s = time.perf_counter() - began
        evidence = log.totals()["evidence"]
    return {"direct_tool_calls_s": round(direct_s, 2), "audit_run_s": round(audit_s, 2),
            "audit_over_direct": round(audit_s / direct_s, 3), "evidence_records": evidence,
            "resume_of_finished_job_s": round(resume_s, 3), "resume_over_run": round(resume_s / audit_s, 4),
            "tasks_done": sum(t.status == "done" for t in log.tasks)}
