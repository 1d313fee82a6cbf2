"""GPT-NeoX adapter: query_key_value is interleaved per head as [q|k|v].

With parallel residual (the default), attention and MLP both read the block
input, so there is no hook_resid_mid.
"""

from __future__ import annotations

import torch

from sleuth.target.adapters.base import (Adapter, HookTable, bias_or_zeros, frozen_layer_norm, linear_out_by_head,
                                         zero_rows)
from sleuth.target.shape import ModelShape
from sleuth.target.site import Site

_QKV = {"attn.hook_q": 0, "attn.hook_k": 1, "attn.hook_v": 2}


class NeoXAdapter(Adapter):
    arch = "gpt_neox"
    blocks_path = "gpt_neox.layers"
    block_hooks: HookTable = {
        "hook_resid_pre": ("", "input", None),
        "attn.hook_q": ("attention.query_key_value", "output", None),
        "attn.hook_k": ("attention.query_key_value", "output", None),
        "attn.hook_v": ("attention.query_key_value", "output", None),
        "attn.hook_z": ("attention.dense", "input", None),
        "attn.hook_pattern": ("attention", "output", 1),
        "attn.hook_attn_out": ("attention", "output", 0),
        "hook_resid_mid": ("post_attention_layernorm", "input", None),
        "ln2.hook_normalized": ("mlp", "input", None),
        "mlp.hook_pre": ("mlp.dense_h_to_4h", "output", None),
        "mlp.hook_post": ("mlp.dense_4h_to_h", "input", None),
        "mlp.hook_mlp_out": ("mlp", "output", None),
        "hook_resid_post": ("", "output", None),
    }
    global_hooks: HookTable = {
        "hook_embed": ("gpt_neox.embed_in", "output", None),
        "ln_final.hook_normalized": ("gpt_neox.final_layer_norm", "output", None),
        "logits": ("lm_head", "output", None),
    }

    def __init__(self, model):
        super().__init__(model)
        if self.shape.parallel_residual:
            self.block_hooks = {k: v for k, v in self.block_hooks.items() if k != "hook_resid_mid"}

    @classmethod
    def read_shape(cls, config) -> ModelShape:
        shape = super().read_shape(config)
        return shape.model_copy(update={"parallel_residual": bool(config.use_parallel_residual)})

    def view(self, site: Site, raw: torch.Tensor) -> torch.Tensor:
        if site.hook in _QKV:
            s = self.shape
            per_head = raw.view(*raw.shape[:2], s.n_heads, 3 * s.d_head)
            i = _QKV[site.hook]
            return per_head[..., i * s.d_head : (i + 1) * s.d_head]
        return super().view(site, raw)

    def W_O(self, layer: int) -> torch.Tensor:
        dense = self.block(layer).attention.dense
        return linear_out_by_head(dense, self.shape.n_heads, self.shape.d_head)

    def b_O(self, layer: int) -> torch.Tensor:
        return bias_or_zeros(self.block(layer).attention.dense, self.shape.d_model)

    def W_out(self, layer: int) -> torch.Tensor:
        return self.block(layer).mlp.dense_4h_to_h.weight.T

    def frozen_final_norm(self, resid: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
        return frozen_layer_norm(self.final_norm(), resid, direction)

    def zero_head(self, layer: int, head: int) -> None:
        attn, d = self.block(layer).attention, self.shape.d_head
        qkv = attn.query_key_value  # per head [q|k|v]: the head's q rows come first in its block
        zero_rows(qkv.weight, qkv.bias, slice(head * 3 * d, head * 3 * d + d))
        zero_rows(attn.dense.weight.T, None, slice(head * d, (head + 1) * d))
