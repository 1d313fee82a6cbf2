"""collect: per unit, explain windows from the explain split and test windows from held-out documents.

One cached corpus scan per split serves every unit of the site (tools.scan); the chosen windows
of a chunk of units are read in one batched forward pass, and each unit takes its own column.
"""

from __future__ import annotations

import numpy as np
import torch

from sleuth.agent.snippets import crop
from sleuth.label.items import Item
from sleuth.label.records import Bin, Collected, Window
from sleuth.label.spec import LabelSpec
from sleuth.target import Site
from sleuth.tools.scan import scan, units_of

BATCH = 16
QUIET = 0.01  # a window is non-activating when its max is at most this share of the unit's max ...
# ... or, for a dense unit with too few of those, below its firing threshold (fire_fraction of the max)


def _quantile_picks(col: np.ndarray, exclude: set[int], n: int, bins: int, rng) -> list[tuple[int, Bin]]:
    """n activating windows spread over `bins` equal-count activation quantiles (weakest bin 0), each with
    its bin's range of window peaks and its share of the activating windows (Neuronpedia's quantile fields)."""
    active = [int(i) for i in np.argsort(col, kind="stable") if col[i] > 0 and int(i) not in exclude]
    if not n or not active:
        return []
    picks = []
    for b, chunk in enumerate(np.array_split(np.asarray(active), bins)):
        take = min(len(chunk), -(-n // bins))
        if take:
            peaks = col[chunk]
            where = Bin(index=b, low=round(float(peaks.min()), 4), high=round(float(peaks.max()), 4),
                        share=round(len(chunk) / len(active), 4))
            picks += [(int(i), where) for i in rng.choice(chunk, size=take, replace=False)]
    return picks[:n]


def picks(col: np.ndarray, n_top: int, n_quantile: int, bins: int, n_random: int, seed: int,
          fire_fraction: float = 0.3) -> list[tuple[int, str, Bin | None]]:
    """(row, kind, quantile bin) of the windows one unit is shown or scored on."""
    rng = np.random.default_rng(seed)
    order = np.argsort(-col, kind="stable")
    top = [int(i) for i in order[:n_top] if col[i] > 0]
    chosen = [(i, "top", None) for i in top]
    chosen += [(i, "quantile", b) for i, b in _quantile_picks(col, set(top), n_quantile, bins, rng)]
    strongest = max(float(col.max()), 0.0)
    quiet = np.flatnonzero(col <= QUIET * strongest)
    if len(quiet) < n_random:
        quiet = np.flatnonzero(col < fire_fraction * strongest)
    if n_random and len(quiet):
        chosen += [(int(i), "random", None) for i in rng.choice(quiet, size=min(n_random, len(quiet)), replace=False)]
    return chosen


def _read(ctx, site: Site, rows: list[int], columns: list[int]) -> dict[int, np.ndarray]:
    """{window id: activations [tokens, len(columns)]} in one batched pass."""
    out = {}
    for start in range(0, len(rows), BATCH):
        ids = rows[start : start + BATCH]
        tokens = torch.as_tensor(ctx.windows.tokens[ids], dtype=torch.long)
        acts = units_of(ctx.target.run(tokens, reads=[site], logits=False)[site]).float()[..., columns].numpy()
        out.update({row: a for row, a in zip(ids, acts)})
    return out


def collect(ctx, spec: LabelSpec, site: Site, items: list[Item], test_split: str = "heldout") -> dict[str, Collected | str]:
    """{item key: its examples, or the reason it cannot be labeled (a unit that never fires)}.
    The test windows come from the validation split (`heldout`), or, to score a finished run, from `eval`."""
    p = spec.preset
    scans = {"explain": scan(ctx, [site], "explain", spec.explain_windows)[site],
             test_split: scan(ctx, [site], test_split, spec.heldout_windows)[site]}
    plan = {"explain": (p.explain_top, p.explain_quantile, p.quantiles, p.explain_quiet, p.explain_tokens),
            test_split: (p.test_top, p.test_quantile, p.quantiles, p.test_random, p.test_tokens)}
    chosen: dict[str, dict[str, list]] = {}
    results: dict[str, Collected | str] = {}
    for item in items:
        strongest = float(scans["explain"].window_max[:, item.index].max())
        if strongest <= 0:
            results[item.key] = f"never fires on the {len(scans['explain'].window_ids)} explain windows scanned"
            continue
        chosen[item.key] = {}
        for split, (top, quantile, bins, random, _) in plan.items():
            s = scans[split]
            rows = picks(s.window_max[:, item.index], top, quantile, bins, random, spec.seed + item.index,
                         spec.fire_fraction)
            chosen[item.key][split] = [(int(s.window_ids[r]), kind, q) for r, kind, q in rows]
    live = [i for i in items if i.key in chosen]
    columns = sorted({i.index for i in live})
    where = {u: j for j, u in enumerate(columns)}
    rows = sorted({w for key in chosen for split in chosen[key] for w, _, _ in chosen[key][split]})
    acts = _read(ctx, site, rows, columns) if rows else {}
    windows = ctx.windows
    for item in live:
        explain_max = float(scans["explain"].window_max[:, item.index].max())
        per_split = {}
        for split, picked in chosen[item.key].items():
            span = plan[split][4]
            per_split[split] = []
            for w, kind, q in picked:
                values = [round(float(v), 4) for v in acts[w][:, where[item.index]]]
                toks, vals = crop(ctx.target.str_tokens(windows.tokens[w]), values, span, seed=w)
                per_split[split].append(Window(window=w, document=windows.doc_ids[int(windows.doc_index[w])],
                                               split=split, kind=kind, quantile=q.index if q else None, bin=q,
                                               tokens=toks, values=vals))
        s = scans["explain"]
        results[item.key] = Collected(item=item, fire_threshold=round(spec.fire_fraction * explain_max, 4),
                                      frequency=round(float(s.frequency[item.index]), 6), max=round(explain_max, 4),
                                      explain=per_split["explain"], test=per_split[test_split])
    return results


def firing_counts(ctx, spec: LabelSpec, site: Site) -> dict[str, torch.Tensor]:
    """{hookpoint: explain tokens each unit of the site fired on} (the cached scan that collect read)."""
    counts = scan(ctx, [site], "explain", spec.explain_windows)[site].fire_count
    return {str(site): torch.as_tensor(np.asarray(counts), dtype=torch.long)}
