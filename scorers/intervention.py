"""intervention: a claimed effect re-measured on fresh prompts.

The caller re-runs the experiment behind a claim with new prompts (a new seed) and
passes the component's fresh value with the population it is ranked in (all heads,
say). The score is the component's percentile there: 1.0 = the strongest.
"""

from __future__ import annotations

from sleuth.scorers.registry import ScorerError, scorer


@scorer("intervention", "Percentile of the component's effect, re-measured on fresh prompts, among its peers.")
def intervention(fresh_value: float | None = None, population: list[float] | None = None,
                 **_) -> tuple[float, int, dict]:
    if fresh_value is None or not population:
        raise ScorerError("needs a re-measured effect and the population it is ranked in")
    below = sum(v < fresh_value for v in population) + 0.5 * (sum(v == fresh_value for v in population) - 1)
    return below / max(len(population) - 1, 1), len(population), {"fresh_value": round(fresh_value, 4)}


@scorer("patch_recovery", "Share of the logit difference a component restores when patched alone, on a fresh prompt pair.")
def patch_recovery(fresh_value: float | None = None, **_) -> tuple[float, int, dict]:
    if fresh_value is None:
        raise ScorerError("needs an exact patching result on a fresh prompt pair")
    return float(fresh_value), 1, {}
