"""describe -> validate -> answer. Validation is never self-assessment: scorers measure the
description against held-out windows, the agent's test texts, or fresh prompts."""

from __future__ import annotations

from sleuth.agent import head
from sleuth.agent.neuron import code_words
from sleuth.agent.protocols import protocol_of
from sleuth.agent.budget import metered
from sleuth.agent.nodes import current_task, with_task
from sleuth.agent.schemas import DescriptionDraft
from sleuth.llm.errors import InvalidOutput, LLMError, LLMUnreachable
from sleuth.memory import Description, Hypothesis
from sleuth.predicates.regex_words import has_rule_syntax
from sleuth.predicates.words import in_words
from sleuth.scorers.verdict import run_scorers, verdict
from sleuth.target import Site


@metered
def describe(state: dict, deps) -> dict:
    task = current_task(state)
    top = _best(task)
    # a class found by substitution is said by code: its class name and members measured (the 1.5B, asked to
    # word it, copied the prompt's lines into the description)
    if (task.get("code_written") or task.get("rule_words") or (top or {}).get("class_name")) and top:
        return _rule_draft(state, task, top)
    literal = code_words(top) if task["kind"] == "neuron" and top and top.get("rule") else None
    try:
        draft = deps.ask("describe", DescriptionDraft, max_tokens=300, component=Site.parse(task["component"]).short,
                         hypotheses=task.get("hypotheses", []), evidence=explain_notes(task),
                         head=task["kind"] != "neuron", best=top, feedback=task.get("feedback"),
                         rule_words=literal,
                         attends=head.rule_key(top["rule"]) if task["kind"] == "head" and top and top.get("rule") else None)
    except LLMUnreachable:
        raise
    except (InvalidOutput, LLMError) as exc:
        return {"budget": {"failures": state["budget"].get("failures", 0) + 1},
                "messages": [{"role": "error", "content": f"describe: {exc}"}]}
    words = draft.description
    if literal and has_rule_syntax(words) and not has_rule_syntax(literal):  # a regex or JSON is not words a person
        words = literal  # reads: the rule said in plain words by code instead (written_by: code)
    evidence = task.get("evidence", {})
    cited_all = [i for basis, ids in evidence.items() if basis != "validation" for i in ids]
    claims = [{"text": c.text, "basis": c.basis, "evidence_ids": evidence.get(c.basis) or cited_all} for c in draft.claims]
    hyps = [Hypothesis(model=state["model"], component=task["component"], statement=h["statement"],
                       rule=h.get("rule"), fit=h.get("fit"), status=h["status"], source=h.get("source", "llm"),
                       evidence_for=cited_all,
                       run_id=state["thread_id"])
            for h in task.get("hypotheses", [])]
    deps.store.put(hyps)
    deps.on_event("description", {"component": task["component"], "text": words, "claims": claims})
    rule = {"rule": top.get("rule"), "rule_fit": top.get("fit")} if top else {}
    # a search's batched confirmation already re-measured the candidate: straight to scoring
    stage = "score" if task.get("fresh") else "heldout"
    said = {"code_words": literal} if literal else {}
    return {"tasks": with_task(state, {"draft": {"description": words, "claims": claims, **rule, **said},
                                       "stage": stage}),
            "messages": [{"role": "assistant", "content": f"draft for {task['component']}: {words}"}],
            "budget": {"failures": 0}}


def explain_notes(task: dict) -> list[dict]:
    """The evidence notes a describer may read: each once, and never the held-out validation scans
    (a second attempt would otherwise be written from the windows that then validate it)."""
    unique = {(n["basis"], n["summary"]): n for n in task.get("notes", []) if n["basis"] != "validation"}
    return list(unique.values())


