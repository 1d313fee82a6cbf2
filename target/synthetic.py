"""Synthetic components on a target: units whose values come from a rule on the tokens.

The target knows them only through this protocol, so it imports nothing above it;
`sleuth.predicates` provides the usual implementation (ground-truth suites).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch


class SyntheticUnit(Protocol):
    fingerprint: str  # changes whenever the unit's function changes (keys cached scans)

    def activations(self, tokens: list[str]) -> list[float]:
        """One value per token of a text, given as the tokenizer's pieces."""

    # optional: `unseen` (members no describer may see fire) and `withheld(tokens) -> bool`, a text holding one;
    # scans of every split but eval leave such windows out (tools.scan)


def synthetic_values(unit: SyntheticUnit, batch, str_tokens: Callable[[torch.Tensor], list[str]]) -> torch.Tensor:
    """[batch, pos] values of `unit` on a right-padded batch (0 on padding)."""
    out = torch.zeros(batch.input_ids.shape, dtype=torch.float32)
    for row, length in enumerate(batch.lengths.tolist()):
        if length:
            values = unit.activations(str_tokens(batch.input_ids[row, :length]))
            out[row, :length] = torch.tensor(values, dtype=torch.float32)
    return out
