"""The protocol for a scalar component (MLP neuron, SAE latent, synthetic unit, direction):

top corpus windows (explain split) -> hypotheses, each a statement and an executable rule ->
test texts written to tell the rules apart -> every rule scored by code on the explain windows
and the test texts, beside the best rules code's own search finds there (predicates.induce) ->
bounded refinement from its false positives and negatives -> when the best rule lists words, the
class they belong to, its other members measured by substitution (agent.generalize) -> the best
rule's statement in plain words -> held-out windows (in validate). Rules are data that sleuth evaluates; nothing the LLM
writes is run.
"""

from __future__ import annotations

from sleuth.agent import generalize
from sleuth.agent.schemas import ClassGuess, Hypotheses, RevisedRule, TestTexts
from sleuth.agent.snippets import counted, crop, marked
from sleuth.llm.errors import InvalidOutput
from sleuth.predicates import parse_predicate, predicate_dict
from sleuth.predicates.fit import fit, text_fires
from sleuth.predicates.induce import induce
from sleuth.predicates.words import in_words

MAX_TEST_TEXTS = 8
SHOWN_EXAMPLES = 6  # strongest windows the LLM reads; the marked-token counts cover every top window
STAGES = ("explore", "hypothesize", "test", "run_tests", "refine", "generalize", "run_generalize", "heldout")  # planned here


def explore_args(component: str, settings) -> dict:
    """The first experiment on a scalar component: its top corpus windows on the explain split."""
    return {"sites": [component], "k": 8, "n_windows": settings.explain_windows, "split": "explain",
            "n_quantiles": 2, "n_random": 3, "units_per_site": 1}


def heldout_args(component: str, settings) -> dict:
    """Validation windows: the held-out documents only."""
    return {"sites": [component], "k": 8, "n_windows": settings.heldout_windows, "split": "heldout",
            "n_quantiles": 4, "n_random": 8, "units_per_site": 1}


def fire_threshold(report: dict, cfg) -> float:
    """Where a unit counts as firing: fire_fraction of its strongest activation in a top_activations report."""
    return round(cfg.fire_fraction * max(report["max"], 1e-6), 4)


def peak_tokens(examples: list[dict]) -> list[str]:
    """Each top example's strongest token, most frequent first."""
    return counted(e["tokens"][max(range(len(e["values"])), key=lambda i: e["values"][i])] for e in examples)


def _windows(task: dict) -> list[tuple[list[str], list[float]]]:
    """Everything a rule is fitted on: the explain windows and the agent's own test texts (never held-out)."""
    return [(w["tokens"], w["values"]) for w in task.get("windows", []) + task.get("tests", [])]


def _status(f1: float, cfg) -> str:
    return "supported" if f1 >= cfg.rule_supported_f1 else "refuted" if f1 < cfg.rule_refuted_f1 else "open"


def scored(hypothesis: dict, task: dict, cfg) -> dict:
    """The hypothesis with its rule's fit on the windows seen so far."""
    result = fit(parse_predicate(hypothesis["rule"]), _windows(task), task["fire_threshold"])
    numbers = result.model_dump(include={"precision", "recall", "f1", "correlation", "texts"})
    return {**hypothesis, "fit": numbers, "status": _status(result.f1, cfg),
            "misses": {"false_positives": result.false_positives, "false_negatives": result.false_negatives}}


def best(task: dict) -> dict:
    return max(task["hypotheses"], key=lambda h: (h["fit"]["f1"], h["fit"]["correlation"]))


def _hypothesis(i: int, reply) -> dict:
    return {"id": f"H{i}", "statement": reply.statement.strip(), "rule": predicate_dict(reply.rule), "status": "open",
            "accuracy": None, "source": "llm"}


def with_induced(hyps: list[dict], task: dict, cfg) -> list[dict]:
    """The hypotheses plus the best rules code's search finds on the windows measured so far (explain
    windows and test texts, never held-out), each stated by code and scored like the rest; none twice."""
    known = {repr(h["rule"]) for h in hyps}
    out = list(hyps)
    for found in induce(_windows(task), task["fire_threshold"], keep=cfg.induced_rules) if cfg.induced_rules else []:
        if repr(found.rule) not in known:
            known.add(repr(found.rule))
            out.append(scored({"id": f"H{len(out) + 1}", "statement": in_words(found.rule), "rule": found.rule,
                               "status": "open", "accuracy": None, "source": "induced"}, task, cfg))
    return out


