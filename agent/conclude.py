"""describe -> validate -> answer. Validation is never self-assessment: scorers measure the
description against held-out windows, the agent's test texts, or fresh prompts."""

from __future__ import annotations

from sleuth.agent import neuron
from sleuth.agent.budget import metered
from sleuth.agent.nodes import current_task, with_task
from sleuth.agent.schemas import DescriptionDraft
from sleuth.llm.errors import InvalidOutput, LLMError, LLMUnreachable
from sleuth.memory import Description, Hypothesis
from sleuth.memory.embedding import MiniLMEmbedding
from sleuth.scorers import ScoringExample
from sleuth.scorers.registry import run_scorer
from sleuth.target import Site


@metered
def describe(state: dict, deps) -> dict:
    task = current_task(state)
    top = neuron.best(task) if task["kind"] == "neuron" and task.get("hypotheses") else None
    try:
        draft = deps.ask("describe", DescriptionDraft, max_tokens=300, component=Site.parse(task["component"]).short,
                         model=state["model"], hypotheses=task.get("hypotheses", []), evidence=task.get("notes", []),
                         head=task["kind"] != "neuron", best=top)
    except LLMUnreachable:
        raise
    except (InvalidOutput, LLMError) as exc:
        return {"budget": {"failures": state["budget"].get("failures", 0) + 1},
                "messages": [{"role": "error", "content": f"describe: {exc}"}]}
    evidence = task.get("evidence", {})
    cited_all = [i for basis, ids in evidence.items() if basis != "validation" for i in ids]
    claims = [{"text": c.text, "basis": c.basis, "evidence_ids": evidence.get(c.basis) or cited_all} for c in draft.claims]
    hyps = [Hypothesis(model=state["model"], component=task["component"], statement=h["statement"],
                       rule=h.get("rule"), fit=h.get("fit"), status=h["status"], evidence_for=cited_all)
            for h in task.get("hypotheses", [])]
    deps.store.put(hyps)
    deps.on_event("description", {"component": task["component"], "text": draft.description, "claims": claims})
    rule = {"rule": top["rule"], "rule_fit": top["fit"]} if top else {}
    return {"tasks": with_task(state, {"draft": {"description": draft.description, "claims": claims, **rule},
                                       "stage": "heldout"}),
            "messages": [{"role": "assistant", "content": f"draft for {task['component']}: {draft.description}"}],
            "budget": {"failures": 0}}


def _scorer_inputs(task: dict, deps) -> tuple[list[str], dict]:
    if task["kind"] == "neuron":  # held-out windows only: the explain split and the agent's texts are evidence
        examples = [ScoringExample(**e) for e in task.get("heldout", [])]
        return deps.settings.neuron_scorers, {"examples": examples, "llm": deps.llm, "seed": deps.ctx.seed,
                                              "embed": MiniLMEmbedding(), "rule": task["draft"].get("rule"),
                                              "fire_threshold": task.get("fire_threshold")}
    fresh = task.get("fresh", {})
    if task["kind"] == "circuit":
        return ["patch_recovery"], {"fresh_value": fresh.get("value")}
    return deps.settings.head_scorers, {"fresh_value": fresh.get("value"), "population": fresh.get("population")}


def _measured(task: dict) -> str:
    """The re-measured effect, stated with the description (heads and behaviour components)."""
    fresh = task.get("fresh") or {}
    if task["kind"] == "head" and "rank" in fresh:
        return (f" [measured on fresh prompts: {fresh['kind'].replace('_', '-')} score {fresh['value']:.3f}, "
                f"rank {fresh['rank']} of {fresh['of']} heads]")
    if task["kind"] == "circuit" and fresh.get("value") is not None:
        return f" [measured on a fresh prompt pair: patching it alone restores {fresh['value']:.2f} of the logit difference]"
    return ""


def run_scorers(names: list[str], inputs: dict, description: str, settings) -> list:
    """Every configured scorer, in order; the judge's answers reach the scorers that compare with them."""
    scores = []
    for name in names:
        score = run_scorer(name, settings.thresholds.get(name, settings.default_threshold), description=description,
                           **inputs)
        if "judged" in score.details:
            inputs = {**inputs, "judged": score.details["judged"]}
        scores.append(score)
    return scores


def _why(score) -> str:
    if score.status != "scored":
        return f"{score.scorer} {score.status}: {score.reason or 'no reason given'}"
    if score.scorer == "words_match_rule":
        return f"words do not match the rule: a judge reading the words agreed with it on {score.value:.2f} < {score.threshold}"
    return f"{score.scorer} {score.value:.2f} < {score.threshold}"


def verdict(scores: list) -> tuple[str, str | None]:
    """validated only when every configured scorer scored and passed; a real failing score rejects,
    a scorer that could not score fails the description. Every problem is in the reason."""
    problems = [s for s in scores if s.status != "scored" or not s.passed]
    if not scores:
        return "failed", "no scorer is configured"
    if not problems:
        return "validated", None
    status = "rejected" if any(s.status == "scored" for s in problems) else "failed"
    return status, "; ".join(_why(s) for s in problems)


@metered
def validate(state: dict, deps) -> dict:
    task = current_task(state)
    draft = task["draft"]
    scores = run_scorers(*_scorer_inputs(task, deps), description=draft["description"], settings=deps.settings)
    scored = [s for s in scores if s.status == "scored"]
    status, reason = verdict(scores)
    text = draft["description"] + _measured(task)
    cited = list(dict.fromkeys(i for c in draft["claims"] for i in c["evidence_ids"]))
    validation_ids = task.get("evidence", {}).get("validation", [])
    desc = Description(model=state["model"], component=task["component"], text=text, rule=draft.get("rule"),
                       scores={s.scorer: s.value for s in scored}, score_states=[s.model_dump() for s in scores],
                       evidence_ids=cited + validation_ids, status=status, failure_reason=reason)
    deps.store.put([desc])
    stored = deps.store.get(desc.id)
    deps.on_event("validation", {"component": task["component"], "status": status,
                                 "scores": [s.model_dump() for s in scores]})
    attempts = task.get("attempts", 0) + 1
    finding = {"component": task["component"], "short": Site.parse(task["component"]).short, "text": text,
               "status": status, "reason": reason, "scores": [s.model_dump() for s in scores], "claims": draft["claims"],
               "rule": draft.get("rule"), "rule_fit": draft.get("rule_fit"),
               "description_id": desc.id, "version": getattr(stored, "version", None), "attempts": attempts}
    findings = [f for f in state.get("findings", []) if f["component"] != task["component"]] + [finding]
    retry = status != "validated" and attempts < deps.settings.max_attempts and task["kind"] != "circuit"
    changes = {"attempts": attempts, "stage": "hypothesize" if retry else "done",
               "feedback": f"{draft['description']!r} scored {reason}" if retry else None}
    if retry and task["kind"] == "head":
        changes["scan"] = {}
    return {"tasks": with_task(state, changes), "findings": findings,
            "messages": [{"role": "validation", "content": f"{task['component']}: {status} ({reason or 'all scorers passed'})"}]}
