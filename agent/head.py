"""The protocol for an attention head: attention pattern -> behaviour and attention-rule
hypotheses -> the head scans and attention-rule measurements (explain split) -> description
-> re-measured on fresh prompts and held-out texts (in validate).

Each behaviour kind that is about where the head looks carries an attention rule
(induction: the token after an earlier copy), so the stored description always has a rule
that `attention_rule` scores on held-out text and `attention_simulation` checks the words against.
"""

from __future__ import annotations

from sleuth.agent.schemas import head_kinds, head_kinds_model
from sleuth.predicates.attention import AttentionRule, describe_rule
from sleuth.predicates.fit import percentile_rank, standing as standing_among
from sleuth.target import Site

STAGES = ("explore", "hypothesize", "test", "heldout")  # planned here
SAMPLE_TEXTS = ("The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog.",
                "In 1990 the company moved from Boston to Denver, and in 1995 it moved again.")
KIND_RULES = {"induction": "after_previous_occurrence", "previous_token": "previous_token",
              "duplicate_token": "same_token_earlier"}  # successor is about the head's output, not where it looks


def kind_statement(short: str, kind: str) -> str:
    name = kind.replace("_", "-")
    return f"{short} is {'an' if name[0] in 'aeiou' else 'a'} {name} head"


def code_text(component: str, kind: str) -> str:
    """A head's behaviour stated by code from its kind (batched search confirmation, no LLM)."""
    stated = kind_statement(Site.parse(component).short, kind)
    if kind in KIND_RULES:
        return f"{stated}: each token attends to {describe_rule(AttentionRule(attends_to=KIND_RULES[kind]))}."
    return f"{stated}: its output promotes the next item of an ordinal sequence (numbers, months, days)."


def _layer_head(component: str) -> tuple[int, int]:
    site = Site.parse(component)
    return site.layer, site.index


def scan_position(data: dict, component: str) -> dict:
    """The head's value, rank and percentile in a head_scan result."""
    label = Site.parse(component).short
    scores, labels = data["scores"], data["labels"]
    value = scores[labels.index(label)]
    rank, percentile = percentile_rank(value, scores)
    return {"value": value, "rank": rank, "of": len(scores), "percentile": percentile,
            "standing": standing_among(value, scores)}


def rule_key(rule: dict) -> str:
    return describe_rule(AttentionRule.model_validate(rule))


def kind_hypotheses(short: str, kinds: list[str], rules: list[AttentionRule]) -> list[dict]:
    hyps = [{"statement": kind_statement(short, k), "kind": k,
             "rule": {"attends_to": KIND_RULES[k]} if k in KIND_RULES else None} for k in dict.fromkeys(kinds)]
    known = {rule_key(h["rule"]) for h in hyps if h["rule"]}
    for rule in rules:
        if describe_rule(rule) not in known:
            known.add(describe_rule(rule))
            hyps.append({"statement": f"{short} attends to {describe_rule(rule)}", "kind": None,
                         "rule": rule.model_dump(mode="json", exclude_none=True)})
    return [{**h, "id": f"H{i + 1}", "status": "open", "accuracy": None} for i, h in enumerate(hyps)]


def _rule_call(layer: int, head: int, rule: dict, split: str, purpose: str, fresh: bool = False) -> dict:
    call = {"tool": "attention_rule", "purpose": purpose, "args": {"layer": layer, "head": head, "rule": rule, "split": split}}
    return {**call, "fresh": True} if fresh else call


def plan(task: dict, state: dict, deps) -> dict:
    c, stage = task["component"], task["stage"]
    layer, head = _layer_head(c)
    if stage == "explore":
        return {"pending": [{"tool": "attention_pattern", "purpose": "pattern",
                             "args": {"layer": layer, "head": head, "texts": list(SAMPLE_TEXTS), "top": 4}}]}
    if stage == "hypothesize":
        reply = deps.ask("head_hypotheses", head_kinds_model(), max_tokens=200, component=Site.parse(c).short,
                         model=deps.target.name, memory=state.get("memory", []), links=task.get("links", []),
                         feedback=task.get("feedback"), kinds=head_kinds())
        return {"task": {"hypotheses": kind_hypotheses(Site.parse(c).short, reply.kinds, reply.rules), "stage": "test"}}
    if stage == "test":
        scanned, measured = task.get("scan", {}), task.get("rule_scan", {})
        kinds = [h["kind"] for h in task["hypotheses"] if h["kind"] and h["kind"] not in scanned]
        rules = [h["rule"] for h in task["hypotheses"] if not h["kind"] and rule_key(h["rule"]) not in measured]
        calls = [{"tool": "head_scan", "purpose": "head_scan", "args": {"kind": k, "top": 5}} for k in kinds] \
            + [_rule_call(layer, head, r, "explain", "rule_scan") for r in rules]
        return {"pending": calls} if calls else {"task": {"stage": "describe"}}  # everything is measured already
    if stage == "heldout":
        top = best(task)
        calls = [{"tool": "head_scan", "purpose": "fresh_scan", "fresh": True, "args": {"kind": top["kind"], "top": 5}}] \
            if top["kind"] else []
        if top.get("rule"):
            calls.append(_rule_call(layer, head, top["rule"], "heldout", "heldout_rule", fresh=True))
        return {"pending": calls}
    raise ValueError(f"head protocol has no stage '{stage}'")


