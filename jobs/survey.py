"""The survey job: what `make run` runs until the audit job exists.

On the embedded defaults it runs real experiments through the tool registry:
head scans (induction, previous-token, successor), a corpus scan of one MLP
site, top examples of its strongest neuron, and the logit lens on a fact.
Every result is written, with provenance, to a versioned run file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, Field

from sleuth import __version__
from sleuth.memory.from_results import evidence_from
from sleuth.tools import ToolContext, ToolResult, run_tool

RUN_SCHEMA_VERSION = 1


class SurveySpec(BaseModel):
    model: str
    layer: int = 3
    n_windows: int = 128
    seed: int = 0


class SurveyRun(BaseModel):
    schema_version: int = RUN_SCHEMA_VERSION
    sleuth_version: str = __version__
    started: str
    spec: SurveySpec
    steps: list[ToolResult] = Field(default_factory=list)
    evidence_ids: list[str] = Field(default_factory=list)
    seconds: float = 0.0


def survey_steps(spec: SurveySpec) -> list[tuple[str, dict]]:
    return [
        ("head_scan", {"kind": "induction", "n_sequences": 8, "length": 16}),
        ("head_scan", {"kind": "previous_token", "n_sequences": 8}),
        ("head_scan", {"kind": "successor"}),
        ("top_activations", {"sites": [f"blocks.{spec.layer}.mlp.hook_post"], "n_windows": spec.n_windows,
                             "k": 5, "units_per_site": 3}),
        ("logit_lens", {"text": "The capital of France is"}),
    ]


def run_survey(ctx: ToolContext, spec: SurveySpec, out_dir: Path, on_step: Callable[[str, ToolResult], None],
               store=None) -> SurveyRun:
    """Run every step; each result is written to the evidence store (when given) as it arrives."""
    run = SurveyRun(started=datetime.now(timezone.utc).isoformat(), spec=spec)
    run_id = f"survey-{out_dir.name}"
    start = time.perf_counter()
    for name, args in survey_steps(spec):
        result = run_tool(name, args, ctx)
        run.steps.append(result)
        if store is not None:
            run.evidence_ids += store.put(evidence_from(result, run_id))
        on_step(name, result)
    run.seconds = round(time.perf_counter() - start, 2)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "run.json.tmp"
    tmp.write_text(json.dumps(run.model_dump(mode="json"), indent=1))
    tmp.replace(out_dir / "run.json")
    return run
