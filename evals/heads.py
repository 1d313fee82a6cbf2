"""`sleuth eval heads`: find known heads by investigation, and describe every head.

On the suite's own model the truth comes from how it was built: each head was trained to a role
(previous token, induction, the current token, the first token; `heads_model.HeadsRecipe.roles`).
On any other model it is the standard head scores measured by head_scan on prompts no describer
sees (their own seed). Asked "which heads are induction heads?", "which heads attend to the previous
token?" and "what does L{l}H{h} do?", each mode is scored on the heads it names (precision, recall)
and on whether each head's text states the right behaviour (an LLM judge against the truth). The
`scan` mode is the baseline: it names every head whose scan reaches TRUTH_MIN and says of each head
only what the two scans say.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import BaseModel, Field, create_model

from sleuth.evals.metrics import judge_choice
from sleuth.evals.scoreboard import Manifest, Row
from sleuth.llm.errors import LLMError, LLMUnreachable
from sleuth.prompts import render
from sleuth.tools import ToolError, run_tool

KINDS = {"induction": "Which attention heads are induction heads?",
         "previous_token": "Which attention heads attend to the previous token?"}
BEHAVIOUR = {"induction": "an induction head: from a repeated token it attends to the token that followed that "
                          "token's earlier occurrence, and so predicts a repeat",
             "previous_token": "a previous-token head: each token attends to the token immediately before it"}
TRUTH_SEED = 9173  # ground-truth prompts: a seed no describer uses
NEITHER = ("This head is neither an induction head nor a previous-token head: it shows no strong attention "
           "to the previous token or to the token after an earlier occurrence.")
TRUTH_MIN = 0.4  # a head is of a kind when its score reaches this (mean attention on the right token)
ROLE_BEHAVIOUR = {**BEHAVIOUR, "self": "a self-attending head: each token attends to itself",
                  "first": "a first-token head: every token attends to the first token of the text"}


class HeadTruth(BaseModel):
    scores: dict[str, dict[str, float]]  # kind -> head label -> score (measured; on the suite's model, a check)
    heads: dict[str, list[str]]  # kind -> heads of that kind
    roles: dict[str, str] = Field(default_factory=dict)  # head -> the role it was built for (the suite's model)
    source: str = "measured"  # "construction": heads and roles are how the model was built; "measured": scans

    def text(self, head: str) -> str:
        if head in self.roles:
            return "This head is " + ROLE_BEHAVIOUR[self.roles[head]] + "."
        kinds = [k for k in KINDS if head in self.heads[k]]
        if not kinds:
            return NEITHER
        return "This head is " + " and also ".join(BEHAVIOUR[k] for k in kinds) + "."

    def decoy(self, head: str) -> str:
        """A behaviour the head does not have, in the same words: the judge's wrong option, which one that
        reads the description picks as rarely as it can and one that ignores it as often as the truth."""
        if head in self.roles:
            other = next(r for r in ("induction", "previous_token", "self") if r != self.roles[head])
            return "This head is " + ROLE_BEHAVIOUR[other] + "."
        missing = [k for k in KINDS if head not in self.heads[k]]
        if not missing:
            return NEITHER
        return "This head is " + BEHAVIOUR[missing[0]] + "."


def constructed_truth(roles: dict[str, str], measured: HeadTruth) -> HeadTruth:
    """The truth of a model built with `roles`: the heads of each kind are the heads trained to it; the scans
    are kept beside it as a check that the construction took (`construction_check`)."""
    return HeadTruth(scores=measured.scores, heads={k: sorted(h for h, r in roles.items() if r == k) for k in KINDS},
                     roles=dict(roles), source="construction")


def construction_check(truth: HeadTruth) -> dict[str, float] | None:
    """How far the scans (at TRUTH_MIN) agree with the construction: precision and recall over both kinds."""
    if truth.source != "construction":
        return None
    scanned = {(k, h) for k in KINDS for h, v in truth.scores[k].items() if v >= TRUTH_MIN}
    built = {(k, h) for k in KINDS for h in truth.heads[k]}
    hits = len(scanned & built)
    return {"precision": round(hits / len(scanned), 4) if scanned else 0.0,
            "recall": round(hits / len(built), 4) if built else 0.0}


class HeadResult(BaseModel):
    question: str
    mode: str
    named: list[str] = Field(default_factory=list)
    head: str | None = None
    description: str | None = None
    status: str = "failed"
    reason: str | None = None
    verdict: str | None = None  # the judge's picks per order asked: truth / decoy / tie
    right: float | None = None  # judge choice between the true behaviour and the decoy (chance 0.5)
    decoy_right: float | None = None  # one minus that: the decoy is a behaviour the head does not have
    llm_tokens: int = 0
    seconds: float = 0.0


class HeadsReport(BaseModel):
    version: int = 1
    model: str
    llm: str
    truth: HeadTruth
    results: list[HeadResult]
    summary: dict[str, dict[str, float | int | None]]  # mode -> figures
    construction_check: dict[str, float] | None = None  # the scans against a built model's roles (its truth)
    seconds: float = 0.0
    manifest: Manifest | None = None  # what the run ran on (written with the report)


def measure_truth(ctx) -> HeadTruth:
    import dataclasses

    fresh = dataclasses.replace(ctx, seed=TRUTH_SEED)
    scores, heads = {}, {}
    for kind in KINDS:
        data = run_tool("head_scan", {"kind": kind, "n_sequences": 32}, fresh).data
        scores[kind] = dict(zip(data["labels"], data["scores"]))
        heads[kind] = [h for h, s in scores[kind].items() if s >= TRUTH_MIN]
    return HeadTruth(scores=scores, heads=heads)



# ---- the two modes ----------------------------------------------------------
def agent_search(kind: str, env) -> tuple[list[str], str | None]:
    state = env.investigator().ask(KINDS[kind])
    named = [f["short"] for f in state.get("findings", []) if f["status"] == "validated"]
    return named, state.get("partial")


def agent_head(head: str, env) -> tuple[str | None, str, str | None]:
    state = env.investigator().ask(f"What does {head} do?")
    finding = next(iter(state.get("findings", [])), None)
    if finding is None:
        return None, "failed", state.get("partial") or "the agent reached no finding"
    # the words alone are judged: not the measurement the answer appends to them
    return finding.get("words") or finding["text"], finding["status"], finding.get("reason")


def scan_search(kind: str, env) -> tuple[list[str], str | None]:
    """The baseline: every head whose scan (the describer's seed) reaches TRUTH_MIN."""
    data = run_tool("head_scan", {"kind": kind, "n_sequences": 32}, env.ctx).data
    return [h for h, v in zip(data["labels"], data["scores"]) if v >= TRUTH_MIN], None


def scan_head(head: str, env) -> tuple[str | None, str, str | None]:
    """The baseline's words for one head: what the two scans say of it, and nothing else."""
    kinds = [k for k in KINDS if head in scan_search(k, env)[0]]
    text = "This head is " + " and also ".join(BEHAVIOUR[k] for k in kinds) + "." if kinds else NEITHER
    return text, "described", None


def oneshot_search(kind: str, env) -> tuple[list[str], str | None]:
    scan = run_tool("head_scan", {"kind": kind}, env.ctx)
    labels = scan.data["labels"]
    reply_model = create_model("HeadChoice", heads=(list[_enum(labels)], Field(max_length=10)))
    prompt = render("oneshot_heads", question=KINDS[kind], summary=scan.summary)
    reply = env.llm.structured([{"role": "user", "content": prompt}], reply_model, max_tokens=120)
    return list(dict.fromkeys(reply.heads)), None


def oneshot_head(head: str, env) -> tuple[str | None, str, str | None]:
    layer, index = (int(x) for x in head[1:].split("H"))
    texts = ["".join(env.ctx.target.str_tokens(row[:32])) for row in env.ctx.windows.tokens[:3]]
    pattern = run_tool("attention_pattern", {"layer": layer, "head": index, "texts": texts}, env.ctx)
    prompt = render("oneshot_head", head=head, summary=pattern.summary)
    reply = env.llm.structured([{"role": "user", "content": prompt}], HeadDescription, max_tokens=120)
    return reply.description, "described", None


class HeadDescription(BaseModel):
    description: str = Field(min_length=3, max_length=600)


def _enum(labels: list[str]):
    from typing import Literal

    return Literal[tuple(labels)]


MODES = {"agent": (agent_search, agent_head), "oneshot": (oneshot_search, oneshot_head), "scan": (scan_search, scan_head)}


def _timed(fn, env, result: HeadResult):
    start, before = time.perf_counter(), env.llm.ledger.tokens()
    try:
        fn(result)
    except LLMUnreachable:
        raise
    except (LLMError, ToolError) as exc:
        result.status, result.reason = "failed", str(exc)
    result.llm_tokens = env.llm.ledger.tokens() - before
    result.seconds = round(time.perf_counter() - start, 1)
    return result


def run_heads(env, judge_llm, modes: list[str], heads: list[str], progress: Callable[[str], None] | None = None,
              done: Callable[[], None] | None = None, truth: HeadTruth | None = None) -> HeadsReport:
    """truth: the measured head scores, when the caller already has them (else measured here)."""
    start = time.perf_counter()
    truth = truth or measure_truth(env.ctx)
    results: list[HeadResult] = []
    for mode in modes:
        search, describe = MODES[mode]
        for kind, question in KINDS.items():
            progress and progress(f"{mode}: {kind} heads")
            result = HeadResult(question=question, mode=mode)

            def searched(r: HeadResult, kind=kind, search=search):
                r.named, r.reason = search(kind, env)
                r.status = "done"

            results.append(_timed(searched, env, result))
            done and done()
        for head in heads:
            progress and progress(f"{mode}: {head}")
            result = HeadResult(question=f"What does {head} do?", mode=mode, head=head)

            def described(r: HeadResult, head=head, describe=describe):
                r.description, r.status, r.reason = describe(head, env)
                if r.description:
                    chosen = judge_choice(judge_llm, r.description, truth.text(head), truth.decoy(head), f"{mode}:{head}")
                    r.verdict, r.right, r.decoy_right = ",".join(chosen.picks), chosen.score, 1 - chosen.score

            results.append(_timed(described, env, result))
            done and done()
    summary = {mode: _summary([r for r in results if r.mode == mode], truth) for mode in modes}
    return HeadsReport(model=env.ctx.target.name, llm=env.llm.model, truth=truth, results=results, summary=summary,
                       construction_check=construction_check(truth), seconds=round(time.perf_counter() - start, 1))


def _summary(results: list[HeadResult], truth: HeadTruth) -> dict:
    named = {r.question: set(r.named) for r in results if r.head is None}
    hits = sum(len(named.get(q, set()) & set(truth.heads[k])) for k, q in KINDS.items())
    n_named = sum(len(named.get(q, set())) for q in KINDS.values())
    n_true = sum(len(truth.heads[k]) for k in KINDS)
    per_head = [r for r in results if r.head is not None]
    return {"head_precision": round(hits / n_named, 4) if n_named else 0.0,
            "head_recall": round(hits / n_true, 4) if n_true else None,
            "head_text_right": round(sum(r.right or 0.0 for r in per_head) / len(per_head), 4) if per_head else None,
            "head_text_decoy": round(sum(r.decoy_right or 0.0 for r in per_head) / len(per_head), 4) if per_head else None,
            "failed": sum(r.status == "failed" for r in results), "n": len(results),
            "llm_tokens": sum(r.llm_tokens for r in results), "seconds": round(sum(r.seconds for r in results), 1)}


def heads_rows(report: HeadsReport, suite: str) -> list[Row]:
    return [Row(suite=suite, mode=mode, n=int(s["n"]), failed=int(s["failed"]), head_precision=s["head_precision"],
                head_recall=s["head_recall"], head_text_right=s["head_text_right"],
                decoy_match=s.get("head_text_decoy"), llm_tokens=int(s["llm_tokens"]),
                seconds=float(s["seconds"]), llm=report.llm) for mode, s in report.summary.items()]
