"""rule: the description's executable rule, scored exactly on held-out windows (no LLM).

The value is the token-level F1 of "the rule holds" against "the component fires" (activation
at or above the unit's own threshold); precision, recall and the correlation of the rule's
values with the real activations (the simulation score, computed exactly) are in the details.
Cheap and exact, so it runs first.
"""

from __future__ import annotations

from sleuth.predicates import PredicateError, parse_predicate
from sleuth.predicates.fit import fit
from sleuth.scorers.registry import ScorerError, ScoringInput, scorer


def stored_rule(rule):
    """A rule as stored (plain data) or already parsed; ScorerError if it is not a predicate."""
    try:
        return parse_predicate(rule) if isinstance(rule, dict) else rule
    except PredicateError as exc:
        raise ScorerError(f"the stored rule is not a predicate: {exc}") from None


@scorer("rule", "Token-level F1 of the description's rule against real firing on held-out windows (exact, no LLM).",
        needs=("rule", "examples", "fire_threshold"))
def rule(inp: ScoringInput) -> tuple[float, int, dict]:
    result = fit(stored_rule(inp.rule), [(e.tokens, e.values) for e in inp.examples], inp.fire_threshold)
    return result.f1, len(inp.examples), result.model_dump(exclude={"f1", "texts"})
