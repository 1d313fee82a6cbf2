"""Budgets: steps, LLM tokens and wall time per question, counted by every node."""

from __future__ import annotations

import functools
import time

from sleuth.config import AgentSettings


def fresh_budget() -> dict:
    return {"steps": 0, "tokens": 0, "seconds": 0.0, "failures": 0}


def exhausted(budget: dict, cfg: AgentSettings) -> str | None:
    """Why the run must stop, or None."""
    if budget["steps"] >= cfg.max_steps:
        return f"step budget spent ({budget['steps']} of {cfg.max_steps})"
    if budget["tokens"] >= cfg.max_llm_tokens:
        return f"LLM token budget spent ({budget['tokens']} of {cfg.max_llm_tokens})"
    if budget["seconds"] >= cfg.max_seconds:
        return f"time budget spent ({budget['seconds']:.0f} s of {cfg.max_seconds:.0f} s)"
    if budget["failures"] >= cfg.max_tool_failures:
        return f"{budget['failures']} failed steps in a row"
    return None


def metered(fn):
    """Wrap a node: count the step, its LLM tokens and its seconds into state['budget']."""

    @functools.wraps(fn)
    def node(state: dict, deps) -> dict:
        start, tokens = time.perf_counter(), deps.tokens_used()
        update = fn(state, deps) or {}
        budget = {**fresh_budget(), **(state.get("budget") or {}), **update.get("budget", {})}
        budget["steps"] += 1
        budget["tokens"] += deps.tokens_used() - tokens
        budget["seconds"] = round(budget["seconds"] + time.perf_counter() - start, 3)
        return {**update, "budget": budget}

    return node
