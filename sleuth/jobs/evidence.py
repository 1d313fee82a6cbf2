"""Turn tool results into evidence records (shared by jobs and, later, the agent)."""

from __future__ import annotations

from sleuth.memory import Evidence
from sleuth.tools import ToolResult

MAX_INLINE_NUMBERS = 2000


def small_result(data: dict) -> dict:
    """Keep numeric results inline unless they are large (then only their shapes are kept)."""
    import json

    return data if len(json.dumps(data)) <= MAX_INLINE_NUMBERS * 8 else {}


def components_of(result: ToolResult) -> list[tuple[str, str]]:
    """(component, summary) pairs a result is evidence about."""
    data = result.data
    if result.tool == "top_activations":
        lines = result.summary.splitlines()
        return [(c["component"], line) for c, line in zip(data["components"], lines)]
    if "labels" in data and "scores" in data and data["labels"]:
        from sleuth.target import Site

        ranked = sorted(zip(data["scores"], data["labels"]), key=lambda x: -abs(x[0]))[:3]
        return [(str(Site.parse(label)), f"{label} scores {score:.3f}; {result.summary}") for score, label in ranked]
    site = data.get("site") or result.provenance.args.get("site") or "logits"
    return [(site, result.summary)]


def evidence_from(result: ToolResult, run_id: str, hypothesis_ids: list[str] | None = None) -> list[Evidence]:
    return [Evidence(run_id=run_id, model=result.provenance.model, component=component, tool=result.tool,
                     args=result.provenance.args, result=small_result(result.data), summary=summary[:1000],
                     hypothesis_ids=hypothesis_ids or []) for component, summary in components_of(result)]
