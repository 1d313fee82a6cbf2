"""attribution_patch: the gradient approximation of activation patching, for every head or neuron.

attribution(c) = (clean_c - corrupt_c) . d metric / d c at the corrupt run, divided by
(clean metric - corrupt metric), so it estimates the normalised recovery of `patch`.
One corrupt forward+backward serves the whole sweep.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from sleuth.target import Edit, Site
from sleuth.tools.metrics import answer_ids, logit_diff
from sleuth.tools.patch import PairedPromptsArgs, paired_batches
from sleuth.tools.registry import ToolError, tool
from sleuth.tools.result import ToolOutput


class AttributionPatchArgs(PairedPromptsArgs):
    sweep: Literal["heads", "neurons"] = "heads"
    layers: list[int] | None = Field(None, description="Restrict to these layers (default: all)")
    top: int = Field(10, ge=1, le=200)


class AttributionPatchOut(ToolOutput):
    sweep: str
    labels: list[str]
    scores: list[float]
    grid_shape: list[int]
    clean_metric: float
    corrupt_metric: float


def attribution_scores(target, cb, xb, answer, foil, sites: list[Site]) -> tuple[list[torch.Tensor], float, float]:
    """Per-site attribution [units] (heads: per head; neurons: per neuron)."""
    clean = target.run(cb, reads=sites, last_only=True)
    corrupt = target.run(xb, reads=sites, last_only=True)
    clean_m = float(logit_diff(clean, cb, answer, foil).mean())
    corrupt_m = float(logit_diff(corrupt, xb, answer, foil).mean())
    if abs(clean_m - corrupt_m) < 1e-6:
        raise ToolError("clean and corrupt runs give the same metric; choose answers/foils that differ between them")
    leaves = {s: corrupt[s].clone().requires_grad_(True) for s in sites}
    out = target.run(xb, edits=[Edit(site=s, op="set", value=leaves[s]) for s in sites], grad=True, last_only=True)
    logit_diff(out, xb, answer, foil).mean().backward()
    scores = []
    for s in sites:
        delta = (clean[s] - corrupt[s]) * leaves[s].grad
        per_unit = delta.sum(dim=(0, 1)) if delta.dim() == 3 else delta.sum(dim=(0, 1, 3))
        scores.append(per_unit / (clean_m - corrupt_m))
    return scores, clean_m, corrupt_m


@tool("attribution_patch", "Gradient (attribution) patching of every head or neuron in one forward+backward; estimates patch recovery.")
def attribution_patch(args: AttributionPatchArgs, ctx) -> AttributionPatchOut:
    target = ctx.target
    layers = args.layers if args.layers is not None else list(range(target.shape.n_layers))
    hook = "attn.hook_z" if args.sweep == "heads" else "mlp.hook_post"
    sites = [target.check_site(Site(hook=hook, layer=layer)) for layer in layers]
    cb, xb = paired_batches(target, args.clean, args.corrupt)
    answer, foil = answer_ids(target, args.answers, len(cb)), answer_ids(target, args.foils, len(cb))
    per_site, clean_m, corrupt_m = attribution_scores(target, cb, xb, answer, foil, sites)
    labels, scores = [], []
    for site, values in zip(sites, per_site):
        for unit, value in enumerate(values.tolist()):
            labels.append(site.with_index(unit).short)
            scores.append(round(value, 5))
    best = sorted(zip(scores, labels), key=lambda x: -abs(x[0]))[: args.top]
    summary = (f"attribution patching over {len(scores)} {args.sweep}; clean {clean_m:.3f}, corrupt {corrupt_m:.3f}; "
               "largest: " + ", ".join(f"{lbl} {sc:+.2f}" for sc, lbl in best))
    return AttributionPatchOut(summary=summary, sweep=args.sweep, labels=labels, scores=scores,
                               grid_shape=[len(sites), len(per_site[0])], clean_metric=round(clean_m, 5),
                               corrupt_metric=round(corrupt_m, 5))
