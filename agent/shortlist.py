"""Search and behaviour questions: shortlist candidates with a sweep, then queue them as tasks.

- heads with a named behaviour: head_scan over every head;
- neurons for a concept: contrast_units on texts the LLM writes with and without it;
- a behaviour ("which components make the model answer 'Mary'"): attribution patching
  against a counterfactual prompt the LLM writes, checked to tokenise to the same length.
"""

from __future__ import annotations

from sleuth.agent.head import scan_position
from sleuth.agent.schemas import ContrastTexts, Counterfactual, head_kinds, head_kinds_model
from sleuth.target import Site


def plan(state: dict, deps) -> dict:
    shape, target = state["shape"], deps.target
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


def absorb(state: dict, results: list[dict], deps) -> dict:
    """Turn the sweep into tasks, one per shortlisted component."""
    result = results[0]
    data, n = result["data"], deps.settings.max_candidates
    if result["purpose"] == "shortlist_heads":
        layer = state["shape"].get("layer")
        ranked = [lbl for _, lbl in sorted(zip(data["scores"], data["labels"]), reverse=True)
                  if layer is None or Site.parse(lbl).layer == layer][:n]
        kind = data["kind"]
        tasks = [{"component": str(Site.parse(lbl)), "kind": "head", "stage": "describe", "attempts": 0,
                  "hypotheses": [{"id": "H1", "statement": f"{lbl} is a {kind.replace('_', '-')} head", "kind": kind,
                                  "status": "supported", "accuracy": None}],
                  "scan": {kind: scan_position(data, str(Site.parse(lbl)))}} for lbl in ranked]
    elif result["purpose"] == "shortlist_units":
        tasks = [{"component": lbl, "kind": "neuron", "stage": "explore", "attempts": 0} for lbl in data["labels"][:n]]
    else:
        ranked = sorted(zip(data["scores"], data["labels"]), key=lambda x: -abs(x[0]))[:n]
        tasks = [{"component": str(Site.parse(lbl)), "kind": "circuit", "stage": "describe", "attempts": 0,
                  "hypotheses": [{"id": "H1", "statement": f"{lbl} carries the answer (estimated recovery {score:.2f})",
                                  "status": "open", "accuracy": None}],
                  "estimate": score} for score, lbl in ranked]
    return {"tasks": tasks, "current": 0, "stage": "investigate"}


def circuit_plan(task: dict, state: dict) -> dict:
    """The fresh-prompt re-measurement of a shortlisted behaviour component: exact patching alone."""
    shape = state["shape"]
    return {"pending": [{"tool": "patch", "purpose": "fresh_patch",
                         "args": {"clean": [shape["paraphrase"]], "corrupt": [shape["paraphrase_corrupt"]],
                                  "answers": [" " + shape["answer"].strip()], "foils": [shape["foil"]], "sweep": "sites",
                                  "sites": [task["component"]]}}]}
