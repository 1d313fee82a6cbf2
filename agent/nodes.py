"""The investigation nodes: retrieve -> plan -> act -> record -> update -> plan ...

`plan` runs the protocol of the current task (or the shortlist sweep) and sets the
route; the code keeps sites and numbers right, the LLM writes texts and interprets.
"""

from __future__ import annotations

import dataclasses

from sleuth.agent import actions, head, shortlist
from sleuth.agent.protocols import protocol_of
from sleuth.agent.budget import exhausted, metered
from sleuth.agent.record import BASIS_OF, SHORTLIST, evidence_for
from sleuth.agent.state import checked
from sleuth.llm.errors import InvalidOutput, LLMError, LLMUnreachable
from sleuth.target import Site
from sleuth.tools import ToolError, run_tool

# a failed tool call on LLM-written texts: write new texts; on substituted class members: describe without them
RETRY_STAGE = {"run_tests": "test", "run_generalize": "describe"}
SWEEPS = ("shortlist", "confirm")  # question-level stages before the per-component tasks
HEAD_HOOKS = ("attn.hook_z", "attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_pattern")


def task_kind(component: str) -> str:
    site = Site.parse(component)
    return "head" if site.hook in HEAD_HOOKS and site.sae is None and site.direction is None else "neuron"


def current_task(state: dict) -> dict | None:
    tasks, i = state.get("tasks") or [], state.get("current", 0)
    return tasks[i] if i < len(tasks) else None


def with_task(state: dict, changes: dict) -> list[dict]:
    """The task list with `changes` merged into the current task, checked against the Task model."""
    tasks = [dict(t) for t in state["tasks"]]
    tasks[state["current"]] = checked({**tasks[state["current"]], **changes})
    return tasks


def heldout(record) -> bool:
    """Evidence from a held-out scan: never shown to a describer, so it can still validate."""
    return (getattr(record, "args", None) or {}).get("split") == "heldout"


@metered
def retrieve(state: dict, deps) -> dict:
    """What memory already knows, and the tasks the question implies."""
    shape, model, lines = state["shape"], state["model"], []
    for component in shape.get("components", []):
        for record in [r for r in deps.store.about(component, model=model) if not heldout(r)][:4]:
            text = getattr(record, "text", None) or getattr(record, "statement", None) or record.summary
            status = getattr(record, "status", "evidence")
            lines.append(f"{Site.parse(component).short} ({type(record).__name__.lower()}, {status}): {text[:200]}")
    if not shape.get("components"):
        lines += [f"{hit.record.component}: {getattr(hit.record, 'text', None) or getattr(hit.record, 'summary', '')[:200]}"
                  for hit in deps.store.search(state["question"], k=4, model=model) if not heldout(hit.record)]
    tasks = [checked({"component": c, "kind": task_kind(c), "stage": "explore", "attempts": 0})
             for c in shape.get("components", [])]
    deps.on_event("memory", {"lines": lines})
    return {"memory": lines, "tasks": tasks, "current": 0, "stage": "investigate" if tasks else "shortlist",
            "messages": [{"role": "memory", "content": line} for line in lines]}


@metered
def plan(state: dict, deps) -> dict:
    stop = exhausted(state["budget"], deps.settings)
    if stop:
        return {"route": "answer", "partial": stop}
    try:
        if state["stage"] in SWEEPS:
            return {**shortlist.plan(state, deps), "route": "act"}
        task = current_task(state)
        if task is None:
            return {"route": "answer"}
        stage = task["stage"]
        if stage == "done":
            return {"current": state["current"] + 1, "route": "plan"}
        if stage in ("describe", "score"):
            return {"route": "describe" if stage == "describe" else "validate"}
        if stage == "free":
            update = actions.plan_free(task, state, deps)
        else:
            update = protocol_of(task).plan(task, state, deps)
    except LLMUnreachable:
        raise
    except (InvalidOutput, LLMError, ToolError) as exc:
        failures = state["budget"].get("failures", 0) + 1
        deps.on_event("error", {"message": str(exc)})
        return {"route": "plan", "budget": {"failures": failures},
                "messages": [{"role": "error", "content": str(exc)}]}
    out = {"route": "act" if update.get("pending") else "plan", "budget": {"failures": 0}}
    if "pending" in update:
        out["pending"] = update["pending"]
    if "task" in update:
        out["tasks"] = with_task(state, update["task"])
        hyps = update["task"].get("hypotheses")
        if hyps:
            deps.on_event("hypotheses", {"component": task["component"], "hypotheses": hyps})
            out["messages"] = [{"role": "hypotheses", "content": "; ".join(h["statement"] for h in hyps)}]
    return out


