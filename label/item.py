"""One item through explain -> score -> refine: a LabelRecord, failed with its reason when a stage breaks."""

from __future__ import annotations

import threading
import time

from sleuth.label.explain import explain
from sleuth.label.intervene import measure
from sleuth.label.records import INDUCED_EXPLAINER, Collected, LabelRecord
from sleuth.label.refine import refine
from sleuth.label.score import score
from sleuth.label.spec import LabelSpec
from sleuth.llm.errors import LLMError, LLMRefused, LLMUnreachable
from sleuth.llm.usage import UsageLedger
from sleuth.tools.registry import ToolError


def failed(item, reason: str, transient: bool = False) -> LabelRecord:
    return LabelRecord(item=item, status="failed", reason=reason, transient=transient)


def label_item(collected: Collected, spec: LabelSpec, llm, embed, ctx, forward_lock=None) -> LabelRecord:
    """forward_lock serialises model forwards with other items' (a fresh lock when labeling alone)."""
    forward_lock = forward_lock or threading.Lock()
    ledger = UsageLedger()
    client = llm.metered(ledger)
    began = time.perf_counter()
    stage, draft, scores, rounds, transient = "explain", None, [], [], False
    try:
        draft = explain(collected, client, spec.preset.rules, spec.preset.induce and spec.preset.rules)
        stage = "intervene"
        steering = measure(collected, spec, ctx, forward_lock)  # the label does not change it: once per item
        stage = "score"
        status, reason, scores = score(collected, draft, spec, client, embed, steering)
        while (status != "validated" and spec.refine and draft.rule is not None and len(rounds) < spec.refine_rounds
               and ledger.tokens() < spec.max_tokens_per_item):
            stage = "refine"
            revised, record = refine(collected, draft, client, ctx, forward_lock, spec.preset.induce)
            rounds.append(record)
            if revised is draft:  # the revision fitted the explain windows worse: keep the label and its scores
                break
            stage = "score"
            draft = revised
            status, reason, scores = score(collected, draft, spec, client, embed, steering)
            record.update(status=status, reason=reason)
    except LLMRefused:
        raise  # a bad key or model name stops the run (one line, exit 2)
    except LLMUnreachable as exc:
        if not llm.alive():
            raise  # the endpoint is down: stop the run; this item stays unfinished for --resume
        status, reason, transient = "failed", f"{stage}: {exc}", True  # one call timed out: only this item fails
    except LLMError as exc:  # a 5xx or a reply that never parsed: --resume tries the item again
        status, reason, transient = "failed", f"{stage}: {exc}", True
    except ToolError as exc:
        status, reason = "failed", f"{stage}: {exc}"
    return LabelRecord(item=collected.item, status=status, reason=reason, transient=transient,
                       label=draft.label if draft else None, rule=draft.rule if draft else None,
                       scores=[s.model_dump() for s in scores], rounds=rounds, fire_threshold=collected.fire_threshold,
                       frequency=collected.frequency, max_activation=collected.max, test=collected.test,
                       explain_windows=[w.window for w in collected.explain], llm_tokens=ledger.tokens(),
                       llm_calls=len(ledger.calls), seconds=round(time.perf_counter() - began, 2),
                       explainer=INDUCED_EXPLAINER if draft and draft.by == "induced" else spec.llm)
