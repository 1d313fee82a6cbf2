"""What an SAE architecture is: its encoder, its extra parameters, its checks and its training recipe.

Numerics follow SAE-Lens exactly, so a dictionary read from SAE-Lens files encodes the same numbers:

    x'         = x - b_dec·[apply_b_dec_to_input]
    hidden_pre = x' @ W_enc + b_enc     (times ‖W_dec row‖ when rescale_acts_by_decoder_norm)
    decode:      f @ W_dec + b_dec
"""

from __future__ import annotations

from typing import ClassVar

import torch


class Architecture:
    name: ClassVar[str]
    default_lr: ClassVar[float] = 1e-3
    default_sparsity: ClassVar[float] = 0.0  # the coefficient of its sparsity penalty, when it has one
    sparsity_penalty: ClassVar[str] = ""  # what --sparsity weighs ("L1", "L0"), "" when it has none
    transcoder: ClassVar[bool] = False  # reads the MLP input, writes the MLP output
    has_b_enc: ClassVar[bool] = True

    def extra_parameters(self, cfg) -> dict[str, tuple[int, ...]]:
        """Parameters beyond W_enc, b_enc, W_dec and b_dec, with their shapes."""
        return {}

    def check(self, cfg) -> None:
        """Raise SaeError when cfg.json cannot describe this architecture."""

    def activate(self, pre: torch.Tensor, sae) -> torch.Tensor:
        """Latent activations from hidden_pre."""
        return pre.relu()

    def encode(self, x: torch.Tensor, sae) -> torch.Tensor:
        """Latent activations from the preprocessed input x' (most architectures go through hidden_pre)."""
        pre = x @ sae.W_enc + sae.b_enc
        if sae.cfg.rescale_acts_by_decoder_norm:
            pre = pre * sae.W_dec.norm(dim=-1)
        return self.activate(pre, sae)

    def training_config(self, common: dict, k: int | None, sparsity: float):
        """The sae_lens TrainingSAEConfig that trains it (None: sleuth trains it itself)."""
        return None