def _measurement(h: dict, task: dict) -> dict:
    """A hypothesis' explain-split measurement: its scan for a behaviour kind, its rule's mass otherwise."""
    if h["kind"]:
        return task.get("scan", {}).get(h["kind"], {})
    return task.get("rule_scan", {}).get(rule_key(h["rule"]), {})


def standing(h: dict, task: dict) -> float:
    """A hypothesis' standing among all heads (the measure the validation scorers use)."""
    return _measurement(h, task).get("standing", 0.0)


def _with_verdict(position: dict, cfg) -> dict:
    """A measurement and whether the behaviour holds there: among the top heads (standing, as the validation
    scorers use) and above noise (first among 8 heads that all score 0.01 is noise, whatever its rank).
    Kept with the measurement, so the record shows the verdict and the thresholds of the run that made it."""
    holds = position.get("standing", 0.0) >= cfg.head_top_share and position.get("value", 0.0) >= cfg.head_min_score
    return {**position, "holds": holds}


def _holds(position: dict) -> bool:
    return bool(position.get("holds", False))


def supported(h: dict, task: dict) -> bool:
    """Among the top heads, and at a score that is a behaviour rather than noise."""
    return _holds(_measurement(h, task))


def best(task: dict) -> dict:
    return max(task["hypotheses"], key=lambda h: (supported(h, task), standing(h, task)))


def _absorb_fresh(task: dict, results: list[dict]) -> dict:
    c, fresh = task["component"], {}
    for r in results:
        data = r["data"]
        if r["purpose"] == "fresh_scan":
            fresh.update({**scan_position(data, c), "kind": data["kind"], "population": data["scores"]})
        else:
            fresh["rule"] = {key: data[key] for key in ("value", "rank", "of", "percentile", "population", "texts", "queries")}
            if not any(x["purpose"] == "fresh_scan" for x in results):  # the rule's own held-out measurement
                fresh.update({key: data[key] for key in ("value", "rank", "of", "population")}, kind="attention rule")
    return {"task": {"fresh": fresh, "stage": "score"}}


def absorb(task: dict, results: list[dict], state: dict, deps) -> dict:
    c = task["component"]
    purposes = {r["purpose"] for r in results}
    if purposes == {"pattern"}:
        links = [f"text {i + 1} (attention to the first token {row['first_token_share']:.2f}): " + "; ".join(row["strongest"])
                 for i, row in enumerate(results[0]["data"]["per_text"])]
        return {"task": {"links": links, "stage": "hypothesize"}}
    if purposes & {"fresh_scan", "heldout_rule"}:
        return _absorb_fresh(task, results)
    scan, measured = dict(task.get("scan", {})), dict(task.get("rule_scan", {}))
    for r in results:
        if r["purpose"] == "head_scan":
            scan[r["data"]["kind"]] = _with_verdict(scan_position(r["data"], c), deps.settings)
        else:
            position = {**{k: r["data"][k] for k in ("value", "rank", "of", "percentile")},
                        "standing": standing_among(r["data"]["value"], r["data"]["population"])}
            measured[rule_key(r["data"]["rule"])] = _with_verdict(position, deps.settings)
    task = {**task, "scan": scan, "rule_scan": measured}
    log, hyps = [], []
    for h in task["hypotheses"]:
        outcomes = []
        for kind, pos in scan.items():
            predicted, outcome = kind == h["kind"], _holds(pos)
            outcomes.append(predicted == outcome)
            log.append({"component": c, "hypothesis": h["statement"], "tool": "head_scan", "text": kind,
                        "predicted": predicted, "outcome": outcome})
        mine = standing(h, task)
        holds = supported(h, task)
        accuracy = sum(outcomes) / len(outcomes) if outcomes else float(holds)
        hyps.append({**h, "accuracy": round(accuracy, 3), "standing": mine,
                     "status": "supported" if holds else "refuted"})
    untested = [k for k in head_kinds() if k not in scan]
    if untested and not any(h["status"] == "supported" for h in hyps):
        # the floor: when no proposed behaviour holds, the protocol tests the remaining known ones itself
        added = kind_hypotheses(Site.parse(c).short, untested, [])
        hyps += [{**h, "id": f"H{len(hyps) + i + 1}", "added_by": "protocol"} for i, h in enumerate(added)]
        return {"task": {"scan": scan, "rule_scan": measured, "hypotheses": hyps, "stage": "test"}, "experiments": log}
    return {"task": {"scan": scan, "rule_scan": measured, "hypotheses": hyps, "stage": "describe"}, "experiments": log}


