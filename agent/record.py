"""Evidence records for the agent's tool results, about the component each result bears on."""

from __future__ import annotations

from sleuth.memory.from_results import evidence_from, small_result
from sleuth.memory import Evidence

BASIS_OF = {"top_examples": "top_examples", "test_texts": "test_texts", "class_members": "test_texts", "head_scan": "head_scan",
            "pattern": "head_scan", "shortlist_heads": "head_scan", "shortlist_units": "top_examples",
            "shortlist_behaviour": "patching", "fresh_patch": "validation", "heldout": "validation",
            "fresh_scan": "validation", "free": "experiments", "rule_scan": "head_scan", "heldout_rule": "validation",
            "confirm_scan": "validation", "confirm_rule": "validation"}
SHORTLIST = ("shortlist_heads", "shortlist_units", "shortlist_behaviour", "confirm_scan", "confirm_rule")


def evidence_for(result: dict, run_id: str, model: str, component: str | None, hypothesis_ids: list[str]) -> list[Evidence]:
    """Evidence about `component` (or, for a shortlist sweep, about its top-ranked components)."""
    from sleuth.tools import ToolResult

    args = {**result["args"], "seed": result["seed"]}
    if component is None or result["purpose"] in SHORTLIST:
        tool_result = ToolResult.model_validate(result["tool_result"])
        tool_result.provenance.args = args
        return evidence_from(tool_result, run_id)
    summary = result.get("subject_summary") or result["summary"]
    corpus = result.get("corpus")
    return [Evidence(run_id=run_id, model=model, component=component, tool=result["tool"], args=args,
                     result=small_result(result["data"]), corpus=corpus,
                     summary=summary[:1000], hypothesis_ids=hypothesis_ids)]
