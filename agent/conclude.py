"""describe -> validate -> answer. Validation is never self-assessment: scorers measure the
description against held-out windows, the agent's test texts, or fresh prompts."""

from __future__ import annotations

from sleuth.agent.budget import metered
from sleuth.agent.nodes import current_task, with_task
from sleuth.agent.schemas import DescriptionDraft
from sleuth.llm.errors import InvalidOutput, LLMError, LLMUnreachable
from sleuth.memory import Description, Hypothesis
from sleuth.memory.embedding import MiniLMEmbedding
from sleuth.prompts import render
from sleuth.scorers import ScoringExample
from sleuth.scorers.registry import run_scorer
from sleuth.target import Site


@metered
def describe(state: dict, deps) -> dict:
    task = current_task(state)
    try:
        draft = deps.ask("describe", DescriptionDraft, max_tokens=300, component=Site.parse(task["component"]).short,
                         model=state["model"], hypotheses=task.get("hypotheses", []), evidence=task.get("notes", []),
                         head=task["kind"] != "neuron")
    except LLMUnreachable:
        raise
    except (InvalidOutput, LLMError) as exc:
        return {"budget": {"failures": state["budget"].get("failures", 0) + 1},
                "messages": [{"role": "error", "content": f"describe: {exc}"}]}
    evidence = task.get("evidence", {})
    cited_all = [i for basis, ids in evidence.items() if basis != "validation" for i in ids]
    claims = [{"text": c.text, "basis": c.basis, "evidence_ids": evidence.get(c.basis) or cited_all} for c in draft.claims]
    hyps = [Hypothesis(model=state["model"], component=task["component"], statement=h["statement"],
                       status=h["status"] if h["status"] != "open" else "open", evidence_for=cited_all)
            for h in task.get("hypotheses", [])]
    deps.store.put(hyps)
    deps.on_event("description", {"component": task["component"], "text": draft.description, "claims": claims})
    return {"tasks": with_task(state, {"draft": {"description": draft.description, "claims": claims}, "stage": "heldout"}),
            "messages": [{"role": "assistant", "content": f"draft for {task['component']}: {draft.description}"}],
            "budget": {"failures": 0}}


def _scorer_inputs(task: dict, deps) -> tuple[list[str], dict]:
    if task["kind"] == "neuron":
        examples = [ScoringExample(**e) for e in task.get("heldout", []) + task.get("counter", [])]
        return deps.settings.neuron_scorers, {"examples": examples, "llm": deps.llm, "seed": deps.ctx.seed,
                                              "embed": MiniLMEmbedding()}
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


@metered
def validate(state: dict, deps) -> dict:
    task = current_task(state)
    draft = task["draft"]
    names, inputs = _scorer_inputs(task, deps)
    thresholds = deps.settings.thresholds
    scores = [run_scorer(n, thresholds.get(n, 0.5), description=draft["description"], **inputs) for n in names]
    scored = [s for s in scores if s.status == "scored"]
    status = "failed" if not scored else "validated" if all(s.passed for s in scored) else "rejected"
    reason = None if status == "validated" else "; ".join(
        f"{s.scorer} {s.status}: " + (f"{s.value:.2f} < {s.threshold}" if s.status == "scored" else s.reason or "")
        for s in scores if s.status != "scored" or not s.passed)
    text = draft["description"] + _measured(task)
    cited = list(dict.fromkeys(i for c in draft["claims"] for i in c["evidence_ids"]))
    validation_ids = task.get("evidence", {}).get("validation", [])
    desc = Description(model=state["model"], component=task["component"], text=text,
                       scores={s.scorer: s.value for s in scored}, evidence_ids=cited + validation_ids, status=status,
                       failure_reason=reason)
    deps.store.put([desc])
    stored = deps.store.get(desc.id)
    deps.on_event("validation", {"component": task["component"], "status": status,
                                 "scores": [s.model_dump() for s in scores]})
    attempts = task.get("attempts", 0) + 1
    finding = {"component": task["component"], "short": Site.parse(task["component"]).short, "text": text,
               "status": status, "reason": reason, "scores": [s.model_dump() for s in scores], "claims": draft["claims"],
               "description_id": desc.id, "version": getattr(stored, "version", None), "attempts": attempts}
    findings = [f for f in state.get("findings", []) if f["component"] != task["component"]] + [finding]
    retry = status != "validated" and attempts < deps.settings.max_attempts and task["kind"] != "circuit"
    changes = {"attempts": attempts, "stage": "hypothesize" if retry else "done",
               "feedback": f"{draft['description']!r} scored {reason}" if retry else None}
    if retry and task["kind"] == "head":
        changes["scan"] = {}
    return {"tasks": with_task(state, changes), "findings": findings,
            "messages": [{"role": "validation", "content": f"{task['component']}: {status} ({reason or 'all scorers passed'})"}]}


@metered
def answer(state: dict, deps) -> dict:
    """The final answer, streamed; it only restates findings (which carry their own status)."""
    findings, partial = state.get("findings", []), state.get("partial")
    text = ""
    if deps.llm is not None and findings:
        prompt = render("answer", question=state["question"], findings=findings, partial=partial,
                        notation="L{layer}H{head} / L{layer}N{neuron}")
        try:
            text = deps.llm.chat([{"role": "user", "content": prompt}], max_tokens=160,
                                 on_token=lambda t: deps.on_event("answer_token", {"text": t}))
        except LLMUnreachable:
            raise
        except LLMError as exc:
            deps.on_event("error", {"message": f"answer: {exc}"})
    if not findings:
        text = f"No finding{': ' + partial if partial else ''}."
        deps.on_event("answer_token", {"text": text})
    status = "partial" if partial or not findings else "done"
    return {"answer": text.strip(), "status": status, "stage": "done",
            "messages": [{"role": "assistant", "content": text.strip()}]}
