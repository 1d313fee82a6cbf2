"""intervention: a claimed effect re-measured on fresh prompts.

The caller re-runs the experiment behind a claim with new prompts (a new seed) and
passes the component's fresh value with the population it is ranked in (all heads,
say). The score is the component's percentile there: 1.0 = the strongest.
"""

from __future__ import annotations

from sleuth.scorers.registry import scorer


@scorer("intervention", "Percentile of the component's effect, re-measured on fresh prompts, among its peers.",
        needs=("fresh_value", "population"))
def intervention(fresh_value: float, population: list[float], **_) -> tuple[float, int, dict]:
    below = sum(v < fresh_value for v in population) + 0.5 * (sum(v == fresh_value for v in population) - 1)
    return below / max(len(population) - 1, 1), len(population), {"fresh_value": round(fresh_value, 4)}


@scorer("patch_recovery", "Share of the logit difference a component restores when patched alone, on a fresh prompt pair.",
        needs=("fresh_value",))
def patch_recovery(fresh_value: float, **_) -> tuple[float, int, dict]:
    return float(fresh_value), 1, {}
