"""How an eval gets a description of a unit: the full agent, one-shot (explain once from top examples), or
code's rule search alone (its best rule said in words by code, no LLM).

Both start from the same corpus scan (the agent's own first experiment, same arguments),
so the comparison is agent loop vs no loop, with the same LLM and the same examples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field

from sleuth.agent.neuron import explore_args, fire_threshold, peak_tokens
from sleuth.agent.schemas import RULE_BRIEF
from sleuth.agent.snippets import crop, marked
from sleuth.predicates import Predicate, predicate_dict
from sleuth.predicates.induce import induce
from sleuth.predicates.words import in_words
from sleuth.prompts import render
from sleuth.tools import run_tool


class Described(BaseModel):
    text: str | None  # None when no description came back (status says why)
    status: str  # validated / rejected / failed (agent), described / failed (one-shot)
    reason: str | None = None
    rule: dict | None = None  # the executable rule the words state (the agent's descriptions carry one)
    written_by: str | None = None  # llm, code (a rule said in words by code) or human (a suite's true words)


class OneShotDescription(BaseModel):
    """One look, words and rule together (as `sleuth label` drafts): the rule is scored against the truth by code."""

    BRIEF: ClassVar[str] = RULE_BRIEF.format(shape='{"description": "<which tokens it fires on, in words>", "rule": RULE}')

    description: str = Field(min_length=3, max_length=600)
    rule: Predicate = Field(description="the description as a predicate: which tokens fire")


@dataclass
class DescribeEnv:
    ctx: object  # sleuth.tools.ToolContext
    llm: object  # sleuth.llm.LLMClient
    agent_settings: object  # sleuth.config.AgentSettings
    work_dir: Path  # the agent's private memory and checkpoints for this eval run
    _investigator: object | None = field(default=None, repr=False)

    def investigator(self):
        if self._investigator is None:
            from sleuth.agent import build
            from sleuth.memory import open_store

            store = open_store(self.work_dir, path=self.work_dir / "memory")
            self._investigator = build(self.ctx.target, self.llm, store, self.agent_settings, home=self.work_dir,
                                       ctx=self.ctx)
        return self._investigator

    def close(self) -> None:
        if self._investigator is not None:
            self._investigator.close()


def _first_scan(site: str, env: DescribeEnv) -> dict:
    """The agent's own first experiment on the unit (same arguments): its top explain windows."""
    return run_tool("top_activations", explore_args(site, env.agent_settings), env.ctx).data["components"][0]


def _candidates(report: dict, env: DescribeEnv, keep: int) -> list:
    """The rule search's best rules on a scan's windows, firing at the agent's threshold."""
    return induce([(e["tokens"], e["values"]) for e in report["examples"]], fire_threshold(report, env.agent_settings),
                  keep=keep)


def search(site: str, env: DescribeEnv) -> Described:
    """Code's rule search alone on the first scan's windows, its best rule said in words by code (no LLM):
    the baseline that shows what the agent's loop and its LLM add."""
    found = _candidates(_first_scan(site, env), env, 1)
    if not found:
        return Described(text=None, status="failed", reason="the rule search found no rule on the first scan's windows")
    return Described(text=in_words(found[0].rule), status="described", rule=found[0].rule, written_by="code")


def one_shot_with_search(site: str, env: DescribeEnv) -> Described:
    """One-shot, shown also the rule search's three best rules on the same windows: with `search` and
    `agent`, what the agent's loop adds beyond one look and code's candidates."""
    return one_shot(site, env, candidates=3)


def one_shot(site: str, env: DescribeEnv, candidates: int = 0) -> Described:
    report = _first_scan(site, env)
    top = [e for e in report["examples"] if e["kind"] == "top"]
    quiet = [e for e in report["examples"] if e["kind"] == "random"]
    firing = [e for e in top if e["max_value"] > 0]
    examples = [{"text": marked(e["tokens"], e["values"])} for e in firing]
    stats = f"It fires on {100 * report['frequency']:.2f}% of tokens; its largest activation is {report['max']:.3f}."
    found = _candidates(report, env, candidates) if candidates else []
    prompt = render("oneshot_describe", component=site, model=env.ctx.target.name, stats=stats, examples=examples,
                    peaks=peak_tokens(firing), quiet=["".join(crop(e["tokens"], e["values"])[0]) for e in quiet],
                    candidates=[c.model_dump() for c in found])
    reply = env.llm.structured([{"role": "user", "content": prompt}], OneShotDescription, max_tokens=260,
                               brief=OneShotDescription.BRIEF)
    return Described(text=reply.description.strip(), status="described",
                     rule=predicate_dict(reply.rule), written_by="llm")


def agent(site: str, env: DescribeEnv) -> Described:
    state = env.investigator().ask(f"What does {site} do?")
    finding = next((f for f in state.get("findings", []) if f["component"] == site), None)
    if finding is None:
        return Described(text=None, status="failed", reason=state.get("partial") or "the agent reached no finding")
    return Described(text=finding.get("words") or finding["text"], status=finding["status"], reason=finding.get("reason"),
                     rule=finding.get("rule"), written_by=finding.get("written_by"))


DESCRIBERS: dict[str, Callable[[str, DescribeEnv], Described]] = {"oneshot": one_shot, "agent": agent, "search": search,
                                                                  "oneshot_search": one_shot_with_search}
