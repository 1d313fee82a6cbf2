"""Search and behaviour questions: shortlist candidates with a sweep, then queue them as tasks.

- heads with a named behaviour: head_scan over every head;
- neurons for a concept: contrast_units on texts the LLM writes with and without it;
- a behaviour ("which components make the model answer 'Mary'"): attribution patching
  against a counterfactual prompt the LLM writes, checked to tokenise to the same length.
"""

from __future__ import annotations

from sleuth.agent.head import KIND_RULES, kind_hypotheses, scan_position
from sleuth.agent.schemas import ContrastTexts, Counterfactual, head_kinds, head_kinds_model
from sleuth.predicates.fit import percentile_rank
from sleuth.target import Site


def plan(state: dict, deps) -> dict:
    shape, target = state["shape"], deps.target
    if state["stage"] == "confirm":
        return confirm_plan(shape)
    if shape["kind"] == "search" and shape["unit"] == "head":
        kind = shape.get("head_kind")
        if kind is None:
            reply = deps.ask("head_hypotheses", head_kinds_model(), max_tokens=80, component="every head",
                             model=target.name, memory=state.get("memory", []), links=[state["question"]],
                             feedback=None, kinds=head_kinds())
            kind = reply.kinds[0]
        return {"shape": {**shape, "head_kind": kind},
                "pending": [{"tool": "head_scan", "purpose": "shortlist_heads", "args": {"kind": kind, "top": 10}}]}
    if shape["kind"] == "search":
        layer = shape["layer"] if shape.get("layer") is not None else target.shape.n_layers // 2
        site = f"blocks.{layer}.mlp.hook_post"
        if shape.get("unit") == "latent":
            site = f"{target.sae_sites[shape['sae']]}@{shape['sae']}"
        texts = deps.ask("contrast_texts", ContrastTexts, max_tokens=300, concept=shape["concept"])
        return {"pending": [{"tool": "contrast_units", "purpose": "shortlist_units",
                             "args": {"site": site, "positive": texts.positive,
                                      "negative": texts.negative, "top": 10}}]}
    cf = _counterfactual(shape, deps)
    answer, foil = " " + shape["answer"].strip(), " " + cf.foil.strip()
    shape = {**shape, "corrupt": cf.corrupt, "foil": foil, "paraphrase": cf.paraphrase,
             "paraphrase_corrupt": cf.paraphrase_corrupt}
    return {"shape": shape, "pending": [{"tool": "attribution_patch", "purpose": "shortlist_behaviour",
                                         "args": {"clean": [shape["prompt"]], "corrupt": [cf.corrupt], "answers": [answer],
                                                  "foils": [foil], "sweep": "heads", "top": 10}}]}


def _counterfactual(shape: dict, deps) -> Counterfactual:
    """An LLM-written counterfactual whose prompt pair tokenises to equal lengths (bounded retries)."""
    from sleuth.llm.errors import InvalidOutput

    feedback = None
    for _ in range(2):
        cf = deps.ask("counterfactual", Counterfactual, max_tokens=200, prompt=shape["prompt"], answer=shape["answer"],
                      feedback=feedback)
        lengths = [len(deps.target.tokenize([t]).input_ids[0]) for t in (shape["prompt"], cf.corrupt)]
        if lengths[0] == lengths[1]:
            return cf
        feedback = f"the corrupt prompt had {lengths[1]} tokens, the prompt {lengths[0]}; keep the same length"
    raise InvalidOutput(f"no counterfactual prompt of equal token length: {feedback}")


def _head_candidates(state: dict, data: dict, cfg) -> dict:
    """Every head whose sweep score clears the line (bounded by search_shortlist) goes to one batched confirmation."""
    layer = state["shape"].get("layer")
    above = [(score, lbl) for score, lbl in sorted(zip(data["scores"], data["labels"]), reverse=True)
             if (layer is None or Site.parse(lbl).layer == layer) and score >= cfg.head_score_min]
    if not above:  # nothing clears the line: the strongest heads are still checked, and will fail honestly
        above = [(score, lbl) for score, lbl in sorted(zip(data["scores"], data["labels"]), reverse=True)
                 if layer is None or Site.parse(lbl).layer == layer][: cfg.max_candidates]
    chosen = above[: cfg.search_shortlist]
    sweep = {lbl: scan_position(data, str(Site.parse(lbl))) for _, lbl in chosen}
    return {"shape": {**state["shape"], "candidates": [lbl for _, lbl in chosen], "sweep": sweep,
                      "unconfirmed": len(above) - len(chosen)}, "stage": "confirm"}


