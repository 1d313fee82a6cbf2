"""replication: a claimed effect re-measured on fresh prompts; patch_recovery: a patched component's share.

The caller re-runs the experiment behind a claim with new prompts (a new seed) and
passes the component's fresh value with the population it is ranked in (all heads,
say). The score is its standing there: the share of peers not clearly above it (1.0 = none is;
peers within a tenth of the population's range count as level with it).
"""

from __future__ import annotations

from sleuth.predicates.fit import percentile_rank, standing
from sleuth.scorers.registry import ScoringInput, scorer


@scorer("replication", "Standing of the component's effect, re-measured on fresh prompts, among its peers.",
        needs=("fresh_value", "population"))
def replication(inp: ScoringInput) -> tuple[float, int, dict]:
    rank, _ = percentile_rank(inp.fresh_value, inp.population)
    return standing(inp.fresh_value, inp.population), len(inp.population), \
        {"fresh_value": round(inp.fresh_value, 4), "rank": rank}


@scorer("patch_recovery", "Share of the logit difference a component restores when patched alone, on a fresh prompt pair.",
        needs=("fresh_value",))
def patch_recovery(inp: ScoringInput) -> tuple[float, int, dict]:
    return float(inp.fresh_value), 1, {}
