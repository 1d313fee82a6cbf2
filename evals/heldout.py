"""Held-out texts for scoring descriptions against the true function: seeded, fixed, never seen.

Texts are cut from the corpus's eval documents: the describer reads only the explain split and
sleuth's own checks only the validation split, so no scoring text was seen by either. Per component, half of the texts contain a token where the clean function fires and
half are drawn from the rest, so a description is tested on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleuth.predicates import TokenView

POOL_WINDOWS = 400  # held-out windows cut into texts (each 64-token window gives two texts)
TEXT_TOKENS = 32


@dataclass
class HeldoutTexts:
    views: list[TokenView]  # what an LLM reads, token by token
    truth: list[list[bool]]  # the clean function, per token


def eval_window_ids(ctx, seed: int, n_windows: int = POOL_WINDOWS) -> np.ndarray:
    """A seeded sample of the eval split's windows (no describer or check reads that split)."""
    pool = np.flatnonzero(ctx.windows.mask("eval"))
    return np.sort(np.random.default_rng(seed).permutation(pool)[:n_windows])


def heldout_pool(ctx, seed: int, n_windows: int = POOL_WINDOWS, length: int = TEXT_TOKENS) -> list[TokenView]:
    """Seeded texts of `length` tokens from eval windows only."""
    views = []
    for row in ctx.windows.tokens[eval_window_ids(ctx, seed, n_windows)]:
        for start in range(0, len(row) - length + 1, length):
            views.append(TokenView(ctx.target.str_tokens(row[start:start + length])))
    return views


def texts_for(component, pool: list[TokenView], n: int, seed: int) -> HeldoutTexts:
    """n texts for one component: up to n/2 where its clean function fires, the rest where it does not."""
    truth = [[v > 0 for v in component.unit.clean(view)] for view in pool]
    firing = [i for i, t in enumerate(truth) if any(t)]
    quiet = [i for i, t in enumerate(truth) if not any(t)]
    rng = np.random.default_rng(seed)
    take_fire = min(len(firing), n // 2 if quiet else n)
    chosen = list(rng.choice(firing, size=take_fire, replace=False)) if take_fire else []
    rest = min(len(quiet), n - len(chosen))
    chosen += list(rng.choice(quiet, size=rest, replace=False)) if rest else []
    chosen = [int(i) for i in rng.permutation(chosen)]  # shuffled: the order says nothing about the answer
    return HeldoutTexts([pool[i] for i in chosen], [truth[i] for i in chosen])