def confirm_plan(shape: dict) -> dict:
    """One fresh-prompt scan re-measures every candidate; one held-out run measures every head's attention rule."""
    kind, first = shape["head_kind"], Site.parse(shape["candidates"][0])
    calls = [{"tool": "head_scan", "purpose": "confirm_scan", "fresh": True, "args": {"kind": kind, "top": 10}}]
    if kind in KIND_RULES:
        calls.append({"tool": "attention_rule", "purpose": "confirm_rule", "fresh": True,
                      "args": {"layer": first.layer, "head": first.index, "rule": {"attends_to": KIND_RULES[kind]},
                               "split": "heldout", "also": shape["candidates"][1:]}})
    return {"pending": calls}


def confirmed_tasks(state: dict, results: list[dict], llm_described: int) -> list[dict]:
    """Each candidate as a head task with its batched re-measurements, ranked by the fresh scan; the LLM
    describes the first `llm_described`, code states the behaviour of the rest."""
    shape = state["shape"]
    by = {r["purpose"]: r["data"] for r in results}
    scan, rule = by["confirm_scan"], by.get("confirm_rule")
    tasks = []
    for lbl in shape["candidates"]:
        c, kind = str(Site.parse(lbl)), shape["head_kind"]
        fresh = {**scan_position(scan, c), "kind": kind, "population": scan["scores"]}
        if rule:
            value = rule["population"][scan["labels"].index(lbl)]  # both are every head, layer-major
            rank, percentile = percentile_rank(value, rule["population"])
            queries = rule["queries"] if lbl == rule["head"] else rule["queries_of"].get(lbl, [])
            fresh["rule"] = {"value": value, "rank": rank, "of": len(rule["population"]), "percentile": percentile,
                             "population": rule["population"], "texts": rule["texts"], "queries": queries}
        hypothesis = {**kind_hypotheses(lbl, [kind], [])[0], "status": "supported"}
        tasks.append({"component": c, "kind": "head", "stage": "describe", "attempts": 0, "hypotheses": [hypothesis],
                      "scan": {kind: shape["sweep"][lbl]}, "fresh": fresh, "searched": kind})
    tasks.sort(key=lambda t: -t["fresh"]["value"])
    return [{**t, "code_written": i >= llm_described} for i, t in enumerate(tasks)]


def absorb(state: dict, results: list[dict], deps) -> dict:
    """Turn the sweep into candidates (heads: a batched confirmation first), then into tasks."""
    result = results[0]
    data, n = result["data"], deps.settings.max_candidates
    if result["purpose"] == "shortlist_heads":
        return _head_candidates(state, data, deps.settings)
    if result["purpose"] in ("confirm_scan", "confirm_rule"):
        return {"tasks": confirmed_tasks(state, results, n), "current": 0, "stage": "investigate"}
    if result["purpose"] == "shortlist_units":
        tasks = [{"component": lbl, "kind": "neuron", "stage": "explore", "attempts": 0} for lbl in data["labels"][:n]]
    else:
        ranked = sorted(zip(data["scores"], data["labels"]), key=lambda x: -abs(x[0]))[:n]
        tasks = [{"component": str(Site.parse(lbl)), "kind": "circuit", "stage": "describe", "attempts": 0,
                  "hypotheses": [{"id": "H1", "statement": f"{lbl} carries the answer (estimated recovery {score:.2f})",
                                  "status": "open", "accuracy": None}],
                  "estimate": score} for score, lbl in ranked]
    return {"tasks": tasks, "current": 0, "stage": "investigate"}
