"""Evidence records from tool results: each result names what it is about (`ToolResult.about`),
so nothing here knows any tool by name."""

from __future__ import annotations

import json

from sleuth.memory.records import Evidence

MAX_INLINE_NUMBERS = 2000


def small_result(data: dict) -> dict:
    """Keep numeric results inline unless they are large (then only their shapes are kept)."""
    return data if len(json.dumps(data)) <= MAX_INLINE_NUMBERS * 8 else {}


def evidence_from(result, run_id: str, hypothesis_ids: list[str] | None = None) -> list[Evidence]:
    """One Evidence per component a tool result (sleuth.tools.ToolResult) is about."""
    about = result.about or [(result.provenance.args.get("site") or "logits", result.summary)]
    return [Evidence(run_id=run_id, model=result.provenance.model, component=component, tool=result.tool,
                     args=result.provenance.args, result=small_result(result.data), summary=summary[:1000],
                     hypothesis_ids=hypothesis_ids or [], corpus=result.provenance.corpus_checksum)
            for component, summary in about]
