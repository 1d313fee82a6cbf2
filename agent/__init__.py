"""The investigation agent: a langgraph StateGraph from question to validated, evidence-citing descriptions.

`build(...)` is the one way to assemble it: ask, chat, the evals, the benchmarks and the tests use it.
"""

from __future__ import annotations

from pathlib import Path

from sleuth.agent.components import QuestionShape, find_components, parse_question
from sleuth.agent.deps import AgentDeps, EventSink
from sleuth.agent.session import Investigator, UnknownThread
from sleuth.config import AgentSettings


def build(target, llm, store, settings: AgentSettings | None = None, *, home: Path, corpus: str = "embedded",
          seed: int = 0, on_event: EventSink | None = None, ctx=None) -> Investigator:
    """An Investigator over `target` (a loaded sleuth.target.Target), an LLM client (or None), an evidence
    store and the agent settings. Checkpoints and caches live under `home`; `ctx` overrides the tool context."""
    from sleuth.tools import ToolContext

    ctx = ctx or ToolContext(target=target, home=home, corpus_spec=corpus, seed=seed)
    deps = AgentDeps(ctx=ctx, llm=llm, store=store, settings=settings or AgentSettings())
    if on_event is not None:
        deps.on_event = on_event
    return Investigator(deps, home)


__all__ = ["AgentDeps", "Investigator", "QuestionShape", "UnknownThread", "build", "find_components", "parse_question"]
