"""From scores to a status: every configured scorer, in order, then one verdict with every problem named.

Shared by the agent's validation and `sleuth label`, so "validated" means the same everywhere.
"""

from __future__ import annotations

from sleuth.scorers.registry import Score, ScoringInput, get_scorer, not_applicable, run_scorer


def run_scorers(names: list[str], inputs: ScoringInput, description: str, thresholds: dict[str, float],
                default_threshold: float = 0.5, skip: dict[str, str] | None = None,
                exact_first: bool = False) -> list[Score]:
    """Every configured scorer, in order; the judge's answers reach the scorers that compare with them.
    `skip` names scorers that do not apply here, with why (stored as not_applicable, never dropped).
    exact_first: once a scorer that measures behaviour alone (rule, replication, attention_rule) has
    failed, the scorers that read the words are not run (stored as unscored, with why): the
    description is rejected whatever they would say, and they are the ones that cost LLM calls."""
    inputs = inputs.model_copy(update={"description": description})
    scores, rejected_by = [], None
    for name in names:
        threshold = thresholds.get(name, default_threshold)
        if name in (skip or {}):
            scores.append(not_applicable(name, threshold, skip[name]))
            continue
        if rejected_by and get_scorer(name).reads_words:
            scores.append(Score(scorer=name, status="unscored", threshold=threshold,
                                reason=f"not run: {rejected_by} already rejects the description"))
            continue
        score = run_scorer(name, threshold, inputs)
        if exact_first and not get_scorer(name).reads_words and score.status == "scored" and not score.passed:
            rejected_by = rejected_by or f"{name} {below(score.value, threshold)}"
        if "judged" in score.details and inputs.judged is None:
            inputs = inputs.model_copy(update={"judged": score.details["judged"]})
        scores.append(score)
    return scores


def below(value: float, threshold: float) -> str:
    """"0.64 < 0.65": two decimals, or as many more as it takes not to print a value equal to its threshold."""
    digits = 2
    while f"{value:.{digits}f}" == f"{threshold:.{digits}f}" and digits < 6:
        digits += 1
    return f"{value:.{digits}f} < {threshold}"


def _why(score: Score) -> str:
    if score.status != "scored":
        return f"{score.scorer} {score.status}: {score.reason or 'no reason given'}"
    if score.scorer == "words_match_rule":
        return f"words do not match the rule: a judge reading the words agreed with it on {below(score.value, score.threshold)}"
    if score.scorer == "read_back":
        return f"the words, read back as a rule, fit held-out firing at F1 {below(score.value, score.threshold)}"
    return f"{score.scorer} {below(score.value, score.threshold)}"


def verdict(scores: list[Score]) -> tuple[str, str | None]:
    """validated only when every configured scorer scored and passed; a real failing score rejects,
    a scorer that could not score fails the description. Every problem is in the reason."""
    scores = [s for s in scores if s.status != "not_applicable"]
    problems = [s for s in scores if s.status != "scored" or not s.passed]
    if not scores:
        return "failed", "no configured scorer applies"
    if not problems:
        return "validated", None
    status = "rejected" if any(s.status == "scored" for s in problems) else "failed"
    return status, "; ".join(_why(s) for s in problems)


def only_words_failed(scores: list[dict]) -> bool:
    """The behaviour held and only the words failed: some scorer that measures behaviour alone (rule,
    replication, attention_rule) scored and passed, and every failing scorer reads the words."""
    applied = [s for s in scores if s["status"] != "not_applicable"]
    failing = [s for s in applied if not s.get("passed")]
    behaviour_held = any(s["status"] == "scored" and s.get("passed") and not get_scorer(s["scorer"]).reads_words
                         for s in applied)
    return behaviour_held and bool(failing) and all(get_scorer(s["scorer"]).reads_words for s in failing)
