"""score: the configured scorers, by registry name, on the held-out test windows only."""

from __future__ import annotations

from sleuth.label.records import Collected, Draft
from sleuth.label.spec import LabelSpec
from sleuth.scorers.registry import ScoringInput, get_scorer
from sleuth.scorers.verdict import run_scorers, verdict


def _inputs(collected: Collected, draft: Draft, spec: LabelSpec, llm, embed) -> ScoringInput:
    examples = collected.scoring_examples()
    return ScoringInput(examples=examples, llm=llm, seed=spec.seed + collected.item.index, embed=embed, rule=draft.rule,
                        fire_threshold=collected.fire_threshold, batch=spec.preset.scorer_batch, limit=len(examples))


def _not_applicable(names: list[str], inputs: ScoringInput) -> dict[str, str]:
    """Scorers that need what a label run does not measure (a rule-less preset, an intervention).
    A judge's answers ("judged") come from the judge scorer run before them."""
    skip = {}
    for name in names:
        absent = [need for need in get_scorer(name).needs if need != "judged" and getattr(inputs, need) is None]
        if absent:
            skip[name] = f"a label run provides no {', '.join(absent)} for this scorer"
    return skip


def score(collected: Collected, draft: Draft, spec: LabelSpec, llm, embed) -> tuple[str, str | None, list]:
    """(status, reason, scores): validated only when every applicable scorer scored and passed."""
    inputs = _inputs(collected, draft, spec, llm, embed)
    names = spec.preset.scorers
    scores = run_scorers(names, inputs, description=draft.label, thresholds=spec.thresholds,
                         default_threshold=spec.default_threshold, skip=_not_applicable(names, inputs))
    status, reason = verdict(scores)
    return status, reason, scores
