"""The protocol for an attention head: attention pattern -> behaviour hypotheses -> the head
scans where those hypotheses disagree -> description -> the claimed scan re-measured on
fresh prompts (in validate)."""

from __future__ import annotations

from sleuth.agent.schemas import head_kinds, head_kinds_model
from sleuth.target import Site

TOP_SHARE = 0.9  # "among the top heads" = at or above this percentile of all heads
SAMPLE_TEXTS = ("The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog.",
                "In 1990 the company moved from Boston to Denver, and in 1995 it moved again.")


def _layer_head(component: str) -> tuple[int, int]:
    site = Site.parse(component)
    return site.layer, site.index


def scan_position(data: dict, component: str) -> dict:
    """The head's value, rank and percentile in a head_scan result."""
    label = Site.parse(component).short
    scores, labels = data["scores"], data["labels"]
    value = scores[labels.index(label)]
    rank = 1 + sum(s > value for s in scores)
    percentile = (sum(s < value for s in scores) + 0.5 * (sum(s == value for s in scores) - 1)) / max(len(scores) - 1, 1)
    return {"value": value, "rank": rank, "of": len(scores), "percentile": round(percentile, 4)}


def plan(task: dict, state: dict, deps) -> dict:
    c, stage = task["component"], task["stage"]
    layer, head = _layer_head(c)
    if stage == "explore":
        return {"pending": [{"tool": "attention_pattern", "purpose": "pattern",
                             "args": {"layer": layer, "head": head, "texts": list(SAMPLE_TEXTS), "top": 4}}]}
    if stage == "hypothesize":
        reply = deps.ask("head_hypotheses", head_kinds_model(), max_tokens=120, component=Site.parse(c).short,
                         model=deps.target.name, memory=state.get("memory", []), links=task.get("links", []),
                         feedback=task.get("feedback"), kinds=head_kinds())
        hyps = [{"id": f"H{i + 1}", "statement": f"{Site.parse(c).short} is a {k.replace('_', '-')} head", "kind": k,
                 "status": "open", "accuracy": None} for i, k in enumerate(dict.fromkeys(reply.kinds))]
        return {"task": {"hypotheses": hyps, "stage": "test"}}
    if stage == "test":
        kinds = [h["kind"] for h in task["hypotheses"] if h["kind"] not in task.get("scan", {})]
        return {"pending": [{"tool": "head_scan", "purpose": "head_scan", "args": {"kind": k, "top": 5}} for k in kinds]}
    if stage == "heldout":
        kind = best_kind(task)
        return {"pending": [{"tool": "head_scan", "purpose": "fresh_scan", "fresh": True, "args": {"kind": kind, "top": 5}}]}
    raise ValueError(f"head protocol has no stage '{stage}'")


def best_kind(task: dict) -> str:
    scan = task.get("scan", {})
    return max(scan, key=lambda k: scan[k]["percentile"]) if scan else task["hypotheses"][0]["kind"]


def absorb(task: dict, results: list[dict], state: dict, deps) -> dict:
    c = task["component"]
    if results[0]["purpose"] == "pattern":
        links = [f"text {i + 1} (attention to the first token {row['first_token_share']:.2f}): " + "; ".join(row["strongest"])
                 for i, row in enumerate(results[0]["data"]["per_text"])]
        return {"task": {"links": links, "stage": "hypothesize"}}
    if results[0]["purpose"] == "fresh_scan":
        data = results[0]["data"]
        return {"task": {"fresh": {**scan_position(data, c), "kind": data["kind"], "population": data["scores"]},
                         "stage": "score"}}
    scan = dict(task.get("scan", {}))
    for r in results:
        scan[r["data"]["kind"]] = scan_position(r["data"], c)
    log, hyps = [], []
    for h in task["hypotheses"]:
        outcomes = []
        for kind, pos in scan.items():
            predicted, outcome = kind == h["kind"], pos["percentile"] >= TOP_SHARE
            outcomes.append(predicted == outcome)
            log.append({"component": c, "hypothesis": h["statement"], "tool": "head_scan", "text": kind,
                        "predicted": predicted, "outcome": outcome})
        accuracy = sum(outcomes) / len(outcomes)
        mine = scan.get(h["kind"], {}).get("percentile", 0.0)
        hyps.append({**h, "accuracy": round(accuracy, 3), "status": "supported" if mine >= TOP_SHARE else "refuted"})
    untested = [k for k in head_kinds() if k not in scan]
    if untested and not any(h["status"] == "supported" for h in hyps):
        # the floor: when no proposed behaviour holds, the protocol tests the remaining known ones itself
        short = Site.parse(c).short
        hyps += [{"id": f"H{len(hyps) + i + 1}", "statement": f"{short} is a {k.replace('_', '-')} head", "kind": k,
                  "status": "open", "accuracy": None, "added_by": "protocol"} for i, k in enumerate(untested)]
        return {"task": {"scan": scan, "hypotheses": hyps, "stage": "test"}, "experiments": log}
    return {"task": {"scan": scan, "hypotheses": hyps, "stage": "describe"}, "experiments": log}


def scan_summary(task: dict) -> list[str]:
    short = Site.parse(task["component"]).short
    return [f"{short} {kind} score {p['value']:.3f}: rank {p['rank']} of {p['of']} heads (percentile {p['percentile']:.2f})"
            for kind, p in task.get("scan", {}).items()]
