"""SAE evaluation on held-out windows: L0, FVU, CE loss recovered, dead latents, density.

CE loss recovered = (CE_zero − CE_spliced) / (CE_zero − CE_clean), where the
spliced run replaces the site with the dictionary's reconstruction and the zero
run zero-ablates it (for a transcoder: the MLP output, from the MLP input).
Position 0 of every window is left untouched in every run: it is excluded from
training too (its norm is an outlier in most models).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from pydantic import BaseModel

from sleuth.sae.dictionary import SparseDictionary
from sleuth.target.hooks import site_hooks
from sleuth.target.site import Site

SKIP_FIRST = 1


class DensityHistogram(BaseModel):
    edges_log10: list[float]  # bin edges of log10(firing frequency)
    counts: list[int]
    never_fired: int


class SaeEvaluation(BaseModel):
    sae: str
    site: str
    architecture: str
    d_sae: int
    tokens: int
    l0: float
    fvu: float
    ce_clean: float
    ce_spliced: float
    ce_zero_ablation: float
    ce_loss_recovered: float
    dead_fraction: float
    density: DensityHistogram


def _ce(logits: torch.Tensor, ids: torch.Tensor) -> float:
    return float(torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1).float(), ids[:, 1:].flatten()))


def _replace(fn):
    def hook(flat):
        new = flat.clone()
        new[:, SKIP_FIRST:] = fn(flat[:, SKIP_FIRST:])
        return new
    return hook


def evaluate_dictionary(target, sae: SparseDictionary, site_in: Site, rows: np.ndarray, name: str = "",
                        batch_windows: int = 16, progress=None) -> SaeEvaluation:
    """Evaluate `sae` (reading `site_in`) on token `rows` (held-out windows)."""
    site_out = Site(hook="mlp.hook_mlp_out", layer=site_in.layer) if sae.is_transcoder else site_in
    fired = torch.zeros(sae.d_sae)
    sums = {"l0": 0.0, "err": 0.0, "x2": 0.0, "tokens": 0}
    ce = {"clean": 0.0, "spliced": 0.0, "zero": 0.0}
    xsum = None
    batches = range(0, len(rows), batch_windows)
    for n, start in enumerate(batches):
        ids = torch.as_tensor(rows[start : start + batch_windows], dtype=torch.long)
        acts: dict = {}
        reads = {site: (lambda flat, site=site: acts.__setitem__(site, flat) or None) for site in (site_in, site_out)}
        with torch.no_grad():
            with site_hooks(target, reads):  # the clean run also supplies the activations
                clean = target.model(input_ids=ids).logits
            x_in = acts[site_in][:, SKIP_FIRST:].float()
            x_out = acts[site_out][:, SKIP_FIRST:].float().flatten(0, 1)
            latents = sae.encode(x_in).flatten(0, 1)
            recon = sae.decode(latents)
            if sae.is_transcoder:  # the MLP output is replaced by the transcoder's reading of the MLP input
                stash: dict = {}
                splice = {site_in: lambda flat: stash.__setitem__("x", flat[:, SKIP_FIRST:]) or None,
                          site_out: _replace(lambda f: sae(stash["x"]).reshape(f.shape))}
            else:
                splice = {site_in: _replace(lambda f: sae(f).reshape(f.shape))}
            with site_hooks(target, splice):
                spliced = target.model(input_ids=ids).logits
            with site_hooks(target, {site_out: _replace(torch.zeros_like)}):
                zeroed = target.model(input_ids=ids).logits
        fired += (latents > 0).float().sum(0)
        sums["l0"] += float((latents > 0).float().sum())
        sums["err"] += float((recon - x_out).pow(2).sum())
        sums["x2"] += float(x_out.pow(2).sum())
        xsum = x_out.sum(0) if xsum is None else xsum + x_out.sum(0)
        sums["tokens"] += len(x_out)
        for key, logits in (("clean", clean), ("spliced", spliced), ("zero", zeroed)):
            ce[key] += _ce(logits, ids) * len(ids)
        if progress is not None:
            progress(n + 1, len(batches))
    tokens = sums["tokens"]
    variance = sums["x2"] - float(xsum.pow(2).sum()) / tokens
    ce = {k: v / len(rows) for k, v in ce.items()}
    recovered = (ce["zero"] - ce["spliced"]) / (ce["zero"] - ce["clean"]) if ce["zero"] != ce["clean"] else float("nan")
    return SaeEvaluation(
        sae=name, site=str(site_in), architecture=sae.cfg.architecture, d_sae=sae.d_sae, tokens=tokens,
        l0=sums["l0"] / tokens, fvu=sums["err"] / max(variance, 1e-12), ce_clean=ce["clean"],
        ce_spliced=ce["spliced"], ce_zero_ablation=ce["zero"], ce_loss_recovered=recovered,
        dead_fraction=float((fired == 0).float().mean()), density=_density(fired / tokens))


def _density(freq: torch.Tensor) -> DensityHistogram:
    alive = freq[freq > 0].numpy()
    edges = np.linspace(-6, 0, 13)
    counts, _ = np.histogram(np.log10(np.clip(alive, 1e-6, 1.0)), bins=edges)
    return DensityHistogram(edges_log10=[round(float(e), 2) for e in edges], counts=[int(c) for c in counts],
                            never_fired=int((freq == 0).sum()))


def random_baseline(sae: SparseDictionary, seed: int = 0) -> SparseDictionary:
    """A dictionary of random unit directions with the same width, L0 rule, biases and decoder norms.

    Each latent reads the projection on its direction (scaled by 1/norm) and writes it
    back along that direction, so a TopK code keeps the k best-aligned random directions:
    the baseline shows what training buys over random structure of the same size.
    """
    gen = torch.Generator().manual_seed(seed)
    rand = SparseDictionary(sae.cfg.model_copy(deep=True))
    with torch.no_grad():
        directions = torch.randn(sae.d_sae, sae.cfg.width_out, generator=gen)
        directions = directions / directions.norm(dim=-1, keepdim=True)
        rand.W_dec.copy_(directions * sae.W_dec.norm(dim=-1, keepdim=True))
        rand.b_dec.copy_(sae.b_dec)
        if sae.is_transcoder:  # input and output spaces differ: read along independent random directions
            rand.W_enc.copy_(torch.randn(rand.W_enc.shape, generator=gen) / math.sqrt(sae.cfg.d_in))
        else:
            rand.W_enc.copy_(directions.T / sae.W_dec.norm(dim=-1).clamp(min=1e-6))
        rand.b_enc.zero_()
        if hasattr(rand, "threshold"):
            rand.threshold.copy_(sae.threshold)
    return rand.eval().requires_grad_(False)