def _drafted(component: str, task: dict, state: dict, deps) -> tuple[list[dict], InvalidOutput | None]:
    """The LLM's hypotheses, each scored on the windows seen so far; or none and why."""
    try:
        reply = deps.ask("hypotheses", Hypotheses, max_tokens=400, component=component,
                         kind_hint="It is a single scalar component (a neuron or feature).", memory=state.get("memory", []),
                         stats=task.get("stats", ""), examples=task.get("examples", []), quiet=task.get("quiet", []),
                         peaks=task.get("peaks", []), feedback=task.get("feedback"), max_hypotheses=3)
    except InvalidOutput as exc:
        return [], exc
    unique = {h.statement.strip(): h for h in reply.hypotheses if h.statement.strip()}
    return [scored(_hypothesis(i + 1, h), task, deps.settings) for i, h in enumerate(unique.values())], None


def plan(task: dict, state: dict, deps) -> dict:
    """What the current stage needs: tool calls to run, or an LLM step done here."""
    c, cfg = task["component"], deps.settings
    stage = task["stage"]
    if stage == "explore":
        return {"pending": [{"tool": "top_activations", "purpose": "top_examples", "args": explore_args(c, cfg)}]}
    if stage == "hypothesize":
        drafted, failed = _drafted(c, task, state, deps)
        hyps = with_induced(drafted, task, cfg) if not failed or task.get("windows") else []
        if failed and not hyps:
            raise failed
        update = {"hypotheses": hyps, "rounds": []}
        if failed:  # the LLM gave none; code's rule search on the explain windows still gives the investigation rules
            deps.on_event("error", {"message": f"{failed}; going on with code's induced rules"})
            update["hypothesize_error"] = str(failed)
        elif task.get("hypothesize_error"):  # an earlier attempt's failure no longer holds
            update["hypothesize_error"] = None
        if task.get("tests"):  # a second attempt: the test texts already measured score the new rules too
            return {"task": {**update, "stage": next_stage({**task, **update}, cfg)}}
        return {"task": {**update, "tests": [], "stage": "test"}}
    if stage == "test":
        texts = _test_texts(c, task, deps)
        if not texts:  # test texts are evidence, never validation: go on with the explain windows alone
            return {"task": {"test_texts": [], "stage": next_stage(task, cfg)}}
        return {"task": {"test_texts": texts, "stage": "run_tests"}}
    if stage == "run_tests":
        return {"pending": [{"tool": "activations", "purpose": "test_texts",
                             "args": {"site": c, "texts": task["test_texts"]}}]}
    if stage == "refine":
        return {"task": refine(task, deps)}
    if stage == "generalize":
        return {"task": {**_class_texts(task, deps), "generalized": True}}
    if stage == "run_generalize":
        return {"pending": [{"tool": "activations", "purpose": "class_members",
                             "args": {"site": c, "texts": [t["text"] for t in task["class_texts"]]}}]}
    if stage == "heldout":
        return {"pending": [{"tool": "top_activations", "purpose": "heldout", "args": heldout_args(c, cfg)}]}
    raise ValueError(f"neuron protocol has no stage '{stage}'")


def _test_texts(component: str, task: dict, deps) -> list[str]:
    """The LLM's test texts; once more, told why, when it only repeated the hypotheses (small models do)."""
    statements = [h["statement"] for h in task["hypotheses"]]
    rejected: list[str] = []
    for _ in range(2):
        written = deps.ask("test_texts", TestTexts, max_tokens=300, component=component,
                           hypotheses=statements, n=6, rejected=rejected).texts
        texts = [t for t in dict.fromkeys(t.strip() for t in written) if t and t not in statements][:MAX_TEST_TEXTS]
        if texts:
            return texts
        rejected = list(dict.fromkeys(written))[:3]
    return []


def refine(task: dict, deps) -> dict:
    """One bounded round: the LLM reads the best rule's misses (as data) and revises it; code re-scores."""
    cfg, top = deps.settings, best(task)
    reply = deps.ask("refine_rule", RevisedRule, max_tokens=300, component=task["component"],
                     statement=top["statement"], rule=top["rule"], fit={**top["fit"], **top["misses"]})
    revised = scored(_hypothesis(len(task["hypotheses"]) + 1, reply), task, cfg)
    hyps = task["hypotheses"] + [revised]
    rounds = task.get("rounds", []) + [{"round": len(task.get("rounds", [])) + 1, "from": top["id"], "to": revised["id"],
                                        "before": top["fit"], "after": revised["fit"]}]
    return {"hypotheses": hyps, "rounds": rounds, "stage": next_stage({**task, "hypotheses": hyps, "rounds": rounds}, cfg)}


