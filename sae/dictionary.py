"""SparseDictionary: one module for every SAE architecture and transcoders; what differs between them
(the encoder, extra parameters, checks) lives in the architecture's own file (sleuth.sae.architectures).
Numerics follow SAE-Lens exactly: a dictionary read from SAE-Lens files gives the same numbers here."""

from __future__ import annotations

from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from torch import nn

from sleuth.sae.architectures import get_architecture
from sleuth.sae.errors import SaeError

__all__ = ["SaeConfig", "SaeError", "SparseDictionary"]


class SaeConfig(BaseModel):
    """The SAE-Lens `cfg.json` fields sleuth uses; everything else rides in `extra`."""

    model_config = ConfigDict(extra="forbid")

    architecture: str  # a registered name (sleuth.sae.architectures)
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

    @field_validator("architecture")
    @classmethod
    def _known(cls, name: str) -> str:
        get_architecture(name)
        return name

    @model_validator(mode="after")
    def _check(self) -> "SaeConfig":
        get_architecture(self.architecture).check(self)
        if self.normalize_activations != "none":
            raise SaeError(f"normalize_activations '{self.normalize_activations}' is not supported; "
                           "fold the scaling into the weights and save with 'none'")
        return self

    @property
    def arch(self):
        return get_architecture(self.architecture)

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
        self.arch = cfg.arch
        self.W_enc = nn.Parameter(torch.zeros(d_in, d_sae))
        if self.arch.has_b_enc:
            self.b_enc = nn.Parameter(torch.zeros(d_sae))
        self.W_dec = nn.Parameter(torch.zeros(d_sae, d_out))
        self.b_dec = nn.Parameter(torch.zeros(d_out))
        for name, shape in self.arch.extra_parameters(cfg).items():
            setattr(self, name, nn.Parameter(torch.zeros(*shape)))

    @property
    def d_sae(self) -> int:
        return self.cfg.d_sae

    @property
    def is_transcoder(self) -> bool:
        return self.arch.transcoder

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        """hook_z SAEs read [.., heads, d_head] flattened to [.., heads·d_head]."""
        if x.shape[-1] != self.cfg.d_in and x.dim() >= 2 and x.shape[-2] * x.shape[-1] == self.cfg.d_in:
            return x.flatten(-2)
        return x

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        x = self._flat(x).to(self.W_enc.dtype)
        if self.cfg.apply_b_dec_to_input:
            x = x - self.b_dec
        return self.arch.encode(x, self)

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
