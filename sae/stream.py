"""Activations streamed from corpus windows, with a forward that stops at the last site needed.

A stream is deterministic given its seed: windows come in a seeded order and each
forward batch is shuffled by its own seeded generator, so a resumed run can skip
straight to the token where it stopped without recomputing earlier batches.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from sleuth.target.hooks import site_hooks
from sleuth.target.site import Site


class _Stop(Exception):
    """Raised by the last capture hook: nothing after that site is needed."""


def capture(target, input_ids: torch.Tensor, sites: list[Site]) -> dict[Site, torch.Tensor]:
    """Flattened [batch, pos, width] activations at whole `sites`, running only as far as needed."""
    captured: dict[Site, torch.Tensor] = {}
    last = max(sites, key=lambda s: s.order)

    def store(site, flat):
        captured[site] = flat
        if site == last:
            raise _Stop

    with site_hooks(target, {s: (lambda flat, s=s: store(s, flat)) for s in sites}):
        try:
            with torch.no_grad():
                target.model(input_ids=input_ids)
        except _Stop:
            pass
    return captured


class ActivationStream:
    """Batches of (input, target) activation rows: target is None for an SAE, the MLP output for a transcoder."""

    def __init__(self, target, windows: np.ndarray, site_in: Site, site_out: Site | None = None,
                 batch_windows: int = 32, skip_first: int = 1, seed: int = 0):
        if len(windows) == 0:
            raise ValueError("no corpus windows to stream activations from")
        self.target = target
        self.windows = windows[np.random.default_rng(seed).permutation(len(windows))]
        self.site_in, self.site_out = site_in, site_out
        self.batch_windows = batch_windows
        self.skip_first = skip_first
        self.seed = seed

    @property
    def tokens_per_batch(self) -> int:
        return self.batch_windows * (self.windows.shape[1] - self.skip_first)

    @property
    def capacity(self) -> int:
        """Tokens available before the windows run out."""
        return (len(self.windows) // self.batch_windows) * self.tokens_per_batch

    def batch(self, index: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Forward batch `index`: shuffled rows [tokens_per_batch, width]."""
        start = index * self.batch_windows
        ids = torch.as_tensor(self.windows[start : start + self.batch_windows], dtype=torch.long)
        sites = [self.site_in] + ([self.site_out] if self.site_out is not None else [])
        acts = capture(self.target, ids, sites)
        order = torch.randperm(self.tokens_per_batch, generator=torch.Generator().manual_seed(self.seed * 100003 + index))
        rows = [acts[s][:, self.skip_first :].reshape(-1, acts[s].shape[-1])[order].float() for s in sites]
        return rows[0], (rows[1] if len(rows) > 1 else None)

    def rows(self, batch_size: int, start_token: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """Training batches of `batch_size` rows, starting `start_token` rows in."""
        index, offset = divmod(start_token, self.tokens_per_batch)
        pending_x: list[torch.Tensor] = []
        pending_y: list[torch.Tensor] = []
        while index * self.batch_windows + self.batch_windows <= len(self.windows):
            x, y = self.batch(index)
            pending_x.append(x[offset:])
            if y is not None:
                pending_y.append(y[offset:])
            offset = 0
            index += 1
            xs = torch.cat(pending_x)
            ys = torch.cat(pending_y) if pending_y else None
            while len(xs) >= batch_size:
                yield xs[:batch_size], (ys[:batch_size] if ys is not None else None)
                xs = xs[batch_size:]
                ys = ys[batch_size:] if ys is not None else None
            pending_x = [xs]
            pending_y = [ys] if ys is not None else []