@metered
def act(state: dict, deps) -> dict:
    """Run the planned tool calls; a ToolError becomes a message, not a crash."""
    results, messages, failures = [], [], 0
    for call in state.get("pending", []):
        ctx = dataclasses.replace(deps.ctx, seed=deps.ctx.seed + deps.settings.fresh_seed_offset) if call.get("fresh") else deps.ctx
        deps.on_event("tool_start", {"tool": call["tool"], "args": call["args"]})
        entry = {**call, "seed": ctx.seed, "error": None, "data": {}, "summary": ""}
        try:
            result = run_tool(call["tool"], call["args"], ctx)
            entry.update(summary=result.summary, data=result.data, seconds=result.seconds,
                         corpus=result.provenance.corpus_checksum,
                         tool_result=result.model_dump(mode="json") if call["purpose"] in SHORTLIST else None)
        except ToolError as exc:
            entry["error"], failures = str(exc), failures + 1
        deps.on_event("tool_result", entry)
        messages.append({"role": "tool", "content": f"{call['tool']}({call['args']}) -> {entry['error'] or entry['summary']}"})
        results.append(entry)
    budget = {"failures": state["budget"].get("failures", 0) + failures if failures else 0}
    return {"results": results, "pending": [], "messages": messages, "budget": budget}


@metered
def record(state: dict, deps) -> dict:
    """Every successful result becomes evidence in memory, about the component it bears on."""
    task, ids, shortlisted = current_task(state), [], list(state.get("shortlist_evidence") or [])
    evidence_map = dict((task or {}).get("evidence") or {})
    for result in state.get("results", []):
        if result["error"]:
            continue
        component = None if task is None or state["stage"] in SWEEPS else task["component"]
        if result["purpose"] == "head_scan" and task is not None:
            mine = head.scan_position(result["data"], task["component"])
            result["subject_summary"] = (f"{Site.parse(task['component']).short} {result['data']['kind']} score "
                                         f"{mine['value']:.3f}, rank {mine['rank']} of {mine['of']}; {result['summary']}")
        hyp_ids = [h["id"] for h in (task or {}).get("hypotheses", [])] if component else []
        records = evidence_for(result, state["thread_id"], state["model"], component, hyp_ids)
        new = deps.store.put(records)
        ids += new
        basis = BASIS_OF[result["purpose"]]
        if component is None:
            shortlisted += [{"basis": basis, "id": i, "summary": r.summary} for i, r in zip(new, records)]
        else:
            evidence_map[basis] = list(dict.fromkeys(evidence_map.get(basis, []) + new))
            notes = list(task.get("notes", [])) + [{"basis": basis, "summary": records[0].summary[:400]}]
            task = {**task, "notes": notes}
    out = {"evidence_ids": ids, "shortlist_evidence": shortlisted}
    if task is not None and state["stage"] not in SWEEPS:
        out["tasks"] = with_task(state, {"evidence": evidence_map, "notes": task.get("notes", [])})
    return out


@metered
def update(state: dict, deps) -> dict:
    """Fold results into the task (or turn a shortlist into tasks)."""
    results = state.get("results", [])
    failed = [r for r in results if r["error"]]
    task = current_task(state)
    if failed:
        feedback = "; ".join(r["error"] for r in failed)
        if task is not None and state["stage"] not in SWEEPS:
            return {"tasks": with_task(state, {"stage": RETRY_STAGE.get(task["stage"], task["stage"]),
                                               "feedback": feedback})}
        return {}
    if state["stage"] in SWEEPS:
        out = shortlist.absorb(state, results, deps)
        if "tasks" not in out:  # candidates go to a batched confirmation first
            return out
        cited = state.get("shortlist_evidence", [])
        for t in out["tasks"]:
            t["evidence"] = {}
            for e in cited:
                t["evidence"].setdefault(e["basis"], []).append(e["id"])
            t["notes"] = [{"basis": e["basis"], "summary": e["summary"]} for e in cited[:3]]
        out["tasks"] = [checked(t) for t in out["tasks"]]
        deps.on_event("shortlist", {"components": [t["component"] for t in out["tasks"]]})
        return out
    if results[0]["purpose"] == "free":
        left = task.get("free_left", deps.settings.free_steps) - 1
        return {"tasks": with_task(state, {"free_left": left, "feedback": None,
                                           "stage": "free" if left > 0 else "describe"})}
    absorbed = protocol_of(task).absorb(task, results, state, deps)
    changes = absorbed["task"]
    if changes.get("stage") == "describe" and deps.settings.free_steps > 0 and task.get("free_left", 1) > 0:
        changes = {**changes, "stage": "free", "free_left": task.get("free_left", deps.settings.free_steps)}
    out = {"tasks": with_task(state, changes)}
    if absorbed.get("experiments"):
        out["experiments"] = absorbed["experiments"]
    return out
