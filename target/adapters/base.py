"""Adapter: the only code that knows HF module paths. Maps a Site to a hook point.

A hook point is a module's input or output (or one element of a tuple output).
`view` turns the raw tensor there into the site's canonical layout, as a *view*
so that edits made on it flow back into the raw tensor:

    resid / embed / attn_out / mlp_out / ln_final   [batch, pos, d_model]
    hook_q, hook_z                                  [batch, pos, n_heads, d_head]
    hook_k, hook_v                                  [batch, pos, n_kv_heads, d_head]
    hook_pattern                                    [batch, n_heads, q_pos, k_pos]
    mlp.hook_pre, mlp.hook_post                     [batch, pos, d_mlp]
    logits                                          [batch, pos, vocab]
"""

from __future__ import annotations

from typing import ClassVar, Literal, NamedTuple

import torch
from torch import nn

from sleuth.errors import SiteError
from sleuth.target.shape import ModelShape
from sleuth.target.site import Site


class HookPoint(NamedTuple):
    module: str  # dotted path from the HF model root
    io: Literal["input", "output"]
    item: int | None = None  # element of a tuple output


# hook name -> (module path relative to the block, io, tuple item)
HookTable = dict[str, tuple[str, Literal["input", "output"], int | None]]

READ_ONLY_HOOKS = {"attn.hook_pattern"}


class Adapter:
    """Base adapter; subclasses fill in paths and weight accessors."""

    arch: ClassVar[str]
    blocks_path: ClassVar[str]
    block_hooks: ClassVar[HookTable]
    global_hooks: ClassVar[HookTable]

    def __init__(self, model: nn.Module):
        self.model = model
        self.config = model.config
        self.shape = self.read_shape(self.config)

    # ---- shape -----------------------------------------------------------
    @classmethod
    def read_shape(cls, config) -> ModelShape:
        n_heads = config.num_attention_heads
        return ModelShape(
            arch=cls.arch,
            n_layers=config.num_hidden_layers,
            n_heads=n_heads,
            n_kv_heads=getattr(config, "num_key_value_heads", None) or n_heads,
            d_head=getattr(config, "head_dim", None) or config.hidden_size // n_heads,
            d_model=config.hidden_size,
            d_mlp=config.intermediate_size,
            vocab_size=config.vocab_size,
        )

    # ---- sites -----------------------------------------------------------
    def hookpoint(self, site: Site) -> HookPoint:
        if site.layer is None:
            path, io, item = self.global_hooks[site.hook]
            return HookPoint(path, io, item)
        if site.hook not in self.block_hooks:
            raise SiteError(f"site '{site.base}' does not exist on {self.arch} models")
        path, io, item = self.block_hooks[site.hook]
        return HookPoint(f"{self.blocks_path}.{site.layer}.{path}", io, item)

    def view(self, site: Site, raw: torch.Tensor) -> torch.Tensor:
        """The raw tensor at the hook point, seen in the site's canonical layout."""
        s = self.shape
        if site.hook in ("attn.hook_q", "attn.hook_z"):
            return raw.view(*raw.shape[:2], s.n_heads, s.d_head)
        if site.hook in ("attn.hook_k", "attn.hook_v"):
            return raw.view(*raw.shape[:2], s.n_kv_heads, s.d_head)
        return raw

    # ---- weights (for analysis tools) -----------------------------------
    def block(self, layer: int) -> nn.Module:
        return self.model.get_submodule(f"{self.blocks_path}.{layer}")

    def W_O(self, layer: int) -> torch.Tensor:
        """Output weights per head: [n_heads, d_head, d_model]."""
        raise NotImplementedError

    def b_O(self, layer: int) -> torch.Tensor:
        """Output bias: [d_model] (zeros when the model has none)."""
        raise NotImplementedError

    def final_norm(self) -> nn.Module:
        """The final normalisation module (what ln_final.hook_normalized reads)."""
        return self.model.get_submodule(self.global_hooks["ln_final.hook_normalized"][0])

    def frozen_final_norm(self, resid: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
        """`direction` through the final norm with its scale frozen at its value on `resid` (as TransformerLens
        does for direct logit attribution). RMS norm here (llama, qwen2, gemma3); LayerNorm models override."""
        gain = self.final_norm()(torch.ones(1, resid.shape[-1]))  # the elementwise gain
        return direction * gain / resid.pow(2).mean(-1, keepdim=True).sqrt()

    def W_U(self) -> torch.Tensor:
        """Unembedding: [d_model, vocab]."""
        return self.model.get_output_embeddings().weight.T

    def W_out(self, layer: int) -> torch.Tensor:
        """MLP output weights: [d_mlp, d_model]."""
        raise NotImplementedError

    def zero_head(self, layer: int, head: int) -> None:
        """Edit the weights: the head's query and output weights become zero (it attends uniformly, writes nothing)."""
        raise SiteError(f"zeroing a head's weights is not implemented for {self.arch} models")


@torch.no_grad()
def zero_rows(weight: torch.Tensor, bias: torch.Tensor | None, rows: slice) -> None:
    weight[rows] = 0
    if bias is not None:
        bias[rows] = 0


def frozen_layer_norm(norm: nn.LayerNorm, resid: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """LayerNorm's frozen form: centre, scale by the residual's standard deviation, apply the gain."""
    scaled = direction * norm.weight
    return (scaled - scaled.mean(-1, keepdim=True)) / resid.std(-1, unbiased=False, keepdim=True)


def linear_out_by_head(linear: nn.Linear, n_heads: int, d_head: int) -> torch.Tensor:
    """nn.Linear(n_heads*d_head -> d_model) weights as [n_heads, d_head, d_model]."""
    return linear.weight.T.reshape(n_heads, d_head, -1)


def bias_or_zeros(linear: nn.Module, width: int) -> torch.Tensor:
    bias = getattr(linear, "bias", None)
    return bias.detach() if bias is not None else torch.zeros(width)
