"""GPT-2 adapter: fused c_attn (q|k|v) and Conv1D weights stored [in, out]."""

from __future__ import annotations

import torch

from sleuth.target.adapters.base import Adapter, HookTable, frozen_layer_norm, zero_rows
from sleuth.target.shape import ModelShape
from sleuth.target.site import Site

_QKV = {"attn.hook_q": 0, "attn.hook_k": 1, "attn.hook_v": 2}


class GPT2Adapter(Adapter):
    arch = "gpt2"
    blocks_path = "transformer.h"
    block_hooks: HookTable = {
        "hook_resid_pre": ("", "input", None),
        "attn.hook_q": ("attn.c_attn", "output", None),
        "attn.hook_k": ("attn.c_attn", "output", None),
        "attn.hook_v": ("attn.c_attn", "output", None),
        "attn.hook_z": ("attn.c_proj", "input", None),
        "attn.hook_pattern": ("attn", "output", 1),
        "attn.hook_attn_out": ("attn", "output", 0),
        "hook_resid_mid": ("ln_2", "input", None),
        "ln2.hook_normalized": ("mlp", "input", None),
        "mlp.hook_pre": ("mlp.c_fc", "output", None),
        "mlp.hook_post": ("mlp.c_proj", "input", None),
        "mlp.hook_mlp_out": ("mlp", "output", None),
        "hook_resid_post": ("", "output", 0),
    }
    global_hooks: HookTable = {
        "hook_embed": ("transformer.wte", "output", None),
        "ln_final.hook_normalized": ("transformer.ln_f", "output", None),
        "logits": ("lm_head", "output", None),
    }

    @classmethod
    def read_shape(cls, config) -> ModelShape:
        return ModelShape(
            arch=cls.arch,
            n_layers=config.n_layer,
            n_heads=config.n_head,
            n_kv_heads=config.n_head,
            d_head=config.n_embd // config.n_head,
            d_model=config.n_embd,
            d_mlp=config.n_inner or 4 * config.n_embd,
            vocab_size=config.vocab_size,
        )

    def view(self, site: Site, raw: torch.Tensor) -> torch.Tensor:
        if site.hook in _QKV:
            d = self.shape.d_model
            part = raw[..., _QKV[site.hook] * d : (_QKV[site.hook] + 1) * d]
            return part.view(*raw.shape[:2], self.shape.n_heads, self.shape.d_head)
        return super().view(site, raw)

    def W_O(self, layer: int) -> torch.Tensor:
        c_proj = self.block(layer).attn.c_proj  # Conv1D: weight is [in, out]
        return c_proj.weight.reshape(self.shape.n_heads, self.shape.d_head, -1)

    def b_O(self, layer: int) -> torch.Tensor:
        return self.block(layer).attn.c_proj.bias.detach()

    def W_out(self, layer: int) -> torch.Tensor:
        return self.block(layer).mlp.c_proj.weight

    def frozen_final_norm(self, resid: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
        return frozen_layer_norm(self.final_norm(), resid, direction)

    def zero_head(self, layer: int, head: int) -> None:
        attn, d = self.block(layer).attn, self.shape.d_head
        rows = slice(head * d, (head + 1) * d)  # q is the first d_model outputs of c_attn (Conv1D: [in, out])
        zero_rows(attn.c_attn.weight.T, attn.c_attn.bias, rows)
        zero_rows(attn.c_proj.weight, None, rows)
