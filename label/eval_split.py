"""A finished label run scored on the eval split: documents that neither the explainer nor the run's own scoring
read (corpus/windows.py keeps them apart by document). Exact and without an LLM: each label's rule, and the
rule its words were read back as (kept by `read_back`), are scored on eval windows of the same unit, picked
as the run's test windows were (top, quantiles, quiet), at the unit's own firing threshold.

What a run reports (`labels.jsonl`) is measured on the validation split, where it also decided "validated";
this is the figure that decision did not see.
"""

from __future__ import annotations

from pydantic import BaseModel

from sleuth.label.collect import collect
from sleuth.label.outdir import FinishedRun
from sleuth.label.records import Collected, LabelRecord
from sleuth.predicates import PredicateError, parse_predicate
from sleuth.predicates.fit import fit
from sleuth.target import Site

CHUNK = 16  # units collected per batched forward pass, as in a label run


class EvalScore(BaseModel):
    index: int
    status: str  # the run's verdict (validated / rejected), made on the validation split
    rule: float | None = None  # the label's rule, token F1 on eval windows
    read_back: float | None = None  # the rule its words were read back as, token F1 on eval windows
    windows: list[int] = []  # the eval windows scored on
    documents: list[str] = []
    reason: str | None = None  # why a score is missing


def _f1(rule: dict | None, collected: Collected) -> float | None:
    if not rule:
        return None
    try:
        predicate = parse_predicate(rule)
    except PredicateError:
        return None
    return round(fit(predicate, [(w.tokens, w.values) for w in collected.test], collected.fire_threshold).f1, 4)


def _read_rule(record: LabelRecord) -> dict | None:
    score = record.score("read_back")
    return ((score or {}).get("details") or {}).get("read_rule") if (score or {}).get("status") == "scored" else None


def score_run(ctx, run: FinishedRun, site: Site) -> list[EvalScore]:
    """One EvalScore per labeled item of the run, in unit order."""
    labeled = [r for r in run.records if r.label is not None]
    out = []
    for start in range(0, len(labeled), CHUNK):
        chunk = labeled[start : start + CHUNK]
        collected = collect(ctx, run.spec, site, [r.item for r in chunk], test_split="eval")
        for record in chunk:
            c = collected[record.item.key]
            if isinstance(c, str):
                out.append(EvalScore(index=record.item.index, status=record.status, reason=c))
                continue
            out.append(EvalScore(index=record.item.index, status=record.status, rule=_f1(record.rule, c),
                                 read_back=_f1(_read_rule(record), c), windows=[w.window for w in c.test],
                                 documents=sorted({w.document for w in c.test})))
    return out


def summary(scores: list[EvalScore], thresholds: dict[str, float], default: float = 0.5) -> dict:
    """Means over the labels, and how many of the validated labels still pass every eval score they have
    (each at the run's own threshold for that scorer)."""
    def mean(values):
        values = [v for v in values if v is not None]
        return round(sum(values) / len(values), 4) if values else None

    def passes(s: EvalScore) -> bool:
        measured = {"rule": s.rule, "read_back": s.read_back}
        return all(v >= thresholds.get(k, default) for k, v in measured.items() if v is not None)

    validated = [s for s in scores if s.status == "validated"]
    return {"labels": len(scores), "mean_rule_eval": mean(s.rule for s in scores),
            "mean_read_back_eval": mean(s.read_back for s in scores), "validated": len(validated),
            "validated_mean_rule_eval": mean(s.rule for s in validated),
            "validated_mean_read_back_eval": mean(s.read_back for s in validated),
            "validated_still_pass": sum(passes(s) for s in validated)}