def _class_texts(task: dict, deps) -> dict:
    """The LLM names the class of the best rule's words and proposes members; code puts each into the unit's
    strongest windows (with controls). Without a usable reply or context: straight on to describing."""
    listed = generalize.listed_words(best(task)["rule"])
    places = generalize.contexts(task.get("windows", []), task["fire_threshold"], listed)
    if not places:
        return {"stage": "describe"}
    try:
        # the words alone: shown the unit's windows too, the 1.5B named their topic ("error handling") instead
        guess = deps.ask("class_members", ClassGuess, max_tokens=260, component=task["component"], listed=listed,
                         n=deps.settings.class_members)
    except InvalidOutput as exc:
        deps.on_event("error", {"message": f"class members: {exc}; describing the listed words"})
        return {"stage": "describe"}
    members = generalize.new_members(guess.members, listed)[:deps.settings.class_members]
    if not members:
        return {"stage": "describe"}
    texts = generalize.substitution_texts(places, members)
    return {"class_texts": texts, "class_name": guess.class_name.strip(), "stage": "run_generalize"}


def _class_hypothesis(task: dict, rows: list[dict]) -> dict | None:
    """The best listing rule grown by the members the unit fired on, named by its class; None when none fired."""
    top = best(task)
    confirmed, refused = generalize.confirmed_members(task["class_texts"], rows, task["fire_threshold"])
    if not confirmed:
        return None
    listed = generalize.listed_words(top["rule"])
    words = list(dict.fromkeys([*listed, *confirmed]))
    return {"id": f"H{len(task['hypotheses']) + 1}", "statement": generalize.class_words(task["class_name"], words),
            "rule": {"token_in": words}, "status": "open", "accuracy": None, "source": "class",
            "class_name": task["class_name"], "members": {"listed": listed, "confirmed": confirmed, "refused": refused}}


def next_stage(task: dict, cfg) -> str:
    """Refine while the best rule misses its target, rounds are left, and the last round beat it; then, once,
    the class of a listing rule; then describe. A revision that did not beat the best leaves the next round's
    prompt (the best rule and its misses) as it was."""
    top, rounds = best(task), task.get("rounds", [])
    good_enough = top["fit"]["f1"] >= cfg.rule_target_f1
    stalled = bool(rounds) and top["id"] == rounds[-1]["from"]
    if not (good_enough or stalled or len(rounds) >= cfg.rule_rounds):
        return "refine"
    if cfg.class_members and not task.get("generalized") and generalize.listed_words(top.get("rule")):
        return "generalize"
    return "describe"


def absorb(task: dict, results: list[dict], state: dict, deps) -> dict:
    """Fold tool results into the task; returns task updates (and prediction-log entries)."""
    result, cfg = results[0], deps.settings
    purpose = result["purpose"]
    if purpose == "top_examples":
        report = result["data"]["components"][0]
        top = [e for e in report["examples"] if e["kind"] == "top"]
        quiet = [e for e in report["examples"] if e["kind"] == "random"]
        threshold = fire_threshold(report, cfg)
        return {"task": {
            "examples": [{"text": marked(e["tokens"], e["values"]), "value": round(e["max_value"], 3)}
                         for e in top[:SHOWN_EXAMPLES]],
            "peaks": peak_tokens(top),
            "quiet": ["".join(crop(e["tokens"], e["values"])[0]) for e in quiet],
            "windows": [{"tokens": e["tokens"], "values": e["values"]} for e in report["examples"]],
            # "fires" means at or above the threshold; the scan's frequency counts any value above 0
            "stats": f"max {report['max']:.3f}; mean {report['mean']:.4f}; above 0 on {100 * report['frequency']:.2f}% of "
                     f"corpus tokens; it counts as firing at {threshold} or more",
            "fire_threshold": threshold, "stage": "hypothesize"}}
    if purpose == "test_texts":
        threshold = task["fire_threshold"]
        rows = result["data"]["per_text"]
        tests = task.get("tests", []) + [{"tokens": r["tokens"], "values": r["values"]} for r in rows]
        updated = {**task, "tests": tests}
        fired = [r["max_value"] >= threshold for r in rows]
        log, hyps = [], []
        for h in task["hypotheses"]:
            predicted = [text_fires(parse_predicate(h["rule"]), r["tokens"]) for r in rows]
            accuracy = sum(p == f for p, f in zip(predicted, fired)) / len(rows)
            hyps.append({**scored(h, updated, cfg), "accuracy": round(accuracy, 3)})
            log += [{"component": task["component"], "hypothesis": h["statement"], "rule": h["rule"], "tool": "activations",
                     "text": text, "predicted": p, "outcome": f} for text, p, f in zip(task["test_texts"], predicted, fired)]
        hyps = with_induced(hyps, updated, cfg)  # the test texts can tell code's candidates apart too
        updated["hypotheses"] = hyps
        return {"task": {"tests": tests, "hypotheses": hyps, "stage": next_stage(updated, cfg)}, "experiments": log}
    if purpose == "class_members":
        rows = result["data"]["per_text"]
        # the substitutions are measurements like the test texts: every rule is scored on them too
        tests = task.get("tests", []) + [{"tokens": r["tokens"], "values": r["values"]} for r in rows]
        updated = {**task, "tests": tests}
        grown = _class_hypothesis(updated, rows)
        hyps = [scored(h, updated, cfg) for h in task["hypotheses"]]
        if grown is not None:
            hyps.append(scored(grown, updated, cfg))
        updated["hypotheses"] = hyps
        log = [{"component": task["component"], "hypothesis": f"a member of {task['class_name']}", "rule": None,
                "tool": "activations",
                "text": t["text"], "predicted": not t["control"],
                "outcome": generalize.member_fired(r["tokens"], r["values"], t["member"], task["fire_threshold"])}
               for t, r in zip(task["class_texts"], rows)]
        return {"task": {"tests": tests, "hypotheses": hyps, "stage": next_stage(updated, cfg)}, "experiments": log}
    if purpose == "heldout":
        threshold = task["fire_threshold"]
        examples = []
        for e in result["data"]["components"][0]["examples"]:
            tokens, values = crop(e["tokens"], e["values"], seed=e["window"])
            examples.append({"tokens": tokens, "values": values, "active": max(values) >= threshold,
                             "source": {"top": "heldout-top", "quantile": "heldout-quantile"}.get(e["kind"], "heldout-random")})
        return {"task": {"heldout": examples, "stage": "score"}}
    raise ValueError(f"neuron protocol cannot absorb '{purpose}'")


