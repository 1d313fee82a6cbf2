"""Llama-family adapters: llama, qwen2 and gemma3 share one module layout."""

from __future__ import annotations

import torch

from sleuth.target.adapters.base import Adapter, HookTable, bias_or_zeros, linear_out_by_head, zero_rows

LLAMA_BLOCK: HookTable = {
    "hook_resid_pre": ("", "input", None),
    "attn.hook_q": ("self_attn.q_proj", "output", None),
    "attn.hook_k": ("self_attn.k_proj", "output", None),
    "attn.hook_v": ("self_attn.v_proj", "output", None),
    "attn.hook_z": ("self_attn.o_proj", "input", None),
    "attn.hook_pattern": ("self_attn", "output", 1),
    "attn.hook_attn_out": ("self_attn", "output", 0),
    "hook_resid_mid": ("post_attention_layernorm", "input", None),
    "ln2.hook_normalized": ("mlp", "input", None),
    "mlp.hook_pre": ("mlp.gate_proj", "output", None),
    "mlp.hook_post": ("mlp.down_proj", "input", None),
    "mlp.hook_mlp_out": ("mlp", "output", None),
    "hook_resid_post": ("", "output", None),
}
LLAMA_GLOBAL: HookTable = {
    "hook_embed": ("model.embed_tokens", "output", None),
    "ln_final.hook_normalized": ("model.norm", "output", None),
    "logits": ("lm_head", "output", None),
}


class LlamaAdapter(Adapter):
    arch = "llama"
    blocks_path = "model.layers"
    block_hooks = LLAMA_BLOCK
    global_hooks = LLAMA_GLOBAL

    def W_O(self, layer: int) -> torch.Tensor:
        o_proj = self.block(layer).self_attn.o_proj
        return linear_out_by_head(o_proj, self.shape.n_heads, self.shape.d_head)

    def b_O(self, layer: int) -> torch.Tensor:
        return bias_or_zeros(self.block(layer).self_attn.o_proj, self.shape.d_model)

    def W_out(self, layer: int) -> torch.Tensor:
        return self.block(layer).mlp.down_proj.weight.T

    def zero_head(self, layer: int, head: int) -> None:
        attn, d = self.block(layer).self_attn, self.shape.d_head
        rows = slice(head * d, (head + 1) * d)
        zero_rows(attn.q_proj.weight, attn.q_proj.bias, rows)
        zero_rows(attn.o_proj.weight.T, None, rows)  # o_proj columns: the head's slice of its input


class Qwen2Adapter(LlamaAdapter):
    arch = "qwen2"


class Gemma3Adapter(LlamaAdapter):
    """Gemma 3 normalises attention and MLP outputs before adding them back.

    hook_attn_out and hook_mlp_out are the raw sublayer outputs (before those
    norms), so heads still sum to hook_attn_out; hook_resid_mid is the input of
    the pre-feed-forward norm.
    """

    arch = "gemma3"
    block_hooks = {
        **LLAMA_BLOCK,
        "hook_resid_mid": ("pre_feedforward_layernorm", "input", None),
    }
