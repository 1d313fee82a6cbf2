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
    seen: list[list[bool]] | None = None  # a unit with unseen members: per token, a member the describer could see

    @property
    def scores_unseen(self) -> bool:
        """The texts can score members never shown: some token fires that is not a seen member."""
        return self.seen is not None and any(t and not s for ts, ss in zip(self.truth, self.seen) for t, s in zip(ts, ss))

    def unseen_scope(self) -> list[list[bool]] | None:
        """Per token: not a seen member. Scored there alone, words earn credit only for members never shown
        (a token list of the seen members fires on none of it). None without an unseen split."""
        return None if self.seen is None else [[not s for s in marks] for marks in self.seen]


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
    """n texts for one component: up to n/2 where its clean function fires, the rest where it does not.
    A unit with unseen members gets half of its firing texts (where the pool has them) firing on those."""
    unit = component.unit
    truth = [[v > 0 for v in unit.clean(view)] for view in pool]
    firing = [i for i, t in enumerate(truth) if any(t)]
    quiet = [i for i, t in enumerate(truth) if not any(t)]
    rng = np.random.default_rng(seed)
    take_fire = min(len(firing), n // 2 if quiet else n)
    chosen = []
    if getattr(unit, "unseen", None):
        novel = [i for i in firing if any(t and u for t, u in zip(truth[i], unit.unseen_marks(pool[i])))]
        take = min(len(novel), take_fire // 2)
        chosen = list(rng.choice(novel, size=take, replace=False)) if take else []
        taken = set(chosen)
        firing = [i for i in firing if i not in taken]
        take_fire -= take
    chosen += list(rng.choice(firing, size=take_fire, replace=False)) if take_fire else []
    rest = min(len(quiet), n - len(chosen))
    chosen += list(rng.choice(quiet, size=rest, replace=False)) if rest else []
    chosen = [int(i) for i in rng.permutation(chosen)]  # shuffled: the order says nothing about the answer
    seen = [unit.seen_marks(pool[i]) for i in chosen] if getattr(unit, "unseen", None) else None
    return HeldoutTexts([pool[i] for i in chosen], [truth[i] for i in chosen], seen)