def scorer_inputs(task: dict, deps):
    """Held-out windows only: the explain split and the agent's own texts are evidence, never validation."""
    from sleuth.memory.embedding import MiniLMEmbedding
    from sleuth.scorers import ScoringExample, ScoringInput

    examples = [ScoringExample(**e) for e in task.get("heldout", [])]
    return deps.settings.neuron_scorers, ScoringInput(examples=examples, llm=deps.llm, seed=deps.ctx.seed,
                                                      embed=MiniLMEmbedding(), rule=task["draft"].get("rule"),
                                                      fire_threshold=task.get("fire_threshold"))


def measured(task: dict) -> str:
    return ""


def retry(task: dict, finding: dict) -> dict | None:
    """Where a rejected description goes back to: when the rule itself passed and only word-reading
    scorers failed, the words: the rule stated by code (predicates.words), checked by the same judges;
    nowhere when code's exact words for that rule were what failed (the rule held on held-out data; a
    worse-fitting rule chosen to please the judge would be less true, and the same rule and words again
    would fail again); new hypotheses otherwise (scored on the test texts already measured)."""
    from sleuth.scorers.verdict import only_words_failed

    if only_words_failed(finding["scores"]):
        return None if task.get("rule_words") or _literal(task) else {"stage": "describe", "rule_words": True}
    return {"stage": "hypothesize", "rule_words": False}


def code_words(top: dict) -> str:
    """Code's words for a hypothesis's rule: its class with examples (agent.generalize), or the rule read literally."""
    if top.get("class_name"):
        members = top["members"]
        return generalize.class_words(top["class_name"], members["listed"][:3] + members["confirmed"][:3])
    return in_words(top["rule"])


def words_draft(task: dict, top: dict) -> tuple[str, list[dict]]:
    """The best rule stated by code (predicates.words), with the fit it was chosen by as its claim."""
    evidence, fit = task.get("evidence", {}), top["fit"]
    claims = [{"text": f"the rule fits the explain windows and test texts with F1 {fit['f1']:.2f} (precision "
                       f"{fit['precision']:.2f}, recall {fit['recall']:.2f})", "basis": "top_examples",
               "evidence_ids": evidence.get("top_examples", []) + evidence.get("test_texts", [])}]
    if top.get("class_name"):
        members = top["members"]
        refused = f"; not on {', '.join(members['refused'])}" if members["refused"] else ""
        claims.append({"text": f"put into its own strongest windows, it fired on {', '.join(members['confirmed'])}"
                               f"{refused}", "basis": "test_texts", "evidence_ids": evidence.get("test_texts", [])})
    return code_words(top), claims


def _literal(task: dict) -> bool:
    """The draft's words are code's words for its rule (the LLM copied them)."""
    draft = task.get("draft") or {}
    said = draft.get("code_words") or (in_words(draft["rule"]) if draft.get("rule") else None)
    return bool(said) and draft["description"].strip().lower() == said.strip().lower()


def not_applicable(task: dict, names: list[str]) -> dict[str, str]:
    return {}
