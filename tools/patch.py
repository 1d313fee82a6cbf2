"""patch: activation patching from clean into corrupted runs, swept over heads, layers or positions.

The metric is the logit difference (answer - foil) at the last token, normalised
so 0 = no effect (corrupt) and 1 = full recovery (clean).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, Field

from sleuth.target import Edit, Site
from sleuth.target.hooks import blocks_from, site_hooks
from sleuth.tools.metrics import answer_ids, logit_diff
from sleuth.tools.registry import ToolError, tool
from sleuth.tools.result import ToolOutput


class PairedPromptsArgs(BaseModel):
    """Clean/corrupt prompt pairs and the tokens whose logit difference is the metric."""

    clean: list[str] = Field(min_length=1, max_length=64)
    corrupt: list[str] = Field(min_length=1, max_length=64)
    answers: list[str] = Field(min_length=1, description="Correct next token (one per pair, or one for all)")
    foils: list[str] = Field(min_length=1, description="The corrupt run's answer (one per pair, or one for all)")


class PatchArgs(PairedPromptsArgs):
    sweep: Literal["heads", "layers", "positions", "sites"] = "heads"
    hook: str = Field("hook_resid_pre", description="Block hook for 'layers'/'positions' sweeps, e.g. hook_resid_pre, attn.hook_attn_out")
    sites: list[str] | None = Field(None, description="For sweep='sites': the sites or components to patch, each alone")


class PatchOut(ToolOutput):
    sweep: str
    labels: list[str]
    scores: list[float]  # normalised recovery per patched item (for positions: layers x positions, flattened)
    grid_shape: list[int]
    clean_metric: float
    corrupt_metric: float


def paired_batches(target, clean: list[str], corrupt: list[str]):
    if len(clean) != len(corrupt):
        raise ToolError(f"clean and corrupt must pair up: {len(clean)} clean vs {len(corrupt)} corrupt texts")
    cb, xb = target.tokenize(clean), target.tokenize(corrupt)
    if not torch.equal(cb.lengths, xb.lengths):
        bad = int((cb.lengths != xb.lengths).nonzero()[0])
        raise ToolError(f"pair {bad} tokenizes to different lengths ({int(cb.lengths[bad])} vs {int(xb.lengths[bad])}); "
                        "patching needs aligned tokens")
    return cb, xb


def sweep_sites(target, args) -> list[Site]:
    s = target.shape
    if args.sweep == "heads":
        return [Site(hook="attn.hook_z", layer=layer, index=h) for layer in range(s.n_layers) for h in range(s.n_heads)]
    if args.sweep == "sites":
        if not args.sites:
            raise ToolError("sweep='sites' needs a non-empty 'sites' list")
        return [target.check_site(x) for x in args.sites]
    return [target.check_site(Site(hook=args.hook, layer=layer)) for layer in range(s.n_layers)]


def normalised(metric: torch.Tensor, clean: float, corrupt: float) -> float:
    denom = clean - corrupt
    if abs(denom) < 1e-6:
        raise ToolError("clean and corrupt runs give the same metric; choose answers/foils that differ between them")
    return float((metric.mean() - corrupt) / denom)


def _head_sweep(target, cb, xb, clean_run, answer, foil, clean_m, corrupt_m) -> list[float]:
    """Exact patching of every head, one batched pass per layer that recomputes only blocks >= layer.

    Copy h of the corrupt batch gets head h's clean output. Blocks before the layer
    are the same in every copy, so their output (the corrupt run's resid_pre) is
    cached once and fed in; on average half the model is recomputed.
    """
    s = target.shape
    n_heads, b = s.n_heads, len(xb)
    zs = [Site(hook="attn.hook_z", layer=layer) for layer in range(s.n_layers)]
    pres = [Site(hook="hook_resid_pre", layer=layer) for layer in range(s.n_layers)]
    corrupt = target.run(xb, reads=zs + pres, last_only=True)
    ids, mask = xb.input_ids.repeat(n_heads, 1), xb.attention_mask.repeat(n_heads, 1)
    last = (xb.lengths - 1).repeat(n_heads)
    kept = torch.unique(last)
    rows, column = torch.arange(len(ids)), torch.searchsorted(kept, last)
    big_answer, big_foil = answer.repeat(n_heads), foil.repeat(n_heads) if foil is not None else None
    scores = []
    for layer in range(s.n_layers):
        z, pre = zs[layer], pres[layer]
        value = corrupt[z].repeat(n_heads, 1, 1, 1)
        for h in range(n_heads):
            value[h * b : (h + 1) * b, :, h] = clean_run[z][:, :, h]
        resid = corrupt[pre].repeat(n_heads, 1, 1)
        hooks = {pre: lambda flat: resid, z: lambda flat: value.flatten(2)}
        with torch.no_grad(), site_hooks(target, hooks), blocks_from(target, layer):
            logits = target.raw_logits(ids, mask, keep=kept)
        final = logits[rows, column]
        metric = final[rows, big_answer] - (final[rows, big_foil] if big_foil is not None else 0)
        scores += [normalised(metric[h * b : (h + 1) * b], clean_m, corrupt_m) for h in range(n_heads)]
    return scores


def _source_site(site: Site) -> Site:
    """What to read from the clean run: the whole hook point, or the direction / SAE latents themselves."""
    return site if site.direction is not None or site.sae is not None else site.base


@tool("patch", "Activation patching clean->corrupt over heads, layers, positions or given sites; 0 = no effect, 1 = full recovery.")
def patch(args: PatchArgs, ctx) -> PatchOut:
    target = ctx.target
    cb, xb = paired_batches(target, args.clean, args.corrupt)
    answer, foil = answer_ids(target, args.answers, len(cb)), answer_ids(target, args.foils, len(cb))
    sites = sweep_sites(target, args)
    clean_run = target.run(cb, reads=list({_source_site(s) for s in sites}), last_only=True)
    clean_m = float(logit_diff(clean_run, cb, answer, foil).mean())
    corrupt_m = float(logit_diff(target.run(xb, last_only=True), xb, answer, foil).mean())

    def patched(site: Site, positions=None) -> float:
        source = clean_run[_source_site(site)]
        whole = _source_site(site) != site.base
        value = source[:, :, site.index] if site.index is not None and not whole and site.hook != "attn.hook_pattern" else source
        if positions is not None:
            value = value[:, positions]
        edit = Edit(site=site, op="set", value=value, positions=positions)
        return normalised(logit_diff(target.run(xb, edits=[edit], last_only=True), xb, answer, foil), clean_m, corrupt_m)

    if args.sweep == "heads":
        scores = _head_sweep(target, cb, xb, clean_run, answer, foil, clean_m, corrupt_m)
        labels = [site.short for site in sites]
        grid = [target.shape.n_layers, target.shape.n_heads]
    elif args.sweep == "positions":
        width = int(cb.input_ids.shape[1])
        scores = [patched(site, [p]) for site in sites for p in range(width)]
        labels = [f"{site}@pos{p}" for site in sites for p in range(width)]
        grid = [len(sites), width]
    else:
        scores = [patched(site) for site in sites]
        labels = [site.short for site in sites]
        grid = [len(sites)]
    best = sorted(zip(scores, labels), reverse=True)[:5]
    summary = (f"patching {len(scores)} items ({args.sweep}); clean metric {clean_m:.3f}, corrupt {corrupt_m:.3f}; "
               "top recovery: " + ", ".join(f"{lbl} {sc:.2f}" for sc, lbl in best))
    return PatchOut(summary=summary, sweep=args.sweep, labels=labels, scores=[round(x, 5) for x in scores],
                    grid_shape=grid, clean_metric=round(clean_m, 5), corrupt_metric=round(corrupt_m, 5))