def scan_summary(task: dict) -> list[str]:
    short = Site.parse(task["component"]).short
    lines = [f"{short} {kind} score {p['value']:.3f}: rank {p['rank']} of {p['of']} heads (percentile {p['percentile']:.2f})"
             for kind, p in task.get("scan", {}).items()]
    return lines + [f"{short} attention on {key}: {p['value']:.3f}, rank {p['rank']} of {p['of']} heads"
                    for key, p in task.get("rule_scan", {}).items()]


def scorer_inputs(task: dict, deps):
    """Fresh-prompt scan, held-out attention rule and its query positions (never the explain split)."""
    from sleuth.scorers import ScoringInput

    fresh = task.get("fresh") or {}
    rule = fresh.get("rule") or {}
    return deps.settings.head_scorers, ScoringInput(
        fresh_value=fresh.get("value"), population=fresh.get("population"), rule_value=rule.get("value"),
        rule_population=rule.get("population"), attention_texts=rule.get("texts"),
        attention_queries=rule.get("queries"), llm=deps.llm, stated_relation=_stated_relation(task))


def _stated_relation(task: dict) -> str | None:
    """The named attention relation of a text code wrote (search candidates, words retries): the
    words check then runs on that relation with no LLM reading it."""
    if not (task.get("code_written") or task.get("rule_words")) or not task.get("hypotheses"):
        return None
    attends = (best(task).get("rule") or {}).get("attends_to")
    return attends if isinstance(attends, str) else None


def measured(task: dict) -> str:
    fresh = task.get("fresh") or {}
    if "rank" not in fresh:
        return ""
    rule = fresh.get("rule")
    attends = (f"; attention on its rule's targets in held-out text {rule['value']:.2f}, rank {rule['rank']} of "
               f"{rule['of']}" if rule and fresh["kind"] != "attention rule" else "")
    return (f" [measured on fresh prompts: {fresh['kind'].replace('_', '-')} score {fresh['value']:.3f}, "
            f"rank {fresh['rank']} of {fresh['of']} heads{attends}]")


def retry(task: dict, finding: dict) -> dict | None:
    """Where a rejected head goes back to. A search's batch-confirmed candidate does not: it was checked
    for the behaviour asked about, and failing that is the answer. When the behaviour replicated and only
    the words failed, the behaviour stated by code (`code_words`), scored on the same fresh measurement;
    otherwise hypothesize again and re-test from scratch."""
    from sleuth.scorers.verdict import only_words_failed

    if task.get("searched"):
        return None
    if only_words_failed(finding["scores"]) and not task.get("rule_words") and not _literal(task):
        return {"stage": "describe", "rule_words": True}
    return {"stage": "hypothesize", "scan": {}, "rule_scan": {}, "fresh": None, "rule_words": False}


def code_words(component: str, top: dict) -> str:
    """A hypothesis stated by code: its behaviour kind, or the attention rule it tested."""
    return code_text(component, top["kind"]) if top["kind"] else f"{top['statement']}."


def words_draft(task: dict, top: dict) -> tuple[str, list[dict]]:
    """The best hypothesis stated by code, with its standing among all heads (explain split) as its claim."""
    cited = [i for basis, ids in task.get("evidence", {}).items() if basis != "validation" for i in ids]
    if top["kind"]:
        p = task["scan"][top["kind"]]
        claim = f"ranks {p['rank']} of {p['of']} heads on the {top['kind']} scan"
    else:
        p = task["rule_scan"][rule_key(top["rule"])]
        claim = f"attention on {rule_key(top['rule'])} {p['value']:.3f}, rank {p['rank']} of {p['of']} heads"
    return code_words(task["component"], top), [{"text": claim, "basis": "head_scan", "evidence_ids": cited}]


def _literal(task: dict) -> bool:
    """The draft's words are code's words for the best hypothesis (the LLM copied them)."""
    draft = task.get("draft") or {}
    return bool(task.get("hypotheses")) and \
        draft.get("description", "").strip().lower() == code_words(task["component"], best(task)).lower()


def not_applicable(task: dict, names: list[str]) -> dict[str, str]:
    if (task.get("draft") or {}).get("rule"):
        return {}
    return {name: "the best behaviour is about the head's output, not where it looks: no attention rule"
            for name in ("attention_rule", "attention_simulation") if name in names}
