"""A finished (or stopped) investigation as one plain summary: what ask --json prints and benchmarks read."""

from __future__ import annotations


def prediction_accuracy(experiments: list[dict]) -> float | None:
    """Share of logged predictions that matched the measured outcome."""
    if not experiments:
        return None
    return round(sum(e["predicted"] == e["outcome"] for e in experiments) / len(experiments), 4)


def summarize(state: dict, usage: dict | None = None) -> dict:
    return {
        "thread_id": state.get("thread_id"),
        "model": state.get("model"),
        "question": state.get("question"),
        "shape": (state.get("shape") or {}).get("kind"),
        "status": state.get("status"),
        "partial": state.get("partial"),
        "answer": state.get("answer", ""),
        "findings": state.get("findings", []),
        "evidence_ids": state.get("evidence_ids", []),
        "experiments": len(state.get("experiments", [])),
        "prediction_accuracy": prediction_accuracy(state.get("experiments", [])),
        "budget": state.get("budget", {}),
        "llm_usage": usage or {},
    }
