"""top_activations: top-k corpus windows, quantile samples, non-activating samples and stats."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, Field

from sleuth.target import Site
from sleuth.tools.registry import ToolError, tool
from sleuth.tools.result import ToolOutput
from sleuth.tools.scan import scan, units_of


class TopActivationsArgs(BaseModel):
    sites: list[str] = Field(min_length=1, max_length=16,
                             description="Components (L3N100, blocks.2.attn.hook_z[4]) or whole sites (blocks.3.mlp.hook_post)")
    k: int = Field(8, ge=1, le=50)
    n_windows: int = Field(256, ge=8, le=50_000, description="Corpus windows to scan")
    split: Literal["explain", "heldout"] = "explain"
    n_quantiles: int = Field(4, ge=0, le=20)
    n_random: int = Field(4, ge=0, le=20)
    units_per_site: int = Field(5, ge=1, le=50, description="For whole sites: how many top units to report")


class Example(BaseModel):
    window: int
    document: str
    domain: str
    tokens: list[str]
    values: list[float]
    max_value: float
    kind: Literal["top", "quantile", "random"]


class ComponentReport(BaseModel):
    component: str
    frequency: float
    mean: float
    max: float
    histogram: list[int]  # of per-window maxima
    histogram_edges: list[float]
    examples: list[Example]


class TopActivationsOut(ToolOutput):
    windows_scanned: int
    components: list[ComponentReport]

    def about(self) -> list[tuple[str, str]]:  # each component, with its own summary line
        return [(c.component, line) for c, line in zip(self.components, self.summary.splitlines())]


def _pick(window_max: np.ndarray, k: int, n_q: int, n_r: int, seed: int) -> list[tuple[int, str]]:
    order = np.argsort(-window_max, kind="stable")
    chosen = [(int(i), "top") for i in order[:k]]
    active = order[window_max[order] > 0][k:]
    if n_q and len(active):
        for q in np.linspace(0, len(active) - 1, n_q).astype(int):
            chosen.append((int(active[q]), "quantile"))
    quiet = np.flatnonzero(window_max <= max(0.0, 0.01 * float(window_max.max())))
    if n_r and len(quiet):
        for i in np.random.default_rng(seed).choice(quiet, size=min(n_r, len(quiet)), replace=False):
            chosen.append((int(i), "random"))
    return chosen


def _examples(ctx, site: Site, unit: int, ids: np.ndarray, picks) -> list[Example]:
    if not picks:
        return []
    windows = ctx.windows
    rows = [ids[i] for i, _ in picks]
    tokens = torch.as_tensor(windows.tokens[rows], dtype=torch.long)
    whole = not site.is_component
    values = units_of(ctx.target.run(tokens, reads=[site], logits=False)[site])[..., unit if whole else 0]
    examples = []
    for (pos, kind), row, acts, toks in zip(picks, rows, values, tokens):
        doc = int(windows.doc_index[row])
        examples.append(Example(window=int(row), document=windows.doc_ids[doc], domain=windows.domains[doc],
                                tokens=ctx.target.str_tokens(toks), values=[round(float(v), 3) for v in acts],
                                max_value=round(float(acts.max()), 3), kind=kind))
    return examples


@tool("top_activations", "Scan corpus windows for many components at once: top-k, quantile and random examples, stats.")
def top_activations(args: TopActivationsArgs, ctx) -> TopActivationsOut:
    sites = [ctx.target.check_site(s) for s in args.sites]
    if any(s.hook == "attn.hook_pattern" for s in sites):
        raise ToolError("top_activations does not scan attn.hook_pattern; use attention_pattern or head_scan")
    scans = scan(ctx, sites, args.split, args.n_windows)
    reports = []
    for site in sites:
        s = scans[site]
        whole = not site.is_component
        units = np.argsort(-s.window_max.max(0))[: args.units_per_site] if whole else [0]
        for unit in units:
            col = s.window_max[:, unit]
            counts, edges = np.histogram(col, bins=16)
            name = site.with_index(int(unit)) if whole else site
            picks = _pick(col, args.k, args.n_quantiles, args.n_random, ctx.seed)
            reports.append(ComponentReport(
                component=str(name), frequency=round(float(s.frequency[unit]), 5), mean=round(float(s.mean[unit]), 5),
                max=round(float(col.max()), 4), histogram=counts.tolist(), histogram_edges=[round(float(e), 4) for e in edges],
                examples=_examples(ctx, site, int(unit), s.window_ids, picks)))
    lines = []
    for r in reports:
        top = next((e for e in r.examples if e.kind == "top"), None)
        where = ""
        if top:
            j = int(np.argmax(top.values))
            where = f"; top window ...{''.join(top.tokens[max(0, j - 6) : j])}[[{top.tokens[j]}]]..."
        lines.append(f"{Site.parse(r.component).short}: max {r.max:.3f}, above 0 on {100 * r.frequency:.1f}% of tokens{where}")
    return TopActivationsOut(summary="\n".join(lines), windows_scanned=int(len(scans[sites[0]].window_ids)),
                             components=reports)