def _rule_draft(state: dict, task: dict, top: dict) -> dict:
    """The best hypothesis in words, written by code: for a batch-confirmed search candidate beyond
    max_candidates, or when the LLM's words for a behaviour that held did not pass the judges. The same
    scorers check these words."""
    description, claims = protocol_of(task).words_draft(task, top)
    draft = {"description": description, "claims": claims, "rule": top.get("rule"), "rule_fit": top.get("fit"),
             "code_words": description, **({"class_name": top["class_name"]} if top.get("class_name") else {})}
    return {"tasks": with_task(state, {"draft": draft, "stage": "score" if task.get("fresh") else "heldout"}),
            "messages": [{"role": "assistant", "content": f"draft for {task['component']} (stated by code): "
                                                         f"{draft['description']}"}]}


def _best(task: dict) -> dict | None:
    """The best-standing hypothesis, whose rule the description states."""
    return protocol_of(task).best(task) if task.get("hypotheses") else None


def conclude(state: dict, task: dict, deps) -> dict:
    """Score a task's draft, store the description, and return the finding (validate and batched confirmation)."""
    draft = task["draft"]
    names, inputs = protocol_of(task).scorer_inputs(task, deps)
    cfg = deps.settings
    scores = run_scorers(names, inputs, description=draft["description"], thresholds=cfg.thresholds,
                         default_threshold=cfg.default_threshold, skip=protocol_of(task).not_applicable(task, names),
                         exact_first=cfg.exact_first)
    scored = [s for s in scores if s.status == "scored"]
    status, reason = verdict(scores)
    text = draft["description"] + protocol_of(task).measured(task)
    cited = list(dict.fromkeys(i for c in draft["claims"] for i in c["evidence_ids"]))
    validation_ids = task.get("evidence", {}).get("validation", [])
    author = written_by(task, draft)
    desc = Description(model=state["model"], component=task["component"], text=text, rule=draft.get("rule"),
                       written_by=author, rule_syntax=has_rule_syntax(draft["description"]),
                       scores={s.scorer: s.value for s in scored}, score_states=[s.model_dump() for s in scores],
                       evidence_ids=list(dict.fromkeys(cited + validation_ids)), status=status, failure_reason=reason,
                       run_id=state["thread_id"])
    deps.store.put([desc])
    stored = deps.store.get(desc.id)
    deps.on_event("validation", {"component": task["component"], "status": status,
                                 "scores": [s.model_dump() for s in scores]})
    return {"component": task["component"], "short": Site.parse(task["component"]).short, "text": text,
            "status": status, "reason": reason, "scores": [s.model_dump() for s in scores], "claims": draft["claims"],
            "rule": draft.get("rule"), "rule_fit": draft.get("rule_fit"),
            "words": draft["description"], "written_by": author,
            "strength": (task.get("fresh") or {}).get("value"),  # the fresh re-measurement (heads, circuit parts)
            "description_id": desc.id, "version": getattr(stored, "version", None),
            "attempts": task.get("attempts", 0) + 1}


def written_by(task: dict, draft: dict) -> str:
    """"code" when code stated the words (a rule said in words), or the LLM copied code's wording of the rule
    verbatim; "llm" otherwise."""
    if task.get("code_written") or task.get("rule_words") or draft.get("class_name"):
        return "code"
    if task["kind"] != "neuron":
        return "llm"
    said = draft.get("code_words") or (in_words(draft["rule"]) if draft.get("rule") else None)
    if said and draft["description"].strip().lower() == said.strip().lower():
        return "code"
    return "llm"


@metered
def validate(state: dict, deps) -> dict:
    task = current_task(state)
    finding = conclude(state, task, deps)
    status, reason, attempts = finding["status"], finding["reason"], finding["attempts"]
    findings = [f for f in state.get("findings", []) if f["component"] != task["component"]] + [finding]
    again = status != "validated" and attempts < deps.settings.max_attempts
    retry = protocol_of(task).retry(task, finding) if again else None
    changes = {"attempts": attempts, "stage": "done", "feedback": None}
    if retry:
        changes.update(retry, feedback=f"{task['draft']['description']!r} scored {reason}")
    return {"tasks": with_task(state, changes), "findings": findings,
            "messages": [{"role": "validation", "content": f"{task['component']}: {status} ({reason or 'all scorers passed'})"}]}
