"""The protocol for a scalar component (MLP neuron, SAE latent, unit, direction):
top corpus examples -> hypotheses -> test texts chosen where hypotheses disagree ->
description -> held-out scoring (in validate)."""

from __future__ import annotations

from sleuth.agent.schemas import Hypotheses, TestTexts, answers_model
from sleuth.agent.snippets import crop, marked
from sleuth.llm.errors import InvalidOutput

FIRE_FRACTION = 0.3  # fires = above this fraction of the strongest activation seen on the explain split
MAX_TEST_TEXTS = 6


def explore_args(component: str, settings) -> dict:
    """The first experiment on a scalar component: its top corpus windows on the explain split."""
    return {"sites": [component], "k": 8, "n_windows": settings.explain_windows, "split": "explain",
            "n_quantiles": 2, "n_random": 3, "units_per_site": 1}


def plan(task: dict, state: dict, deps) -> dict:
    """What the current stage needs: tool calls to run, or an LLM step done here."""
    c, cfg = task["component"], deps.settings
    stage = task["stage"]
    if stage == "explore":
        return {"pending": [{"tool": "top_activations", "purpose": "top_examples", "args": explore_args(c, cfg)}]}
    if stage == "hypothesize":
        reply = deps.ask("hypotheses", Hypotheses, max_tokens=200, component=c, model=deps.target.name,
                         kind_hint="It is a single scalar component (a neuron or feature).", memory=state.get("memory", []),
                         stats=task.get("stats", ""), examples=task.get("examples", []), quiet=task.get("quiet", []),
                         feedback=task.get("feedback"), max_hypotheses=3)
        hyps = [{"id": f"H{i + 1}", "statement": s.strip(), "status": "open", "accuracy": None}
                for i, s in enumerate(dict.fromkeys(reply.hypotheses)) if s.strip()]
        return {"task": {"hypotheses": hyps, "stage": "test"}}
    if stage == "test":
        statements = [h["statement"] for h in task["hypotheses"]]
        written = deps.ask("test_texts", TestTexts, max_tokens=300, component=c, model=deps.target.name,
                           hypotheses=statements, n=MAX_TEST_TEXTS).texts
        written = [t for t in dict.fromkeys(t.strip() for t in written) if t and t not in statements][:10]
        # controls from the explain split: known to fire / not to fire, so even a weak LLM's hypotheses are tested
        controls = [e["plain"] for e in task.get("examples", [])[:2] if e.get("plain")] + task.get("quiet", [])[:2]
        texts = list(dict.fromkeys(written + controls))
        if not texts:
            raise InvalidOutput("the LLM wrote no usable test texts")
        predictions = {}
        for h in task["hypotheses"]:
            reply = deps.ask("predict", answers_model(len(texts)), max_tokens=16 + 8 * len(texts),
                             hypothesis=h["statement"], texts=texts)
            predictions[h["id"]] = list(reply.answers)
        chosen = most_disagreed({k: v[: len(written)] for k, v in predictions.items()}, len(written), MAX_TEST_TEXTS)
        chosen += list(range(len(written), len(texts)))
        texts = [texts[i] for i in chosen]
        predictions = {k: [v[i] for i in chosen] for k, v in predictions.items()}
        return {"task": {"test_texts": texts, "predictions": predictions, "stage": "run_tests"}}
    if stage == "run_tests":
        return {"pending": [{"tool": "activations", "purpose": "test_texts",
                             "args": {"site": c, "texts": task["test_texts"]}}]}
    if stage == "heldout":
        return {"pending": [{"tool": "top_activations", "purpose": "heldout",
                             "args": {"sites": [c], "k": 8, "n_windows": cfg.heldout_windows, "split": "heldout",
                                      "n_quantiles": 4, "n_random": 8, "units_per_site": 1}}]}
    raise ValueError(f"neuron protocol has no stage '{stage}'")


def most_disagreed(predictions: dict[str, list[bool]], n: int, keep: int) -> list[int]:
    """Indices of the texts whose predicted outcome splits the hypotheses most (ties: original order)."""
    def split(i: int) -> float:
        votes = [p[i] for p in predictions.values()]
        share = sum(votes) / len(votes) if votes else 0.5
        return share * (1 - share)

    return sorted(sorted(range(n), key=lambda i: -split(i))[:keep])


def absorb(task: dict, results: list[dict], state: dict, deps) -> dict:
    """Fold tool results into the task; returns task updates (and prediction-log entries)."""
    result = results[0]
    purpose = result["purpose"]
    if purpose == "top_examples":
        report = result["data"]["components"][0]
        top = [e for e in report["examples"] if e["kind"] == "top"]
        quiet = [e for e in report["examples"] if e["kind"] == "random"]
        strongest = max(report["max"], 1e-6)
        return {"task": {
            "examples": [{"text": marked(e["tokens"], e["values"]), "plain": "".join(crop(e["tokens"], e["values"])[0]),
                          "value": round(e["max_value"], 3)} for e in top],
            "quiet": ["".join(crop(e["tokens"], e["values"])[0]) for e in quiet],
            "stats": f"fires on {100 * report['frequency']:.2f}% of tokens; max {report['max']:.3f}; mean {report['mean']:.4f}",
            "fire_threshold": round(FIRE_FRACTION * strongest, 4), "stage": "hypothesize"}}
    if purpose == "test_texts":
        threshold = task["fire_threshold"]
        fired = [row["max_value"] >= threshold for row in result["data"]["per_text"]]
        log, hyps = [], []
        for h in task["hypotheses"]:
            predicted = task["predictions"][h["id"]]
            correct = [p == f for p, f in zip(predicted, fired)]
            accuracy = sum(correct) / len(correct)
            status = "supported" if accuracy >= 0.75 else "refuted" if accuracy < 0.5 else "open"
            hyps.append({**h, "accuracy": round(accuracy, 3), "status": status})
            log += [{"component": task["component"], "hypothesis": h["statement"], "tool": "activations",
                     "text": text, "predicted": p, "outcome": f} for text, p, f in zip(task["test_texts"], predicted, fired)]
        counter = [{"tokens": row["tokens"], "values": row["values"], "active": f, "source": "counterexample"}
                   for row, f in zip(result["data"]["per_text"], fired)]
        return {"task": {"hypotheses": hyps, "counter": counter, "stage": "describe"}, "experiments": log}
    if purpose == "heldout":
        threshold = task["fire_threshold"]
        examples = []
        for e in result["data"]["components"][0]["examples"]:
            tokens, values = crop(e["tokens"], e["values"], seed=e["window"])
            examples.append({"tokens": tokens, "values": values, "active": max(values) >= threshold,
                             "source": {"top": "heldout-top", "quantile": "heldout-quantile"}.get(e["kind"], "heldout-random")})
        return {"task": {"heldout": examples, "stage": "score"}}
    raise ValueError(f"neuron protocol cannot absorb '{purpose}'")
