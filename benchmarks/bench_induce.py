"""Code's rule search (predicates.induce) on the `find` suite, no LLM: held-out rule F1 per component.

Each planted unit is scanned as the agent scans it (its explain-split top windows, `explore_args`);
the search fits those windows only, and its best rule is scored against the true function on the
suite's held-out texts. Baseline in the same run: the rule a peak-token reader would write from the
same scan (`token_in` of the top windows' strongest tokens, the three commonest), so the ratio says
what the search adds over reading the peaks.
"""

import time
from collections import Counter

from sleuth.agent.neuron import explore_args
from sleuth.config import load_settings
from sleuth.evals.find import DEFAULT_SUITE, attach, rule_agreement
from sleuth.evals.heldout import heldout_pool, texts_for
from sleuth.predicates import load_suite
from sleuth.predicates.induce import induce
from sleuth.target import load_target
from sleuth.tools import ToolContext
from sleuth.tools.registry import run_tool

TEXTS = 12  # held-out texts per component, as `sleuth eval find` scores them
PEAKS = 3


def _mean(values) -> float:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else 0.0


def run() -> dict:
    settings = load_settings()
    components = load_suite(DEFAULT_SUITE)
    target = load_target(settings.model, settings.home)
    ctx = ToolContext(target=target, home=settings.home, corpus_spec=settings.corpus, seed=0)
    sites = attach(target, components, 0)
    pool = heldout_pool(ctx, 0)
    rows, search_seconds = [], 0.0
    for component in components:
        scan = run_tool("top_activations", explore_args(sites[component.name], settings.agent), ctx).data["components"][0]
        threshold = settings.agent.fire_fraction * max(scan["max"], 1e-6)
        windows = [(e["tokens"], e["values"]) for e in scan["examples"]]
        start = time.perf_counter()
        found = induce(windows, threshold, keep=1)
        search_seconds += time.perf_counter() - start
        held = texts_for(component, pool, TEXTS, 0)
        tops = [e for e in scan["examples"] if e["kind"] == "top"]
        strongest = (e["tokens"][max(range(len(e["values"])), key=e["values"].__getitem__)] for e in tops)
        peaks = [t for t, _ in Counter(t.strip().casefold() for t in strongest if t.strip()).most_common(PEAKS)]
        rows.append({"name": component.name, "category": component.category,
                     "induced": rule_agreement(found[0].rule, held) if found else 0.0,
                     "peak_tokens": rule_agreement({"token_in": peaks}, held) if peaks else 0.0,
                     "rule": found[0].rule if found else None})
    categories = sorted({r["category"] for r in rows})
    induced, baseline = _mean(r["induced"] for r in rows), _mean(r["peak_tokens"] for r in rows)
    return {"components": len(rows), "induced_rule_f1": induced, "peak_token_rule_f1": baseline,
            "ratio_induced_vs_peak_tokens": round(induced / baseline, 2) if baseline else None,
            "per_category": {c: {"induced": _mean(r["induced"] for r in rows if r["category"] == c),
                                 "peak_tokens": _mean(r["peak_tokens"] for r in rows if r["category"] == c)}
                             for c in categories},
            "search_ms_per_component": round(1000 * search_seconds / len(rows), 1),
            "below_0_5": [f"{r['name']}: {r['rule']}" for r in rows if r["induced"] < 0.5]}
