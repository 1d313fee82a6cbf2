"""Streaming corpus scan: one forward per batch serves every unit of every site asked for.

Per site it keeps the max activation of every unit in every window plus token
statistics (firing count, sum, max), and caches the result on disk, keyed by
model, site, corpus checksum, split, window count and seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sleuth.atomic_files import load_arrays, save_arrays_atomically
from sleuth.corpus.windows import EVAL_PERCENT
from sleuth.target import Site, Target
from sleuth.tools.registry import ToolError

BATCH = 16
CACHED = ("window_ids", "window_max", "fire_count", "total", "tokens")


@dataclass
class SiteScan:
    window_ids: np.ndarray  # [n] indices into ctx.windows
    window_max: np.ndarray  # [n, units]
    fire_count: np.ndarray  # [units] tokens with activation > 0
    total: np.ndarray  # [units] sum of activations
    tokens: int

    @property
    def frequency(self) -> np.ndarray:
        return self.fire_count / max(self.tokens, 1)

    @property
    def mean(self) -> np.ndarray:
        return self.total / max(self.tokens, 1)


def whole_site(target, text: str, tool_name: str, synthetic_ok: bool = False):
    """A checked site that is a whole vector site (not one component, not a pattern).
    synthetic_ok: a synthetic unit counts as a site of one unit."""
    site = target.check_site(text)
    if site.name is not None:
        if synthetic_ok:
            return site
        raise ToolError(f"{tool_name} needs a site of the model; {site} is a synthetic component "
                        "(read it with activations, top_activations or contrast_units)")
    if site.index is not None or site.direction is not None or site.hook == "attn.hook_pattern":
        raise ToolError(f"{tool_name} needs a whole vector site such as {site.base}, not one component")
    return site


def units_of(value: torch.Tensor) -> torch.Tensor:
    """[batch, pos, units]: scalar components gain a unit axis; head vectors become norms."""
    if value.dim() == 2:
        return value.unsqueeze(-1)
    if value.dim() == 4:
        return value.norm(dim=-1)
    return value


def scan_windows(ctx, split: str, n_windows: int, withheld=None) -> tuple[np.ndarray, np.ndarray]:
    """(global window ids, tokens [n, length]): a seeded sample of one split, all domains mixed.
    `withheld(tokens as text pieces) -> bool` leaves windows out (a synthetic unit's unseen members)."""
    windows = ctx.windows
    order = np.random.default_rng(ctx.seed).permutation(np.flatnonzero(windows.mask(split)))
    if withheld is None:
        ids = order[:n_windows]
    else:  # read in the seeded order until enough windows pass
        ids = np.asarray([i for i in _passing(ctx, order, withheld, n_windows)], dtype=order.dtype)
    ids = np.sort(ids)
    return ids, windows.tokens[ids]


def _passing(ctx, order: np.ndarray, withheld, n_windows: int):
    kept = 0
    for i in order:
        if kept >= n_windows:
            return
        if not withheld(ctx.target.str_tokens(torch.as_tensor(ctx.windows.tokens[i]))):
            kept += 1
            yield int(i)


def withheld_from(ctx, site: Site, split: str):
    """What a scan of `site` on `split` must not read: a synthetic unit's unseen members, on every split but eval."""
    if site.name is None or split == "eval":
        return None
    unit = ctx.target.synthetic[site.name]
    return unit.withheld if getattr(unit, "unseen", None) else None


def _cache_path(ctx, site: Site, split: str, n: int) -> Path:
    weights = ctx.target.sae_fingerprints.get(site.sae, "") if site.sae else ""
    if site.name is not None:  # a synthetic unit: its rule (and whether windows are withheld from it) keys the cache
        weights = ctx.target.synthetic[site.name].fingerprint + ("|withheld" if withheld_from(ctx, site, split) else "")
    key = f"{ctx.target.name}|{site}|{weights}|{ctx.corpus.checksum}|{split}/{EVAL_PERCENT}|{n}|{ctx.window_length}|{ctx.seed}"
    return ctx.cache_dir / f"scan-{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"


def scan(ctx, sites: list[Site], split: str = "explain", n_windows: int = 256, progress=None,
         _apart: bool = False) -> dict[Site, SiteScan]:
    """Scan corpus windows once for all `sites`, reusing cached scans."""
    target: Target = ctx.target
    apart = [] if _apart else [s for s in sites if withheld_from(ctx, s, split) is not None]
    if apart:  # each unit with withheld windows reads its own sample; the rest share one
        result = {s: scan(ctx, [s], split, n_windows, progress, _apart=True)[s] for s in apart}
        rest = [s for s in sites if s not in apart]
        return {**result, **(scan(ctx, rest, split, n_windows, progress) if rest else {})}
    ids, tokens_all = scan_windows(ctx, split, n_windows, withheld_from(ctx, sites[0], split) if _apart else None)
    result: dict[Site, SiteScan] = {}
    todo = []
    for site in sites:
        d = load_arrays(_cache_path(ctx, site, split, len(ids)), CACHED)
        if d is None:
            todo.append(site)
        else:
            result[site] = SiteScan(d["window_ids"], d["window_max"], d["fire_count"], d["total"], int(d["tokens"]))
    if not todo:
        return result
    maxes = {s: [] for s in todo}
    fire = {s: 0 for s in todo}
    total = {s: 0 for s in todo}
    for start in range(0, len(ids), BATCH):
        batch = torch.as_tensor(tokens_all[start : start + BATCH], dtype=torch.long)
        out = target.run(batch, reads=todo, logits=False)
        for site in todo:
            acts = units_of(out[site]).float()
            maxes[site].append(acts.amax(dim=1).numpy())
            fire[site] = fire[site] + (acts > 0).sum(dim=(0, 1)).numpy()
            total[site] = total[site] + acts.sum(dim=(0, 1)).numpy()
        if progress is not None:
            progress(min(start + BATCH, len(ids)), len(ids))
    tokens = int(tokens_all.size)
    for site in todo:
        scan_result = SiteScan(ids, np.concatenate(maxes[site]), np.asarray(fire[site]), np.asarray(total[site]), tokens)
        save_arrays_atomically(_cache_path(ctx, site, split, len(ids)), window_ids=ids, window_max=scan_result.window_max,
                         fire_count=scan_result.fire_count, total=scan_result.total, tokens=tokens)
        result[site] = scan_result
    return result
