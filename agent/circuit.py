"""The protocol for a behaviour component shortlisted by attribution patching: the LLM describes
it, then exact patching of it alone on a fresh (paraphrased) prompt pair decides (`patch_recovery`)."""

from __future__ import annotations

STAGES = ("heldout",)  # planned here


def plan(task: dict, state: dict, deps) -> dict:
    if task["stage"] != "heldout":
        raise ValueError(f"circuit protocol has no stage '{task['stage']}'")
    shape = state["shape"]
    return {"pending": [{"tool": "patch", "purpose": "fresh_patch",
                         "args": {"clean": [shape["paraphrase"]], "corrupt": [shape["paraphrase_corrupt"]],
                                  "answers": [" " + shape["answer"].strip()], "foils": [shape["foil"]], "sweep": "sites",
                                  "sites": [task["component"]]}}]}


def absorb(task: dict, results: list[dict], state: dict, deps) -> dict:
    return {"task": {"fresh": {"value": results[0]["data"]["scores"][0]}, "stage": "score"}}


def best(task: dict) -> None:
    return None  # a behaviour component's description has no rule yet


def scorer_inputs(task: dict, deps):
    from sleuth.scorers import ScoringInput

    return ["patch_recovery"], ScoringInput(fresh_value=(task.get("fresh") or {}).get("value"))


def measured(task: dict) -> str:
    value = (task.get("fresh") or {}).get("value")
    if value is None:
        return ""
    return f" [measured on a fresh prompt pair: patching it alone restores {value:.2f} of the logit difference]"


def retry(task: dict, finding: dict) -> dict | None:
    """No second attempt: the shortlist's estimate is all there is to go back to."""
    return None


def not_applicable(task: dict, names: list[str]) -> dict[str, str]:
    return {}
