"""SparseDictionary: one module for SAEs (standard, topk, jumprelu) and transcoders.

Numerics follow SAE-Lens exactly, so a dictionary read from SAE-Lens files encodes
and decodes the same numbers there and here:

    hidden_pre = (x - b_dec·[apply_b_dec_to_input]) @ W_enc + b_enc
    standard / transcoder: f = relu(hidden_pre)
    topk:                  f = relu(top-k of hidden_pre), others 0
    jumprelu:              f = relu(hidden_pre) · [hidden_pre > threshold]
    decode:                f @ W_dec + b_dec
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from sleuth.errors import SleuthError

Architecture = Literal["standard", "topk", "jumprelu", "transcoder"]
ARCHITECTURES: tuple[str, ...] = ("standard", "topk", "jumprelu", "transcoder")


class SaeError(SleuthError):
    """A dictionary that cannot be loaded or does not fit the model it is used on."""


class SaeConfig(BaseModel):
    """The SAE-Lens `cfg.json` fields sleuth uses; everything else rides in `extra`."""

    model_config = ConfigDict(extra="forbid")

    architecture: Architecture
    d_in: int = Field(gt=0)
    d_sae: int = Field(gt=0)
    d_out: int | None = None  # transcoders only
    k: int | None = None  # topk only
    dtype: str = "float32"
    apply_b_dec_to_input: bool = True
    normalize_activations: str = "none"
    reshape_activations: Literal["none", "hook_z"] = "none"
    rescale_acts_by_decoder_norm: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> "SaeConfig":
        if self.architecture == "topk" and not self.k:
            raise SaeError("a topk SAE needs k in cfg.json")
        if self.architecture == "transcoder":
            if not self.d_out:
                raise SaeError("a transcoder needs d_out in cfg.json")
            if self.apply_b_dec_to_input:
                raise SaeError("a transcoder cannot apply b_dec to its input (apply_b_dec_to_input must be false)")
        if self.normalize_activations != "none":
            raise SaeError(f"normalize_activations '{self.normalize_activations}' is not supported; "
                           "fold the scaling into the weights and save with 'none'")
        return self

    @property
    def width_out(self) -> int:
        return self.d_out or self.d_in

    @property
    def hook_name(self) -> str | None:
        return self.metadata.get("hook_name")

    @property
    def hook_name_out(self) -> str | None:
        return self.metadata.get("hook_name_out")

    @property
    def model_name(self) -> str | None:
        return self.metadata.get("model_name")

    @property
    def neuronpedia_id(self) -> str | None:
        return self.metadata.get("neuronpedia_id")


class SparseDictionary(nn.Module):
    def __init__(self, cfg: SaeConfig):
        super().__init__()
        self.cfg = cfg
        d_in, d_sae, d_out = cfg.d_in, cfg.d_sae, cfg.width_out
        self.W_enc = nn.Parameter(torch.zeros(d_in, d_sae))
        self.b_enc = nn.Parameter(torch.zeros(d_sae))
        self.W_dec = nn.Parameter(torch.zeros(d_sae, d_out))
        self.b_dec = nn.Parameter(torch.zeros(d_out))
        if cfg.architecture == "jumprelu":
            self.threshold = nn.Parameter(torch.zeros(d_sae))

    @property
    def d_sae(self) -> int:
        return self.cfg.d_sae

    @property
    def is_transcoder(self) -> bool:
        return self.cfg.architecture == "transcoder"

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        """hook_z SAEs read [.., heads, d_head] flattened to [.., heads·d_head]."""
        if x.shape[-1] != self.cfg.d_in and x.dim() >= 2 and x.shape[-2] * x.shape[-1] == self.cfg.d_in:
            return x.flatten(-2)
        return x

    def hidden_pre(self, x: torch.Tensor) -> torch.Tensor:
        x = self._flat(x).to(self.W_enc.dtype)
        if self.cfg.apply_b_dec_to_input:
            x = x - self.b_dec
        pre = x @ self.W_enc + self.b_enc
        if self.cfg.rescale_acts_by_decoder_norm:
            pre = pre * self.W_dec.norm(dim=-1)
        return pre

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.hidden_pre(x)
        arch = self.cfg.architecture
        if arch == "topk":
            values, indices = pre.topk(self.cfg.k, dim=-1, sorted=False)
            return torch.zeros_like(pre).scatter(-1, indices, values.relu())
        acts = pre.relu()
        if arch == "jumprelu":
            acts = acts * (pre > self.threshold).to(acts.dtype)
        return acts

    def decode(self, acts: torch.Tensor) -> torch.Tensor:
        if self.cfg.rescale_acts_by_decoder_norm:
            acts = acts / self.W_dec.norm(dim=-1)
        return acts @ self.W_dec + self.b_dec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def decoder_rows(self) -> torch.Tensor:
        """[d_sae, d_out]: what each latent writes (scaled as decode applies it)."""
        if self.cfg.rescale_acts_by_decoder_norm:
            return self.W_dec / self.W_dec.norm(dim=-1, keepdim=True)
        return self.W_dec
