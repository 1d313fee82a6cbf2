"""score: the configured scorers, by registry name, on the held-out test windows only."""

from __future__ import annotations

from sleuth.label.records import Collected, Draft
from sleuth.label.spec import LabelSpec
from sleuth.scorers.examples import SteeredText
from sleuth.scorers.registry import ScoringInput, get_scorer
from sleuth.scorers.verdict import run_scorers, verdict


Steering = list[SteeredText] | str | None  # label.intervene.measure: the samples, why there are none, or not asked


def _inputs(collected: Collected, draft: Draft, spec: LabelSpec, llm, embed, steering: Steering) -> ScoringInput:
    examples = collected.scoring_examples()
    return ScoringInput(description=draft.label, examples=examples, llm=llm, seed=spec.seed + collected.item.index,
                        embed=embed, rule=draft.rule,
                        fire_threshold=collected.fire_threshold, batch=spec.preset.scorer_batch, limit=len(examples),
                        steering=steering if isinstance(steering, list) else None)


def _not_applicable(names: list[str], inputs: ScoringInput, steering: Steering) -> dict[str, str]:
    """Scorers that need what a label run does not measure (a rule-less preset; steering a head or a
    synthetic unit). A judge's answers ("judged") come from the judge scorer run before them."""
    skip = {}
    for name in names:
        absent = [need for need in get_scorer(name).needs if need != "judged" and getattr(inputs, need) is None]
        if "steering" in absent and isinstance(steering, str):
            skip[name] = steering
        elif absent:
            skip[name] = f"a label run provides no {', '.join(absent)} for this scorer"
    return skip


def score(collected: Collected, draft: Draft, spec: LabelSpec, llm, embed,
          steering: Steering = None) -> tuple[str, str | None, list]:
    """(status, reason, scores): validated only when every applicable scorer scored and passed."""
    inputs = _inputs(collected, draft, spec, llm, embed, steering)
    names = spec.preset.scorers
    scores = run_scorers(names, inputs, description=draft.label, thresholds=spec.thresholds,
                         default_threshold=spec.default_threshold, skip=_not_applicable(names, inputs, steering),
                         exact_first=spec.exact_first)
    status, reason = verdict(scores)
    if status == "validated" and not any(get_scorer(s.scorer).reads_words for s in scores if s.status == "scored"):
        # validated means the words were checked: rule alone (the words' scorer not applicable) is not enough
        status, reason = "failed", "no configured scorer that reads the words could score this label"
    return status, reason, scores
